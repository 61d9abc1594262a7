//! Finding the roles in a student's folder by reading its files: which file plays which
//! role, in which language, how to build and run it, and the port and server name it
//! hardcodes.
//!
//! Detection is pure: it reads files and never runs, builds or connects anything, and it
//! never looks at `PATH` (only [`missing_toolchain`] does). File names are hints only:
//! students misspell them and misname files. A role comes from what the code does, and
//! the file name decides only when the code says nothing.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use regex::Regex;

use crate::proto::Transport;
use crate::registry::{
    load_manifest, CommandTemplate, Implementation, ManifestError, Role, RoleKey,
};

/// The file that makes a folder a declared implementation instead of sources to read.
pub const MANIFEST_FILE: &str = "shout.toml";

/// Folders deeper than this below the submission are not searched.
const MAX_DEPTH: usize = 4;

/// Files larger than this are not source code a student wrote by hand; they are skipped.
const MAX_FILE_BYTES: u64 = 1 << 20;

/// Folders that hold build output, dependencies or tool state, never the student's code.
const SKIPPED_DIRS: [&str; 6] = [
    "node_modules",
    "target",
    "__pycache__",
    "build",
    "out",
    "venv",
];

/// Server names that are the textbook's placeholders, not real hosts.
const PLACEHOLDER_HOSTS: [&str; 2] = ["hostname", "servername"];

/// The languages detection recognizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Language {
    /// `.py` without Python 2 syntax.
    Python3,
    /// `.py` with `raw_input` or `print` statements.
    Python2,
    /// `.java`.
    Java,
    /// `.c`.
    C,
    /// `.go`.
    Go,
    /// `.js`, `.mjs`, `.cjs`, run with Node.
    JavaScript,
    /// `.rs`, a single file or a Cargo project.
    Rust,
}

impl Language {
    /// The language's name as students and reports write it: `Python 3`, `Go`, …
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Python3 => "Python 3",
            Language::Python2 => "Python 2",
            Language::Java => "Java",
            Language::C => "C",
            Language::Go => "Go",
            Language::JavaScript => "JavaScript",
            Language::Rust => "Rust",
        }
    }

    /// How to install the toolchain that builds and runs this language.
    pub fn install_hint(self) -> &'static str {
        match self {
            Language::Python3 => "apt-get install python3",
            Language::Python2 => "install Python 2 with pyenv: pyenv install 2.7.18",
            Language::Java => "apt-get install default-jdk",
            Language::C => "apt-get install gcc",
            Language::Go => "apt-get install golang-go",
            Language::JavaScript => "apt-get install nodejs",
            Language::Rust => "apt-get install cargo",
        }
    }

    fn from_extension(ext: &str) -> Option<Language> {
        match ext {
            "py" => Some(Language::Python3),
            "java" => Some(Language::Java),
            "c" => Some(Language::C),
            "go" => Some(Language::Go),
            "js" | "mjs" | "cjs" => Some(Language::JavaScript),
            "rs" => Some(Language::Rust),
            _ => None,
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One role found in the sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundRole {
    /// The source file, relative to the submission folder.
    pub file: PathBuf,
    /// The file's language (a submission may mix languages).
    pub language: Language,
    /// Run once in the submission folder before the role can run; `None` for interpreted
    /// languages. Several roles may share the same build.
    pub build: Option<CommandTemplate>,
    /// The argv that runs the role from the submission folder. Student code takes no
    /// arguments, so it has no `{host}` or `{port}` placeholder.
    pub run: CommandTemplate,
    /// The port the code hardcodes: the one a server listens on, or a client sends to.
    pub port: Option<u16>,
    /// The server name a client hardcodes (`localhost`, `127.0.0.1`, `hostname`); always
    /// `None` for servers.
    pub host: Option<String>,
    /// What a grader should know about this file, e.g. that its name lies.
    pub notes: Vec<String>,
}

/// A folder whose roles were found by reading the sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sources {
    /// The folder name made to fit `[a-z0-9-]+`.
    pub name: String,
    /// The folder, as given.
    pub dir: PathBuf,
    /// The language of most roles (or of most source files, when no role was found);
    /// `None` when there is no source file at all.
    pub language: Option<Language>,
    /// The roles found; a role not in the folder is absent.
    pub roles: BTreeMap<RoleKey, FoundRole>,
    /// Notes about the submission as a whole (duplicate roles, mismatched ports, …).
    pub notes: Vec<String>,
}

impl Sources {
    /// The role `key`, if the submission has it.
    pub fn role(&self, key: RoleKey) -> Option<&FoundRole> {
        self.roles.get(&key)
    }
}

/// A folder with a `shout.toml`: it says how to build and run itself.
#[derive(Debug, Clone)]
pub struct ManifestSubmission {
    /// The folder name made to fit `[a-z0-9-]+`.
    pub name: String,
    /// The folder, as given.
    pub dir: PathBuf,
    /// The manifest's path.
    pub file: PathBuf,
    /// The implementations it declares, validated by the registry's loader.
    pub implementations: Vec<Implementation>,
}

/// What [`detect`] found in a submission folder.
#[derive(Debug, Clone)]
pub enum Submission {
    /// Roles found by reading the sources.
    Sources(Sources),
    /// The folder has a `shout.toml`; use the manifest and do not guess.
    Manifest(ManifestSubmission),
}

impl Submission {
    /// The submission's name, `[a-z0-9-]+`.
    pub fn name(&self) -> &str {
        match self {
            Submission::Sources(s) => &s.name,
            Submission::Manifest(m) => &m.name,
        }
    }

    /// The submission folder.
    pub fn dir(&self) -> &Path {
        match self {
            Submission::Sources(s) => &s.dir,
            Submission::Manifest(m) => &m.dir,
        }
    }
}

/// A folder that cannot be looked at as a submission.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    /// The path is missing or is a file.
    #[error("{}: not a directory; pass one folder per submission", path.display())]
    NotADirectory {
        /// The path given.
        path: PathBuf,
    },
    /// A folder or file could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        /// What could not be read.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The folder name has nothing to make a `[a-z0-9-]+` name from.
    #[error("{}: the folder name has no ASCII letter or digit to name the submission; rename the folder", path.display())]
    Name {
        /// The folder.
        path: PathBuf,
    },
    /// The folder's `shout.toml` is invalid.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
}

/// Looks at the folder `dir` and says what it holds: a manifest, or the roles its
/// sources play.
pub fn detect(dir: &Path) -> Result<Submission, DetectError> {
    if !dir.is_dir() {
        return Err(DetectError::NotADirectory {
            path: dir.to_path_buf(),
        });
    }
    let folder = match dir.file_name() {
        Some(n) => n.to_string_lossy().into_owned(),
        None => dir
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default(),
    };
    let name = submission_name(&folder).ok_or_else(|| DetectError::Name {
        path: dir.to_path_buf(),
    })?;
    let manifest = dir.join(MANIFEST_FILE);
    if manifest.is_file() {
        let implementations = load_manifest(&manifest, &[])?;
        return Ok(Submission::Manifest(ManifestSubmission {
            name,
            dir: dir.to_path_buf(),
            file: manifest,
            implementations,
        }));
    }
    let mut files = Vec::new();
    collect_sources(dir, Path::new(""), 0, &mut files)?;
    Ok(Submission::Sources(detect_sources(name, dir, files)))
}

/// Turns a folder name into `[a-z0-9-]+`: ASCII lowercased, every run of other
/// characters one `-`, none at the ends. `None` if nothing is left.
pub fn submission_name(folder: &str) -> Option<String> {
    let mut out = String::new();
    for c in folder.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    (!out.is_empty()).then_some(out)
}

/// The toolchain a submission needs and this machine lacks, as the sentence a student
/// reads, e.g. "Go submission; `go` is not installed: apt-get install golang-go".
/// `None` when everything its build and run commands name is on `PATH`.
pub fn missing_toolchain(submission: &Submission) -> Option<String> {
    let mut missing: Vec<String> = Vec::new();
    let mut push = |m: String| {
        if !missing.contains(&m) {
            missing.push(m);
        }
    };
    match submission {
        Submission::Sources(s) => {
            for role in s.roles.values() {
                for program in needed_programs(role.build.as_ref(), &role.run) {
                    if which::which(&program).is_err() {
                        push(format!(
                            "{} submission; `{program}` is not installed: {}",
                            role.language,
                            role.language.install_hint()
                        ));
                    }
                }
            }
        }
        Submission::Manifest(m) => {
            for imp in &m.implementations {
                for run in imp.roles.values() {
                    for program in needed_programs(imp.build.as_ref(), run) {
                        if which::which(&program).is_err() {
                            push(format!(
                                "the manifest's commands run `{program}`, which is not installed"
                            ));
                        }
                    }
                }
            }
        }
    }
    (!missing.is_empty()).then(|| missing.join("; "))
}

/// The programs a build and a run start from `PATH`: first words without a `/`.
fn needed_programs(build: Option<&CommandTemplate>, run: &CommandTemplate) -> Vec<String> {
    build
        .into_iter()
        .chain(std::iter::once(run))
        .filter_map(|c| c.words.first())
        .filter(|w| !w.contains('/') && !w.contains('{'))
        .cloned()
        .collect()
}

/// A source file read from the submission.
struct SourceFile {
    /// Relative to the submission folder.
    path: PathBuf,
    language: Language,
    /// The text with comments blanked out (strings kept), so a comment that mentions
    /// `bind` or a port cannot change the verdict.
    code: String,
}

fn read_error(path: &Path, source: std::io::Error) -> DetectError {
    DetectError::Read {
        path: path.to_path_buf(),
        source,
    }
}

/// Collects source files in a deterministic order, without following symbolic links
/// (a submission could link to `/`).
fn collect_sources(
    root: &Path,
    rel: &Path,
    depth: usize,
    out: &mut Vec<SourceFile>,
) -> Result<(), DetectError> {
    let dir = root.join(rel);
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .map_err(|e| read_error(&dir, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| read_error(&dir, e))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let meta = std::fs::symlink_metadata(&path).map_err(|e| read_error(&path, e))?;
        if name.starts_with('.') || meta.file_type().is_symlink() {
            continue;
        }
        if meta.is_dir() {
            if depth < MAX_DEPTH && !SKIPPED_DIRS.contains(&name.as_str()) {
                collect_sources(root, &rel.join(&name), depth + 1, out)?;
            }
            continue;
        }
        let Some(language) = Path::new(&name)
            .extension()
            .and_then(|e| Language::from_extension(&e.to_string_lossy()))
        else {
            continue;
        };
        if !meta.is_file() || meta.len() > MAX_FILE_BYTES {
            continue;
        }
        let bytes = std::fs::read(&path).map_err(|e| read_error(&path, e))?;
        let text = String::from_utf8_lossy(&bytes);
        out.push(SourceFile {
            path: rel.join(&name),
            language,
            code: strip_comments(&text, language),
        });
    }
    Ok(())
}

/// Blanks out comments, keeping string literals and line breaks.
fn strip_comments(text: &str, language: Language) -> String {
    let python = matches!(language, Language::Python2 | Language::Python3);
    // In Rust a `'` starts a lifetime as often as a character; only `"` delimits.
    let quotes: &[char] = match language {
        Language::Python2 | Language::Python3 | Language::Java | Language::C => &['"', '\''],
        Language::JavaScript => &['"', '\'', '`'],
        Language::Go => &['"', '`'],
        Language::Rust => &['"'],
    };
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if quotes.contains(&c) {
            let triple = python && next == Some(c) && chars.get(i + 2) == Some(&c);
            let width = if triple { 3 } else { 1 };
            out.extend(&chars[i..i + width]);
            i += width;
            while i < chars.len() {
                if chars[i] == '\\' && c != '`' {
                    out.extend(&chars[i..(i + 2).min(chars.len())]);
                    i += 2;
                    continue;
                }
                let closes = if triple {
                    chars[i..].starts_with(&[c, c, c])
                } else {
                    chars[i] == c
                };
                if closes {
                    out.extend(&chars[i..i + width]);
                    i += width;
                    break;
                }
                if chars[i] == '\n' && !triple && c != '`' {
                    // An unterminated literal ends at the line, as in a lenient reader.
                    break;
                }
                out.push(chars[i]);
                i += 1;
            }
            continue;
        }
        let line_comment = if python {
            c == '#'
        } else {
            c == '/' && next == Some('/')
        };
        if line_comment {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
            continue;
        }
        if !python && c == '/' && next == Some('*') {
            out.push_str("  ");
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                out.push(if chars[i] == '\n' { '\n' } else { ' ' });
                i += 1;
            }
            out.push_str("  ");
            i += 2;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("detection patterns are valid")
}

fn has(code: &str, pattern: &str) -> bool {
    re(pattern).is_match(code)
}

/// The first capture of the first pattern that matches with a usable value.
fn first_capture<T>(
    code: &str,
    patterns: &[&str],
    accept: impl Fn(&str) -> Option<T>,
) -> Option<T> {
    patterns.iter().find_map(|p| {
        re(p)
            .captures_iter(code)
            .find_map(|c| c.get(1).and_then(|m| accept(m.as_str())))
    })
}

fn parse_port(s: &str) -> Option<u16> {
    s.parse::<u16>().ok().filter(|&p| p != 0)
}

fn parse_host(s: &str) -> Option<String> {
    let ok = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_:[]".contains(c));
    ok.then(|| s.to_string())
}

/// A `name = 12000` assignment or constant whose name mentions a port, in any of the
/// languages (`serverPort = 12000`, `int port = 9876`, `const PORT: u16 = 12000`,
/// `port := 12000`, `#define SERVER_PORT 12000`).
const PORT_VARIABLE: &str = r"(?i)\b\w*port\w*\s*(?::\s*[\w:]+\s*)?:?=\s*(\d{1,5})\b";
const PORT_DEFINE: &str = r"(?i)#\s*define\s+\w*port\w*\s+(\d{1,5})\b";
/// A string variable whose name says it holds the server's address.
const HOST_VARIABLE: &str = r#"(?i)\b(?:\w*(?:host|server|addr)\w*|(?:\w+_)?ip(?:_\w+)?)\s*(?::\s*&?[\w']+\s*)?:?=\s*["']([^"']+)["']"#;

/// What the code of one file shows.
#[derive(Debug, Default, PartialEq, Eq)]
struct Features {
    udp_server: bool,
    udp_client: bool,
    tcp_server: bool,
    tcp_client: bool,
    port: Option<u16>,
    host: Option<String>,
}

impl Features {
    fn roles(&self) -> Vec<RoleKey> {
        let mut out = Vec::new();
        for (on, transport, role) in [
            (self.udp_server, Transport::Udp, Role::Server),
            (self.udp_client, Transport::Udp, Role::Client),
            (self.tcp_server, Transport::Tcp, Role::Server),
            (self.tcp_client, Transport::Tcp, Role::Client),
        ] {
            if on {
                out.push(RoleKey { transport, role });
            }
        }
        out
    }
}

fn features(code: &str, language: Language) -> Features {
    let h = |p: &str| has(code, p);
    let mut f = Features::default();
    let (ports, hosts): (&[&str], &[&str]) = match language {
        Language::Python2 | Language::Python3 => {
            let udp = h(r"\bSOCK_DGRAM\b");
            let listen = h(r"\.listen\s*\(") || h(r"\.accept\s*\(");
            let connect = h(r"\.connect\s*\(");
            // socket() without a type is a stream socket.
            let tcp = h(r"\bSOCK_STREAM\b") || (!udp && (listen || connect));
            f.udp_server = udp && h(r"\.bind\s*\(") && h(r"\.recvfrom\s*\(");
            f.udp_client = udp
                && !f.udp_server
                && (h(r"\.sendto\s*\(") || (connect && h(r"\.send(?:all)?\s*\(")));
            f.tcp_server = tcp && listen;
            f.tcp_client = tcp && !f.tcp_server && connect;
            (
                &[
                    PORT_VARIABLE,
                    r#"\.bind\s*\(\s*\(\s*['"][^'"]*['"]\s*,\s*(\d{1,5})\s*\)"#,
                    r#"\(\s*(?:'[^']*'|"[^"]*"|\w+)\s*,\s*(\d{1,5})\s*\)"#,
                ],
                &[
                    HOST_VARIABLE,
                    r#"\(\s*['"]([^'"]+)['"]\s*,\s*(?:\d+|\w+)\s*\)"#,
                ],
            )
        }
        Language::Java => {
            f.udp_server = h(r"new\s+DatagramSocket\s*\(\s*[^)\s]") && h(r"\.receive\s*\(");
            f.udp_client = h(r"\bDatagramSocket\b") && !f.udp_server && h(r"\.send\s*\(");
            f.tcp_server = h(r"\bServerSocket\b");
            f.tcp_client = !f.tcp_server && h(r"new\s+Socket\s*\(");
            (
                &[
                    r"new\s+(?:Datagram|Server)Socket\s*\(\s*(\d{1,5})\s*\)",
                    r"new\s+Socket\s*\([^,()]+,\s*(\d{1,5})\s*\)",
                    r"new\s+DatagramPacket\s*\([^;]*?,\s*(\d{1,5})\s*\)",
                    PORT_VARIABLE,
                ],
                &[
                    r#"getByName\s*\(\s*"([^"]+)""#,
                    r#"new\s+Socket\s*\(\s*"([^"]+)""#,
                    HOST_VARIABLE,
                ],
            )
        }
        Language::C => {
            let udp = h(r"\bSOCK_DGRAM\b");
            let tcp = h(r"\bSOCK_STREAM\b");
            let connect = h(r"\bconnect\s*\(");
            f.udp_server = udp && h(r"\bbind\s*\(") && h(r"\brecvfrom\s*\(");
            f.udp_client = udp
                && !f.udp_server
                && (h(r"\bsendto\s*\(") || (connect && h(r"\b(?:send|write)\s*\(")));
            f.tcp_server = tcp && (h(r"\blisten\s*\(") || h(r"\baccept\s*\("));
            f.tcp_client = tcp && !f.tcp_server && connect;
            (
                &[r"\bhtons\s*\(\s*(\d{1,5})\s*\)", PORT_DEFINE, PORT_VARIABLE],
                &[
                    r#"\binet_addr\s*\(\s*"([^"]+)""#,
                    r#"\binet_pton\s*\(\s*\w+\s*,\s*"([^"]+)""#,
                    r#"\binet_aton\s*\(\s*"([^"]+)""#,
                    r#"\bgethostbyname\s*\(\s*"([^"]+)""#,
                    r#"\bgetaddrinfo\s*\(\s*"([^"]+)""#,
                    r#"(?i)#\s*define\s+\w*(?:host|server|addr|ip)\w*\s+"([^"]+)""#,
                    HOST_VARIABLE,
                ],
            )
        }
        Language::JavaScript => {
            let udp = h(r#"createSocket\s*\(\s*(?:\{\s*type\s*:\s*)?['"`]udp[46]"#);
            let net = h(r#"require\s*\(\s*['"`](?:node:)?net['"`]\s*\)"#)
                || h(r#"from\s+['"](?:node:)?net['"]"#);
            f.udp_server = udp && h(r"\.bind\s*\(") && h(r#"\.on\s*\(\s*['"`]message"#);
            f.udp_client = udp && !f.udp_server && h(r"\.send\s*\(");
            f.tcp_server = net && (h(r"\bcreateServer\s*\(") || h(r"\.listen\s*\("));
            f.tcp_client = net
                && !f.tcp_server
                && (h(r"\b(?:createConnection|connect)\s*\(") || h(r"new\s+net\.Socket\b"));
            (
                &[
                    PORT_VARIABLE,
                    r"\.(?:bind|listen|connect)\s*\(\s*(\d{1,5})\b",
                    r"\bport\s*:\s*(\d{1,5})\b",
                    r"\.send\s*\([^;]*?,\s*(\d{1,5})\s*[,)]",
                ],
                &[
                    HOST_VARIABLE,
                    r#"\bhost\s*:\s*['"`]([^'"`]+)['"`]"#,
                    r#"\.connect\s*\(\s*\w+\s*,\s*['"`]([^'"`]+)['"`]"#,
                    r#"\.send\s*\([^;]*?,\s*\w+\s*,\s*['"`]([^'"`]+)['"`]"#,
                ],
            )
        }
        Language::Go => {
            f.udp_server = h(r"\bListenUDP\s*\(") || h(r#"\bListenPacket\s*\(\s*"udp"#);
            f.udp_client = h(r"\bDialUDP\s*\(") || h(r#"\bDial(?:Timeout)?\s*\(\s*"udp"#);
            f.tcp_server = h(r"\bListenTCP\s*\(") || h(r#"\bListen\s*\(\s*"tcp"#);
            f.tcp_client = h(r"\bDialTCP\s*\(") || h(r#"\bDial(?:Timeout)?\s*\(\s*"tcp"#);
            (
                &[
                    r#""[\w.\-]*:(\d{1,5})""#,
                    r"\bPort\s*:\s*(\d{1,5})\b",
                    PORT_VARIABLE,
                ],
                &[r#""([\w.\-]+):\d{1,5}""#, HOST_VARIABLE],
            )
        }
        Language::Rust => {
            let udp = h(r"\bUdpSocket\b");
            let bound_port = first_capture(
                code,
                &[r#"UdpSocket::bind\s*\(\s*"[^"]*:(\d{1,5})""#],
                |s| s.parse::<u16>().ok(),
            );
            let reads_stdin = h(r"\bstdin\s*\(");
            let fixed_bind = match bound_port {
                Some(p) => p != 0,
                None => h(r"UdpSocket::bind\s*\(") && !reads_stdin,
            };
            f.udp_server = udp && fixed_bind && h(r"\.recv_from\s*\(");
            f.udp_client = udp && !f.udp_server && h(r"\.(?:send_to|connect)\s*\(");
            f.tcp_server = h(r"\bTcpListener\b");
            f.tcp_client = !f.tcp_server && h(r"TcpStream::connect\s*\(");
            (
                &[r#""[\w.\-\[\]:]*:(\d{1,5})""#, PORT_VARIABLE],
                &[
                    r#""([\w.\-]+):\d{1,5}""#,
                    r#"connect\s*\(\s*\(\s*"([^"]+)""#,
                    HOST_VARIABLE,
                ],
            )
        }
    };
    f.port = first_capture(code, ports, parse_port);
    if f.udp_client || f.tcp_client {
        f.host = first_capture(code, hosts, parse_host);
    }
    f
}

/// Python 2 syntax: `raw_input`, `print` statements, `except E, e`.
fn is_python2(code: &str) -> bool {
    has(code, r"\braw_input\s*\(")
        || has(code, r"(?m)^[ \t]*print[ \t]+[^\s(=.,;)]")
        || has(code, r"(?m)^[ \t]*except\s+[\w.]+\s*,\s*\w+\s*:")
}

/// What a file name claims: `TCPC.py` says TCP client, `server.go` says server.
fn name_hint(path: &Path) -> (Option<Transport>, Option<Role>) {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let transport = if stem.contains("udp") {
        Some(Transport::Udp)
    } else if stem.contains("tcp") {
        Some(Transport::Tcp)
    } else {
        None
    };
    let rest: String = stem
        .replace("udp", "")
        .replace("tcp", "")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    let role = if rest.contains("serv") || rest.contains("srv") || rest == "s" {
        Some(Role::Server)
    } else if rest.contains("cli") || rest == "c" {
        Some(Role::Client)
    } else {
        None
    };
    (transport, role)
}

fn describe(transport: Option<Transport>, role: Option<Role>) -> String {
    let t = transport.map(|t| t.as_str().to_ascii_uppercase());
    let r = role.map(Role::as_str);
    match (t, r) {
        (Some(t), Some(r)) => format!("{t} {r}"),
        (Some(t), None) => format!("{t} program"),
        (None, Some(r)) => r.to_string(),
        (None, None) => "nothing".to_string(),
    }
}

fn key_phrase(key: RoleKey) -> String {
    describe(Some(key.transport), Some(key.role))
}

fn slash_path(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

fn template(words: &[String]) -> CommandTemplate {
    CommandTemplate {
        words: words.to_vec(),
    }
}

/// Where the file's binary goes: beside it, named after it.
fn binary_path(file: &Path) -> String {
    let stem = file.with_extension("");
    let s = slash_path(&stem);
    if s.contains('/') {
        s
    } else {
        format!("./{s}")
    }
}

/// The Cargo project a Rust file belongs to: the nearest `Cargo.toml` up to the
/// submission folder, relative to it.
fn cargo_project(root: &Path, file: &Path) -> Option<PathBuf> {
    let mut dir = file.parent();
    while let Some(d) = dir {
        if root.join(d).join("Cargo.toml").is_file() {
            return Some(d.to_path_buf());
        }
        dir = d.parent();
    }
    None
}

/// The `(build, run)` commands for one file.
fn commands(
    root: &Path,
    file: &SourceFile,
    language: Language,
) -> (Option<CommandTemplate>, CommandTemplate) {
    let path = slash_path(&file.path);
    let s = |words: &[&str]| template(&words.iter().map(|w| w.to_string()).collect::<Vec<_>>());
    match language {
        Language::Python3 => (None, s(&["python3", &path])),
        Language::Python2 => (None, s(&["python2", &path])),
        Language::JavaScript => (None, s(&["node", &path])),
        Language::Java => {
            let class = java_main_class(&file.code).unwrap_or_else(|| {
                file.path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default()
            });
            let classpath = match file.path.parent() {
                Some(p) if !p.as_os_str().is_empty() => slash_path(p),
                _ => ".".to_string(),
            };
            (
                Some(s(&["javac", &path])),
                s(&["java", "-cp", &classpath, &class]),
            )
        }
        Language::C => {
            let out = binary_path(&file.path);
            (Some(s(&["gcc", "-O2", "-o", &out, &path])), s(&[&out]))
        }
        Language::Go => {
            let out = binary_path(&file.path);
            (Some(s(&["go", "build", "-o", &out, &path])), s(&[&out]))
        }
        Language::Rust => match cargo_project(root, &file.path) {
            Some(project) => {
                let manifest = slash_path(&project.join("Cargo.toml"));
                let bin = if file.path.parent().and_then(Path::file_name)
                    == Some(std::ffi::OsStr::new("bin"))
                {
                    file.path
                        .file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_default()
                } else {
                    cargo_package_name(&root.join(&project).join("Cargo.toml"))
                        .unwrap_or_else(|| "main".to_string())
                };
                // Always has a `/`, so it is never looked up on `PATH`.
                let exe = slash_path(&project.join("target").join("release").join(bin));
                (
                    Some(s(&[
                        "cargo",
                        "build",
                        "--release",
                        "--manifest-path",
                        &manifest,
                    ])),
                    s(&[&exe]),
                )
            }
            None => {
                let out = binary_path(&file.path);
                (Some(s(&["rustc", "-O", "-o", &out, &path])), s(&[&out]))
            }
        },
    }
}

/// The class whose body holds `main`: the last class declared before it.
fn java_main_class(code: &str) -> Option<String> {
    let main = re(r"\bstatic\s+void\s+main\s*\(").find(code)?.start();
    re(r"\bclass\s+(\w+)")
        .captures_iter(&code[..main])
        .last()
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_string())
}

fn cargo_package_name(manifest: &Path) -> Option<String> {
    let text = std::fs::read_to_string(manifest).ok()?;
    let value: toml::Value = toml::from_str(&text).ok()?;
    value
        .get("package")?
        .get("name")?
        .as_str()
        .map(str::to_string)
}

/// A candidate for a role, before duplicates are resolved.
struct Candidate {
    key: RoleKey,
    /// The file name agrees with the role found in the code.
    name_agrees: bool,
    role: FoundRole,
}

fn detect_sources(name: String, dir: &Path, mut files: Vec<SourceFile>) -> Sources {
    // Python 2 is a property of the student, not of each file: a server with no print
    // statement is still Python 2 when its client uses raw_input.
    let python2 = files
        .iter()
        .any(|f| f.language == Language::Python3 && is_python2(&f.code));
    if python2 {
        for f in files.iter_mut().filter(|f| f.language == Language::Python3) {
            f.language = Language::Python2;
        }
    }

    let mut candidates: Vec<Candidate> = Vec::new();
    for file in &files {
        let found = features(&file.code, file.language);
        let (hint_transport, hint_role) = name_hint(&file.path);
        let mut keys: Vec<(RoleKey, Vec<String>)> = found
            .roles()
            .into_iter()
            .map(|key| {
                let agrees = hint_transport.map_or(true, |t| t == key.transport)
                    && hint_role.map_or(true, |r| r == key.role);
                let mut notes = Vec::new();
                if !agrees {
                    notes.push(format!(
                        "file name says {}, code is a {}",
                        describe(hint_transport, hint_role),
                        key_phrase(key)
                    ));
                }
                (key, notes)
            })
            .collect();
        if keys.is_empty() {
            if let (Some(transport), Some(role)) = (hint_transport, hint_role) {
                let key = RoleKey { transport, role };
                let what = match role {
                    Role::Server => "never binds, listens or accepts",
                    Role::Client => "never connects or sends",
                };
                keys.push((
                    key,
                    vec![format!(
                        "the code {what}; taken as a {} from its file name",
                        key_phrase(key)
                    )],
                ));
            }
        }
        for (key, mut notes) in keys {
            let (build, run) = commands(dir, file, file.language);
            let host = match key.role {
                Role::Client => found.host.clone(),
                Role::Server => None,
            };
            if found.port.is_none() {
                notes.push("no hardcoded port found".to_string());
            }
            if let Some(h) = &host {
                if PLACEHOLDER_HOSTS.contains(&h.to_ascii_lowercase().as_str()) {
                    notes.push(format!(
                        "the server name '{h}' is the textbook's placeholder"
                    ));
                } else if !is_loopback(h) {
                    notes.push(format!(
                        "the server name '{h}' is not this machine's loopback address"
                    ));
                }
            }
            candidates.push(Candidate {
                key,
                name_agrees: hint_transport.map_or(true, |t| t == key.transport)
                    && hint_role.map_or(true, |r| r == key.role),
                role: FoundRole {
                    file: file.path.clone(),
                    language: file.language,
                    build,
                    run,
                    port: found.port,
                    host,
                    notes,
                },
            });
        }
    }

    let mut notes = Vec::new();
    let mut roles: BTreeMap<RoleKey, FoundRole> = BTreeMap::new();
    for key in RoleKey::ALL {
        let mut of_key: Vec<&Candidate> = candidates.iter().filter(|c| c.key == key).collect();
        // A file whose name agrees wins over one that only acts the part; then path order.
        of_key.sort_by_key(|c| !c.name_agrees);
        if let Some((first, rest)) = of_key.split_first() {
            if !rest.is_empty() {
                let others: Vec<String> = rest.iter().map(|c| slash_path(&c.role.file)).collect();
                notes.push(format!(
                    "{key}: {} also look like one; using {}",
                    others.join(", "),
                    slash_path(&first.role.file)
                ));
            }
            roles.insert(key, first.role.clone());
        }
    }

    for transport in Transport::ALL {
        let get = |role| roles.get(&RoleKey { transport, role }).and_then(|r| r.port);
        if let (Some(server), Some(client)) = (get(Role::Server), get(Role::Client)) {
            if server != client {
                let t = transport.as_str().to_ascii_uppercase();
                notes.push(format!(
                    "the {t} client sends to port {client}, but the {t} server listens on port {server}"
                ));
            }
        }
    }
    if roles.is_empty() {
        notes.push("no source file plays a role".to_string());
    }

    let language = most_common(roles.values().map(|r| r.language))
        .or_else(|| most_common(files.iter().map(|f| f.language)));
    Sources {
        name,
        dir: dir.to_path_buf(),
        language,
        roles,
        notes,
    }
}

fn is_loopback(host: &str) -> bool {
    let h = host.to_ascii_lowercase();
    h == "localhost"
        || h == "ip6-localhost"
        || h == "::1"
        || h == "[::1]"
        || h == "0.0.0.0"
        || h.starts_with("127.")
}

/// The most frequent value; ties go to the first seen.
fn most_common(values: impl Iterator<Item = Language>) -> Option<Language> {
    let mut counts: Vec<(Language, usize)> = Vec::new();
    for v in values {
        match counts.iter_mut().find(|(l, _)| *l == v) {
            Some((_, n)) => *n += 1,
            None => counts.push((v, 1)),
        }
    }
    let best = counts.iter().map(|(_, n)| *n).max()?;
    counts.into_iter().find(|(_, n)| *n == best).map(|(l, _)| l)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/submissions")
            .join(name)
    }

    fn sources(name: &str) -> Sources {
        match detect(&fixture(name)).expect("the fixture is a readable folder") {
            Submission::Sources(s) => s,
            Submission::Manifest(_) => panic!("{name} has no manifest"),
        }
    }

    /// One line per role, in manifest order, then the submission's notes.
    fn summary(s: &Sources) -> Vec<String> {
        let mut out = Vec::new();
        for key in RoleKey::ALL {
            let Some(r) = s.role(key) else { continue };
            let mut line = format!("{key} {} {}", slash_path(&r.file), r.language);
            if let Some(p) = r.port {
                line.push_str(&format!(" port={p}"));
            }
            if let Some(h) = &r.host {
                line.push_str(&format!(" host={h}"));
            }
            for n in &r.notes {
                line.push_str(&format!(" | {n}"));
            }
            out.push(line);
        }
        out.extend(s.notes.iter().map(|n| format!("note: {n}")));
        out
    }

    fn check(name: &str, language: Language, expected: &[&str]) {
        let s = sources(name);
        assert_eq!(s.name, name);
        assert_eq!(s.language, Some(language), "{name}");
        assert_eq!(summary(&s), expected, "{name}");
    }

    fn words(c: &CommandTemplate) -> String {
        c.words.join(" ")
    }

    /// The four textbook scripts, as `py3-faithful` and most one-bug copies have them.
    const PY3_FOUR: [&str; 4] = [
        "udp-server UDPServer.py Python 3 port=12000",
        "udp-client UDPClient.py Python 3 port=12000 host=localhost",
        "tcp-server TCPServer.py Python 3 port=12000",
        "tcp-client TCPClient.py Python 3 port=12000 host=127.0.0.1",
    ];

    #[test]
    fn textbook_python3_scripts_give_all_four_roles() {
        check("py3-faithful", Language::Python3, &PY3_FOUR);
        let s = sources("py3-faithful");
        let udp_server = s.role(RoleKey::ALL[0]).unwrap();
        assert_eq!(words(&udp_server.run), "python3 UDPServer.py");
        assert_eq!(udp_server.build, None);
    }

    #[test]
    fn one_bug_copies_are_detected_like_the_textbook_scripts() {
        for name in [
            "bug-newline",
            "bug-newline-framed-tcp",
            "bug-upper-client",
            "bug-other-port",
            "bug-title",
            "bug-prefix-client",
            "bug-loop-client",
            "bug-log-server",
        ] {
            check(name, Language::Python3, &PY3_FOUR);
        }
    }

    #[test]
    fn placeholders_and_misspelt_names_are_found_and_noted() {
        check(
            "py3-placeholder",
            Language::Python3,
            &[
                "udp-server UDPserver.py Python 3 port=12000",
                "udp-client udpclient.py Python 3 port=12000 host=hostname \
                 | the server name 'hostname' is the textbook's placeholder",
                "tcp-server TCPserver.py Python 3 port=12000",
                "tcp-client TCPclient.py Python 3 port=12000 host=servername \
                 | the server name 'servername' is the textbook's placeholder",
            ],
        );
    }

    #[test]
    fn python2_syntax_makes_every_script_python2() {
        check(
            "py2",
            Language::Python2,
            &[
                "udp-server UDPServer.py Python 2 port=12000",
                "udp-client UDPClient.py Python 2 port=12000 host=localhost",
                "tcp-server TCPServer.py Python 2 port=12000",
                "tcp-client TCPClient.py Python 2 port=12000 host=localhost",
            ],
        );
        let s = sources("py2");
        assert_eq!(
            words(&s.role(RoleKey::ALL[3]).unwrap().run),
            "python2 TCPClient.py"
        );
    }

    #[test]
    fn textbook_java_uses_its_own_ports_and_the_hostname_placeholder() {
        check(
            "java-textbook",
            Language::Java,
            &[
                "udp-server UDPServer.java Java port=9876",
                "udp-client UDPClient.java Java port=9876 host=hostname \
                 | the server name 'hostname' is the textbook's placeholder",
                "tcp-server TCPServer.java Java port=6789",
                "tcp-client TCPClient.java Java port=6789 host=hostname \
                 | the server name 'hostname' is the textbook's placeholder",
            ],
        );
        let s = sources("java-textbook");
        let client = s.role(RoleKey::ALL[1]).unwrap();
        assert_eq!(
            words(client.build.as_ref().unwrap()),
            "javac UDPClient.java"
        );
        assert_eq!(words(&client.run), "java -cp . UDPClient");
    }

    #[test]
    fn c_ports_come_from_htons_or_a_define() {
        let c_four = [
            "udp-server udp_server.c C port=12000",
            "udp-client udp_client.c C port=12000 host=127.0.0.1",
            "tcp-server tcp_server.c C port=12000",
            "tcp-client tcp_client.c C port=12000 host=127.0.0.1",
        ];
        check("c-sockets", Language::C, &c_four);
        check("bug-whole-buffer", Language::C, &c_four);
        let s = sources("c-sockets");
        let server = s.role(RoleKey::ALL[0]).unwrap();
        assert_eq!(
            words(server.build.as_ref().unwrap()),
            "gcc -O2 -o ./udp_server udp_server.c"
        );
        assert_eq!(words(&server.run), "./udp_server");
    }

    #[test]
    fn node_scripts_are_found_by_dgram_and_net() {
        check(
            "js-node",
            Language::JavaScript,
            &[
                "udp-server udp_server.js JavaScript port=12000",
                "udp-client udp_client.js JavaScript port=12000 host=localhost",
                "tcp-server tcp_server.js JavaScript port=12000",
                "tcp-client tcp_client.js JavaScript port=12000 host=localhost",
            ],
        );
        let s = sources("js-node");
        assert_eq!(
            words(&s.role(RoleKey::ALL[2]).unwrap().run),
            "node tcp_server.js"
        );
    }

    #[test]
    fn one_go_file_can_play_two_roles() {
        check(
            "go-server",
            Language::Go,
            &[
                "udp-server server.go Go port=12000",
                "udp-client udpclient.go Go port=12000 host=localhost",
                "tcp-server server.go Go port=12000",
                "tcp-client tcpclient.go Go port=12000 host=127.0.0.1",
            ],
        );
        let s = sources("go-server");
        let udp = s.role(RoleKey::ALL[0]).unwrap();
        let tcp = s.role(RoleKey::ALL[2]).unwrap();
        assert_eq!(udp.build, tcp.build);
        assert_eq!(
            words(udp.build.as_ref().unwrap()),
            "go build -o ./server server.go"
        );
    }

    #[test]
    fn missing_roles_are_absent() {
        check(
            "missing-role",
            Language::Python3,
            &[
                "udp-server UDPServer.py Python 3 port=12000",
                "udp-client UDPClient.py Python 3 port=12000 host=localhost",
            ],
        );
    }

    #[test]
    fn code_wins_over_a_lying_file_name() {
        check(
            "bug-misnamed",
            Language::Python3,
            &[
                "udp-server TCPC.py Python 3 port=12000 \
                 | file name says TCP client, code is a UDP server",
                "udp-client UDPC.py Python 3 port=12000 host=localhost",
            ],
        );
    }

    #[test]
    fn hostile_submissions_are_detected_without_running_them() {
        check(
            "hostile-fork",
            Language::Python3,
            &["tcp-server TCPServer.py Python 3 port=12000"],
        );
        check(
            "hostile-flood",
            Language::Python3,
            &["udp-client UDPClient.py Python 3 port=12000 host=localhost"],
        );
        check(
            "hostile-ignore-term",
            Language::Python3,
            &["udp-server UDPServer.py Python 3 port=12000"],
        );
        check(
            "hostile-never-exits",
            Language::Python3,
            &["tcp-client TCPClient.py Python 3 port=12000 host=localhost"],
        );
    }

    #[test]
    fn a_server_that_never_binds_falls_back_to_its_file_name() {
        check(
            "hostile-never-binds",
            Language::Python3,
            &["tcp-server TCPServer.py Python 3 port=12000 \
               | the code never binds, listens or accepts; taken as a TCP server from its file name"],
        );
    }

    #[test]
    fn a_manifest_is_used_instead_of_the_sources() {
        let Submission::Manifest(m) = detect(&fixture("with-manifest")).unwrap() else {
            panic!("with-manifest has a shout.toml");
        };
        assert_eq!(m.name, "with-manifest");
        assert_eq!(m.file, fixture("with-manifest").join(MANIFEST_FILE));
        assert_eq!(m.implementations.len(), 1);
        let keys: Vec<String> = m.implementations[0]
            .roles
            .keys()
            .map(|k| k.to_string())
            .collect();
        assert_eq!(keys, ["udp-server", "tcp-server"]);
    }

    #[test]
    fn every_fixture_folder_is_covered_by_a_test() {
        let covered = [
            "bug-log-server",
            "bug-loop-client",
            "bug-misnamed",
            "bug-newline",
            "bug-newline-framed-tcp",
            "bug-other-port",
            "bug-prefix-client",
            "bug-title",
            "bug-upper-client",
            "bug-whole-buffer",
            "c-sockets",
            "go-server",
            "hostile-flood",
            "hostile-fork",
            "hostile-ignore-term",
            "hostile-never-binds",
            "hostile-never-exits",
            "java-textbook",
            "js-node",
            "missing-role",
            "py2",
            "py3-faithful",
            "py3-placeholder",
            "with-manifest",
        ];
        let mut found: Vec<String> = std::fs::read_dir(fixture(""))
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().unwrap().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        found.sort();
        assert_eq!(found, covered);
    }

    #[test]
    fn go_submissions_say_how_to_install_go_when_it_is_missing() {
        let sub = detect(&fixture("go-server")).unwrap();
        if which::which("go").is_err() {
            assert_eq!(
                missing_toolchain(&sub).as_deref(),
                Some("Go submission; `go` is not installed: apt-get install golang-go")
            );
        }
        let Submission::Sources(mut s) = sub else {
            unreachable!()
        };
        for role in s.roles.values_mut() {
            role.build = Some(template(&["shout-no-such-compiler".to_string()]));
        }
        let message = missing_toolchain(&Submission::Sources(s)).unwrap();
        assert!(
            message.starts_with(
                "Go submission; `shout-no-such-compiler` is not installed: apt-get install golang-go"
            ),
            "{message}"
        );
    }

    #[test]
    fn folder_names_become_submission_names() {
        assert_eq!(
            submission_name("John Smith_HW2 (late)").as_deref(),
            Some("john-smith-hw2-late")
        );
        assert_eq!(
            submission_name("py3-faithful").as_deref(),
            Some("py3-faithful")
        );
        assert_eq!(submission_name("__--__"), None);
    }

    #[test]
    fn file_names_hint_at_roles() {
        let hint = |n: &str| name_hint(Path::new(n));
        assert_eq!(hint("TCPC.py"), (Some(Transport::Tcp), Some(Role::Client)));
        assert_eq!(hint("udp_s.c"), (Some(Transport::Udp), Some(Role::Server)));
        assert_eq!(
            hint("UDPserver.py"),
            (Some(Transport::Udp), Some(Role::Server))
        );
        assert_eq!(hint("server.go"), (None, Some(Role::Server)));
        assert_eq!(hint("readline.js"), (None, None));
    }

    #[test]
    fn comments_are_blanked_but_strings_are_kept() {
        let py = strip_comments(
            "x = '#'  # bind(\ns = \"\"\"it's\"\"\" # 9\n",
            Language::Python3,
        );
        assert_eq!(py, "x = '#'         \ns = \"\"\"it's\"\"\"    \n");
        let c = strip_comments("a(\"//\"); // b\n/* c\n*/ d", Language::C);
        assert_eq!(c, "a(\"//\");     \n    \n   d");
    }

    fn write(dir: &Path, rel: &str, text: &str) {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn rust_files_build_with_rustc_or_cargo() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("Rust Student");
        write(
            &dir,
            "udp_server.rs",
            "use std::net::UdpSocket;\nfn main() {\n let s = UdpSocket::bind(\"0.0.0.0:12000\").unwrap();\n let mut b = [0u8; 2048];\n let (n, a) = s.recv_from(&mut b).unwrap();\n s.send_to(&b[..n], a).unwrap();\n}\n",
        );
        write(
            &dir,
            "client/Cargo.toml",
            "[package]\nname = \"tcpc\"\nversion = \"0.1.0\"\n",
        );
        write(
            &dir,
            "client/src/main.rs",
            "use std::net::TcpStream;\nconst PORT: u16 = 12001;\nfn main() { let _ = std::io::stdin(); let _s = TcpStream::connect((\"localhost\", PORT)); }\n",
        );
        let Submission::Sources(s) = detect(&dir).unwrap() else {
            panic!("no manifest here")
        };
        assert_eq!(s.name, "rust-student");
        assert_eq!(
            summary(&s),
            [
                "udp-server udp_server.rs Rust port=12000",
                "tcp-client client/src/main.rs Rust port=12001 host=localhost",
            ]
        );
        let server = s.role(RoleKey::ALL[0]).unwrap();
        assert_eq!(
            words(server.build.as_ref().unwrap()),
            "rustc -O -o ./udp_server udp_server.rs"
        );
        let client = s.role(RoleKey::ALL[3]).unwrap();
        assert_eq!(
            words(client.build.as_ref().unwrap()),
            "cargo build --release --manifest-path client/Cargo.toml"
        );
        assert_eq!(words(&client.run), "client/target/release/tcpc");
    }

    #[test]
    fn duplicate_roles_and_mismatched_ports_are_noted() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("dup");
        let server = std::fs::read_to_string(fixture("py3-faithful").join("UDPServer.py")).unwrap();
        write(&dir, "UDPServer.py", &server);
        write(&dir, "old/server_v1.py", &server.replace("12000", "12001"));
        write(&dir, "helper.py", "import os\n");
        write(
            &dir,
            "UDPClient.py",
            &std::fs::read_to_string(fixture("py3-faithful").join("UDPClient.py"))
                .unwrap()
                .replace("12000", "5000")
                .replace("'localhost'", "'lab-pc-07'"),
        );
        let Submission::Sources(s) = detect(&dir).unwrap() else {
            panic!("no manifest here")
        };
        assert_eq!(
            summary(&s),
            [
                "udp-server UDPServer.py Python 3 port=12000",
                "udp-client UDPClient.py Python 3 port=5000 host=lab-pc-07 \
                 | the server name 'lab-pc-07' is not this machine's loopback address",
                "note: udp-server: old/server_v1.py also look like one; using UDPServer.py",
                "note: the UDP client sends to port 5000, but the UDP server listens on port 12000",
            ]
        );
    }

    #[test]
    fn folders_without_code_have_no_roles() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("empty");
        write(&dir, "README.txt", "I ran out of time.\n");
        let Submission::Sources(s) = detect(&dir).unwrap() else {
            panic!("no manifest here")
        };
        assert_eq!(s.language, None);
        assert_eq!(summary(&s), ["note: no source file plays a role"]);
    }

    #[test]
    fn bad_folders_are_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("file.py");
        std::fs::write(&file, "").unwrap();
        assert!(matches!(
            detect(&file),
            Err(DetectError::NotADirectory { .. })
        ));
        let dir = tmp.path().join("bad-manifest");
        write(
            &dir,
            MANIFEST_FILE,
            "[[implementation]]\nname = \"Bad Name\"\nudp-server = \"x {port}\"\n",
        );
        let err = detect(&dir).unwrap_err();
        assert!(matches!(err, DetectError::Manifest(_)), "{err}");
        assert!(err.to_string().contains("field `name`"), "{err}");
    }
}

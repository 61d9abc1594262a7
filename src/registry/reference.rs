//! Which implementation is the reference, the one every other is compared with:
//! `python` (the seed's scripts, the default), `java-textbook` (the textbook's Java
//! programs, compiled once per run) or the one implementation of a manifest (an
//! instructor's model solution). The choice is made once per process, before anything
//! is planned; everything that asks "is this the reference?" asks [`reference`].

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::model::{ClientOutput, CommandTemplate, Implementation, Origin, Role, RoleKey};
use crate::proto::UnicodeVersion;

/// The default reference: the Python scripts in `reference/`.
pub const PYTHON: &str = "python";

/// The textbook's Java programs, in `reference/java/`.
pub const JAVA_TEXTBOOK: &str = "java-textbook";

/// The textbook's Java programs, as shipped in `reference/java/`.
const JAVA_SOURCES: [(&str, &str); 4] = [
    (
        "UDPServer.java",
        include_str!("../../reference/java/UDPServer.java"),
    ),
    (
        "UDPClient.java",
        include_str!("../../reference/java/UDPClient.java"),
    ),
    (
        "TCPServer.java",
        include_str!("../../reference/java/TCPServer.java"),
    ),
    (
        "TCPClient.java",
        include_str!("../../reference/java/TCPClient.java"),
    ),
];

static CHOSEN: OnceLock<String> = OnceLock::new();

/// The name of this process's reference implementation: `python` unless
/// [`choose_reference`] said otherwise.
pub fn reference() -> &'static str {
    CHOSEN.get().map_or(PYTHON, String::as_str)
}

/// Decides this process's reference, once: choosing the same one again is fine, another
/// one is an error (a process judges everything against one reference).
pub fn choose_reference(name: &str) -> Result<(), String> {
    let chosen = CHOSEN.get_or_init(|| name.to_string());
    if chosen == name {
        Ok(())
    } else {
        Err(format!(
            "the reference is already `{chosen}`; one run has one reference"
        ))
    }
}

/// Whether the reference frames TCP lines with `\n`: its client sends one after the
/// line and its server reads up to it (`readLine()`), so a harness playing the server
/// reads up to it too.
pub fn tcp_lines_end_with_newline() -> bool {
    reference() == JAVA_TEXTBOOK
}

/// Whether the reference's UDP server answers with its whole receive buffer, so that what
/// an earlier, longer request left there comes back after a later reply: each UDP unit
/// then gets a server of its own, as a first request would.
pub fn udp_server_keeps_its_buffer() -> bool {
    reference() == JAVA_TEXTBOOK
}

/// What the reference's client prints before a reply (after any prompt): the Python
/// TCP client's `From Server:  `, the Java clients' `FROM SERVER: ` (TCP) and
/// `FROM SERVER:` (UDP).
pub fn reply_prefix(transport: crate::proto::Transport) -> &'static str {
    match (reference() == JAVA_TEXTBOOK, transport) {
        (true, crate::proto::Transport::Tcp) => "FROM SERVER: ",
        (true, crate::proto::Transport::Udp) => "FROM SERVER:",
        (false, crate::proto::Transport::Tcp) => crate::proto::TCP_REPLY_PREFIX,
        (false, crate::proto::Transport::Udp) => "",
    }
}

/// A line as the reference's client puts it on the wire, for the harness to send the
/// same: over TCP the `java-textbook` client ends it with `\n`
/// (`writeBytes(sentence + '\n')`), the Python one sends it bare; over UDP both send it
/// bare.
pub fn framed_line(line: &[u8], transport: crate::proto::Transport) -> Vec<u8> {
    let mut bytes = line.to_vec();
    if transport == crate::proto::Transport::Tcp && tcp_lines_end_with_newline() {
        bytes.push(b'\n');
    }
    bytes
}

/// What `--reference` chose, before anything is built.
#[derive(Debug, Clone, Default)]
pub enum ReferenceChoice {
    /// The Python scripts (built in; run under each `--python`).
    #[default]
    Python,
    /// The textbook's Java programs, compiled with `javac`.
    JavaTextbook,
    /// The one implementation a manifest declares.
    Manifest(Box<Implementation>),
}

impl ReferenceChoice {
    /// Reads `--reference VALUE`: `python`, `java-textbook`, or the path of a manifest
    /// declaring exactly one implementation with all four roles.
    pub fn parse(value: &str) -> Result<ReferenceChoice, String> {
        match value {
            PYTHON => return Ok(ReferenceChoice::Python),
            JAVA_TEXTBOOK => return Ok(ReferenceChoice::JavaTextbook),
            _ => {}
        }
        let path = Path::new(value);
        if !path.is_file() {
            return Err(format!(
                "--reference {value}: not `{PYTHON}`, not `{JAVA_TEXTBOOK}`, and no such file; \
                 give one of those names or the path of a manifest (TOML) declaring the model \
                 solution as one [[implementation]]"
            ));
        }
        let reserved = [PYTHON.to_string(), super::SHOUT.to_string(), "probe".into()];
        let mut declared = super::load_manifest(path, &reserved)
            .map_err(|e| format!("--reference {value}: {e}"))?;
        if declared.len() != 1 {
            return Err(format!(
                "--reference {value}: the manifest declares {} implementations; a reference \
                 manifest declares exactly one",
                declared.len()
            ));
        }
        let mut one = declared.remove(0);
        let missing: Vec<String> = RoleKey::ALL
            .iter()
            .filter(|k| one.role(**k).is_none())
            .map(|k| k.to_string())
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "--reference {value}: `{}` has no {}; a reference plays all four roles",
                one.name,
                missing.join(", ")
            ));
        }
        // The reference's stdout is what clients are compared with, byte for byte.
        one.client_output = ClientOutput::Reference;
        Ok(ReferenceChoice::Manifest(Box::new(one)))
    }

    /// The reference implementation's name: `python`, `java-textbook`, or the manifest's.
    pub fn name(&self) -> &str {
        match self {
            ReferenceChoice::Python => PYTHON,
            ReferenceChoice::JavaTextbook => JAVA_TEXTBOOK,
            ReferenceChoice::Manifest(i) => &i.name,
        }
    }

    /// The `--reference` value that chooses it again, for rerun commands (`None` for
    /// the default).
    pub fn flag_value(&self) -> Option<String> {
        match self {
            ReferenceChoice::Python => None,
            ReferenceChoice::JavaTextbook => Some(JAVA_TEXTBOOK.into()),
            ReferenceChoice::Manifest(i) => match &i.origin {
                Origin::Manifest(path) => Some(path.display().to_string()),
                _ => Some(i.name.clone()),
            },
        }
    }

    /// Makes the reference runnable (`java-textbook` is compiled into `scratch`); `None`
    /// for `python`, which the built-ins provide per interpreter. A missing JDK is an
    /// environment problem, said with the fix.
    pub fn build(&self, scratch: &Path) -> Result<Option<BuiltReference>, String> {
        match self {
            ReferenceChoice::Python => Ok(None),
            ReferenceChoice::JavaTextbook => java_textbook(scratch).map(Some),
            ReferenceChoice::Manifest(i) => Ok(Some(BuiltReference {
                fingerprint: manifest_fingerprint(i),
                runtime: match i.unicode {
                    super::UnicodePolicy::Declared(unicode) => Some(Runtime {
                        label: i.name.clone(),
                        unicode,
                    }),
                    _ => None,
                },
                implementation: (**i).clone(),
            })),
        }
    }
}

/// A reference ready to run, and what its observations depend on.
#[derive(Debug, Clone)]
pub struct BuiltReference {
    /// The implementation, named as the reference.
    pub implementation: Implementation,
    /// Its programs' bytes and toolchain, for the reference cache's key.
    pub fingerprint: String,
    /// What its uppercasing follows, when known and not the Python interpreter's.
    pub runtime: Option<Runtime>,
}

/// What a reference other than the Python scripts runs on, as sentences name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runtime {
    /// How a sentence names it after "the reference": `Java 17`, or a manifest's name.
    pub label: String,
    /// The Unicode version its uppercasing follows.
    pub unicode: UnicodeVersion,
}

/// The Unicode version each Java release's `Character` follows (its documentation:
/// "Character information is based on the Unicode Standard, version …"), from Java 11:
/// shout carries no case table before Unicode 9.0, and Java 9 and 10 follow 8.0.
const JAVA_UNICODE: [(u32, (u8, u8)); 15] = [
    (11, (10, 0)),
    (12, (11, 0)),
    (13, (12, 1)),
    (14, (12, 1)),
    (15, (13, 0)),
    (16, (13, 0)),
    (17, (13, 0)),
    (18, (13, 0)),
    (19, (14, 0)),
    (20, (15, 0)),
    (21, (15, 0)),
    (22, (15, 1)),
    (23, (15, 1)),
    (24, (16, 0)),
    (25, (16, 0)),
];

/// The runtime `java -version` describes (it prints `openjdk version "17.0.2" …` or
/// `java version "1.8.0_392"` on stderr): `Java 17` and its Unicode version; `None` for
/// a release the table does not know (before Java 11, or newer than it).
fn java_runtime(version_text: &str) -> Option<Runtime> {
    let quoted = version_text.split('"').nth(1)?;
    let mut parts = quoted.split(['.', '-', '+', '_']);
    let feature: u32 = match parts.next()?.parse().ok()? {
        1 => parts.next()?.parse().ok()?,
        n => n,
    };
    let &(_, (major, minor)) = JAVA_UNICODE.iter().find(|(f, _)| *f == feature)?;
    Some(Runtime {
        label: format!("Java {feature}"),
        unicode: UnicodeVersion {
            major,
            minor,
            update: 0,
        },
    })
}

/// Writes the Java sources into `scratch/java-textbook`, compiles them there, and
/// returns the implementation that runs the classes.
fn java_textbook(scratch: &Path) -> Result<BuiltReference, String> {
    let no_jdk = |what: &str| {
        format!(
            "--reference {JAVA_TEXTBOOK} needs a JDK ({what}): install one \
             (apt-get install default-jdk-headless) and run again"
        )
    };
    let javac = which::which("javac").map_err(|_| no_jdk("`javac` is not on PATH"))?;
    let java = which::which("java").map_err(|_| no_jdk("`java` is not on PATH"))?;
    let dir = scratch.join(JAVA_TEXTBOOK);
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("cannot write the {JAVA_TEXTBOOK} reference: {e}"))?;
    for (name, text) in JAVA_SOURCES {
        std::fs::write(dir.join(name), text)
            .map_err(|e| format!("cannot write the {JAVA_TEXTBOOK} reference: {e}"))?;
    }
    let out = Command::new(&javac)
        .arg("-d")
        .arg(&dir)
        .args(JAVA_SOURCES.iter().map(|(name, _)| dir.join(name)))
        .env("LC_ALL", "C.UTF-8")
        .output()
        .map_err(|e| no_jdk(&format!("`{}` cannot run: {e}", javac.display())))?;
    if !out.status.success() {
        return Err(no_jdk(&format!(
            "`{}` failed: {}",
            javac.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let version = Command::new(&java)
        .arg("-version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
        .map_err(|e| no_jdk(&format!("`{}` cannot run: {e}", java.display())))?;
    Ok(BuiltReference {
        implementation: java_implementation(&java, &dir),
        runtime: java_runtime(&version),
        fingerprint: format!(
            "{} {}",
            fingerprint_of(&JAVA_SOURCES),
            version.split_whitespace().collect::<Vec<_>>().join(" ")
        ),
    })
}

/// The four Java roles, run from the compiled classes in `classes`.
fn java_implementation(java: &Path, classes: &Path) -> Implementation {
    let roles = RoleKey::ALL
        .into_iter()
        .map(|key| {
            let class = format!(
                "{}{}",
                key.transport.as_str().to_uppercase(),
                match key.role {
                    Role::Client => "Client",
                    Role::Server => "Server",
                }
            );
            let mut words = vec![
                java.display().to_string(),
                "-cp".into(),
                classes.display().to_string(),
                class,
            ];
            if key.role == Role::Client {
                words.push("{host}".into());
            }
            words.push("{port}".into());
            (key, CommandTemplate { words })
        })
        .collect();
    Implementation {
        name: JAVA_TEXTBOOK.into(),
        language: "java".into(),
        dir: Some(classes.to_path_buf()),
        build: None,
        // The environment a graded Java submission gets: UTF-8 by the locale.
        env: [("LC_ALL".to_string(), "C.UTF-8".to_string())]
            .into_iter()
            .collect(),
        roles,
        client_output: ClientOutput::Reference,
        fixed_ports: Default::default(),
        unicode: super::UnicodePolicy::Auto,
        origin: Origin::Builtin,
    }
}

/// A manifest reference's commands, environment and the files of its folder (names,
/// sizes and times): rebuilding the model solution changes it.
fn manifest_fingerprint(i: &Implementation) -> String {
    let mut text = format!("{} {:?} {:?} {:?}", i.name, i.build, i.env, i.roles);
    if let Some(dir) = &i.dir {
        let mut files = Vec::new();
        list_files(dir, &mut files, 2000);
        files.sort();
        for (path, size, modified) in files {
            text.push_str(&format!("\n{} {size} {modified}", path.display()));
        }
    }
    format!("{:016x}", crate::text::fnv1a(text.as_bytes()))
}

/// Up to `limit` files under `dir` with their sizes and modification times.
fn list_files(dir: &Path, out: &mut Vec<(PathBuf, u64, u128)>, limit: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if out.len() >= limit {
            return;
        }
        let path = entry.path();
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_dir() {
            list_files(&path, out, limit);
        } else {
            let modified = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            out.push((path, meta.len(), modified));
        }
    }
}

/// A fingerprint of named texts.
pub(super) fn fingerprint_of(texts: &[(&str, &str)]) -> String {
    let mut bytes = Vec::new();
    for (name, text) in texts {
        bytes.extend_from_slice(name.as_bytes());
        bytes.push(0);
        bytes.extend_from_slice(text.as_bytes());
        bytes.push(0);
    }
    format!("{:016x}", crate::text::fnv1a(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_version_texts_name_the_release_and_its_unicode_version() {
        let v = |major, minor| UnicodeVersion {
            major,
            minor,
            update: 0,
        };
        let seen = |text: &str| java_runtime(text).map(|r| (r.label, r.unicode));
        assert_eq!(
            seen("openjdk version \"17.0.17\" 2025-10-21\nOpenJDK Runtime Environment"),
            Some(("Java 17".into(), v(13, 0)))
        );
        assert_eq!(
            seen("java version \"21\" 2023-09-19 LTS"),
            Some(("Java 21".into(), v(15, 0)))
        );
        assert_eq!(
            seen("openjdk version \"22-ea\""),
            Some(("Java 22".into(), v(15, 1)))
        );
        assert_eq!(
            seen("openjdk version \"11.0.2\""),
            Some(("Java 11".into(), v(10, 0)))
        );
        // Java 8 (6.2) and 9 (8.0) are older than any version shout carries; an unknown
        // release is not guessed at.
        assert_eq!(seen("java version \"1.8.0_392\""), None);
        assert_eq!(seen("java version \"9.0.4\""), None);
        assert_eq!(seen("openjdk version \"99\""), None);
        assert_eq!(seen("no version here"), None);
    }

    #[test]
    fn names_choose_the_built_in_references_and_anything_else_must_be_a_manifest() {
        assert_eq!(ReferenceChoice::parse("python").unwrap().name(), PYTHON);
        assert_eq!(
            ReferenceChoice::parse("java-textbook").unwrap().name(),
            JAVA_TEXTBOOK
        );
        let err = ReferenceChoice::parse("java").unwrap_err();
        assert!(err.contains("not `python`, not `java-textbook`"), "{err}");
    }

    #[test]
    fn a_reference_manifest_declares_one_implementation_with_every_role() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.toml");
        std::fs::write(
            &path,
            "[[implementation]]\nname = \"model\"\nudp-server = \"m {port}\"\n",
        )
        .unwrap();
        let err = ReferenceChoice::parse(path.to_str().unwrap()).unwrap_err();
        assert!(
            err.contains("has no udp-client, tcp-server, tcp-client"),
            "{err}"
        );
        let roles = "udp-server = \"m {port}\"\nudp-client = \"m\"\ntcp-server = \"m {port}\"\ntcp-client = \"m\"\n";
        std::fs::write(
            &path,
            format!("[[implementation]]\nname = \"model\"\nclient-output = \"contains\"\n{roles}"),
        )
        .unwrap();
        let choice = ReferenceChoice::parse(path.to_str().unwrap()).unwrap();
        assert_eq!(choice.name(), "model");
        let ReferenceChoice::Manifest(one) = &choice else {
            panic!("a manifest")
        };
        assert!(matches!(one.client_output, ClientOutput::Reference));
        std::fs::write(
            &path,
            format!("[[implementation]]\nname = \"a\"\n{roles}[[implementation]]\nname = \"b\"\n{roles}"),
        )
        .unwrap();
        let err = ReferenceChoice::parse(path.to_str().unwrap()).unwrap_err();
        assert!(err.contains("declares 2 implementations"), "{err}");
    }

    #[test]
    fn the_java_sources_fingerprint_changes_with_any_byte() {
        let base = fingerprint_of(&JAVA_SOURCES);
        for i in 0..JAVA_SOURCES.len() {
            let mut changed = JAVA_SOURCES;
            let edited = format!("{} ", JAVA_SOURCES[i].1);
            changed[i].1 = &edited;
            assert_ne!(fingerprint_of(&changed), base, "{}", JAVA_SOURCES[i].0);
        }
    }
}

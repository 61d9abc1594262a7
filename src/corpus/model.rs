//! Cases: what is sent, how, and what kind of promise it tests.

use std::collections::BTreeSet;

use serde::Deserialize;

use crate::proto::case::{changed_between, UnicodeVersion};
use crate::proto::Transport;
use crate::registry::Role;

/// The corpus file, embedded.
const CASES: &str = include_str!("cases.toml");

/// What a case is about; `core` must pass, the others are reported per category.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// Plain text every implementation must get right.
    Core,
    /// Case mapping beyond ASCII, including version-sensitive characters.
    Unicode,
    /// Buffer boundaries, empty lines, control characters.
    Edge,
    /// Inputs no client sends: invalid UTF-8, oversize datagrams, split writes, silence.
    Robustness,
}

impl Category {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Core => "core",
            Category::Unicode => "unicode",
            Category::Edge => "edge",
            Category::Robustness => "robustness",
        }
    }
}

/// How a case reaches the implementation under test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A line typed into a client (without its `\n`); a server probe sends these bytes.
    Line(String),
    /// Bytes written straight to a server, one write each.
    Raw(Vec<Vec<u8>>),
    /// A TCP connection that never sends anything.
    Silent,
    /// Many requests to one server instance: several clients at once, or hundreds in a
    /// row (server probes only).
    Load(Load),
    /// A line typed into a client at another moment, or with no server there (client
    /// probes only).
    Timed {
        /// The line (without its `\n`).
        line: String,
        /// When, or against what.
        timing: Timing,
    },
}

/// The moment a [`Input::Timed`] case's line reaches a client, or what it meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    /// The line is typed this many milliseconds after the client connected (or, for a
    /// client that reads before connecting, after a bounded wait for it to connect).
    Late(u64),
    /// Nothing listens on the port the client is given (TCP: the connection is refused).
    NoServer,
}

/// The load a [`Input::Load`] case puts on a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Load {
    /// This many clients connect and send at once, each its own line.
    Concurrent(usize),
    /// This many requests, one after another, each on its own connection (TCP) or
    /// socket (UDP).
    Volume(usize),
    /// The line sent from other loopback addresses and ports than the probes' usual
    /// `127.0.0.1`, and over IPv6 where the server listens there too.
    Addresses,
    /// TCP: the line sent this many milliseconds after the connection is made (a slow
    /// typist at the reference client, which connects before it reads the line).
    Late(u64),
}

impl Input {
    /// How many writes a probe makes of it (none for a silent connection).
    pub fn writes(&self) -> usize {
        match self {
            Input::Line(_) => 1,
            Input::Raw(writes) => writes.len(),
            Input::Silent | Input::Load(_) | Input::Timed { .. } => 0,
        }
    }
}

/// Which checks a case takes part in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applies {
    /// Client × server pairings, and probes of both sides.
    Everywhere,
    /// Only probes of servers (no client can send it).
    ServerProbe,
    /// Only probes of clients (a moment or a situation only the harness's server makes).
    ClientProbe,
}

/// One case of the corpus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// `[a-z0-9-]+`, unique.
    pub name: String,
    /// What it is about.
    pub category: Category,
    /// What is sent.
    pub input: Input,
    /// The transports it applies to.
    pub transports: Vec<Transport>,
    /// A sentence for reports.
    pub note: Option<String>,
    /// What `shout grade`'s lean plan leaves out of this case.
    pub grading: Grading,
}

/// What `shout grade` leaves out of a case because another case already shows it
/// (`client-like`, `paired = false` in the corpus). The full run (`matrix`, `check`)
/// keeps everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grading {
    /// For a client this case is alike to the named one (both plain ASCII or both not,
    /// and a reply shorter, as long or longer in bytes than the line in both: the rest is
    /// the server's case mapping), so a student's client is probed with that case alone.
    pub client_like: Option<String>,
    /// Real programs are paired on this case (a `core` case): `false` where another core
    /// case already pairs text of the same kind.
    pub paired: bool,
}

impl Default for Grading {
    /// Nothing left out.
    fn default() -> Grading {
        Grading {
            client_like: None,
            paired: true,
        }
    }
}

impl Case {
    /// Whether this is one of the generated cases holding the characters whose uppercase
    /// changed between two supported Unicode versions.
    pub fn is_version_step(&self) -> bool {
        self.category == Category::Unicode
            && self.name.starts_with(VERSION_STEP_PREFIX)
            && self.name.contains("-to-")
    }

    /// How long the case holds an implementation on purpose, in milliseconds: a line
    /// sent or typed late (`late-line`, `typed-late`); 0 for the others.
    pub fn deliberate_wait_ms(&self) -> u64 {
        match self.input {
            Input::Load(Load::Late(ms))
            | Input::Timed {
                timing: Timing::Late(ms),
                ..
            } => ms,
            _ => 0,
        }
    }

    /// Where this case is used.
    pub fn applies(&self) -> Applies {
        match self.input {
            Input::Line(_) => Applies::Everywhere,
            Input::Raw(_) | Input::Silent | Input::Load(_) => Applies::ServerProbe,
            Input::Timed { .. } => Applies::ClientProbe,
        }
    }

    /// Whether the case runs over `transport` with the harness probing `probed` (or in a
    /// pairing when `probed` is `None`).
    pub fn applies_to(&self, transport: Transport, probed: Option<Role>) -> bool {
        self.transports.contains(&transport)
            && match (self.applies(), probed) {
                // Over TCP an empty line puts no bytes on the wire: probing a server with
                // it is the `silent-connection` case, which also checks the others.
                (Applies::Everywhere, Some(Role::Server))
                    if transport == Transport::Tcp && self.request_bytes().is_empty() =>
                {
                    false
                }
                (Applies::Everywhere, _) => true,
                (Applies::ServerProbe, Some(Role::Server)) => true,
                (Applies::ServerProbe, _) => false,
                (Applies::ClientProbe, Some(Role::Client)) => true,
                (Applies::ClientProbe, _) => false,
            }
    }

    /// The bytes a server receives in total.
    pub fn request_bytes(&self) -> Vec<u8> {
        match &self.input {
            Input::Line(l) | Input::Timed { line: l, .. } => l.as_bytes().to_vec(),
            Input::Raw(writes) => writes.concat(),
            Input::Silent | Input::Load(_) => Vec::new(),
        }
    }
}

/// The corpus file is wrong (a bug in shout, or in a user's own corpus).
#[derive(Debug, thiserror::Error)]
#[error("cases.toml{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct CorpusError {
    /// The 1-based line, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCorpus {
    case: Vec<toml::Spanned<RawCase>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    name: String,
    category: Category,
    #[serde(default)]
    line: Option<RawLine>,
    #[serde(default)]
    raw: Option<Vec<String>>,
    #[serde(default)]
    silent: bool,
    #[serde(default)]
    load: Option<RawLoad>,
    #[serde(default)]
    client: Option<RawClient>,
    #[serde(default)]
    transport: Option<Transport>,
    #[serde(default)]
    note: Option<String>,
    #[serde(default, rename = "client-like")]
    client_like: Option<String>,
    #[serde(default = "paired_by_default")]
    paired: bool,
}

fn paired_by_default() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
enum RawLoad {
    Concurrent(usize),
    Requests(usize),
    Addresses(bool),
    LateMs(u64),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
enum RawClient {
    LateMs(u64),
    NoServer(bool),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawLine {
    Text(String),
    Repeat {
        #[serde(default)]
        prefix: String,
        repeat: String,
        count: usize,
    },
}

/// Decodes `\xNN`, `\n`, `\r`, `\t`, `\0` and `\\` in a literal string.
fn unescape(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        match bytes.get(i + 1) {
            Some(b'x') => {
                let hex = s.get(i + 2..i + 4).ok_or("`\\x` needs two hex digits")?;
                out.push(
                    u8::from_str_radix(hex, 16).map_err(|_| format!("bad escape `\\x{hex}`"))?,
                );
                i += 4;
            }
            Some(&c @ (b'n' | b'r' | b't' | b'0' | b'\\')) => {
                out.push(match c {
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    b'0' => 0,
                    _ => b'\\',
                });
                i += 2;
            }
            _ => return Err("unknown escape: use \\xNN, \\n, \\r, \\t, \\0 or \\\\".into()),
        }
    }
    Ok(out)
}

/// A client-timing case's input: a plain line and nothing else besides `client`.
fn timed(
    name: &str,
    line: Option<RawLine>,
    other_input: bool,
    client: RawClient,
) -> Result<Input, String> {
    let (Some(RawLine::Text(line)), false) = (line, other_input) else {
        return Err(format!(
            "case `{name}`: `client` goes with a plain `line = \"...\"` and nothing else"
        ));
    };
    if line.contains('\n') {
        return Err(format!("case `{name}`: a line cannot contain \\n"));
    }
    let timing = match client {
        RawClient::LateMs(ms) if (1..=5_000).contains(&ms) => Timing::Late(ms),
        RawClient::NoServer(true) => Timing::NoServer,
        _ => {
            return Err(format!(
                "case `{name}`: `client` takes late-ms = 1..5000 or no-server = true"
            ))
        }
    };
    Ok(Input::Timed { line, timing })
}

/// Parses a corpus text (the embedded one unless testing).
fn parse(text: &str) -> Result<Vec<Case>, CorpusError> {
    let raw: RawCorpus = toml::from_str(text).map_err(|e| CorpusError {
        line: e.span().map(|s| crate::text::line_at(text, s.start)),
        message: e.message().trim().to_string(),
    })?;
    let mut names = BTreeSet::new();
    let mut cases = Vec::new();
    for spanned in raw.case {
        let line = Some(crate::text::line_at(text, spanned.span().start));
        let err = |message: String| CorpusError { line, message };
        let r = spanned.into_inner();
        if !crate::registry::valid_name(&r.name) {
            return Err(err(format!("case name `{}` must match [a-z0-9-]+", r.name)));
        }
        if !names.insert(r.name.clone()) {
            return Err(err(format!("case name `{}` is used twice", r.name)));
        }
        let grading = Grading {
            client_like: r.client_like.clone(),
            paired: r.paired,
        };
        if r.silent && r.load.is_some() {
            return Err(err(format!(
                "case `{}` needs exactly one of `line`, `raw`, `silent = true`, `load`",
                r.name
            )));
        }
        if let Some(client) = r.client {
            let input = timed(
                &r.name,
                r.line,
                r.raw.is_some() || r.silent || r.load.is_some(),
                client,
            )
            .map_err(err)?;
            cases.push(Case {
                name: r.name,
                category: r.category,
                input,
                transports: r
                    .transport
                    .map_or_else(|| Transport::ALL.to_vec(), |t| vec![t]),
                note: r.note,
                grading,
            });
            continue;
        }
        let input = match (r.line, r.raw, r.silent || r.load.is_some()) {
            (None, None, true) if r.load.is_some() => match r.load {
                Some(RawLoad::Concurrent(n)) if (2..=64).contains(&n) => {
                    Input::Load(Load::Concurrent(n))
                }
                Some(RawLoad::Requests(n)) if (1..=10_000).contains(&n) => {
                    Input::Load(Load::Volume(n))
                }
                Some(RawLoad::Addresses(true)) => Input::Load(Load::Addresses),
                Some(RawLoad::LateMs(ms)) if (1..=5_000).contains(&ms) => {
                    Input::Load(Load::Late(ms))
                }
                _ => {
                    return Err(err(format!(
                        "case `{}`: `load` takes concurrent = 2..64, requests = 1..10000, addresses = true or late-ms = 1..5000",
                        r.name
                    )))
                }
            },
            (Some(RawLine::Text(t)), None, false) => Input::Line(t),
            (
                Some(RawLine::Repeat {
                    prefix,
                    repeat,
                    count,
                }),
                None,
                false,
            ) => Input::Line(format!("{prefix}{}", repeat.repeat(count))),
            (None, Some(writes), false) => Input::Raw(
                writes
                    .iter()
                    .map(|w| unescape(w))
                    .collect::<Result<_, _>>()
                    .map_err(|m| err(format!("case `{}`: {m}", r.name)))?,
            ),
            (None, None, true) => Input::Silent,
            _ => {
                return Err(err(format!(
                    "case `{}` needs exactly one of `line`, `raw`, `silent = true`, `load`",
                    r.name
                )))
            }
        };
        if let Input::Line(l) = &input {
            if l.contains('\n') {
                return Err(err(format!("case `{}`: a line cannot contain \\n", r.name)));
            }
        }
        let transports = match (r.transport, &input) {
            (_, Input::Silent) => vec![Transport::Tcp],
            (Some(t), _) => vec![t],
            (None, _) => Transport::ALL.to_vec(),
        };
        cases.push(Case {
            name: r.name,
            category: r.category,
            input,
            transports,
            note: r.note,
            grading,
        });
    }
    check_grading(&cases).map_err(|message| CorpusError {
        line: None,
        message,
    })?;
    Ok(cases)
}

/// `client-like` names a case that is probed with clients wherever this one would be and
/// is not itself left out; `paired = false` only on a `core` case with a line.
fn check_grading(cases: &[Case]) -> Result<(), String> {
    for case in cases {
        if !case.grading.paired
            && (case.category != Category::Core || case.applies() != Applies::Everywhere)
        {
            return Err(format!(
                "case `{}`: `paired = false` is for core cases with a line (only those are paired in grading)",
                case.name
            ));
        }
        let Some(like) = &case.grading.client_like else {
            continue;
        };
        if case.category == Category::Core && case.grading.paired {
            return Err(format!(
                "case `{}`: a core case paired in grading needs its own client probe: add `paired = false` or drop `client-like`",
                case.name
            ));
        }
        let other = cases.iter().find(|c| &c.name == like);
        let fits = other.is_some_and(|o| {
            o.grading.client_like.is_none()
                && case.applies() == Applies::Everywhere
                && o.applies() == Applies::Everywhere
                && case.transports.iter().all(|t| o.transports.contains(t))
        });
        if !fits {
            return Err(format!(
                "case `{}`: `client-like = \"{like}\"` must name another line case, on the same transports, that is not itself `client-like`",
                case.name
            ));
        }
    }
    Ok(())
}

/// How the generated version-step cases' names begin.
const VERSION_STEP_PREFIX: &str = "unicode-";

/// The generated `unicode` cases: for each step between consecutive supported Unicode
/// versions, the characters whose uppercase changed, in lines that fit every buffer.
fn version_cases() -> Vec<Case> {
    let versions = UnicodeVersion::supported();
    let mut out = Vec::new();
    for pair in versions.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let chars = changed_between(a, b);
        let mut line = String::new();
        let mut part = 0;
        let flush = |line: &mut String, part: &mut usize, out: &mut Vec<Case>, last: bool| {
            if line.is_empty() {
                return;
            }
            *part += 1;
            let suffix = if last && *part == 1 {
                String::new()
            } else {
                format!("-{part}")
            };
            out.push(Case {
                name: format!(
                    "{VERSION_STEP_PREFIX}{}-{}-to-{}-{}{suffix}",
                    a.major, a.minor, b.major, b.minor
                ),
                category: Category::Unicode,
                input: Input::Line(std::mem::take(line)),
                transports: Transport::ALL.to_vec(),
                note: Some(format!(
                    "characters whose uppercase changed between Unicode {a} and {b}"
                )),
                grading: Grading::default(),
            });
        };
        for c in chars {
            // Uppercasing at most triples a character; stay well under 1024 bytes either way.
            if line.len() + c.len_utf8() + 1 > 300 {
                flush(&mut line, &mut part, &mut out, false);
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push(c);
        }
        flush(&mut line, &mut part, &mut out, true);
    }
    out
}

/// The whole corpus: the embedded file's cases, then the generated ones.
pub fn load() -> Result<Vec<Case>, CorpusError> {
    let mut cases = parse(CASES)?;
    cases.extend(version_cases());
    Ok(cases)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_corpus_loads_with_every_category() {
        let cases = load().unwrap();
        for cat in [
            Category::Core,
            Category::Unicode,
            Category::Edge,
            Category::Robustness,
        ] {
            assert!(cases.iter().any(|c| c.category == cat), "no {cat:?} case");
        }
        let names: BTreeSet<_> = cases.iter().map(|c| &c.name).collect();
        assert_eq!(names.len(), cases.len(), "duplicate names");
    }

    /// What a client sees of a line case: whether the text is all ASCII, and whether
    /// the reply is shorter, as long as, or longer than the request in bytes.
    fn seen_by_a_client(case: &Case) -> (bool, std::cmp::Ordering) {
        let Input::Line(line) = &case.input else {
            panic!("`{}` is not a line case", case.name);
        };
        let version = *UnicodeVersion::supported().last().unwrap();
        let reply = crate::proto::case::upper_str(line, version);
        (line.is_ascii(), reply.len().cmp(&line.len()))
    }

    #[test]
    fn a_client_like_case_shows_a_client_what_the_case_it_names_shows() {
        let cases = load().unwrap();
        let mut left_out = 0;
        for case in &cases {
            if let Some(like) = &case.grading.client_like {
                let other = cases.iter().find(|c| &c.name == like).unwrap();
                assert_eq!(
                    seen_by_a_client(case),
                    seen_by_a_client(other),
                    "`{}` is client-like `{like}`",
                    case.name
                );
                left_out += 1;
            }
        }
        assert!(left_out > 0);
    }

    #[test]
    fn grading_marks_must_name_a_case_that_is_probed() {
        let base = "[[case]]\nname = \"a\"\ncategory = \"unicode\"\nline = \"é\"\n";
        let like = |target: &str| {
            format!("{base}client-like = \"{target}\"\n[[case]]\nname = \"b\"\ncategory = \"unicode\"\nline = \"è\"\n")
        };
        assert!(parse(&like("b")).is_ok());
        for bad in ["nope", "a"] {
            let e = parse(&like(bad)).unwrap_err();
            assert!(e.message.contains("client-like"), "{}", e.message);
        }
        let raw = format!("{base}[[case]]\nname = \"r\"\ncategory = \"robustness\"\nraw = ['x']\nclient-like = \"a\"\n");
        assert!(parse(&raw).is_err());
        let paired = format!("{base}paired = false\n");
        let e = parse(&paired).unwrap_err();
        assert!(e.message.contains("paired = false"), "{}", e.message);
        let core = "[[case]]\nname = \"c\"\ncategory = \"core\"\nline = \"x\"\npaired = false\n";
        assert!(!parse(core).unwrap()[0].grading.paired);
        let paired_like = format!("{base}[[case]]\nname = \"c\"\ncategory = \"core\"\nline = \"x\"\nclient-like = \"a\"\n");
        let e = parse(&paired_like).unwrap_err();
        assert!(e.message.contains("paired in grading"), "{}", e.message);
    }

    #[test]
    fn generated_cases_cover_every_version_sensitive_character() {
        let text: String = version_cases()
            .iter()
            .map(|c| match &c.input {
                Input::Line(l) => l.clone(),
                _ => String::new(),
            })
            .collect();
        for c in crate::proto::case::version_sensitive_chars() {
            assert!(text.contains(c), "U+{:04X} missing", c as u32);
        }
        assert!(version_cases()
            .iter()
            .all(|c| c.request_bytes().len() <= 300));
    }

    #[test]
    fn buffer_cases_have_the_sizes_their_names_promise() {
        let cases = load().unwrap();
        let len = |n: &str| {
            cases
                .iter()
                .find(|c| c.name == n)
                .unwrap()
                .request_bytes()
                .len()
        };
        assert_eq!(len("tcp-buffer-exact"), 1024);
        assert_eq!(len("tcp-buffer-plus-one"), 1025);
        assert_eq!(len("udp-buffer-plus-one"), 2049);
        assert_eq!(len("tcp-split-character"), 1025);
        assert_eq!(len("udp-split-character"), 2049);
    }

    #[test]
    fn escapes_and_errors_in_raw_bytes() {
        assert_eq!(unescape(r"a\xff\n\\").unwrap(), b"a\xff\n\\");
        assert!(unescape(r"\q").is_err());
        let e = parse("[[case]]\nname = \"x\"\ncategory = \"core\"\n").unwrap_err();
        assert!(e.message.contains("exactly one"), "{e}");
        let e = parse("[[case]]\nname = \"x\"\ncategory = \"nope\"\nline = \"a\"\n").unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
    }
}

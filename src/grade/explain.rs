//! Sentences for students: a unit's harness diagnosis retold to the student whose code
//! it is about ("Your UDP server added a newline after the reply: …"), and the problems
//! that stop a role from being graded at all (missing, not buildable, no toolchain).
//!
//! Pure text: it reads results and never runs anything. Every diagnosis the verdict
//! module writes has a rephrasing here; anything else still gets a clear sentence.

use crate::grade::detect::Language;
use crate::proto::Transport;
use crate::registry::{Role, RoleKey, REFERENCE, SHOUT};
use crate::results::UnitResult;
use crate::verdict::{escape, Verdict};

/// How many characters of escaped bytes a sentence quotes before cutting them short.
const QUOTE_CHARS: usize = 60;

/// How many lines of compiler output a build problem quotes.
const BUILD_LINES: usize = 3;

/// What stops a role from being graded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// No file in the submission plays `role`.
    MissingRole {
        /// The role that is missing.
        role: RoleKey,
        /// The submission's language, to name a file the student would recognise.
        language: Option<Language>,
    },
    /// The toolchain is not installed; the sentence from `detect::missing_toolchain`.
    MissingToolchain(String),
    /// The build command failed.
    BuildFailed {
        /// The role whose build failed.
        role: RoleKey,
        /// The build command, as one line, when known.
        command: Option<String>,
        /// What the build printed (compiler errors).
        output: String,
    },
}

/// One sentence for the student about a [`Problem`].
pub fn problem(p: &Problem) -> String {
    match p {
        Problem::MissingRole { role, language } => {
            let what = match role.role {
                Role::Server => format!(
                    "listens on a {t} port and sends each line back uppercased",
                    t = upper(role.transport)
                ),
                Role::Client => format!(
                    "reads a line, sends it to the server over {t} and prints the reply",
                    t = upper(role.transport)
                ),
            };
            format!(
                "No {} found: expected a file such as {} that {what}.",
                role_words(*role),
                example_file(*role, *language)
            )
        }
        Problem::MissingToolchain(sentence) => sentence.trim().to_string(),
        Problem::BuildFailed {
            role,
            command,
            output,
        } => {
            let cmd = command
                .as_deref()
                .map(|c| format!(" (`{c}` failed)"))
                .unwrap_or_default();
            format!(
                "Your {} did not build{cmd}: {}",
                role_words(*role),
                first_lines(output)
            )
        }
    }
}

/// One plain sentence for `student` about unit `r`: what went wrong, from the student's
/// side, with the expected and actual bytes quoted (escaped, cut short when long).
pub fn for_student(r: &UnitResult, student: &str) -> String {
    let raw = r.diagnosis.as_deref().unwrap_or("").trim();
    match r.verdict {
        Verdict::Pass | Verdict::Xpass => {
            return format!("Passed: {} on `{}`.", graded_side(r, student), r.case);
        }
        Verdict::Info => {
            let why = if raw.is_empty() {
                "the reference has no defined answer for this input".to_string()
            } else {
                retell(raw, r, student)
            };
            return format!("Not counted: {}.", lower_first(&why));
        }
        Verdict::Skip => {
            let why = if raw.is_empty() {
                "this check did not run".to_string()
            } else {
                retell(raw, r, student)
            };
            return format!("Not run: {}.", lower_first(&why));
        }
        Verdict::Fail | Verdict::Xfail => {}
    }
    let raw = raw
        .strip_prefix("known failure (expectations.toml): ")
        .unwrap_or(raw);
    if raw.is_empty() {
        let mut s = format!(
            "{} does not behave like the reference on `{}`",
            graded_side(r, student),
            r.case
        );
        s.push_str(&detail(r));
        return finish(s);
    }
    let mut s = retell(raw, r, student);
    if wants_detail(raw) && !s.contains('`') {
        s.push_str(&detail(r));
    }
    finish(s)
}

/// The side a diagnosis speaks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Server,
    Client,
}

/// The harness diagnosis `d` told from `student`'s side, without a final period.
fn retell(d: &str, r: &UnitResult, student: &str) -> String {
    if let Some(m) = d.strip_prefix("build failed: ") {
        return format!("Your code did not build: {}", first_lines(m));
    }
    if let Some(m) = d.strip_prefix("toolchain or program missing: ") {
        return format!("the program could not be started: {m}");
    }
    let (side, sentence) = if let Some(rest) = d.strip_prefix("server") {
        (
            Side::Server,
            format!(
                "{}{}",
                who(r, Side::Server, student),
                server_predicate(rest, r)
            ),
        )
    } else if let Some(rest) = d.strip_prefix("client") {
        (
            Side::Client,
            format!(
                "{}{}",
                who(r, Side::Client, student),
                client_predicate(rest, r)
            ),
        )
    } else {
        return match d.strip_prefix("the reference") {
            Some(rest) => format!("The reference{rest}"),
            None => upper_first(d),
        };
    };
    // About the other side of a unit the student is in: say whose unit it is.
    let (this, other) = match side {
        Side::Server => (&r.server, Side::Client),
        Side::Client => (&r.client, Side::Server),
    };
    let other_name = match other {
        Side::Server => &r.server,
        Side::Client => &r.client,
    };
    if this != student && other_name == student {
        return format!(
            "With {}, {}",
            lower_first(&who(r, other, student)),
            lower_first(&sentence)
        );
    }
    sentence
}

/// Rephrases what follows `server` in a diagnosis (the text starts with ` ` or `'s `).
fn server_predicate(rest: &str, r: &UnitResult) -> String {
    let fixed = [
        (
            " title-cases (capitalises each word) instead of uppercasing everything",
            " title-cased the text (\"Hello World\") instead of uppercasing it",
        ),
        (
            " lowercases instead of uppercasing",
            " lowercased the text instead of uppercasing it",
        ),
        (
            " swaps case instead of uppercasing",
            " swapped the case of each letter instead of uppercasing it",
        ),
        (
            " maps case with ASCII only: non-ASCII letters are left unchanged",
            " uppercased only ASCII letters and left non-ASCII ones (é, ß) unchanged",
        ),
        (
            " uses one-to-one (simple) case mapping: characters such as ß must become two (SS)",
            " maps each character to exactly one character, but some must become two (ß becomes SS)",
        ),
        (
            " echoes the request without uppercasing it",
            " sent the text back without uppercasing it",
        ),
        (
            " replied with nothing",
            " replied with an empty message",
        ),
        (
            " stripped leading or trailing whitespace",
            " removed spaces at the start or end of the line; the reference keeps them",
        ),
        (
            " decodes the request as Latin-1 instead of UTF-8",
            " decodes the request as Latin-1 instead of UTF-8, so non-ASCII letters come out garbled",
        ),
        (
            " never replied",
            " never replied (no answer within the time limit)",
        ),
        (
            " replied from a different port than it listens on",
            " replied from a different port than it listens on; replies must come from the server's own socket",
        ),
    ];
    if let Some((_, to)) = fixed.iter().find(|(from, _)| *from == rest) {
        return (*to).to_string();
    }
    if let Some(tail) = rest.strip_prefix(" added ") {
        if let Some((what, quoted)) = tail.split_once(": expected ") {
            if let Some(n) = what
                .strip_suffix(" zero bytes (the unused part of its buffer)")
                .and_then(|n| n.parse::<usize>().ok())
            {
                return match (&r.kind[..], &r.actual) {
                    ("server-probe", Some(actual)) => format!(
                        " sends back the whole {}-byte buffer, including the unused zero bytes ({n} after the reply)",
                        actual.len()
                    ),
                    _ => format!(
                        " sends back {n} zero bytes after the reply: the unused part of its buffer"
                    ),
                };
            }
            if let Some(size) = what
                .strip_prefix("the rest of its ")
                .and_then(|w| w.split_once("-byte receive buffer"))
                .map(|(n, _)| n)
            {
                return format!(
                    " sends back its whole {size}-byte receive buffer: after the reply come bytes an earlier, longer request left there"
                );
            }
            let what = match what {
                "a trailing newline" => "a newline after the reply".to_string(),
                "a trailing \\r\\n" => "`\\r\\n` after the reply".to_string(),
                other => other.to_string(),
            };
            return format!(" added {what}: expected {quoted}");
        }
    }
    if let Some(prefix) = rest
        .strip_prefix(" added a prefix ")
        .and_then(|p| p.strip_suffix(" before the reply"))
    {
        return format!(" put {prefix} before the reply");
    }
    if rest.starts_with(" follows Unicode ") {
        return format!("{rest}, so some characters come out differently");
    }
    if let Some(tail) = rest.strip_prefix(" died on this input") {
        return format!(" crashed on this input{tail}");
    }
    rest.to_string()
}

/// Rephrases what follows `client` in a diagnosis (the text starts with ` ` or `'s `).
fn client_predicate(rest: &str, r: &UnitResult) -> String {
    let fixed = [
        (" sent nothing", " sent nothing to the server"),
        (
            " sent the line with its trailing newline; the reference client strips it",
            " sends a newline after the text; the reference client sends the line without it",
        ),
        (
            " uppercased the line before sending it",
            " uppercased the text before sending it",
        ),
        (
            " never exited after the reply arrived",
            " printed the reply but did not exit; it was stopped",
        ),
        (
            " never exited after printing the reply",
            " printed the reply but did not exit; it was stopped",
        ),
        (
            " output does not match the implementation's client-output pattern",
            "'s output does not show the reply where the grader looks for it",
        ),
        (
            " truncates the reply it prints",
            " printed only part of the reply",
        ),
    ];
    if let Some((_, to)) = fixed.iter().find(|(from, _)| *from == rest) {
        return (*to).to_string();
    }
    if let Some(n) = rest
        .strip_prefix(" printed ")
        .and_then(|t| t.strip_suffix(" bytes, far more than the reply (output flood)"))
    {
        return format!(" kept printing after the reply ({n} bytes); it was stopped");
    }
    if rest.starts_with(" printed `") {
        let zeros = r
            .actual
            .as_deref()
            .map_or(0, |a| a.iter().filter(|&&b| b == 0).count());
        let expected_zeros = r
            .expected
            .as_deref()
            .map_or(0, |e| e.iter().filter(|&&b| b == 0).count());
        if zeros > expected_zeros {
            return format!(
                " printed the whole receive buffer: the reply is followed by {} unused zero bytes",
                zeros - expected_zeros
            );
        }
        if let Some((printed, reference)) = rest.split_once(" where the reference client prints ") {
            return format!("{printed}; the reference client prints {reference}");
        }
    }
    if let Some(tail) = rest
        .strip_prefix(" printed the right output but ended with ")
        .and_then(|t| t.strip_suffix("; the reference client exits 0"))
    {
        return format!(
            " printed the right output but ended with {tail}; a client must exit with status 0"
        );
    }
    if let Some(tail) = rest
        .strip_prefix(" ended with ")
        .and_then(|t| t.strip_suffix("; the reference client exits 0"))
    {
        return format!(" ended with {tail}; a client must exit with status 0");
    }
    rest.to_string()
}

/// Whether quoting the expected and actual bytes helps after this diagnosis: not for
/// problems where the bytes say nothing (a build, a hang, a wrong port).
fn wants_detail(d: &str) -> bool {
    ![
        "build failed",
        "toolchain",
        "server never started listening",
        "server replied from a different port",
        "server waits for a newline",
        "server waits for more bytes",
        "server sent ",
        "server never replied",
        "server exited after",
        "server answered, then",
        "server refused",
        "server died",
        "server started too many processes",
        "client never exited",
        "client printed the right output",
        "client ended with",
        "client printed ",
        // Request mistakes: the unit's bytes are what the client printed, not sent.
        "client sent",
        "client uppercased",
        "client stripped",
        "client dropped",
    ]
    .iter()
    .any(|p| d.starts_with(p))
        && !d.contains("zero bytes (the unused part of its buffer)")
        || d.starts_with("client printed only")
}

/// `: expected `…`, got `…`` for the unit's bytes, or nothing when it has none.
fn detail(r: &UnitResult) -> String {
    match (&r.expected, &r.actual) {
        (Some(e), Some(a)) => format!(
            ": expected `{}`, got `{}`",
            quote(e, QUOTE_CHARS),
            quote(a, QUOTE_CHARS)
        ),
        (Some(e), None) => format!(": expected `{}`, got nothing", quote(e, QUOTE_CHARS)),
        _ => String::new(),
    }
}

/// `bytes` escaped as the harness escapes them, cut after `max` characters with `…`
/// (never in the middle of an escape).
pub fn quote(bytes: &[u8], max: usize) -> String {
    let mut out = String::new();
    let mut shown = 0;
    let mut push = |piece: String| -> bool {
        let n = piece.chars().count();
        if shown + n > max {
            return false;
        }
        shown += n;
        out.push_str(&piece);
        true
    };
    'outer: for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            let mut buf = [0u8; 4];
            if !push(escape(c.encode_utf8(&mut buf).as_bytes())) {
                break 'outer;
            }
        }
        for &b in chunk.invalid() {
            if !push(escape(&[b])) {
                break 'outer;
            }
        }
    }
    let whole = escape(bytes);
    if out.len() < whole.len() {
        format!("{out}… ({} bytes in all)", bytes.len())
    } else {
        out
    }
}

/// Who a side of `r` is, from `student`'s point of view: "Your UDP server", "The
/// reference client", "shout's test client", …
fn who(r: &UnitResult, side: Side, student: &str) -> String {
    let (name, role) = match side {
        Side::Server => (&r.server, "server"),
        Side::Client => (&r.client, "client"),
    };
    let t = upper(r.transport);
    if name == student {
        format!("Your {t} {role}")
    } else if name == REFERENCE {
        format!("The reference {role}")
    } else if name == SHOUT {
        format!("shout's {role}")
    } else if name == crate::plan::PROBE {
        format!("shout's test {role}")
    } else {
        format!("The {role} `{name}`")
    }
}

/// The student's side of `r`, for sentences that have no diagnosis to go on.
fn graded_side(r: &UnitResult, student: &str) -> String {
    if r.server == student {
        who(r, Side::Server, student)
    } else {
        who(r, Side::Client, student)
    }
}

/// `UDP server`, `TCP client`, …
pub fn role_words(role: RoleKey) -> String {
    format!("{} {}", upper(role.transport), role.role.as_str())
}

fn upper(t: Transport) -> &'static str {
    match t {
        Transport::Udp => "UDP",
        Transport::Tcp => "TCP",
    }
}

/// A file name a student of `language` would use for `role`.
fn example_file(role: RoleKey, language: Option<Language>) -> String {
    let (t, r) = (role.transport.as_str(), role.role.as_str());
    let camel = format!("{}{}", upper(role.transport), upper_first(r));
    match language {
        Some(Language::Python3 | Language::Python2) | None => format!("{camel}.py"),
        Some(Language::Java) => format!("{camel}.java"),
        Some(Language::C) => format!("{t}_{r}.c"),
        Some(Language::Go) => format!("{t}{r}.go"),
        Some(Language::JavaScript) => format!("{t}_{r}.js"),
        Some(Language::Rust) => format!("{t}_{r}.rs"),
    }
}

/// The first few non-empty lines of `output`, joined with ` / `.
fn first_lines(output: &str) -> String {
    let lines: Vec<&str> = output
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .collect();
    if lines.is_empty() {
        return "it printed nothing".into();
    }
    let mut shown: Vec<String> = lines
        .iter()
        .take(BUILD_LINES)
        .map(|l| {
            if l.chars().count() > 160 {
                format!("{}…", l.chars().take(160).collect::<String>())
            } else {
                l.to_string()
            }
        })
        .collect();
    if lines.len() > BUILD_LINES {
        shown.push(format!("… ({} more lines)", lines.len() - BUILD_LINES));
    }
    shown.join(" / ")
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn lower_first(s: &str) -> String {
    // Only the subjects this module writes; anything else may start with a name.
    if s.starts_with("Your ") || s.starts_with("The ") {
        let mut c = s.chars();
        match c.next() {
            Some(f) => f.to_lowercase().chain(c).collect(),
            None => String::new(),
        }
    } else {
        s.to_string()
    }
}

fn finish(mut s: String) -> String {
    if !s.ends_with('.') {
        s.push('.');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::Category;
    use crate::run::wire::Transcript;

    fn unit(
        transport: Transport,
        client: &str,
        server: &str,
        kind: &str,
        diagnosis: &str,
        expected: &[u8],
        actual: Option<&[u8]>,
    ) -> UnitResult {
        UnitResult {
            id: format!("{transport}::{client}-client::{server}-server::hello"),
            axis: None,
            transport,
            client: client.into(),
            server: server.into(),
            kind: kind.into(),
            case: "hello".into(),
            category: Category::Core,
            verdict: Verdict::Fail,
            fault: None,
            input: b"hello world".to_vec(),
            expected: Some(expected.to_vec()),
            actual: actual.map(<[u8]>::to_vec),
            wire: Transcript::default(),
            diagnosis: Some(diagnosis.into()),
            minimal_input: None,
            reproduce: "shout matrix --id x".into(),
            duration_ms: 1,
            client_ms: None,
        }
    }

    fn server_says(transport: Transport, d: &str, expected: &[u8], actual: &[u8]) -> String {
        let r = unit(
            transport,
            "probe",
            "alice",
            "server-probe",
            d,
            expected,
            Some(actual),
        );
        for_student(&r, "alice")
    }

    #[test]
    fn server_mistakes_are_told_to_the_student() {
        assert_eq!(
            server_says(
                Transport::Udp,
                "server added a trailing newline: expected `HELLO`, got `HELLO\\n`",
                b"HELLO",
                b"HELLO\n"
            ),
            "Your UDP server added a newline after the reply: expected `HELLO`, got `HELLO\\n`."
        );
        assert_eq!(
            server_says(
                Transport::Tcp,
                "server waits for a newline that the reference client never sends (deadlock)",
                b"HELLO",
                b""
            ),
            "Your TCP server waits for a newline that the reference client never sends (deadlock)."
        );
        assert_eq!(
            server_says(
                Transport::Udp,
                "server replied from a different port than it listens on",
                b"HELLO",
                b"HELLO"
            ),
            "Your UDP server replied from a different port than it listens on; replies must come from the server's own socket."
        );
        let (d, _) = crate::verdict::diagnose_reply(
            b"hello",
            b"HELLO",
            &[b"HELLO".as_slice(), b"OLD REQUEST", &[0u8; 1008]].concat(),
            crate::proto::case::UnicodeVersion::DEFAULT,
            "3.11",
        );
        let said = server_says(Transport::Udp, &d, b"HELLO", b"HELLO...");
        assert!(
            said.starts_with("Your UDP server sends back its whole 1024-byte receive buffer: after the reply come bytes an earlier, longer request left there"),
            "{said}"
        );
        let mut buffer = b"HELLO".to_vec();
        buffer.resize(1024, 0);
        assert_eq!(
            server_says(
                Transport::Udp,
                "server added 1019 zero bytes (the unused part of its buffer): expected `HELLO`, got `HELLO\\u{0}…`",
                b"HELLO",
                &buffer
            ),
            "Your UDP server sends back the whole 1024-byte buffer, including the unused zero bytes (1019 after the reply)."
        );
        assert_eq!(
            server_says(
                Transport::Tcp,
                "server maps case with ASCII only: non-ASCII letters are left unchanged",
                "HÉLLO".as_bytes(),
                "HéLLO".as_bytes()
            ),
            "Your TCP server uppercased only ASCII letters and left non-ASCII ones (é, ß) unchanged: expected `HÉLLO`, got `HéLLO`."
        );
        assert_eq!(
            server_says(
                Transport::Udp,
                "server title-cases (capitalises each word) instead of uppercasing everything",
                b"HELLO WORLD",
                b"Hello World"
            ),
            "Your UDP server title-cased the text (\"Hello World\") instead of uppercasing it: expected `HELLO WORLD`, got `Hello World`."
        );
        assert_eq!(
            server_says(
                Transport::Udp,
                "server added a prefix `OK: ` before the reply",
                b"HELLO",
                b"OK: HELLO"
            ),
            "Your UDP server put `OK: ` before the reply."
        );
        assert_eq!(
            server_says(
                Transport::Tcp,
                "server's reply stops after 5 of 11 bytes: it reads or sends too little",
                b"HELLO WORLD",
                b"HELLO"
            ),
            "Your TCP server's reply stops after 5 of 11 bytes: it reads or sends too little: expected `HELLO WORLD`, got `HELLO`."
        );
        assert_eq!(
            server_says(
                Transport::Tcp,
                "server died on this input (exit status 1)",
                b"HELLO",
                b""
            ),
            "Your TCP server crashed on this input (exit status 1)."
        );
    }

    #[test]
    fn case_mapping_mistakes_name_what_the_server_does() {
        let s = server_says(
            Transport::Udp,
            "server follows Unicode 16.0.0 (as Python 3.14), the reference Python 3.11 follows 14.0.0",
            "Ƛ".as_bytes(),
            "\u{a7dc}".as_bytes(),
        );
        assert!(
            s.starts_with("Your UDP server follows Unicode 16.0.0 (as Python 3.14), the reference Python 3.11 follows 14.0.0, so some characters come out differently: expected `Ƛ`"),
            "{s}"
        );
        let s = server_says(
            Transport::Tcp,
            "server decodes the request as Latin-1 instead of UTF-8",
            "CAFÉ".as_bytes(),
            "CAFÃ©".as_bytes(),
        );
        assert!(
            s.contains("Latin-1 instead of UTF-8, so non-ASCII letters come out garbled"),
            "{s}"
        );
        let s = server_says(
            Transport::Udp,
            "server uses one-to-one (simple) case mapping: characters such as ß must become two (SS)",
            b"STRASSE",
            "STRAßE".as_bytes(),
        );
        assert!(s.contains("ß becomes SS"), "{s}");
    }

    #[test]
    fn client_mistakes_are_told_to_the_student() {
        let r = unit(
            Transport::Udp,
            "bob",
            "probe",
            "client-probe",
            "client uppercased the line before sending it",
            b"hello",
            Some(b"hello"),
        );
        assert_eq!(
            for_student(&r, "bob"),
            "Your UDP client uppercased the text before sending it."
        );
        let r = unit(
            Transport::Tcp,
            "bob",
            "python",
            "pairing",
            "client sent the line with its trailing newline; the reference client strips it",
            b"x",
            Some(b"x"),
        );
        assert!(for_student(&r, "bob").starts_with(
            "Your TCP client sends a newline after the text; the reference client sends the line without it"
        ));
        let mut printed = b"Input lowercase sentence:HELLO".to_vec();
        printed.resize(1049, 0);
        let r = unit(
            Transport::Udp,
            "bob",
            "python",
            "pairing",
            "client printed `Input lowercase sentence:HELLO\\u{0}…` where the reference client prints `Input lowercase sentence:HELLO\\n` (first difference at byte 30)",
            b"Input lowercase sentence:HELLO\n",
            Some(&printed),
        );
        assert_eq!(
            for_student(&r, "bob"),
            "Your UDP client printed the whole receive buffer: the reply is followed by 1019 unused zero bytes."
        );
        let r = unit(
            Transport::Udp,
            "bob",
            "python",
            "pairing",
            "client printed 200000000 bytes, far more than the reply (output flood)",
            b"x",
            Some(b"x"),
        );
        assert_eq!(
            for_student(&r, "bob"),
            "Your UDP client kept printing after the reply (200000000 bytes); it was stopped."
        );
    }

    #[test]
    fn the_other_side_is_named_for_what_it_is() {
        let r = unit(
            Transport::Udp,
            "bob",
            "python",
            "pairing",
            "server never replied",
            b"x",
            None,
        );
        assert_eq!(
            for_student(&r, "bob"),
            "With your UDP client, the reference server never replied (no answer within the time limit)."
        );
    }

    #[test]
    fn unknown_diagnoses_and_missing_ones_still_read_as_sentences() {
        let r = unit(
            Transport::Tcp,
            "probe",
            "alice",
            "server-probe",
            "server did something new",
            b"HELLO",
            Some(b"HEL"),
        );
        assert_eq!(
            for_student(&r, "alice"),
            "Your TCP server did something new: expected `HELLO`, got `HEL`."
        );
        let mut r = r;
        r.diagnosis = None;
        assert_eq!(
            for_student(&r, "alice"),
            "Your TCP server does not behave like the reference on `hello`: expected `HELLO`, got `HEL`."
        );
        r.verdict = Verdict::Info;
        r.diagnosis = Some("the reference server crashes on invalid UTF-8 (UnicodeDecodeError), so it has no defined answer".into());
        assert_eq!(
            for_student(&r, "alice"),
            "Not counted: the reference server crashes on invalid UTF-8 (UnicodeDecodeError), so it has no defined answer."
        );
    }

    #[test]
    fn long_bytes_are_cut_short_without_splitting_an_escape() {
        let q = quote(&[b'a'; 100], 10);
        assert_eq!(q, "aaaaaaaaaa… (100 bytes in all)");
        let q = quote(b"abcdefghi\n", 10);
        assert_eq!(q, "abcdefghi… (10 bytes in all)");
        assert_eq!(quote(b"\xffok", 10), "\\xffok");
    }

    #[test]
    fn problems_name_the_role_and_what_to_do() {
        let [_, uc, ts, tc] = RoleKey::ALL;
        assert_eq!(
            problem(&Problem::MissingRole {
                role: uc,
                language: Some(Language::Python3)
            }),
            "No UDP client found: expected a file such as UDPClient.py that reads a line, sends it to the server over UDP and prints the reply."
        );
        assert!(problem(&Problem::MissingRole {
            role: ts,
            language: Some(Language::C)
        })
        .contains("tcp_server.c"));
        assert_eq!(
            problem(&Problem::MissingToolchain(
                "Go submission; `go` is not installed: apt-get install golang-go".into()
            )),
            "Go submission; `go` is not installed: apt-get install golang-go"
        );
        let p = problem(&Problem::BuildFailed {
            role: tc,
            command: Some("javac TCPClient.java".into()),
            output:
                "TCPClient.java:5: error: ';' expected\n    int x = 1\n             ^\n1 error\n"
                    .into(),
        });
        assert_eq!(
            p,
            "Your TCP client did not build (`javac TCPClient.java` failed): TCPClient.java:5: error: ';' expected /     int x = 1 /              ^ / … (1 more lines)"
        );
    }
}

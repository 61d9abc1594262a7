//! Sentences for students: a unit's harness diagnosis retold to the student whose code
//! it is about ("Your UDP server added a newline after the reply: …"), and the problems
//! that stop a role from being graded at all (missing, not buildable, no toolchain).
//!
//! Pure text: it reads results and never runs anything. Every finding has its wording
//! here, in matches with no catch-all arm, so a new finding cannot go unworded.

use crate::grade::detect::Language;
use crate::plan::UnitKind;
use crate::proto::Transport;
use crate::registry::{Role, RoleKey, REFERENCE, SHOUT};
use crate::results::UnitResult;
pub use crate::text::quote;
use crate::text::{escape, quote_pair, short};
use crate::verdict::{Added, ClientFinding, Finding, Mapping, RunFinding, ServerFinding, Verdict};

/// How many characters of escaped bytes a sentence quotes before cutting them short.
const QUOTE_CHARS: usize = 60;

/// How many characters of a client's error output a sentence quotes.
const STDERR_CHARS: usize = 160;

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
    /// The submission is larger than the grader allows; nothing of it ran.
    Oversized {
        /// Bytes of its files (at least, when `complete` is false).
        bytes: u64,
        /// Its files and folders (at least, when `complete` is false).
        entries: usize,
        /// Whether every file was counted.
        complete: bool,
        /// The most bytes allowed.
        max_bytes: u64,
        /// The most files and folders allowed.
        max_entries: usize,
    },
    /// A file or folder of the submission cannot be read; nothing of it ran.
    Unreadable {
        /// What could not be read, relative to the submission folder ("" for the folder).
        path: String,
        /// Why, as the system says it.
        why: String,
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
        Problem::Oversized {
            bytes,
            entries,
            complete,
            max_bytes,
            max_entries,
        } => oversized(*bytes, *entries, *complete, *max_bytes, *max_entries),
        Problem::Unreadable { path, why } => {
            let what = if path.is_empty() {
                "Your submission folder".to_string()
            } else {
                format!("`{path}` in your submission")
            };
            format!(
                "Not graded: {what} cannot be read ({why}); submit it again with files anyone may read."
            )
        }
    }
}

/// The sentence for a submission over its size or file limits: each measure that is
/// over, with its limit, and what to leave out.
fn oversized(
    bytes: u64,
    entries: usize,
    complete: bool,
    max_bytes: u64,
    max_entries: usize,
) -> String {
    let at_least = if complete { "" } else { "at least " };
    let mut over = Vec::new();
    if bytes > max_bytes {
        over.push(format!(
            "your submission is {at_least}{}; the limit is {}",
            megabytes(bytes),
            megabytes(max_bytes)
        ));
    }
    if entries > max_entries {
        over.push(format!(
            "it holds {at_least}{entries} files and folders; the limit is {max_entries}"
        ));
    }
    format!(
        "Not graded: {}. Leave out build output, data files and downloaded dependencies \
         (such as node_modules) and submit again.",
        over.join(", and ")
    )
}

/// Bytes in megabytes (10^6), as a file manager shows them: `500 MB`, `1.5 MB`.
fn megabytes(bytes: u64) -> String {
    let mb = bytes as f64 / 1e6;
    if mb >= 10.0 || mb.fract() == 0.0 {
        format!("{mb:.0} MB")
    } else {
        format!("{mb:.1} MB")
    }
}

/// One plain sentence for `student` about unit `r`: what went wrong, from the student's
/// side, with the expected and actual bytes quoted (escaped, cut short when long).
pub fn for_student(r: &UnitResult, student: &str) -> String {
    match r.verdict {
        Verdict::Pass | Verdict::Xpass => {
            format!("Passed: {} on `{}`.", graded_side(r, student), r.case)
        }
        Verdict::Info => {
            let why = match &r.finding {
                Some(f) => retell(f, r, student),
                None => "the reference has no defined answer for this input".to_string(),
            };
            format!("Not counted: {}.", lower_first(&why))
        }
        Verdict::Skip => {
            let why = match &r.finding {
                Some(f) => retell(f, r, student),
                None => "this check did not run".to_string(),
            };
            format!("Not run: {}.", lower_first(&why))
        }
        Verdict::Fail | Verdict::Xfail => {
            let Some(finding) = &r.finding else {
                let mut s = format!(
                    "{} does not behave like the reference on `{}`",
                    graded_side(r, student),
                    r.case
                );
                s.push_str(&detail(r));
                return finish(s);
            };
            let mut s = retell(finding, r, student);
            if wants_detail(finding) && !s.contains('`') {
                s.push_str(&detail(r));
            }
            let mut s = finish(s);
            for note in [marker_note(r, student), stderr_note(r, student)]
                .into_iter()
                .flatten()
            {
                s.push(' ');
                s.push_str(&note);
            }
            s
        }
    }
}

/// Where a student's client was run against shout's test server and the bytes quoted
/// hold its reply: what that reply is, so that `SHOUT MARKER …` does not puzzle.
fn marker_note(r: &UnitResult, student: &str) -> Option<String> {
    let marker = crate::run::MARKER.as_bytes();
    let quoted = [&r.expected, &r.actual]
        .into_iter()
        .flatten()
        .any(|b| b.windows(marker.len()).any(|w| w == marker));
    if r.kind != UnitKind::ClientProbe || r.client != student || !quoted {
        return None;
    }
    let empty = if r.input.is_empty() {
        " The line here is empty: the reference client sends it all the same (an empty message) and prints that reply, so a client must not stop on an empty line."
    } else {
        ""
    };
    Some(format!(
        "(`{}` is the reply of shout's test server, the same whatever it receives, so that the output shows the server's reply was printed.){empty}",
        crate::run::MARKER
    ))
}

/// A student's client that ended with a failure: the end of what it printed on its
/// standard error (a traceback's last lines), escaped and cut short.
fn stderr_note(r: &UnitResult, student: &str) -> Option<String> {
    let tail = r.client_stderr.as_deref().filter(|_| r.client == student)?;
    let lines: Vec<&str> = tail.lines().filter(|l| !l.trim().is_empty()).collect();
    let last = lines[lines.len().saturating_sub(2)..].join("\n");
    Some(format!(
        "Its error output ended with: `{}`.",
        quote(last.as_bytes(), STDERR_CHARS)
    ))
}

/// The side a finding speaks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Server,
    Client,
}

/// Finding `f` told from `student`'s side, without a final period.
fn retell(f: &Finding, r: &UnitResult, student: &str) -> String {
    let (side, sentence) = match f {
        Finding::Run(RunFinding::BuildFailed { output }) => {
            return format!("Your code did not build: {}", first_lines(output));
        }
        Finding::Run(RunFinding::ProgramMissing { detail }) => {
            return format!("the program could not be started: {detail}");
        }
        // The verdict's own word ("Not run: …") comes first; the reason follows it.
        Finding::Run(RunFinding::RunTimedOut) => {
            return "the grading run's time limit passed first".into();
        }
        Finding::Run(RunFinding::ReferenceUndefined) => {
            return "the reference itself gives no answer on this case".into();
        }
        Finding::Run(RunFinding::NoReference { .. }) | Finding::Reference(_) => {
            return upper_first(&f.sentence());
        }
        Finding::Server(s) => (
            Side::Server,
            format!(
                "{}{}",
                who(r, Side::Server, student),
                server_predicate(s, r)
            ),
        ),
        Finding::Client(c) => (
            Side::Client,
            format!(
                "{}{}",
                who(r, Side::Client, student),
                client_predicate(c, r)
            ),
        ),
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

/// What a server did, as the student reads it after "Your UDP server".
fn server_predicate(f: &ServerFinding, r: &UnitResult) -> String {
    match f {
        ServerFinding::NotListening { detail } => format!(" never started listening: {detail}"),
        ServerFinding::ProcessLimit => {
            " started too many processes (it ran into its process limit); it was stopped".into()
        }
        ServerFinding::ReplyEmpty => " replied with an empty message".into(),
        ServerFinding::AddedAfter {
            added,
            expected,
            actual,
        } => added_predicate(added, expected, actual, r),
        ServerFinding::AddedPrefix { prefix } => format!(" put `{}` before the reply", short(prefix)),
        ServerFinding::DroppedCr => {
            " dropped the `\\r` at the end of the request; the reference keeps it in the reply"
                .into()
        }
        ServerFinding::StrippedWhitespace => {
            " removed spaces at the start or end of the line; the reference keeps them".into()
        }
        ServerFinding::OtherUnicode { .. } => format!(
            "{}, so some characters come out differently",
            f.predicate()
        ),
        ServerFinding::CaseMapping { mapping } => mapping_predicate(*mapping).into(),
        ServerFinding::Latin1 => {
            " decodes the request as Latin-1 instead of UTF-8, so non-ASCII letters come out garbled"
                .into()
        }
        ServerFinding::ReplyFromOtherPort => " replied from a different port than it listens on; replies must come from the server's own socket".into(),
        ServerFinding::NeverReplied => " never replied (no answer within the time limit)".into(),
        ServerFinding::DiedWithoutReply { exit } => {
            format!(" crashed on this input ({exit}) without replying")
        }
        ServerFinding::Died { exit } => format!(" crashed on this input ({exit})"),
        // Said to the student as the harness says it.
        ServerFinding::VersionOnly { .. }
        | ServerFinding::ReplyCut { .. }
        | ServerFinding::ReplyDiffers { .. }
        | ServerFinding::ExtraDatagrams { .. }
        | ServerFinding::WaitsForNewline
        | ServerFinding::WaitsForClose
        | ServerFinding::StoppedAccepting
        | ServerFinding::ReplyInPieces { .. }
        | ServerFinding::DiedWritingToGoneClient { .. }
        | ServerFinding::DiedBeforeRequest { .. }
        | ServerFinding::WaitsForMoreBytes
        | ServerFinding::NeverRepliedNorClosed
        | ServerFinding::ExitedWhenClientClosed { .. }
        | ServerFinding::Refused
        | ServerFinding::ExitedAfterRequest { .. }
        | ServerFinding::AnsweredThenExited { .. }
        | ServerFinding::AnsweredThenStopped
        | ServerFinding::MixedConcurrentReplies { .. }
        | ServerFinding::ConcurrentUnanswered { .. }
        | ServerFinding::StoppedAnswering { .. }
        | ServerFinding::LeaksDescriptors { .. }
        | ServerFinding::RepliesToFixedAddress { .. }
        | ServerFinding::NotListeningOn { .. }
        | ServerFinding::UnansweredFrom { .. }
        | ServerFinding::GaveUpOnLateLine { .. }
        | ServerFinding::OtherEncoding { .. }
        | ServerFinding::SeenThroughClient { .. } => f.predicate(),
        ServerFinding::DroppedByteOrderMark => " dropped the byte-order mark (U+FEFF) at the start of the message: decode it as plain UTF-8 (not `utf-8-sig`) so that it stays in the reply".into(),
        ServerFinding::Normalized { form } => format!(
            " changed how accented characters are encoded (Unicode {} normalization): uppercase the characters exactly as they arrive, without normalizing",
            form.name()
        ),
        ServerFinding::ResetAfterReply => " reset the connection (RST) right after its reply instead of closing it normally (FIN), as `SO_LINGER` 0 does: close the socket normally".into(),
        ServerFinding::KeptConnectionOpen => " sent its reply but never closed the connection: close the connection socket after sending the reply".into(),
    }
}

/// What a server added after the reply, as the student reads it.
fn added_predicate(added: &Added, expected: &[u8], actual: &[u8], r: &UnitResult) -> String {
    let quoted = format!("expected `{}`, got `{}`", short(expected), short(actual));
    match added {
        Added::Zeros { count, buffer } => match r.kind {
            UnitKind::ServerProbe => format!(
                " sends back the whole {buffer}-byte buffer, including the unused zero bytes ({count} after the reply)"
            ),
            _ => format!(
                " sends back {count} zero bytes after the reply: the unused part of its buffer"
            ),
        },
        Added::BufferRest { size, .. } => format!(
            " sends back its whole {size}-byte receive buffer: after the reply come bytes an earlier, longer request left there"
        ),
        Added::Newline => format!(" added a newline after the reply: {quoted}"),
        Added::CrLf => format!(" added `\\r\\n` after the reply: {quoted}"),
        Added::Bytes { bytes } => format!(" added `{}` after the reply: {quoted}", short(bytes)),
    }
}

/// What a server's case mapping did, as the student reads it.
fn mapping_predicate(m: Mapping) -> &'static str {
    match m {
        Mapping::Title => " title-cased the text (\"Hello World\") instead of uppercasing it",
        Mapping::Lower => " lowercased the text instead of uppercasing it",
        Mapping::SwapCase => " swapped the case of each letter instead of uppercasing it",
        Mapping::AsciiOnly => {
            " uppercased only ASCII letters and left non-ASCII ones (é, ß) unchanged"
        }
        Mapping::Simple => {
            " maps each character to exactly one character, but some must become two (ß becomes SS)"
        }
        Mapping::Identity => " sent the text back without uppercasing it",
    }
}

/// What a client did, as the student reads it after "Your UDP client".
fn client_predicate(f: &ClientFinding, r: &UnitResult) -> String {
    match f {
        ClientFinding::SentNothing => " sent nothing to the server".into(),
        ClientFinding::SentNewline => {
            " sends a newline after the text; the reference client sends the line without it".into()
        }
        ClientFinding::SentUppercased => " uppercased the text before sending it".into(),
        ClientFinding::HungAfterReply | ClientFinding::HungAfterPrinting => {
            " printed the reply but did not exit; it was stopped".into()
        }
        ClientFinding::PatternMismatch => {
            "'s output does not show the reply where the grader looks for it".into()
        }
        ClientFinding::TruncatesReply => " printed only part of the reply".into(),
        ClientFinding::OutputFlood { bytes } => {
            format!(" kept printing after the reply ({bytes} bytes); it was stopped")
        }
        ClientFinding::WrongExitAfterRightOutput { exit } => format!(
            " printed the right output but ended with {exit}; a client must exit with status 0"
        ),
        ClientFinding::Exited { exit } => {
            format!(" ended with {exit}; a client must exit with status 0")
        }
        ClientFinding::PrintedOther {
            printed,
            reference,
            at,
        } => whole_buffer(r).unwrap_or_else(|| {
            format!(
                " printed `{}`; the reference client prints `{}`{}",
                escape(printed),
                escape(reference),
                at.map(|a| format!(" (first difference at byte {a})"))
                    .unwrap_or_default()
            )
        }),
        ClientFinding::PrintedInstead { .. } | ClientFinding::NotContained { .. } => {
            whole_buffer(r).unwrap_or_else(|| f.predicate())
        }
        // Said to the student as the harness says it.
        ClientFinding::SentWithoutCr
        | ClientFinding::SentStripped
        | ClientFinding::SentPart { .. }
        | ClientFinding::SentOther { .. }
        | ClientFinding::SentInPieces { .. }
        | ClientFinding::PrintedPart { .. }
        | ClientFinding::PrintedNothing
        | ClientFinding::ReadPastOneRecv { .. }
        | ClientFinding::GaveUpBeforeLine { .. }
        | ClientFinding::HangsWithNoServer
        | ClientFinding::SucceededWithNoServer { .. } => f.predicate(),
    }
}

/// A client that printed its whole receive buffer: the reply, then zero bytes.
fn whole_buffer(r: &UnitResult) -> Option<String> {
    let zeros = |b: Option<&[u8]>| b.map_or(0, |b| b.iter().filter(|&&c| c == 0).count());
    let extra = zeros(r.actual.as_deref()).saturating_sub(zeros(r.expected.as_deref()));
    (extra > 0).then(|| {
        format!(
            " printed the whole receive buffer: the reply is followed by {extra} unused zero bytes"
        )
    })
}

/// Whether quoting the expected and actual bytes helps after this finding: not for
/// problems where the bytes say nothing (a build, a hang, a wrong port) or where the
/// unit's bytes are not what went wrong (a request mistake: they are what was printed).
fn wants_detail(f: &Finding) -> bool {
    match f {
        Finding::Run(RunFinding::BuildFailed { .. } | RunFinding::ProgramMissing { .. }) => false,
        Finding::Run(
            RunFinding::RunTimedOut
            | RunFinding::ReferenceUndefined
            | RunFinding::NoReference { .. },
        )
        | Finding::Reference(_) => true,
        Finding::Server(s) => match s {
            ServerFinding::ReplyEmpty
            | ServerFinding::AddedPrefix { .. }
            | ServerFinding::DroppedCr
            | ServerFinding::StrippedWhitespace
            | ServerFinding::DroppedByteOrderMark
            | ServerFinding::Normalized { .. }
            | ServerFinding::OtherUnicode { .. }
            | ServerFinding::VersionOnly { .. }
            | ServerFinding::CaseMapping { .. }
            | ServerFinding::Latin1
            | ServerFinding::OtherEncoding { .. }
            | ServerFinding::ReplyCut { .. }
            | ServerFinding::ReplyDiffers { .. }
            | ServerFinding::SeenThroughClient { .. } => true,
            ServerFinding::AddedAfter { added, .. } => match added {
                Added::Zeros { .. } => false,
                Added::Newline | Added::CrLf | Added::BufferRest { .. } | Added::Bytes { .. } => {
                    true
                }
            },
            ServerFinding::NotListening { .. }
            | ServerFinding::ProcessLimit
            | ServerFinding::ReplyFromOtherPort
            | ServerFinding::ExtraDatagrams { .. }
            | ServerFinding::WaitsForNewline
            | ServerFinding::WaitsForClose
            | ServerFinding::StoppedAccepting
            | ServerFinding::ReplyInPieces { .. }
            | ServerFinding::DiedWritingToGoneClient { .. }
            | ServerFinding::DiedBeforeRequest { .. }
            | ServerFinding::WaitsForMoreBytes
            | ServerFinding::NeverRepliedNorClosed
            | ServerFinding::NeverReplied
            | ServerFinding::ExitedWhenClientClosed { .. }
            | ServerFinding::DiedWithoutReply { .. }
            | ServerFinding::Died { .. }
            | ServerFinding::Refused
            | ServerFinding::ExitedAfterRequest { .. }
            | ServerFinding::AnsweredThenExited { .. }
            | ServerFinding::AnsweredThenStopped
            | ServerFinding::ResetAfterReply
            | ServerFinding::KeptConnectionOpen
            | ServerFinding::MixedConcurrentReplies { .. }
            | ServerFinding::ConcurrentUnanswered { .. }
            | ServerFinding::StoppedAnswering { .. }
            | ServerFinding::LeaksDescriptors { .. }
            | ServerFinding::RepliesToFixedAddress { .. }
            | ServerFinding::NotListeningOn { .. }
            | ServerFinding::UnansweredFrom { .. }
            | ServerFinding::GaveUpOnLateLine { .. } => false,
        },
        Finding::Client(c) => match c {
            ClientFinding::PrintedPart { .. }
            | ClientFinding::PatternMismatch
            | ClientFinding::TruncatesReply => true,
            ClientFinding::SentNothing
            | ClientFinding::SentNewline
            | ClientFinding::SentUppercased
            | ClientFinding::SentWithoutCr
            | ClientFinding::SentStripped
            | ClientFinding::SentPart { .. }
            | ClientFinding::SentOther { .. }
            | ClientFinding::SentInPieces { .. }
            | ClientFinding::OutputFlood { .. }
            | ClientFinding::HungAfterReply
            | ClientFinding::HungAfterPrinting
            | ClientFinding::WrongExitAfterRightOutput { .. }
            | ClientFinding::Exited { .. }
            | ClientFinding::NotContained { .. }
            | ClientFinding::PrintedOther { .. }
            | ClientFinding::PrintedInstead { .. }
            | ClientFinding::PrintedNothing
            | ClientFinding::ReadPastOneRecv { .. }
            | ClientFinding::GaveUpBeforeLine { .. }
            | ClientFinding::HangsWithNoServer
            | ClientFinding::SucceededWithNoServer { .. } => false,
        },
    }
}

/// `: expected `…`, got `…`` for the unit's bytes, or nothing when it has none.
fn detail(r: &UnitResult) -> String {
    match (&r.expected, &r.actual) {
        (Some(e), Some(a)) => {
            let (e, a) = quote_pair(e, a, QUOTE_CHARS);
            format!(": expected `{e}`, got `{a}`")
        }
        (Some(e), None) => format!(": expected `{}`, got nothing", quote(e, QUOTE_CHARS)),
        _ => String::new(),
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
    use crate::run::process::Exit;
    use crate::run::wire::Transcript;
    use crate::verdict::{ReferenceFinding, ReferenceServer};

    fn unit(
        transport: Transport,
        client: &str,
        server: &str,
        kind: UnitKind,
        finding: impl Into<Finding>,
        expected: &[u8],
        actual: Option<&[u8]>,
    ) -> UnitResult {
        UnitResult {
            id: format!("{transport}::{client}-client::{server}-server::hello"),
            axis: None,
            transport,
            client: client.into(),
            server: server.into(),
            kind,
            case: "hello".into(),
            category: Category::Core,
            verdict: Verdict::Fail,
            fault: None,
            input: b"hello world".to_vec(),
            expected: Some(expected.to_vec()),
            actual: actual.map(<[u8]>::to_vec),
            wire: Transcript::default(),
            finding: Some(finding.into()),
            known: None,
            minimal_input: None,
            reproduce: "shout matrix --id x".into(),
            duration_ms: 1,
            client_ms: None,
            client_stderr: None,
            cached: false,
        }
    }

    #[test]
    fn a_client_shown_the_marker_is_told_what_it_is_and_a_crash_shows_its_error_output() {
        let marker = format!(
            "Input lowercase sentence:From Server:  {}\n",
            crate::run::MARKER
        );
        let mut r = unit(
            Transport::Udp,
            "alice",
            "probe",
            UnitKind::ClientProbe,
            ClientFinding::SentNothing,
            marker.as_bytes(),
            Some(b"Input lowercase sentence:"),
        );
        r.input = Vec::new();
        r.client_stderr = Some(
            "Traceback (most recent call last):\n  File \"c.py\", line 9\nValueError: empty\x1b[2J"
                .into(),
        );
        let s = for_student(&r, "alice");
        assert!(s.contains("is the reply of shout's test server"), "{s}");
        assert!(s.contains("must not stop on an empty line"), "{s}");
        // The last lines of the traceback, escaped: no terminal control reaches the page.
        assert!(
            s.contains("Its error output ended with: `  File \"c.py\", line 9\\nValueError: empty\\u{1b}[2J`."),
            "{s}"
        );
        // Another student's unit, or a pass, says neither.
        assert!(!for_student(&r, "bob").contains("error output"));
    }

    #[test]
    fn a_preview_that_would_read_the_same_shows_where_the_bytes_differ() {
        let expected = "B".repeat(100);
        let mut actual = expected.clone().into_bytes();
        actual[80] = b'b';
        let s = server_says(
            Transport::Udp,
            ServerFinding::ReplyDiffers { at: 80 },
            expected.as_bytes(),
            &actual,
        );
        assert!(s.contains("first difference at byte 80"), "{s}");
        assert!(s.contains("BBBBBBBBBBBBb"), "{s}");
    }

    fn server_says(
        transport: Transport,
        d: ServerFinding,
        expected: &[u8],
        actual: &[u8],
    ) -> String {
        let r = unit(
            transport,
            "probe",
            "alice",
            UnitKind::ServerProbe,
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
                ServerFinding::AddedAfter {
                    added: Added::Newline,
                    expected: b"HELLO".to_vec(),
                    actual: b"HELLO\n".to_vec()
                },
                b"HELLO",
                b"HELLO\n"
            ),
            "Your UDP server added a newline after the reply: expected `HELLO`, got `HELLO\\n`."
        );
        assert_eq!(
            server_says(
                Transport::Tcp,
                ServerFinding::WaitsForNewline,
                b"HELLO",
                b""
            ),
            "Your TCP server waits for a newline that the reference client never sends (deadlock)."
        );
        assert_eq!(
            server_says(
                Transport::Udp,
                ServerFinding::ReplyFromOtherPort,
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
        let said = server_says(Transport::Udp, d, b"HELLO", b"HELLO...");
        assert!(
            said.starts_with("Your UDP server sends back its whole 1024-byte receive buffer: after the reply come bytes an earlier, longer request left there"),
            "{said}"
        );
        let mut buffer = b"HELLO".to_vec();
        buffer.resize(1024, 0);
        assert_eq!(
            server_says(
                Transport::Udp,
                ServerFinding::AddedAfter {
                    added: Added::Zeros {
                        count: 1019,
                        buffer: 1024,
                    },
                    expected: b"HELLO".to_vec(),
                    actual: buffer.clone()
                },
                b"HELLO",
                &buffer
            ),
            "Your UDP server sends back the whole 1024-byte buffer, including the unused zero bytes (1019 after the reply)."
        );
        assert_eq!(
            server_says(
                Transport::Tcp,
                ServerFinding::CaseMapping {
                    mapping: Mapping::AsciiOnly
                },
                "HÉLLO".as_bytes(),
                "HéLLO".as_bytes()
            ),
            "Your TCP server uppercased only ASCII letters and left non-ASCII ones (é, ß) unchanged: expected `HÉLLO`, got `HéLLO`."
        );
        assert_eq!(
            server_says(
                Transport::Udp,
                ServerFinding::CaseMapping {
                    mapping: Mapping::Title
                },
                b"HELLO WORLD",
                b"Hello World"
            ),
            "Your UDP server title-cased the text (\"Hello World\") instead of uppercasing it: expected `HELLO WORLD`, got `Hello World`."
        );
        assert_eq!(
            server_says(
                Transport::Udp,
                ServerFinding::AddedPrefix {
                    prefix: b"OK: ".to_vec()
                },
                b"HELLO",
                b"OK: HELLO"
            ),
            "Your UDP server put `OK: ` before the reply."
        );
        assert_eq!(
            server_says(
                Transport::Tcp,
                ServerFinding::ReplyCut { got: 5, of: 11 },
                b"HELLO WORLD",
                b"HELLO"
            ),
            "Your TCP server's reply stops after 5 of 11 bytes: it reads or sends too little: expected `HELLO WORLD`, got `HELLO`."
        );
        assert_eq!(
            server_says(
                Transport::Tcp,
                ServerFinding::Died {
                    exit: Exit::Code(1)
                },
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
            ServerFinding::OtherUnicode {
                from: "16.0".parse().unwrap(),
                to: "16.0".parse().unwrap(),
                reference: "14.0".parse().unwrap(),
                python: "3.11".into(),
            },
            "Ƛ".as_bytes(),
            "\u{a7dc}".as_bytes(),
        );
        assert!(
            s.starts_with("Your UDP server follows Unicode 16.0.0 (as 3.14), the reference Python 3.11 follows 14.0.0, so some characters come out differently: expected `Ƛ`"),
            "{s}"
        );
        let s = server_says(
            Transport::Tcp,
            ServerFinding::Latin1,
            "CAFÉ".as_bytes(),
            "CAFÃ©".as_bytes(),
        );
        assert!(
            s.contains("Latin-1 instead of UTF-8, so non-ASCII letters come out garbled"),
            "{s}"
        );
        let s = server_says(
            Transport::Udp,
            ServerFinding::CaseMapping {
                mapping: Mapping::Simple,
            },
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
            UnitKind::ClientProbe,
            ClientFinding::SentUppercased,
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
            UnitKind::Pairing,
            ClientFinding::SentNewline,
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
            UnitKind::Pairing,
            ClientFinding::PrintedOther {
                printed: printed.clone(),
                reference: b"Input lowercase sentence:HELLO\n".to_vec(),
                at: Some(30),
            },
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
            UnitKind::Pairing,
            ClientFinding::OutputFlood { bytes: 200000000 },
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
            UnitKind::Pairing,
            ServerFinding::NeverReplied,
            b"x",
            None,
        );
        assert_eq!(
            for_student(&r, "bob"),
            "With your UDP client, the reference server never replied (no answer within the time limit)."
        );
    }

    #[test]
    fn every_finding_and_a_missing_one_read_as_sentences() {
        let r = unit(
            Transport::Tcp,
            "probe",
            "alice",
            UnitKind::ServerProbe,
            ServerFinding::ReplyDiffers { at: 3 },
            b"HELLO",
            Some(b"HEL"),
        );
        assert_eq!(
            for_student(&r, "alice"),
            "Your TCP server's reply differs from the reference's from byte 3: expected `HELLO`, got `HEL`."
        );
        let mut r = r;
        r.finding = None;
        assert_eq!(
            for_student(&r, "alice"),
            "Your TCP server does not behave like the reference on `hello`: expected `HELLO`, got `HEL`."
        );
        r.verdict = Verdict::Info;
        r.finding = Some(
            ReferenceFinding::ServerUndefined {
                how: ReferenceServer::Dies {
                    exit: Exit::Code(1),
                },
                this_kept_answering: Some(true),
            }
            .into(),
        );
        assert_eq!(
            for_student(&r, "alice"),
            "Not counted: the reference server dies on this input (exit status 1); this server kept answering."
        );
    }

    #[test]
    fn a_unit_left_out_says_why_once() {
        let mut r = unit(
            Transport::Udp,
            "probe",
            "alice",
            UnitKind::ServerProbe,
            RunFinding::RunTimedOut,
            b"HELLO",
            None,
        );
        r.verdict = Verdict::Skip;
        assert_eq!(
            for_student(&r, "alice"),
            "Not run: the grading run's time limit passed first."
        );
        r.verdict = Verdict::Info;
        r.finding = Some(RunFinding::ReferenceUndefined.into());
        assert_eq!(
            for_student(&r, "alice"),
            "Not counted: the reference itself gives no answer on this case."
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

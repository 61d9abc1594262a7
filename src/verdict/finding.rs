//! Findings: what comparing one unit with the reference found, as data. Each variant
//! carries the bytes and numbers it speaks of; [`Finding::sentence`] is the one place a
//! finding becomes the harness's sentence (the student's wording is in
//! `grade::explain`). Nothing here runs anything or reads a sentence back.

use serde::{Deserialize, Serialize};

use crate::plan::UnitKind;
use crate::proto::case::UnicodeVersion;
use crate::run::process::Exit;
use crate::run::wire::bytes_text;
use crate::text::{escape, short};

/// What a unit's comparison found: why it failed, or why it is `info` or `skip`,
/// grouped by the side it speaks about. In results files: `"subject"` names the group
/// and `"finding"` the variant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "subject", rename_all = "kebab-case")]
pub enum Finding {
    /// About the run, not one side: a build, a missing program, the time limit.
    Run(RunFinding),
    /// The reference itself has no answer to compare with.
    Reference(ReferenceFinding),
    /// About the server.
    Server(ServerFinding),
    /// About the client.
    Client(ClientFinding),
}

/// Findings about the run itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "finding", rename_all = "kebab-case")]
pub enum RunFinding {
    /// The implementation's build command failed.
    BuildFailed {
        /// What the build printed.
        output: String,
    },
    /// A program could not be started: the run is incomplete.
    ProgramMissing {
        /// The spawn error, naming the command.
        detail: String,
    },
    /// The run's time limit passed before the unit ran: the run is incomplete.
    RunTimedOut,
    /// Not run: the reference gives no answer on this case.
    ReferenceUndefined,

    // ---- The reference has no answer to compare with ----
    /// The reference has no role to compare this unit with.
    NoReference {
        /// Which comparison is missing.
        kind: UnitKind,
    },
}

/// Findings about the reference: it gives no answer to compare with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "finding", rename_all = "kebab-case")]
pub enum ReferenceFinding {
    /// The reference's own unit did not run on this case.
    DidNotRun {
        /// Which of the reference's units.
        kind: UnitKind,
    },
    /// The reference pair or client hangs on this input.
    Hangs {
        /// The reference pair, or the reference client alone.
        who: ReferenceSide,
    },
    /// The reference pair or client fails on this input.
    Fails {
        /// The reference pair, or the reference client alone.
        who: ReferenceSide,
        /// How the reference client ended.
        exit: Exit,
        /// The last line of its standard error, when it printed one.
        stderr: Option<String>,
    },
    /// The reference server gives no defined answer on this input.
    ServerUndefined {
        /// What the reference server did.
        how: ReferenceServer,
        /// For a server probe: whether the server under test kept answering.
        this_kept_answering: Option<bool>,
    },
}

/// Findings about a server: its reply, its lifetime.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "finding", rename_all = "kebab-case")]
pub enum ServerFinding {
    /// The server never bound its port.
    NotListening {
        /// Why, as the readiness check saw it.
        detail: String,
    },
    /// The server ran into its process limit (a runaway fork) and was stopped.
    ProcessLimit,
    /// The reply is empty where the reference's is not.
    ReplyEmpty,
    /// The reply is the reference's followed by more bytes.
    AddedAfter {
        /// What came after the reply.
        added: Added,
        /// The reference's reply.
        #[serde(with = "bytes_text")]
        expected: Vec<u8>,
        /// This server's reply.
        #[serde(with = "bytes_text")]
        actual: Vec<u8>,
    },
    /// The reply is the reference's preceded by more bytes.
    AddedPrefix {
        /// The bytes before the reply.
        #[serde(with = "bytes_text")]
        prefix: Vec<u8>,
    },
    /// The server dropped the request's trailing `\r`.
    DroppedCr,
    /// The server stripped leading or trailing whitespace.
    StrippedWhitespace,
    /// The server uppercases under another Unicode version.
    OtherUnicode {
        /// The oldest version that explains the reply.
        from: UnicodeVersion,
        /// The newest version that explains the reply.
        to: UnicodeVersion,
        /// The reference's version.
        reference: UnicodeVersion,
        /// The reference interpreter's `major.minor`.
        python: String,
    },
    /// The server applies another case mapping than Python's `upper()`.
    CaseMapping {
        /// Which.
        mapping: Mapping,
    },
    /// The server decodes the request as Latin-1.
    Latin1,
    /// The reply is a prefix of the reference's.
    ReplyCut {
        /// Bytes received.
        got: usize,
        /// Bytes the reference sends.
        of: usize,
    },
    /// The reply differs otherwise.
    ReplyDiffers {
        /// The first differing byte.
        at: usize,
    },
    /// A UDP reply came from another port than the server listens on.
    ReplyFromOtherPort,
    /// Several datagrams answered one request.
    ExtraDatagrams {
        /// Datagrams in all.
        count: usize,
    },
    /// A TCP server answers only a line ending in `\n`.
    WaitsForNewline,
    /// A TCP server answers only once another byte comes, newline or not.
    WaitsForMoreBytes,
    /// A TCP server neither replied nor closed.
    NeverRepliedNorClosed,
    /// No reply within the time limit.
    NeverReplied,
    /// A TCP server that never replied exited once the probe closed the connection.
    ExitedWhenClientClosed {
        /// How it ended.
        exit: Exit,
    },
    /// The server died on this input without replying (in a pairing).
    DiedWithoutReply {
        /// How it ended.
        exit: Exit,
    },
    /// The server died on this input (in a probe).
    Died {
        /// How it ended.
        exit: Exit,
    },
    /// The server refused or reset the connection.
    Refused,
    /// The server exited after answering a pairing's request.
    ExitedAfterRequest {
        /// How it ended.
        exit: Exit,
    },
    /// The server answered a probe, then exited.
    AnsweredThenExited {
        /// How it ended.
        exit: Exit,
    },
    /// The server answered a probe, then stopped answering other requests.
    AnsweredThenStopped,

    /// A pair that met without the relay: the client's output shows the server's fault.
    SeenThroughClient {
        /// What the client's output shows.
        shows: ClientFinding,
    },
}

/// Findings about a client: what it sent, printed, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "finding", rename_all = "kebab-case")]
pub enum ClientFinding {
    /// The client sent nothing.
    SentNothing,
    /// The client sent the line with its trailing newline.
    SentNewline,
    /// The client uppercased the line before sending it.
    SentUppercased,
    /// The client dropped the line's trailing `\r`.
    SentWithoutCr,
    /// The client stripped whitespace from the line.
    SentStripped,
    /// The client sent a prefix of the line.
    SentPart {
        /// Bytes sent.
        got: usize,
        /// Bytes in the line.
        of: usize,
    },
    /// The client sent other bytes.
    SentOther {
        /// What it sent.
        #[serde(with = "bytes_text")]
        sent: Vec<u8>,
        /// What the reference client sends.
        #[serde(with = "bytes_text")]
        reference: Vec<u8>,
    },
    /// The client wrote the line in several writes; a server reading once gets a part.
    SentInPieces {
        /// Bytes in the first write.
        got: usize,
        /// Bytes in the line.
        of: usize,
        /// What a single read gets.
        #[serde(with = "bytes_text")]
        received: Vec<u8>,
    },

    // ---- What a client printed and how it ended ----
    /// The client printed far more than the reply.
    OutputFlood {
        /// Bytes printed.
        bytes: u64,
    },
    /// The client did not exit once the reply arrived (in a pairing).
    HungAfterReply,
    /// The client did not exit after printing the reply (in a probe).
    HungAfterPrinting,
    /// The client printed a prefix of what the reference client prints.
    PrintedPart {
        /// Bytes printed.
        got: usize,
        /// Bytes the reference client prints.
        of: usize,
    },
    /// The client printed the right output but ended with a non-zero status.
    WrongExitAfterRightOutput {
        /// How it ended.
        exit: Exit,
    },
    /// The client ended with a non-zero status (in a probe).
    Exited {
        /// How it ended.
        exit: Exit,
    },
    /// The client's output does not match its implementation's client-output pattern.
    PatternMismatch,
    /// The client's output does not contain the reply.
    NotContained {
        /// What it printed.
        #[serde(with = "bytes_text")]
        printed: Vec<u8>,
        /// The reply.
        #[serde(with = "bytes_text")]
        reference: Vec<u8>,
    },
    /// The client printed other output than the reference client (in a pairing).
    PrintedOther {
        /// What it printed.
        #[serde(with = "bytes_text")]
        printed: Vec<u8>,
        /// What the reference client prints.
        #[serde(with = "bytes_text")]
        reference: Vec<u8>,
        /// The first differing byte, when one differs.
        at: Option<usize>,
    },
    /// The client printed other output than the reference client (in a probe).
    PrintedInstead {
        /// What it printed.
        #[serde(with = "bytes_text")]
        printed: Vec<u8>,
        /// What the reference client prints.
        #[serde(with = "bytes_text")]
        reference: Vec<u8>,
    },
    /// The client printed nothing.
    PrintedNothing,
    /// The client printed only part of the reply.
    TruncatesReply,
}

/// Who of the reference has no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReferenceSide {
    /// The reference client with the reference server.
    Pair,
    /// The reference client, probed alone.
    Client,
}

/// What the reference server did instead of answering.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "how", rename_all = "kebab-case")]
pub enum ReferenceServer {
    /// It died.
    Dies {
        /// How it ended.
        exit: Exit,
    },
    /// It stopped answering anyone.
    StopsAnsweringEveryone,
    /// It did not reply.
    DoesNotReply,
    /// It replied, but not in a way that defines an answer.
    NoDefinedAnswer,
}

/// What a server added after the reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "what", rename_all = "kebab-case")]
pub enum Added {
    /// `\n`.
    Newline,
    /// `\r\n`.
    CrLf,
    /// Zero bytes: the unused part of a buffer.
    Zeros {
        /// How many.
        count: usize,
    },
    /// The reply is a whole receive buffer holding an earlier request's leftovers.
    BufferRest {
        /// The buffer's size.
        size: usize,
        /// The bytes after the reply.
        #[serde(with = "bytes_text")]
        rest: Vec<u8>,
    },
    /// Other bytes.
    Bytes {
        /// The bytes after the reply.
        #[serde(with = "bytes_text")]
        bytes: Vec<u8>,
    },
}

/// A case mapping a server may apply instead of Python's `upper()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mapping {
    /// `str.lower()`.
    Lower,
    /// `str.title()`.
    Title,
    /// `str.swapcase()`.
    SwapCase,
    /// Only `a`–`z` uppercased.
    AsciiOnly,
    /// One-to-one mapping: characters whose uppercase is longer stay as they are.
    Simple,
    /// Unchanged.
    Identity,
}

/// What a unit could not learn, for the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completeness {
    /// The finding says something about the implementations.
    Complete,
    /// Nothing was learnt for a reason outside the implementations' behaviour (a program
    /// could not start, the run's time limit): the run is incomplete.
    Incomplete,
}

impl Finding {
    /// Whether the unit was left out for a reason outside the implementations.
    pub fn completeness(&self) -> Completeness {
        match self {
            Finding::Run(RunFinding::ProgramMissing { .. } | RunFinding::RunTimedOut) => {
                Completeness::Incomplete
            }
            Finding::Run(
                RunFinding::BuildFailed { .. }
                | RunFinding::ReferenceUndefined
                | RunFinding::NoReference { .. },
            )
            | Finding::Reference(_)
            | Finding::Server(_)
            | Finding::Client(_) => Completeness::Complete,
        }
    }

    /// The kind of mistake, without the bytes and numbers: two findings with the same
    /// code are one mistake seen twice (`added-newline`, `case-mapping-title`, `died`).
    pub fn code(&self) -> String {
        match self {
            Finding::Run(f) => format!("run-{}", tag(f)),
            Finding::Reference(f) => format!("reference-{}", tag(f)),
            Finding::Server(ServerFinding::AddedAfter { added, .. }) => {
                format!("server-added-{}", tag(added))
            }
            Finding::Server(ServerFinding::CaseMapping { mapping }) => {
                format!("server-case-mapping-{}", plain_tag(mapping))
            }
            Finding::Server(f) => format!("server-{}", tag(f)),
            Finding::Client(f) => format!("client-{}", tag(f)),
        }
    }

    /// The harness's one sentence for this finding: the only place a finding becomes
    /// text for reports (the student's wording is `grade::explain`'s).
    pub fn sentence(&self) -> String {
        match self {
            Finding::Run(f) => f.sentence(),
            Finding::Reference(f) => f.sentence(),
            Finding::Server(f) => f.sentence(),
            Finding::Client(f) => f.sentence(),
        }
    }
}

/// The serde tag of an internally tagged value (`"finding"`, `"what"`): its kebab-case
/// variant name.
fn tag<T: Serialize>(value: &T) -> String {
    let json = serde_json::to_value(value).unwrap_or_default();
    ["finding", "what"]
        .iter()
        .find_map(|k| json.get(k).and_then(|v| v.as_str()).map(str::to_string))
        .unwrap_or_default()
}

/// The serde name of a unit variant (`"title"`).
fn plain_tag<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Findings print as their sentence.
macro_rules! display_as_sentence {
    ($($t:ty),*) => {$(
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.sentence())
            }
        }
    )*};
}

display_as_sentence!(
    Finding,
    RunFinding,
    ReferenceFinding,
    ServerFinding,
    ClientFinding
);

impl From<RunFinding> for Finding {
    fn from(f: RunFinding) -> Finding {
        Finding::Run(f)
    }
}

impl From<ReferenceFinding> for Finding {
    fn from(f: ReferenceFinding) -> Finding {
        Finding::Reference(f)
    }
}

impl From<ServerFinding> for Finding {
    fn from(f: ServerFinding) -> Finding {
        Finding::Server(f)
    }
}

impl From<ClientFinding> for Finding {
    fn from(f: ClientFinding) -> Finding {
        Finding::Client(f)
    }
}

impl RunFinding {
    /// The harness's sentence (see [`Finding::sentence`]).
    pub fn sentence(&self) -> String {
        match self {
            RunFinding::BuildFailed { output } => format!("build failed: {output}"),
            RunFinding::ProgramMissing { detail } => {
                format!("toolchain or program missing: {detail}")
            }
            RunFinding::RunTimedOut => "not run: the run's time limit passed first".into(),
            RunFinding::ReferenceUndefined => {
                "not run: the reference itself gives no answer on this case".into()
            }
            RunFinding::NoReference { kind } => match kind {
                UnitKind::Pairing => {
                    "no reference pair for this case (the reference implementation has no such role)"
                        .into()
                }
                UnitKind::ServerProbe => "no reference server probe for this case".into(),
                UnitKind::ClientProbe => "no reference client probe for this case".into(),
            },
        }
    }
}

impl ReferenceFinding {
    /// The harness's sentence (see [`Finding::sentence`]).
    pub fn sentence(&self) -> String {
        match self {
            ReferenceFinding::DidNotRun { kind } => format!(
                "the reference {} did not run on this case",
                match kind {
                    UnitKind::Pairing => "pair",
                    UnitKind::ServerProbe => "server",
                    UnitKind::ClientProbe => "client",
                }
            ),
            ReferenceFinding::Hangs { who } => format!(
                "the reference {} hangs on this input (no reply within the time limit)",
                who.as_str()
            ),
            ReferenceFinding::Fails { who, exit, stderr } => format!(
                "the reference {} fails on this input ({exit}){}",
                who.as_str(),
                stderr
                    .as_deref()
                    .map(|l| format!(": {l}"))
                    .unwrap_or_default()
            ),
            ReferenceFinding::ServerUndefined {
                how,
                this_kept_answering,
            } => {
                let what = how.sentence();
                match this_kept_answering {
                    None => what,
                    Some(true) => format!("{what}; this server kept answering"),
                    Some(false) => format!("{what}; this server stopped answering too"),
                }
            }
        }
    }
}

impl ReferenceServer {
    fn sentence(&self) -> String {
        match self {
            ReferenceServer::Dies { exit } => {
                format!("the reference server dies on this input ({exit})")
            }
            ReferenceServer::StopsAnsweringEveryone => {
                "the reference server stops answering everyone during this case".into()
            }
            ReferenceServer::DoesNotReply => {
                "the reference server does not reply to this input".into()
            }
            ReferenceServer::NoDefinedAnswer => "the reference server has no defined answer".into(),
        }
    }
}

impl ServerFinding {
    /// The harness's sentence (see [`Finding::sentence`]): `server` and the predicate.
    pub fn sentence(&self) -> String {
        format!("server{}", self.predicate())
    }

    /// The sentence without its first word, `server`: what the server did (`" added a
    /// trailing newline: …"`, `"'s reply stops after …"`). The student's wording puts
    /// its own subject before it.
    pub fn predicate(&self) -> String {
        match self {
            ServerFinding::NotListening { detail } => {
                format!(" never started listening: {detail}")
            }
            ServerFinding::ProcessLimit => {
                " started too many processes (it ran into its process limit); it was stopped"
                    .into()
            }
            ServerFinding::ReplyEmpty => " replied with nothing".into(),
            ServerFinding::AddedAfter {
                added,
                expected,
                actual,
            } => format!(
                " added {}: expected `{}`, got `{}`",
                added.words(),
                short(expected),
                short(actual)
            ),
            ServerFinding::AddedPrefix { prefix } => {
                format!(" added a prefix `{}` before the reply", short(prefix))
            }
            ServerFinding::DroppedCr => " dropped the `\\r` at the end of the request; the reference keeps it in the reply".into(),
            ServerFinding::StrippedWhitespace => " stripped leading or trailing whitespace".into(),
            ServerFinding::OtherUnicode {
                from,
                to,
                reference,
                python,
            } => unicode_sentence(*from, *to, *reference, python),
            ServerFinding::CaseMapping { mapping } => mapping.predicate().into(),
            ServerFinding::Latin1 => " decodes the request as Latin-1 instead of UTF-8".into(),
            ServerFinding::ReplyCut { got, of } => format!(
                "'s reply stops after {got} of {of} bytes: it reads or sends too little"
            ),
            ServerFinding::ReplyDiffers { at } => {
                format!("'s reply differs from the reference's from byte {at}")
            }
            ServerFinding::ReplyFromOtherPort => {
                " replied from a different port than it listens on".into()
            }
            ServerFinding::ExtraDatagrams { count } => format!(
                " sent {count} datagrams for one request; the reference sends exactly one reply"
            ),
            ServerFinding::WaitsForNewline => {
                " waits for a newline that the reference client never sends (deadlock)".into()
            }
            ServerFinding::WaitsForMoreBytes => " waits for more bytes than the request holds: it answered only once another byte came, newline or not, so it reads until a short read or a fixed length instead of once (deadlock)".into(),
            ServerFinding::NeverRepliedNorClosed => " never replied and never closed the connection: it waits for more input (deadlock)".into(),
            ServerFinding::NeverReplied => " never replied".into(),
            ServerFinding::ExitedWhenClientClosed { exit } => format!(
                " never replied within the time limit, and exited ({exit}) when shout's client closed the connection: it waits for more input, such as a newline the reference client never sends"
            ),
            ServerFinding::DiedWithoutReply { exit } => {
                format!(" died on this input ({exit}) without replying")
            }
            ServerFinding::Died { exit } => format!(" died on this input ({exit})"),
            ServerFinding::Refused => " refused or reset the connection".into(),
            ServerFinding::ExitedAfterRequest { exit } => format!(
                " exited after this request ({exit}); the reference keeps serving"
            ),
            ServerFinding::AnsweredThenExited { exit } => {
                format!(" answered, then exited ({exit}); the reference keeps serving")
            }
            ServerFinding::AnsweredThenStopped => {
                " answered, then stopped answering other requests".into()
            }
            ServerFinding::SeenThroughClient { shows } => format!(
                "'s reply differs from the reference server's, as this client's output shows: {}",
                shows.sentence()
            ),
        }
    }
}

/// ` follows Unicode 16.0.0–17.0.0 (as 3.14), the reference …`.
fn unicode_sentence(
    from: UnicodeVersion,
    to: UnicodeVersion,
    reference: UnicodeVersion,
    python: &str,
) -> String {
    let hint = from
        .python_hint()
        .map(|h| format!(" (as {h})"))
        .unwrap_or_default();
    let range = if from == to {
        from.to_string()
    } else {
        format!("{from}–{to}")
    };
    format!(" follows Unicode {range}{hint}, the reference Python {python} follows {reference}")
}

impl ClientFinding {
    /// The harness's sentence (see [`Finding::sentence`]): `client` and the predicate.
    pub fn sentence(&self) -> String {
        format!("client{}", self.predicate())
    }

    /// The sentence without its first word, `client`: what the client did (`" added a
    /// trailing newline: …"`, `"'s reply stops after …"`). The student's wording puts
    /// its own subject before it.
    pub fn predicate(&self) -> String {
        match self {
            ClientFinding::SentNothing => " sent nothing".into(),
            ClientFinding::SentNewline => {
                " sent the line with its trailing newline; the reference client strips it"
                    .into()
            }
            ClientFinding::SentUppercased => " uppercased the line before sending it".into(),
            ClientFinding::SentWithoutCr => " dropped the `\\r` at the end of the line (it reads `\\r\\n` as the line's end); the reference client keeps it".into(),
            ClientFinding::SentStripped => {
                " stripped whitespace from the line before sending it".into()
            }
            ClientFinding::SentPart { got, of } => {
                format!(" sent only {got} of the line's {of} bytes")
            }
            ClientFinding::SentOther { sent, reference } => format!(
                " sent `{}`; the reference client sends `{}`",
                short(sent),
                short(reference)
            ),
            ClientFinding::SentInPieces { got, of, received } => format!(
                " sent the line in several writes, the first carrying only {got} of the line's {of} bytes: a server that reads once, as the reference does, gets only `{}`",
                escape(received)
            ),
            ClientFinding::OutputFlood { bytes } => {
                format!(" printed {bytes} bytes, far more than the reply (output flood)")
            }
            ClientFinding::HungAfterReply => " never exited after the reply arrived".into(),
            ClientFinding::HungAfterPrinting => {
                " never exited after printing the reply".into()
            }
            ClientFinding::PrintedPart { got, of } => format!(
                " printed only {got} of the {of} bytes the reference client prints (truncated reply)"
            ),
            ClientFinding::WrongExitAfterRightOutput { exit } => format!(
                " printed the right output but ended with {exit}; the reference client exits 0"
            ),
            ClientFinding::Exited { exit } => {
                format!(" ended with {exit}; the reference client exits 0")
            }
            ClientFinding::PatternMismatch => {
                " output does not match the implementation's client-output pattern".into()
            }
            ClientFinding::NotContained { printed, reference } => format!(
                " printed `{}`, which does not contain the reference reply `{}`",
                escape(printed),
                escape(reference)
            ),
            ClientFinding::PrintedOther {
                printed,
                reference,
                at,
            } => format!(
                " printed `{}` where the reference client prints `{}`{}",
                escape(printed),
                escape(reference),
                at.map(|a| format!(" (first difference at byte {a})"))
                    .unwrap_or_default()
            ),
            ClientFinding::PrintedInstead { printed, reference } => format!(
                " printed `{}`; the reference client prints `{}`",
                escape(printed),
                escape(reference)
            ),
            ClientFinding::PrintedNothing => " printed nothing".into(),
            ClientFinding::TruncatesReply => " truncates the reply it prints".into(),
        }
    }
}

impl ReferenceSide {
    fn as_str(self) -> &'static str {
        match self {
            ReferenceSide::Pair => "pair",
            ReferenceSide::Client => "client",
        }
    }
}

impl Added {
    fn words(&self) -> String {
        match self {
            Added::Newline => "a trailing newline".into(),
            Added::CrLf => "a trailing \\r\\n".into(),
            Added::Zeros { count } => {
                format!("{count} zero bytes (the unused part of its buffer)")
            }
            Added::BufferRest { size, rest } => format!(
                "the rest of its {size}-byte receive buffer after the reply (bytes an earlier request left there): `{}`",
                short(rest)
            ),
            Added::Bytes { bytes } => format!("`{}` after the reply", short(bytes)),
        }
    }
}

impl Mapping {
    fn predicate(self) -> &'static str {
        match self {
            Mapping::Lower => " lowercases instead of uppercasing",
            Mapping::Title => {
                " title-cases (capitalises each word) instead of uppercasing everything"
            }
            Mapping::SwapCase => " swaps case instead of uppercasing",
            Mapping::AsciiOnly => {
                " maps case with ASCII only: non-ASCII letters are left unchanged"
            }
            Mapping::Simple => {
                " uses one-to-one (simple) case mapping: characters such as ß must become two (SS)"
            }
            Mapping::Identity => " echoes the request without uppercasing it",
        }
    }
}

//! Findings: what comparing one unit with the reference found, as data. Each variant
//! carries the bytes and numbers it speaks of; [`Finding::sentence`] is the one place a
//! finding becomes the harness's sentence (the student's wording is in
//! `grade::explain`). Nothing here runs anything or reads a sentence back.

use serde::{Deserialize, Serialize};

use crate::plan::UnitKind;
use crate::proto::case::UnicodeVersion;
use crate::run::process::Exit;
use crate::run::wire::bytes_text;

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
    /// The program was silent twice while the machine ran more than twenty times slower
    /// than an idle core: nothing is concluded, and the run is incomplete.
    MachineBusy {
        /// How many times slower than idle, in tenths.
        tenths: u32,
    },
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
    /// The server dropped the request's leading byte-order mark (U+FEFF), as decoding
    /// with `utf-8-sig` does.
    DroppedByteOrderMark,
    /// The server normalized the text (before or after uppercasing); the reference
    /// keeps the request's characters as they come.
    Normalized {
        /// Which normalization form the reply is in.
        form: Normalization,
    },
    /// The server uppercases under another Unicode version.
    OtherUnicode {
        /// The oldest version that explains the reply.
        from: UnicodeVersion,
        /// The newest version that explains the reply.
        to: UnicodeVersion,
        /// The reference's version.
        reference: UnicodeVersion,
        /// What the reference runs on (`Python 3.11`, `Java 17`).
        #[serde(alias = "python")]
        runtime: String,
    },
    /// The server follows another Unicode version (declared, or agreed on by all its
    /// differences) that explains this reply: not a mistake unless `--strict-unicode`.
    VersionOnly {
        /// The oldest version consistent with the server's replies (or the declared one).
        from: UnicodeVersion,
        /// The newest such version.
        to: UnicodeVersion,
        /// Whether the version is the implementation's declared one.
        declared: bool,
        /// The reference's version.
        reference: UnicodeVersion,
        /// What the reference runs on (`Python 3.11`, `Java 17`).
        #[serde(alias = "python")]
        runtime: String,
    },
    /// The server applies another case mapping than Python's `upper()`.
    CaseMapping {
        /// Which.
        mapping: Mapping,
    },
    /// The server decodes the request as Latin-1.
    Latin1,
    /// The reply is the right text in another encoding than UTF-8 (UTF-16), or framed
    /// with a length before it (Java's `writeUTF`).
    OtherEncoding {
        /// Which.
        encoding: Encoding,
    },
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
    /// The server answered all of a request the reference's buffer cuts, where the
    /// reference answers only the part its buffer held (`non-strict`).
    BeyondReferenceBuffer {
        /// The bytes of the request the server answered.
        answered: usize,
        /// The bytes the reference's buffer held.
        reference: usize,
        /// The request came in several writes, and the reference answered what its one
        /// read got (not what its buffer holds).
        #[serde(default)]
        pieces: bool,
    },
    /// The server sent the reply alone where the reference sends its whole receive
    /// buffer, the reply then zero bytes (the textbook's Java UDP server).
    NoBufferRest {
        /// The bytes the server sent.
        got: usize,
        /// The reference's buffer size: the bytes it sends.
        of: usize,
    },
    /// A TCP server answers only a line ending in `\n`.
    WaitsForNewline,
    /// A TCP server answered only once the client closed the connection: it reads
    /// until the end of the stream.
    WaitsForClose,
    /// A TCP server wrote a right reply in several writes, and the reference client's
    /// one `recv` took only the first of them.
    ReplyInPieces {
        /// The server's writes the relay saw.
        pieces: usize,
        /// The bytes the first write carried.
        first: usize,
        /// The reply's length.
        of: usize,
    },
    /// The server had already exited when this case's request was to be sent: an
    /// earlier exchange ended it, not this input.
    DiedBeforeRequest {
        /// How it ended.
        exit: Exit,
    },
    /// The server crashed on writing to a client that had already closed its
    /// connection (a broken pipe or a reset), not on the request in hand.
    DiedWritingToGoneClient {
        /// How it ended.
        exit: Exit,
    },
    /// A TCP server answers only once another byte comes, newline or not.
    WaitsForMoreBytes,
    /// A TCP server neither replied nor closed.
    NeverRepliedNorClosed,
    /// No reply within the time limit.
    NeverReplied,
    /// A TCP server answered earlier connections, then left new ones waiting in the
    /// kernel's queue: it no longer calls `accept` (it accepts once, before its loop).
    StoppedAccepting,
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
    /// Of several clients that sent at once, one got the reply to another's line.
    MixedConcurrentReplies {
        /// The client (1-based, in the order they connected).
        client: usize,
        /// Whose line its reply was the uppercase of.
        got: usize,
        /// Clients in all.
        clients: usize,
    },
    /// Of several clients that sent at once, some got no reply, where the reference
    /// answered every one.
    ConcurrentUnanswered {
        /// Clients without a reply.
        unanswered: usize,
        /// Clients in all.
        clients: usize,
    },
    /// A UDP server answered 127.0.0.1 but not a request from another loopback address
    /// to the same address: it replies to a fixed address, not to the sender's.
    RepliesToFixedAddress {
        /// Where the unanswered request came from.
        from: String,
    },
    /// The server does not listen on this address, where the reference listens on
    /// every address.
    NotListeningOn {
        /// The address and port.
        to: String,
    },
    /// A request from another source address got no reply.
    UnansweredFrom {
        /// Where it came from.
        from: String,
        /// Where it went.
        to: String,
    },
    /// A TCP server did not answer a line sent a while after the connection (as a slow
    /// typist at the reference client sends it) as it answers one sent at once.
    GaveUpOnLateLine {
        /// How long after the connection the line came.
        after_ms: u64,
    },
    /// The server answered this many requests in a row, then none.
    StoppedAnswering {
        /// Requests answered before the first unanswered one.
        after: usize,
        /// Requests the case asks for.
        of: usize,
    },
    /// The server kept open descriptors growing with the requests it answered.
    LeaksDescriptors {
        /// Requests answered.
        requests: usize,
        /// How many more descriptors it held afterwards.
        grew: usize,
    },
    /// A TCP server reset the connection (RST) after a right reply, where the reference
    /// closes it (FIN).
    ResetAfterReply,
    /// A TCP server sent a right reply but did not close the connection, where the
    /// reference closes it right after its reply.
    KeptConnectionOpen,

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
    /// The client sent the line without the newline the reference client ends it with
    /// (the textbook's Java client).
    SentNoNewline,
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
        /// Bytes the one read took (depends on timing; kept for the record).
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
    /// A TCP client read a reply longer than one `recv(1024)` until the server closed,
    /// and printed more of it than the reference client does.
    ReadPastOneRecv {
        /// The reply's length in bytes.
        reply: usize,
        /// What the reference client's one read takes.
        recv: usize,
    },
    /// The client printed nothing.
    PrintedNothing,
    /// The client printed only part of the reply.
    TruncatesReply,

    // ---- Timing: a line typed late, no server ----
    /// The client ended before a line typed late reached it, having sent nothing.
    GaveUpBeforeLine {
        /// How long it waited: from its connection (or its start) to its end.
        waited_ms: u64,
        /// Whether it had connected.
        connected: bool,
    },
    /// With nothing listening, the client did not end (the reference's connect is
    /// refused and it exits with a failure).
    HangsWithNoServer,
    /// With nothing listening, the client exited with status 0 as if it had succeeded.
    SucceededWithNoServer {
        /// What it printed.
        #[serde(with = "bytes_text")]
        printed: Vec<u8>,
    },
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
        /// The buffer's size: the request's bytes and the zeros after them (the reply
        /// may be longer than the request, when uppercasing lengthens it).
        #[serde(default)]
        buffer: usize,
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

/// How a reply holding the right text may be encoded other than as plain UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    /// UTF-16, big-endian, no byte-order mark (Java's `writeChars`).
    Utf16Be,
    /// UTF-16, little-endian, no byte-order mark.
    Utf16Le,
    /// UTF-16 after a byte-order mark (Java's `getBytes("UTF-16")`, Python's
    /// `encode('utf-16')`).
    Utf16WithBom,
    /// Two bytes of length, then the text (Java's `DataOutputStream.writeUTF`).
    LengthPrefixed,
}

/// A case mapping a server may apply instead of Python's `upper()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
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

/// A Unicode normalization form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Normalization {
    /// Canonical composition (`é` as one code point).
    Nfc,
    /// Canonical decomposition (`e` followed by U+0301).
    Nfd,
    /// Compatibility composition.
    Nfkc,
    /// Compatibility decomposition.
    Nfkd,
}

impl Normalization {
    /// Every form, canonical first.
    pub const ALL: [Normalization; 4] = [
        Normalization::Nfc,
        Normalization::Nfd,
        Normalization::Nfkc,
        Normalization::Nfkd,
    ];

    /// Its usual name (`NFC`).
    pub fn name(self) -> &'static str {
        match self {
            Normalization::Nfc => "NFC",
            Normalization::Nfd => "NFD",
            Normalization::Nfkc => "NFKC",
            Normalization::Nfkd => "NFKD",
        }
    }
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
            Finding::Run(
                RunFinding::ProgramMissing { .. }
                | RunFinding::RunTimedOut
                | RunFinding::MachineBusy { .. },
            ) => Completeness::Incomplete,
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

//! The harness's wording of findings: the one place a [`Finding`] becomes the sentence
//! every report prints (`server added a trailing newline: …`). Server and client
//! sentences are their subject and a predicate, so the student's wording
//! (`grade::explain`) can put its own subject before the same predicate.

use super::finding::{
    Added, ClientFinding, Encoding, Finding, Mapping, ReferenceFinding, ReferenceServer,
    ReferenceSide, RunFinding, ServerFinding,
};
use crate::plan::UnitKind;
use crate::proto::case::UnicodeVersion;
use crate::text::{escape, short};

impl Finding {
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

impl RunFinding {
    /// The harness's sentence (see [`Finding::sentence`]).
    pub fn sentence(&self) -> String {
        match self {
            RunFinding::BuildFailed { output } => format!("build failed: {output}"),
            RunFinding::ProgramMissing { detail } => {
                format!("toolchain or program missing: {detail}")
            }
            RunFinding::RunTimedOut => "not run: the run's time limit passed first".into(),
            RunFinding::MachineBusy { tenths } => format!(
                "not judged: the machine was too busy (it ran {}.{} times slower than an idle core when the program was silent twice)",
                tenths / 10,
                tenths % 10
            ),
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
            ServerFinding::NotListening { detail } => format!(" never started listening: {detail}"),
            ServerFinding::ProcessLimit => " started too many processes (it ran into its process limit); it was stopped".into(),
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
            ServerFinding::AddedPrefix { prefix } => format!(" added a prefix `{}` before the reply", short(prefix)),
            ServerFinding::DroppedCr => " dropped the `\\r` at the end of the request; the reference keeps it in the reply".into(),
            ServerFinding::StrippedWhitespace => " stripped leading or trailing whitespace".into(),
            ServerFinding::DroppedByteOrderMark => " dropped the byte-order mark (U+FEFF) at the start of the request, as decoding with `utf-8-sig` does; the reference decodes plain UTF-8 and keeps it in the reply".into(),
            ServerFinding::Normalized { form } => format!(
                " normalized the text to {} (composing or decomposing accented characters); the reference uppercases the characters as they come, so `e` + U+0301 stays two code points",
                form.name()
            ),
            ServerFinding::OtherUnicode {
                from,
                to,
                reference,
                runtime,
            } => unicode_sentence(*from, *to, *reference, runtime),
            ServerFinding::VersionOnly {
                from,
                to,
                declared,
                reference,
                runtime,
            } => version_only(*from, *to, *declared, *reference, runtime),
            ServerFinding::CaseMapping { mapping } => mapping.predicate().into(),
            ServerFinding::Latin1 => " decodes the request as Latin-1 instead of UTF-8".into(),
            ServerFinding::OtherEncoding { encoding } => encoding_predicate(*encoding).into(),
            ServerFinding::ReplyCut { got, of } => format!(
                "'s reply stops after {got} of {of} bytes: it reads or sends too little"
            ),
            ServerFinding::ReplyDiffers { at } => format!("'s reply differs from the reference's from byte {at}"),
            ServerFinding::ReplyFromOtherPort => " replied from a different port than it listens on".into(),
            ServerFinding::ExtraDatagrams { count } => format!(
                " sent {count} datagrams for one request; the reference sends exactly one reply"
            ),
            ServerFinding::BeyondReferenceBuffer {
                answered,
                reference,
                pieces: true,
            } => format!(
                " read all {answered} bytes of a request sent in several writes, where the reference ({}) answers only the first {reference}, what its one read got: more than the reference does, not wrong (non-strict)",
                crate::registry::reference()
            ),
            ServerFinding::BeyondReferenceBuffer {
                answered,
                reference,
                pieces: false,
            } => format!(
                " answered all {answered} bytes of the request where the reference ({}) answers only the first {reference}, all its buffer holds: more than the reference does, not wrong (non-strict)",
                crate::registry::reference()
            ),
            ServerFinding::NoBufferRest { got, of } => format!(
                " sent the reply alone ({got} bytes) where the reference ({}) sends its whole {of}-byte receive buffer: the reply, then zero bytes",
                crate::registry::reference()
            ),
            ServerFinding::WaitsForNewline => " waits for a newline that the reference client never sends (deadlock)".into(),
            ServerFinding::StoppedAccepting => " left new connections waiting unaccepted after serving an earlier one: it stops calling `accept` (one `accept` before the loop serves only the first client); the reference accepts each connection in its loop".into(),
            ServerFinding::WaitsForClose => " answered only once the client closed the connection (it reads until the end of the stream); the reference client keeps the connection open until the reply comes (deadlock)".into(),
            ServerFinding::ReplyInPieces { pieces, first, of } => format!(
                " wrote its {of}-byte reply in {pieces} pieces; the reference client's one `recv` took only what had arrived ({first} bytes of the first write): send the reply in one write"
            ),
            ServerFinding::DiedBeforeRequest { exit } => format!(
                " had already exited ({exit}) before this case's request was sent: an earlier exchange ended it, not this input"
            ),
            ServerFinding::DiedWritingToGoneClient { exit } => format!(
                " crashed ({exit}) writing to a client that had already closed its connection (broken pipe or reset), not on this input"
            ),
            ServerFinding::WaitsForMoreBytes => WAITS_FOR_MORE.into(),
            ServerFinding::NeverRepliedNorClosed => " never replied and never closed the connection: it waits for more input (deadlock)".into(),
            ServerFinding::NeverReplied => " never replied".into(),
            ServerFinding::ExitedWhenClientClosed { exit } => format!(
                " never replied within the time limit, and exited ({exit}) when shout's client closed the connection: it waits for more input, such as a newline the reference client never sends"
            ),
            ServerFinding::DiedWithoutReply { exit } => format!(" died on this input ({exit}) without replying"),
            ServerFinding::Died { exit } => format!(" died on this input ({exit})"),
            ServerFinding::Refused => " refused or reset the connection".into(),
            ServerFinding::ExitedAfterRequest { exit } => format!(
                " exited after this request ({exit}); the reference keeps serving"
            ),
            ServerFinding::AnsweredThenExited { exit } => format!(" answered, then exited ({exit}); the reference keeps serving"),
            ServerFinding::AnsweredThenStopped => " answered, then stopped answering other requests".into(),
            ServerFinding::MixedConcurrentReplies { client, got, clients } => format!(
                " gave client {client} of {clients} that sent at once the reply to client {got}'s line: requests that overlap share one buffer or variable (the reference serves them one after another, each its own reply)"
            ),
            ServerFinding::ConcurrentUnanswered { unanswered, clients } => format!(
                " left {unanswered} of {clients} clients that sent at once without a reply; the reference answers them all, one after another"
            ),
            ServerFinding::RepliesToFixedAddress { from } => format!(
                " never answered a request from {from}, though it answers 127.0.0.1: it sends its reply to a fixed address instead of the address recvfrom returned"
            ),
            ServerFinding::NotListeningOn { to } => format!(
                " does not answer on {to}: it listens on one address (127.0.0.1 or localhost) where the reference binds every address ('')"
            ),
            ServerFinding::UnansweredFrom { from, to } => {
                format!(" never answered a request sent from {from} to {to}")
            }
            ServerFinding::GaveUpOnLateLine { after_ms } => format!(
                " sent no reply (or an empty one) to a line sent {after_ms} ms after the connection: it gives up on a slow client (a receive timeout), where the reference client connects before the line is typed and the reference server waits for it"
            ),
            ServerFinding::StoppedAnswering { after, of } => format!(
                " answered {after} of {of} requests in a row (besides the earlier cases' ones), then stopped answering; the reference answers every request"
            ),
            ServerFinding::LeaksDescriptors { requests, grew } => format!(
                " held {grew} more open descriptors after {requests} requests than before: it keeps one per request (a socket never closed), so it runs out and stops accepting; the reference holds none after a request"
            ),
            ServerFinding::ResetAfterReply => RESET_AFTER_REPLY.into(),
            ServerFinding::KeptConnectionOpen => KEPT_OPEN.into(),
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
    runtime: &str,
) -> String {
    let hint = from
        .python_hint()
        .map(|h| format!(" (as {h})"))
        .unwrap_or_default();
    let range = range(from, to);
    format!(" follows Unicode {range}{hint}, the reference {runtime} follows {reference}")
}

/// A TCP server that ends with RST where the reference ends with FIN.
const RESET_AFTER_REPLY: &str = " reset the connection (TCP RST, as closing with `SO_LINGER` 0 does) right after its reply, where the reference closes it with FIN: a client that reads until the server closes gets \"connection reset\" instead of the end of the reply";

/// A TCP server that never closes after its reply.
const KEPT_OPEN: &str = " sent its reply but never closed the connection, where the reference closes it right after its one reply: a client that reads until the server closes waits forever";

/// A TCP server that reads until a short read or a fixed length.
const WAITS_FOR_MORE: &str = " waits for more bytes than the request holds: it answered only once another byte came, newline or not, so it reads until a short read or a fixed length instead of once (deadlock)";

/// ` follows Unicode 17.0.0 where the reference Python 3.11 follows 14.0.0: …`.
fn version_only(
    from: UnicodeVersion,
    to: UnicodeVersion,
    declared: bool,
    reference: UnicodeVersion,
    runtime: &str,
) -> String {
    format!(
        " follows Unicode {}{} where the reference {runtime} follows {reference}: a difference of Unicode version only",
        range(from, to),
        if declared { ", as declared" } else { "" }
    )
}

/// `16.0.0`, or `16.0.0–17.0.0`.
/// What a server did that sends the right text in `encoding`.
pub(crate) fn encoding_predicate(encoding: Encoding) -> &'static str {
    match encoding {
        Encoding::Utf16Be => " sent the right text encoded as UTF-16 (big-endian, two bytes per character, as Java's `writeChars` does); the reference sends UTF-8",
        Encoding::Utf16Le => " sent the right text encoded as UTF-16 (little-endian, two bytes per character); the reference sends UTF-8",
        Encoding::Utf16WithBom => " sent the right text encoded as UTF-16 after a byte-order mark (as `getBytes(\"UTF-16\")` or `encode('utf-16')` does); the reference sends UTF-8",
        Encoding::LengthPrefixed => " put a two-byte length before the reply (as Java's `DataOutputStream.writeUTF` does); the reference sends the UTF-8 text alone",
    }
}

fn range(from: UnicodeVersion, to: UnicodeVersion) -> String {
    if from == to {
        from.to_string()
    } else {
        format!("{from}–{to}")
    }
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
            ClientFinding::SentNoNewline => format!(
                " sent the line without the newline the reference client ({}) ends it with; a server that reads a line waits for it",
                crate::registry::reference()
            ),
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
            ClientFinding::SentInPieces { .. } => " sent the line in several writes instead of one: a server that reads once, as the reference does, gets only what has arrived by then, often just the first piece".into(),
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
            ClientFinding::ReadPastOneRecv { reply, recv } => format!(
                " read the {reply}-byte reply until the server closed and printed all of it, where the reference client's one `recv({recv})` prints the first {recv} bytes"
            ),
            ClientFinding::TruncatesReply => " truncates the reply it prints".into(),
            ClientFinding::GaveUpBeforeLine { waited_ms, connected } => format!(
                " gave up {} ms after {}, before the line was typed, and sent nothing; the reference client waits for the line however long it takes",
                waited_ms,
                if *connected { "it connected" } else { "it started" }
            ),
            ClientFinding::HangsWithNoServer => " kept running with nothing listening on its port; the reference client's connection is refused and it exits with status 1 at once".into(),
            ClientFinding::SucceededWithNoServer { printed } => format!(
                " exited with status 0 with nothing listening on its port{}; the reference client's connection is refused and it exits with status 1",
                if printed.is_empty() {
                    String::new()
                } else {
                    format!(", having printed `{}`", short(printed))
                }
            ),
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
            Added::Zeros { count, buffer } => {
                format!("{count} zero bytes (the unused part of its {buffer}-byte buffer)")
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

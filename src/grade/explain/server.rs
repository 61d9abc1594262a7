//! A server's finding as the student reads it after "Your UDP server". Pure text.

use crate::plan::UnitKind;
use crate::results::UnitResult;
use crate::text::short;
use crate::verdict::{Added, Mapping, ServerFinding};

/// What a server did, as the student reads it after "Your UDP server".
pub(super) fn server_predicate(f: &ServerFinding, r: &UnitResult) -> String {
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
        | ServerFinding::BeyondReferenceBuffer { .. }
        | ServerFinding::NoBufferRest { .. }
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
pub(super) fn mapping_predicate(m: Mapping) -> &'static str {
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

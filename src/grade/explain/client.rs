//! A client's finding as the student reads it after "Your UDP client". Pure text.

use crate::results::UnitResult;
use crate::text::escape;
use crate::verdict::ClientFinding;

/// What a client did, as the student reads it after "Your UDP client".
pub(super) fn client_predicate(f: &ClientFinding, r: &UnitResult) -> String {
    match f {
        ClientFinding::SentNothing => " sent nothing to the server".into(),
        ClientFinding::SentNewline => {
            " sends a newline after the text; the reference client sends the line without it".into()
        }
        ClientFinding::SentNoNewline => f.predicate(),
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

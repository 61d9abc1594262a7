//! Whether a finding's sentence is followed by the unit's expected and actual bytes.
//! Pure.

use crate::verdict::{Added, ClientFinding, Finding, RunFinding, ServerFinding};

/// Whether quoting the expected and actual bytes helps after this finding: not for
/// problems where the bytes say nothing (a build, a hang, a wrong port) or where the
/// unit's bytes are not what went wrong (a request mistake: they are what was printed).
pub(super) fn wants_detail(f: &Finding) -> bool {
    match f {
        Finding::Run(RunFinding::BuildFailed { .. } | RunFinding::ProgramMissing { .. }) => false,
        Finding::Run(
            RunFinding::RunTimedOut
            | RunFinding::MachineBusy { .. }
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
            | ClientFinding::SentNoNewline
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

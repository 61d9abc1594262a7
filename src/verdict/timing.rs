//! Judging the client-timing cases from the moments the run noted: a client started
//! with no server (the reference's connect is refused and it exits non-zero), and a
//! line typed a while after the client connected (the reference waits for it). Pure.

use super::finding::ClientFinding;
use crate::run::observe::{ProcessOutcome, TimingSeen};
use crate::run::process::Exit;

/// What is wrong with a client started with nothing listening, given how the reference
/// client ended (`reference`): `None` when the reference itself has no defined ending
/// (it hung too) or the client ended as it does, with a failure.
pub(super) fn no_server_finding(
    client: &ProcessOutcome,
    reference: &ProcessOutcome,
) -> Option<ClientFinding> {
    if matches!(reference.exit, Exit::TimedOut | Exit::Code(0)) {
        return None;
    }
    match client.exit {
        Exit::TimedOut => Some(ClientFinding::HangsWithNoServer),
        Exit::Code(0) => Some(ClientFinding::SucceededWithNoServer {
            printed: client.stdout.clone(),
        }),
        Exit::Code(_) | Exit::Signal(_) => None,
    }
}

/// A client that ended before its late line was typed, having sent nothing: it gave
/// up waiting for the keyboard (a timeout on its connection, a read that does not
/// wait). `None` for any other client, whose bytes and output are judged as usual.
pub(super) fn late_line_finding(
    client: &ProcessOutcome,
    timing: &TimingSeen,
    received: &[u8],
) -> Option<ClientFinding> {
    let TimingSeen::Late {
        contacted_ms,
        line_ms: None,
    } = timing
    else {
        return None;
    };
    received
        .is_empty()
        .then(|| ClientFinding::GaveUpBeforeLine {
            waited_ms: client
                .duration_ms
                .saturating_sub(contacted_ms.unwrap_or_default()),
            connected: contacted_ms.is_some(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ended(exit: Exit, ms: u64) -> ProcessOutcome {
        ProcessOutcome {
            exit,
            stdout: b"From Server:  \n".to_vec(),
            stdout_total: 15,
            stderr_tail: String::new(),
            duration_ms: ms,
        }
    }

    #[test]
    fn with_no_server_a_hang_and_a_success_are_wrong_and_a_failure_is_right() {
        let reference = ended(Exit::Code(1), 40);
        let hang = no_server_finding(&ended(Exit::TimedOut, 9000), &reference);
        assert_eq!(hang, Some(ClientFinding::HangsWithNoServer));
        let ok = no_server_finding(&ended(Exit::Code(0), 40), &reference);
        assert!(matches!(
            ok,
            Some(ClientFinding::SucceededWithNoServer { .. })
        ));
        assert_eq!(
            no_server_finding(&ended(Exit::Code(2), 40), &reference),
            None
        );
        // A reference that hangs too defines nothing.
        let hanging_reference = ended(Exit::TimedOut, 9000);
        assert_eq!(
            no_server_finding(&ended(Exit::TimedOut, 9000), &hanging_reference),
            None
        );
    }

    #[test]
    fn a_client_gone_before_its_late_line_gave_up_and_one_that_waited_did_not() {
        let gone = TimingSeen::Late {
            contacted_ms: Some(100),
            line_ms: None,
        };
        let finding = late_line_finding(&ended(Exit::Code(1), 620), &gone, b"");
        assert_eq!(
            finding,
            Some(ClientFinding::GaveUpBeforeLine {
                waited_ms: 520,
                connected: true
            })
        );
        let typed = TimingSeen::Late {
            contacted_ms: Some(100),
            line_ms: Some(1600),
        };
        assert_eq!(
            late_line_finding(&ended(Exit::Code(0), 1700), &typed, b""),
            None
        );
        // Bytes sent before the line are judged as any other request.
        assert_eq!(
            late_line_finding(&ended(Exit::Code(0), 620), &gone, b"x"),
            None
        );
    }
}

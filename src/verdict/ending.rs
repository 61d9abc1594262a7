//! How a TCP connection ends after a correct reply: the reference closes it with FIN
//! right after its one reply; a server that resets it (RST, e.g. `SO_LINGER` 0) or
//! never closes it differs. Judged only from the two transcripts, and only where the
//! reference itself closed cleanly after a request sent in one write (a request the
//! reference did not read whole makes the reference reset too). Pure.

use super::finding::ServerFinding;
use crate::run::wire::{Peer, Transcript, WireWhat};

/// How a transcript's connection ended on the server's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// FIN, with no reset after it.
    Closed,
    /// RST.
    Reset,
    /// Neither: the probe gave up waiting and closed first.
    Open,
}

fn ending(wire: &Transcript) -> Ending {
    if wire.has(Peer::Server, WireWhat::Reset) {
        Ending::Reset
    } else if wire.has(Peer::Server, WireWhat::Close) {
        Ending::Closed
    } else {
        Ending::Open
    }
}

/// The finding about how this server ended the connection, when it ended otherwise than
/// the reference did on the same case. `writes` is how many writes the request took.
pub(super) fn ending_finding(
    writes: usize,
    wire: &Transcript,
    reference: &Transcript,
) -> Option<ServerFinding> {
    if writes != 1 || ending(reference) != Ending::Closed {
        return None;
    }
    if wire.sent_by(Peer::Server).is_empty() {
        return None;
    }
    match ending(wire) {
        Ending::Closed => None,
        Ending::Reset => Some(ServerFinding::ResetAfterReply),
        Ending::Open => Some(ServerFinding::KeptConnectionOpen),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::wire::WireEvent;

    fn wire(events: &[(Peer, &[u8], WireWhat, u64)]) -> Transcript {
        Transcript {
            events: events
                .iter()
                .map(|&(from, bytes, what, at_ms)| WireEvent {
                    from,
                    at_ms,
                    bytes: bytes.to_vec(),
                    what,
                })
                .collect(),
        }
    }

    fn closed() -> Transcript {
        wire(&[
            (Peer::Client, b"hi", WireWhat::Data, 0),
            (Peer::Server, b"HI", WireWhat::Data, 1),
            (Peer::Server, b"", WireWhat::Close, 1),
        ])
    }

    #[test]
    fn a_fin_like_the_reference_is_no_finding_a_reset_or_no_close_is() {
        assert_eq!(ending_finding(1, &closed(), &closed()), None);
        let reset = wire(&[
            (Peer::Client, b"hi", WireWhat::Data, 0),
            (Peer::Server, b"HI", WireWhat::Data, 1),
            (Peer::Server, b"", WireWhat::Reset, 1),
        ]);
        assert_eq!(
            ending_finding(1, &reset, &closed()),
            Some(ServerFinding::ResetAfterReply)
        );
        let open = wire(&[
            (Peer::Client, b"hi", WireWhat::Data, 0),
            (Peer::Server, b"HI", WireWhat::Data, 1),
        ]);
        assert_eq!(
            ending_finding(1, &open, &closed()),
            Some(ServerFinding::KeptConnectionOpen)
        );
    }

    #[test]
    fn nothing_is_judged_where_the_reference_reset_or_the_request_came_in_pieces() {
        let reset = wire(&[
            (Peer::Client, b"hi", WireWhat::Data, 0),
            (Peer::Server, b"HI", WireWhat::Data, 1),
            (Peer::Server, b"", WireWhat::Reset, 1),
        ]);
        assert_eq!(ending_finding(1, &reset, &reset), None);
        assert_eq!(ending_finding(3, &reset, &closed()), None);
        // No reply at all is another finding's business.
        let silent = wire(&[(Peer::Client, b"hi", WireWhat::Data, 0)]);
        assert_eq!(ending_finding(1, &silent, &closed()), None);
    }
}

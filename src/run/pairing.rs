//! A pairing: a real client against the lane's server, through the relay that records
//! the wire (or directly, when both are fixed on one port). It starts the client and the
//! relay and turns what happened into an observation; it never judges it, and it never
//! starts or stops the server.

use std::time::Duration;

use super::context::{client_role, spawn_failed, stdin_of, Context};
use super::observe::{NotRunReason, Observation, ProcessOutcome};
use super::process::{Exit, Running};
use super::relay::Relay;
use super::server::Instance;
use super::wire::{Peer, Transcript, WireEvent, WireWhat};
use crate::plan::Unit;

/// Runs `unit`'s client against `server`. `limit` is the unit's time limit, read when
/// the client has started; `client_cap` caps it for a client that keeps timing out.
pub(super) fn pairing(
    ctx: &Context,
    axis: usize,
    unit: &Unit,
    server: &mut Instance,
    limit: impl FnOnce() -> Duration,
    client_cap: Duration,
) -> Observation {
    let listen = ctx.client_fixed_port(axis, unit).unwrap_or(0);
    // A client and a server fixed on the same port meet directly: no relay fits between
    // them, so this pairing has no wire transcript.
    let direct = listen != 0 && listen == server.port;
    let relay = if direct {
        None
    } else {
        match Relay::start(
            unit.transport,
            server.port,
            (ctx.client_listen_ip(), listen).into(),
            ctx.options.capture_limit,
        ) {
            Ok(r) => Some(r),
            Err(e) => {
                return Observation::NotRun {
                    reason: NotRunReason::SpawnFailed(format!("relay: {e}")),
                }
            }
        }
    };
    let client = unit.client.name();
    let port = relay.as_ref().map_or(server.port, Relay::port);
    let spec = ctx.spawn_spec(
        axis,
        client,
        client_role(unit.transport),
        port,
        Some(stdin_of(unit)),
    );
    let finished = match Running::spawn(&spec) {
        Ok(r) => r.finish(server.limit(client, limit()).min(client_cap)),
        Err(e) => {
            if let Some(r) = relay {
                r.stop();
            }
            return Observation::NotRun {
                reason: spawn_failed(&spec, e),
            };
        }
    };
    let wire = relay.map_or_else(unrecorded, Relay::stop);
    server.answered(
        client,
        finished.exit != Exit::TimedOut || !wire.sent_by(Peer::Server).is_empty(),
    );
    if troubled(&finished.exit, direct, &wire) && !ctx.is_shout_server(axis, unit.server.name()) {
        // A server that is dying must be seen dead now, not blamed on the next unit
        // (shout's own servers never die on a request).
        server.process.wait_timeout(server.dying);
    }
    Observation::Pairing {
        client: ProcessOutcome::from(finished),
        wire,
        server: server.after(),
    }
}

/// Whether a pairing went so that the server may be dying: the client failed, the
/// server sent nothing through the relay (not even an empty datagram), or it reset the
/// connection.
fn troubled(exit: &Exit, direct: bool, wire: &Transcript) -> bool {
    // An empty datagram is an answer: only no event at all from the server is silence.
    let answered = wire.has(Peer::Server, WireWhat::Data)
        || wire.has(Peer::Server, WireWhat::DataFromOtherPort);
    *exit != Exit::Code(0) || (!direct && !answered) || wire.has(Peer::Server, WireWhat::Reset)
}

/// The transcript of a pairing that met directly. Says so, so that nobody reads "sent
/// nothing" into an empty transcript.
fn unrecorded() -> Transcript {
    Transcript {
        events: vec![WireEvent {
            from: Peer::Client,
            at_ms: 0,
            bytes: Vec::new(),
            what: WireWhat::Unrecorded,
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(events: &[(Peer, &[u8], WireWhat)]) -> Transcript {
        Transcript {
            events: events
                .iter()
                .map(|&(from, bytes, what)| WireEvent {
                    from,
                    at_ms: 0,
                    bytes: bytes.to_vec(),
                    what,
                })
                .collect(),
        }
    }

    #[test]
    fn a_clean_exchange_is_no_trouble_and_a_failing_client_or_silent_server_is() {
        let answered = wire(&[
            (Peer::Client, b"hi\n", WireWhat::Data),
            (Peer::Server, b"HI\n", WireWhat::Data),
        ]);
        assert!(!troubled(&Exit::Code(0), false, &answered));
        assert!(troubled(&Exit::Code(1), false, &answered));
        let silent = wire(&[(Peer::Client, b"hi\n", WireWhat::Data)]);
        assert!(troubled(&Exit::Code(0), false, &silent));
    }

    #[test]
    fn a_direct_pairing_is_not_blamed_for_its_missing_transcript_but_a_reset_is_trouble() {
        assert!(!troubled(&Exit::Code(0), true, &unrecorded()));
        let reset = wire(&[
            (Peer::Server, b"HI\n", WireWhat::Data),
            (Peer::Server, b"", WireWhat::Reset),
        ]);
        assert!(troubled(&Exit::Code(0), false, &reset));
    }
}

//! Judging probes: a server answering the harness's client, and a client talking to the
//! harness's recording server, each against the reference's run of the same probe.

use super::compare::{
    client_view, contains, died, reference_has_no_answer, reference_reply, waiting_for, Judge,
    Outcome,
};
use super::diagnose::{diagnose_reply, diagnose_request};
use super::ending::ending_finding;
use super::finding::{
    ClientFinding, Finding, ReferenceFinding, ReferenceServer, ReferenceSide, RunFinding,
    ServerFinding,
};
use super::load::load_probe;
use super::model::{Fault, Verdict};
use super::timing::{late_line_finding, no_server_finding};
use crate::plan::{UnitKind, PROBE};
use crate::proto::Transport;
use crate::registry::ClientOutput;
use crate::run::execute::Executed;
use crate::run::observe::{Observation, ProcessOutcome, Reply, ServerAfter, TimingSeen};
use crate::run::process::Exit;
use crate::run::wire::{Peer, WireWhat};

/// Whether a server was still there and answering after the case.
fn survived(server: &ServerAfter) -> bool {
    server.exited.is_none() && server.answers != Some(false)
}

/// Judges a server probe.
pub(super) fn server_probe(e: &Executed, j: &Judge) -> Outcome {
    let u = &e.unit;
    let Observation::ServerProbe {
        reply,
        wire,
        server,
        ..
    } = &e.observation
    else {
        unreachable!("server probe")
    };
    let kind = UnitKind::ServerProbe;
    if let Observation::ServerProbe {
        load: Some(seen), ..
    } = &e.observation
    {
        return load_probe(e, j, seen);
    }
    let Some(reference) = j.index.get(u, PROBE, crate::registry::reference()) else {
        return Outcome::of(Verdict::Skip, RunFinding::NoReference { kind });
    };
    let Observation::ServerProbe {
        reply: ref_reply,
        server: ref_server,
        wire: ref_wire,
        ..
    } = &reference.observation
    else {
        return Outcome::of(Verdict::Info, ReferenceFinding::DidNotRun { kind });
    };
    let ref_bytes = match ref_reply {
        Reply::Bytes { bytes, .. } if survived(ref_server) => bytes.clone(),
        _ => {
            let how = match (ref_reply, ref_server.exited) {
                (_, Some(exit)) => ReferenceServer::Dies { exit },
                (Reply::Nothing, _) if ref_server.answers == Some(false) => {
                    ReferenceServer::StopsAnsweringEveryone
                }
                (Reply::Nothing, _) => ReferenceServer::DoesNotReply,
                _ => ReferenceServer::NoDefinedAnswer,
            };
            let finding = ReferenceFinding::ServerUndefined {
                how,
                this_kept_answering: Some(survived(server)),
            };
            return Outcome::of(Verdict::Info, finding);
        }
    };
    let got = match reply {
        Reply::Bytes { bytes, .. } => Some(bytes.clone()),
        Reply::Nothing | Reply::Refused => None,
    };
    if let Some(outcome) = non_strict(e, j, &ref_bytes, got.as_deref()) {
        return outcome;
    }
    let finding = if wire
        .events
        .iter()
        .any(|ev| ev.what == WireWhat::DataFromOtherPort)
    {
        Some((ServerFinding::ReplyFromOtherPort, None))
    } else {
        let extra = wire
            .events
            .iter()
            .filter(|ev| ev.what == WireWhat::ExtraDatagram)
            .count();
        if extra > 0 {
            let count = extra + 1;
            Some((ServerFinding::ExtraDatagrams { count }, None))
        } else {
            reply_finding(e, j, &ref_bytes, got.as_deref()).or_else(|| {
                let writes = e.unit.case.input.writes();
                ending_finding(writes, wire, ref_wire).map(|f| (f, None))
            })
        }
    };
    match finding {
        None => Outcome::pass(ref_bytes, got),
        Some((finding, minimal)) => Outcome {
            verdict: Verdict::Fail,
            fault: Some(Fault::Server),
            expected: Some(ref_bytes),
            actual: got,
            finding: Some(finding.into()),
            minimal,
        },
    }
}

/// A server that answers all of a request the reference's buffer cut: `non-strict`.
fn non_strict(e: &Executed, j: &Judge, ref_bytes: &[u8], got: Option<&[u8]>) -> Option<Outcome> {
    let got = got?;
    let request = e.unit.case.request_bytes();
    if !super::non_strict::answers_beyond_buffer(&request, ref_bytes, got, j.unicode) {
        return None;
    }
    let finding = ServerFinding::BeyondReferenceBuffer {
        answered: request.len(),
        reference: (1..request.len())
            .find(|&cut| crate::proto::upper_bytes(&request[..cut], j.unicode) == ref_bytes)
            .unwrap_or(0),
        pieces: e.unit.case.input.writes() > 1,
    };
    Some(Outcome {
        verdict: Verdict::NonStrict,
        fault: Some(Fault::Server),
        expected: Some(ref_bytes.to_vec()),
        actual: Some(got.to_vec()),
        finding: Some(finding.into()),
        minimal: None,
    })
}

/// What is wrong with a server's answer to a probe (`got`, its reply's bytes), if
/// anything: no reply, other bytes, or not surviving the case.
fn reply_finding(
    e: &Executed,
    j: &Judge,
    ref_bytes: &[u8],
    got: Option<&[u8]>,
) -> Option<(ServerFinding, Option<String>)> {
    let Observation::ServerProbe {
        reply,
        server,
        wire,
        ..
    } = &e.observation
    else {
        unreachable!("server probe")
    };
    let Some(bytes) = got else {
        if matches!(
            e.observation,
            Observation::ServerProbe {
                unaccepted: true,
                ..
            }
        ) {
            return Some((ServerFinding::StoppedAccepting, None));
        }
        let finding = match (server.exited, reply) {
            // A TCP server that dies while shout waits closes the connection, which
            // the probe sees; no reply at all means it died once the probe gave up.
            // Another probe of it may have shown what it was waiting for (a newline):
            // that wait is the cause, and whether the death after it is seen before the
            // unit ends depends only on timing.
            (Some(exit), Reply::Nothing) if e.unit.transport == Transport::Tcp => j
                .index
                .waits_for(&e.unit, e.unit.server.name())
                .unwrap_or(ServerFinding::ExitedWhenClientClosed { exit }),
            // The same finding a pairing gives the same death.
            // Nothing reached it: it was gone before the request.
            (Some(exit), _) if !wire.events.iter().any(|ev| ev.from == Peer::Client) => {
                match died(server, exit) {
                    ServerFinding::DiedWithoutReply { exit } => {
                        ServerFinding::DiedBeforeRequest { exit }
                    }
                    other => other,
                }
            }
            (Some(exit), _) => died(server, exit),
            (None, Reply::Refused) => ServerFinding::Refused,
            _ => waiting_for(&e.observation).unwrap_or(ServerFinding::NeverReplied),
        };
        return Some((finding, None));
    };
    if bytes != ref_bytes {
        // A TCP server that died on the request closes the connection as it goes: the
        // probe reads an empty reply, but the death is the finding.
        if let (true, Some(exit)) = (bytes.is_empty(), server.exited) {
            return Some((died(server, exit), None));
        }
        let request = e.unit.case.request_bytes();
        return Some(diagnose_reply(
            &request, ref_bytes, bytes, j.unicode, &j.runtime,
        ));
    }
    if !survived(server) {
        if matches!(
            e.observation,
            Observation::ServerProbe {
                unaccepted: true,
                ..
            }
        ) {
            return Some((ServerFinding::StoppedAccepting, None));
        }
        let finding = match server.exited {
            Some(exit) => ServerFinding::AnsweredThenExited { exit },
            None => ServerFinding::AnsweredThenStopped,
        };
        return Some((finding, None));
    }
    None
}

/// Judges a client probe.
pub(super) fn client_probe(e: &Executed, j: &Judge) -> Outcome {
    let u = &e.unit;
    let Observation::ClientProbe { client, .. } = &e.observation else {
        unreachable!("client probe")
    };
    let kind = UnitKind::ClientProbe;
    let Some(reference) = j.index.get(u, crate::registry::reference(), PROBE) else {
        return Outcome::of(Verdict::Skip, RunFinding::NoReference { kind });
    };
    let Observation::ClientProbe {
        client: ref_client,
        marker,
        ..
    } = &reference.observation
    else {
        return Outcome::of(Verdict::Info, ReferenceFinding::DidNotRun { kind });
    };
    if let Observation::ClientProbe {
        timing: Some(TimingSeen::NoServer),
        ..
    } = &e.observation
    {
        return no_server(client, ref_client);
    }
    if let Some(why) = reference_has_no_answer(ref_client, ReferenceSide::Client) {
        return Outcome::of(Verdict::Info, why);
    }
    let mode = j.ctx.client_output.get(u.client.name());
    let expected = match mode {
        Some(ClientOutput::Pattern(_)) | Some(ClientOutput::Contains) => marker.clone(),
        _ => ref_client.stdout.clone(),
    };
    let actual = client_view(mode, &client.stdout);
    match client_finding(e, reference, j, mode, &expected, actual.as_deref()) {
        None => Outcome::pass(expected, actual),
        Some(finding) => Outcome {
            verdict: Verdict::Fail,
            fault: Some(Fault::Client),
            expected: Some(expected),
            actual,
            finding: Some(Finding::Client(finding)),
            minimal: None,
        },
    }
}

/// What is wrong with a probed client, if anything: what it sent, how much it
/// printed, whether it exited, what it printed, how it ended.
fn client_finding(
    e: &Executed,
    reference: &Executed,
    j: &Judge,
    mode: Option<&ClientOutput>,
    expected: &[u8],
    actual: Option<&[u8]>,
) -> Option<ClientFinding> {
    let (
        Observation::ClientProbe {
            client, received, ..
        },
        Observation::ClientProbe {
            client: ref_client,
            received: ref_received,
            marker,
            ..
        },
    ) = (&e.observation, &reference.observation)
    else {
        unreachable!("client probes")
    };
    if let Observation::ClientProbe {
        timing: Some(timing),
        ..
    } = &e.observation
    {
        if let Some(finding) = late_line_finding(client, timing, received) {
            return Some(finding);
        }
    }
    if in_pieces(&e.observation) && !in_pieces(&reference.observation) {
        return Some(ClientFinding::SentInPieces {
            got: received.len(),
            of: ref_received.len(),
            received: received.clone(),
        });
    }
    if received != ref_received {
        return Some(diagnose_request(ref_received, received, j.unicode));
    }
    if client.stdout_total > client.stdout.len() as u64 {
        let bytes = client.stdout_total;
        return Some(ClientFinding::OutputFlood { bytes });
    }
    if client.exit == Exit::TimedOut {
        return Some(ClientFinding::HungAfterPrinting);
    }
    let contains_mode = matches!(mode, Some(ClientOutput::Contains));
    let shown = if contains_mode {
        actual.is_some_and(|a| contains(a, expected))
    } else {
        actual == Some(expected)
    };
    if !shown {
        let view = actual.unwrap_or_default();
        let reply = reference_reply(e.unit.transport, view);
        return Some(if actual.is_none() {
            ClientFinding::PatternMismatch
        } else if view.is_empty() {
            ClientFinding::PrintedNothing
        } else if !reply.is_empty() && reply.len() < marker.len() && marker.starts_with(&reply) {
            ClientFinding::TruncatesReply
        } else {
            ClientFinding::PrintedInstead {
                printed: view.to_vec(),
                reference: expected.to_vec(),
            }
        });
    }
    if client.exit != ref_client.exit && !contains_mode {
        let exit = client.exit;
        return Some(ClientFinding::Exited { exit });
    }
    None
}

/// Whether a probed client wrote its request in several writes: more than one data
/// segment reached the one read, or more bytes followed it before the client closed.
/// Both are counted, not raced: the verdict does not depend on how quickly the pieces
/// were read.
pub(super) fn in_pieces(o: &Observation) -> bool {
    match o {
        Observation::ClientProbe {
            segments, unread, ..
        } => *segments > 1 || !unread.is_empty(),
        _ => false,
    }
}

/// Judges a client started with nothing listening, against how the reference client
/// ended there.
fn no_server(client: &ProcessOutcome, reference: &ProcessOutcome) -> Outcome {
    if reference.exit == Exit::TimedOut {
        let who = ReferenceSide::Client;
        return Outcome::of(Verdict::Info, ReferenceFinding::Hangs { who });
    }
    match no_server_finding(client, reference) {
        // No reply to compare: what matters is how the client ended.
        None => Outcome::default(),
        Some(finding) => Outcome {
            verdict: Verdict::Fail,
            fault: Some(Fault::Client),
            expected: None,
            actual: None,
            finding: Some(Finding::Client(finding)),
            minimal: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::compare::Context;
    use super::*;
    /// The default reference, which these tests are judged against.
    use crate::registry::PYTHON as REFERENCE;
    use crate::run::testing;
    use crate::run::wire::{Transcript, WireEvent};

    #[test]
    fn a_server_gone_before_the_request_is_not_blamed_on_this_input() {
        let reference = testing::server_probe(Reply::Bytes {
            bytes: b"HELLO".to_vec(),
            reset: false,
        });
        let dead = |events: Vec<WireEvent>| Observation::ServerProbe {
            reply: Reply::Refused,
            wire: Transcript { events },
            server: ServerAfter {
                exited: Some(Exit::Code(1)),
                ..ServerAfter::default()
            },
            answers_with_newline: None,
            answers_with_any_byte: None,
            unaccepted: false,
            load: None,
        };
        let ctx = Context {
            reference_runtime: BTreeMap::new(),
            client_output: BTreeMap::new(),
            unicode: BTreeMap::new(),
            strict_unicode: false,
        };
        let finding = |alice: Observation| {
            let all = [
                testing::executed(testing::unit(PROBE, REFERENCE, "c"), reference.clone()),
                testing::executed(testing::unit(PROBE, "alice", "c"), alice),
            ];
            crate::verdict::judge(&all, &ctx).swap_remove(1).finding
        };
        let exit = Exit::Code(1);
        assert_eq!(
            finding(dead(Vec::new())),
            Some(ServerFinding::DiedBeforeRequest { exit }.into())
        );
        let sent = WireEvent {
            from: Peer::Client,
            at_ms: 1,
            bytes: b"hello".to_vec(),
            what: WireWhat::Data,
        };
        assert_eq!(
            finding(dead(vec![sent])),
            Some(ServerFinding::DiedWithoutReply { exit }.into())
        );
    }

    #[test]
    fn a_death_after_the_probe_gave_up_is_named_by_the_wait_another_probe_showed() {
        let ctx = Context {
            reference_runtime: BTreeMap::new(),
            client_output: BTreeMap::new(),
            unicode: BTreeMap::new(),
            strict_unicode: false,
        };
        let reference = testing::server_probe(Reply::Bytes {
            bytes: b"HELLO".to_vec(),
            reset: false,
        });
        let exit = Exit::Code(1);
        // Silent, then dead once the probe closed the connection.
        let died_after = Observation::ServerProbe {
            reply: Reply::Nothing,
            wire: Transcript {
                events: vec![WireEvent {
                    from: Peer::Client,
                    at_ms: 1,
                    bytes: b"hello".to_vec(),
                    what: WireWhat::Data,
                }],
            },
            server: ServerAfter {
                exited: Some(exit),
                ..ServerAfter::default()
            },
            answers_with_newline: None,
            answers_with_any_byte: None,
            unaccepted: false,
            load: None,
        };
        // Silent until a newline followed the line.
        let waits = Observation::ServerProbe {
            reply: Reply::Nothing,
            wire: Transcript::default(),
            server: ServerAfter::default(),
            answers_with_newline: Some(true),
            answers_with_any_byte: Some(false),
            unaccepted: false,
            load: None,
        };
        let judge = |alice: Vec<(&str, Observation)>| {
            let mut all = vec![
                testing::executed(testing::unit(PROBE, REFERENCE, "c"), reference.clone()),
                testing::executed(testing::unit(PROBE, REFERENCE, "d"), reference.clone()),
            ];
            all.extend(
                alice
                    .into_iter()
                    .map(|(case, o)| testing::executed(testing::unit(PROBE, "alice", case), o)),
            );
            crate::verdict::judge(&all, &ctx).swap_remove(2).finding
        };
        assert_eq!(
            judge(vec![("c", died_after.clone())]),
            Some(ServerFinding::ExitedWhenClientClosed { exit }.into())
        );
        assert_eq!(
            judge(vec![("c", died_after), ("d", waits)]),
            Some(ServerFinding::WaitsForNewline.into())
        );
    }
}

//! Judging a pairing (a real client with a real server): the comparison with the
//! reference pair, the side at fault, and the finding, one named step at a time.

use super::compare::{
    client_view, contains, died, reference_has_no_answer, reference_reply, Judge, Outcome,
};
use super::diagnose::{diagnose_reply, diagnose_request};
use super::finding::{
    ClientFinding, Finding, ReferenceFinding, ReferenceServer, ReferenceSide, RunFinding,
    ServerFinding,
};
use super::model::{Fault, Verdict};
use super::probes::in_pieces;
use crate::plan::{Unit, UnitKind, PROBE};
use crate::proto::Transport;
use crate::registry::ClientOutput;
use crate::run::execute::Executed;
use crate::run::observe::{Observation, ProcessOutcome, ServerAfter};
use crate::run::process::Exit;
use crate::run::wire::{Peer, Transcript, WireWhat};

/// One pairing's observation beside the reference pair's.
struct Pair<'a> {
    unit: &'a Unit,
    client: &'a ProcessOutcome,
    wire: &'a Transcript,
    server: &'a ServerAfter,
    ref_client: &'a ProcessOutcome,
    ref_wire: &'a Transcript,
}

fn pairing_parts(e: &Executed) -> Option<(&ProcessOutcome, &Transcript, &ServerAfter)> {
    match &e.observation {
        Observation::Pairing {
            client,
            wire,
            server,
        } => Some((client, wire, server)),
        _ => None,
    }
}

/// Whether a pairing behaves like the reference pair (the comparison, without diagnosis).
fn pairing_matches(e: &Executed, reference: &ProcessOutcome, j: &Judge) -> bool {
    let Some((client, _, _)) = pairing_parts(e) else {
        return false;
    };
    let mode = j.ctx.client_output.get(e.unit.client.name());
    match mode {
        None | Some(ClientOutput::Reference) => {
            client.stdout == reference.stdout && client.exit == reference.exit
        }
        Some(ClientOutput::Pattern(_)) => {
            client_view(mode, &client.stdout)
                == Some(reference_reply(e.unit.transport, &reference.stdout))
        }
        Some(ClientOutput::Contains) => {
            client.exit != Exit::TimedOut
                && contains(
                    &client.stdout,
                    &reference_reply(e.unit.transport, &reference.stdout),
                )
        }
    }
}

/// Judges a pairing.
pub(super) fn pairing(e: &Executed, j: &Judge) -> Outcome {
    let u = &e.unit;
    let (client, wire, server) = pairing_parts(e).expect("pairing observation");
    let Some(reference) = j.index.get(
        u,
        crate::registry::reference(),
        crate::registry::reference(),
    ) else {
        let kind = UnitKind::Pairing;
        return Outcome::of(Verdict::Skip, RunFinding::NoReference { kind });
    };
    let Some((ref_client, ref_wire, ref_server)) = pairing_parts(reference) else {
        let kind = UnitKind::Pairing;
        return Outcome::of(Verdict::Info, ReferenceFinding::DidNotRun { kind });
    };
    if let Some(why) = reference_has_no_answer(ref_client, ReferenceSide::Pair) {
        return Outcome::of(Verdict::Info, why);
    }
    if let Some(exit) = ref_server.exited {
        let how = ReferenceServer::Dies { exit };
        let finding = ReferenceFinding::ServerUndefined {
            how,
            this_kept_answering: None,
        };
        return Outcome::of(Verdict::Info, finding);
    }
    let mode = j.ctx.client_output.get(u.client.name());
    let expected = match mode {
        Some(ClientOutput::Pattern(_)) | Some(ClientOutput::Contains) => {
            reference_reply(u.transport, &ref_client.stdout)
        }
        _ => ref_client.stdout.clone(),
    };
    let actual = client_view(mode, &client.stdout);
    let flooded = client.stdout_total > client.stdout.len() as u64;
    if let Some(finding) = pieces_against_reference(e, j) {
        return Outcome {
            verdict: Verdict::Fail,
            fault: Some(Fault::Client),
            expected: Some(expected),
            actual,
            finding: Some(Finding::Client(finding)),
            minimal: None,
        };
    }
    if pairing_matches(e, ref_client, j) && !flooded {
        return Outcome::pass(expected, actual);
    }
    let pair = Pair {
        unit: u,
        client,
        wire,
        server,
        ref_client,
        ref_wire,
    };
    let fault = attribute(&pair, j);
    let (finding, minimal) = pair.finding(j, fault, mode, &expected, actual.as_deref());
    Outcome {
        verdict: Verdict::Fail,
        fault: Some(fault),
        expected: Some(expected),
        actual,
        finding: Some(finding),
        minimal,
    }
}

/// A client that writes the request in pieces (its probe on this case counted them)
/// reaches the reference server whole only when the pieces happen to arrive before its
/// one read: whatever a pairing with the reference shows (a whole line by luck, or a
/// part), it is judged as the probe was, so the verdict and its sentence are the same
/// however busy the machine is.
fn pieces_against_reference(e: &Executed, j: &Judge) -> Option<ClientFinding> {
    let u = &e.unit;
    let reference = crate::registry::reference();
    if u.server.name() != reference || u.client.name() == reference {
        return None;
    }
    let probe = j.index.get(u, u.client.name(), PROBE)?;
    let reference = j.index.get(u, reference, PROBE)?;
    if !in_pieces(&probe.observation) || in_pieces(&reference.observation) {
        return None;
    }
    let (
        Observation::ClientProbe { received, .. },
        Observation::ClientProbe { received: line, .. },
    ) = (&probe.observation, &reference.observation)
    else {
        return None;
    };
    Some(ClientFinding::SentInPieces {
        got: received.len(),
        of: line.len(),
        received: received.clone(),
    })
}

/// Attribution: each side with the reference peer, and each side probed alone.
fn attribute(p: &Pair, j: &Judge) -> Fault {
    let u = p.unit;
    let client_ok = j
        .index
        .get(u, u.client.name(), crate::registry::reference())
        .map(|x| pairing_matches(x, p.ref_client, j))
        .unwrap_or(true)
        && same_request(
            j.index.get(u, u.client.name(), PROBE),
            j.index.get(u, crate::registry::reference(), PROBE),
        );
    let server_ok = j
        .index
        .get(u, crate::registry::reference(), u.server.name())
        .map(|x| pairing_matches(x, p.ref_client, j))
        .unwrap_or(true)
        && same_reply(
            j.index.get(u, PROBE, u.server.name()),
            j.index.get(u, PROBE, crate::registry::reference()),
        )
        && survived_probe(j.index.get(u, PROBE, u.server.name()))
        && (p.server.exited.is_none()
            || p.wire.sent_by(Peer::Client) != p.ref_wire.sent_by(Peer::Client));
    match (client_ok, server_ok) {
        (true, true) => Fault::Combination,
        (false, true) => Fault::Client,
        (true, false) => Fault::Server,
        (false, false) => Fault::Both,
    }
}

impl Pair<'_> {
    /// Whether the relay saw the bytes: a client and a server on the same fixed port met
    /// without it, and then only the client's output tells anything.
    fn recorded(&self) -> bool {
        !self.wire.has(Peer::Client, WireWhat::Unrecorded)
    }

    /// What went wrong, in order: the client's output flood, its request, the server's
    /// port, the server's reply, the server's lifetime, the client's lifetime, and last
    /// what the client printed.
    fn finding(
        &self,
        j: &Judge,
        fault: Fault,
        mode: Option<&ClientOutput>,
        expected: &[u8],
        actual: Option<&[u8]>,
    ) -> (Finding, Option<String>) {
        let (client, recorded) = (self.client, self.recorded());
        let request = self.wire.sent_by(Peer::Client);
        if client.stdout_total > client.stdout.len() as u64 {
            let bytes = client.stdout_total;
            return (ClientFinding::OutputFlood { bytes }.into(), None);
        }
        if recorded && request != self.ref_wire.sent_by(Peer::Client) {
            let sent = self.ref_wire.sent_by(Peer::Client);
            return (diagnose_request(&sent, &request, j.unicode).into(), None);
        }
        if recorded && self.wire.events.iter().any(|ev| ev.what == WireWhat::DataFromOtherPort)
            // The reference client accepts replies from any port; a reply from another
            // port only shows when the client is strict about it.
            && client.exit != Exit::Code(0)
        {
            return (ServerFinding::ReplyFromOtherPort.into(), None);
        }
        if recorded && self.reply_differs() {
            let (finding, minimal) = self.reply_finding(j, &request);
            return (finding.into(), minimal);
        }
        if let Some(exit) = self.server.exited {
            return (ServerFinding::ExitedAfterRequest { exit }.into(), None);
        }
        if client.exit == Exit::TimedOut {
            return (ClientFinding::HungAfterReply.into(), None);
        }
        if let Some(pieces) = self.in_pieces(j) {
            return (pieces.into(), None);
        }
        let printed = self.printed_finding(mode, expected, actual);
        if fault == Fault::Server && !recorded {
            // The pair met on a fixed port without the relay: only the client's output
            // shows the server's reply, and the server is the side at fault.
            let finding = ServerFinding::SeenThroughClient { shows: printed };
            return (finding.into(), None);
        }
        (printed.into(), None)
    }

    /// Whether the server's reply differs from the reference server's: other bytes, a
    /// reply where there was none (or none where there was one), or an answer that came
    /// only once the client gave up.
    fn reply_differs(&self) -> bool {
        self.wire.sent_by(Peer::Server) != self.ref_wire.sent_by(Peer::Server)
            || replies(self.wire) != replies(self.ref_wire)
            || self.answered_at_close() && self.client.exit == Exit::TimedOut
    }

    /// Whether the server's reply came only after the client gave up (its time limit
    /// closed it): a server that answers only once the connection closes was waiting for
    /// the end of a line.
    fn answered_at_close(&self) -> bool {
        let gave_up_at = self
            .wire
            .events
            .iter()
            .find(|ev| ev.from == Peer::Client && ev.what == WireWhat::Close)
            .map(|ev| ev.at_ms);
        let answered_in_time = self.wire.events.iter().any(|ev| {
            ev.from == Peer::Server
                && ev.what == WireWhat::Data
                && !ev.bytes.is_empty()
                && gave_up_at.map_or(true, |at| ev.at_ms < at)
        });
        !self.wire.sent_by(Peer::Server).is_empty() && !answered_in_time
    }

    /// What is wrong with the server's reply.
    fn reply_finding(&self, j: &Judge, request: &[u8]) -> (ServerFinding, Option<String>) {
        let u = self.unit;
        let reply = self.wire.sent_by(Peer::Server);
        let answered_at_close = self.answered_at_close();
        // Over TCP a dying server closes the connection, and the reference client stops
        // waiting: a client that ran into its limit was still waiting, so a death came
        // after it gave up (a server reading until a newline dies on the closed
        // connection) and the wait is the cause. Whether the death is seen depends only
        // on timing.
        let died_after_the_wait = u.transport == Transport::Tcp
            && self.client.exit == Exit::TimedOut
            && !request.ends_with(b"\n");
        // A server that died on the request: the client's wait is its symptom.
        if let Some(exit) = self
            .server
            .exited
            .filter(|_| reply.is_empty() && !died_after_the_wait)
        {
            return (died(self.server, exit), None);
        }
        if let Some(pieces) = self.in_pieces(j) {
            return (pieces, None);
        }
        if (reply.is_empty() || answered_at_close) && self.client.exit == Exit::TimedOut {
            let no_newline = u.transport == Transport::Tcp && !request.ends_with(b"\n");
            let finding = if no_newline && answered_at_close {
                // The probe tells a server waiting for a newline from one waiting for
                // any further byte; the close alone does not.
                // Unless a probe showed that a newline does not help, the usual cause:
                // a server reading lines (`readLine`) answers at a newline or at the
                // end of the stream.
                j.index.waits_for(u, u.server.name()).unwrap_or(
                    if j.index.newline_does_not_help(u, u.server.name()) {
                        ServerFinding::WaitsForClose
                    } else {
                        ServerFinding::WaitsForNewline
                    },
                )
            } else if no_newline {
                j.index
                    .waits_for(u, u.server.name())
                    .unwrap_or(ServerFinding::NeverRepliedNorClosed)
            } else {
                ServerFinding::NeverReplied
            };
            return (finding, None);
        }
        let ref_reply = self.ref_wire.sent_by(Peer::Server);
        diagnose_reply(request, &ref_reply, &reply, j.unicode, &j.runtime)
    }

    /// What is wrong with what the client printed (its request and the reply were right).
    fn printed_finding(
        &self,
        mode: Option<&ClientOutput>,
        expected: &[u8],
        actual: Option<&[u8]>,
    ) -> ClientFinding {
        let view = actual.unwrap_or_default();
        let at = expected.iter().zip(view).position(|(a, b)| a != b);
        if view.len() < expected.len() && expected.starts_with(view) && !view.is_empty() {
            let (got, of) = (view.len(), expected.len());
            return ClientFinding::PrintedPart { got, of };
        }
        if self.client.exit != self.ref_client.exit && self.client.stdout == self.ref_client.stdout
        {
            let exit = self.client.exit;
            return ClientFinding::WrongExitAfterRightOutput { exit };
        }
        if actual.is_none() {
            return ClientFinding::PatternMismatch;
        }
        if let Some(found) = self.read_past_one_recv(expected, view) {
            return found;
        }
        // A whole line printed, with less of the reply than the reference client's.
        if let (Some(v), Some(x)) = (view.strip_suffix(b"\n"), expected.strip_suffix(b"\n")) {
            if v.len() < x.len() && x.starts_with(v) && self.client.exit == self.ref_client.exit {
                return ClientFinding::TruncatesReply;
            }
        }
        let (printed, reference) = (view.to_vec(), expected.to_vec());
        if matches!(mode, Some(ClientOutput::Contains)) {
            return ClientFinding::NotContained { printed, reference };
        }
        ClientFinding::PrintedOther {
            printed,
            reference,
            at,
        }
    }
}

impl Pair<'_> {
    /// A TCP server that wrote its reply in several pieces where the reference server
    /// writes one, all of them the start of the reference's reply, and whose probe got
    /// the whole reply: the client's one read took only the first piece.
    fn in_pieces(&self, j: &Judge) -> Option<ServerFinding> {
        let writes = |wire: &Transcript| -> Vec<usize> {
            wire.events
                .iter()
                .filter(|ev| ev.from == Peer::Server && ev.what == WireWhat::Data)
                .map(|ev| ev.bytes.len())
                .filter(|&n| n > 0)
                .collect()
        };
        let (these, reference) = (writes(self.wire), writes(self.ref_wire));
        let u = self.unit;
        let whole = match j.index.get(u, PROBE, u.server.name()) {
            Some(probe) => same_reply(
                Some(probe),
                j.index.get(u, PROBE, crate::registry::reference()),
            ),
            None => false,
        };
        let ref_reply = self.ref_wire.sent_by(Peer::Server);
        (u.transport == Transport::Tcp
            && these.len() > 1
            && reference.len() == 1
            && whole
            && ref_reply.starts_with(&self.wire.sent_by(Peer::Server)))
        .then(|| ServerFinding::ReplyInPieces {
            pieces: these.len(),
            first: these[0],
            of: ref_reply.len(),
        })
    }

    /// A TCP client that printed more of a reply longer than one `recv(1024)` than the
    /// reference client does: what the reference client printed (without its final
    /// newline) begins what it printed.
    fn read_past_one_recv(&self, expected: &[u8], view: &[u8]) -> Option<ClientFinding> {
        let reply = self.wire.sent_by(Peer::Server).len();
        let reply = reply.max(self.ref_wire.sent_by(Peer::Server).len());
        let stem = expected.strip_suffix(b"\n").unwrap_or(expected);
        (self.unit.transport == Transport::Tcp
            && reply > TCP_RECV
            && view.len() > expected.len()
            && view.starts_with(stem))
        .then_some(ClientFinding::ReadPastOneRecv {
            reply,
            recv: TCP_RECV,
        })
    }
}

/// The reference TCP client's one read.
const TCP_RECV: usize = 1024;

/// Whether a client probe recorded the same request bytes as the reference client's.
fn same_request(this: Option<&Executed>, reference: Option<&Executed>) -> bool {
    match (
        this.map(|e| &e.observation),
        reference.map(|e| &e.observation),
    ) {
        (
            Some(Observation::ClientProbe { received: a, .. }),
            Some(Observation::ClientProbe { received: b, .. }),
        ) => a == b,
        _ => true,
    }
}

/// Whether a server probe got the same reply as the reference server's.
fn same_reply(this: Option<&Executed>, reference: Option<&Executed>) -> bool {
    match (
        this.map(|e| &e.observation),
        reference.map(|e| &e.observation),
    ) {
        (
            Some(Observation::ServerProbe { reply: a, .. }),
            Some(Observation::ServerProbe { reply: b, .. }),
        ) => a == b,
        _ => true,
    }
}

/// Whether the server sent anything at all: an empty UDP datagram is a reply, so an
/// empty reply and no reply differ though both carry no bytes.
fn replies(wire: &Transcript) -> bool {
    wire.events
        .iter()
        .any(|ev| ev.from == Peer::Server && ev.what.is_data())
}

/// Whether a server probe found the server still answering after the case (the
/// reference server survives every case a pairing is judged on).
fn survived_probe(probe: Option<&Executed>) -> bool {
    match probe.map(|e| &e.observation) {
        Some(Observation::ServerProbe { server, .. }) => {
            server.exited.is_none() && server.answers != Some(false)
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::compare::{Context, Judged};
    use super::*;
    /// The default reference, which these tests are judged against.
    use crate::registry::PYTHON as REFERENCE;
    use crate::run::observe::Reply;
    use crate::run::testing;
    use crate::run::wire::WireEvent;

    const LINE: &[u8] = b"hello";
    const OUT: &[u8] = b"Input lowercase sentence:From Server:  HELLO\n";

    fn ev(from: Peer, at_ms: u64, bytes: &[u8], what: WireWhat) -> WireEvent {
        WireEvent {
            from,
            at_ms,
            bytes: bytes.to_vec(),
            what,
        }
    }

    fn pairing(
        client: &str,
        server: &str,
        stdout: &[u8],
        exit: Exit,
        events: Vec<WireEvent>,
        after: ServerAfter,
    ) -> Executed {
        let mut outcome = testing::client(exit);
        outcome.stdout = stdout.to_vec();
        outcome.stdout_total = stdout.len() as u64;
        let observation = Observation::Pairing {
            client: outcome,
            wire: Transcript { events },
            server: after,
        };
        testing::executed(testing::unit(client, server, "c"), observation)
    }

    /// The reference pair's run, the two probes of the servers (`alice` answering
    /// `alice_probe`), and `alice`'s pairing with the reference client, judged.
    fn judged(alice: Executed, alice_probe: Observation) -> Judged {
        let reference = pairing(
            REFERENCE,
            REFERENCE,
            OUT,
            Exit::Code(0),
            vec![
                ev(Peer::Client, 1, LINE, WireWhat::Data),
                ev(Peer::Server, 2, b"HELLO", WireWhat::Data),
                ev(Peer::Server, 3, b"", WireWhat::Close),
            ],
            ServerAfter::default(),
        );
        let whole = testing::server_probe(Reply::Bytes {
            bytes: b"HELLO".to_vec(),
            reset: false,
        });
        let probes = [
            testing::executed(testing::unit(PROBE, REFERENCE, "c"), whole),
            testing::executed(testing::unit(PROBE, "alice", "c"), alice_probe),
        ];
        let ctx = Context {
            reference_runtime: BTreeMap::new(),
            client_output: BTreeMap::new(),
            unicode: BTreeMap::new(),
            strict_unicode: false,
        };
        let mut all = vec![reference, alice];
        all.extend(probes);
        crate::verdict::judge(&all, &ctx).swap_remove(1)
    }

    fn whole_reply() -> Observation {
        testing::server_probe(Reply::Bytes {
            bytes: b"HELLO".to_vec(),
            reset: false,
        })
    }

    fn finding(j: &Judged) -> ServerFinding {
        match &j.finding {
            Some(Finding::Server(f)) => f.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_whole_reply_written_in_pieces_is_named_as_pieces_not_as_too_little() {
        let events = |rest: bool| {
            let mut e = vec![
                ev(Peer::Client, 1, LINE, WireWhat::Data),
                ev(Peer::Server, 2, b"HE", WireWhat::Data),
                ev(Peer::Server, 2, b"L", WireWhat::Data),
                ev(Peer::Client, 3, b"", WireWhat::Close),
            ];
            if rest {
                e.push(ev(Peer::Server, 12, b"LO", WireWhat::Data));
            }
            e
        };
        let printed = b"Input lowercase sentence:From Server:  HE\n";
        // Every piece reached the relay (the client printed part), or only the first
        // two (the later ones met a closed connection).
        for rest in [true, false] {
            let after = ServerAfter::default();
            let alice = pairing(
                REFERENCE,
                "alice",
                printed,
                Exit::Code(0),
                events(rest),
                after,
            );
            let j = judged(alice, whole_reply());
            assert!(
                matches!(
                    finding(&j),
                    ServerFinding::ReplyInPieces {
                        first: 2,
                        of: 5,
                        ..
                    }
                ),
                "{:?}",
                j.finding
            );
        }
    }

    /// The reference client paired with a server that answered only once the client had
    /// closed its side, and the client timed out waiting.
    fn answered_at_the_close() -> Executed {
        pairing(
            REFERENCE,
            "alice",
            b"Input lowercase sentence:",
            Exit::TimedOut,
            vec![
                ev(Peer::Client, 1, LINE, WireWhat::Data),
                ev(Peer::Client, 3000, b"", WireWhat::Close),
                ev(Peer::Server, 3001, b"HELLO", WireWhat::Data),
            ],
            ServerAfter::default(),
        )
    }

    #[test]
    fn a_server_that_answers_when_the_client_closes_waits_for_the_close_not_a_newline() {
        let alice = answered_at_the_close();
        // Its probe: no reply to the line, nor to the line with a newline.
        let probe = match testing::server_probe(Reply::Nothing) {
            Observation::ServerProbe {
                reply,
                wire,
                server,
                answers_with_any_byte,
                load,
                ..
            } => Observation::ServerProbe {
                reply,
                wire,
                server,
                answers_with_newline: Some(false),
                answers_with_any_byte,
                unaccepted: false,
                load,
            },
            other => other,
        };
        let j = judged(alice, probe);
        assert_eq!(finding(&j), ServerFinding::WaitsForClose);
    }

    #[test]
    fn a_server_that_answers_at_the_close_with_no_probe_evidence_reads_lines() {
        // The textbook Java server: `readLine` answers at the end of the stream, and it
        // died before any probe could try a newline.
        let alice = answered_at_the_close();
        let j = judged(alice, testing::server_probe(Reply::Nothing));
        assert_eq!(finding(&j), ServerFinding::WaitsForNewline);
    }

    #[test]
    fn a_crash_on_writing_to_a_client_gone_before_is_not_blamed_on_this_input() {
        let crashed = |stderr: &str| ServerAfter {
            exited: Some(Exit::Code(1)),
            stderr_tail: stderr.into(),
            ..ServerAfter::default()
        };
        let events = || {
            vec![
                ev(Peer::Client, 1, LINE, WireWhat::Data),
                ev(Peer::Server, 2, b"", WireWhat::Reset),
            ]
        };
        let printed = b"Input lowercase sentence:From Server:  \n";
        let gone = crashed("BrokenPipeError: [Errno 32] Broken pipe");
        let alice = pairing(REFERENCE, "alice", printed, Exit::Code(0), events(), gone);
        let j = judged(alice, whole_reply());
        let exit = Exit::Code(1);
        assert_eq!(finding(&j), ServerFinding::DiedWritingToGoneClient { exit });
        let other = crashed("UnicodeDecodeError: 'ascii' codec can't decode");
        let alice = pairing(REFERENCE, "alice", printed, Exit::Code(0), events(), other);
        let j = judged(alice, whole_reply());
        assert_eq!(finding(&j), ServerFinding::DiedWithoutReply { exit });
    }
}

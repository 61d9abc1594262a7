//! Judging: each observation against the reference's observation of the same case, and
//! failures attributed by looking at each side's result with the reference peer.

use std::collections::BTreeMap;

use super::diagnose::{diagnose_reply, diagnose_request, escape};
use super::model::{Fault, Verdict};
use crate::plan::Unit;
use crate::proto::case::UnicodeVersion;
use crate::proto::Transport;
use crate::registry::{ClientOutput, REFERENCE};
use crate::run::execute::Executed;
use crate::run::observe::{NotRunReason, Observation, ProcessOutcome, Reply};
use crate::run::process::Exit;
use crate::run::wire::{Peer, WireWhat};

/// What judging needs to know about each axis.
#[derive(Debug, Clone)]
pub struct Context {
    /// Per axis label: the reference interpreter's `major.minor` and Unicode version.
    pub python: BTreeMap<Option<String>, (String, UnicodeVersion)>,
    /// How each implementation's client output is compared, by name.
    pub client_output: BTreeMap<String, ClientOutput>,
}

/// A unit with its verdict.
#[derive(Debug, Clone)]
pub struct Judged {
    /// The unit and its observation.
    pub executed: Executed,
    /// The verdict.
    pub verdict: Verdict,
    /// For failures: who is at fault.
    pub fault: Option<Fault>,
    /// What the reference did (client stdout, or server reply).
    pub expected: Option<Vec<u8>>,
    /// What this unit did, in the same terms.
    pub actual: Option<Vec<u8>>,
    /// One sentence: why it failed, or why it is info or skip.
    pub diagnosis: Option<String>,
    /// The smallest input that still shows the difference, when known.
    pub minimal: Option<String>,
}

type Key = (Option<String>, Transport, String, String, String);

fn key(u: &Unit, client: &str, server: &str) -> Key {
    (
        u.axis.clone(),
        u.transport,
        client.to_string(),
        server.to_string(),
        u.case.name.clone(),
    )
}

struct Index<'a> {
    by_key: BTreeMap<Key, &'a Executed>,
}

impl<'a> Index<'a> {
    fn get(&self, u: &Unit, client: &str, server: &str) -> Option<&'a Executed> {
        self.by_key.get(&key(u, client, server)).copied()
    }
}

/// Judges every executed unit.
pub fn judge(executed: &[Executed], ctx: &Context) -> Vec<Judged> {
    let index = Index {
        by_key: executed
            .iter()
            .map(|e| (key(&e.unit, e.unit.client.name(), e.unit.server.name()), e))
            .collect(),
    };
    executed.iter().map(|e| judge_one(e, &index, ctx)).collect()
}

fn outcome(v: Verdict, diagnosis: impl Into<String>) -> Outcome {
    Outcome {
        verdict: v,
        diagnosis: Some(diagnosis.into()),
        ..Outcome::default()
    }
}

#[derive(Default)]
struct Outcome {
    verdict: Verdict,
    fault: Option<Fault>,
    expected: Option<Vec<u8>>,
    actual: Option<Vec<u8>>,
    diagnosis: Option<String>,
    minimal: Option<String>,
}

/// The diagnosis of a server that ran into its process limit.
const FORK_DIAGNOSIS: &str =
    "server started too many processes (it ran into its process limit); it was stopped";

fn judge_one(e: &Executed, index: &Index, ctx: &Context) -> Judged {
    let (python, unicode) = ctx
        .python
        .get(&e.unit.axis)
        .cloned()
        .unwrap_or_else(|| ("3".into(), UnicodeVersion::DEFAULT));
    let mut o = match &e.observation {
        Observation::NotRun { reason } => not_run(reason),
        Observation::Pairing { .. } => pairing(e, index, ctx, &python, unicode),
        Observation::ServerProbe { .. } => server_probe(e, index, &python, unicode),
        Observation::ClientProbe { .. } => client_probe(e, index, ctx, unicode),
    };
    // A runaway fork explains whatever else went wrong (no reply, a crash, a reset).
    let forked = match &e.observation {
        Observation::Pairing { server, .. } | Observation::ServerProbe { server, .. } => {
            server.process_limit
        }
        Observation::ClientProbe { .. } | Observation::NotRun { .. } => false,
    };
    if forked && o.verdict == Verdict::Fail {
        o.fault = Some(Fault::Server);
        o.diagnosis = Some(FORK_DIAGNOSIS.into());
        o.minimal = None;
    }
    Judged {
        executed: e.clone(),
        verdict: o.verdict,
        fault: o.fault,
        expected: o.expected,
        actual: o.actual,
        diagnosis: o.diagnosis,
        minimal: o.minimal,
    }
}

fn not_run(reason: &NotRunReason) -> Outcome {
    match reason {
        NotRunReason::BuildFailed(m) => Outcome {
            fault: None,
            ..outcome(Verdict::Fail, format!("build failed: {m}"))
        },
        NotRunReason::ServerNotReady(m) => Outcome {
            fault: Some(Fault::Server),
            ..outcome(
                Verdict::Fail,
                format!("server never started listening: {m}"),
            )
        },
        NotRunReason::SpawnFailed(m) => outcome(
            Verdict::Skip,
            format!("{}{m}", super::model::PROGRAM_MISSING),
        ),
        NotRunReason::RunTimedOut => outcome(Verdict::Skip, super::model::RUN_TIMED_OUT),
        NotRunReason::ProcessLimit => Outcome {
            fault: Some(Fault::Server),
            ..outcome(Verdict::Fail, FORK_DIAGNOSIS)
        },
        NotRunReason::ReferenceUndefined => outcome(
            Verdict::Info,
            "not run: the reference itself gives no answer on this case",
        ),
    }
}

fn reference_has_no_answer(client: &ProcessOutcome) -> Option<String> {
    match client.exit {
        Exit::Code(0) => None,
        Exit::TimedOut => {
            Some("the reference pair hangs on this input (no reply within the time limit)".into())
        }
        other => Some(format!(
            "the reference pair fails on this input ({other}){}",
            client
                .stderr_tail
                .lines()
                .last()
                .map(|l| format!(": {}", l.trim()))
                .unwrap_or_default()
        )),
    }
}

/// The reply part of a client's stdout, under `mode` (the whole stdout for `reference`).
fn client_view(mode: Option<&ClientOutput>, stdout: &[u8]) -> Option<Vec<u8>> {
    match mode {
        None | Some(ClientOutput::Reference) | Some(ClientOutput::Contains) => {
            Some(stdout.to_vec())
        }
        Some(ClientOutput::Pattern(re)) => re
            .captures(stdout)
            .and_then(|c| c.get(1))
            .map(|m| m.as_bytes().to_vec()),
    }
}

/// Whether `needle` occurs in `haystack`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// The reply inside a reference client's stdout (prompt, TCP prefix and newline removed).
fn reference_reply(transport: Transport, stdout: &[u8]) -> Vec<u8> {
    let s = stdout
        .strip_prefix(crate::roles::PROMPT.as_bytes())
        .unwrap_or(stdout);
    let s = match transport {
        Transport::Tcp => s
            .strip_prefix(crate::roles::TCP_REPLY_PREFIX.as_bytes())
            .unwrap_or(s),
        Transport::Udp => s,
    };
    s.strip_suffix(b"\n").unwrap_or(s).to_vec()
}

fn pairing_parts(
    e: &Executed,
) -> Option<(
    &ProcessOutcome,
    &crate::run::wire::Transcript,
    &crate::run::observe::ServerAfter,
)> {
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
fn pairing_matches(e: &Executed, reference: &ProcessOutcome, ctx: &Context) -> bool {
    let Some((client, _, _)) = pairing_parts(e) else {
        return false;
    };
    let mode = ctx.client_output.get(e.unit.client.name());
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

fn pairing(
    e: &Executed,
    index: &Index,
    ctx: &Context,
    python: &str,
    unicode: UnicodeVersion,
) -> Outcome {
    let u = &e.unit;
    let (client, wire, server_after) = pairing_parts(e).expect("pairing observation");
    let Some(reference) = index.get(u, REFERENCE, REFERENCE) else {
        return outcome(
            Verdict::Skip,
            "no reference pair for this case (the reference implementation has no such role)",
        );
    };
    let Some((ref_client, ref_wire, ref_server)) = pairing_parts(reference) else {
        return outcome(Verdict::Info, "the reference pair did not run on this case");
    };
    if let Some(why) = reference_has_no_answer(ref_client) {
        return outcome(Verdict::Info, why);
    }
    if let Some(exit) = ref_server.exited {
        return outcome(
            Verdict::Info,
            format!("the reference server dies on this input ({exit})"),
        );
    }
    let mode = ctx.client_output.get(u.client.name());
    let expected = match mode {
        Some(ClientOutput::Pattern(_)) | Some(ClientOutput::Contains) => {
            reference_reply(u.transport, &ref_client.stdout)
        }
        _ => ref_client.stdout.clone(),
    };
    let actual = client_view(mode, &client.stdout);
    if pairing_matches(e, ref_client, ctx) && !client.stdout_total.gt(&(client.stdout.len() as u64))
    {
        return Outcome {
            expected: Some(expected),
            actual,
            ..Outcome::default()
        };
    }
    // Attribution: each side with the reference peer, and each side probed alone.
    let probe = crate::plan::PROBE;
    let client_ok = index
        .get(u, u.client.name(), REFERENCE)
        .map(|x| pairing_matches(x, ref_client, ctx))
        .unwrap_or(true)
        && same_request(
            index.get(u, u.client.name(), probe),
            index.get(u, REFERENCE, probe),
        );
    let server_ok = index
        .get(u, REFERENCE, u.server.name())
        .map(|x| pairing_matches(x, ref_client, ctx))
        .unwrap_or(true)
        && same_reply(
            index.get(u, probe, u.server.name()),
            index.get(u, probe, REFERENCE),
        )
        && survived_probe(index.get(u, probe, u.server.name()))
        && (server_after.exited.is_none()
            || wire.sent_by(Peer::Client) != ref_wire.sent_by(Peer::Client));
    let fault = match (client_ok, server_ok) {
        (true, true) => Fault::Combination,
        (false, true) => Fault::Client,
        (true, false) => Fault::Server,
        (false, false) => Fault::Both,
    };
    // A client and a server on the same fixed port met without the relay: no bytes.
    let recorded = !wire.has(Peer::Client, WireWhat::Unrecorded);
    let request = wire.sent_by(Peer::Client);
    let ref_request = ref_wire.sent_by(Peer::Client);
    let reply = wire.sent_by(Peer::Server);
    let ref_reply = ref_wire.sent_by(Peer::Server);
    // What the server sent before the client gave up (its time limit closed it): a server
    // that answers only once the connection closes was waiting for the end of a line.
    let gave_up_at = wire
        .events
        .iter()
        .find(|ev| ev.from == Peer::Client && ev.what == WireWhat::Close)
        .map(|ev| ev.at_ms);
    let answered_in_time = wire.events.iter().any(|ev| {
        ev.from == Peer::Server
            && ev.what == WireWhat::Data
            && !ev.bytes.is_empty()
            && gave_up_at.map_or(true, |at| ev.at_ms < at)
    });
    let answered_at_close = !reply.is_empty() && !answered_in_time;
    let (diagnosis, minimal) = if client.stdout_total > client.stdout.len() as u64 {
        (
            format!(
                "client printed {} bytes, far more than the reply (output flood)",
                client.stdout_total
            ),
            None,
        )
    } else if recorded && request != ref_request {
        (diagnose_request(&ref_request, &request, unicode), None)
    } else if recorded
        && wire
            .events
            .iter()
            .any(|ev| ev.what == WireWhat::DataFromOtherPort)
        && !client_ok_with_other_port(client)
    {
        (
            "server replied from a different port than it listens on".to_string(),
            None,
        )
    } else if recorded
        && (reply != ref_reply
            || replies(wire) != replies(ref_wire)
            || answered_at_close && client.exit == Exit::TimedOut)
    {
        if (reply.is_empty() || answered_at_close) && client.exit == Exit::TimedOut {
            let sentence = if u.transport == Transport::Tcp
                && !request.ends_with(b"\n")
                && answered_at_close
            {
                NEWLINE_DEADLOCK.to_string()
            } else if u.transport == Transport::Tcp && !request.ends_with(b"\n") {
                match index
                    .get(u, crate::plan::PROBE, u.server.name())
                    .and_then(|p| waiting_for(&p.observation))
                {
                    Some(sentence) => sentence.to_string(),
                    None => "server never replied and never closed the connection: it waits for more input (deadlock)".to_string(),
                }
            } else {
                "server never replied".to_string()
            };
            (sentence, None)
        } else if let Some(exit) = server_after.exited.filter(|_| reply.is_empty()) {
            (
                format!("server died on this input ({exit}) without replying"),
                None,
            )
        } else {
            diagnose_reply(&request, &ref_reply, &reply, unicode, python)
        }
    } else if let Some(exit) = server_after.exited {
        (
            format!("server exited after this request ({exit}); the reference keeps serving"),
            None,
        )
    } else if client.exit == Exit::TimedOut {
        (
            "client never exited after the reply arrived".to_string(),
            None,
        )
    } else {
        let at = expected
            .iter()
            .zip(actual.as_deref().unwrap_or_default())
            .position(|(a, b)| a != b);
        let view = actual.clone().unwrap_or_default();
        let sentence = if view.len() < expected.len()
            && expected.starts_with(&view)
            && !view.is_empty()
        {
            format!("client printed only {} of the {} bytes the reference client prints (truncated reply)", view.len(), expected.len())
        } else if client.exit != ref_client.exit && client.stdout == ref_client.stdout {
            format!(
                "client printed the right output but ended with {}; the reference client exits 0",
                client.exit
            )
        } else if actual.is_none() {
            "client output does not match the implementation's client-output pattern".to_string()
        } else if matches!(mode, Some(ClientOutput::Contains)) {
            format!(
                "client printed `{}`, which does not contain the reference reply `{}`",
                escape(&view),
                escape(&expected)
            )
        } else {
            format!(
                "client printed `{}` where the reference client prints `{}`{}",
                escape(&view),
                escape(&expected),
                at.map(|a| format!(" (first difference at byte {a})"))
                    .unwrap_or_default()
            )
        };
        if fault == Fault::Server && !recorded {
            // The pair met on a fixed port without the relay: only the client's output
            // shows the server's reply, and the server is the side at fault.
            (
                format!("server's reply differs from the reference server's, as this client's output shows: {sentence}"),
                None,
            )
        } else {
            (sentence, None)
        }
    };
    Outcome {
        verdict: Verdict::Fail,
        fault: Some(fault),
        expected: Some(expected),
        actual,
        diagnosis: Some(diagnosis),
        minimal,
    }
}

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

/// What a TCP server that left a line unanswered waits for, as its probe found out:
/// a newline, or any further byte (it reads until a short read or a fixed length).
fn waiting_for(probe: &Observation) -> Option<&'static str> {
    match probe {
        Observation::ServerProbe {
            answers_with_newline: Some(true),
            answers_with_any_byte,
            ..
        } => Some(if *answers_with_any_byte == Some(true) {
            "server waits for more bytes than the request holds: it answered only once another byte came, newline or not, so it reads until a short read or a fixed length instead of once (deadlock)"
        } else {
            NEWLINE_DEADLOCK
        }),
        _ => None,
    }
}

/// A TCP server that answers only a line ending in `\n`.
const NEWLINE_DEADLOCK: &str =
    "server waits for a newline that the reference client never sends (deadlock)";

/// Whether the server sent anything at all: an empty UDP datagram is a reply, so an
/// empty reply and no reply differ though both carry no bytes.
fn replies(wire: &crate::run::wire::Transcript) -> bool {
    wire.events.iter().any(|ev| {
        ev.from == Peer::Server
            && (ev.what == WireWhat::Data || ev.what == WireWhat::DataFromOtherPort)
    })
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

/// The reference client accepts replies from any port; a reply from another port only
/// shows when the client is strict about it.
fn client_ok_with_other_port(client: &ProcessOutcome) -> bool {
    client.exit == Exit::Code(0)
}

fn server_probe(e: &Executed, index: &Index, python: &str, unicode: UnicodeVersion) -> Outcome {
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
    let Some(reference) = index.get(u, crate::plan::PROBE, REFERENCE) else {
        return outcome(Verdict::Skip, "no reference server probe for this case");
    };
    let Observation::ServerProbe {
        reply: ref_reply,
        server: ref_server,
        ..
    } = &reference.observation
    else {
        return outcome(
            Verdict::Info,
            "the reference server did not run on this case",
        );
    };
    let survived = server.exited.is_none() && server.answers != Some(false);
    let ref_bytes = match ref_reply {
        Reply::Bytes { bytes, .. }
            if ref_server.exited.is_none() && ref_server.answers != Some(false) =>
        {
            bytes.clone()
        }
        _ => {
            let what = match (ref_reply, ref_server.exited) {
                (_, Some(exit)) => format!("the reference server dies on this input ({exit})"),
                (Reply::Nothing, _) if ref_server.answers == Some(false) => {
                    "the reference server stops answering everyone during this case".to_string()
                }
                (Reply::Nothing, _) => {
                    "the reference server does not reply to this input".to_string()
                }
                _ => "the reference server has no defined answer".to_string(),
            };
            let this = if survived {
                "this server kept answering"
            } else {
                "this server stopped answering too"
            };
            return outcome(Verdict::Info, format!("{what}; {this}"));
        }
    };
    let request = u.case.request_bytes();
    let got = match reply {
        Reply::Bytes { bytes, .. } => Some(bytes.clone()),
        Reply::Nothing | Reply::Refused => None,
    };
    let fail = |diagnosis: String, minimal: Option<String>| Outcome {
        verdict: Verdict::Fail,
        fault: Some(Fault::Server),
        expected: Some(ref_bytes.clone()),
        actual: got.clone(),
        diagnosis: Some(diagnosis),
        minimal,
    };
    if wire
        .events
        .iter()
        .any(|ev| ev.what == WireWhat::DataFromOtherPort)
    {
        return fail(
            "server replied from a different port than it listens on".into(),
            None,
        );
    }
    let extra = wire
        .events
        .iter()
        .filter(|ev| ev.what == WireWhat::ExtraDatagram)
        .count();
    if extra > 0 {
        return fail(
            format!(
                "server sent {} datagrams for one request; the reference sends exactly one reply",
                extra + 1
            ),
            None,
        );
    }
    match &got {
        None => {
            let sentence = match (server.exited, reply) {
                // A TCP server that dies while shout waits closes the connection, which
                // the probe sees; no reply at all means it died once the probe gave up.
                (Some(exit), Reply::Nothing) if u.transport == Transport::Tcp => format!(
                    "server never replied within the time limit, and exited ({exit}) when shout's client closed the connection: it waits for more input, such as a newline the reference client never sends"
                ),
                (Some(exit), _) => format!("server died on this input ({exit})"),
                (None, Reply::Refused) => "server refused or reset the connection".into(),
                _ => waiting_for(&e.observation)
                    .unwrap_or("server never replied")
                    .to_string(),
            };
            fail(sentence, None)
        }
        Some(bytes) if *bytes != ref_bytes => {
            let (d, m) = diagnose_reply(&request, &ref_bytes, bytes, unicode, python);
            fail(d, m)
        }
        Some(_) if !survived => fail(
            match server.exited {
                Some(exit) => {
                    format!("server answered, then exited ({exit}); the reference keeps serving")
                }
                None => "server answered, then stopped answering other requests".into(),
            },
            None,
        ),
        Some(_) => Outcome {
            expected: Some(ref_bytes),
            actual: got,
            ..Outcome::default()
        },
    }
}

fn client_probe(e: &Executed, index: &Index, ctx: &Context, unicode: UnicodeVersion) -> Outcome {
    let u = &e.unit;
    let Observation::ClientProbe {
        client,
        received,
        unread,
        ..
    } = &e.observation
    else {
        unreachable!("client probe")
    };
    let Some(reference) = index.get(u, REFERENCE, crate::plan::PROBE) else {
        return outcome(Verdict::Skip, "no reference client probe for this case");
    };
    let Observation::ClientProbe {
        client: ref_client,
        received: ref_received,
        marker,
        ..
    } = &reference.observation
    else {
        return outcome(
            Verdict::Info,
            "the reference client did not run on this case",
        );
    };
    if let Some(why) = reference_has_no_answer(ref_client) {
        return outcome(
            Verdict::Info,
            why.replace("reference pair", "reference client"),
        );
    }
    let mode = ctx.client_output.get(u.client.name());
    let expected = match mode {
        Some(ClientOutput::Pattern(_)) | Some(ClientOutput::Contains) => marker.clone(),
        _ => ref_client.stdout.clone(),
    };
    let contains_mode = matches!(mode, Some(ClientOutput::Contains));
    let actual = client_view(mode, &client.stdout);
    let fail = |d: String| Outcome {
        verdict: Verdict::Fail,
        fault: Some(Fault::Client),
        expected: Some(expected.clone()),
        actual: actual.clone(),
        diagnosis: Some(d),
        minimal: None,
    };
    if received != ref_received {
        if !unread.is_empty() {
            return fail(format!(
                "client sent the line in several writes, the first carrying only {} of the line's {} bytes: a server that reads once, as the reference does, gets only `{}`",
                received.len(),
                ref_received.len(),
                escape(received)
            ));
        }
        return fail(diagnose_request(ref_received, received, unicode));
    }
    if client.stdout_total > client.stdout.len() as u64 {
        return fail(format!(
            "client printed {} bytes, far more than the reply (output flood)",
            client.stdout_total
        ));
    }
    if client.exit == Exit::TimedOut {
        return fail("client never exited after printing the reply".into());
    }
    let shown = if contains_mode {
        actual.as_deref().is_some_and(|a| contains(a, &expected))
    } else {
        actual.as_deref() == Some(&expected[..])
    };
    if !shown {
        let view = actual.clone().unwrap_or_default();
        let reply = reference_reply(u.transport, &view);
        return fail(if actual.is_none() {
            "client output does not match the implementation's client-output pattern".into()
        } else if view.is_empty() {
            "client printed nothing".into()
        } else if !reply.is_empty() && reply.len() < marker.len() && marker.starts_with(&reply) {
            "client truncates the reply it prints".into()
        } else {
            format!(
                "client printed `{}`; the reference client prints `{}`",
                escape(&view),
                escape(&expected)
            )
        });
    }
    if client.exit != ref_client.exit && !contains_mode {
        return fail(format!(
            "client ended with {}; the reference client exits 0",
            client.exit
        ));
    }
    Outcome {
        expected: Some(expected),
        actual,
        ..Outcome::default()
    }
}

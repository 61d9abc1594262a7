//! The harness's probes as units: a server probe (the harness as the client, then asking
//! whether the server still serves and what frames a line for it) and a client probe
//! (the harness as the server, through the recording server). It turns exchanges into
//! observations; it never judges them, and never starts or stops a server.

use std::net::{Ipv4Addr, TcpStream};
use std::time::Duration;

use super::context::{client_role, spawn_failed, stdin_of, Context};
use super::load;
use super::observe::{LoadSeen, NotRunReason, Observation, ProcessOutcome, Reply, TimingSeen};
use super::peer::{healthy, probe_exchange, RecordingServer, MARKER};
use super::process::Running;
use super::server::Instance;
use super::sockdiag;
use super::timing;
use super::wire::Transcript;
use crate::corpus::{Input, Load, Timing};
use crate::plan::{Unit, PROBE};
use crate::proto::Transport;

/// Probes `server` with `unit`'s case, within `unit_limit` (shorter for a server that
/// keeps not answering the probe).
pub(super) fn server_probe(
    unit: &Unit,
    server: &mut Instance,
    unit_limit: Duration,
) -> Observation {
    let timeout = server.limit(PROBE, unit_limit);
    if let Input::Load(load) = unit.case.input {
        return load_probe(unit, server, load, timeout);
    }
    let (reply, wire, answers_while) = first_exchange(unit, server, timeout);
    server.answered(PROBE, !matches!(reply, Reply::Nothing));
    // A connection still waiting in the kernel's queue: the server is not accepting.
    // (Not after a silent connection: a serial server is busy with it, not refusing.)
    let queued = |server: &Instance| {
        unit.transport == Transport::Tcp
            && unit.case.input != Input::Silent
            && sockdiag::accept_queue(server.port).is_some_and(|n| n > 0)
    };
    let mut unaccepted = matches!(reply, Reply::Nothing | Reply::Refused) && queued(server);
    let answers_with_newline = answers_with_newline(unit, server, &reply, timeout);
    let answers_with_any_byte = answers_with_any_byte(unit, server, answers_with_newline, timeout);
    let mut state = server.after();
    state.answers = Some(match answers_while {
        Some(a) => a,
        None => {
            state.exited.is_none()
                && healthy(unit.transport, server.port, timeout, &mut server.process)
        }
    });
    if state.exited.is_none() && state.answers == Some(false) {
        // The check's connection may wait unaccepted (looked at while the server lives).
        unaccepted |= queued(server);
        // A server that stopped answering may be crashing: give it a moment to be seen
        // dead rather than merely silent.
        state.exited = server.process.wait_timeout(server.dying);
    }
    Observation::ServerProbe {
        reply,
        wire,
        server: state,
        answers_with_newline,
        answers_with_any_byte,
        unaccepted,
        load: None,
    }
}

/// A load case: clients at once, or requests in a row; then whether the server still
/// serves. A server that stopped serving under the load is retired, so that the next
/// unit gets a fresh one rather than a silent one.
fn load_probe(unit: &Unit, server: &mut Instance, load: Load, timeout: Duration) -> Observation {
    let (port, pid) = (server.port, server.process.pid());
    let seen = match load {
        Load::Concurrent(n) => load::concurrent(unit.transport, port, n, timeout),
        Load::Volume(n) => load::volume(unit.transport, port, n, timeout, pid),
        Load::Addresses => load::addresses(unit.transport, port, timeout),
        Load::Late(ms) => load::late(port, Duration::from_millis(ms), timeout),
    };
    let answered = match &seen {
        LoadSeen::Concurrent { exchanges, .. } => exchanges.first().filter(|x| x.answered),
        LoadSeen::Addresses { exchanges } => {
            exchanges.iter().map(|a| &a.exchange).find(|x| x.answered)
        }
        LoadSeen::Late { exchange, .. } => Some(exchange).filter(|x| x.answered),
        LoadSeen::Volume { .. } => None,
    };
    let reply = match (&seen, answered) {
        (_, Some(x)) => Reply::Bytes {
            bytes: x.reply.clone(),
            reset: false,
        },
        (LoadSeen::Volume { answered, .. }, _) if *answered > 0 => Reply::Bytes {
            bytes: Vec::new(),
            reset: false,
        },
        _ => Reply::Nothing,
    };
    server.answered(PROBE, reply != Reply::Nothing);
    let mut state = server.after();
    state.answers = Some(
        state.exited.is_none()
            && healthy(unit.transport, server.port, timeout, &mut server.process),
    );
    if state.answers == Some(false) {
        state.exited = server.process.wait_timeout(server.dying);
        server.retire = true;
    }
    Observation::ServerProbe {
        reply,
        wire: Transcript::default(),
        server: state,
        answers_with_newline: None,
        answers_with_any_byte: None,
        unaccepted: false,
        load: Some(seen),
    }
}

/// The case's own exchange: its reply and transcript, and for a silent connection
/// whether the server answered someone else meanwhile.
fn first_exchange(
    unit: &Unit,
    server: &mut Instance,
    timeout: Duration,
) -> (Reply, Transcript, Option<bool>) {
    let writes = match &unit.case.input {
        Input::Silent => {
            let silent = TcpStream::connect((Ipv4Addr::LOCALHOST, server.port));
            let answers = healthy(unit.transport, server.port, timeout, &mut server.process);
            drop(silent);
            return (Reply::Nothing, Transcript::default(), Some(answers));
        }
        Input::Line(l) => vec![crate::registry::framed_line(l.as_bytes(), unit.transport)],
        Input::Raw(writes) => writes.clone(),
        Input::Load(_) => unreachable!("load cases have their own probe"),
        Input::Timed { .. } => unreachable!("timing cases only probe clients"),
    };
    let (r, w) = probe_exchange(
        unit.transport,
        server.port,
        &writes,
        timeout,
        &mut server.process,
    );
    (r, w, None)
}

/// TCP, when a line got no reply: whether the same line with `\n` gets one. Nothing is
/// known when the server is gone by then (it died when the probe closed): a dead server
/// answering nothing says nothing about newlines.
fn answers_with_newline(
    unit: &Unit,
    server: &mut Instance,
    reply: &Reply,
    timeout: Duration,
) -> Option<bool> {
    let (Reply::Nothing, Input::Line(l), Transport::Tcp) =
        (reply, &unit.case.input, unit.transport)
    else {
        return None;
    };
    if server.process.exited().is_some() {
        return None;
    }
    let line = format!("{l}\n").into_bytes();
    let answered = tcp_answers(server, line, timeout);
    // A server dying as the probe closed may be seen dead only a moment later.
    if !answered && server.process.wait_timeout(server.dying).is_some() {
        return None;
    }
    Some(answered)
}

/// When the line with `\n` got a reply: whether the line followed by a space does too
/// (waiting for any further byte, not for a newline). Asked once per server instance: a
/// newline-framed server keeps the probe waiting for its limit here.
fn answers_with_any_byte(
    unit: &Unit,
    server: &mut Instance,
    answers_with_newline: Option<bool>,
    timeout: Duration,
) -> Option<bool> {
    let (Some(true), Input::Line(l)) = (answers_with_newline, &unit.case.input) else {
        return None;
    };
    if let Some(known) = server.answers_any_byte {
        return Some(known);
    }
    let line = format!("{l} ").into_bytes();
    let answered = tcp_answers(server, line, timeout.min(Duration::from_secs(1)));
    server.answers_any_byte = Some(answered);
    Some(answered)
}

/// Whether `server` answers `request` over TCP with at least one byte.
fn tcp_answers(server: &mut Instance, request: Vec<u8>, timeout: Duration) -> bool {
    let (r, _) = probe_exchange(
        Transport::Tcp,
        server.port,
        &[request],
        timeout,
        &mut server.process,
    );
    matches!(r, Reply::Bytes { ref bytes, .. } if !bytes.is_empty())
}

/// Runs `unit`'s client against the recording server, within `timeout`.
pub(super) fn client_probe(
    ctx: &Context,
    axis: usize,
    unit: &Unit,
    timeout: Duration,
) -> Observation {
    if let Err(reason) = ctx.isolate() {
        return Observation::NotRun { reason };
    }
    let listen = ctx.client_fixed_port(axis, unit).unwrap_or(0);
    let timing = match unit.case.input {
        Input::Timed { timing, .. } => Some(timing),
        _ => None,
    };
    if timing == Some(Timing::NoServer) {
        return no_server_probe(ctx, axis, unit, listen, timeout);
    }
    let line_len = unit.case.request_bytes().len();
    let at = (ctx.client_listen_ip(), listen).into();
    let recorder = match RecordingServer::start(unit.transport, at, timeout, line_len) {
        Ok(r) => r,
        Err(reason) => return Observation::NotRun { reason },
    };
    let spec = ctx.spawn_spec(
        axis,
        unit.client.name(),
        client_role(unit.transport),
        recorder.port(),
        Some(stdin_of(unit)),
    );
    let finished = match timing {
        Some(Timing::Late(ms)) => {
            timing::late_line(&spec, &recorder, Duration::from_millis(ms), timeout)
                .map(|(f, seen)| (f, Some(seen)))
        }
        _ => Running::spawn(&spec).map(|r| (r.finish(timeout), None)),
    };
    let recorded = recorder.stop();
    match finished {
        Ok((f, timing)) => Observation::ClientProbe {
            client: ProcessOutcome::from(f),
            received: recorded.received,
            marker: MARKER.as_bytes().to_vec(),
            unread: recorded.unread,
            segments: recorded.segments,
            timing,
        },
        Err(e) => Observation::NotRun {
            reason: spawn_failed(&spec, e),
        },
    }
}

/// Runs `unit`'s client with nothing listening on its port (`listen`, or a free one).
fn no_server_probe(
    ctx: &Context,
    axis: usize,
    unit: &Unit,
    listen: u16,
    timeout: Duration,
) -> Observation {
    let port = match timing::Unlistened::bind(listen) {
        Ok(p) => p,
        Err(e) => {
            let why = format!("cannot reserve a TCP port with nothing listening: {e}");
            return Observation::NotRun {
                reason: NotRunReason::SpawnFailed(why),
            };
        }
    };
    let spec = ctx.spawn_spec(
        axis,
        unit.client.name(),
        client_role(unit.transport),
        port.port,
        Some(stdin_of(unit)),
    );
    match Running::spawn(&spec).map(|r| r.finish(timeout)) {
        Ok(f) => Observation::ClientProbe {
            client: ProcessOutcome::from(f),
            received: Vec::new(),
            marker: MARKER.as_bytes().to_vec(),
            unread: Vec::new(),
            segments: 0,
            timing: Some(TimingSeen::NoServer),
        },
        Err(e) => Observation::NotRun {
            reason: spawn_failed(&spec, e),
        },
    }
}

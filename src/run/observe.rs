//! Observations: what happened in one unit, before any judgement.

use serde::{Deserialize, Serialize};

use super::process::{Exit, Finished};
use super::wire::Transcript;

/// How a process ended and what it printed (stdout capped, stderr's tail).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessOutcome {
    /// How it ended.
    pub exit: Exit,
    /// Its stdout (capped).
    #[serde(with = "crate::run::wire::bytes_text")]
    pub stdout: Vec<u8>,
    /// How many stdout bytes it produced in all.
    pub stdout_total: u64,
    /// The last lines of its stderr.
    pub stderr_tail: String,
    /// Its lifetime in milliseconds.
    pub duration_ms: u64,
}

impl From<Finished> for ProcessOutcome {
    fn from(f: Finished) -> Self {
        let text = String::from_utf8_lossy(&f.stderr.bytes);
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(6)..].join("\n");
        ProcessOutcome {
            exit: f.exit,
            stdout: f.stdout.bytes.clone(),
            stdout_total: f.stdout.total,
            stderr_tail: tail,
            duration_ms: f.duration.as_millis() as u64,
        }
    }
}

/// What a server did after a unit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerAfter {
    /// The server process had exited by the end of the unit (it is restarted for the next).
    pub exited: Option<Exit>,
    /// Whether it answered a well-formed request right after the unit (server probes).
    pub answers: Option<bool>,
    /// Its stderr tail, when it exited.
    pub stderr_tail: String,
    /// It (or what it started) tried to start more processes than its limit allows.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub process_limit: bool,
}

/// A server's answer to a probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Reply {
    /// These bytes, then (TCP) a clean close.
    Bytes {
        /// The reply.
        #[serde(with = "crate::run::wire::bytes_text")]
        bytes: Vec<u8>,
        /// TCP: the server reset the connection instead of closing it.
        reset: bool,
    },
    /// Nothing within the timeout (TCP: nor a close).
    Nothing,
    /// The connection was refused or reset before any reply.
    Refused,
}

/// What happened in one unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Observation {
    /// A client ran against a server through the relay.
    Pairing {
        /// The client's run.
        client: ProcessOutcome,
        /// The bytes each side sent.
        wire: Transcript,
        /// The server afterwards.
        server: ServerAfter,
    },
    /// The harness probed a server.
    ServerProbe {
        /// What the server answered.
        reply: Reply,
        /// What the harness sent and received.
        wire: Transcript,
        /// The server afterwards.
        server: ServerAfter,
        /// TCP, when no reply came: whether the same line followed by `\n` got one.
        answers_with_newline: Option<bool>,
        /// TCP, when the line with `\n` got a reply: whether the line followed by a space
        /// got one too (the server waits for more bytes, not for a newline).
        #[serde(default)]
        answers_with_any_byte: Option<bool>,
        /// TCP, when no reply came: the server left a connection waiting to be
        /// accepted (the kernel's accept queue was not empty after the case).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        unaccepted: bool,
        /// A load case: what the clients at once, or the requests in a row, got.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        load: Option<LoadSeen>,
    },
    /// The harness played the server for a client.
    ClientProbe {
        /// The client's run.
        client: ProcessOutcome,
        /// The bytes the client sent.
        #[serde(with = "crate::run::wire::bytes_text")]
        received: Vec<u8>,
        /// The reply the harness sent (not derived from the input).
        #[serde(with = "crate::run::wire::bytes_text")]
        marker: Vec<u8>,
        /// TCP: what the client sent after the one read took `received` (the reference
        /// server reads once, so it never sees these bytes either), until the client
        /// closed.
        #[serde(default, with = "crate::run::wire::bytes_text")]
        unread: Vec<u8>,
        /// TCP: how many writes (data segments) carried what the one read took: more than
        /// one is a line written in pieces, however quickly they were read.
        #[serde(default)]
        segments: u32,
        /// A timing case: when the line was typed, or that no server listened.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timing: Option<TimingSeen>,
    },
    /// The unit could not run.
    NotRun {
        /// Why, in one sentence.
        reason: NotRunReason,
    },
}

/// Why a unit did not run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "detail")]
pub enum NotRunReason {
    /// The implementation's build failed.
    BuildFailed(String),
    /// The server never listened.
    ServerNotReady(String),
    /// A program could not be started (missing toolchain, bad path).
    SpawnFailed(String),
    /// The run's overall time limit passed first.
    RunTimedOut,
    /// The server ran into its process limit on an earlier unit (a runaway fork); it is
    /// not started again.
    ProcessLimit,
    /// The reference itself gave no answer on this case, and the run was asked not to
    /// spend time on such cases (the verdict is `info` whatever the program does).
    ReferenceUndefined,
    /// The program was silent twice, and the machine ran more than twenty times slower
    /// than an idle core by then: no fair time limit was left, so nothing is concluded.
    MachineBusy {
        /// How many times slower than idle, in tenths.
        tenths: u32,
    },
}

/// What a server did under a load case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "load")]
pub enum LoadSeen {
    /// Clients that sent at once, each with its own line.
    Concurrent {
        /// Each client's exchange, in the order they connected.
        exchanges: Vec<Exchange>,
        /// Milliseconds from the first connection to the last reply.
        ms: u64,
    },
    /// The line from other source addresses.
    Addresses {
        /// One exchange per source address.
        exchanges: Vec<FromAddress>,
    },
    /// TCP: the line sent a while after the connection was made.
    Late {
        /// Whether the same line sent at once was answered.
        control_answered: bool,
        /// How long after.
        after_ms: u64,
        /// The exchange.
        exchange: Exchange,
    },
    /// Requests one after another.
    Volume {
        /// How many the case asks for.
        requests: usize,
        /// How many were sent before the time budget ran out or one went unanswered.
        sent: usize,
        /// How many got a reply.
        answered: usize,
        /// The first request (0-based) that got no reply, if any.
        unanswered_at: Option<usize>,
        /// The server's open descriptors (its process and descendants) before, when
        /// they could be counted.
        fds_before: Option<usize>,
        /// The same after the requests.
        fds_after: Option<usize>,
        /// Milliseconds the requests took.
        ms: u64,
    },
}

/// The same line sent from several source addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FromAddress {
    /// The address and port the request came from (`127.0.0.2:40000`, `[::1]:40000`).
    pub from: String,
    /// The address the request went to (the server's port on it).
    pub to: String,
    /// The exchange: `answered` false and nothing sent when the server does not listen
    /// at the address family (IPv6 only).
    pub exchange: Exchange,
    /// IPv6, where nothing listened: not an exchange at all.
    pub not_listening: bool,
    /// TCP: whether the connection was refused (`None` for UDP).
    pub tcp_refused: Option<bool>,
}

/// One client's request and reply under load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exchange {
    /// What it sent.
    #[serde(with = "crate::run::wire::bytes_text")]
    pub sent: Vec<u8>,
    /// Whether any reply came.
    pub answered: bool,
    /// The reply.
    #[serde(with = "crate::run::wire::bytes_text")]
    pub reply: Vec<u8>,
}

/// What a client-timing case arranged, in milliseconds since the client started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum TimingSeen {
    /// The line was typed late.
    Late {
        /// When the client connected (sent, over UDP), if it did before the line.
        contacted_ms: Option<u64>,
        /// When the line was typed; never, if the client had exited by then.
        line_ms: Option<u64>,
    },
    /// Nothing listened on the port the client was given.
    NoServer,
}

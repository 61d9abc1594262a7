//! What judging every kind of unit shares: the index of units a verdict is judged
//! against, the verdict in the making, and the comparisons of client output and replies
//! that pairings and probes both make. Pure.

use std::collections::BTreeMap;

use super::finding::{Finding, ReferenceFinding, ReferenceSide, ServerFinding};
use super::model::{Fault, Verdict};
use crate::plan::{Unit, PROBE};
use crate::proto::case::UnicodeVersion;
use crate::proto::Transport;
use crate::registry::ClientOutput;
use crate::run::execute::Executed;
use crate::run::observe::{Observation, ProcessOutcome, ServerAfter};
use crate::run::process::Exit;

/// What judging needs to know about each axis.
#[derive(Debug, Clone)]
pub struct Context {
    /// Per axis label: what the reference runs on, as sentences name it (`Python 3.11`,
    /// `Java 17`), and the Unicode version its uppercasing follows.
    pub reference_runtime: BTreeMap<Option<String>, (String, UnicodeVersion)>,
    /// How each implementation's client output is compared, by name.
    pub client_output: BTreeMap<String, ClientOutput>,
    /// Which Unicode version each implementation may follow, by name (absent: the
    /// reference's).
    pub unicode: BTreeMap<String, crate::registry::UnicodePolicy>,
    /// Whether a difference of Unicode version alone fails (`--strict-unicode`).
    pub strict_unicode: bool,
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
    /// Why it failed, or why it is info or skip.
    pub finding: Option<Finding>,
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

/// Every executed unit by (axis, transport, client, server, case), to find the units a
/// verdict is judged against.
pub(super) struct Index<'a> {
    by_key: BTreeMap<Key, &'a Executed>,
}

impl<'a> Index<'a> {
    /// Every unit of `executed` by its key.
    pub(super) fn new(executed: &'a [Executed]) -> Index<'a> {
        Index {
            by_key: executed
                .iter()
                .map(|e| (key(&e.unit, e.unit.client.name(), e.unit.server.name()), e))
                .collect(),
        }
    }

    /// The unit of `u`'s axis, transport and case with this client and server.
    pub(super) fn get(&self, u: &Unit, client: &str, server: &str) -> Option<&'a Executed> {
        self.by_key.get(&key(u, client, server)).copied()
    }

    /// What `server` waits for when it leaves a TCP line unanswered, as its probes found
    /// out: the probe of `u`'s case, else the first of its other cases that tried (a
    /// server that dies when a probe closes is asked on one case only, and which one
    /// depends on the order its units ran in).
    pub(super) fn waits_for(&self, u: &Unit, server: &str) -> Option<ServerFinding> {
        let same_case = self.get(u, PROBE, server);
        let others = self
            .by_key
            .iter()
            .filter(|((axis, transport, c, s, _), _)| {
                *axis == u.axis && *transport == u.transport && c == PROBE && s == server
            });
        same_case
            .into_iter()
            .chain(others.map(|(_, e)| *e))
            .find_map(|e| waiting_for(&e.observation))
    }

    /// Whether any probe of `server` (on `u`'s axis and transport) found that it stays
    /// silent even when the line is followed by a newline.
    pub(super) fn newline_does_not_help(&self, u: &Unit, server: &str) -> bool {
        self.by_key.iter().any(|((axis, transport, c, s, _), e)| {
            *axis == u.axis
                && *transport == u.transport
                && c == PROBE
                && s == server
                && matches!(
                    e.observation,
                    Observation::ServerProbe {
                        answers_with_newline: Some(false),
                        ..
                    }
                )
        })
    }
}

/// A verdict in the making.
#[derive(Default)]
pub(super) struct Outcome {
    pub(super) verdict: Verdict,
    pub(super) fault: Option<Fault>,
    pub(super) expected: Option<Vec<u8>>,
    pub(super) actual: Option<Vec<u8>>,
    pub(super) finding: Option<Finding>,
    pub(super) minimal: Option<String>,
}

impl Outcome {
    /// `verdict` with `finding`, nothing else known.
    pub(super) fn of(verdict: Verdict, finding: impl Into<Finding>) -> Outcome {
        Outcome {
            verdict,
            finding: Some(finding.into()),
            ..Outcome::default()
        }
    }

    /// A pass, with the bytes compared.
    pub(super) fn pass(expected: Vec<u8>, actual: Option<Vec<u8>>) -> Outcome {
        Outcome {
            expected: Some(expected),
            actual,
            ..Outcome::default()
        }
    }

    /// A server that ran into its process limit: the runaway fork explains whatever
    /// else went wrong (no reply, a crash, a reset).
    pub(super) fn explained_by_process_limit(self) -> Outcome {
        match self.verdict {
            Verdict::Fail => Outcome {
                fault: Some(Fault::Server),
                finding: Some(ServerFinding::ProcessLimit.into()),
                minimal: None,
                ..self
            },
            Verdict::Pass
            | Verdict::Info
            | Verdict::NonStrict
            | Verdict::Skip
            | Verdict::Xfail
            | Verdict::Xpass => self,
        }
    }
}

/// What judging one unit knows besides the unit: the index of units and the axis's
/// reference interpreter.
pub(super) struct Judge<'a> {
    pub(super) index: &'a Index<'a>,
    pub(super) ctx: &'a Context,
    pub(super) runtime: String,
    pub(super) unicode: UnicodeVersion,
}

/// Why the reference client (alone or in the reference pair) gives no answer, if it
/// does not exit 0.
pub(super) fn reference_has_no_answer(
    client: &ProcessOutcome,
    who: ReferenceSide,
) -> Option<ReferenceFinding> {
    match client.exit {
        Exit::Code(0) => None,
        Exit::TimedOut => Some(ReferenceFinding::Hangs { who }),
        exit => Some(ReferenceFinding::Fails {
            who,
            exit,
            stderr: client
                .stderr_tail
                .lines()
                .last()
                .map(|l| l.trim().to_string()),
        }),
    }
}

/// The reply part of a client's stdout, under `mode` (the whole stdout for `reference`).
pub(super) fn client_view(mode: Option<&ClientOutput>, stdout: &[u8]) -> Option<Vec<u8>> {
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
pub(super) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// The reply inside a reference client's stdout (prompt, TCP prefix and newline removed).
pub(super) fn reference_reply(transport: Transport, stdout: &[u8]) -> Vec<u8> {
    let s = stdout
        .strip_prefix(crate::proto::PROMPT.as_bytes())
        .unwrap_or(stdout);
    let s = s
        .strip_prefix(crate::registry::reply_prefix(transport).as_bytes())
        .unwrap_or(s);
    s.strip_suffix(b"\n").unwrap_or(s).to_vec()
}

/// How a server that died without replying died: of writing to a client that had
/// already gone (a broken pipe, a reset, SIGPIPE), which an earlier exchange caused, or
/// on this input.
pub(super) fn died(server: &ServerAfter, exit: Exit) -> ServerFinding {
    const GONE: [&str; 6] = [
        "BrokenPipe",
        "Broken pipe",
        "ConnectionReset",
        "Connection reset",
        "EPIPE",
        "ECONNRESET",
    ];
    let gone =
        exit == Exit::Signal(libc::SIGPIPE) || GONE.iter().any(|g| server.stderr_tail.contains(g));
    if gone {
        ServerFinding::DiedWritingToGoneClient { exit }
    } else {
        ServerFinding::DiedWithoutReply { exit }
    }
}

/// What a TCP server that left a line unanswered waits for, as its probe found out:
/// a newline, or any further byte (it reads until a short read or a fixed length).
pub(super) fn waiting_for(probe: &Observation) -> Option<ServerFinding> {
    match probe {
        Observation::ServerProbe {
            answers_with_newline: Some(true),
            answers_with_any_byte,
            ..
        } => Some(if *answers_with_any_byte == Some(true) {
            ServerFinding::WaitsForMoreBytes
        } else {
            ServerFinding::WaitsForNewline
        }),
        _ => None,
    }
}

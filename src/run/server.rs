//! One server instance's lifecycle on a lane: start (on a leased port, or found wherever
//! it binds), readiness, how it stands between units (serving, dead, past its process
//! limit, unable to start), a restart after a death, and the stop at the lane's end. It
//! never plays the peer and never judges what a server answered.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::context::{Context, ProgramKey};
use super::observe::{NotRunReason, Observation, ServerAfter};
use super::ports::{lease_port, PortLease};
use super::process::{Exit, Finished, Running};
use super::ready::{wait_for_any_port, wait_until_bound, NotReady};
use super::stuck::{server_limit, Silences, Streaks};
use crate::proto::Transport;
use crate::registry::{Role, RoleKey};

/// How long a server that may be crashing gets to finish dying before the next unit.
const DYING: Duration = Duration::from_millis(150);
/// The same, for a confined server. Inside bubblewrap its death is seen only once
/// bubblewrap's own processes have reaped it and exited, which on a loaded machine took
/// more than 150 ms: a server that died of one unit (the textbook server on invalid
/// UTF-8) was then blamed on the next.
const DYING_CONFINED: Duration = Duration::from_millis(600);

/// A server instance owned by a lane.
pub(super) struct Instance {
    /// The server's process group.
    pub process: Running,
    /// Where it listens.
    pub port: u16,
    /// Keeps the port from other runs while this instance holds it.
    _lease: Option<PortLease>,
    /// Per client (a name, or `probe`): units in a row on which this server (any
    /// instance of it, on any lane) sent that client nothing until the time limit.
    silent: Arc<Streaks<String>>,
    /// Once learnt: whether a line this server left unanswered gets an answer when any
    /// further byte follows (it reads until a short read), not only a newline.
    pub answers_any_byte: Option<bool>,
    /// How long it gets to be seen dying after a unit that may have killed it.
    pub dying: Duration,
    /// Set by a unit after which this instance is stopped and replaced, without its end
    /// being noted on any unit (a server that stopped serving under load).
    pub retire: bool,
}

impl Instance {
    /// `limit`, shortened for a server that keeps not answering `client`.
    pub fn limit(&self, client: &str, limit: Duration) -> Duration {
        server_limit(self.silent.count(client), limit)
    }

    /// Counts a unit on which the server answered `client` (or not).
    pub fn answered(&mut self, client: &str, answered: bool) {
        self.silent.note(client, !answered);
    }

    /// How the server stands right after a unit.
    pub fn after(&mut self) -> ServerAfter {
        ServerAfter {
            exited: self.process.exited(),
            answers: None,
            stderr_tail: String::new(),
            process_limit: self.process.process_limit_hit(),
        }
    }
}

/// Servers that could not start, shared by every lane: the other lanes of the same
/// server report the same reason instead of waiting for it again.
#[derive(Debug, Default)]
pub(super) struct StartFailures(Mutex<BTreeMap<ProgramKey, NotRunReason>>);

impl StartFailures {
    fn get(&self, server: &ProgramKey) -> Option<NotRunReason> {
        self.0.lock().ok().and_then(|f| f.get(server).cloned())
    }

    fn record(&self, server: &ProgramKey, reason: NotRunReason) {
        if let Ok(mut f) = self.0.lock() {
            f.insert(server.clone(), reason);
        }
    }
}

/// How the lane's running server stands before a unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Condition {
    /// Still running: the unit uses it.
    Serving,
    /// It ran into its process limit (a runaway fork): it is not started again, here
    /// or on any other lane.
    ProcessLimit,
    /// It died after the previous unit: noted there, and restarted.
    Died(Exit),
}

/// Decides how a server stands: a process limit outweighs its exit.
pub(super) fn condition(process_limit_hit: bool, exited: Option<Exit>) -> Condition {
    match (process_limit_hit, exited) {
        (true, _) => Condition::ProcessLimit,
        (false, Some(exit)) => Condition::Died(exit),
        (false, None) => Condition::Serving,
    }
}

/// Whether a server that exited at `exited_at` was already gone when a unit's request
/// was on its way at `asked`: the previous unit killed it (it answered, then exited).
pub(super) fn died_before_request(exited_at: Option<Instant>, asked: Instant) -> bool {
    exited_at.is_some_and(|at| at <= asked)
}

/// How long the lane's last server gets to be seen dying: longer for servers that are
/// not shout's own, which may be one-shot.
pub(super) fn lane_end_grace(may_be_one_shot: bool) -> Duration {
    if may_be_one_shot {
        Duration::from_millis(300)
    } else {
        Duration::from_millis(50)
    }
}

/// A server's death, to be noted on the unit that ran last on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Death {
    /// How it ended.
    pub exit: Exit,
    /// The last lines of its stderr.
    pub stderr_tail: String,
}

impl Death {
    fn of(exit: Exit, finished: &Finished) -> Death {
        let text = String::from_utf8_lossy(&finished.stderr.bytes);
        let lines: Vec<&str> = text.lines().collect();
        Death {
            exit,
            stderr_tail: lines[lines.len().saturating_sub(6)..].join("\n"),
        }
    }

    /// Notes the death on `observation` (only units that had the server, and only the
    /// first death seen).
    pub fn note_on(self, observation: &mut Observation) {
        match observation {
            Observation::Pairing { server, .. } | Observation::ServerProbe { server, .. } => {
                if server.exited.is_none() {
                    server.exited = Some(self.exit);
                    server.stderr_tail = self.stderr_tail;
                } else if server.exited == Some(self.exit) && server.stderr_tail.is_empty() {
                    // Seen exiting during the unit, before its output was collected.
                    server.stderr_tail = self.stderr_tail;
                }
            }
            Observation::ClientProbe { .. } | Observation::NotRun { .. } => {}
        }
    }
}

/// What a lane holds of its server between units.
pub(super) enum Slot {
    /// No server: the next unit that needs one starts it.
    Empty,
    /// A running server.
    Serving(Instance),
    /// This lane could not start it (or stopped it for good): every later unit reports
    /// why.
    CannotStart(NotRunReason),
}

impl Slot {
    /// Looks at the running server before a unit: one past its process limit is stopped
    /// for good (here and on every lane), one that died is stopped and its death
    /// returned, for the previous unit.
    pub fn inspect(&mut self, server: &ProgramKey, failures: &StartFailures) -> Option<Death> {
        let Slot::Serving(inst) = self else {
            return None;
        };
        let limit_hit = inst.process.process_limit_hit();
        match condition(
            limit_hit,
            (!limit_hit).then(|| inst.process.exited()).flatten(),
        ) {
            Condition::Serving => None,
            Condition::ProcessLimit => {
                self.stop();
                failures.record(server, NotRunReason::ProcessLimit);
                *self = Slot::CannotStart(NotRunReason::ProcessLimit);
                None
            }
            Condition::Died(exit) => self.stop().map(|out| Death::of(exit, &out)),
        }
    }

    /// The running server, started first if there is none; why not when it cannot start
    /// (here, or on another lane).
    pub fn ready(
        &mut self,
        ctx: &Context,
        server: &ProgramKey,
        failures: &StartFailures,
        silences: &Silences,
    ) -> Result<&mut Instance, NotRunReason> {
        if let Slot::Empty = self {
            if let Some(reason) = failures.get(server) {
                return Err(reason);
            }
            *self = match start(ctx, server, silences.of(server)) {
                Ok(inst) => Slot::Serving(inst),
                Err(reason) => {
                    failures.record(server, reason.clone());
                    Slot::CannotStart(reason)
                }
            };
        }
        match self {
            Slot::Serving(inst) => Ok(inst),
            Slot::CannotStart(reason) => Err(reason.clone()),
            Slot::Empty => unreachable!("an empty slot was just filled"),
        }
    }

    /// The running server, if any.
    pub fn serving(&mut self) -> Option<&mut Instance> {
        match self {
            Slot::Serving(inst) => Some(inst),
            Slot::Empty | Slot::CannotStart(_) => None,
        }
    }

    /// Stops a server that had exited before the unit's request was on its way at
    /// `asked`, and returns its death (for the previous unit).
    pub fn died_before(&mut self, asked: Instant) -> Option<Death> {
        let inst = self.serving()?;
        if !died_before_request(inst.process.exited_at(), asked) {
            return None;
        }
        let exit = inst.process.exited().unwrap_or(Exit::TimedOut);
        self.stop().map(|out| Death::of(exit, &out))
    }

    /// Stops the server at the lane's end, after giving it `grace` to be seen dying;
    /// a server that answers a health request at once is plainly not dying, and is
    /// stopped without waiting.
    pub fn retire(self, grace: Duration, transport: Transport) -> Option<Death> {
        let Slot::Serving(mut inst) = self else {
            return None;
        };
        if inst.process.exited().is_none()
            && super::peer::healthy(transport, inst.port, grace, &mut inst.process)
        {
            inst.process.stop();
            return None;
        }
        match inst.process.wait_timeout(grace) {
            Some(exit) => Some(Death::of(exit, &inst.process.stop())),
            None => {
                inst.process.stop();
                None
            }
        }
    }

    /// Stops a server a unit asked to retire, without noting its end on any unit.
    pub fn retire_if_asked(&mut self) {
        if self.serving().is_some_and(|inst| inst.retire) {
            self.stop();
        }
    }

    /// Stops the running server, leaving the slot empty.
    fn stop(&mut self) -> Option<Finished> {
        match std::mem::replace(self, Slot::Empty) {
            Slot::Serving(inst) => Some(inst.process.stop()),
            other => {
                *self = other;
                None
            }
        }
    }
}

/// Starts `server` and waits until it listens.
fn start(
    ctx: &Context,
    server: &ProgramKey,
    silent: Arc<Streaks<String>>,
) -> Result<Instance, NotRunReason> {
    let (axis, transport, name) = (server.0, server.1, server.2.as_str());
    ctx.isolate()?;
    let key = RoleKey {
        transport,
        role: Role::Server,
    };
    // A server that picks its own port is found on whatever port it binds.
    let own_port = ctx.fixed_port(axis, name, key).is_some();
    let lease = if own_port {
        None
    } else {
        Some(lease_port().map_err(|e| NotRunReason::ServerNotReady(format!("no free port: {e}")))?)
    };
    let port = lease.as_ref().map_or(0, |l| l.port());
    let spec = ctx.spawn_spec(axis, name, key, port, None);
    let mut process = Running::spawn(&spec).map_err(|e| super::context::spawn_failed(&spec, e))?;
    let start_timeout = ctx.options.start_timeout;
    let ready = if own_port {
        wait_for_any_port(&mut process, transport, start_timeout)
    } else {
        wait_until_bound(&mut process, transport, port, start_timeout).map(|()| port)
    };
    match ready {
        Ok(port) => Ok(Instance {
            process,
            port,
            _lease: lease,
            silent,
            answers_any_byte: None,
            dying: if ctx.options.confine.is_some() {
                DYING_CONFINED
            } else {
                DYING
            },
            retire: false,
        }),
        Err(e) => {
            let out = process.stop();
            Err(not_ready(
                &e,
                (!own_port).then_some(port),
                &out.stderr.bytes,
            ))
        }
    }
}

/// Why a server never listened: the reason, the port it was given (if shout chose
/// one), and the last three lines of its stderr.
fn not_ready(e: &NotReady, port: Option<u16>, stderr: &[u8]) -> NotRunReason {
    let stderr = String::from_utf8_lossy(stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
    let at = port.map(|p| format!(" (port {p})")).unwrap_or_default();
    let said = if tail.is_empty() {
        String::new()
    } else {
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        format!("; stderr: {}", tail.join(" | "))
    };
    NotRunReason::ServerNotReady(format!("{e}{at}{said}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::observe::Reply;
    use crate::run::testing::{pairing, server_probe};

    #[test]
    fn a_server_past_its_process_limit_is_not_restarted_even_if_it_died() {
        assert_eq!(
            condition(true, Some(Exit::Code(1))),
            Condition::ProcessLimit
        );
        assert_eq!(condition(true, None), Condition::ProcessLimit);
        assert_eq!(
            condition(false, Some(Exit::Code(1))),
            Condition::Died(Exit::Code(1))
        );
        assert_eq!(condition(false, None), Condition::Serving);
    }

    #[test]
    fn a_server_gone_before_the_request_died_of_the_previous_unit() {
        let asked = Instant::now();
        let before = asked - Duration::from_millis(5);
        let after = asked + Duration::from_millis(5);
        assert!(died_before_request(Some(before), asked));
        assert!(died_before_request(Some(asked), asked));
        assert!(!died_before_request(Some(after), asked));
        assert!(!died_before_request(None, asked));
    }

    #[test]
    fn a_program_that_may_be_one_shot_gets_longer_to_be_seen_dying() {
        assert!(lane_end_grace(true) > lane_end_grace(false));
        assert_eq!(lane_end_grace(true), Duration::from_millis(300));
    }

    #[test]
    fn a_death_is_noted_once_and_only_on_units_that_had_the_server() {
        let death = |code| Death {
            exit: Exit::Code(code),
            stderr_tail: format!("died {code}"),
        };
        let mut probe = server_probe(Reply::Nothing);
        death(1).note_on(&mut probe);
        death(2).note_on(&mut probe);
        let Observation::ServerProbe { server, .. } = &probe else {
            unreachable!()
        };
        assert_eq!(server.exited, Some(Exit::Code(1)));
        assert_eq!(server.stderr_tail, "died 1");

        let mut pair = pairing(Exit::Code(0));
        death(3).note_on(&mut pair);
        assert!(
            matches!(pair, Observation::Pairing { server, .. } if server.exited == Some(Exit::Code(3)))
        );

        let mut not_run = Observation::NotRun {
            reason: NotRunReason::RunTimedOut,
        };
        death(4).note_on(&mut not_run);
        assert_eq!(
            not_run,
            Observation::NotRun {
                reason: NotRunReason::RunTimedOut
            }
        );
    }

    #[test]
    fn a_server_that_never_listened_says_why_where_and_its_last_stderr_lines() {
        let e = NotReady::Exited(Exit::Code(1));
        let reason = not_ready(&e, Some(20001), b"one\ntwo\nthree\nfour\n");
        assert_eq!(
            reason,
            NotRunReason::ServerNotReady(format!("{e} (port 20001); stderr: two | three | four"))
        );
        let quiet = not_ready(&e, None, b"");
        assert_eq!(quiet, NotRunReason::ServerNotReady(e.to_string()));
    }

    #[test]
    fn an_empty_lane_slot_has_nothing_to_stop_and_a_failed_one_keeps_its_reason() {
        let mut slot = Slot::CannotStart(NotRunReason::ProcessLimit);
        assert!(slot.serving().is_none());
        assert!(slot.died_before(Instant::now()).is_none());
        assert!(slot
            .inspect(
                &(0, crate::proto::Transport::Tcp, "x".into()),
                &StartFailures::default()
            )
            .is_none());
        assert!(matches!(
            slot,
            Slot::CannotStart(NotRunReason::ProcessLimit)
        ));
        assert!(Slot::Empty
            .retire(Duration::ZERO, crate::proto::Transport::Udp)
            .is_none());
    }
}

//! One lane: its units in order against one server instance at a time. The situations
//! between units have names elsewhere and are only put in order here: the [`Gate`]
//! (deadline, skipped case, failed build), the server's [`Slot`] (process limit, death
//! and restart, cannot start), a stuck client's cap, the turn on a fixed port, and one
//! retry when the server had already died of the previous unit. It never judges an
//! observation; it only notes on a unit what its server did right after it.
//!
//! [`Gate`]: super::gate::Gate

use std::time::{Duration, Instant};

use super::context::{Context, ProgramKey};
use super::observe::{NotRunReason, Observation};
use super::options::Executed;
use super::pairing::pairing;
use super::probes::{client_probe, server_probe};
use super::process::Exit;
use super::pulse;
use super::reference::no_answer;
use super::server::{lane_end_grace, Death, Slot};
use super::shared::Shared;
use super::turns::turn_port;
use super::wire::Peer;
use crate::plan::{Side, Unit, UnitKind};

/// Runs the units at `lane` (indices into `units`) in order; returns them with what was
/// observed, in the same order.
pub(super) fn run_lane(
    ctx: &Context,
    shared: &Shared,
    units: &[Unit],
    lane: &[usize],
) -> Vec<(usize, Executed)> {
    let mut run = LaneRun {
        ctx,
        shared,
        slot: Slot::Empty,
        done: Vec::new(),
    };
    for &i in lane {
        let executed = run.unit(&units[i]);
        run.done.push((i, executed));
        shared.progress.unit_done(&units[i]);
    }
    run.finish();
    run.done
}

/// A lane while it runs.
struct LaneRun<'r, 'a> {
    ctx: &'r Context<'a>,
    shared: &'r Shared<'a>,
    /// The lane's server, between units.
    slot: Slot,
    /// The units run so far: the last one is where a server's death after it is noted.
    done: Vec<(usize, Executed)>,
}

impl LaneRun<'_, '_> {
    fn unit(&mut self, unit: &Unit) -> Executed {
        let axis = self.ctx.axis_of(unit);
        let mut started = Instant::now();
        let mut observation = self.attempt(unit, axis, 1);
        // A server that exited before this unit's request reached it was killed by the
        // previous unit (it answered, then exited): note it there, and run this unit
        // again on a fresh server. Once: a second death is this unit's own.
        if self.died_of_previous(&observation, started) {
            started = Instant::now();
            observation = self.attempt(unit, axis, 1);
        }
        // A silence on a busy machine may be the machine's: once more before it counts,
        // with the limit stretched by how much slower than idle the machine is now.
        if let Some(program) = self.retry_for(unit, axis, &observation) {
            let silent_since = started;
            let before = self.shared.pulse.since(silent_since);
            started = Instant::now();
            observation = self.attempt(unit, axis, pulse::stretch(before));
            if no_answer(&observation) {
                // How busy the machine was over the retry, the median of its samples.
                let slowdown = self.shared.pulse.since(started);
                if pulse::too_busy(slowdown) {
                    // No fair limit is left: the machine, not the program, is named.
                    let tenths = (slowdown * 10.0).round() as u32;
                    let reason = NotRunReason::MachineBusy { tenths };
                    observation = Observation::NotRun { reason };
                } else {
                    self.shared.retries.confirmed(&program);
                }
            } else {
                self.shared.retries.answered(&program);
            }
        }
        if let Observation::Pairing { client, .. } | Observation::ClientProbe { client, .. } =
            &observation
        {
            let key = program_key(axis, unit, &unit.client);
            self.shared
                .stuck_clients
                .note(&key, client.exit == Exit::TimedOut);
        }
        Executed {
            unit: unit.clone(),
            observation,
            duration_ms: started.elapsed().as_millis() as u64,
            cached: false,
        }
    }

    /// The program whose silence on `unit` earns it a retry, if any: one not built in
    /// (shout's own roles and the reference are not on trial), with retries left.
    fn retry_for(&self, unit: &Unit, axis: usize, observation: &Observation) -> Option<ProgramKey> {
        // Where the reference itself gives no answer, silence is expected.
        if !no_answer(observation) || self.shared.undefined.contains(unit) {
            return None;
        }
        let side = match observation {
            Observation::ServerProbe { .. } => &unit.server,
            _ if matches!(&unit.client, Side::Impl(n) if !self.ctx.is_builtin(axis, n)) => {
                &unit.client
            }
            _ => &unit.server,
        };
        let Side::Impl(name) = side else {
            return None;
        };
        if self.ctx.is_builtin(axis, name) {
            return None;
        }
        let program = program_key(axis, unit, side);
        self.shared.retries.take(&program).then_some(program)
    }

    /// One try at `unit`: through the gate, then its server, then the unit itself, with
    /// its time limit `stretch` times as long.
    fn attempt(&mut self, unit: &Unit, axis: usize, stretch: u32) -> Observation {
        let shared = self.shared;
        let refused = shared
            .gate
            .refuse(unit, axis, Instant::now(), &shared.undefined);
        if let Some(reason) = refused {
            return Observation::NotRun { reason };
        }
        if let Side::Impl(_) = &unit.server {
            let key = program_key(axis, unit, &unit.server);
            if let Some(death) = self.slot.inspect(&key, &shared.start_failures) {
                self.note_on_previous(death);
            }
            let ready = self
                .slot
                .ready(self.ctx, &key, &shared.start_failures, &shared.silences);
            if let Err(reason) = ready {
                return Observation::NotRun { reason };
            }
        }
        let client_cap = shared.client_cap(&program_key(axis, unit, &unit.client));
        // A client fixed on a port: without a network namespace per lane, only one unit
        // at a time may listen there for it (relay or recording server).
        let isolated = self.ctx.options.isolate.is_some();
        let turn = turn_port(isolated, &unit.client, || {
            self.ctx.client_fixed_port(axis, unit)
        })
        .map(|port| shared.turns.lock_for(unit.transport, port));
        let _listening = turn
            .as_ref()
            .map(|m| m.lock().unwrap_or_else(|p| p.into_inner()));
        self.dispatch(unit, axis, client_cap, stretch)
    }

    /// Runs `unit` by its kind, on the lane's server when it has one.
    fn dispatch(
        &mut self,
        unit: &Unit,
        axis: usize,
        client_cap: Duration,
        stretch: u32,
    ) -> Observation {
        let (ctx, shared) = (self.ctx, self.shared);
        let server = self.slot.serving();
        let limit = || shared.timeout_for(unit) * stretch;
        // A stretched retry is not cut short by a cap meant for a client that hangs.
        let client_cap = if stretch > 1 {
            client_cap.max(limit())
        } else {
            client_cap
        };
        match unit.kind {
            UnitKind::Pairing => {
                let server = server.expect("pairing has a server");
                let observation = pairing(ctx, axis, unit, server, limit, client_cap);
                self.fresh_server_if_buffers_differ(unit);
                observation
            }
            UnitKind::ServerProbe => {
                let server = server.expect("server probe has a server");
                let observation = server_probe(unit, server, limit());
                self.fresh_server_if_buffers_differ(unit);
                self.slot.retire_if_asked();
                observation
            }
            UnitKind::ClientProbe => client_probe(ctx, axis, unit, limit().min(client_cap)),
        }
    }

    /// Under a reference whose UDP server answers with its whole buffer, retires the
    /// lane's UDP server after each unit: every reply is then a first request's, whatever
    /// ran before on that lane.
    fn fresh_server_if_buffers_differ(&mut self, unit: &Unit) {
        if unit.transport == crate::proto::Transport::Udp
            && crate::registry::udp_server_keeps_its_buffer()
        {
            if let Some(instance) = self.slot.serving() {
                instance.retire = true;
            }
            self.slot.retire_if_asked();
        }
    }

    /// Whether the lane's server had died of the previous unit before `observation`'s
    /// request reached it; if so it is stopped and its death noted on that unit.
    fn died_of_previous(&mut self, observation: &Observation, started: Instant) -> bool {
        if self.done.is_empty() {
            return false;
        }
        let asked = request_instant(observation, started);
        match self.slot.died_before(asked) {
            Some(death) => {
                self.note_on_previous(death);
                true
            }
            None => false,
        }
    }

    /// The lane's last server: give a dying one a moment to be seen (longer for servers
    /// that are not shout's own, which may be one-shot), then stop it.
    fn finish(&mut self) {
        let slot = std::mem::replace(&mut self.slot, Slot::Empty);
        let Some((_, last)) = self.done.last() else {
            return;
        };
        let axis = self.ctx.axis_of(&last.unit);
        let may_be_one_shot = match &last.unit.server {
            Side::Impl(name) => !self.ctx.is_builtin(axis, name),
            Side::Probe => false,
        };
        if let Some(death) = slot.retire(lane_end_grace(may_be_one_shot), last.unit.transport) {
            self.note_on_previous(death);
        }
    }

    fn note_on_previous(&mut self, death: Death) {
        if let Some((_, e)) = self.done.last_mut() {
            death.note_on(&mut e.observation);
        }
    }
}

/// The key of `side`'s program on `unit`'s axis and transport.
fn program_key(axis: usize, unit: &Unit, side: &Side) -> ProgramKey {
    (axis, unit.transport, side.name().to_string())
}

/// When this unit's first request byte was on its way to the server: the first client
/// chunk the relay saw, or the unit's start for the harness's own probes.
fn request_instant(observation: &Observation, started: Instant) -> Instant {
    match observation {
        Observation::Pairing { wire, .. } => wire
            .events
            .iter()
            .find(|e| e.from == Peer::Client)
            .map_or(Instant::now(), |e| started + Duration::from_millis(e.at_ms)),
        _ => started,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::observe::Reply;
    use crate::run::testing::{pairing, server_probe};
    use crate::run::wire::{Transcript, WireEvent, WireWhat};

    #[test]
    fn a_pairings_request_left_when_the_relay_saw_the_clients_first_bytes() {
        let started = Instant::now();
        let mut observation = pairing(Exit::Code(0));
        if let Observation::Pairing { wire, .. } = &mut observation {
            *wire = Transcript {
                events: [(Peer::Server, 5), (Peer::Client, 40), (Peer::Client, 90)]
                    .into_iter()
                    .map(|(from, at_ms)| WireEvent {
                        from,
                        at_ms,
                        bytes: Vec::new(),
                        what: WireWhat::Data,
                    })
                    .collect(),
            };
        }
        assert_eq!(
            request_instant(&observation, started),
            started + Duration::from_millis(40)
        );
    }

    #[test]
    fn a_probes_request_left_when_the_unit_started() {
        let started = Instant::now() - Duration::from_secs(1);
        let observation = server_probe(Reply::Nothing);
        assert_eq!(request_instant(&observation, started), started);
    }

    #[test]
    fn a_pairing_whose_client_sent_nothing_asked_only_now() {
        let started = Instant::now() - Duration::from_secs(60);
        let asked = request_instant(&pairing(Exit::Code(0)), started);
        assert!(asked > started + Duration::from_secs(59));
    }
}

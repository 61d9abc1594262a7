//! What the lanes of one run share while it goes on: progress, the gate that keeps units
//! from starting, what the reference left undefined, and what each server and client has
//! shown so far (start failures, silences, time-outs, turns on fixed ports). It holds
//! that state and answers questions about it; it starts nothing.

use std::sync::Mutex;
use std::time::Duration;

use super::context::ProgramKey;
use super::gate::Gate;
use super::options::Event;
use super::pulse::Sampler;
use super::reference::{time_limit, Undefined};
use super::server::StartFailures;
use super::stuck::{client_cap, Retries, Silences, Streaks};
use super::turns::PortTurns;
use crate::plan::Unit;

/// The state shared by the lanes of one run.
pub(super) struct Shared<'a> {
    /// What keeps units from starting.
    pub gate: Gate,
    /// Cases on which the reference gave no answer.
    pub undefined: Undefined,
    /// Servers that could not start.
    pub start_failures: StartFailures,
    /// Per server, its silent units in a row per client.
    pub silences: Silences,
    /// Per client: units in a row that ran into the time limit.
    pub stuck_clients: Streaks<ProgramKey>,
    /// Retries of silent units, per program.
    pub retries: Retries,
    /// How busy the machine is, measured while retries run.
    pub pulse: Sampler,
    /// Per fixed (transport, port): held by the unit listening there for a client.
    pub turns: PortTurns,
    /// Units done, for events.
    pub progress: Progress<'a>,
    /// The run's time limit per unit.
    timeout: Duration,
    /// The limit on cases on which the reference gave no answer.
    undefined_timeout: Duration,
}

impl<'a> Shared<'a> {
    /// The shared state of a run of `total` units.
    pub fn new(
        gate: Gate,
        timeout: Duration,
        undefined_timeout: Duration,
        total: usize,
        on_event: &'a (dyn Fn(Event) + Sync),
    ) -> Shared<'a> {
        Shared {
            gate,
            undefined: Undefined::default(),
            start_failures: StartFailures::default(),
            silences: Silences::default(),
            stuck_clients: Streaks::default(),
            retries: Retries::default(),
            pulse: Sampler::default(),
            turns: PortTurns::default(),
            progress: Progress {
                done: Mutex::new(0),
                total,
                on_event,
            },
            timeout,
            undefined_timeout,
        }
    }

    /// The time limit for `unit`: shorter where the reference gave no answer.
    pub fn timeout_for(&self, unit: &Unit) -> Duration {
        time_limit(
            self.undefined.contains(unit),
            self.timeout,
            self.undefined_timeout,
        )
    }

    /// The most `client` may take, given how often it ran into the limit in a row.
    pub fn client_cap(&self, client: &ProgramKey) -> Duration {
        client_cap(self.stuck_clients.count(client))
    }
}

/// Units done so far, reported as they finish.
pub(super) struct Progress<'a> {
    done: Mutex<usize>,
    total: usize,
    on_event: &'a (dyn Fn(Event) + Sync),
}

impl Progress<'_> {
    /// Counts `n` units done without reporting them (taken from a cache).
    pub fn skip(&self, n: usize) {
        *self.done.lock().unwrap_or_else(|p| p.into_inner()) += n;
    }

    /// Counts `unit` done and reports it.
    pub fn unit_done(&self, unit: &Unit) {
        let done = {
            let mut d = self.done.lock().unwrap_or_else(|p| p.into_inner());
            *d += 1;
            *d
        };
        (self.on_event)(Event::UnitDone {
            unit,
            done,
            total: self.total,
        });
    }
}

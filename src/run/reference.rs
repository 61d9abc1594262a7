//! The reference's own units (both sides the reference or the harness): which units they
//! are, what they teach the rest of the run (the cases on which the reference gave no
//! answer get a shorter limit, or are skipped), and reusing them through a
//! [`ReferenceCache`](super::options::ReferenceCache). It learns and remembers; it never
//! runs a unit and never judges one.

use std::collections::BTreeSet;
use std::sync::{Mutex, RwLock};
use std::time::Duration;

use super::cache::Stored;
use super::observe::{Observation, Reply};
use super::options::Executed;
use super::options::Kept;
use super::process::Exit;
use crate::plan::{Side, Unit, UnitKind};
use crate::proto::Transport;

/// Is this side the reference, or the harness?
fn is_reference_or_probe(side: &Side) -> bool {
    match side {
        Side::Impl(n) => n == crate::registry::reference(),
        Side::Probe => true,
    }
}

/// Whether `unit` is one of the reference's own: its observations are the expectations.
pub fn is_reference_unit(unit: &Unit) -> bool {
    is_reference_or_probe(&unit.client) && is_reference_or_probe(&unit.server)
}

/// A case on one axis and transport, for one kind of unit.
type CaseKey = (Option<String>, Transport, UnitKind, String);

fn case_key(unit: &Unit) -> CaseKey {
    (
        unit.axis.clone(),
        unit.transport,
        unit.kind,
        unit.case.name.clone(),
    )
}

/// Whether this reference-only unit shows the reference giving no answer: its pair hung,
/// or its server did not reply to the probe.
fn gave_no_answer(e: &Executed) -> bool {
    no_answer(&e.observation)
}

/// Whether an observation shows no answer: its client never finished, or the server it
/// probed never replied (the reference's hang, or a program's silence).
pub(super) fn no_answer(observation: &Observation) -> bool {
    match observation {
        Observation::Pairing { client, .. } | Observation::ClientProbe { client, .. } => {
            client.exit == Exit::TimedOut
        }
        Observation::ServerProbe { reply, .. } => *reply == Reply::Nothing,
        Observation::NotRun { .. } => false,
    }
}

/// The cases on which the reference gave no answer, learnt as its units finish.
#[derive(Debug, Default)]
pub(super) struct Undefined(RwLock<BTreeSet<CaseKey>>);

impl Undefined {
    /// Whether the reference gave no answer on `unit`'s case (as far as known yet).
    pub fn contains(&self, unit: &Unit) -> bool {
        self.0
            .read()
            .map(|u| u.contains(&case_key(unit)))
            .unwrap_or(false)
    }

    /// Learns from finished units: those of the reference that gave no answer.
    pub fn learn<'e>(&self, finished: impl IntoIterator<Item = &'e Executed>) {
        let mut undefined = self.0.write().unwrap_or_else(|p| p.into_inner());
        for e in finished {
            if is_reference_unit(&e.unit) && gave_no_answer(e) {
                undefined.insert(case_key(&e.unit));
            }
        }
    }
}

/// The time limit for a unit: `undefined_timeout` (if shorter) on a case where the
/// reference gave no answer, whose verdict is `info` whatever the program does.
pub(super) fn time_limit(
    undefined: bool,
    timeout: Duration,
    undefined_timeout: Duration,
) -> Duration {
    if undefined {
        undefined_timeout.min(timeout)
    } else {
        timeout
    }
}

/// Whether a kept observation may stand for running its unit: one observed by this
/// process, or one read from the cache folder unless it shows the reference giving no
/// answer and was seen so only once (a busy machine may have made it late).
fn usable(kept: &Kept, id: &str, stored: &Stored) -> bool {
    !kept.from_disk.contains(id) || stored.confirmed || !no_answer(&stored.observation)
}

/// Takes the reference units already in `kept` instead of running them: fills their
/// slots in `results` (marked as cached), learns from them, and returns the indices of
/// `reference` still to run and how many were taken.
pub(super) fn restore(
    kept: &Kept,
    units: &[Unit],
    reference: Vec<usize>,
    results: &Mutex<Vec<Option<Executed>>>,
    undefined: &Undefined,
) -> (Vec<usize>, usize) {
    let mut all = results.lock().unwrap_or_else(|p| p.into_inner());
    let found_in = |i: &usize| {
        let id = &units[*i].id;
        kept.units.get(id).filter(|s| usable(kept, id, s))
    };
    let (found, to_run): (Vec<usize>, Vec<usize>) =
        reference.into_iter().partition(|i| found_in(i).is_some());
    for &i in &found {
        all[i] = found_in(&i).map(|s| Executed {
            unit: units[i].clone(),
            observation: s.observation.clone(),
            duration_ms: s.duration_ms,
            cached: true,
        });
    }
    undefined.learn(found.iter().filter_map(|&i| all[i].as_ref()));
    (to_run, found.len())
}

/// Keeps this run's units that `which` names in `kept`, for later runs sharing the cache. Units
/// that could not run are not kept; an answer the reference did not give, seen again
/// after it was read from the folder, becomes confirmed.
pub(super) fn keep(
    kept: &mut Kept,
    results: &Mutex<Vec<Option<Executed>>>,
    which: &dyn Fn(&Unit) -> bool,
) {
    let all = results.lock().unwrap_or_else(|p| p.into_inner());
    for e in all.iter().flatten() {
        if !which(&e.unit) || e.cached || matches!(e.observation, Observation::NotRun { .. }) {
            continue;
        }
        let id = &e.unit.id;
        let confirmed = match kept.units.get(id) {
            Some(before) if kept.from_disk.contains(id) => {
                no_answer(&before.observation) && no_answer(&e.observation)
            }
            _ => false,
        };
        kept.units.insert(
            id.clone(),
            Stored {
                observation: e.observation.clone(),
                duration_ms: e.duration_ms,
                confirmed,
            },
        );
        kept.from_disk.remove(id);
        kept.changed = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::testing::{executed, pairing, server_probe, unit};

    #[test]
    fn only_units_between_the_reference_and_the_harness_are_the_references() {
        assert!(is_reference_unit(&unit("python", "python", "a")));
        assert!(is_reference_unit(&unit("probe", "python", "a")));
        assert!(is_reference_unit(&unit("python", "probe", "a")));
        assert!(!is_reference_unit(&unit("rust", "python", "a")));
        assert!(!is_reference_unit(&unit("probe", "rust", "a")));
    }

    #[test]
    fn a_hung_pair_or_a_silent_probe_of_the_reference_makes_its_case_undefined() {
        let undefined = Undefined::default();
        undefined.learn(&[
            executed(unit("python", "python", "hangs"), pairing(Exit::TimedOut)),
            executed(unit("python", "python", "fine"), pairing(Exit::Code(0))),
            executed(
                unit("probe", "python", "silent"),
                server_probe(Reply::Nothing),
            ),
            executed(
                unit("probe", "python", "refused"),
                server_probe(Reply::Refused),
            ),
        ]);
        assert!(undefined.contains(&unit("rust", "python", "hangs")));
        assert!(!undefined.contains(&unit("rust", "python", "fine")));
        assert!(undefined.contains(&unit("probe", "rust", "silent")));
        assert!(!undefined.contains(&unit("probe", "rust", "refused")));
        // Only for the same kind of unit: a client probe of that case is another matter.
        assert!(!undefined.contains(&unit("rust", "probe", "hangs")));
    }

    #[test]
    fn what_others_do_never_makes_a_case_undefined() {
        let undefined = Undefined::default();
        undefined.learn(&[executed(
            unit("rust", "python", "hangs"),
            pairing(Exit::TimedOut),
        )]);
        assert!(!undefined.contains(&unit("rust", "python", "hangs")));
    }

    #[test]
    fn an_undefined_case_gets_the_shorter_of_the_two_limits() {
        let (full, short) = (Duration::from_secs(3), Duration::from_secs(1));
        assert_eq!(time_limit(false, full, short), full);
        assert_eq!(time_limit(true, full, short), short);
        assert_eq!(time_limit(true, short, full), short);
    }

    #[test]
    fn kept_reference_units_are_taken_and_only_the_others_run() {
        let units = vec![
            unit("python", "python", "kept"),
            unit("python", "python", "new"),
        ];
        let mut kept = Kept::default();
        let hung = executed(units[0].clone(), pairing(Exit::TimedOut));
        kept.units.insert(units[0].id.clone(), stored(&hung, false));
        let results = Mutex::new(vec![None, None]);
        let undefined = Undefined::default();
        let (to_run, taken) = restore(&kept, &units, vec![0, 1], &results, &undefined);
        assert_eq!((to_run, taken), (vec![1], 1));
        assert!(results.lock().unwrap()[0].as_ref().unwrap().cached);
        assert!(undefined.contains(&units[0]));

        results.lock().unwrap()[1] = Some(executed(units[1].clone(), pairing(Exit::Code(0))));
        keep(&mut kept, &results, &is_reference_unit);
        assert_eq!(kept.units.len(), 2);
        assert!(kept.changed);
    }

    fn stored(e: &Executed, confirmed: bool) -> Stored {
        Stored {
            observation: e.observation.clone(),
            duration_ms: e.duration_ms,
            confirmed,
        }
    }

    #[test]
    fn a_hang_read_from_disk_is_run_again_until_seen_twice() {
        let units = vec![
            unit("python", "python", "hangs"),
            unit("python", "python", "answers"),
        ];
        let hung = executed(units[0].clone(), pairing(Exit::TimedOut));
        let answered = executed(units[1].clone(), pairing(Exit::Code(0)));
        let mut kept = Kept::default();
        kept.units.insert(units[0].id.clone(), stored(&hung, false));
        kept.units
            .insert(units[1].id.clone(), stored(&answered, false));
        kept.from_disk = kept.units.keys().cloned().collect();
        let results = Mutex::new(vec![None, None]);
        let undefined = Undefined::default();
        // The answer is taken; the hang, seen once, is run again.
        let (to_run, taken) = restore(&kept, &units, vec![0, 1], &results, &undefined);
        assert_eq!((to_run, taken), (vec![0], 1));
        assert!(!undefined.contains(&units[0]));
        // Seen hanging again: confirmed, and taken from then on.
        results.lock().unwrap()[0] = Some(hung.clone());
        keep(&mut kept, &results, &is_reference_unit);
        assert!(kept.units[&units[0].id].confirmed);
        kept.from_disk = kept.units.keys().cloned().collect();
        let results = Mutex::new(vec![None, None]);
        let (to_run, taken) = restore(&kept, &units, vec![0, 1], &results, &undefined);
        assert_eq!((to_run, taken), (vec![], 2));
    }

    #[test]
    fn a_hang_that_answers_when_run_again_is_not_confirmed() {
        let u = unit("python", "python", "late");
        let mut kept = Kept::default();
        let hung = executed(u.clone(), pairing(Exit::TimedOut));
        kept.units.insert(u.id.clone(), stored(&hung, false));
        kept.from_disk.insert(u.id.clone());
        let results = Mutex::new(vec![Some(executed(u.clone(), pairing(Exit::Code(0))))]);
        keep(&mut kept, &results, &is_reference_unit);
        assert!(!kept.units[&u.id].confirmed);
        assert!(!no_answer(&kept.units[&u.id].observation));
    }

    #[test]
    fn units_that_could_not_run_or_came_from_the_cache_are_not_kept_again() {
        let u = unit("python", "python", "a");
        let mut kept = Kept::default();
        let mut cached = executed(u.clone(), pairing(Exit::Code(0)));
        cached.cached = true;
        let not_run = executed(
            unit("python", "python", "b"),
            Observation::NotRun {
                reason: crate::run::observe::NotRunReason::RunTimedOut,
            },
        );
        keep(
            &mut kept,
            &Mutex::new(vec![Some(cached), Some(not_run)]),
            &is_reference_unit,
        );
        assert!(kept.units.is_empty());
        assert!(!kept.changed);
    }
}

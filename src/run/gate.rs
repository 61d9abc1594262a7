//! Whether a unit may start at all: the run's deadline has passed, the reference gave no
//! answer on its case and the run skips those, or one of its programs failed to build.
//! It decides before anything starts; it never starts or stops a program.

use std::time::Instant;

use super::build::BuildFailures;
use super::observe::NotRunReason;
use super::reference::{is_reference_unit, Undefined};
use crate::plan::{Side, Unit};

/// What keeps units from starting, for a whole run.
#[derive(Debug)]
pub(super) struct Gate {
    /// When the run's time is up: units not started by then are not run.
    deadline: Option<Instant>,
    /// Whether units of cases on which the reference gave no answer are skipped.
    skip_undefined: bool,
    /// Failed builds, keyed by (axis, name).
    build_failures: BuildFailures,
}

impl Gate {
    /// A gate for a run ending at `deadline`.
    pub fn new(
        deadline: Option<Instant>,
        skip_undefined: bool,
        build_failures: BuildFailures,
    ) -> Gate {
        Gate {
            deadline,
            skip_undefined,
            build_failures,
        }
    }

    /// Why `unit` (on `axis`) must not start at `now`, if it must not; the first reason
    /// that applies, in this order: the deadline, a skipped case, a failed build (client
    /// first).
    pub fn refuse(
        &self,
        unit: &Unit,
        axis: usize,
        now: Instant,
        undefined: &Undefined,
    ) -> Option<NotRunReason> {
        if self.deadline.is_some_and(|d| now > d) {
            return Some(NotRunReason::RunTimedOut);
        }
        if self.skip_undefined && !is_reference_unit(unit) && undefined.contains(unit) {
            return Some(NotRunReason::ReferenceUndefined);
        }
        [&unit.client, &unit.server]
            .into_iter()
            .find_map(|side| match side {
                Side::Impl(name) => self
                    .build_failures
                    .get(&(axis, name.clone()))
                    .map(|msg| NotRunReason::BuildFailed(msg.clone())),
                Side::Probe => None,
            })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use super::*;
    use crate::run::process::Exit;
    use crate::run::testing::{executed, pairing, unit};

    fn failed(name: &str) -> BuildFailures {
        BTreeMap::from([((0, name.to_string()), format!("{name} broke"))])
    }

    #[test]
    fn nothing_starts_after_the_deadline_whatever_else_holds() {
        let now = Instant::now();
        let gate = Gate::new(Some(now), true, failed("rust"));
        let later = now + Duration::from_millis(1);
        let u = unit("rust", "python", "a");
        let none = Undefined::default();
        assert_eq!(
            gate.refuse(&u, 0, now, &none),
            Some(NotRunReason::BuildFailed("rust broke".into()))
        );
        assert_eq!(
            gate.refuse(&u, 0, later, &none),
            Some(NotRunReason::RunTimedOut)
        );
    }

    #[test]
    fn an_undefined_case_is_skipped_only_when_asked_and_never_for_the_reference() {
        let undefined = Undefined::default();
        undefined.learn(&[executed(
            unit("python", "python", "hangs"),
            pairing(Exit::TimedOut),
        )]);
        let now = Instant::now();
        let skipping = Gate::new(None, true, BuildFailures::new());
        let running = Gate::new(None, false, BuildFailures::new());
        let other = unit("rust", "python", "hangs");
        assert_eq!(
            skipping.refuse(&other, 0, now, &undefined),
            Some(NotRunReason::ReferenceUndefined)
        );
        assert_eq!(running.refuse(&other, 0, now, &undefined), None);
        let reference = unit("python", "python", "hangs");
        assert_eq!(skipping.refuse(&reference, 0, now, &undefined), None);
    }

    #[test]
    fn a_failed_build_of_either_side_stops_the_unit_on_its_own_axis_only() {
        let gate = Gate::new(None, false, failed("java"));
        let none = Undefined::default();
        let now = Instant::now();
        let broke = Some(NotRunReason::BuildFailed("java broke".into()));
        assert_eq!(
            gate.refuse(&unit("java", "python", "a"), 0, now, &none),
            broke
        );
        assert_eq!(
            gate.refuse(&unit("python", "java", "a"), 0, now, &none),
            broke
        );
        assert_eq!(
            gate.refuse(&unit("probe", "java", "a"), 1, now, &none),
            None
        );
        assert_eq!(
            gate.refuse(&unit("python", "python", "a"), 0, now, &none),
            None
        );
    }
}

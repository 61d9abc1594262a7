//! Programs that keep not answering. A deadlock repeats on every such request and after
//! every restart, so after [`STUCK_AFTER`] silent units in a row a server gets a short
//! limit for that client, and a client that keeps running into the limit (it never
//! exits) gets a shorter one: the verdicts are the same, sooner. It counts and decides;
//! it never runs or stops anything.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::context::ProgramKey;

/// After this many silent units in a row, a server is taken to be stuck and gets
/// [`STUCK_TIMEOUT`] per unit.
const STUCK_AFTER: u32 = 3;
/// The limit for a server taken to be stuck.
const STUCK_TIMEOUT: Duration = Duration::from_millis(500);
/// The limit for a client that ran into the limit on [`STUCK_AFTER`] units in a row:
/// long enough for a slow start (a JVM), and the verdict is the same.
const STUCK_CLIENT_TIMEOUT: Duration = Duration::from_secs(1);

/// `limit`, shortened for a server that sent this client nothing on `silent` units in a
/// row.
pub(super) fn server_limit(silent: u32, limit: Duration) -> Duration {
    if silent >= STUCK_AFTER {
        limit.min(STUCK_TIMEOUT)
    } else {
        limit
    }
}

/// The most a client that ran into the limit on `timed_out` units in a row may take.
pub(super) fn client_cap(timed_out: u32) -> Duration {
    if timed_out >= STUCK_AFTER {
        STUCK_CLIENT_TIMEOUT
    } else {
        Duration::MAX
    }
}

/// Per key, how many units in a row something happened on.
#[derive(Debug)]
pub(super) struct Streaks<K>(Mutex<BTreeMap<K, u32>>);

impl<K> Default for Streaks<K> {
    fn default() -> Self {
        Streaks(Mutex::new(BTreeMap::new()))
    }
}

impl<K: Ord> Streaks<K> {
    /// Units in a row for `key`.
    pub fn count<Q>(&self, key: &Q) -> u32
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let streaks = self.0.lock().unwrap_or_else(|p| p.into_inner());
        streaks.get(key).copied().unwrap_or(0)
    }

    /// Counts one more unit for `key` when it `happened`, and starts over when not.
    pub fn note<Q>(&self, key: &Q, happened: bool)
    where
        K: Borrow<Q>,
        Q: Ord + ToOwned<Owned = K> + ?Sized,
    {
        let mut streaks = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = streaks.get(key).copied().unwrap_or(0);
        streaks.insert(key.to_owned(), if happened { n + 1 } else { 0 });
    }
}

/// Per server, its silent units in a row per client (a name, or `probe`), shared by all
/// its instances on every lane. Counted per client because another client may not
/// trigger the deadlock (one that half-closes frees a server waiting for a newline).
#[derive(Debug, Default)]
pub(super) struct Silences(Mutex<BTreeMap<ProgramKey, Arc<Streaks<String>>>>);

impl Silences {
    /// The counts of `server`, for one of its instances.
    pub fn of(&self, server: &ProgramKey) -> Arc<Streaks<String>> {
        let mut all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(all.entry(server.clone()).or_default())
    }
}

/// Retries of a silent unit a program may have in a run. A silence (a client that never
/// finished, a server that never answered) on a busy machine may be the machine's: the
/// unit runs once more before it counts, but a program whose silence a retry confirms
/// gets no more, so a program that really hangs costs only a few extra limits.
const RETRIES: u32 = 2;

/// Retries that answered a program may have in a run: each shows the machine was the
/// cause and is given back, up to this many, so that a program that is slow only when
/// the machine is keeps being retried, and one that flickers cannot double the run.
const RETRIES_ANSWERED: u32 = 8;

/// Per program: the retries it has used, and how many of them answered.
#[derive(Debug, Default, Clone, Copy)]
struct Used {
    taken: u32,
    answered: u32,
}

/// Per program: retries left, and whether a retry confirmed its silence.
#[derive(Debug, Default)]
pub(super) struct Retries(Mutex<BTreeMap<ProgramKey, Used>>);

impl Retries {
    /// Takes one retry for `program`, if it has any left.
    pub fn take(&self, program: &ProgramKey) -> bool {
        let mut used = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let u = used.entry(program.clone()).or_default();
        let silent = u.taken - u.answered.min(RETRIES_ANSWERED);
        if silent >= RETRIES || u.taken >= RETRIES + RETRIES_ANSWERED {
            return false;
        }
        u.taken += 1;
        true
    }

    /// A retry of `program` answered: the silence before it was the machine's, and the
    /// retry is given back.
    pub fn answered(&self, program: &ProgramKey) {
        let mut used = self.0.lock().unwrap_or_else(|p| p.into_inner());
        used.entry(program.clone()).or_default().answered += 1;
    }

    /// A retry of `program` was silent too: it gets no more.
    pub fn confirmed(&self, program: &ProgramKey) {
        let mut used = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let u = used.entry(program.clone()).or_default();
        u.taken = u.taken.max(RETRIES + RETRIES_ANSWERED);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_silent_three_times_in_a_row_gets_the_short_limit() {
        let limit = Duration::from_secs(3);
        assert_eq!(server_limit(2, limit), limit);
        assert_eq!(server_limit(3, limit), STUCK_TIMEOUT);
        // Never longer than the unit's own limit.
        assert_eq!(
            server_limit(5, Duration::from_millis(100)),
            Duration::from_millis(100)
        );
    }

    #[test]
    fn a_client_that_keeps_timing_out_is_capped_and_others_are_not() {
        assert_eq!(client_cap(0), Duration::MAX);
        assert_eq!(client_cap(2), Duration::MAX);
        assert_eq!(client_cap(3), STUCK_CLIENT_TIMEOUT);
    }

    #[test]
    fn a_streak_counts_in_a_row_and_one_answer_starts_it_over() {
        let streaks: Streaks<String> = Streaks::default();
        streaks.note("java", true);
        streaks.note("java", true);
        streaks.note("probe", false);
        assert_eq!(streaks.count("java"), 2);
        assert_eq!(streaks.count("probe"), 0);
        streaks.note("java", false);
        assert_eq!(streaks.count("java"), 0);
        assert_eq!(streaks.count("never-seen"), 0);
    }

    #[test]
    fn instances_of_one_server_share_its_silences_and_other_servers_do_not() {
        let silences = Silences::default();
        let a = (0, crate::proto::Transport::Tcp, "java".to_string());
        let b = (0, crate::proto::Transport::Udp, "java".to_string());
        silences.of(&a).note("probe", true);
        assert_eq!(silences.of(&a).count("probe"), 1);
        assert_eq!(silences.of(&b).count("probe"), 0);
    }

    #[test]
    fn a_program_gets_two_retries_and_none_once_one_confirms_its_silence() {
        let retries = Retries::default();
        let a: ProgramKey = (0, crate::proto::Transport::Udp, "a".into());
        let b: ProgramKey = (0, crate::proto::Transport::Udp, "b".into());
        assert!(retries.take(&a));
        assert!(retries.take(&a));
        assert!(!retries.take(&a));
        assert!(retries.take(&b));
        retries.confirmed(&b);
        assert!(!retries.take(&b));
    }

    #[test]
    fn a_retry_that_answered_is_given_back_a_few_times() {
        let retries = Retries::default();
        let a: ProgramKey = (0, crate::proto::Transport::Tcp, "slow-java".into());
        let mut given = 0;
        for _ in 0..100 {
            if !retries.take(&a) {
                break;
            }
            retries.answered(&a);
            given += 1;
        }
        assert_eq!(given, RETRIES + RETRIES_ANSWERED);
        // Two that stay silent, after answers, still end the retries.
        let b: ProgramKey = (0, crate::proto::Transport::Tcp, "hangs".into());
        assert!(retries.take(&b));
        retries.answered(&b);
        assert!(retries.take(&b));
        assert!(retries.take(&b));
        assert!(!retries.take(&b));
    }
}

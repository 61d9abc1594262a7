//! Scheduling: lanes (one server's units, split when heavy so every job has work), the
//! order they are taken in (the reference's first, heaviest first), and the barrier
//! that holds the other lanes back until the reference's are done, when they must know
//! first where the reference gave no answer. It runs lanes through a callback and knows
//! nothing of what a lane does.

use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex};

use crate::plan::{Side, Unit};
use crate::proto::Transport;

/// Lanes fewer than this many times the jobs: heavy lanes are split until there are.
const LANES_PER_JOB: usize = 4;

/// Lanes shorter than this are never split: each split starts one more server.
const SPLIT_FROM: usize = 8;

/// A lane: indices of units sharing one server, run in order on one thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Lane {
    /// The units, by index.
    pub units: Vec<usize>,
    /// Whether they are the reference's own units.
    pub reference: bool,
}

/// Groups unit indices by (axis, transport, server), splitting heavy groups so that every
/// job has work; sorted so the heaviest lane (by `cost`) is last, popped first.
pub(super) fn make_lanes(
    units: &[Unit],
    indices: Vec<usize>,
    jobs: usize,
    cost: impl Fn(&Unit) -> u64,
) -> Vec<Vec<usize>> {
    let mut groups: BTreeMap<(Option<String>, Transport, Side), Vec<usize>> = BTreeMap::new();
    for i in indices {
        let u = &units[i];
        groups
            .entry((u.axis.clone(), u.transport, u.server.clone()))
            .or_default()
            .push(i);
    }
    let weight = |lane: &[usize]| lane.iter().map(|&i| cost(&units[i])).sum::<u64>();
    let mut lanes: Vec<Vec<usize>> = groups.into_values().collect();
    while lanes.len() < jobs.max(1) * LANES_PER_JOB {
        lanes.sort_by_cached_key(|l| weight(l));
        match lanes.last() {
            Some(l) if l.len() >= SPLIT_FROM => {
                let mut big = lanes.pop().unwrap_or_default();
                let tail = big.split_off(half_weight(&big, |i| cost(&units[i])));
                lanes.push(big);
                lanes.push(tail);
            }
            _ => break,
        }
    }
    lanes.sort_by_cached_key(|l| weight(l));
    lanes
}

/// Where to split `lane` (at least 2 long) so the first half carries half the weight;
/// never at either end.
fn half_weight(lane: &[usize], cost: impl Fn(usize) -> u64) -> usize {
    let half = lane.iter().map(|&i| cost(i)).sum::<u64>() / 2;
    let mut sum = 0;
    lane.iter()
        .position(|&i| {
            sum += cost(i);
            sum >= half
        })
        .unwrap_or(lane.len() / 2)
        .clamp(1, lane.len() - 1)
}

/// The lanes of a run in the order they are taken (popped from the end): the
/// reference's first, so that the expectations are known as early as possible.
pub(super) fn queue(
    units: &[Unit],
    reference: Vec<usize>,
    others: Vec<usize>,
    jobs: usize,
    cost: impl Fn(&Unit) -> u64,
) -> Vec<Lane> {
    let lanes = |indices, reference| {
        make_lanes(units, indices, jobs, &cost)
            .into_iter()
            .map(move |units| Lane { units, reference })
    };
    lanes(others, false).chain(lanes(reference, true)).collect()
}

/// Runs every lane of `queue` with `run`, on `jobs` threads. The other lanes wait for
/// the reference's to finish only when `others_wait` (otherwise the verdicts would not
/// depend on it, only a unit's time limit). `after_reference` is called on this thread
/// once every reference lane is done, while the others may still run.
pub(super) fn run_lanes(
    queue: Vec<Lane>,
    jobs: usize,
    others_wait: bool,
    run: impl Fn(&[usize]) + Sync,
    after_reference: impl FnOnce(),
) {
    let pending = Barrier::new(queue.iter().filter(|l| l.reference).count());
    let queue = Mutex::new(queue);
    let next = || queue.lock().ok().and_then(|mut q| q.pop());
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| {
                while let Some(lane) = next() {
                    if !lane.reference && others_wait {
                        pending.wait();
                    }
                    // Counted even if the lane panics, so that nobody waits forever.
                    let _counted = lane.reference.then(|| LaneDone(&pending));
                    run(&lane.units);
                }
            });
        }
        pending.wait();
        after_reference();
    });
}

/// Counts lanes still running and lets threads wait for none to be left.
struct Barrier {
    left: Mutex<usize>,
    zero: Condvar,
}

impl Barrier {
    fn new(left: usize) -> Barrier {
        Barrier {
            left: Mutex::new(left),
            zero: Condvar::new(),
        }
    }

    fn wait(&self) {
        let mut left = self.left.lock().unwrap_or_else(|p| p.into_inner());
        while *left > 0 {
            left = self.zero.wait(left).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn done_one(&self) {
        let mut left = self.left.lock().unwrap_or_else(|p| p.into_inner());
        *left = left.saturating_sub(1);
        if *left == 0 {
            self.zero.notify_all();
        }
    }
}

/// Counts one reference lane as done when dropped.
struct LaneDone<'a>(&'a Barrier);

impl Drop for LaneDone<'_> {
    fn drop(&mut self) {
        self.0.done_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::testing::unit;

    /// `n` units of each server in `servers`, in that order.
    fn units(servers: &[(&str, usize)]) -> Vec<Unit> {
        servers
            .iter()
            .flat_map(|&(server, n)| (0..n).map(move |k| unit("rust", server, &format!("c{k}"))))
            .collect()
    }

    #[test]
    fn lanes_hold_one_server_each_and_the_heaviest_is_taken_first() {
        let units = units(&[("a", 2), ("b", 5), ("c", 1)]);
        let lanes = make_lanes(&units, (0..units.len()).collect(), 1, |_| 1);
        assert_eq!(lanes, vec![vec![7], vec![0, 1], vec![2, 3, 4, 5, 6]]);
    }

    #[test]
    fn a_heavy_lane_is_split_where_half_its_weight_lies_and_keeps_its_order() {
        let units = units(&[("a", 10)]);
        // The first unit outweighs the nine others together.
        let cost = |u: &Unit| if u.case.name == "c0" { 100 } else { 1 };
        let lanes = make_lanes(&units, (0..10).collect(), 1, cost);
        assert_eq!(lanes.len(), 2);
        assert!(lanes.contains(&vec![0]));
        assert!(lanes.contains(&(1..10).collect::<Vec<_>>()));
    }

    #[test]
    fn short_lanes_are_never_split_and_splitting_stops_at_four_per_job() {
        let short = units(&[("a", 7)]);
        assert_eq!(make_lanes(&short, (0..7).collect(), 2, |_| 1).len(), 1);
        let long = units(&[("a", 64)]);
        let lanes = make_lanes(&long, (0..64).collect(), 1, |_| 1);
        assert_eq!(lanes.len(), LANES_PER_JOB);
        let mut all: Vec<usize> = lanes.concat();
        all.sort_unstable();
        assert_eq!(all, (0..64).collect::<Vec<_>>());
    }

    #[test]
    fn a_split_never_leaves_an_empty_half() {
        assert_eq!(half_weight(&[0, 1], |_| 1), 1);
        assert_eq!(half_weight(&[0, 1, 2], |i| if i == 2 { 100 } else { 0 }), 2);
        assert_eq!(half_weight(&[0, 1, 2], |i| if i == 0 { 100 } else { 0 }), 1);
    }

    #[test]
    fn the_references_lanes_are_popped_before_the_others() {
        let units = units(&[("python", 2), ("rust", 2)]);
        let mut q = queue(&units, vec![0, 1], vec![2, 3], 1, |_| 1);
        assert_eq!(q.pop().map(|l| l.reference), Some(true));
        assert!(q.iter().all(|l| !l.reference));
    }

    #[test]
    fn others_wait_for_every_reference_lane_when_asked() {
        let lanes = vec![
            Lane {
                units: vec![0],
                reference: false,
            },
            Lane {
                units: vec![1],
                reference: false,
            },
            Lane {
                units: vec![2],
                reference: true,
            },
            Lane {
                units: vec![3],
                reference: true,
            },
        ];
        let log = Mutex::new(Vec::new());
        let seen_after = Mutex::new(Vec::new());
        run_lanes(
            lanes,
            2,
            true,
            |lane| {
                // The reference lanes take a while, so that an early start would show.
                if lane[0] >= 2 {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                log.lock().unwrap().push(lane[0]);
            },
            || {
                seen_after
                    .lock()
                    .unwrap()
                    .extend(log.lock().unwrap().iter().copied())
            },
        );
        let log = log.into_inner().unwrap();
        assert_eq!(log.len(), 4);
        let first_two: Vec<usize> = log[..2].to_vec();
        assert!(first_two.iter().all(|&i| i >= 2), "{log:?}");
        let seen = seen_after.into_inner().unwrap();
        assert!(seen.contains(&2) && seen.contains(&3), "{seen:?}");
    }

    #[test]
    fn a_reference_lane_that_panics_still_counts_as_done() {
        let barrier = Barrier::new(1);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _counted = LaneDone(&barrier);
            panic!("lane failed");
        }));
        assert!(r.is_err());
        // Returns at once: nothing left.
        barrier.wait();
    }
}

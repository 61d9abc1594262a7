//! A small pool of worker threads for independent jobs numbered `0..count`: `shout grade`
//! grades several submissions at once with it.
//!
//! It only schedules. It starts no process itself, knows nothing of what a job does,
//! decides nothing about its result and never prints.

use std::sync::{Mutex, PoisonError};

/// Runs `work(i)` for every `i` in `0..count` on `workers` threads (at least one), each
/// thread taking the lowest job not yet taken as soon as it is free. After each job,
/// `finished(i, done)` is called on the thread that ran it, with the number of jobs
/// finished so far, this one included. Returns the results in job order.
///
/// A panic in a job or in `finished` is raised again here once every thread has stopped.
pub fn run_indexed<T, W, F>(count: usize, workers: usize, work: W, finished: F) -> Vec<T>
where
    T: Send,
    W: Fn(usize) -> T + Sync,
    F: Fn(usize, usize) + Sync,
{
    // Popped from the end: the lowest index first.
    let queue = Mutex::new((0..count).rev().collect::<Vec<_>>());
    let results: Mutex<Vec<Option<T>>> = Mutex::new((0..count).map(|_| None).collect());
    let done = Mutex::new(0usize);
    std::thread::scope(|scope| {
        for _ in 0..workers.max(1) {
            scope.spawn(|| loop {
                let next = queue.lock().unwrap_or_else(PoisonError::into_inner).pop();
                let Some(i) = next else { break };
                let result = work(i);
                results.lock().unwrap_or_else(PoisonError::into_inner)[i] = Some(result);
                let n = {
                    let mut d = done.lock().unwrap_or_else(PoisonError::into_inner);
                    *d += 1;
                    *d
                };
                finished(i, n);
            });
        }
    });
    // Every job ran: a thread stops only when the queue is empty or on a panic, which
    // `scope` has raised again before this point.
    results
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
        .into_iter()
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn results_come_back_in_job_order_whatever_finishes_first() {
        let results = run_indexed(
            6,
            3,
            |i| {
                // Early jobs take longest, so later ones finish first.
                std::thread::sleep(std::time::Duration::from_millis(5 * (6 - i as u64)));
                i * 10
            },
            |_, _| {},
        );
        assert_eq!(results, [0, 10, 20, 30, 40, 50]);
    }

    #[test]
    fn every_job_is_reported_once_with_a_running_count() {
        let seen = Mutex::new(Vec::new());
        run_indexed(5, 2, |i| i, |i, done| seen.lock().unwrap().push((i, done)));
        let seen = seen.into_inner().unwrap();
        let jobs: BTreeSet<usize> = seen.iter().map(|(i, _)| *i).collect();
        let counts: BTreeSet<usize> = seen.iter().map(|(_, n)| *n).collect();
        assert_eq!(jobs, (0..5).collect());
        assert_eq!(counts, (1..=5).collect());
    }

    #[test]
    fn one_worker_takes_the_jobs_in_order() {
        let order = Mutex::new(Vec::new());
        run_indexed(4, 1, |i| order.lock().unwrap().push(i), |_, _| {});
        assert_eq!(order.into_inner().unwrap(), [0, 1, 2, 3]);
    }

    #[test]
    fn zero_workers_still_runs_every_job() {
        assert_eq!(run_indexed(3, 0, |i| i, |_, _| {}), [0, 1, 2]);
    }
}

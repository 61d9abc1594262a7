//! How busy the machine is, measured rather than guessed: a thread spins for a few
//! milliseconds of its own CPU time and compares that with the wall time it took. On an
//! idle core the two are equal; with ten runnable tasks per core the wall time is about
//! ten times the CPU time, and so is everything else this run starts. A silent unit's
//! retry is given that much longer; while it runs, a [`Sampler`] measures again every
//! tenth of a second, and a machine that stayed too busy for any fair limit (the median
//! over the retry, so that one burst of starting JVMs does not decide it) is named as
//! the reason instead of the program.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// CPU time the measurement spends: a few scheduler slices, so one preemption does not
/// decide it.
const SPIN: Duration = Duration::from_millis(12);

/// The most wall time the measurement may take: past it, the machine is at least this
/// slow, which is all a caller needs to know.
const MOST_WALL: Duration = Duration::from_secs(2);

/// The most a retry's time limit is stretched.
pub const MOST_STRETCH: u32 = 10;

/// A retry's stretched limit must still be worth at least this share of the limit on an
/// idle machine (its limit times the stretch, over the slowdown) for its silence to
/// count: with the stretch at its most, a machine over twenty times slower than idle is
/// too busy to grade fairly, and a silence there is not held against anyone.
const LEAST_SHARE_OF_LIMIT: f64 = 0.5;

/// How often the sampler measures, and the CPU time each measurement spends.
const EVERY: Duration = Duration::from_millis(100);
const SAMPLE_SPIN: Duration = Duration::from_millis(2);

/// The most samples kept (ten minutes' worth).
const KEPT: usize = 6000;

/// How many times slower than an idle core this thread runs now: wall time over its own
/// CPU time for a short spin, at least 1.
pub fn slowdown() -> f64 {
    spin_for(SPIN)
}

fn spin_for(spin: Duration) -> f64 {
    let started = Instant::now();
    let cpu_at_start = thread_cpu();
    let mut spins: u64 = 0;
    loop {
        for _ in 0..1000 {
            spins = std::hint::black_box(spins.wrapping_add(1));
        }
        let wall = started.elapsed();
        let cpu = thread_cpu().saturating_sub(cpu_at_start);
        if cpu >= spin || wall >= MOST_WALL {
            let cpu = cpu.max(Duration::from_micros(100));
            return (wall.as_secs_f64() / cpu.as_secs_f64()).max(1.0);
        }
    }
}

/// The limit stretch for a machine `slowdown` times slower than idle: whole times,
/// between 1 and [`MOST_STRETCH`].
pub fn stretch(slowdown: f64) -> u32 {
    (slowdown.ceil() as u32).clamp(1, MOST_STRETCH)
}

/// Whether a machine `slowdown` times slower than idle is too busy for a stretched limit
/// to make up for it: the retry had less than half its limit's worth of an idle core.
pub fn too_busy(slowdown: f64) -> bool {
    f64::from(stretch(slowdown)) / slowdown < LEAST_SHARE_OF_LIMIT
}

/// Measurements of [`slowdown`] on a thread of their own, every [`EVERY`], from the
/// first time they are asked for until the sampler is dropped.
#[derive(Default)]
pub struct Sampler {
    running: OnceLock<Running>,
}

struct Running {
    samples: Arc<Mutex<VecDeque<(Instant, f64)>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Sampler {
    /// The median slowdown measured since `since` (with one more measured now): how much
    /// slower than idle the machine ran over that time. Starts the sampling thread the
    /// first time.
    pub fn since(&self, since: Instant) -> f64 {
        let running = self.running.get_or_init(Running::start);
        let mut values: Vec<f64> = running
            .samples
            .lock()
            .map(|s| {
                s.iter()
                    .filter(|(at, _)| *at >= since)
                    .map(|(_, v)| *v)
                    .collect()
            })
            .unwrap_or_default();
        values.push(slowdown());
        median(&mut values)
    }
}

impl Running {
    fn start() -> Running {
        let samples: Arc<Mutex<VecDeque<(Instant, f64)>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (Arc::clone(&samples), Arc::clone(&stop));
        let thread = std::thread::Builder::new()
            .name("shout-pulse".into())
            .spawn(move || {
                while !st.load(Ordering::Relaxed) {
                    std::thread::sleep(EVERY);
                    let value = spin_for(SAMPLE_SPIN);
                    if let Ok(mut s) = s.lock() {
                        if s.len() >= KEPT {
                            s.pop_front();
                        }
                        s.push_back((Instant::now(), value));
                    }
                }
            })
            .ok();
        Running {
            samples,
            stop,
            thread,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The median of `values` (not empty).
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// This thread's CPU time so far.
fn thread_cpu() -> Duration {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime(2) writes one timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_is_the_middle_one_or_between_the_middle_two() {
        assert_eq!(median(&mut [3.0, 1.0, 40.0]), 3.0);
        assert_eq!(median(&mut [2.0, 1.0, 40.0, 4.0]), 3.0);
        assert_eq!(median(&mut [7.0]), 7.0);
    }

    #[test]
    fn a_sampler_measures_over_a_window_and_stops_with_its_owner() {
        let sampler = Sampler::default();
        let since = Instant::now();
        let first = sampler.since(since);
        std::thread::sleep(Duration::from_millis(350));
        let over = sampler.since(since);
        assert!(first >= 1.0 && over >= 1.0);
        let kept = sampler.running.get().unwrap().samples.lock().unwrap().len();
        assert!(kept >= 1, "samples every tenth of a second: {kept}");
        drop(sampler);
    }

    #[test]
    fn the_stretch_is_whole_times_and_bounded() {
        assert_eq!(stretch(1.0), 1);
        assert_eq!(stretch(1.2), 2);
        assert_eq!(stretch(4.0), 4);
        assert_eq!(stretch(55.0), MOST_STRETCH);
        assert!(!too_busy(1.0));
        assert!(!too_busy(9.9));
        assert!(!too_busy(19.9), "a stretch of 10 is half of 19.9");
        assert!(too_busy(20.5));
    }

    #[test]
    fn a_thread_sharing_its_core_with_spinners_measures_itself_slower() {
        // Alone on whatever this machine gives it, then with spinners pinned to the same
        // core: the second is slower by about the number of tasks sharing the core.
        let core = current_core();
        let alone = (0..3)
            .map(|_| on_core(core, slowdown))
            .fold(f64::MAX, f64::min);
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let spinners: Vec<_> = (0..3)
            .map(|_| {
                let stop = std::sync::Arc::clone(&stop);
                std::thread::spawn(move || {
                    on_core(core, || {
                        let deadline = Instant::now() + Duration::from_secs(10);
                        while !stop.load(std::sync::atomic::Ordering::Relaxed)
                            && Instant::now() < deadline
                        {
                            std::hint::spin_loop();
                        }
                    })
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(50));
        let shared = (0..2).map(|_| on_core(core, slowdown)).fold(0.0, f64::max);
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for s in spinners {
            s.join().unwrap();
        }
        assert!(alone >= 1.0);
        assert!(
            shared >= alone + 1.5,
            "alone {alone:.2}, sharing one core with 3 spinners {shared:.2}"
        );
    }

    fn current_core() -> usize {
        // SAFETY: sched_getcpu(3) takes nothing.
        let c = unsafe { libc::sched_getcpu() };
        c.max(0) as usize
    }

    fn on_core<T>(core: usize, f: impl FnOnce() -> T) -> T {
        // SAFETY: a zeroed cpu_set_t is an empty set; CPU_SET adds one core to it, and
        // sched_setaffinity(2) on thread 0 (this one) reads it.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(core, &mut set);
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
        }
        f()
    }
}

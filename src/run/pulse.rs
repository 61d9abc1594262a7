//! How busy the machine is right now, measured rather than guessed: a thread spins for a
//! few milliseconds of its own CPU time and compares that with the wall time it took.
//! On an idle core the two are equal; with ten runnable tasks per core the wall time is
//! about ten times the CPU time, and so is everything else this run starts. A silent
//! unit's retry is given that much longer, and a machine too busy for any fair limit is
//! named as the reason instead of the program.

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

/// How many times slower than an idle core this thread runs now: wall time over its own
/// CPU time for a short spin, at least 1.
pub fn slowdown() -> f64 {
    let started = Instant::now();
    let cpu_at_start = thread_cpu();
    let mut spins: u64 = 0;
    loop {
        for _ in 0..1000 {
            spins = std::hint::black_box(spins.wrapping_add(1));
        }
        let wall = started.elapsed();
        let cpu = thread_cpu().saturating_sub(cpu_at_start);
        if cpu >= SPIN || wall >= MOST_WALL {
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

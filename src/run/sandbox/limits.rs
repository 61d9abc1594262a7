//! The resource limits every confined child gets, and their defaults.
//!
//! Plain data: this file applies nothing (see `pre_exec`) and never starts a process.

/// Resource limits for one confined child (and, for the process count, everything it
/// starts). The defaults suit the textbook socket programs and their toolchains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// CPU time per process, in seconds (`RLIMIT_CPU`): SIGXCPU at this, SIGKILL a second
    /// later. It bounds busy loops; a process that sleeps is ended by the caller's timeout.
    pub cpu_seconds: u64,
    /// Address space per process, in bytes (`RLIMIT_AS`). It is virtual memory, not
    /// memory in use: the JVM reserves a 1 GiB class space and half the limit for its heap
    /// up front, so `java` does not start below about 4 GiB.
    pub memory_bytes: u64,
    /// Processes and threads alive at once in the child's pids cgroup (`pids.max`); also
    /// `RLIMIT_NPROC` when there is no cgroup to enforce it.
    pub processes: u64,
    /// Largest file a process may write, in bytes (`RLIMIT_FSIZE`).
    pub file_size_bytes: u64,
    /// Open file descriptors per process (`RLIMIT_NOFILE`).
    pub open_files: u64,
}

impl Default for Limits {
    /// 10 s of CPU, 4 GiB of address space (the least `java` and `javac` start with), 64
    /// processes, 16 MiB files and 256 descriptors.
    fn default() -> Limits {
        Limits {
            cpu_seconds: 10,
            memory_bytes: 4 << 30,
            processes: 64,
            file_size_bytes: 16 << 20,
            open_files: 256,
        }
    }
}

//! Child processes: each in its own process group, stdin null or a given byte string,
//! stdout and stderr drained on their own threads into capped buffers, and the whole
//! group killed on timeout, on drop, and on Ctrl-C. Nothing here decides verdicts.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, ExitStatus};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::launch;
pub use super::launch::Launch;

/// How long a group gets between SIGTERM and SIGKILL.
pub const GRACE: Duration = Duration::from_millis(200);

/// What to start.
#[derive(Debug, Clone, Default)]
pub struct Spawn {
    /// Program and arguments; never run through a shell.
    pub argv: Vec<OsString>,
    /// Working directory, if not the current one.
    pub cwd: Option<PathBuf>,
    /// Extra environment variables.
    pub env: Vec<(OsString, OsString)>,
    /// Bytes written to stdin before it is closed; `None` gives a null stdin.
    pub stdin: Option<Vec<u8>>,
    /// Most bytes kept of stdout and of stderr each; the rest is counted and dropped.
    pub capture_limit: usize,
    /// Confinement for untrusted programs (limits, namespaces), applied in the child.
    pub confine: Option<Arc<dyn Confine>>,
}

/// Confinement applied to a child between its start and `exec` (for example resource
/// limits, a private `/etc/hosts`, an unprivileged user, a pids cgroup).
pub trait Confine: Send + Sync + std::fmt::Debug {
    /// Adjusts `cmd` before it is spawned (typically installing a `pre_exec` hook) and
    /// returns the handle that ends everything this one child starts. `passed` is the
    /// descriptor [`Confine::wrap`] opened for the launcher: the child keeps it open
    /// across `exec`.
    fn confine(&self, cmd: &mut Launch, passed: Option<RawFd>) -> io::Result<Box<dyn Confined>>;

    /// The command line that runs `argv` (in `cwd`) confined: `argv` itself by default,
    /// or `argv` behind a launcher that isolates it (bubblewrap), with a descriptor the
    /// launcher reads (its system-call filter), named on that command line.
    fn wrap(&self, argv: &[OsString], cwd: Option<&Path>) -> io::Result<Wrapped> {
        let _ = cwd;
        Ok(Wrapped {
            argv: argv.to_vec(),
            passed: None,
        })
    }
}

/// A confined command line, from [`Confine::wrap`].
#[derive(Debug)]
pub struct Wrapped {
    /// What to start.
    pub argv: Vec<OsString>,
    /// A descriptor only this child gets, closed here once it has started.
    pub passed: Option<OwnedFd>,
}

/// One confined child's share of the confinement: ends every process it started, even
/// those that left its process group. Dropping it releases what it holds.
pub trait Confined: Send + std::fmt::Debug {
    /// Kills every process the child started (and the child).
    fn kill_all(&self);

    /// Whether the child (or what it started) tried to start more processes than its
    /// limit allows.
    fn process_limit_hit(&self) -> bool {
        false
    }

    /// How the child ended, as the program itself ended: a launcher between them
    /// (bubblewrap) reports a program killed by signal N as exit status 128 + N.
    fn exit_of(&self, exit: Exit) -> Exit {
        exit
    }
}

/// Output captured from one stream, capped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captured {
    /// The first `capture_limit` bytes.
    pub bytes: Vec<u8>,
    /// Every byte the stream produced, kept or not.
    pub total: u64,
}

impl Captured {
    /// Whether bytes were dropped.
    pub fn truncated(&self) -> bool {
        self.total > self.bytes.len() as u64
    }
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Exit {
    /// It exited with this status.
    Code(i32),
    /// A signal ended it (not one we sent on timeout).
    Signal(i32),
    /// It outlived its time and was killed.
    TimedOut,
}

impl Exit {
    fn from_status(status: ExitStatus) -> Exit {
        match (status.code(), status.signal()) {
            (Some(c), _) => Exit::Code(c),
            (None, Some(s)) => Exit::Signal(s),
            (None, None) => Exit::Code(-1),
        }
    }
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit::Code(c) => write!(f, "exit status {c}"),
            Exit::Signal(s) => write!(f, "killed by signal {s}"),
            Exit::TimedOut => f.write_str("timed out"),
        }
    }
}

/// A finished process.
#[derive(Debug, Clone)]
pub struct Finished {
    /// How it ended.
    pub exit: Exit,
    /// Its standard output.
    pub stdout: Captured,
    /// Its standard error.
    pub stderr: Captured,
    /// From spawn to exit.
    pub duration: Duration,
}

/// Process groups alive right now, so an interrupt can kill them all.
fn live_groups() -> &'static Mutex<BTreeSet<i32>> {
    static GROUPS: OnceLock<Mutex<BTreeSet<i32>>> = OnceLock::new();
    GROUPS.get_or_init(|| Mutex::new(BTreeSet::new()))
}

/// Makes this process the reaper of orphans among its descendants (Linux): a helper that
/// a program started in a session of its own comes back to shout when that program
/// exits, so that [`kill_orphans`] can end it.
pub fn adopt_orphans() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl(2) with PR_SET_CHILD_SUBREAPER takes an integer flag.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }
}

/// Kills and reaps every child of this process that is not one shout is running: the
/// orphans [`adopt_orphans`] brought back (and theirs, as they come back in turn).
/// Returns how many were still running when killed: one that had already exited (a
/// sandbox's init whose launcher shout started directly, and which only this reaps) is
/// reaped without being counted.
pub fn kill_orphans() -> usize {
    let me = std::process::id() as i32;
    let mut killed = 0;
    for _ in 0..10 {
        let ours: BTreeSet<i32> = live_groups().lock().map(|g| g.clone()).unwrap_or_default();
        let orphans: Vec<(i32, char)> = children_of(me)
            .into_iter()
            .filter(|pid| !ours.contains(pid))
            .filter_map(|pid| match stat_of(pid)? {
                (parent, state, _) if parent == me => Some((pid, state)),
                _ => None,
            })
            .collect();
        if orphans.is_empty() {
            break;
        }
        for (pid, state) in orphans {
            // SAFETY: kill(2) and waitpid(2) on a child of this process.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, std::ptr::null_mut(), 0);
            }
            killed += usize::from(state != 'Z');
        }
    }
    killed
}

/// Reaps the children of this process that have exited and that no [`Running`] waits
/// for (not the leader of a live group): a launcher's helper (bubblewrap's init) whose
/// parent was killed first is handed to this process, and would otherwise stay a zombie,
/// holding its pid, until the end of the run. Returns how many were reaped.
///
/// Only a zombie in another process group than this process's own is taken: a program
/// started with [`Command`] directly (`python3 --version`, a compiler) stays in this
/// group, and its own thread must be the one to collect its exit, or that thread's
/// `wait` fails with "No child processes".
pub fn reap_orphan_zombies() -> usize {
    let me = std::process::id() as i32;
    // SAFETY: getpgrp(2) cannot fail.
    let my_group = unsafe { libc::getpgrp() };
    let ours: BTreeSet<i32> = live_groups().lock().map(|g| g.clone()).unwrap_or_default();
    let zombies: Vec<i32> = children_of(me)
        .into_iter()
        .filter(|pid| !ours.contains(pid))
        .filter(|&pid| {
            matches!(stat_of(pid), Some((parent, 'Z', group)) if parent == me && group != my_group)
        })
        .collect();
    for &pid in &zombies {
        // SAFETY: waitpid(2) on an exited child of this process that nothing else waits for.
        unsafe { libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG) };
    }
    zombies.len()
}

/// The children of process `pid`, from each of its threads' `children` list (Linux 3.5
/// and later): far fewer files than every process on the machine. Where the kernel keeps
/// no such lists, every process whose parent is `pid`, from `/proc/*/stat`.
pub fn children_of(pid: i32) -> Vec<i32> {
    let tasks = format!("/proc/{pid}/task");
    let Ok(threads) = std::fs::read_dir(&tasks) else {
        return Vec::new();
    };
    let mut out = BTreeSet::new();
    let mut listed = false;
    for t in threads.flatten() {
        if let Ok(text) = std::fs::read_to_string(t.path().join("children")) {
            listed = true;
            out.extend(
                text.split_whitespace()
                    .filter_map(|p| p.parse::<i32>().ok()),
            );
        }
    }
    if !listed {
        return std::fs::read_dir("/proc")
            .map(|d| {
                d.flatten()
                    .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
                    .filter(|&p| parent_of(p) == Some(pid))
                    .collect()
            })
            .unwrap_or_default();
    }
    out.into_iter().collect()
}

/// The parent, state and process group of `pid`, from `/proc/PID/stat`.
fn stat_of(pid: i32) -> Option<(i32, char, i32)> {
    parent_state_group(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// The parent, state and process group in a `/proc/PID/stat` line.
fn parent_state_group(stat: &str) -> Option<(i32, char, i32)> {
    let mut rest = stat[stat.rfind(')')? + 1..].split_whitespace();
    let state = rest.next()?.chars().next()?;
    let parent = rest.next()?.parse().ok()?;
    Some((parent, state, rest.next()?.parse().ok()?))
}

/// The parent process id of `pid`, from `/proc/PID/stat`.
fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid …`; comm may hold spaces and parentheses.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Sends SIGKILL to every live group this process started (for Ctrl-C and fatal errors).
pub fn kill_all() {
    let groups: Vec<i32> = live_groups()
        .lock()
        .map(|g| g.iter().copied().collect())
        .unwrap_or_default();
    for pgid in groups {
        // SAFETY: kill(2) on a process group id we created.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
    }
}

fn scratch_dirs() -> &'static Mutex<Vec<std::path::PathBuf>> {
    static DIRS: OnceLock<Mutex<Vec<std::path::PathBuf>>> = OnceLock::new();
    DIRS.get_or_init(|| Mutex::new(Vec::new()))
}

/// Remembers a scratch folder (or file) for [`remove_scratch`]: a run that is interrupted exits
/// without dropping its temporary folders.
pub fn register_scratch(dir: &std::path::Path) {
    if let Ok(mut dirs) = scratch_dirs().lock() {
        dirs.push(dir.to_path_buf());
    }
}

/// Removes every registered scratch folder still there (after [`kill_all`], on Ctrl-C).
pub fn remove_scratch() {
    let dirs: Vec<std::path::PathBuf> = scratch_dirs()
        .lock()
        .map(|mut d| std::mem::take(&mut *d))
        .unwrap_or_default();
    for path in dirs {
        if path.is_dir() {
            let _ = std::fs::remove_dir_all(path);
        } else {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn signal_group(pgid: i32, signal: i32) {
    // SAFETY: kill(2) on a process group id we created.
    unsafe { libc::kill(-pgid, signal) };
}

/// A running child and its process group.
pub struct Running {
    pgid: i32,
    started: Instant,
    exited: mpsc::Receiver<(ExitStatus, Instant)>,
    status: Option<Exit>,
    exited_at: Option<Instant>,
    stdout: Option<mpsc::Receiver<Captured>>,
    stderr: Option<mpsc::Receiver<Captured>>,
    live_stdout: Arc<Mutex<Vec<u8>>>,
    live_stderr: Arc<Mutex<Vec<u8>>>,
    confined: Option<Box<dyn Confined>>,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running").field("pgid", &self.pgid).finish()
    }
}

/// Reads `stream` to its end, keeping at most `limit` bytes (also mirrored into `live`
/// when given, so callers can watch for a line while the process runs).
fn drain(
    mut stream: impl Read + Send + 'static,
    limit: usize,
    live: Option<Arc<Mutex<Vec<u8>>>>,
) -> mpsc::Receiver<Captured> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut out = Captured::default();
        let mut buf = [0u8; 8192];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    out.total += n as u64;
                    let room = limit.saturating_sub(out.bytes.len());
                    let kept = &buf[..n.min(room)];
                    out.bytes.extend_from_slice(kept);
                    if let Some(live) = &live {
                        if let Ok(mut l) = live.lock() {
                            l.extend_from_slice(kept);
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        let _ = tx.send(out);
    });
    rx
}

impl Running {
    /// Starts `spec` in a new process group.
    pub fn spawn(spec: &Spawn) -> io::Result<Running> {
        Running::start(spec, false).map(|(running, _)| running)
    }

    /// Starts `spec` like [`Running::spawn`], but hands back its stdin (piped, when
    /// `spec.stdin` is given) instead of writing `spec.stdin` into it: the caller types
    /// into it when it chooses, and closes it by dropping it.
    pub fn spawn_holding_stdin(spec: &Spawn) -> io::Result<(Running, Option<ChildStdin>)> {
        Running::start(spec, true)
    }

    fn start(spec: &Spawn, hold_stdin: bool) -> io::Result<(Running, Option<ChildStdin>)> {
        let Wrapped { argv, passed } = match &spec.confine {
            Some(confine) => confine.wrap(&spec.argv, spec.cwd.as_deref())?,
            None => Wrapped {
                argv: spec.argv.clone(),
                passed: None,
            },
        };
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty command"))?;
        let mut cmd = Launch::new(program, args);
        cmd.piped_stdin(spec.stdin.is_some());
        if let Some(dir) = &spec.cwd {
            cmd.current_dir(dir);
        }
        let confined = match &spec.confine {
            Some(confine) => {
                Some(confine.confine(&mut cmd, passed.as_ref().map(|f| f.as_raw_fd()))?)
            }
            None => None,
        };
        for (k, v) in &spec.env {
            cmd.env(k, v);
        }
        let mut groups = live_groups().lock().unwrap_or_else(|p| p.into_inner());
        let mut child = cmd.spawn()?;
        drop(passed);
        let pgid = child.pid;
        groups.insert(pgid);
        drop(groups);
        let mut held = None;
        match (child.stdin.take(), spec.stdin.clone()) {
            (Some(stdin), _) if hold_stdin => held = Some(stdin),
            (Some(mut stdin), Some(bytes)) => {
                std::thread::spawn(move || {
                    let _ = stdin.write_all(&bytes);
                });
            }
            _ => {}
        }
        let live_stdout = Arc::new(Mutex::new(Vec::new()));
        let stdout = Some(drain(
            child.stdout,
            spec.capture_limit,
            Some(Arc::clone(&live_stdout)),
        ));
        let live_stderr = Arc::new(Mutex::new(Vec::new()));
        let stderr = Some(drain(
            child.stderr,
            spec.capture_limit,
            Some(Arc::clone(&live_stderr)),
        ));
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            if let Ok(status) = launch::wait(pgid) {
                let _ = tx.send((status, Instant::now()));
            }
        });
        let running = Running {
            pgid,
            started: Instant::now(),
            exited: rx,
            status: None,
            exited_at: None,
            stdout,
            stderr,
            live_stdout,
            live_stderr,
            confined,
        };
        Ok((running, held))
    }

    /// Whether the child, confined, ran into its process limit (a runaway fork).
    pub fn process_limit_hit(&self) -> bool {
        self.confined
            .as_ref()
            .is_some_and(|c| c.process_limit_hit())
    }

    /// The process id of the leader, which is also the group id.
    pub fn pid(&self) -> u32 {
        self.pgid as u32
    }

    /// When it was started.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// What it has printed on stdout so far (capped).
    pub fn stdout_so_far(&self) -> Vec<u8> {
        self.live_stdout
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default()
    }

    /// Whether the leader has exited, without waiting.
    pub fn exited(&mut self) -> Option<Exit> {
        if self.status.is_none() {
            if let Ok(exit) = self.exited.try_recv() {
                self.record(exit);
            }
        }
        self.status
    }

    fn record(&mut self, (status, at): (ExitStatus, Instant)) {
        let exit = Exit::from_status(status);
        self.status = Some(match &self.confined {
            Some(confined) => confined.exit_of(exit),
            None => exit,
        });
        self.exited_at = Some(at);
    }

    /// When the leader was seen to exit (by a thread blocked in `wait`, so within
    /// moments of the exit), if it has and that has been looked at.
    pub fn exited_at(&mut self) -> Option<Instant> {
        self.exited();
        self.exited_at
    }

    /// Waits for the leader to exit for up to `timeout`.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<Exit> {
        if self.status.is_none() {
            if let Ok(exit) = self.exited.recv_timeout(timeout) {
                self.record(exit);
            }
        }
        self.status
    }

    /// Ends the whole group: SIGTERM, up to [`GRACE`] to exit, then SIGKILL.
    pub fn terminate(&mut self) {
        if self.exited().is_none() {
            signal_group(self.pgid, libc::SIGTERM);
            if self.wait_timeout(GRACE).is_none() {
                signal_group(self.pgid, libc::SIGKILL);
                self.wait_timeout(Duration::from_secs(5));
            }
        }
        // Whatever the leader left behind in its group goes too.
        signal_group(self.pgid, libc::SIGKILL);
        if let Some(c) = &self.confined {
            c.kill_all();
        }
    }

    /// Waits up to `timeout` for the process to exit on its own (killing the group if it
    /// does not), then collects its output.
    pub fn finish(mut self, timeout: Duration) -> Finished {
        let exit = match self.wait_timeout(timeout) {
            Some(exit) => exit,
            None => {
                self.terminate();
                Exit::TimedOut
            }
        };
        self.finish_now(exit)
    }

    /// Kills the group now and collects the output; the exit is what the leader did
    /// before, or `TimedOut` if it was still running.
    pub fn stop(mut self) -> Finished {
        let exit = self.exited().unwrap_or(Exit::TimedOut);
        self.terminate();
        self.finish_now(exit)
    }

    fn finish_now(&mut self, exit: Exit) -> Finished {
        // Group members may still hold the pipes; they are dead after this.
        signal_group(self.pgid, libc::SIGKILL);
        if let Some(c) = &self.confined {
            c.kill_all();
        }
        // A process that escaped the group (its own session) may still hold a pipe: the
        // output is then what arrived within the grace period, never a wait for good.
        let deadline = Instant::now() + PIPE_GRACE;
        let stdout = collect(self.stdout.take(), &self.live_stdout, deadline);
        let stderr = collect(self.stderr.take(), &self.live_stderr, deadline);
        let duration = self.started.elapsed();
        self.forget();
        Finished {
            exit,
            stdout,
            stderr,
            duration,
        }
    }

    fn forget(&mut self) {
        if let Ok(mut g) = live_groups().lock() {
            g.remove(&self.pgid);
        }
    }
}

/// How long the output of a finished process may take to reach its end.
const PIPE_GRACE: Duration = Duration::from_secs(1);

/// The drain thread's capture if it ends by `deadline`; otherwise the live copy so far
/// (the thread ends by itself when the last holder of the pipe closes it).
fn collect(
    done: Option<mpsc::Receiver<Captured>>,
    live: &Arc<Mutex<Vec<u8>>>,
    deadline: Instant,
) -> Captured {
    let Some(done) = done else {
        return Captured::default();
    };
    match done.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        Ok(captured) => captured,
        Err(_) => {
            let bytes = live.lock().map(|l| l.clone()).unwrap_or_default();
            Captured {
                total: bytes.len() as u64,
                bytes,
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.stdout.is_some() || self.stderr.is_some() {
            signal_group(self.pgid, libc::SIGKILL);
            if let Some(c) = &self.confined {
                c.kill_all();
            }
            self.wait_timeout(Duration::from_secs(5));
            self.forget();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn the_orphan_reaper_leaves_a_plain_commands_exit_to_its_own_wait() {
        let mut child = Command::new("true").spawn().expect("`true` starts");
        let pid = child.id() as i32;
        // Until it is a zombie: exited, its status not yet collected.
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            if parent_state_group(&stat).is_some_and(|(_, state, _)| state == 'Z') {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        reap_orphan_zombies();
        let status = child.wait().expect("its exit is still there to collect");
        assert!(status.success());
    }
}

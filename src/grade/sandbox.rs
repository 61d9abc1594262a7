//! Confinement for untrusted student programs: resource limits, a pids cgroup per child,
//! a private `/etc/hosts` in a mount namespace, an unprivileged user, a fresh network
//! namespace per worker thread, and a private copy of the submission to work in.
//!
//! [`Sandbox`] implements [`Confine`], so [`Running::spawn`](crate::run::process::Running)
//! applies it between `fork` and `exec`. What this machine cannot do (not root, no pids
//! cgroup, not Linux) is skipped, not failed: [`Sandbox::support`] says what works and
//! why the rest does not, so the caller can say it once. A feature that is available but
//! fails for one child fails that spawn: a fork bomb never runs unconfined by accident.
//!
//! This module never decides verdicts and never prints.

use std::ffi::CString;
use std::fs;
use std::io::{self, Read, Write};
use std::net::IpAddr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::run::process::{Confine, Confined};

/// Most bytes [`prepare_workdir`] copies from one submission (50 MiB).
pub const MAX_WORKDIR_BYTES: u64 = 50 << 20;

/// Most files and folders [`prepare_workdir`] copies from one submission.
pub const MAX_WORKDIR_ENTRIES: usize = 5000;

/// How long [`Confined::kill_all`] keeps killing a cgroup that is not yet empty.
pub const KILL_PATIENCE: Duration = Duration::from_secs(2);

/// `RLIMIT_NPROC` when a pids cgroup gives each child its own process limit. The rlimit
/// counts every process of the user, and every sandboxed child runs as the same user, so
/// here it is only a machine-wide backstop shared by all children running at once.
const SHARED_USER_PROCESSES: u64 = 1024;

/// The folder, inside this process's pids cgroup, that holds one cgroup per child.
const CGROUP_DIR: &str = "shout";

/// The uid and gid used when `nobody` is not in the user database.
const OVERFLOW_ID: u32 = 65534;

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

/// Whether one confinement feature works on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Feature {
    /// It works and is applied to every child.
    Available,
    /// It does not work here and is skipped; `reason` is one sentence saying why.
    Unavailable {
        /// Why, in one sentence that names what is needed.
        reason: String,
    },
}

impl Feature {
    /// Whether the feature works.
    pub fn is_available(&self) -> bool {
        match self {
            Feature::Available => true,
            Feature::Unavailable { .. } => false,
        }
    }

    fn unavailable(reason: impl Into<String>) -> Feature {
        Feature::Unavailable {
            reason: reason.into(),
        }
    }
}

/// What confinement works on this machine, found once per process by trying each feature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Support {
    /// A private mount namespace per child, for the private `/etc/hosts`.
    pub mount_namespace: Feature,
    /// A pids cgroup per child: the process limit and a way to kill everything it started.
    pub pids_cgroup: Feature,
    /// Running children as an unprivileged user instead of root.
    pub drop_user: Feature,
    /// A fresh network namespace per worker thread ([`enter_fresh_netns`]).
    pub network_namespace: Feature,
}

impl Support {
    /// The features that do not work, each with its name and reason, in a fixed order.
    pub fn unavailable(&self) -> Vec<(&'static str, &str)> {
        [
            ("mount namespace", &self.mount_namespace),
            ("pids cgroup", &self.pids_cgroup),
            ("unprivileged user", &self.drop_user),
            ("network namespace", &self.network_namespace),
        ]
        .into_iter()
        .filter_map(|(name, feature)| match feature {
            Feature::Available => None,
            Feature::Unavailable { reason } => Some((name, reason.as_str())),
        })
        .collect()
    }
}

/// The user a confined child runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct User {
    /// User id.
    pub uid: u32,
    /// Primary group id; the child has no supplementary groups.
    pub gid: u32,
}

impl User {
    /// `nobody` from the user database, or 65534:65534 when it is not there.
    pub fn nobody() -> User {
        lookup_user("nobody").unwrap_or(User {
            uid: OVERFLOW_ID,
            gid: OVERFLOW_ID,
        })
    }
}

/// Confinement for untrusted programs; see the module documentation. One `Sandbox` serves
/// any number of children, each with its own cgroup.
#[derive(Debug)]
pub struct Sandbox {
    /// The limits every child gets.
    limits: Limits,
    /// What works here; features that do not are skipped.
    support: Support,
    /// The user children switch to; `None` when this process is not root.
    user: Option<User>,
    /// The private hosts file; removed when the sandbox is dropped (children that
    /// mounted it keep it until they exit).
    hosts_file: tempfile::TempPath,
    /// `hosts_file` as the C string the child's `mount` needs.
    hosts_c: CString,
    /// The folder holding one pids cgroup per child, when pids cgroups work.
    cgroup_base: Option<PathBuf>,
}

impl Sandbox {
    /// A sandbox with `limits` whose children resolve `localhost`, this machine's name and
    /// each of `hosts` (for example `hostname` and `servername` to 127.0.0.1) through a
    /// private `/etc/hosts`. Children run as `nobody` when this process is root.
    ///
    /// Fails if a host name cannot go in a hosts file or the file cannot be written.
    pub fn new(limits: Limits, hosts: &[(String, IpAddr)]) -> io::Result<Sandbox> {
        let contents = hosts_file_contents(hosts)?;
        let mut file = tempfile::Builder::new().prefix("shout-hosts-").tempfile()?;
        crate::run::process::register_scratch(file.path());
        file.write_all(contents.as_bytes())?;
        file.flush()?;
        // The child reads it after switching to an unprivileged user.
        fs::set_permissions(file.path(), fs::Permissions::from_mode(0o644))?;
        let hosts_file = file.into_temp_path();
        let hosts_c = path_cstring(&hosts_file)?;
        let support = Sandbox::support();
        let cgroup_base = match support.pids_cgroup {
            Feature::Available => cgroup_base().ok(),
            Feature::Unavailable { .. } => None,
        };
        if let Some(base) = &cgroup_base {
            sweep_stale_cgroups(base);
        }
        let user = match support.drop_user {
            Feature::Available => Some(User::nobody()),
            Feature::Unavailable { .. } => None,
        };
        Ok(Sandbox {
            limits,
            support,
            user,
            hosts_file,
            hosts_c,
            cgroup_base,
        })
    }

    /// Runs children as `user` instead of `nobody` (only when this process is root).
    pub fn with_user(mut self, user: User) -> Sandbox {
        if self.support.drop_user.is_available() {
            self.user = Some(user);
        }
        self
    }

    /// The limits every child gets.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The user children run as, or `None` when they keep this process's user.
    pub fn user(&self) -> Option<User> {
        self.user
    }

    /// The private hosts file children see as `/etc/hosts`.
    pub fn hosts_file(&self) -> &Path {
        &self.hosts_file
    }

    /// What confinement works on this machine. It is found once per process, by trying
    /// each feature, and is the same for every sandbox.
    pub fn support() -> Support {
        static SUPPORT: OnceLock<Support> = OnceLock::new();
        SUPPORT.get_or_init(probe_support).clone()
    }

    /// Copies the submission `src` into a fresh folder under `dest_parent` owned by this
    /// sandbox's user; see [`prepare_workdir`].
    pub fn prepare_workdir(&self, src: &Path, dest_parent: &Path) -> io::Result<PathBuf> {
        prepare_workdir_as(src, dest_parent, self.user)
    }

    /// What the child must do between `fork` and `exec`, prepared here so that the hook
    /// itself only makes system calls.
    fn plan(&self, cgroup: Option<&Path>) -> io::Result<ChildPlan> {
        let procs = match cgroup {
            Some(dir) => Some(path_cstring(&dir.join("cgroup.procs"))?),
            None => None,
        };
        let hosts = match self.support.mount_namespace {
            Feature::Available => Some((self.hosts_c.clone(), c"/etc/hosts".to_owned())),
            Feature::Unavailable { .. } => None,
        };
        let l = &self.limits;
        // Without a cgroup the rlimit is the only process limit. Without switching users
        // it would count every process this user already runs, so it is left alone.
        let nproc = match (cgroup.is_some(), self.user.is_some()) {
            (true, true) => Some(SHARED_USER_PROCESSES.max(l.processes)),
            (false, true) => Some(l.processes),
            (_, false) => None,
        };
        let mut rlimits = vec![
            (
                libc::RLIMIT_CPU,
                l.cpu_seconds,
                l.cpu_seconds.saturating_add(1),
            ),
            (libc::RLIMIT_AS, l.memory_bytes, l.memory_bytes),
            (libc::RLIMIT_FSIZE, l.file_size_bytes, l.file_size_bytes),
            (libc::RLIMIT_NOFILE, l.open_files, l.open_files),
            (libc::RLIMIT_CORE, 0, 0),
        ];
        if let Some(n) = nproc {
            rlimits.push((libc::RLIMIT_NPROC, n, n));
        }
        Ok(ChildPlan {
            procs,
            hosts,
            rlimits,
            user: self.user,
        })
    }
}

impl Confine for Sandbox {
    fn confine(&self, cmd: &mut Command) -> io::Result<Box<dyn Confined>> {
        let cgroup = match &self.cgroup_base {
            Some(base) => Some(ChildCgroup::create(base, self.limits.processes)?),
            None => None,
        };
        let mut plan = self.plan(cgroup.as_ref().map(|c| c.dir.as_path()))?;
        if self.user.is_some() {
            if let Some(dir) = cmd.get_current_dir().map(Path::to_path_buf) {
                // The user's own home (`/nonexistent` for nobody) cannot be written.
                cmd.env("HOME", dir);
            }
        }
        // SAFETY: the hook runs in the forked child, where only async-signal-safe calls
        // are allowed; `ChildPlan::apply` makes system calls on data prepared above and
        // allocates nothing.
        unsafe {
            cmd.pre_exec(move || plan.apply());
        }
        Ok(match cgroup {
            Some(cgroup) => Box::new(cgroup),
            None => Box::new(NoCgroup),
        })
    }
}

/// Everything the child does before `exec`, as plain data.
struct ChildPlan {
    /// `cgroup.procs` of the child's own cgroup, to join first.
    procs: Option<CString>,
    /// The private hosts file and where to mount it, when mount namespaces work.
    hosts: Option<(CString, CString)>,
    /// (resource, soft, hard), each lowered only: a limit already lower stays.
    rlimits: Vec<(libc::__rlimit_resource_t, u64, u64)>,
    /// Who to become last.
    user: Option<User>,
}

/// Closes every open IPv4 and IPv6 socket of the calling (forked) process, listing them
/// with `getdents64` on `/proc/self/fd` into a stack buffer: no allocation, so it is safe
/// between `fork` and `exec`. Only Internet sockets hold ports; Unix sockets, pipes and
/// files stay open. That matters: the standard library reports a failed `exec` (or a
/// failed step before it) to the parent over a Unix socket, and the parent's `spawn`
/// returns only when that channel closes. Closing it here would let `spawn` return
/// before this hook has finished, with the child not yet in its cgroup.
fn close_inherited_sockets() {
    // SAFETY: open/getdents64/getsockopt/close on descriptors of this process, with a buffer
    // on the stack and lengths that fit it.
    unsafe {
        let dir = libc::open(
            c"/proc/self/fd".as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        );
        if dir < 0 {
            return;
        }
        let mut buf = [0u8; 4096];
        loop {
            let n = libc::syscall(libc::SYS_getdents64, dir, buf.as_mut_ptr(), buf.len());
            if n <= 0 {
                break;
            }
            let mut at = 0usize;
            while at + 19 < n as usize {
                // struct linux_dirent64: ino (8), off (8), reclen (2), type (1), name.
                let reclen = u16::from_ne_bytes([buf[at + 16], buf[at + 17]]) as usize;
                if reclen == 0 {
                    break;
                }
                let mut fd: libc::c_int = 0;
                let mut digits = 0;
                for &b in buf[at + 19..(at + reclen).min(n as usize)].iter() {
                    if !b.is_ascii_digit() {
                        break;
                    }
                    fd = fd
                        .saturating_mul(10)
                        .saturating_add((b - b'0') as libc::c_int);
                    digits += 1;
                }
                if digits > 0 && fd > 2 && fd != dir {
                    let mut domain: libc::c_int = 0;
                    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
                    let is_inet = libc::getsockopt(
                        fd,
                        libc::SOL_SOCKET,
                        libc::SO_DOMAIN,
                        (&mut domain as *mut libc::c_int).cast(),
                        &mut len,
                    ) == 0
                        && (domain == libc::AF_INET || domain == libc::AF_INET6);
                    if is_inet {
                        libc::close(fd);
                    }
                }
                at += reclen;
            }
        }
        libc::close(dir);
    }
}

/// The error of the last failed system call, without allocating.
fn last_error() -> io::Error {
    io::Error::last_os_error()
}

fn check(rc: libc::c_long) -> io::Result<()> {
    if rc < 0 {
        Err(last_error())
    } else {
        Ok(())
    }
}

impl ChildPlan {
    /// Runs in the child between `fork` and `exec`: only system calls, no allocation.
    fn apply(&mut self) -> io::Result<()> {
        // First, let go of every socket inherited from the harness's other threads: the
        // fork copied them, and until `exec` closes them this child would keep a relay's
        // port bound after the relay has let it go.
        close_inherited_sockets();
        if let Some(procs) = &self.procs {
            join_cgroup(procs)?;
        }
        if let Some((hosts, target)) = &self.hosts {
            // SAFETY: unshare(2) and mount(2) with valid NUL-terminated paths; the child
            // is single-threaded, as a new mount namespace requires.
            unsafe {
                check(libc::unshare(libc::CLONE_NEWNS).into())?;
                // Nothing mounted here may reach the parent's namespace.
                check(
                    libc::mount(
                        std::ptr::null(),
                        c"/".as_ptr(),
                        std::ptr::null(),
                        libc::MS_REC | libc::MS_PRIVATE,
                        std::ptr::null(),
                    )
                    .into(),
                )?;
                check(
                    libc::mount(
                        hosts.as_ptr(),
                        target.as_ptr(),
                        std::ptr::null(),
                        libc::MS_BIND,
                        std::ptr::null(),
                    )
                    .into(),
                )?;
            }
        }
        for &(resource, soft, hard) in &self.rlimits {
            lower_rlimit(resource, soft, hard)?;
        }
        if let Some(user) = self.user {
            // Raw system calls: glibc's wrappers would try to signal other threads.
            // SAFETY: the set*id system calls on integers; the child is single-threaded.
            unsafe {
                let groups = [user.gid as libc::gid_t];
                let (uid, gid) = (libc::c_long::from(user.uid), libc::c_long::from(user.gid));
                check(libc::syscall(
                    libc::SYS_setgroups,
                    1 as libc::c_long,
                    groups.as_ptr(),
                ))?;
                check(libc::syscall(libc::SYS_setresgid, gid, gid, gid))?;
                check(libc::syscall(libc::SYS_setresuid, uid, uid, uid))?;
            }
        }
        // SAFETY: prctl(2) with integer arguments. Set-user-id programs (su, mount) can
        // no longer give the child privileges back.
        let (one, zero): (libc::c_ulong, libc::c_ulong) = (1, 0);
        check(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, one, zero, zero, zero) }.into())?;
        Ok(())
    }
}

/// Writes this process's pid to `procs`, moving it into that cgroup. Async-signal-safe.
fn join_cgroup(procs: &CString) -> io::Result<()> {
    // SAFETY: getpid(2) cannot fail.
    let pid = unsafe { libc::getpid() } as u32;
    let mut digits = [0u8; 12];
    let mut start = digits.len();
    let mut n = pid;
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let text = &digits[start..];
    // SAFETY: open(2), write(2) and close(2) on a valid path and a stack buffer.
    unsafe {
        let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        check(fd.into())?;
        let written = libc::write(fd, text.as_ptr().cast(), text.len());
        let error = if written < 0 {
            Some(last_error())
        } else {
            None
        };
        libc::close(fd);
        match error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// Sets a resource limit no higher than it already is. Async-signal-safe.
fn lower_rlimit(resource: libc::__rlimit_resource_t, soft: u64, hard: u64) -> io::Result<()> {
    let mut current = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit(2) and setrlimit(2) on a stack struct.
    unsafe {
        check(libc::getrlimit(resource, &mut current).into())?;
        let hard = hard.min(current.rlim_max);
        let new = libc::rlimit {
            rlim_cur: soft.min(hard),
            rlim_max: hard,
        };
        check(libc::setrlimit(resource, &new).into())
    }
}

/// The handle of a child confined without a cgroup: its process group is all there is
/// to kill, and [`Running`](crate::run::process::Running) already does that.
#[derive(Debug)]
struct NoCgroup;

impl Confined for NoCgroup {
    fn kill_all(&self) {}
}

/// One child's pids cgroup; dropping it kills what is left and removes the folder.
#[derive(Debug)]
struct ChildCgroup {
    dir: PathBuf,
}

impl ChildCgroup {
    fn create(base: &Path, processes: u64) -> io::Result<ChildCgroup> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = base.join(format!("{}-{n}", std::process::id()));
        let created = match fs::create_dir(&dir) {
            // Someone removed the empty base folder since; make it again.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir(base).or_else(|e| match e.kind() {
                    io::ErrorKind::AlreadyExists => Ok(()),
                    _ => Err(e),
                })?;
                fs::create_dir(&dir)
            }
            other => other,
        };
        created.map_err(|e| annotate(e, "cannot create the pids cgroup", &dir))?;
        let cgroup = ChildCgroup { dir };
        let max = cgroup.dir.join("pids.max");
        fs::write(&max, processes.to_string())
            .map_err(|e| annotate(e, "cannot set the process limit in", &max))?;
        Ok(cgroup)
    }
}

impl Confined for ChildCgroup {
    fn kill_all(&self) {
        kill_cgroup(&self.dir, KILL_PATIENCE);
    }

    /// `pids.events` counts the forks refused at `pids.max` (`max N`).
    fn process_limit_hit(&self) -> bool {
        fs::read_to_string(self.dir.join("pids.events"))
            .ok()
            .and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix("max ")?.trim().parse::<u64>().ok())
            })
            .is_some_and(|n| n > 0)
    }
}

impl Drop for ChildCgroup {
    fn drop(&mut self) {
        kill_cgroup(&self.dir, KILL_PATIENCE);
        remove_cgroup(&self.dir);
    }
}

/// The pids listed in a cgroup's `cgroup.procs`, or `None` if it cannot be read.
fn cgroup_pids(dir: &Path) -> Option<Vec<i32>> {
    let text = fs::read_to_string(dir.join("cgroup.procs")).ok()?;
    Some(text.lines().filter_map(|l| l.trim().parse().ok()).collect())
}

/// SIGKILLs every process in the cgroup until it is empty, for at most `patience`. A fork
/// between reading the list and the kill adds a process, hence the loop.
fn kill_cgroup(dir: &Path, patience: Duration) {
    let deadline = Instant::now() + patience;
    let mut pause = Duration::from_millis(1);
    loop {
        let pids = match cgroup_pids(dir) {
            Some(pids) if !pids.is_empty() => pids,
            _ => return,
        };
        for pid in pids {
            // SAFETY: kill(2); the pid is in a cgroup only our children can be in.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        if Instant::now() >= deadline {
            return;
        }
        // Killed processes leave the list once they have exited.
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// Removes an empty cgroup folder, waiting briefly for its last processes to leave.
fn remove_cgroup(dir: &Path) {
    let deadline = Instant::now() + KILL_PATIENCE;
    loop {
        match fs::remove_dir(dir) {
            Ok(()) => return,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Err(_) => return,
        }
    }
}

/// Removes the cgroups of harness processes that no longer exist (killed before they
/// could clean up), killing what is left in them.
fn sweep_stale_cgroups(base: &Path) {
    let Ok(entries) = fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(owner) = name
            .to_str()
            .and_then(|n| n.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if owner != std::process::id() && !Path::new(&format!("/proc/{owner}")).exists() {
            let dir = entry.path();
            kill_cgroup(&dir, KILL_PATIENCE);
            remove_cgroup(&dir);
        }
    }
}

/// The folder for this process's child cgroups: `shout` inside the pids cgroup this
/// process is in, on the cgroup v1 pids hierarchy. Created if missing and kept.
fn cgroup_base() -> io::Result<PathBuf> {
    let mountinfo = fs::read_to_string("/proc/self/mountinfo")?;
    let (mount_root, mount_point) = mountinfo.lines().find_map(pids_mount).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            "no cgroup v1 pids hierarchy is mounted",
        )
    })?;
    let own = fs::read_to_string("/proc/self/cgroup")?;
    let own_path = own
        .lines()
        .find_map(|line| {
            let mut parts = line.splitn(3, ':');
            let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
            controllers
                .split(',')
                .any(|c| c == "pids")
                .then(|| path.to_owned())
        })
        .ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, "this process is in no pids cgroup")
        })?;
    let relative = Path::new(&own_path)
        .strip_prefix(&mount_root)
        .unwrap_or(Path::new(""));
    let base = mount_point.join(relative).join(CGROUP_DIR);
    match fs::create_dir(&base) {
        Ok(()) => Ok(base),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(base),
        Err(e) => Err(annotate(e, "cannot create", &base)),
    }
}

/// From one `/proc/self/mountinfo` line, the root and mount point of a cgroup v1
/// hierarchy with the pids controller.
fn pids_mount(line: &str) -> Option<(PathBuf, PathBuf)> {
    let (mount, fs) = line.split_once(" - ")?;
    let mut fs_fields = fs.split(' ');
    let (fstype, _source, options) = (fs_fields.next()?, fs_fields.next()?, fs_fields.next()?);
    if fstype != "cgroup" || !options.split(',').any(|o| o == "pids") {
        return None;
    }
    let fields: Vec<&str> = mount.split(' ').collect();
    Some((PathBuf::from(fields.get(3)?), PathBuf::from(fields.get(4)?)))
}

fn annotate(e: io::Error, what: &str, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
}

fn path_cstring(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("path {} contains a NUL byte", path.display()),
        )
    })
}

/// Tries each feature once.
fn probe_support() -> Support {
    if !cfg!(target_os = "linux") {
        let no = || Feature::unavailable("confinement needs Linux");
        return Support {
            mount_namespace: no(),
            pids_cgroup: no(),
            drop_user: no(),
            network_namespace: no(),
        };
    }
    // SAFETY: geteuid(2) cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    let not_root = |what: &str| Feature::unavailable(format!("{what} needs root"));
    let mount_namespace = if root {
        probe_in_thread(|| {
            // SAFETY: unshare(2) and mount(2) on this short-lived thread only.
            unsafe {
                check(libc::unshare(libc::CLONE_NEWNS).into())?;
                check(
                    libc::mount(
                        std::ptr::null(),
                        c"/".as_ptr(),
                        std::ptr::null(),
                        libc::MS_REC | libc::MS_PRIVATE,
                        std::ptr::null(),
                    )
                    .into(),
                )
            }
        })
        .map_or_else(
            |e| {
                Feature::unavailable(format!(
                    "a private /etc/hosts needs a mount namespace, which failed here: {e}"
                ))
            },
            |()| Feature::Available,
        )
    } else {
        not_root("a private /etc/hosts (a mount namespace)")
    };
    let pids_cgroup = if root {
        match probe_cgroup() {
            Ok(()) => Feature::Available,
            Err(e) => Feature::unavailable(format!(
                "the per-child process limit needs a writable cgroup v1 pids hierarchy: {e}"
            )),
        }
    } else {
        not_root("the per-child process limit (a pids cgroup)")
    };
    let drop_user = if root {
        Feature::Available
    } else {
        Feature::unavailable(
            "children keep this process's user, because switching users needs root",
        )
    };
    let network_namespace = probe_in_thread(|| {
        // SAFETY: unshare(2) on this short-lived thread only.
        check(unsafe { libc::unshare(libc::CLONE_NEWNET) }.into())
    })
    .map_or_else(
        |e| {
            Feature::unavailable(format!(
                "a network namespace per worker needs CAP_SYS_ADMIN: {e}"
            ))
        },
        |()| Feature::Available,
    );
    Support {
        mount_namespace,
        pids_cgroup,
        drop_user,
        network_namespace,
    }
}

/// Runs `probe` on a thread of its own, so whatever it changes ends with the thread.
fn probe_in_thread(probe: fn() -> io::Result<()>) -> io::Result<()> {
    std::thread::spawn(probe)
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("the probe panicked")))
}

fn probe_cgroup() -> io::Result<()> {
    let base = cgroup_base()?;
    let probe = ChildCgroup::create(&base, 1)?;
    drop(probe);
    Ok(())
}

/// `name` in the user database.
fn lookup_user(name: &str) -> Option<User> {
    let name = CString::new(name).ok()?;
    // SAFETY: passwd is plain data; all zeroes is a valid value.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 4096];
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: getpwnam_r(3) with a valid name, a zeroed passwd, a buffer of the given
    // length and an out-pointer; `result` points at `pwd` or is null.
    let rc = unsafe {
        libc::getpwnam_r(
            name.as_ptr(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    (rc == 0 && !result.is_null()).then_some(User {
        uid: pwd.pw_uid,
        gid: pwd.pw_gid,
    })
}

/// The private hosts file: `localhost`, this machine's name, then `hosts` in order.
fn hosts_file_contents(hosts: &[(String, IpAddr)]) -> io::Result<String> {
    let mut out = String::from("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
    for (name, ip) in hosts {
        let valid = !name.is_empty()
            && !name
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '#');
        if !valid {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("host name {name:?} cannot go in a hosts file; use letters, digits, '-' and '.'"),
            ));
        }
        out.push_str(&format!("{ip}\t{name}\n"));
    }
    if let Some(own) = machine_name() {
        if !hosts.iter().any(|(n, _)| *n == own) && own != "localhost" {
            // Java's InetAddress.getLocalHost() resolves it, and there is no DNS here.
            out.push_str(&format!("127.0.0.1\t{own}\n"));
        }
    }
    Ok(out)
}

/// This machine's name (`uname -n`), if it is one a hosts file can hold.
fn machine_name() -> Option<String> {
    let name = fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = name.trim();
    let fits = !name.is_empty() && name.chars().all(|c| c.is_ascii_graphic() && c != '#');
    fits.then(|| name.to_owned())
}

/// Puts the calling thread, and only it, in a fresh network namespace with its loopback
/// interface up. Processes it spawns afterwards, and threads it starts afterwards, are in
/// that namespace too; other threads are not.
///
/// Call it on a dedicated worker thread that runs one unit (or one student) at a time:
/// the thread cannot go back, and everything it binds from then on (`127.0.0.1:12000`
/// included) is private to that namespace, so workers never collide on hardcoded ports.
/// Sockets opened before the call stay in the old namespace.
///
/// Needs CAP_SYS_ADMIN (root); see [`Support::network_namespace`].
pub fn enter_fresh_netns() -> io::Result<()> {
    // SAFETY: unshare(2) with a flag; it changes only the calling thread's namespace.
    check(unsafe { libc::unshare(libc::CLONE_NEWNET) }.into()).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot enter a new network namespace: {e}"),
        )
    })?;
    bring_loopback_up().map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot bring up lo in the new network namespace: {e}"),
        )
    })
}

fn bring_loopback_up() -> io::Result<()> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    // SAFETY: socket(2); the descriptor is owned below. Created after the unshare, so it
    // talks to the new namespace's interfaces.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    check(fd.into())?;
    // SAFETY: `fd` is a fresh descriptor that nothing else owns.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: ifreq is plain data; all zeroes is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: ioctl(2) SIOCGIFFLAGS/SIOCSIFFLAGS with a valid ifreq naming "lo"; the
    // flags member of the union is the one these requests read and write.
    unsafe {
        check(libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS as _, &mut req).into())?;
        req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        check(libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS as _, &req).into())?;
    }
    Ok(())
}

/// Copies the submission folder `src` into a fresh folder under `dest_parent` and returns
/// it. The copy belongs to the user sandboxed children run as (`nobody` when this process
/// is root), so they can build and write there; `src` is only read.
///
/// Only regular files and folders are copied; symbolic links (never followed), FIFOs,
/// sockets and devices are left out. A submission of more than [`MAX_WORKDIR_ENTRIES`]
/// files and folders or [`MAX_WORKDIR_BYTES`] bytes is refused, and nothing is copied.
/// `dest_parent` and the folders above it must be enterable by that user (mode `o+x`,
/// as `/tmp` is).
pub fn prepare_workdir(src: &Path, dest_parent: &Path) -> io::Result<PathBuf> {
    let user = Sandbox::support()
        .drop_user
        .is_available()
        .then(User::nobody);
    prepare_workdir_as(src, dest_parent, user)
}

/// One thing to copy, relative to the submission folder.
enum Entry {
    Dir(PathBuf),
    File { path: PathBuf, mode: u32, len: u64 },
}

fn prepare_workdir_as(src: &Path, dest_parent: &Path, user: Option<User>) -> io::Result<PathBuf> {
    if !fs::metadata(src)
        .map_err(|e| annotate(e, "cannot read the submission", src))?
        .is_dir()
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("submission {} is not a folder", src.display()),
        ));
    }
    if let Some(user) = user {
        check_enterable(dest_parent, user)?;
    }
    let entries = scan_submission(src)?;
    let dest = tempfile::Builder::new()
        .prefix("shout-work-")
        .tempdir_in(dest_parent)
        .map_err(|e| annotate(e, "cannot create a work folder in", dest_parent))?;
    let mut budget = MAX_WORKDIR_BYTES;
    for entry in &entries {
        match entry {
            Entry::Dir(rel) => {
                let to = dest.path().join(rel);
                fs::DirBuilder::new().mode(0o755).create(&to)?;
                give(&to, user)?;
            }
            Entry::File {
                path: rel,
                mode,
                len,
            } => {
                let from = src.join(rel);
                let to = dest.path().join(rel);
                let copied = copy_file(&from, &to, *mode, budget.min(*len), user)?;
                budget -= copied;
            }
        }
    }
    give(dest.path(), user)?;
    Ok(dest.keep())
}

/// Every folder and regular file below `src`, parents first, within the bounds.
fn scan_submission(src: &Path) -> io::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    let mut bytes = 0u64;
    let mut pending = vec![PathBuf::new()];
    while let Some(rel) = pending.pop() {
        let dir = src.join(&rel);
        let mut children: Vec<_> = fs::read_dir(&dir)
            .map_err(|e| annotate(e, "cannot read", &dir))?
            .collect::<io::Result<_>>()?;
        children.sort_by_key(|c| c.file_name());
        for child in children {
            let meta = fs::symlink_metadata(child.path())?;
            let rel = rel.join(child.file_name());
            let entry = if meta.is_dir() {
                pending.push(rel.clone());
                Entry::Dir(rel)
            } else if meta.is_file() {
                bytes += meta.len();
                if bytes > MAX_WORKDIR_BYTES {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!(
                            "submission {} holds more than {} MiB; remove build output and data files",
                            src.display(),
                            MAX_WORKDIR_BYTES >> 20
                        ),
                    ));
                }
                Entry::File {
                    path: rel,
                    mode: meta.mode(),
                    len: meta.len(),
                }
            } else {
                // Symbolic links, FIFOs, sockets, devices: not a student's sources.
                continue;
            };
            entries.push(entry);
            if entries.len() > MAX_WORKDIR_ENTRIES {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "submission {} holds more than {MAX_WORKDIR_ENTRIES} files and folders; remove build output and dependencies",
                        src.display()
                    ),
                ));
            }
        }
    }
    Ok(entries)
}

/// Copies at most `limit` bytes of `from` (never through a symbolic link) to a new file
/// `to`, keeping its execute bits, and gives it to `user`. Returns the bytes copied.
fn copy_file(from: &Path, to: &Path, mode: u32, limit: u64, user: Option<User>) -> io::Result<u64> {
    let input = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(from)
        .map_err(|e| annotate(e, "cannot read", from))?;
    if !input.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} changed while it was copied", from.display()),
        ));
    }
    let mut output = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode((mode & 0o755) | 0o600)
        .open(to)
        .map_err(|e| annotate(e, "cannot write", to))?;
    let copied = io::copy(&mut input.take(limit), &mut output)?;
    give(to, user)?;
    Ok(copied)
}

fn give(path: &Path, user: Option<User>) -> io::Result<()> {
    match user {
        Some(u) => std::os::unix::fs::lchown(path, Some(u.uid), Some(u.gid))
            .map_err(|e| annotate(e, "cannot give to the sandbox user", path)),
        None => Ok(()),
    }
}

/// Fails with a clear message if `user` cannot enter `dir` or a folder above it.
fn check_enterable(dir: &Path, user: User) -> io::Result<()> {
    let dir = fs::canonicalize(dir).map_err(|e| annotate(e, "cannot use", dir))?;
    for folder in dir.ancestors() {
        let meta = fs::metadata(folder)?;
        let mode = meta.mode();
        let enterable = if meta.uid() == user.uid {
            mode & 0o100 != 0
        } else if meta.gid() == user.gid {
            mode & 0o010 != 0
        } else {
            mode & 0o001 != 0
        };
        if !enterable {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "{} (mode {:o}) cannot be entered by uid {}, which sandboxed programs run as; put work folders under a folder others may enter, such as /tmp",
                    folder.display(),
                    mode & 0o7777,
                    user.uid
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn loopback(name: &str) -> (String, IpAddr) {
        (name.to_owned(), IpAddr::V4(Ipv4Addr::LOCALHOST))
    }

    #[test]
    fn hosts_file_maps_localhost_and_the_given_names() {
        let text = hosts_file_contents(&[loopback("hostname"), loopback("servername")]).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "127.0.0.1\tlocalhost");
        assert!(lines.contains(&"127.0.0.1\thostname"), "{text}");
        assert!(lines.contains(&"127.0.0.1\tservername"), "{text}");
    }

    #[test]
    fn hosts_file_refuses_a_name_with_a_space_or_newline() {
        for bad in ["two words", "evil\n1.2.3.4 x", "", "a#b"] {
            let err = hosts_file_contents(&[loopback(bad)]).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{bad:?}");
        }
    }

    #[test]
    fn pids_mount_finds_the_v1_pids_hierarchy_only() {
        let pids = "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids";
        assert_eq!(
            pids_mount(pids),
            Some((PathBuf::from("/"), PathBuf::from("/sys/fs/cgroup/pids")))
        );
        let cpu = "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu";
        assert_eq!(pids_mount(cpu), None);
        let v2 = "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw";
        assert_eq!(pids_mount(v2), None);
    }

    #[test]
    fn unavailable_features_each_have_a_reason() {
        let support = Sandbox::support();
        for (name, reason) in support.unavailable() {
            assert!(!reason.is_empty(), "{name} has no reason");
        }
    }

    fn tree(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        let mut pending = vec![root.to_path_buf()];
        while let Some(dir) = pending.pop() {
            for e in fs::read_dir(&dir).unwrap() {
                let e = e.unwrap();
                let meta = fs::symlink_metadata(e.path()).unwrap();
                let rel = e.path().strip_prefix(root).unwrap().to_path_buf();
                if meta.is_dir() {
                    pending.push(e.path());
                    out.push((rel, b"<dir>".to_vec()));
                } else if meta.is_file() {
                    out.push((rel, fs::read(e.path()).unwrap()));
                } else {
                    out.push((rel, b"<other>".to_vec()));
                }
            }
        }
        out.sort();
        out
    }

    fn enterable_tempdir() -> tempfile::TempDir {
        let dir = tempfile::Builder::new()
            .prefix("shout-test-")
            .tempdir()
            .unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        dir
    }

    #[test]
    fn workdir_copies_files_and_folders_but_not_links_and_leaves_the_original() {
        let src = enterable_tempdir();
        fs::write(src.path().join("UDPServer.py"), b"print('hi')\n").unwrap();
        fs::create_dir(src.path().join("pkg")).unwrap();
        fs::write(src.path().join("pkg/run.sh"), b"#!/bin/sh\n").unwrap();
        fs::set_permissions(
            src.path().join("pkg/run.sh"),
            fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        std::os::unix::fs::symlink("/etc/shadow", src.path().join("secret")).unwrap();
        let before = tree(src.path());
        let dest_parent = enterable_tempdir();
        let work = prepare_workdir(src.path(), dest_parent.path()).unwrap();
        assert_eq!(tree(src.path()), before, "the original changed");
        assert!(work.starts_with(dest_parent.path()));
        let copied = tree(&work);
        let names: Vec<_> = copied.iter().map(|(p, _)| p.clone()).collect();
        assert_eq!(
            names,
            [
                PathBuf::from("UDPServer.py"),
                PathBuf::from("pkg"),
                PathBuf::from("pkg/run.sh")
            ]
        );
        assert_eq!(copied[0].1, b"print('hi')\n");
        let script = fs::metadata(work.join("pkg/run.sh")).unwrap();
        assert_eq!(script.mode() & 0o111, 0o111, "execute bits were lost");
        if Sandbox::support().drop_user.is_available() {
            let nobody = User::nobody();
            for path in [work.clone(), work.join("pkg"), work.join("UDPServer.py")] {
                let meta = fs::metadata(&path).unwrap();
                assert_eq!(
                    (meta.uid(), meta.gid()),
                    (nobody.uid, nobody.gid),
                    "{path:?}"
                );
            }
        }
    }

    #[test]
    fn workdir_refuses_too_many_files_and_copies_nothing() {
        let src = enterable_tempdir();
        for i in 0..=MAX_WORKDIR_ENTRIES {
            fs::write(src.path().join(format!("f{i}")), b"").unwrap();
        }
        let dest_parent = enterable_tempdir();
        let err = prepare_workdir(src.path(), dest_parent.path()).unwrap_err();
        assert!(err.to_string().contains("more than 5000 files"), "{err}");
        assert_eq!(fs::read_dir(dest_parent.path()).unwrap().count(), 0);
    }

    #[test]
    fn workdir_refuses_more_than_50_mib() {
        let src = enterable_tempdir();
        let big = fs::File::create(src.path().join("data.bin")).unwrap();
        big.set_len(MAX_WORKDIR_BYTES + 1).unwrap();
        let dest_parent = enterable_tempdir();
        let err = prepare_workdir(src.path(), dest_parent.path()).unwrap_err();
        assert!(err.to_string().contains("more than 50 MiB"), "{err}");
        assert_eq!(fs::read_dir(dest_parent.path()).unwrap().count(), 0);
    }

    #[test]
    fn workdir_under_a_closed_folder_is_refused_with_the_reason() {
        if !Sandbox::support().drop_user.is_available() {
            return; // Without a user switch every folder this process can enter will do.
        }
        let src = enterable_tempdir();
        let closed = tempfile::tempdir().unwrap();
        fs::set_permissions(closed.path(), fs::Permissions::from_mode(0o700)).unwrap();
        let err = prepare_workdir(src.path(), closed.path()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
        assert!(
            err.to_string().contains("cannot be entered by uid"),
            "{err}"
        );
    }
}

//! The [`Sandbox`]: limits, a pids cgroup per child, the private hosts file and the
//! unprivileged user, applied by [`Running::spawn`](crate::run::process::Running) through
//! [`Confine`].
//!
//! It prepares what each child must do before `exec` (see `pre_exec`); it never decides
//! verdicts and never prints.

use std::ffi::{CString, OsString};
use std::fs;
use std::io::{self, Write};
use std::net::IpAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use super::bwrap::Jail;
use super::cgroup::{cgroup_base, sweep_stale_cgroups, ChildCgroup, NoCgroup};
use super::hosts::hosts_file_contents;
use super::limits::Limits;
use super::memcg::MemoryCgroup;
use super::mounts::{can_cap_folders, CappedFolder, WORK_FOLDER_BYTES};
use super::pre_exec::ChildPlan;
use super::support::{probe_support, Feature, Support};
use super::sys::path_cstring;
use super::user::User;
use super::workdir::{prepare_workdir_as, WorkdirError, WorkdirLimits};
use crate::run::process::{Confine, Confined, Exit, Launch, Wrapped};

/// `RLIMIT_NPROC` when a pids cgroup gives each child its own process limit. The rlimit
/// counts every process of the user, and every sandboxed child runs as the same user, so
/// here it is only a machine-wide backstop shared by all children running at once.
const SHARED_USER_PROCESSES: u64 = 1024;

/// The first of the user ids submissions run as when this process is root: submission
/// `n` of a run is `SUBMISSION_UID_BASE + n`, a user no one else is, so no two students
/// share an identity. Far above the ids of real users and of common subordinate ranges.
pub const SUBMISSION_UID_BASE: u32 = 1_900_000_000;

/// The variables a graded program's environment starts from (the grader's own are not
/// passed on); the submission's commands add `LC_ALL`, `PYTHONIOENCODING`,
/// `PYTHONDONTWRITEBYTECODE` and `HOME` (its work folder).
pub const ENV_ALLOWLIST: [(&str, &str); 4] = [
    (
        "PATH",
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ),
    ("LANG", "C.UTF-8"),
    ("LC_ALL", "C.UTF-8"),
    ("TMPDIR", "/tmp"),
];

/// Confinement for untrusted programs; see the module documentation. One `Sandbox` serves
/// any number of children, each with its own cgroup; [`Sandbox::for_submission`] gives
/// one submission a sandbox of its own (its user, its memory budget).
#[derive(Debug, Clone)]
pub struct Sandbox {
    /// The limits every child gets.
    limits: Limits,
    /// What works here; features that do not are skipped.
    support: Support,
    /// The user children switch to; `None` when this process is not root.
    user: Option<User>,
    /// The private hosts file; removed when the last sandbox sharing it is dropped
    /// (children that mounted it keep it until they exit).
    hosts_file: Arc<tempfile::TempPath>,
    /// `hosts_file` as the C string the child's `mount` needs.
    hosts_c: CString,
    /// The folder holding one pids cgroup per child, when pids cgroups work.
    cgroup_base: Option<PathBuf>,
    /// The world each program runs in, when bubblewrap works here.
    jail: Option<Jail>,
    /// The memory cgroup every child joins: one submission's budget.
    memory: Option<Arc<MemoryCgroup>>,
    /// The submission's work folder as a tmpfs of [`WORK_FOLDER_BYTES`], where folders
    /// can be capped; unmounted when the last clone of this sandbox is dropped.
    work_cap: Arc<Mutex<Option<CappedFolder>>>,
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
        let jail = match support.bubblewrap {
            // Found working by `Sandbox::support`.
            Feature::Available => which::which("bwrap")
                .ok()
                .map(|b| Jail::new(b, &hosts_file, support.network_namespace.is_available())),
            Feature::Unavailable { .. } => None,
        };
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
            hosts_file: Arc::new(hosts_file),
            hosts_c,
            cgroup_base,
            jail,
            memory: None,
            work_cap: Arc::default(),
        })
    }

    /// A sandbox for submission `n` of a run: its own user (when this process is root),
    /// a memory cgroup allowing `memory_bytes` for all its processes together (when
    /// memory cgroups work), and `read_only` folders (copied interpreters) shown to it.
    /// What it started is killed when the last clone of it is dropped.
    pub fn for_submission(
        &self,
        n: u32,
        memory_bytes: u64,
        read_only: &[PathBuf],
    ) -> io::Result<Sandbox> {
        let mut one = self.clone();
        one.work_cap = Arc::default();
        if one.user.is_some() {
            let id = SUBMISSION_UID_BASE.saturating_add(n);
            one.user = Some(User { uid: id, gid: id });
        }
        if self.support.memory_cgroup.is_available() {
            one.memory = Some(Arc::new(MemoryCgroup::create(memory_bytes)?));
        }
        if let Some(jail) = &mut one.jail {
            for dir in read_only {
                jail.show_read_only(dir);
            }
        }
        Ok(one)
    }

    /// The same sandbox without bubblewrap's namespaces (to measure what they cost).
    pub fn without_bubblewrap(mut self) -> Sandbox {
        self.jail = None;
        self
    }

    /// Shows `dir` read-only to this sandbox's programs (a copied interpreter).
    pub fn show_read_only(&mut self, dir: &Path) {
        if let Some(jail) = &mut self.jail {
            jail.show_read_only(dir);
        }
    }

    /// Whether programs run in bubblewrap's namespaces.
    pub fn is_jailed(&self) -> bool {
        self.jail.is_some()
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
    /// sandbox's user, within `limits`; see [`prepare_workdir`](super::prepare_workdir).
    pub fn prepare_workdir(
        &self,
        src: &Path,
        dest_parent: &Path,
        limits: WorkdirLimits,
    ) -> Result<PathBuf, WorkdirError> {
        let parent = match self.cap_parent(dest_parent)? {
            Some(capped) => capped,
            None => dest_parent.to_path_buf(),
        };
        prepare_workdir_as(src, &parent, self.user, limits)
    }

    /// Where the work folder goes when it can be capped: a tmpfs of
    /// [`WORK_FOLDER_BYTES`] made for it under `dest_parent`, kept with this sandbox.
    fn cap_parent(&self, dest_parent: &Path) -> Result<Option<PathBuf>, WorkdirError> {
        if !can_cap_folders() {
            return Ok(None);
        }
        let dir = tempfile::Builder::new()
            .prefix("shout-cap-")
            .tempdir_in(dest_parent)
            .map_err(WorkdirError::Scratch)?
            .keep();
        let capped = CappedFolder::mount(&dir, WORK_FOLDER_BYTES).map_err(WorkdirError::Scratch)?;
        *self.work_cap.lock().unwrap_or_else(|p| p.into_inner()) = Some(capped);
        Ok(Some(dir))
    }

    /// What the child must do before `exec`, prepared here so that the hook
    /// itself only makes system calls.
    fn plan(&self, cgroup: Option<&Path>) -> io::Result<ChildPlan> {
        let mut procs = Vec::new();
        if let Some(dir) = cgroup {
            procs.push(path_cstring(&dir.join("cgroup.procs"))?);
        }
        if let Some(memory) = &self.memory {
            procs.push(path_cstring(&memory.procs())?);
        }
        // In bubblewrap's world the hosts file is one of its mounts.
        let hosts = match (&self.support.mount_namespace, &self.jail) {
            (Feature::Available, None) => Some((self.hosts_c.clone(), c"/etc/hosts".to_owned())),
            _ => None,
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
            keep_open: None,
        })
    }
}

impl Confine for Sandbox {
    fn confine(&self, cmd: &mut Launch, passed: Option<RawFd>) -> io::Result<Box<dyn Confined>> {
        let cgroup = match &self.cgroup_base {
            Some(base) => Some(ChildCgroup::create(base, self.limits.processes)?),
            None => None,
        };
        let mut plan = self.plan(cgroup.as_ref().map(ChildCgroup::dir))?;
        plan.keep_open = passed;
        // Nothing of the grader's environment (tokens, paths) reaches the program.
        cmd.env_clear();
        for (name, value) in ENV_ALLOWLIST {
            cmd.env(name, value);
        }
        if let Some(dir) = cmd.get_current_dir().map(Path::to_path_buf) {
            // The user's own home (`/nonexistent` for nobody) cannot be written.
            cmd.env("HOME", dir);
        }
        if self.jail.is_some() {
            // bubblewrap changes to the work folder inside its world.
            cmd.current_dir("/");
        }
        // SAFETY: the hook runs in the child, which shares this process's memory until
        // `exec`; `ChildPlan::apply` makes system calls on data prepared above and
        // allocates nothing.
        unsafe {
            cmd.pre_exec(Box::new(move || plan.apply()));
        }
        let confined: Box<dyn Confined> = match cgroup {
            Some(cgroup) => Box::new(cgroup),
            None => Box::new(NoCgroup),
        };
        Ok(match self.jail {
            Some(_) => Box::new(Jailed(confined)),
            None => confined,
        })
    }

    fn wrap(&self, argv: &[OsString], cwd: Option<&Path>) -> io::Result<Wrapped> {
        Ok(match &self.jail {
            Some(jail) => {
                // bubblewrap itself always starts; a program that is not there must still
                // fail the spawn, as it does without bubblewrap.
                if let Some(program) = argv.first() {
                    findable(Path::new(program), cwd)?;
                }
                let filter = jail.open_filter()?;
                Wrapped {
                    argv: jail.argv(argv, cwd, filter.as_ref().map(|f| f.as_raw_fd())),
                    passed: filter,
                }
            }
            None => Wrapped {
                argv: argv.to_vec(),
                passed: None,
            },
        })
    }
}

/// Fails with `NotFound` when `program` (a path, or a name looked up on the allowed
/// `PATH`) names no file.
fn findable(program: &Path, cwd: Option<&Path>) -> io::Result<()> {
    let found = if program.components().count() > 1 {
        match cwd {
            Some(dir) if program.is_relative() => dir.join(program).is_file(),
            _ => program.is_file(),
        }
    } else {
        let path = ENV_ALLOWLIST[0].1;
        std::env::split_paths(path).any(|dir| dir.join(program).is_file())
    };
    if found {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{}: no such program", program.display()),
        ))
    }
}

/// A child started through bubblewrap: its cgroup as usual, and its exit status told as
/// the program's own (bubblewrap exits with 128 + N when the program died of signal N).
#[derive(Debug)]
struct Jailed(Box<dyn Confined>);

impl Drop for Jailed {
    fn drop(&mut self) {
        // bubblewrap's init outlives its killed parent for a moment, and is then ours:
        // end everything first, then reap it.
        self.0.kill_all();
        crate::run::process::reap_orphan_zombies();
    }
}

impl Confined for Jailed {
    fn kill_all(&self) {
        self.0.kill_all();
    }

    fn process_limit_hit(&self) -> bool {
        self.0.process_limit_hit()
    }

    fn exit_of(&self, exit: Exit) -> Exit {
        match exit {
            Exit::Code(c) if (129..=128 + 64).contains(&c) => Exit::Signal(c - 128),
            other => other,
        }
    }
}

/// Copies the submission folder `src` into a fresh folder under `dest_parent` and returns
/// it. The copy belongs to the user sandboxed children run as (`nobody` when this process
/// is root), so they can build and write there; `src` is only read.
///
/// Only regular files and folders are copied; symbolic links (never followed), FIFOs,
/// sockets and devices are left out. A submission of more than [`MAX_WORKDIR_ENTRIES`](super::MAX_WORKDIR_ENTRIES)
/// files and folders or [`MAX_WORKDIR_BYTES`](super::MAX_WORKDIR_BYTES) bytes is refused
/// (saying how large it is), and nothing is copied.
/// `dest_parent` and the folders above it must be enterable by that user (mode `o+x`,
/// as `/tmp` is).
pub fn prepare_workdir(src: &Path, dest_parent: &Path) -> io::Result<PathBuf> {
    let user = Sandbox::support()
        .drop_user
        .is_available()
        .then(User::nobody);
    Ok(prepare_workdir_as(
        src,
        dest_parent,
        user,
        WorkdirLimits::default(),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_program_is_not_found_before_bubblewrap_starts() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("server"), "").unwrap();
        assert!(findable(Path::new("sh"), None).is_ok());
        assert!(findable(Path::new("./server"), Some(dir.path())).is_ok());
        let e = findable(Path::new("shout-no-such-program"), None).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(findable(Path::new("./missing"), Some(dir.path())).is_err());
    }

    #[test]
    fn a_signal_death_behind_bubblewrap_reads_as_the_signal() {
        let jailed = Jailed(Box::new(NoCgroup));
        assert_eq!(jailed.exit_of(Exit::Code(139)), Exit::Signal(11));
        assert_eq!(jailed.exit_of(Exit::Code(1)), Exit::Code(1));
        assert_eq!(jailed.exit_of(Exit::TimedOut), Exit::TimedOut);
    }
}

//! The [`Sandbox`]: limits, a pids cgroup per child, the private hosts file and the
//! unprivileged user, applied by [`Running::spawn`](crate::run::process::Running) through
//! [`Confine`].
//!
//! It prepares what each child must do before `exec` (see `pre_exec`); it never decides
//! verdicts and never prints.

use std::ffi::CString;
use std::fs;
use std::io::{self, Write};
use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::cgroup::{cgroup_base, sweep_stale_cgroups, ChildCgroup, NoCgroup};
use super::hosts::hosts_file_contents;
use super::limits::Limits;
use super::pre_exec::ChildPlan;
use super::support::{probe_support, Feature, Support};
use super::sys::path_cstring;
use super::user::User;
use super::workdir::prepare_workdir_as;
use crate::run::process::{Confine, Confined};

/// `RLIMIT_NPROC` when a pids cgroup gives each child its own process limit. The rlimit
/// counts every process of the user, and every sandboxed child runs as the same user, so
/// here it is only a machine-wide backstop shared by all children running at once.
const SHARED_USER_PROCESSES: u64 = 1024;

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
    /// sandbox's user; see [`prepare_workdir`](super::prepare_workdir).
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
        let mut plan = self.plan(cgroup.as_ref().map(ChildCgroup::dir))?;
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

/// Copies the submission folder `src` into a fresh folder under `dest_parent` and returns
/// it. The copy belongs to the user sandboxed children run as (`nobody` when this process
/// is root), so they can build and write there; `src` is only read.
///
/// Only regular files and folders are copied; symbolic links (never followed), FIFOs,
/// sockets and devices are left out. A submission of more than [`MAX_WORKDIR_ENTRIES`](super::MAX_WORKDIR_ENTRIES)
/// files and folders or [`MAX_WORKDIR_BYTES`](super::MAX_WORKDIR_BYTES) bytes is refused, and nothing is copied.
/// `dest_parent` and the folders above it must be enterable by that user (mode `o+x`,
/// as `/tmp` is).
pub fn prepare_workdir(src: &Path, dest_parent: &Path) -> io::Result<PathBuf> {
    let user = Sandbox::support()
        .drop_user
        .is_available()
        .then(User::nobody);
    prepare_workdir_as(src, dest_parent, user)
}

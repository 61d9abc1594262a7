//! What confinement works on this machine, found once by trying each feature on a
//! short-lived thread of its own.
//!
//! Probing never touches the calling thread's namespaces; it starts one process, a
//! `bwrap` running `true`, to see whether bubblewrap works.

use std::io;

use super::bwrap::find_bwrap;
use super::cgroup::{cgroup_base, ChildCgroup};
use super::memcg::probe_memory_cgroup;
use super::sys::{check, enter_private_mount_namespace};

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
    /// A fresh network namespace per worker thread ([`enter_fresh_netns`](super::enter_fresh_netns)).
    pub network_namespace: Feature,
    /// Bubblewrap: per program a user and PID namespace with its own `/proc`, private
    /// `/tmp` and `/dev/shm`, and a file system holding only its work folder and the
    /// read-only toolchains.
    pub bubblewrap: Feature,
    /// A memory cgroup per submission: one memory budget for all its processes.
    pub memory_cgroup: Feature,
}

impl Support {
    /// The features that do not work, each with its name and reason, in a fixed order.
    pub fn unavailable(&self) -> Vec<(&'static str, &str)> {
        [
            ("mount namespace", &self.mount_namespace),
            ("pids cgroup", &self.pids_cgroup),
            ("unprivileged user", &self.drop_user),
            ("network namespace", &self.network_namespace),
            ("bubblewrap", &self.bubblewrap),
            ("memory cgroup", &self.memory_cgroup),
        ]
        .into_iter()
        .filter_map(|(name, feature)| match feature {
            Feature::Available => None,
            Feature::Unavailable { reason } => Some((name, reason.as_str())),
        })
        .collect()
    }

    /// Every layer by name, with whether it works, in a fixed order.
    pub fn layers(&self) -> Vec<(&'static str, &Feature)> {
        vec![
            ("unprivileged user", &self.drop_user),
            ("pids cgroup", &self.pids_cgroup),
            ("network namespace", &self.network_namespace),
            ("mount namespace", &self.mount_namespace),
            ("bubblewrap", &self.bubblewrap),
            ("memory cgroup", &self.memory_cgroup),
        ]
    }
}

/// Whether `uid` exists in this process's user namespace (in the initial namespace,
/// every uid does; in one of shout's own, only the user who made it).
fn uid_mapped(uid: u32) -> bool {
    let Ok(map) = std::fs::read_to_string("/proc/self/uid_map") else {
        return true;
    };
    map.lines().any(|line| {
        let n: Vec<u64> = line
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        matches!(n[..], [inside, _, count] if (inside..inside + count).contains(&(uid as u64)))
    })
}

/// Tries each feature once.
pub(super) fn probe_support() -> Support {
    if !cfg!(target_os = "linux") {
        let no = || Feature::unavailable("confinement needs Linux");
        return Support {
            mount_namespace: no(),
            pids_cgroup: no(),
            drop_user: no(),
            network_namespace: no(),
            bubblewrap: no(),
            memory_cgroup: no(),
        };
    }
    // Root of the machine, not of a user namespace of shout's own (an ordinary user's
    // `grade` and `check DIR` run in one, where only that user is mapped): there, the
    // submissions' own users do not exist, and the sandbox works as an ordinary user's.
    // SAFETY: geteuid(2) cannot fail.
    let root = unsafe { libc::geteuid() } == 0
        && uid_mapped(super::User::nobody().uid)
        && uid_mapped(super::SUBMISSION_UID_BASE);
    let not_root = |what: &str| Feature::unavailable(format!("{what} needs root"));
    let mount_namespace = if root {
        probe_in_thread(probe_mount_namespace).map_or_else(
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
    let nobody = super::user::User::nobody();
    let bubblewrap = match find_bwrap(root.then_some((nobody.uid, nobody.gid))) {
        Ok(_) => Feature::Available,
        Err(why) => Feature::unavailable(why),
    };
    let memory_cgroup = if root {
        match probe_memory_cgroup() {
            Ok(()) => Feature::Available,
            Err(e) => Feature::unavailable(format!(
                "one memory budget per submission needs a writable memory cgroup (v1, or v2 with the memory controller delegated): {e}"
            )),
        }
    } else {
        not_root("one memory budget per submission (a memory cgroup)")
    };
    Support {
        mount_namespace,
        pids_cgroup,
        drop_user,
        network_namespace,
        bubblewrap,
        memory_cgroup,
    }
}

/// Runs `probe` on a thread of its own, so whatever it changes ends with the thread.
fn probe_in_thread(probe: fn() -> io::Result<()>) -> io::Result<()> {
    std::thread::spawn(probe)
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("the probe panicked")))
}

/// Enters a private mount namespace and makes `/` private in it, as each child does
/// before mounting its hosts file. Run it only through [`probe_in_thread`].
fn probe_mount_namespace() -> io::Result<()> {
    // SAFETY: unshare(2) and mount(2) on the short-lived thread `probe_in_thread` made.
    unsafe { enter_private_mount_namespace() }
}

/// Creates and removes one pids cgroup.
fn probe_cgroup() -> io::Result<()> {
    let base = cgroup_base()?;
    let probe = ChildCgroup::create(&base, 1)?;
    drop(probe);
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::run::sandbox::Sandbox;

    #[test]
    fn unavailable_features_each_have_a_reason() {
        let support = Sandbox::support();
        for (name, reason) in support.unavailable() {
            assert!(!reason.is_empty(), "{name} has no reason");
        }
    }
}

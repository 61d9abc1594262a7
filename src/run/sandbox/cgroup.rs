//! One pids cgroup per confined child (cgroup v1): created with its process limit,
//! emptied with SIGKILL and removed when the child is done; leftovers of harness
//! processes that died are swept.
//!
//! It touches only the `shout` folder inside this process's own pids cgroup, and kills
//! only processes in cgroups it created.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::sys::annotate;
use crate::run::process::Confined;

/// How long [`Confined::kill_all`] keeps killing a cgroup that is not yet empty.
pub const KILL_PATIENCE: Duration = Duration::from_secs(2);

/// The folder, inside this process's pids cgroup, that holds one cgroup per child.
const CGROUP_DIR: &str = "shout";

/// The handle of a child confined without a cgroup: its process group is all there is
/// to kill, and [`Running`](crate::run::process::Running) already does that.
#[derive(Debug)]
pub(super) struct NoCgroup;

impl Confined for NoCgroup {
    fn kill_all(&self) {}
}

/// One child's pids cgroup; dropping it kills what is left and removes the folder.
#[derive(Debug)]
pub(super) struct ChildCgroup {
    /// The cgroup's folder, named `<harness pid>-<n>` so a sweep can tell whose it is.
    dir: PathBuf,
}

impl ChildCgroup {
    /// The cgroup's folder.
    pub(super) fn dir(&self) -> &Path {
        &self.dir
    }

    /// A new cgroup under `base` in which at most `processes` may be alive at once.
    pub(super) fn create(base: &Path, processes: u64) -> io::Result<ChildCgroup> {
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
pub(super) fn sweep_stale_cgroups(base: &Path) {
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
pub(super) fn cgroup_base() -> io::Result<PathBuf> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}

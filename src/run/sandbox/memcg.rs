//! One memory cgroup per graded submission: every process of the submission (its build,
//! its servers, its clients) counts against one memory budget, so two processes cannot
//! each hold the per-process limit. Cgroup v1 (the `memory` hierarchy) and v2 (the
//! unified hierarchy, where this process's cgroup must delegate the memory controller).
//!
//! It only creates, fills and removes cgroups below this process's own; it kills only
//! processes in cgroups it created.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::sys::annotate;

/// Default memory budget of one submission: every process it runs at once (512 MiB).
pub const SUBMISSION_MEMORY_BYTES: u64 = 512 << 20;

/// The folder, inside this process's memory cgroup, holding one cgroup per submission.
const DIR: &str = "shout-mem";

/// Which cgroup version holds the memory controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V1,
    V2,
}

/// One submission's memory cgroup; dropping it kills what is left in it and removes it.
#[derive(Debug)]
pub(super) struct MemoryCgroup {
    dir: PathBuf,
}

impl MemoryCgroup {
    /// A new memory cgroup allowing `bytes` of memory (and no swap beyond it).
    pub(super) fn create(bytes: u64) -> io::Result<MemoryCgroup> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let (base, version) = memory_base()?;
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = base.join(format!("{}-{n}", std::process::id()));
        fs::create_dir(&dir).map_err(|e| annotate(e, "cannot create the memory cgroup", &dir))?;
        let cgroup = MemoryCgroup { dir };
        let limit = bytes.to_string();
        match version {
            Version::V1 => {
                cgroup.set("memory.limit_in_bytes", &limit)?;
                // Present only with swap accounting; without it swap is not counted.
                let _ = cgroup.set("memory.memsw.limit_in_bytes", &limit);
            }
            Version::V2 => {
                cgroup.set("memory.max", &limit)?;
                let _ = cgroup.set("memory.swap.max", "0");
            }
        }
        Ok(cgroup)
    }

    /// Its `cgroup.procs`, which a child joins by writing its pid.
    pub(super) fn procs(&self) -> PathBuf {
        self.dir.join("cgroup.procs")
    }

    fn set(&self, file: &str, value: &str) -> io::Result<()> {
        let path = self.dir.join(file);
        fs::write(&path, value).map_err(|e| annotate(e, "cannot write", &path))
    }
}

impl Drop for MemoryCgroup {
    fn drop(&mut self) {
        empty_and_remove(&self.dir);
    }
}

/// Kills what is left in the cgroup `dir` and removes it, waiting at most 2 s.
fn empty_and_remove(dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let pids: Vec<i32> = fs::read_to_string(dir.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect();
        for &pid in &pids {
            // SAFETY: kill(2) on a pid in a cgroup only this submission's children join.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        match fs::remove_dir(dir) {
            Ok(()) => return,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Err(_) => return,
        }
    }
}

/// The folder for submission cgroups and the version it is on: `shout-mem` inside this
/// process's memory cgroup (v1 when a v1 memory hierarchy is mounted, else v2).
fn memory_base() -> io::Result<(PathBuf, Version)> {
    let mountinfo = fs::read_to_string("/proc/self/mountinfo")?;
    let own = fs::read_to_string("/proc/self/cgroup")?;
    let (root, point, version) = mountinfo
        .lines()
        .find_map(|l| memory_mount(l, Version::V1))
        .or_else(|| mountinfo.lines().find_map(|l| memory_mount(l, Version::V2)))
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no memory cgroup is mounted"))?;
    let own_path = own
        .lines()
        .find_map(|line| {
            let mut parts = line.splitn(3, ':');
            let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
            let ours = match version {
                Version::V1 => controllers.split(',').any(|c| c == "memory"),
                Version::V2 => controllers.is_empty(),
            };
            ours.then(|| path.to_owned())
        })
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "this process is in no memory cgroup",
            )
        })?;
    let relative = Path::new(&own_path)
        .strip_prefix(&root)
        .unwrap_or(Path::new(""));
    let relative = relative.strip_prefix("/").unwrap_or(relative);
    let base = point.join(relative).join(DIR);
    match fs::create_dir(&base) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(annotate(e, "cannot create", &base)),
    }
    sweep_stale(&base);
    if version == Version::V2 {
        // The memory controller must be handed down to the submissions' cgroups.
        let control = base.join("cgroup.subtree_control");
        fs::write(&control, "+memory")
            .map_err(|e| annotate(e, "cannot delegate memory in", &control))?;
    }
    Ok((base, version))
}

/// Removes the cgroups, named `<pid>-<n>`, of shout processes that no longer exist
/// (killed before they could clean up).
fn sweep_stale(base: &Path) {
    for entry in fs::read_dir(base).into_iter().flatten().flatten() {
        let name = entry.file_name();
        let owner = name
            .to_str()
            .and_then(|n| n.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok());
        if let Some(owner) = owner {
            if owner != std::process::id() && !Path::new(&format!("/proc/{owner}")).exists() {
                empty_and_remove(&entry.path());
            }
        }
    }
}

/// From one `/proc/self/mountinfo` line, the root and mount point of a cgroup hierarchy
/// with the memory controller, for `version`.
fn memory_mount(line: &str, version: Version) -> Option<(PathBuf, PathBuf, Version)> {
    let (mount, fs) = line.split_once(" - ")?;
    let mut fs_fields = fs.split(' ');
    let (fstype, _source, options) = (fs_fields.next()?, fs_fields.next()?, fs_fields.next()?);
    let ok = match version {
        Version::V1 => fstype == "cgroup" && options.split(',').any(|o| o == "memory"),
        Version::V2 => fstype == "cgroup2",
    };
    if !ok {
        return None;
    }
    let fields: Vec<&str> = mount.split(' ').collect();
    Some((
        PathBuf::from(fields.get(3)?),
        PathBuf::from(fields.get(4)?),
        version,
    ))
}

/// Whether a memory cgroup can be made here, or why not.
pub(super) fn probe_memory_cgroup() -> io::Result<()> {
    MemoryCgroup::create(SUBMISSION_MEMORY_BYTES).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_v1_memory_and_v2_hierarchies() {
        let v1 = "35 31 0:33 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory";
        assert_eq!(
            memory_mount(v1, Version::V1).map(|m| m.1),
            Some(PathBuf::from("/sys/fs/cgroup/memory"))
        );
        let pids = "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids";
        assert_eq!(memory_mount(pids, Version::V1), None);
        let v2 = "41 31 0:38 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw";
        assert_eq!(
            memory_mount(v2, Version::V2).map(|m| m.1),
            Some(PathBuf::from("/sys/fs/cgroup"))
        );
    }
}

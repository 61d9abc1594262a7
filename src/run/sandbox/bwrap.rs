//! The world a graded program sees, built by bubblewrap (`bwrap`, Flatpak's sandbox): its
//! own user and PID namespaces with their own `/proc`, a private size-capped `/tmp` and
//! `/dev/shm`, the system's toolchain folders read-only, its own work folder writable,
//! and nothing else of the machine's files.
//!
//! This module only builds `bwrap`'s command line and finds out whether `bwrap` works;
//! the child is started by [`Running::spawn`](crate::run::process::Running).

use std::ffi::OsString;
use std::fs;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use super::seccomp;

/// The system folders every graded program sees read-only: programs, libraries, the
/// toolchains under them (`/usr/lib/jvm`, `/usr/local`) and their configuration
/// (`/etc`). A folder missing here is left out; a symbolic link (`/bin` → `usr/bin` on
/// merged-/usr systems) is recreated as a link.
const SYSTEM_DIRS: [&str; 9] = [
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt",
];

/// Default size of the private `/tmp` and of `/dev/shm`, each (64 MiB).
pub const TMPFS_BYTES: u64 = 64 << 20;

/// How to build a program's world.
#[derive(Debug, Clone)]
pub(super) struct Jail {
    /// The `bwrap` program.
    bwrap: PathBuf,
    /// The private hosts file, shown as `/etc/hosts`.
    hosts: PathBuf,
    /// Further folders shown read-only at the same path (copied interpreters).
    read_only: Vec<PathBuf>,
    /// Size of `/tmp` and of `/dev/shm`, each.
    tmpfs_bytes: u64,
    /// The network namespace of this process when the jail was made: a program started
    /// from a thread still in it gets a network of its own (only `lo`) instead; `None`
    /// when the harness cannot give servers networks of their own, so that programs
    /// share this one (the harness's probes must reach them).
    host_netns: Option<(u64, u64)>,
    /// This program's own file, hidden if it lies inside a folder shown.
    own_exe: Option<PathBuf>,
    /// The system-call filter bubblewrap installs, in an unnamed file; `None` where this
    /// build does not know the architecture (then `--disable-userns` does its job).
    filter: Option<Arc<fs::File>>,
}

impl Jail {
    /// A jail using `bwrap`, showing `hosts` as `/etc/hosts`; `own_networks` when the
    /// harness runs servers in network namespaces of their own (then a program started
    /// outside one, a build, gets a fresh one from bubblewrap).
    pub(super) fn new(bwrap: PathBuf, hosts: &Path, own_networks: bool) -> Jail {
        Jail {
            bwrap,
            hosts: hosts.to_path_buf(),
            read_only: Vec::new(),
            tmpfs_bytes: TMPFS_BYTES,
            host_netns: own_networks
                .then(|| netns_id("/proc/thread-self/ns/net"))
                .flatten(),
            own_exe: std::env::current_exe().ok(),
            filter: seccomp::known_here()
                .then(filter_file)
                .and_then(Result::ok)
                .map(Arc::new),
        }
    }

    /// The filter opened afresh for one program (bubblewrap reads it from the start and
    /// closes it): a descriptor to pass, named by [`Jail::argv`]'s `filter`.
    pub(super) fn open_filter(&self) -> io::Result<Option<OwnedFd>> {
        match &self.filter {
            Some(file) => {
                let path = format!("/proc/self/fd/{}", file.as_raw_fd());
                Ok(Some(fs::File::open(path)?.into()))
            }
            None => Ok(None),
        }
    }

    /// Also shows `dir` read-only (a copied interpreter).
    pub(super) fn show_read_only(&mut self, dir: &Path) {
        if !self.read_only.iter().any(|d| d == dir) {
            self.read_only.push(dir.to_path_buf());
        }
    }

    /// `bwrap`'s command line running `argv` in `cwd`, which is shown writable: the
    /// folder the program works in is its own work folder. `filter` is the descriptor
    /// from [`Jail::open_filter`], which the child must keep open.
    pub(super) fn argv(
        &self,
        argv: &[OsString],
        cwd: Option<&Path>,
        filter: Option<RawFd>,
    ) -> Vec<OsString> {
        if argv.is_empty() {
            return Vec::new();
        }
        let mut a: Vec<OsString> = vec![self.bwrap.clone().into()];
        fn push(a: &mut Vec<OsString>, words: &[&str]) {
            a.extend(words.iter().map(OsString::from));
        }
        push(
            &mut a,
            &[
                "--unshare-user",
                "--unshare-pid",
                "--unshare-ipc",
                "--unshare-uts",
                "--unshare-cgroup-try",
                "--die-with-parent",
                "--hostname",
                "localhost",
            ],
        );
        match filter {
            Some(fd) => a.extend(["--seccomp".into(), fd.to_string().into()]),
            None => push(&mut a, &["--disable-userns"]),
        }
        if self.in_host_netns() {
            // Never the grader's own network: a build gets one with only `lo`.
            push(&mut a, &["--unshare-net"]);
        }
        for dir in SYSTEM_DIRS {
            match fs::symlink_metadata(dir) {
                Ok(m) if m.file_type().is_symlink() => {
                    if let Ok(target) = fs::read_link(dir) {
                        a.extend(["--symlink".into(), target.into(), dir.into()]);
                    }
                }
                Ok(m) if m.is_dir() => a.extend(["--ro-bind".into(), dir.into(), dir.into()]),
                _ => {}
            }
        }
        let size = self.tmpfs_bytes.to_string();
        push(&mut a, &["--proc", "/proc", "--dev", "/dev"]);
        // The program stays in the harness's process group (which finds its sockets and
        // ends it by that group), so it keeps the grader's session: with no terminal to
        // open, it cannot type into the grader's (TIOCSTI) either.
        push(&mut a, &["--ro-bind", "/dev/null", "/dev/tty"]);
        push(&mut a, &["--size", &size, "--tmpfs", "/tmp"]);
        push(&mut a, &["--size", &size, "--tmpfs", "/dev/shm"]);
        // After the tmpfs mounts, which would hide what lies below them (the scratch
        // folder holding copied interpreters and the work folder is under /tmp).
        for dir in &self.read_only {
            a.extend(["--ro-bind".into(), dir.into(), dir.into()]);
        }
        if let Some(exe) = self.own_exe.as_deref().filter(|e| self.shows(e)) {
            a.extend(["--ro-bind".into(), "/dev/null".into(), exe.into()]);
        }
        a.extend([
            "--ro-bind".into(),
            self.hosts.clone().into(),
            "/etc/hosts".into(),
        ]);
        if let Some(dir) = cwd {
            a.extend(["--bind".into(), dir.into(), dir.into()]);
            a.extend(["--chdir".into(), dir.into()]);
        }
        a.push("--".into());
        a.extend(argv.iter().cloned());
        a
    }

    /// Whether `path` lies inside a folder the jail shows.
    fn shows(&self, path: &Path) -> bool {
        SYSTEM_DIRS
            .iter()
            .map(Path::new)
            .chain(self.read_only.iter().map(PathBuf::as_path))
            .any(|d| path.starts_with(d))
    }

    /// Whether the calling thread is still in the network namespace this process started
    /// in.
    fn in_host_netns(&self) -> bool {
        self.host_netns.is_some() && netns_id("/proc/thread-self/ns/net") == self.host_netns
    }
}

/// The filter's bytes in an unnamed temporary file.
fn filter_file() -> io::Result<fs::File> {
    let mut file = tempfile::tempfile()?;
    file.write_all(&seccomp::filter_bytes())?;
    Ok(file)
}

/// The device and inode of a namespace file, which identify the namespace.
fn netns_id(path: &str) -> Option<(u64, u64)> {
    fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// The `bwrap` program on `PATH`, when it runs a program in a user, PID, mount and IPC
/// namespace here (as the user `uid`:`gid` when given, as the children will); otherwise
/// why not, in one sentence.
pub(super) fn find_bwrap(user: Option<(u32, u32)>) -> Result<PathBuf, String> {
    let bwrap = which::which("bwrap")
        .map_err(|_| "bubblewrap is not installed (apt-get install bubblewrap)".to_string())?;
    let jail = Jail::new(bwrap.clone(), Path::new("/etc/hosts"), false);
    let filter = jail
        .open_filter()
        .map_err(|e| format!("the system-call filter: {e}"))?;
    let argv = jail.argv(
        &["true".into()],
        None,
        filter.as_ref().map(|f| f.as_raw_fd()),
    );
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    use std::os::unix::process::CommandExt;
    if let Some((uid, gid)) = user {
        cmd.uid(uid).gid(gid);
    }
    if let Some(fd) = filter.as_ref().map(|f| f.as_raw_fd()) {
        // SAFETY: the hook only makes one system call.
        unsafe {
            cmd.pre_exec(move || super::sys::keep_across_exec(fd));
        }
    }
    let out = cmd
        .output()
        .map_err(|e| format!("bubblewrap could not start: {e}"))?;
    if out.status.success() {
        Ok(bwrap)
    } else {
        let why = String::from_utf8_lossy(&out.stderr);
        Err(format!(
            "bubblewrap cannot create namespaces here ({}); user namespaces may be disabled (sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces)",
            crate::text::visible_str(why.trim())
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(argv: &[OsString]) -> Vec<String> {
        argv.iter()
            .map(|w| w.to_string_lossy().into_owned())
            .collect()
    }

    fn position(words: &[String], pair: [&str; 2]) -> usize {
        words
            .windows(2)
            .position(|w| w[0] == pair[0] && w[1] == pair[1])
            .unwrap_or_else(|| panic!("{pair:?} is not in {words:?}"))
    }

    #[test]
    fn the_program_sees_its_folder_writable_and_the_copied_tools_above_its_private_tmp() {
        let mut jail = Jail::new("/usr/bin/bwrap".into(), Path::new("/tmp/hosts"), false);
        jail.show_read_only(Path::new("/tmp/scratch/interpreter-3.12"));
        let argv = jail.argv(
            &["python3".into(), "s.py".into()],
            Some(Path::new("/tmp/scratch/work")),
            Some(7),
        );
        let w = words(&argv);
        assert_eq!(w[0], "/usr/bin/bwrap");
        for flag in [
            "--unshare-user",
            "--unshare-pid",
            "--unshare-ipc",
            "--die-with-parent",
        ] {
            assert!(w.iter().any(|x| x == flag), "{flag} missing: {w:?}");
        }
        // The filter forbids new user namespaces; bubblewrap's nested one is not needed.
        assert!(position(&w, ["--seccomp", "7"]) < position(&w, ["--", "python3"]));
        assert!(!w.iter().any(|x| x == "--disable-userns"), "{w:?}");
        // Mounts on /tmp come after the tmpfs, which would hide them.
        let tmpfs = position(&w, ["--tmpfs", "/tmp"]);
        assert!(position(&w, ["--ro-bind", "/tmp/scratch/interpreter-3.12"]) > tmpfs);
        assert!(position(&w, ["--bind", "/tmp/scratch/work"]) > tmpfs);
        assert!(position(&w, ["--ro-bind", "/tmp/hosts"]) > tmpfs);
        assert!(position(&w, ["--ro-bind", "/dev/null"]) > position(&w, ["--dev", "/dev"]));
        assert_eq!(w[position(&w, ["--ro-bind", "/dev/null"]) + 2], "/dev/tty");
        assert_eq!(&w[w.len() - 3..], ["--", "python3", "s.py"]);
        // Without networks of its own from the harness, the program keeps this one.
        assert!(!w.iter().any(|x| x == "--unshare-net"), "{w:?}");
        assert!(jail.argv(&[], None, None).is_empty());
        let without = words(&jail.argv(&["true".into()], None, None));
        assert!(
            without.iter().any(|x| x == "--disable-userns"),
            "{without:?}"
        );
        assert!(!without.iter().any(|x| x == "--seccomp"), "{without:?}");
    }

    #[test]
    fn a_program_started_in_this_processs_network_gets_its_own() {
        let jail = Jail::new("/usr/bin/bwrap".into(), Path::new("/tmp/hosts"), true);
        let w = words(&jail.argv(&["true".into()], None, None));
        assert!(w.iter().any(|x| x == "--unshare-net"), "{w:?}");
    }
}

//! Finding a Python interpreter (`python2`, `python3`) that confined children can run: a
//! system one, else one of pyenv's, copied to a scratch folder when the unprivileged user
//! cannot reach it where it is (pyenv often lives under a home folder others cannot enter,
//! and `python2` is often only a pyenv shim).
//!
//! It starts each candidate (`-c pass`) to see that it works and `cp -a` to copy one;
//! nothing else. It decides nothing about submissions and never prints.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, PoisonError};

/// A working interpreter the unprivileged user can run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interpreter {
    /// The program to start.
    pub path: PathBuf,
    /// For a copy in the scratch folder, its `lib` folder: a copied interpreter still
    /// looks for its shared library where it was built (pyenv's builds link
    /// `libpythonX.Y.so` by an absolute run path), so it needs `LD_LIBRARY_PATH` set to
    /// this. `None` for an interpreter used where it is.
    pub lib_dir: Option<PathBuf>,
}

/// How the folders of copied interpreters in the scratch folder are named.
const COPY_PREFIX: &str = "interpreter-";

/// A working interpreter named `name` (`python2`, `python3`) that the unprivileged user
/// can run: one in `/usr/local/bin`, `/usr/bin`, `/bin` or on `PATH` that everyone may
/// run, else the newest of pyenv's `X.*` versions that works, copied into `scratch` when
/// others cannot reach it. A prefix is copied once per process. `None` when there is
/// none.
pub fn find(name: &str, scratch: &Path) -> Option<Interpreter> {
    let path = find_path(name, scratch)?;
    let lib_dir = copied_lib_dir(&path, scratch);
    Some(Interpreter { path, lib_dir })
}

fn find_path(name: &str, scratch: &Path) -> Option<PathBuf> {
    static COPIES: Mutex<BTreeMap<PathBuf, PathBuf>> = Mutex::new(BTreeMap::new());
    let mut system: Vec<PathBuf> = ["/usr/local/bin", "/usr/bin", "/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .collect();
    system.extend(which::which(name));
    if let Some(p) = system.iter().find(|p| open_to_others(p) && runs(p)) {
        return Some(p.clone());
    }
    let prefix = pyenv_prefix(name)?;
    let bin = prefix.join("bin").join(name);
    if open_to_others(&bin) {
        return Some(bin);
    }
    let mut copies = COPIES.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(copy) = copies.get(&prefix) {
        return Some(copy.join("bin").join(name));
    }
    let copy = scratch.join(format!(
        "{COPY_PREFIX}{}",
        prefix.file_name()?.to_string_lossy()
    ));
    if !copy_open_to_all(&prefix, &copy) {
        return None;
    }
    copies.insert(prefix, copy.clone());
    Some(copy.join("bin").join(name))
}

/// The interpreters [`find`] copied into `scratch` (each a folder), for the sandbox to
/// show read-only to graded programs.
pub fn copies_in(scratch: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(scratch) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(COPY_PREFIX))
        .map(|e| e.path())
        .collect()
}

/// The newest of pyenv's installed versions whose `bin/<name>` works (`3.*` for
/// `python3`), under `$PYENV_ROOT` or `~/.pyenv`.
fn pyenv_prefix(name: &str) -> Option<PathBuf> {
    let root = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pyenv")))?;
    let major = name.trim_start_matches("python");
    let mut versions: Vec<PathBuf> = fs::read_dir(root.join("versions"))
        .ok()?
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!("{major}."))
        })
        .map(|e| e.path())
        .collect();
    versions.sort();
    versions
        .into_iter()
        .rev()
        .find(|v| runs(&v.join("bin").join(name)))
}

/// The `lib` folder of an interpreter that [`find`] copied into `scratch`.
fn copied_lib_dir(interpreter: &Path, scratch: &Path) -> Option<PathBuf> {
    let prefix = interpreter.parent()?.parent()?;
    (prefix.parent() == Some(scratch)).then(|| prefix.join("lib"))
}

/// Whether every folder above `path` lets others in, and `path` lets them run it.
pub(super) fn open_to_others(path: &Path) -> bool {
    let mode = |p: &Path| fs::metadata(p).map(|m| m.permissions().mode()).ok();
    mode(path).is_some_and(|m| m & 0o001 != 0)
        && path
            .ancestors()
            .skip(1)
            .all(|a| mode(a).is_some_and(|m| m & 0o001 != 0))
}

/// Whether `python -c pass` succeeds, in one of three tries. It writes no bytecode:
/// Python 2 writes its `.pyc` files in place, and another interpreter starting at that
/// moment (a copy being made, a concurrent run) can read one half written and fail, so
/// a single failed start is not taken as a broken interpreter.
/// An interpreter that ran once is taken to run for the rest of the process: every
/// submission of a class asks about the same few.
fn runs(python: &Path) -> bool {
    static RAN: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());
    if RAN
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .contains(python)
    {
        return true;
    }
    let ran = (0..3).any(|_| {
        Command::new(python)
            .args(["-B", "-c", "pass"])
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    if ran {
        RAN.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(python.to_path_buf());
    }
    ran
}

/// Copies the installation `prefix` to `copy` as `cp -a` does (links kept as links,
/// modes, owners, times and hard links kept), then lets everyone read all of it and run
/// what could be run. Whether both worked.
fn copy_open_to_all(prefix: &Path, copy: &Path) -> bool {
    // `cp -a` rather than a copy by hand: it keeps hard links, owners, the times of
    // links and extended attributes, which std::fs cannot.
    let copied = Command::new("cp")
        .arg("-a")
        .arg(prefix)
        .arg(copy)
        .status()
        .is_ok_and(|s| s.success());
    copied && open_tree_to_all(copy).is_ok()
}

/// `chmod -R a+rX` on `root`: read for everyone on everything, and search or execute for
/// everyone on folders and on files that someone could already execute. Folders change
/// before their contents are read; symbolic links are left alone, never followed.
fn open_tree_to_all(root: &Path) -> io::Result<()> {
    let mut pending = vec![root.to_path_buf()];
    while let Some(path) = pending.pop() {
        let meta = fs::symlink_metadata(&path)?;
        if meta.file_type().is_symlink() {
            continue;
        }
        let mode = meta.permissions().mode() & 0o7777;
        let executable = meta.is_dir() || mode & 0o111 != 0;
        let wanted = mode | 0o444 | if executable { 0o111 } else { 0 };
        if wanted != mode {
            fs::set_permissions(&path, fs::Permissions::from_mode(wanted))?;
        }
        if meta.is_dir() {
            for entry in fs::read_dir(&path)? {
                pending.push(entry?.path());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn a_tree_is_opened_like_chmod_a_plus_r_capital_x() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("prefix");
        fs::create_dir_all(root.join("bin")).unwrap();
        fs::create_dir(root.join("closed")).unwrap();
        fs::write(root.join("bin/python3"), b"").unwrap();
        fs::write(root.join("lib.txt"), b"").unwrap();
        fs::write(root.join("closed/setuid"), b"").unwrap();
        fs::set_permissions(root.join("bin/python3"), fs::Permissions::from_mode(0o700)).unwrap();
        fs::set_permissions(root.join("lib.txt"), fs::Permissions::from_mode(0o600)).unwrap();
        fs::set_permissions(
            root.join("closed/setuid"),
            fs::Permissions::from_mode(0o4710),
        )
        .unwrap();
        fs::set_permissions(root.join("closed"), fs::Permissions::from_mode(0o700)).unwrap();
        // A link to a file outside: chmod -R leaves what it points at alone.
        let outside = dir.path().join("outside");
        fs::write(&outside, b"").unwrap();
        fs::set_permissions(&outside, fs::Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();

        open_tree_to_all(&root).unwrap();

        assert_eq!(mode(&root.join("bin/python3")), 0o755);
        assert_eq!(mode(&root.join("lib.txt")), 0o644);
        assert_eq!(mode(&root.join("closed")), 0o755);
        assert_eq!(mode(&root.join("closed/setuid")), 0o4755);
        assert_eq!(mode(&outside), 0o600);
    }

    #[test]
    fn only_a_copy_in_the_scratch_folder_has_a_lib_dir() {
        let scratch = Path::new("/tmp/shout-grade-x");
        assert_eq!(
            copied_lib_dir(&scratch.join("interpreter-2.7.18/bin/python2"), scratch),
            Some(scratch.join("interpreter-2.7.18/lib"))
        );
        assert_eq!(copied_lib_dir(Path::new("/usr/bin/python3"), scratch), None);
    }

    #[test]
    fn a_system_python3_is_found_when_there_is_one() {
        let scratch = tempfile::tempdir().unwrap();
        if !Path::new("/usr/bin/python3").exists() {
            return;
        }
        let found = find("python3", scratch.path()).expect("a working python3");
        assert!(runs(&found.path), "{found:?}");
    }

    /// Modes every which way, including a folder no one may enter and special bits.
    fn odd_tree(root: &Path) {
        let modes = [
            0o000, 0o100, 0o600, 0o610, 0o2700, 0o4711, 0o1777, 0o644, 0o755,
        ];
        fs::create_dir(root).unwrap();
        for (i, m) in modes.iter().enumerate() {
            let file = root.join(format!("f{i}"));
            fs::write(&file, b"x").unwrap();
            fs::set_permissions(&file, fs::Permissions::from_mode(*m)).unwrap();
            let dir = root.join(format!("d{i}"));
            fs::create_dir(&dir).unwrap();
            fs::write(dir.join("inside"), b"x").unwrap();
            fs::set_permissions(dir.join("inside"), fs::Permissions::from_mode(0o600)).unwrap();
            fs::set_permissions(&dir, fs::Permissions::from_mode(*m | 0o700)).unwrap();
        }
        std::os::unix::fs::symlink("f0", root.join("link")).unwrap();
    }

    fn modes(root: &Path) -> Vec<(PathBuf, u32)> {
        let mut out = Vec::new();
        let mut pending = vec![root.to_path_buf()];
        while let Some(p) = pending.pop() {
            out.push((p.strip_prefix(root).unwrap().to_path_buf(), mode(&p)));
            if fs::symlink_metadata(&p).unwrap().is_dir() {
                for e in fs::read_dir(&p).unwrap() {
                    pending.push(e.unwrap().path());
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn opening_a_tree_gives_the_modes_chmod_gives() {
        let dir = tempfile::tempdir().unwrap();
        let (ours, theirs) = (dir.path().join("ours"), dir.path().join("theirs"));
        odd_tree(&ours);
        odd_tree(&theirs);
        let chmod = Command::new("chmod")
            .args(["-R", "a+rX"])
            .arg(&theirs)
            .status();
        if !chmod.is_ok_and(|s| s.success()) {
            return; // No chmod here to compare with.
        }
        open_tree_to_all(&ours).unwrap();
        assert_eq!(modes(&ours), modes(&theirs));
    }
}

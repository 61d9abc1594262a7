//! Finding a Rust toolchain confined children can run. rustup installs toolchains under
//! the installing user's home (`/root/.rustup`), which the user a submission runs as
//! often cannot enter, and its `cargo` and `rustc` on `PATH` are proxies that look for
//! them there. So the toolchain's own `bin` folder is used, never the proxies: where it
//! is, when children may reach it; otherwise shown read-only inside the scratch folder
//! (a bind mount in shout's private mount namespace); otherwise the reason is returned.
//!
//! It starts `rustc --print sysroot` (as the grader) and mounts; nothing else. It decides
//! nothing about submissions and never prints.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, PoisonError};

use super::interpreter::open_to_others;
use super::sandbox::ReadOnlyView;

/// A Rust toolchain confined children can run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RustToolchain {
    /// The folder holding the real `cargo` and `rustc` (not rustup's proxies), as the
    /// children see it.
    pub bin: PathBuf,
    /// The toolchain's folder as the children see it, to be shown to them read-only
    /// (bubblewrap shows only the system's folders).
    pub root: PathBuf,
}

/// What [`find`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RustFound {
    /// No `rustc` on the grader's `PATH` (the missing toolchain is reported as such).
    NotInstalled,
    /// A toolchain children can run.
    Usable(RustToolchain),
    /// A toolchain the children cannot reach, and why, in words for the grader.
    Unreachable(String),
}

/// The folder name of a toolchain shown inside the scratch folder.
const VIEW_PREFIX: &str = "toolchain-";

/// What [`find`] found per scratch folder and user, with the view it mounted.
type Found = BTreeMap<(PathBuf, bool), (RustFound, Option<ReadOnlyView>)>;

static FOUND: Mutex<Found> = Mutex::new(BTreeMap::new());

/// The toolchain behind the grader's `rustc`, made usable by children that run as
/// another user (`other_user`) when it lies where they cannot go: shown read-only under
/// `scratch`, once per scratch folder. See the module documentation.
pub fn find(scratch: &Path, other_user: bool) -> RustFound {
    let mut found = FOUND.lock().unwrap_or_else(PoisonError::into_inner);
    let key = (scratch.to_path_buf(), other_user);
    if let Some((known, _)) = found.get(&key) {
        return known.clone();
    }
    let (result, view) = locate(scratch, other_user);
    found.insert(key, (result.clone(), view));
    result
}

/// Unmounts what [`find`] showed under `scratch`, before the folder is removed.
pub fn release(scratch: &Path) {
    let mut found = FOUND.lock().unwrap_or_else(PoisonError::into_inner);
    found.retain(|(dir, _), _| dir != scratch);
}

fn locate(scratch: &Path, other_user: bool) -> (RustFound, Option<ReadOnlyView>) {
    let Some(sysroot) = sysroot() else {
        return (RustFound::NotInstalled, None);
    };
    let bin = sysroot.join("bin");
    if !bin.join("cargo").is_file() || !bin.join("rustc").is_file() {
        return (
            RustFound::Unreachable(format!(
                "the Rust toolchain at {} has no cargo and rustc in its bin folder; reinstall it (rustup toolchain install stable)",
                sysroot.display()
            )),
            None,
        );
    }
    if !other_user || open_to_others(&bin.join("cargo")) {
        let toolchain = RustToolchain { bin, root: sysroot };
        return (RustFound::Usable(toolchain), None);
    }
    let name = sysroot
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "rust".into());
    let target = scratch.join(format!("{VIEW_PREFIX}{name}"));
    let shown = fs::create_dir(&target)
        .and_then(|()| {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&target, fs::Permissions::from_mode(0o755))
        })
        .and_then(|()| ReadOnlyView::bind(&sysroot, &target));
    match shown {
        Ok(view) => {
            let toolchain = RustToolchain {
                bin: target.join("bin"),
                root: target,
            };
            (RustFound::Usable(toolchain), Some(view))
        }
        Err(e) => (
            RustFound::Unreachable(format!(
                "cargo lives under {}, which the sandbox user cannot read, and it could not be shown to it ({e}); install Rust where every user can read it (apt-get install cargo, or rustup with RUSTUP_HOME and CARGO_HOME under /opt) or grade as root",
                sysroot.display()
            )),
            None,
        ),
    }
}

/// The sysroot of the grader's `rustc` (`rustc --print sysroot`), if there is one.
fn sysroot() -> Option<PathBuf> {
    let rustc = which::which("rustc").ok()?;
    let out = Command::new(rustc)
        .args(["--print", "sysroot"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let path = PathBuf::from(text.trim());
    (out.status.success() && path.is_absolute() && path.is_dir()).then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_toolchain_the_sandbox_user_cannot_reach_is_shown_to_it_or_named_as_the_reason() {
        let scratch = tempfile::tempdir().unwrap();
        // Test processes have no private mount namespace: a toolchain under a home
        // folder others cannot enter cannot be shown here, and that is the reason given.
        match find(scratch.path(), true) {
            RustFound::NotInstalled => {}
            RustFound::Usable(toolchain) => {
                assert!(toolchain.bin.join("cargo").is_file(), "{toolchain:?}");
                assert!(
                    open_to_others(&toolchain.bin.join("rustc")),
                    "{toolchain:?}"
                );
            }
            RustFound::Unreachable(why) => {
                assert!(why.starts_with("cargo lives under "), "{why}");
                assert!(why.contains("which the sandbox user cannot read"), "{why}");
                assert!(why.contains("apt-get install cargo"), "{why}");
            }
        }
        // The grader's own user reaches it wherever it is.
        match find(scratch.path(), false) {
            RustFound::NotInstalled => {}
            RustFound::Usable(toolchain) => assert!(toolchain.bin.join("rustc").is_file()),
            RustFound::Unreachable(why) => panic!("the grader's own toolchain: {why}"),
        }
        release(scratch.path());
    }
}

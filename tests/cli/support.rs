//! Shared test plumbing: finding interpreters, starting servers, bounded waits.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A reference script by file name, e.g. `UDPServer.py`.
pub fn reference(script: &str) -> PathBuf {
    root().join("reference").join(script)
}

/// A CPython 3 interpreter found on this machine.
#[derive(Debug, Clone)]
pub struct Python {
    /// The interpreter's path.
    pub path: PathBuf,
    /// `sys.version_info[:2]`, e.g. `3.11`.
    pub version: String,
    /// `unicodedata.unidata_version`, e.g. `14.0.0`.
    pub unicode: String,
}

fn probe(path: &Path) -> Option<Python> {
    let out = Command::new(path)
        .args([
            "-c",
            "import sys, unicodedata; print('%d.%d' % sys.version_info[:2], unicodedata.unidata_version)",
        ])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let mut words = text.split_whitespace();
    let version = words.next()?.to_string();
    let unicode = words.next()?.to_string();
    if !version.starts_with("3.") {
        return None;
    }
    Some(Python { path: path.to_path_buf(), version, unicode })
}

/// The default `python3` (from `PATH`); panics with what to install when missing.
pub fn python3() -> Python {
    let path = which::which("python3")
        .expect("python3 is not on PATH: install CPython 3 (apt-get install python3)");
    probe(&path).expect("python3 on PATH does not run as CPython 3")
}

/// Every CPython 3 interpreter to test against, one per `major.minor`, oldest first.
///
/// `SHOUT_PYTHONS` (colon-separated paths) overrides discovery; otherwise the
/// interpreters under `$(pyenv root)/versions/*/bin/python3` plus `python3` on `PATH`.
pub fn python3_interpreters() -> Vec<Python> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Ok(list) = std::env::var("SHOUT_PYTHONS") {
        for p in list.split(':').filter(|p| !p.is_empty()) {
            let python = probe(Path::new(p))
                .unwrap_or_else(|| panic!("SHOUT_PYTHONS names `{p}`, which is not a runnable CPython 3"));
            candidates.push(python.path);
        }
    } else {
        let pyenv_root = std::env::var("PYENV_ROOT").map(PathBuf::from).ok().or_else(|| {
            Command::new("pyenv")
                .arg("root")
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        });
        if let Some(root) = pyenv_root {
            if let Ok(entries) = std::fs::read_dir(root.join("versions")) {
                for e in entries.flatten() {
                    let p = e.path().join("bin").join("python3");
                    if p.exists() {
                        candidates.push(p);
                    }
                }
            }
        }
        if let Ok(p) = which::which("python3") {
            candidates.push(p);
        }
    }
    let mut found: Vec<Python> = Vec::new();
    for c in candidates {
        if let Some(p) = probe(&c) {
            if !found.iter().any(|f| f.version == p.version) {
                found.push(p);
            }
        }
    }
    assert!(
        !found.is_empty(),
        "no CPython 3 interpreter found: install python3 or set SHOUT_PYTHONS"
    );
    found.sort_by_key(|p| {
        let mut it = p.version.split('.').map(|n| n.parse::<u32>().unwrap_or(0));
        (it.next().unwrap_or(0), it.next().unwrap_or(0))
    });
    found
}

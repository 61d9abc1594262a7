//! A private copy of a submission to build and run in, owned by the user confined
//! children run as, within fixed bounds on size and file count.
//!
//! Done with file system calls only, never by starting a process; the submission itself is
//! only read, and symbolic links, FIFOs, sockets and devices in it are never followed or
//! copied.

use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::sys::annotate;
use super::user::User;

/// Most bytes a submission may hold by default (50 MB).
pub const MAX_WORKDIR_BYTES: u64 = 50_000_000;

/// Most files and folders a submission may hold by default.
pub const MAX_WORKDIR_ENTRIES: usize = 2000;

/// How many files and folders a submission over its limits is still counted up to, so
/// that the sentence can say how large it is; beyond that it says "more than".
const COUNT_UP_TO: usize = 200_000;

/// How large a submission may be for [`prepare_workdir`](super::prepare_workdir) to copy it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkdirLimits {
    /// Most bytes of regular files.
    pub bytes: u64,
    /// Most files and folders.
    pub entries: usize,
}

impl Default for WorkdirLimits {
    fn default() -> Self {
        WorkdirLimits {
            bytes: MAX_WORKDIR_BYTES,
            entries: MAX_WORKDIR_ENTRIES,
        }
    }
}

/// Why a submission could not be copied to a work folder. The first three are the
/// submission's own (its grade says so); [`WorkdirError::Scratch`] is this machine's.
#[derive(Debug, thiserror::Error)]
pub enum WorkdirError {
    /// The submission is larger than the limits allow; nothing was copied.
    #[error("submission {dir} holds {} in {entries}{} files and folders; the limits are {} and {} files and folders", megabytes(*bytes), if *complete { "" } else { " or more" }, megabytes(limits.bytes), limits.entries)]
    Oversized {
        /// The submission folder.
        dir: PathBuf,
        /// Bytes of regular files counted.
        bytes: u64,
        /// Files and folders counted.
        entries: usize,
        /// Whether every file was counted (otherwise there are more).
        complete: bool,
        /// The limits it is over.
        limits: WorkdirLimits,
    },
    /// A file or folder of the submission cannot be read (or is not a folder at all).
    #[error("cannot read {}: {source}", .path.display())]
    Unreadable {
        /// What could not be read.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The work folder cannot be created or written.
    #[error("{0}")]
    Scratch(io::Error),
}

impl From<WorkdirError> for io::Error {
    fn from(e: WorkdirError) -> io::Error {
        match e {
            WorkdirError::Scratch(e) => e,
            e @ WorkdirError::Unreadable { .. } => io::Error::new(
                match &e {
                    WorkdirError::Unreadable { source, .. } => source.kind(),
                    _ => io::ErrorKind::Other,
                },
                e.to_string(),
            ),
            e @ WorkdirError::Oversized { .. } => {
                io::Error::new(io::ErrorKind::InvalidInput, e.to_string())
            }
        }
    }
}

/// Bytes in megabytes (10^6) with one decimal, for messages.
fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// One thing to copy, relative to the submission folder.
enum Entry {
    Dir(PathBuf),
    File { path: PathBuf, mode: u32, len: u64 },
}

pub(super) fn prepare_workdir_as(
    src: &Path,
    dest_parent: &Path,
    user: Option<User>,
    limits: WorkdirLimits,
) -> Result<PathBuf, WorkdirError> {
    let unreadable = |path: &Path, source: io::Error| WorkdirError::Unreadable {
        path: path.to_path_buf(),
        source,
    };
    let meta = fs::metadata(src).map_err(|e| unreadable(src, e))?;
    if !meta.is_dir() {
        let e = io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("submission {} is not a folder", src.display()),
        );
        return Err(unreadable(src, e));
    }
    if let Some(user) = user {
        check_enterable(dest_parent, user).map_err(WorkdirError::Scratch)?;
    }
    let entries = scan_submission(src, limits)?;
    let dest = tempfile::Builder::new()
        .prefix("shout-work-")
        .tempdir_in(dest_parent)
        .map_err(|e| {
            WorkdirError::Scratch(annotate(e, "cannot create a work folder in", dest_parent))
        })?;
    let mut budget = limits.bytes;
    for entry in &entries {
        match entry {
            Entry::Dir(rel) => {
                let to = dest.path().join(rel);
                fs::DirBuilder::new()
                    .mode(0o755)
                    .create(&to)
                    .map_err(WorkdirError::Scratch)?;
                give(&to, user).map_err(WorkdirError::Scratch)?;
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
    give(dest.path(), user).map_err(WorkdirError::Scratch)?;
    Ok(dest.keep())
}

/// Every folder and regular file below `src`, parents first, within `limits`; over
/// them, how large the submission is (counted up to [`COUNT_UP_TO`] entries).
fn scan_submission(src: &Path, limits: WorkdirLimits) -> Result<Vec<Entry>, WorkdirError> {
    let mut entries = Vec::new();
    let mut bytes = 0u64;
    let mut counted = 0usize;
    let mut pending = vec![PathBuf::new()];
    let unreadable = |rel: &Path, source: io::Error| WorkdirError::Unreadable {
        path: src.join(rel),
        source,
    };
    while let Some(rel) = pending.pop() {
        if counted >= COUNT_UP_TO {
            break;
        }
        let mut children: Vec<_> = fs::read_dir(src.join(&rel))
            .and_then(|d| d.collect::<io::Result<Vec<_>>>())
            .map_err(|e| unreadable(&rel, e))?;
        children.sort_by_key(|c| c.file_name());
        for child in children {
            let rel = rel.join(child.file_name());
            let meta = fs::symlink_metadata(child.path()).map_err(|e| unreadable(&rel, e))?;
            let entry = if meta.is_dir() {
                pending.push(rel.clone());
                Entry::Dir(rel)
            } else if meta.is_file() {
                bytes = bytes.saturating_add(meta.len());
                Entry::File {
                    path: rel,
                    mode: meta.mode(),
                    len: meta.len(),
                }
            } else {
                // Symbolic links, FIFOs, sockets, devices: not a student's sources.
                continue;
            };
            counted += 1;
            if bytes <= limits.bytes && counted <= limits.entries {
                entries.push(entry);
            }
        }
    }
    if bytes > limits.bytes || counted > limits.entries {
        return Err(WorkdirError::Oversized {
            dir: src.to_path_buf(),
            bytes,
            entries: counted,
            complete: pending.is_empty(),
            limits,
        });
    }
    Ok(entries)
}

/// Copies at most `limit` bytes of `from` (never through a symbolic link) to a new file
/// `to`, keeping its execute bits, and gives it to `user`. Returns the bytes copied.
fn copy_file(
    from: &Path,
    to: &Path,
    mode: u32,
    limit: u64,
    user: Option<User>,
) -> Result<u64, WorkdirError> {
    let unreadable = |source: io::Error| WorkdirError::Unreadable {
        path: from.to_path_buf(),
        source,
    };
    let input = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(from)
        .map_err(unreadable)?;
    let is_file = input.metadata().map_err(unreadable)?.is_file();
    if !is_file {
        return Err(unreadable(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} changed while it was copied", from.display()),
        )));
    }
    let mut output = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode((mode & 0o755) | 0o600)
        .open(to)
        .map_err(|e| WorkdirError::Scratch(annotate(e, "cannot write", to)))?;
    let copied = io::copy(&mut input.take(limit), &mut output).map_err(|e| {
        // A full disk is this machine's problem; any other failure is reading the file.
        match e.raw_os_error() {
            Some(libc::ENOSPC | libc::EDQUOT | libc::EROFS) => {
                WorkdirError::Scratch(annotate(e, "cannot write", to))
            }
            _ => unreadable(e),
        }
    })?;
    give(to, user).map_err(WorkdirError::Scratch)?;
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
    use crate::run::sandbox::{prepare_workdir, Sandbox};
    use std::os::unix::fs::PermissionsExt;

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
        assert!(
            err.to_string().contains("in 2001 files and folders"),
            "{err}"
        );
        assert_eq!(fs::read_dir(dest_parent.path()).unwrap().count(), 0);
    }

    #[test]
    fn workdir_refuses_more_than_50_mb() {
        let src = enterable_tempdir();
        let big = fs::File::create(src.path().join("data.bin")).unwrap();
        big.set_len(MAX_WORKDIR_BYTES + 1).unwrap();
        let dest_parent = enterable_tempdir();
        let err = prepare_workdir(src.path(), dest_parent.path()).unwrap_err();
        assert!(
            err.to_string().contains("holds 50.0 MB in 1 files"),
            "{err}"
        );
        assert!(err.to_string().contains("the limits are 50.0 MB"), "{err}");
        assert_eq!(fs::read_dir(dest_parent.path()).unwrap().count(), 0);
    }

    #[test]
    fn workdir_over_given_limits_says_how_large_the_submission_is() {
        let src = enterable_tempdir();
        fs::create_dir(src.path().join("node_modules")).unwrap();
        for i in 0..30 {
            fs::write(src.path().join(format!("node_modules/m{i}.js")), b"x").unwrap();
        }
        let big = fs::File::create(src.path().join("video.mp4")).unwrap();
        big.set_len(3 << 20).unwrap();
        let dest_parent = enterable_tempdir();
        let limits = WorkdirLimits {
            bytes: 1 << 20,
            entries: 10,
        };
        match prepare_workdir_as(src.path(), dest_parent.path(), None, limits) {
            Err(WorkdirError::Oversized {
                bytes,
                entries,
                complete,
                ..
            }) => {
                assert_eq!((bytes, entries, complete), ((3 << 20) + 30, 32, true));
            }
            other => panic!("not refused as oversized: {other:?}"),
        }
        assert_eq!(fs::read_dir(dest_parent.path()).unwrap().count(), 0);
        let roomy = WorkdirLimits {
            bytes: 4 << 20,
            entries: 40,
        };
        let work = prepare_workdir_as(src.path(), dest_parent.path(), None, roomy).unwrap();
        assert_eq!(fs::metadata(work.join("video.mp4")).unwrap().len(), 3 << 20);
    }

    #[test]
    fn an_unreadable_submission_is_the_submissions_problem() {
        let dest_parent = enterable_tempdir();
        let missing = dest_parent.path().join("no-such-submission");
        let err = prepare_workdir_as(&missing, dest_parent.path(), None, WorkdirLimits::default())
            .unwrap_err();
        assert!(matches!(err, WorkdirError::Unreadable { .. }), "{err:?}");
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

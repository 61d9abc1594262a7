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

/// Most bytes [`prepare_workdir`](super::prepare_workdir) copies from one submission (50 MiB).
pub const MAX_WORKDIR_BYTES: u64 = 50 << 20;

/// Most files and folders [`prepare_workdir`](super::prepare_workdir) copies from one submission.
pub const MAX_WORKDIR_ENTRIES: usize = 5000;

/// One thing to copy, relative to the submission folder.
enum Entry {
    Dir(PathBuf),
    File { path: PathBuf, mode: u32, len: u64 },
}

pub(super) fn prepare_workdir_as(
    src: &Path,
    dest_parent: &Path,
    user: Option<User>,
) -> io::Result<PathBuf> {
    if !fs::metadata(src)
        .map_err(|e| annotate(e, "cannot read the submission", src))?
        .is_dir()
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("submission {} is not a folder", src.display()),
        ));
    }
    if let Some(user) = user {
        check_enterable(dest_parent, user)?;
    }
    let entries = scan_submission(src)?;
    let dest = tempfile::Builder::new()
        .prefix("shout-work-")
        .tempdir_in(dest_parent)
        .map_err(|e| annotate(e, "cannot create a work folder in", dest_parent))?;
    let mut budget = MAX_WORKDIR_BYTES;
    for entry in &entries {
        match entry {
            Entry::Dir(rel) => {
                let to = dest.path().join(rel);
                fs::DirBuilder::new().mode(0o755).create(&to)?;
                give(&to, user)?;
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
    give(dest.path(), user)?;
    Ok(dest.keep())
}

/// Every folder and regular file below `src`, parents first, within the bounds.
fn scan_submission(src: &Path) -> io::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    let mut bytes = 0u64;
    let mut pending = vec![PathBuf::new()];
    while let Some(rel) = pending.pop() {
        let dir = src.join(&rel);
        let mut children: Vec<_> = fs::read_dir(&dir)
            .map_err(|e| annotate(e, "cannot read", &dir))?
            .collect::<io::Result<_>>()?;
        children.sort_by_key(|c| c.file_name());
        for child in children {
            let meta = fs::symlink_metadata(child.path())?;
            let rel = rel.join(child.file_name());
            let entry = if meta.is_dir() {
                pending.push(rel.clone());
                Entry::Dir(rel)
            } else if meta.is_file() {
                bytes += meta.len();
                if bytes > MAX_WORKDIR_BYTES {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!(
                            "submission {} holds more than {} MiB; remove build output and data files",
                            src.display(),
                            MAX_WORKDIR_BYTES >> 20
                        ),
                    ));
                }
                Entry::File {
                    path: rel,
                    mode: meta.mode(),
                    len: meta.len(),
                }
            } else {
                // Symbolic links, FIFOs, sockets, devices: not a student's sources.
                continue;
            };
            entries.push(entry);
            if entries.len() > MAX_WORKDIR_ENTRIES {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "submission {} holds more than {MAX_WORKDIR_ENTRIES} files and folders; remove build output and dependencies",
                        src.display()
                    ),
                ));
            }
        }
    }
    Ok(entries)
}

/// Copies at most `limit` bytes of `from` (never through a symbolic link) to a new file
/// `to`, keeping its execute bits, and gives it to `user`. Returns the bytes copied.
fn copy_file(from: &Path, to: &Path, mode: u32, limit: u64, user: Option<User>) -> io::Result<u64> {
    let input = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(from)
        .map_err(|e| annotate(e, "cannot read", from))?;
    if !input.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} changed while it was copied", from.display()),
        ));
    }
    let mut output = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode((mode & 0o755) | 0o600)
        .open(to)
        .map_err(|e| annotate(e, "cannot write", to))?;
    let copied = io::copy(&mut input.take(limit), &mut output)?;
    give(to, user)?;
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
        assert!(err.to_string().contains("more than 5000 files"), "{err}");
        assert_eq!(fs::read_dir(dest_parent.path()).unwrap().count(), 0);
    }

    #[test]
    fn workdir_refuses_more_than_50_mib() {
        let src = enterable_tempdir();
        let big = fs::File::create(src.path().join("data.bin")).unwrap();
        big.set_len(MAX_WORKDIR_BYTES + 1).unwrap();
        let dest_parent = enterable_tempdir();
        let err = prepare_workdir(src.path(), dest_parent.path()).unwrap_err();
        assert!(err.to_string().contains("more than 50 MiB"), "{err}");
        assert_eq!(fs::read_dir(dest_parent.path()).unwrap().count(), 0);
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

//! A size cap on each submission's work folder: the grader enters a mount namespace of
//! its own at start (as root), and each work folder becomes a tmpfs of a fixed size, so
//! a submission that writes without end fills its own folder, never the machine's disk.
//! Every such mount belongs to the grader's private namespace: it is gone when the
//! grader exits, however it exits, and is unmounted as soon as its submission is done.
//!
//! It only mounts and unmounts; it starts no process.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use super::sys::{check, path_cstring};

/// The size of each submission's work folder when it can be capped: its files, its
/// build's output and everything it writes there while it runs.
pub const WORK_FOLDER_BYTES: u64 = 512 << 20;

/// Whether this process entered a mount namespace of its own.
static PRIVATE: AtomicBool = AtomicBool::new(false);

/// Puts the whole process in a mount namespace of its own, where nothing it mounts is
/// seen outside it or outlives it. Needs root, and a process with one thread: call it
/// first thing.
pub fn enter_private_mounts() -> io::Result<()> {
    // SAFETY: unshare(2) with a flag; the kernel refuses it (EINVAL) once threads share
    // this process's filesystem information.
    check(unsafe { libc::unshare(libc::CLONE_NEWNS) }.into())?;
    // SAFETY: mount(2) changing propagation only: no source, no data.
    check(
        unsafe {
            libc::mount(
                std::ptr::null(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            )
        }
        .into(),
    )?;
    PRIVATE.store(true, Ordering::SeqCst);
    Ok(())
}

/// Whether work folders can be capped here (the process entered its own mounts).
pub fn can_cap_folders() -> bool {
    PRIVATE.load(Ordering::SeqCst)
}

/// A folder that is a tmpfs of a fixed size; unmounted (and its contents freed) when
/// dropped.
#[derive(Debug)]
pub struct CappedFolder(PathBuf);

impl CappedFolder {
    /// Mounts a tmpfs of `bytes` on the empty folder `dir`.
    pub fn mount(dir: &Path, bytes: u64) -> io::Result<CappedFolder> {
        let target = path_cstring(dir)?;
        let options =
            std::ffi::CString::new(format!("size={bytes},mode=0755")).map_err(io::Error::other)?;
        // SAFETY: mount(2) with valid C strings that outlive the call.
        check(
            unsafe {
                libc::mount(
                    c"shout-work".as_ptr(),
                    target.as_ptr(),
                    c"tmpfs".as_ptr(),
                    libc::MS_NOSUID | libc::MS_NODEV,
                    options.as_ptr().cast(),
                )
            }
            .into(),
        )
        .map_err(|e| io::Error::new(e.kind(), format!("cannot cap {}: {e}", dir.display())))?;
        Ok(CappedFolder(dir.to_path_buf()))
    }
}

impl Drop for CappedFolder {
    fn drop(&mut self) {
        if let Ok(target) = path_cstring(&self.0) {
            // SAFETY: umount2(2) of a folder this value mounted; a lazy unmount, so a
            // process still inside it does not keep the tmpfs (it is killed anyway).
            unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
        }
    }
}

/// A folder shown read-only at a second path (a bind mount in the grader's private
/// namespace); unmounted when dropped.
#[derive(Debug)]
pub struct ReadOnlyView(PathBuf);

impl ReadOnlyView {
    /// Shows `source` read-only at the empty folder `target`. The path to `target`, not
    /// the one to `source`, is what a program must be able to enter: a toolchain under a
    /// home folder only its owner may enter becomes reachable through a folder others may.
    /// Needs the private mount namespace ([`can_cap_folders`]).
    pub fn bind(source: &Path, target: &Path) -> io::Result<ReadOnlyView> {
        if !can_cap_folders() {
            return Err(io::Error::other(
                "shout has no mount namespace of its own here",
            ));
        }
        let (src, dst) = (path_cstring(source)?, path_cstring(target)?);
        let fail = |e: io::Error| {
            io::Error::new(
                e.kind(),
                format!(
                    "cannot show {} at {}: {e}",
                    source.display(),
                    target.display()
                ),
            )
        };
        // SAFETY: mount(2) with valid C strings that outlive the call; a bind mount.
        check(
            unsafe {
                libc::mount(
                    src.as_ptr(),
                    dst.as_ptr(),
                    std::ptr::null(),
                    libc::MS_BIND | libc::MS_REC,
                    std::ptr::null(),
                )
            }
            .into(),
        )
        .map_err(fail)?;
        let view = ReadOnlyView(target.to_path_buf());
        // A bind mount takes the read-only flag only when remounted.
        // SAFETY: mount(2) remounting the bind mount made above; no source, no data.
        check(
            unsafe {
                libc::mount(
                    std::ptr::null(),
                    dst.as_ptr(),
                    std::ptr::null(),
                    libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | libc::MS_NOSUID,
                    std::ptr::null(),
                )
            }
            .into(),
        )
        .map_err(fail)?;
        Ok(view)
    }

    /// Where the folder is shown.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ReadOnlyView {
    fn drop(&mut self) {
        if let Ok(target) = path_cstring(&self.0) {
            // SAFETY: umount2(2) of a folder this value mounted; lazy, as for the work
            // folders.
            unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
        }
    }
}

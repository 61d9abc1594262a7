//! Small helpers for system calls and their errors, shared by the sandbox's files.
//!
//! They decide nothing; `last_error` and `check` allocate nothing, so a child may use them
//! before `exec`.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The error of the last failed system call, without allocating.
pub(super) fn last_error() -> io::Error {
    io::Error::last_os_error()
}

pub(super) fn check(rc: libc::c_long) -> io::Result<()> {
    if rc < 0 {
        Err(last_error())
    } else {
        Ok(())
    }
}

/// Lets `fd` stay open across `exec` (clears its close-on-exec flag). Async-signal-safe:
/// it runs in the child before `exec`.
pub(super) fn keep_across_exec(fd: libc::c_int) -> io::Result<()> {
    // SAFETY: fcntl(2) with integer arguments.
    check(unsafe { libc::fcntl(fd, libc::F_SETFD, 0) }.into())
}

pub(super) fn annotate(e: io::Error, what: &str, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
}

pub(super) fn path_cstring(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("path {} contains a NUL byte", path.display()),
        )
    })
}

/// Enters a new mount namespace and makes `/` private in it, so nothing mounted here
/// reaches the parent's namespace. Only system calls: safe in the child before `exec`.
///
/// # Safety
/// The calling thread must be the only one of its process (a child before `exec`), or a
/// short-lived thread whose mount namespace nothing else shares.
pub(super) unsafe fn enter_private_mount_namespace() -> io::Result<()> {
    check(libc::unshare(libc::CLONE_NEWNS).into())?;
    check(
        libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        )
        .into(),
    )
}

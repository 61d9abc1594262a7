//! What a confined child does between its start and `exec`: join its cgroup, mount the
//! private hosts file, lower its limits, drop to the unprivileged user, give up privileges.
//!
//! Everything here runs in the child, which shares the harness's memory until `exec` (see
//! [`launch`](crate::run::launch)), so it only makes system calls on data prepared
//! beforehand: no allocation, no lock, no printing.

use std::ffi::CString;
use std::io;

use super::sys::{check, enter_private_mount_namespace, keep_across_exec, last_error};
use super::user::User;

/// The type `getrlimit` and `setrlimit` take a resource as: glibc's own type.
#[cfg(target_env = "gnu")]
type Resource = libc::__rlimit_resource_t;
/// The type `getrlimit` and `setrlimit` take a resource as: a plain `int` on other C
/// libraries (musl, which the static binary is built with).
#[cfg(not(target_env = "gnu"))]
type Resource = libc::c_int;

/// Everything the child does before `exec`, as plain data.
pub(super) struct ChildPlan {
    /// `cgroup.procs` of each cgroup to join first (its own pids cgroup, its
    /// submission's memory cgroup).
    pub(super) procs: Vec<CString>,
    /// The private hosts file and where to mount it, when mount namespaces work.
    pub(super) hosts: Option<(CString, CString)>,
    /// (resource, soft, hard), each lowered only: a limit already lower stays.
    pub(super) rlimits: Vec<(Resource, u64, u64)>,
    /// Who to become last.
    pub(super) user: Option<User>,
    /// A descriptor the launcher reads (bubblewrap's system-call filter), kept open
    /// across `exec`.
    pub(super) keep_open: Option<libc::c_int>,
}

/// Closes every open IPv4 and IPv6 socket of the calling child, and every descriptor that
/// would survive `exec` other than `keep` and the standard three (what the harness itself
/// inherited from whoever started it: a program must not write into its grader's pipes).
/// It lists them with `getdents64` on `/proc/self/fd` into a stack buffer: no allocation,
/// so it is safe before `exec`. Only Internet sockets hold ports; the other descriptors
/// marked close-on-exec go at `exec`.
fn close_inherited(keep: Option<libc::c_int>) {
    // SAFETY: open/getdents64/getsockopt/fcntl/close on descriptors of this process, with a buffer
    // on the stack and lengths that fit it.
    unsafe {
        let dir = libc::open(
            c"/proc/self/fd".as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        );
        if dir < 0 {
            return;
        }
        let mut buf = [0u8; 4096];
        loop {
            let n = libc::syscall(libc::SYS_getdents64, dir, buf.as_mut_ptr(), buf.len());
            if n <= 0 {
                break;
            }
            let mut at = 0usize;
            while at + 19 < n as usize {
                // struct linux_dirent64: ino (8), off (8), reclen (2), type (1), name.
                let reclen = u16::from_ne_bytes([buf[at + 16], buf[at + 17]]) as usize;
                if reclen == 0 {
                    break;
                }
                let mut fd: libc::c_int = 0;
                let mut digits = 0;
                for &b in buf[at + 19..(at + reclen).min(n as usize)].iter() {
                    if !b.is_ascii_digit() {
                        break;
                    }
                    fd = fd
                        .saturating_mul(10)
                        .saturating_add((b - b'0') as libc::c_int);
                    digits += 1;
                }
                if digits > 0 && fd > 2 && fd != dir && Some(fd) != keep {
                    let mut domain: libc::c_int = 0;
                    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
                    let is_inet = libc::getsockopt(
                        fd,
                        libc::SOL_SOCKET,
                        libc::SO_DOMAIN,
                        (&mut domain as *mut libc::c_int).cast(),
                        &mut len,
                    ) == 0
                        && (domain == libc::AF_INET || domain == libc::AF_INET6);
                    let survives_exec = libc::fcntl(fd, libc::F_GETFD) & libc::FD_CLOEXEC == 0;
                    if is_inet || survives_exec {
                        libc::close(fd);
                    }
                }
                at += reclen;
            }
        }
        libc::close(dir);
    }
}

impl ChildPlan {
    /// Runs in the child before `exec`: only system calls, no allocation.
    pub(super) fn apply(&mut self) -> io::Result<()> {
        // First, let go of every socket inherited from the harness's other threads: the
        // child's start copied them, and until `exec` closes them this child would keep a
        // relay's port bound after the relay has let it go.
        close_inherited(self.keep_open);
        for procs in &self.procs {
            join_cgroup(procs)?;
        }
        if let Some(fd) = self.keep_open {
            keep_across_exec(fd)?;
        }
        if let Some((hosts, target)) = &self.hosts {
            // SAFETY: unshare(2) and mount(2) with valid NUL-terminated paths; the child
            // is single-threaded, as a new mount namespace requires.
            unsafe {
                // Nothing mounted here may reach the parent's namespace.
                enter_private_mount_namespace()?;
                check(
                    libc::mount(
                        hosts.as_ptr(),
                        target.as_ptr(),
                        std::ptr::null(),
                        libc::MS_BIND,
                        std::ptr::null(),
                    )
                    .into(),
                )?;
            }
        }
        for &(resource, soft, hard) in &self.rlimits {
            lower_rlimit(resource, soft, hard)?;
        }
        if let Some(user) = self.user {
            // Raw system calls: glibc's wrappers would try to signal other threads.
            // SAFETY: the set*id system calls on integers; the child is single-threaded.
            unsafe {
                let groups = [user.gid as libc::gid_t];
                let (uid, gid) = (libc::c_long::from(user.uid), libc::c_long::from(user.gid));
                check(libc::syscall(
                    libc::SYS_setgroups,
                    1 as libc::c_long,
                    groups.as_ptr(),
                ))?;
                check(libc::syscall(libc::SYS_setresgid, gid, gid, gid))?;
                check(libc::syscall(libc::SYS_setresuid, uid, uid, uid))?;
            }
        }
        // SAFETY: prctl(2) with integer arguments. Set-user-id programs (su, mount) can
        // no longer give the child privileges back.
        let (one, zero): (libc::c_ulong, libc::c_ulong) = (1, 0);
        check(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, one, zero, zero, zero) }.into())?;
        Ok(())
    }
}

/// Writes this process's pid to `procs`, moving it into that cgroup. Async-signal-safe.
fn join_cgroup(procs: &CString) -> io::Result<()> {
    // SAFETY: getpid(2) cannot fail.
    let pid = unsafe { libc::getpid() } as u32;
    let mut digits = [0u8; 12];
    let mut start = digits.len();
    let mut n = pid;
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let text = &digits[start..];
    // SAFETY: open(2), write(2) and close(2) on a valid path and a stack buffer.
    unsafe {
        let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        check(fd.into())?;
        let written = libc::write(fd, text.as_ptr().cast(), text.len());
        let error = if written < 0 {
            Some(last_error())
        } else {
            None
        };
        libc::close(fd);
        match error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// Sets a resource limit no higher than it already is. Async-signal-safe.
fn lower_rlimit(resource: Resource, soft: u64, hard: u64) -> io::Result<()> {
    let mut current = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit(2) and setrlimit(2) on a stack struct.
    unsafe {
        check(libc::getrlimit(resource, &mut current).into())?;
        let hard = hard.min(current.rlim_max);
        let new = libc::rlimit {
            rlim_cur: soft.min(hard),
            rlim_max: hard,
        };
        check(libc::setrlimit(resource, &new).into())
    }
}

//! A fresh network namespace for the calling thread, with its loopback interface up, so
//! workers never collide on the fixed ports student programs hardcode.
//!
//! It changes only the calling thread; it starts no process.

use std::io;

use super::sys::check;

/// Puts the calling thread, and only it, in a fresh network namespace with its loopback
/// interface up. Processes it spawns afterwards, and threads it starts afterwards, are in
/// that namespace too; other threads are not.
///
/// Call it on a dedicated worker thread that runs one unit (or one student) at a time:
/// the thread cannot go back, and everything it binds from then on (`127.0.0.1:12000`
/// included) is private to that namespace, so workers never collide on hardcoded ports.
/// Sockets opened before the call stay in the old namespace.
///
/// Needs CAP_SYS_ADMIN (root); see [`Support::network_namespace`](super::Support::network_namespace).
pub fn enter_fresh_netns() -> io::Result<()> {
    // SAFETY: unshare(2) with a flag; it changes only the calling thread's namespace.
    check(unsafe { libc::unshare(libc::CLONE_NEWNET) }.into()).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot enter a new network namespace: {e}"),
        )
    })?;
    bring_loopback_up().map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot bring up lo in the new network namespace: {e}"),
        )
    })
}

/// Puts the whole process in a new user namespace, where it is root (mapped to the real
/// user, who keeps exactly their own rights on files), and a new network namespace with
/// its loopback interface up. From then on [`enter_fresh_netns`] works without real
/// root: the capability it needs is held in the new user namespace, which owns every
/// network namespace made inside it. This is what lets an ordinary user run programs on
/// the fixed ports they hardcode, each server in a network of its own.
///
/// The kernel allows it only in a process with one thread: call it first thing, before
/// anything starts a thread. Fails where unprivileged user namespaces are disabled.
pub fn enter_user_namespace() -> io::Result<()> {
    let threads = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Threads:"))
                .and_then(|n| n.trim().parse::<u32>().ok())
        });
    if threads.is_some_and(|n| n > 1) {
        return Err(io::Error::other(
            "cannot enter a user namespace once threads have started",
        ));
    }
    // SAFETY: getuid(2)/getgid(2) cannot fail.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    // SAFETY: unshare(2) with flags; the process has a single thread (checked above).
    check(unsafe { libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) }.into()).map_err(
        |e| {
            io::Error::new(
                e.kind(),
                format!("cannot enter a user namespace (are unprivileged user namespaces disabled?): {e}"),
            )
        },
    )?;
    let write = |file: &str, text: String| {
        std::fs::write(file, text)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot write {file}: {e}")))
    };
    write("/proc/self/setgroups", "deny".into())?;
    write("/proc/self/uid_map", format!("0 {uid} 1"))?;
    write("/proc/self/gid_map", format!("0 {gid} 1"))?;
    bring_loopback_up()
}

fn bring_loopback_up() -> io::Result<()> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    // SAFETY: socket(2); the descriptor is owned below. Created after the unshare, so it
    // talks to the new namespace's interfaces.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    check(fd.into())?;
    // SAFETY: `fd` is a fresh descriptor that nothing else owns.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: ifreq is plain data; all zeroes is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: ioctl(2) SIOCGIFFLAGS/SIOCSIFFLAGS with a valid ifreq naming "lo"; the
    // flags member of the union is the one these requests read and write.
    unsafe {
        check(libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS as _, &mut req).into())?;
        req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        check(libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS as _, &req).into())?;
    }
    Ok(())
}

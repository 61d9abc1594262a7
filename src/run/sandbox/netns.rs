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

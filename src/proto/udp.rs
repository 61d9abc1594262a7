//! The UDP exchange: one datagram in, its uppercase out, on sockets the caller bound.
//!
//! Nothing here binds a port or prints: callers pass sockets and a log sink.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use super::case::{server_reply, UnicodeVersion};
use super::Log;

/// The reference's receive buffer for UDP (`recvfrom(2048)`), on both sides.
pub const UDP_BUFFER: usize = 2048;

/// Receives one datagram into `buf`, reporting how many bytes were kept, the datagram's
/// real length (which may exceed the buffer: the rest is discarded, as in the reference)
/// and its source.
///
/// On Linux this is a single `recvfrom` with `MSG_TRUNC`: for a datagram socket the
/// kernel copies at most `buf.len()` bytes and returns the full length.
#[cfg(target_os = "linux")]
fn recv_from_measured(
    socket: &UdpSocket,
    buf: &mut [u8],
) -> io::Result<(usize, usize, SocketAddr)> {
    use std::os::fd::AsRawFd;
    // SAFETY: an all-zero sockaddr_storage is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: recvfrom on a valid fd into a buffer and an address we own, with their sizes.
    let full = unsafe {
        libc::recvfrom(
            socket.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_TRUNC,
            (&mut storage as *mut libc::sockaddr_storage).cast(),
            &mut len,
        )
    };
    if full < 0 {
        return Err(io::Error::last_os_error());
    }
    let full = full as usize;
    Ok((full.min(buf.len()), full, socket_addr(&storage)?))
}

/// The address `recvfrom` filled in, as a `SocketAddr` (IPv4 or IPv6).
#[cfg(target_os = "linux")]
fn socket_addr(storage: &libc::sockaddr_storage) -> io::Result<SocketAddr> {
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
    match storage.ss_family as libc::c_int {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in, which it is large
            // enough and aligned for.
            let a =
                unsafe { &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            Ok(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr)),
                u16::from_be(a.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: as above, for sockaddr_in6.
            let a = unsafe {
                &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
            };
            Ok(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(a.sin6_addr.s6_addr),
                u16::from_be(a.sin6_port),
                a.sin6_flowinfo,
                a.sin6_scope_id,
            )))
        }
        family => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("datagram from an address of unexpected family {family}"),
        )),
    }
}

/// Receives one datagram into `buf`: how many bytes were kept, and its source. A socket
/// shut for reading (to wake its reader) gives an error here, never a datagram: the
/// standard library's `recv_from` can stop the thread on the kernel's empty address.
pub fn recv_datagram(socket: &UdpSocket, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
    recv_from_measured(socket, buf).map(|(kept, _, from)| (kept, from))
}

/// Elsewhere the real length is unknown: a truncated datagram is not reported.
#[cfg(not(target_os = "linux"))]
fn recv_from_measured(
    socket: &UdpSocket,
    buf: &mut [u8],
) -> io::Result<(usize, usize, SocketAddr)> {
    let (n, peer) = socket.recv_from(buf)?;
    Ok((n, n, peer))
}

/// Answers datagrams on `socket` forever: each reply is the request uppercased under
/// `version` and sent back to the request's source address.
///
/// Where the reference server dies (a request that is not valid UTF-8, including a
/// character cut by the 2048-byte buffer), this one answers with the valid parts
/// uppercased and the invalid bytes unchanged, logs one line and keeps serving.
/// Returns only on an unrecoverable socket error.
pub fn serve(socket: &UdpSocket, version: UnicodeVersion, log: &Log) -> io::Result<()> {
    let mut buf = [0u8; UDP_BUFFER];
    loop {
        let (n, full, peer) = match recv_from_measured(socket, &mut buf) {
            Ok(v) => v,
            Err(e) if is_transient(&e) => continue,
            Err(e) => return Err(e),
        };
        if full > n {
            log(&format!(
                "{peer}: datagram of {full} bytes truncated to the first {UDP_BUFFER}, as the reference does"
            ));
        }
        let reply = server_reply(&mut buf[..n], version);
        if !reply.valid_utf8 {
            log(&format!(
                "{peer}: request is not valid UTF-8 (the reference server would crash); invalid bytes echoed unchanged"
            ));
        }
        if let Err(e) = socket.send_to(&reply.bytes, peer) {
            log(&format!("{peer}: reply not sent: {e}"));
        }
    }
}

/// Errors after which a server keeps going: a previous reply's ICMP error, a signal.
fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
            | io::ErrorKind::TimedOut
    )
}

/// Sends `request` to `server` from `socket` and waits up to `timeout` for one reply
/// of at most `UDP_BUFFER` bytes (the reference client's `recvfrom(2048)`), from any source.
pub fn request(
    socket: &UdpSocket,
    server: SocketAddr,
    request: &[u8],
    timeout: Option<Duration>,
) -> io::Result<Vec<u8>> {
    socket.send_to(request, server)?;
    socket.set_read_timeout(timeout)?;
    let mut buf = [0u8; UDP_BUFFER];
    loop {
        match socket.recv_from(&mut buf) {
            Ok((n, _)) => return Ok(buf[..n].to_vec()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

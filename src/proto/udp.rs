//! The UDP exchange: one datagram in, its uppercase out, on sockets the caller bound.
//!
//! Nothing here binds a port or prints: callers pass sockets and a log sink.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use super::case::{upper_bytes, UnicodeVersion};
use super::Log;

/// The reference's receive buffer for UDP (`recvfrom(2048)`), on both sides.
pub const UDP_BUFFER: usize = 2048;

/// Receives one datagram into a `UDP_BUFFER`-byte buffer, reporting the datagram's
/// real length (which may exceed the buffer: the rest is discarded, as in the reference).
fn recv_from_measured(
    socket: &UdpSocket,
    buf: &mut [u8],
) -> io::Result<(usize, usize, SocketAddr)> {
    // A peek with MSG_TRUNC reports the datagram's full length without consuming it.
    let full = peek_full_len(socket).unwrap_or(0);
    let (n, peer) = socket.recv_from(buf)?;
    Ok((n, full.max(n), peer))
}

#[cfg(target_os = "linux")]
fn peek_full_len(socket: &UdpSocket) -> io::Result<usize> {
    use std::os::fd::AsRawFd;
    let mut byte = [0u8; 1];
    // SAFETY: recv on a valid fd into a 1-byte buffer we own.
    let n = unsafe {
        libc::recv(
            socket.as_raw_fd(),
            byte.as_mut_ptr().cast(),
            byte.len(),
            libc::MSG_PEEK | libc::MSG_TRUNC,
        )
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

#[cfg(not(target_os = "linux"))]
fn peek_full_len(_socket: &UdpSocket) -> io::Result<usize> {
    Ok(0)
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
        let request = &buf[..n];
        if full > n {
            log(&format!(
                "{peer}: datagram of {full} bytes truncated to the first {UDP_BUFFER}, as the reference does"
            ));
        }
        if std::str::from_utf8(request).is_err() {
            log(&format!(
                "{peer}: request is not valid UTF-8 (the reference server would crash); invalid bytes echoed unchanged"
            ));
        }
        let reply = upper_bytes(request, version);
        if let Err(e) = socket.send_to(&reply, peer) {
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

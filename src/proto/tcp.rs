//! The TCP exchange: one read of at most 1024 bytes, its uppercase back, close.
//!
//! Nothing here binds a port or prints: callers pass sockets and a log sink.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use super::case::{upper_bytes, UnicodeVersion};
use super::Log;

/// The reference's receive buffer for TCP (`recv(1024)`), on both sides.
pub const TCP_BUFFER: usize = 1024;

/// How a TCP server treats its connections.
#[derive(Debug, Clone, Copy)]
pub struct TcpServeOptions {
    /// The case-mapping data to uppercase with.
    pub version: UnicodeVersion,
    /// How long a connection may stay silent before it is closed without a reply
    /// (the reference waits forever, blocking every other client).
    pub idle_timeout: Duration,
    /// Connections served at once; more wait in the listen backlog.
    pub workers: usize,
}

/// Serves one accepted connection the reference's way: a single `recv(1024)`, the
/// uppercase reply, close. Unread bytes beyond the first read make the kernel reset
/// the connection on close, exactly as with the reference.
pub fn handle(mut stream: TcpStream, peer: SocketAddr, options: &TcpServeOptions, log: &Log) {
    let _ = stream.set_read_timeout(Some(options.idle_timeout));
    let mut buf = [0u8; TCP_BUFFER];
    let n = loop {
        match stream.read(&mut buf) {
            Ok(n) => break n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                log(&format!(
                    "{peer}: sent nothing for {:.1} s; closed without a reply",
                    options.idle_timeout.as_secs_f64()
                ));
                return;
            }
            Err(e) => {
                log(&format!("{peer}: read failed: {e}"));
                return;
            }
        }
    };
    let request = &buf[..n];
    if std::str::from_utf8(request).is_err() {
        log(&format!(
            "{peer}: request is not valid UTF-8 (the reference server would crash); invalid bytes echoed unchanged"
        ));
    }
    let reply = upper_bytes(request, options.version);
    if let Err(e) = stream.write_all(&reply) {
        log(&format!("{peer}: reply not sent: {e}"));
    }
    let _ = stream.flush();
    drop(stream);
}

/// Serves `listener` forever with `options.workers` threads, each accepting and
/// answering one connection at a time, so a silent client holds up only its own worker
/// and only until `idle_timeout`. Returns only if the listener fails for good.
pub fn serve(listener: TcpListener, options: TcpServeOptions, log: Log) -> io::Result<()> {
    let listener = Arc::new(listener);
    let workers = options.workers.max(1);
    let mut handles = Vec::with_capacity(workers);
    for _ in 0..workers {
        let listener = Arc::clone(&listener);
        let log = Arc::clone(&log);
        let handle =
            std::thread::Builder::new()
                .stack_size(128 * 1024)
                .spawn(move || -> io::Error {
                    loop {
                        match listener.accept() {
                            Ok((stream, peer)) => handle(stream, peer, &options, &log),
                            Err(e) if is_transient_accept(&e) => continue,
                            Err(e) => return e,
                        }
                    }
                })?;
        handles.push(handle);
    }
    let mut first_error = None;
    for h in handles {
        if let Ok(e) = h.join() {
            first_error.get_or_insert(e);
        }
    }
    Err(first_error.unwrap_or_else(|| io::Error::other("all TCP workers stopped")))
}

/// Accept errors that concern one connection or a momentary shortage, not the listener.
fn is_transient_accept(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    ) || matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM | libc::EPROTO)
    )
}

/// The reference client's exchange on a connected stream: send `request` with one
/// write, then one read of at most `TCP_BUFFER` bytes (empty when the server closed first).
///
/// The one write is the reference's single `send()`, not `sendall()`: when the server
/// resets the connection part way through a huge request, the kernel returns the count
/// sent so far instead of an error, and the reply queued before the reset is still read.
pub fn request(
    stream: &mut TcpStream,
    request: &[u8],
    timeout: Option<Duration>,
) -> io::Result<Vec<u8>> {
    loop {
        match stream.write(request) {
            Ok(_) => break,
            // CPython retries a send interrupted before anything was sent (PEP 475).
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    stream.set_read_timeout(timeout)?;
    let mut buf = [0u8; TCP_BUFFER];
    loop {
        match stream.read(&mut buf) {
            Ok(n) => return Ok(buf[..n].to_vec()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Reads everything until the peer closes, for tools that want the whole reply.
pub fn read_to_close(stream: &mut TcpStream, limit: usize) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    stream.take(limit as u64).read_to_end(&mut out)?;
    let _ = stream.shutdown(Shutdown::Both);
    Ok(out)
}

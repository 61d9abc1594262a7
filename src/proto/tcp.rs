//! The TCP exchange: one read of at most 1024 bytes, its uppercase back, close.
//!
//! Nothing here binds a port or prints: callers pass sockets and a log sink.
//!
//! The server keeps a small pool of accepting workers busy only with connections whose
//! request has arrived. A connection with nothing to read yet is handed to one watcher
//! thread, which polls every such connection until it talks or reaches the idle timeout,
//! so silent clients, however many, never hold up a worker.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::case::{server_reply, UnicodeVersion};
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
    /// Threads accepting and answering connections whose request has arrived. Silent
    /// connections do not occupy them (see the module docs), so a few suffice; each
    /// sleeping worker costs a cold wake-up per connection.
    pub workers: usize,
}

/// One `recv` of at most `buf.len()` bytes that does not wait (`MSG_DONTWAIT`): the
/// request if it has arrived, `WouldBlock` if not. The socket itself stays blocking.
fn read_now(stream: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        // SAFETY: recv on a valid fd into a buffer we own, with its length.
        let n = unsafe {
            libc::recv(
                stream.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT,
            )
        };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Answers a request that has been read: validates it once, sends its uppercase, closes.
/// Unread bytes beyond the request make the kernel reset the connection on close,
/// exactly as with the reference.
fn answer(
    mut stream: TcpStream,
    peer: SocketAddr,
    request: &mut [u8],
    options: &TcpServeOptions,
    log: &Log,
) {
    let reply = server_reply(request, options.version);
    if !reply.valid_utf8 {
        log(&format!(
            "{peer}: request is not valid UTF-8 (the reference server would crash); invalid bytes echoed unchanged"
        ));
    }
    if let Err(e) = stream.write_all(&reply.bytes) {
        log(&format!("{peer}: reply not sent: {e}"));
    }
    drop(stream);
}

fn log_silent(peer: SocketAddr, options: &TcpServeOptions, log: &Log) {
    log(&format!(
        "{peer}: sent nothing for {:.1} s; closed without a reply",
        options.idle_timeout.as_secs_f64()
    ));
}

/// Serves one accepted connection the reference's way: a single `recv(1024)`, the
/// uppercase reply, close. Waits in this thread, up to `idle_timeout`, for a request
/// that has not arrived yet ([`serve`] hands such connections to its watcher instead).
pub fn handle(stream: TcpStream, peer: SocketAddr, options: &TcpServeOptions, log: &Log) {
    let mut buf = [0u8; TCP_BUFFER];
    match read_now(&stream, &mut buf) {
        Ok(n) => answer(stream, peer, &mut buf[..n], options, log),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
            handle_blocking(stream, peer, options, log)
        }
        Err(e) => log(&format!("{peer}: read failed: {e}")),
    }
}

/// The fallback: one blocking read bounded by `idle_timeout`, then the answer.
fn handle_blocking(mut stream: TcpStream, peer: SocketAddr, options: &TcpServeOptions, log: &Log) {
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
                return log_silent(peer, options, log);
            }
            Err(e) => return log(&format!("{peer}: read failed: {e}")),
        }
    };
    answer(stream, peer, &mut buf[..n], options, log);
}

/// A connection whose request has not arrived, waiting in the watcher.
struct Silent {
    stream: TcpStream,
    peer: SocketAddr,
    /// When it is closed without a reply: its hand-off plus the idle timeout.
    deadline: Instant,
}

/// The workers' side of the watcher: a queue and a wake-up socket that makes its `poll`
/// return.
struct Watcher {
    queue: mpsc::Sender<Silent>,
    wake: Arc<UnixStream>,
}

impl Watcher {
    /// Starts the watcher thread.
    fn start(options: TcpServeOptions, log: Log) -> io::Result<Watcher> {
        let (wake, wakened) = UnixStream::pair()?;
        wake.set_nonblocking(true)?;
        wakened.set_nonblocking(true)?;
        let (queue, arrivals) = mpsc::channel();
        std::thread::Builder::new()
            .name("tcp-silent".into())
            .stack_size(128 * 1024)
            .spawn(move || watch(arrivals, wakened, options, log))?;
        Ok(Watcher {
            queue,
            wake: Arc::new(wake),
        })
    }

    /// Hands `silent` over; gives it back if the watcher is gone.
    fn hand_over(&self, silent: Silent) -> Result<(), Silent> {
        self.queue.send(silent).map_err(|e| e.0)?;
        // A full wake-up socket already has a wake-up pending: nothing is lost.
        let _ = (&*self.wake).write(&[1]);
        Ok(())
    }
}

impl Clone for Watcher {
    fn clone(&self) -> Self {
        Watcher {
            queue: self.queue.clone(),
            wake: Arc::clone(&self.wake),
        }
    }
}

/// The watcher thread: polls every silent connection, answers the ones that talk and
/// closes the ones that reach their deadline. Stops when every worker is gone.
fn watch(
    arrivals: mpsc::Receiver<Silent>,
    wakened: UnixStream,
    options: TcpServeOptions,
    log: Log,
) {
    let mut waiting: Vec<Silent> = Vec::new();
    let mut fds: Vec<libc::pollfd> = Vec::new();
    let mut buf = [0u8; TCP_BUFFER];
    loop {
        loop {
            match arrivals.try_recv() {
                Ok(silent) => waiting.push(silent),
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) if waiting.is_empty() => return,
                Err(mpsc::TryRecvError::Disconnected) => break,
            }
        }
        let now = Instant::now();
        waiting.retain(|s| {
            let alive = s.deadline > now;
            if !alive {
                log_silent(s.peer, &options, &log);
            }
            alive
        });
        let timeout_ms = match waiting.iter().map(|s| s.deadline).min() {
            // Rounded up, so a wake-up never comes before the deadline it waits for.
            Some(d) => (d - now).as_micros().div_ceil(1000).min(i32::MAX as u128) as i32,
            None => -1,
        };
        fds.clear();
        fds.push(libc::pollfd {
            fd: wakened.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        });
        fds.extend(waiting.iter().map(|s| libc::pollfd {
            fd: s.stream.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }));
        // SAFETY: poll on an array of pollfd we own, with its length.
        let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
        if ready < 0 {
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                log(&format!("waiting for silent connections failed: {e}"));
                std::thread::sleep(Duration::from_millis(10));
            }
            continue;
        }
        if fds[0].revents != 0 {
            let mut drain = [0u8; 64];
            while matches!((&wakened).read(&mut drain), Ok(n) if n > 0) {}
        }
        let mut still = Vec::with_capacity(waiting.len());
        for (silent, fd) in waiting.drain(..).zip(&fds[1..]) {
            if fd.revents == 0 {
                still.push(silent);
                continue;
            }
            match read_now(&silent.stream, &mut buf) {
                Ok(n) => {
                    // Bounded even for a peer that never reads (the reply fits in the
                    // send buffer, so this should never wait).
                    let _ = silent.stream.set_write_timeout(Some(options.idle_timeout));
                    answer(silent.stream, silent.peer, &mut buf[..n], &options, &log);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => still.push(silent),
                Err(e) => log(&format!("{}: read failed: {e}", silent.peer)),
            }
        }
        waiting = still;
    }
}

/// Delivers a connection's first segment before `accept` returns it (Linux), so a worker
/// is woken once per connection, with the request already there. A connection that stays
/// silent is still accepted after about a second, then treated as below.
#[cfg(target_os = "linux")]
fn defer_accept(listener: &TcpListener) {
    let seconds: libc::c_int = 1;
    // SAFETY: setsockopt on a valid fd with a c_int we own. Failure only costs the saving.
    unsafe {
        libc::setsockopt(
            listener.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_DEFER_ACCEPT,
            (&seconds as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

#[cfg(not(target_os = "linux"))]
fn defer_accept(_listener: &TcpListener) {}

/// Serves `listener` forever with `options.workers` threads, each accepting a connection
/// and answering its request when it has arrived. A connection with nothing to read is
/// handed to a watcher thread that answers it when it talks or closes it after
/// `idle_timeout`, so silent clients never hold up others. Returns only if the listener
/// fails for good.
pub fn serve(listener: TcpListener, options: TcpServeOptions, log: Log) -> io::Result<()> {
    defer_accept(&listener);
    let listener = Arc::new(listener);
    let watcher = Watcher::start(options, Arc::clone(&log))?;
    let workers = options.workers.max(1);
    let mut handles = Vec::with_capacity(workers);
    for _ in 0..workers {
        let listener = Arc::clone(&listener);
        let log = Arc::clone(&log);
        let watcher = watcher.clone();
        let handle =
            std::thread::Builder::new()
                .stack_size(128 * 1024)
                .spawn(move || -> io::Error {
                    let mut buf = [0u8; TCP_BUFFER];
                    loop {
                        let (stream, peer) = match listener.accept() {
                            Ok(accepted) => accepted,
                            Err(e) if is_transient_accept(&e) => continue,
                            Err(e) => return e,
                        };
                        match read_now(&stream, &mut buf) {
                            Ok(n) => answer(stream, peer, &mut buf[..n], &options, &log),
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                                let silent = Silent {
                                    stream,
                                    peer,
                                    deadline: Instant::now() + options.idle_timeout,
                                };
                                if let Err(silent) = watcher.hand_over(silent) {
                                    handle_blocking(silent.stream, peer, &options, &log);
                                }
                            }
                            Err(e) => log(&format!("{peer}: read failed: {e}")),
                        }
                    }
                })?;
        handles.push(handle);
    }
    drop(watcher);
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

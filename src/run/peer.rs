//! The harness playing the peer over real sockets: the probe exchange (the harness as a
//! client of a server), the health check (does a server still serve?), and the recording
//! server (the harness as the server of a client, answering [`MARKER`]). It talks on
//! sockets only: it never starts or stops a process, and it never judges what it heard;
//! it returns replies and transcripts.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::observe::{NotRunReason, Reply};
use super::process::Running;
use super::wire::{Peer, Transcript, WireEvent, WireWhat};
use crate::proto::udp::recv_datagram;
use crate::proto::Transport;

/// The reply the harness sends when it plays the server: not derived from any input.
pub const MARKER: &str = "SHOUT MARKER ⚑ Ünïcödé 42";

/// What the health check sends: any reply to it shows the server still serves.
const HEALTH: &[u8] = b"still there?";

/// How often waits for a UDP reply look whether the server has exited.
const SLICE: Duration = Duration::from_millis(20);

/// How long a UDP probe waits, after the reply, for a duplicate.
const EXTRA_WAIT: Duration = Duration::from_millis(2);

/// How long the recording server waits for the rest of a line that came in pieces.
const UNREAD_WAIT: Duration = Duration::from_millis(100);

/// How long the recording server looks, after a read that took the whole line, for a
/// piece that followed (a newline written on its own); a client that closes ends it.
const AFTER_WAIT: Duration = Duration::from_millis(30);

/// The most a TCP probe keeps reading.
const MOST_READ: usize = 1 << 20;

/// A transcript being written, timed from its start.
struct Notes {
    /// Events are timed from here, the exchange's start.
    started: Instant,
    events: Vec<WireEvent>,
}

impl Notes {
    fn note(&mut self, from: Peer, bytes: &[u8], what: WireWhat) {
        self.events.push(WireEvent {
            from,
            at_ms: self.started.elapsed().as_millis() as u64,
            bytes: bytes.to_vec(),
            what,
        })
    }
}

/// Sends `writes` to the server as the harness-client; returns the reply and transcript.
pub(super) fn probe_exchange(
    transport: Transport,
    port: u16,
    writes: &[Vec<u8>],
    timeout: Duration,
    server: &mut Running,
) -> (Reply, Transcript) {
    let mut notes = Notes {
        started: Instant::now(),
        events: Vec::new(),
    };
    let reply = match transport {
        Transport::Udp => udp_exchange(port, writes, timeout, server, &mut notes),
        Transport::Tcp => tcp_exchange(port, writes, timeout, &mut notes),
    };
    (
        reply,
        Transcript {
            events: notes.events,
        },
    )
}

/// What came back to a UDP probe.
struct Heard {
    reply: Reply,
    /// The reply came from another port than the one asked.
    other_port: bool,
    /// Datagrams that came at once after the reply.
    more: Vec<Vec<u8>>,
}

fn udp_exchange(
    port: u16,
    writes: &[Vec<u8>],
    timeout: Duration,
    server: &mut Running,
    notes: &mut Notes,
) -> Reply {
    let heard = udp_ask(port, writes, timeout, server);
    for w in writes {
        notes.note(Peer::Client, w, WireWhat::Data);
    }
    let Ok(heard) = heard else {
        return Reply::Refused;
    };
    if let Reply::Bytes { bytes, .. } = &heard.reply {
        let what = if heard.other_port {
            WireWhat::DataFromOtherPort
        } else {
            WireWhat::Data
        };
        notes.note(Peer::Server, bytes, what);
    }
    // The replies to the other datagrams sent are expected; any beyond are not.
    for extra in heard.more.iter().skip(writes.len().saturating_sub(1)) {
        notes.note(Peer::Server, extra, WireWhat::ExtraDatagram);
    }
    heard.reply
}

fn udp_ask(
    port: u16,
    writes: &[Vec<u8>],
    timeout: Duration,
    server: &mut Running,
) -> io::Result<Heard> {
    let s = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
    s.set_read_timeout(Some(SLICE))?;
    for w in writes {
        s.send_to(w, (Ipv4Addr::LOCALHOST, port))?;
    }
    let deadline = Instant::now() + timeout;
    let mut buf = vec![0u8; 65536];
    // Short slices, so that a server that died on the request is seen at once.
    let received = loop {
        match s.recv_from(&mut buf) {
            Err(e) if is_timeout(&e) && Instant::now() < deadline => {
                if server.exited().is_some() {
                    // A last look, for a reply sent just before the exit.
                    s.set_nonblocking(true)?;
                    break s.recv_from(&mut buf);
                }
            }
            other => break other,
        }
    };
    let silent = |reply| Heard {
        reply,
        other_port: false,
        more: Vec::new(),
    };
    let (n, from) = match received {
        Ok(got) => got,
        Err(e) if is_timeout(&e) => return Ok(silent(Reply::Nothing)),
        Err(_) => return Ok(silent(Reply::Refused)),
    };
    let first = buf[..n].to_vec();
    // One datagram answers one: what else came back at once, beyond one reply per
    // datagram sent, is a duplicate. (Waited for with poll(2): a socket's own timeout
    // counts in the kernel's ticks, and turned these 2 ms into 4 to 8.)
    s.set_nonblocking(true)?;
    let mut more = Vec::new();
    while more.len() < writes.len() && readable_within(&s, EXTRA_WAIT) {
        match s.recv_from(&mut buf) {
            Ok((n, _)) => more.push(buf[..n].to_vec()),
            Err(_) => break,
        }
    }
    Ok(Heard {
        reply: Reply::Bytes {
            bytes: first,
            reset: false,
        },
        other_port: from.port() != port,
        more,
    })
}

/// Whether `s` has something to read within `wait` (to the millisecond, measured by the
/// kernel's high-resolution timers).
fn readable_within(s: &impl AsRawFd, wait: Duration) -> bool {
    let mut fd = libc::pollfd {
        fd: s.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = wait.as_millis().clamp(1, i32::MAX as u128) as libc::c_int;
    // SAFETY: poll(2) on one pollfd on the stack.
    unsafe { libc::poll(&mut fd, 1, ms) > 0 }
}

fn tcp_exchange(port: u16, writes: &[Vec<u8>], timeout: Duration, notes: &mut Notes) -> Reply {
    let Ok(mut s) = TcpStream::connect_timeout(&(Ipv4Addr::LOCALHOST, port).into(), timeout) else {
        return Reply::Refused;
    };
    let _ = s.set_read_timeout(Some(timeout));
    for (k, w) in writes.iter().enumerate() {
        if k > 0 {
            // Separate writes must arrive as separate segments.
            std::thread::sleep(Duration::from_millis(30));
        }
        if s.write_all(w).is_err() {
            break;
        }
        notes.note(Peer::Client, w, WireWhat::Data);
    }
    let reply = tcp_reply(&mut s, notes);
    let _ = s.shutdown(Shutdown::Both);
    reply
}

/// Reads a TCP reply until the server closes, resets, or goes quiet for the read timeout.
fn tcp_reply(s: &mut TcpStream, notes: &mut Notes) -> Reply {
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    let bytes = |bytes, reset| Reply::Bytes { bytes, reset };
    loop {
        match s.read(&mut buf) {
            Ok(0) => {
                notes.note(Peer::Server, b"", WireWhat::Close);
                return bytes(got, false);
            }
            Ok(n) => {
                notes.note(Peer::Server, &buf[..n], WireWhat::Data);
                got.extend_from_slice(&buf[..n]);
                if got.len() > MOST_READ {
                    return bytes(got, false);
                }
            }
            Err(e) if is_timeout(&e) => {
                return if got.is_empty() {
                    Reply::Nothing
                } else {
                    bytes(got, false)
                };
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => {
                notes.note(Peer::Server, b"", WireWhat::Reset);
                return if got.is_empty() {
                    Reply::Refused
                } else {
                    bytes(got, true)
                };
            }
        }
    }
}

/// Whether the server still answers a request: any reply counts, right or wrong (the
/// probes judge the replies; this only asks whether the server is still serving). Waits
/// in short slices so that a server that has exited is seen at once rather than after the
/// whole `timeout`.
pub(super) fn healthy(
    transport: Transport,
    port: u16,
    timeout: Duration,
    process: &mut Running,
) -> bool {
    let deadline = Instant::now() + timeout;
    let gone = |process: &mut Running| process.exited().is_some() || Instant::now() > deadline;
    match transport {
        Transport::Udp => udp_healthy(port, || gone(process)),
        Transport::Tcp => tcp_healthy(port, timeout, || gone(process)),
    }
}

fn udp_healthy(port: u16, mut gone: impl FnMut() -> bool) -> bool {
    let Ok(s) = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)) else {
        return false;
    };
    if s.set_read_timeout(Some(SLICE)).is_err()
        || s.send_to(HEALTH, (Ipv4Addr::LOCALHOST, port)).is_err()
    {
        return false;
    }
    let mut buf = vec![0u8; 4096];
    loop {
        match s.recv_from(&mut buf) {
            Ok(_) => return true,
            Err(e) if is_timeout(&e) && !gone() => continue,
            Err(_) => return false,
        }
    }
}

fn tcp_healthy(port: u16, timeout: Duration, mut gone: impl FnMut() -> bool) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&(Ipv4Addr::LOCALHOST, port).into(), timeout) else {
        return false;
    };
    let request = crate::registry::framed_line(HEALTH, Transport::Tcp);
    if s.set_read_timeout(Some(SLICE)).is_err() || s.write_all(&request).is_err() {
        return false;
    }
    let mut buf = vec![0u8; 4096];
    let mut reply = Vec::new();
    loop {
        match s.read(&mut buf) {
            Ok(0) => return !reply.is_empty(),
            Ok(n) => reply.extend_from_slice(&buf[..n]),
            // An answer, and the server keeps the connection open (a quiet slice).
            Err(e) if is_timeout(&e) && !reply.is_empty() => return true,
            Err(e) if is_timeout(&e) && !gone() => continue,
            Err(_) => return !reply.is_empty(),
        }
    }
}

/// What arrives on `s` within `wait` (at most `max` bytes), until the peer closes.
fn read_for(s: &mut TcpStream, wait: Duration, max: usize) -> Vec<u8> {
    let deadline = Instant::now() + wait;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while got.len() < max {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || s.set_read_timeout(Some(left)).is_err() {
            break;
        }
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    got
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// What a client sent the recording server.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Recorded {
    /// Every byte its requests' one read took (UDP: every datagram).
    pub received: Vec<u8>,
    /// TCP: what followed the one read, until the client closed.
    pub unread: Vec<u8>,
    /// TCP: the most data segments (writes) one connection's read took.
    pub segments: u32,
}

/// The harness as the server of a client: it records what the client sends and answers
/// every request with [`MARKER`], on its own thread until stopped.
pub(super) struct RecordingServer {
    /// Where the client is told to send.
    port: u16,
    /// TCP's thread waits in `accept`, and must be woken to see `stop`.
    transport: Transport,
    /// Tells the thread to end.
    stop: Arc<AtomicBool>,
    /// Filled by the thread, read once it has ended.
    recorded: Arc<Mutex<Recorded>>,
    /// Joined on stop, so nothing is recorded after the observation is made.
    thread: JoinHandle<()>,
    /// When the client first connected (TCP) or sent (UDP), for the timing cases.
    contacted: Arc<Mutex<Option<Instant>>>,
    /// UDP: the thread's socket, shut for reading on stop so that its wait ends at once.
    udp: Option<UdpSocket>,
}

impl RecordingServer {
    /// Listens on `listen` (port 0: any free port). Over TCP, each connection gets one read,
    /// like the reference server, which waits `timeout`; when that read took less than
    /// `line_len` bytes, what followed is kept as `unread`.
    pub fn start(
        transport: Transport,
        listen: SocketAddr,
        timeout: Duration,
        line_len: usize,
    ) -> Result<RecordingServer, NotRunReason> {
        let stop = Arc::new(AtomicBool::new(false));
        let recorded: Arc<Mutex<Recorded>> = Arc::default();
        let contacted: Arc<Mutex<Option<Instant>>> = Arc::default();
        let (stop2, rec2) = (Arc::clone(&stop), Arc::clone(&recorded));
        let contact = Contact(Arc::clone(&contacted));
        let mut udp = None;
        let (port, thread) = match transport {
            Transport::Udp => {
                let Some((s, waker)) = UdpSocket::bind(listen)
                    .ok()
                    .and_then(|s| Some((s.try_clone().ok()?, s)))
                else {
                    return Err(NotRunReason::SpawnFailed("cannot bind a UDP socket".into()));
                };
                udp = Some(waker);
                let port = s.local_addr().map(|a| a.port()).unwrap_or(0);
                (
                    port,
                    std::thread::spawn(move || serve_udp(&s, &stop2, &rec2, &contact)),
                )
            }
            Transport::Tcp => {
                let Ok(l) = TcpListener::bind(listen) else {
                    return Err(NotRunReason::SpawnFailed("cannot bind a TCP socket".into()));
                };
                let port = l.local_addr().map(|a| a.port()).unwrap_or(0);
                let serve = move || serve_tcp(&l, &stop2, &rec2, &contact, (timeout, line_len));
                (port, std::thread::spawn(serve))
            }
        };
        Ok(RecordingServer {
            port,
            transport,
            stop,
            recorded,
            thread,
            contacted,
            udp,
        })
    }

    /// When the client first connected (TCP) or sent a datagram (UDP), if it has.
    pub fn contacted_at(&self) -> Option<Instant> {
        self.contacted.lock().ok().and_then(|c| *c)
    }

    /// Where it listens.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops it and returns what it recorded.
    pub fn stop(self) -> Recorded {
        self.stop.store(true, Ordering::SeqCst);
        if self.transport == Transport::Tcp {
            // Wakes the thread waiting in `accept`.
            let _ = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port));
        }
        if let Some(s) = &self.udp {
            // Ends the thread's `recv_from` at once.
            // SAFETY: shutdown(2) on a descriptor this socket owns and keeps open.
            unsafe { libc::shutdown(s.as_raw_fd(), libc::SHUT_RD) };
        }
        let _ = self.thread.join();
        let recorded = self.recorded.lock().map(|r| r.clone());
        recorded.unwrap_or_default()
    }
}

/// Where the recording server notes its first contact with the client.
struct Contact(Arc<Mutex<Option<Instant>>>);

impl Contact {
    fn seen(&self) {
        if let Ok(mut c) = self.0.lock() {
            c.get_or_insert_with(Instant::now);
        }
    }
}

fn serve_udp(s: &UdpSocket, stop: &AtomicBool, recorded: &Mutex<Recorded>, contact: &Contact) {
    let mut buf = vec![0u8; 65536];
    while !stop.load(Ordering::SeqCst) {
        let got = recv_datagram(s, &mut buf);
        if stop.load(Ordering::SeqCst) {
            // Woken by `stop`, not by the client.
            break;
        }
        if let Ok((n, from)) = got {
            contact.seen();
            if let Ok(mut r) = recorded.lock() {
                r.received.extend_from_slice(&buf[..n]);
            }
            let _ = s.send_to(MARKER.as_bytes(), from);
        }
    }
}

/// What the reference server takes as the request: one read, or for a reference that
/// reads lines, everything up to and including the first `\n` (or up to the end of the
/// stream, or the read timeout with something read). Bytes read past that newline are
/// left out, as the reference's `readLine()` leaves them: how many arrived with it
/// depends on timing.
fn read_request(s: &mut TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = s.read(buf)?;
    if !crate::registry::tcp_lines_end_with_newline() {
        return Ok(n);
    }
    while n > 0 && n < buf.len() && !buf[..n].contains(&b'\n') {
        match s.read(&mut buf[n..]) {
            Ok(0) | Err(_) => break,
            Ok(more) => n += more,
        }
    }
    Ok(buf[..n]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(n, |at| at + 1))
}

fn serve_tcp(
    l: &TcpListener,
    stop: &AtomicBool,
    recorded: &Mutex<Recorded>,
    contact: &Contact,
    (timeout, line_len): (Duration, usize),
) {
    while let Ok((mut s, _)) = l.accept() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        contact.seen();
        let _ = s.set_read_timeout(Some(timeout));
        let mut buf = [0u8; 65536];
        // One read, like the reference server (up to the newline, for one that reads
        // lines).
        let Ok(n) = read_request(&mut s, &mut buf) else {
            continue;
        };
        // The writes that carried what that read took: counted by the kernel, so a line
        // written in pieces is seen however the pieces happened to be read.
        let segments = data_segments_in(&s).unwrap_or(0);
        if let Ok(mut r) = recorded.lock() {
            r.received.extend_from_slice(&buf[..n]);
            r.segments = r.segments.max(segments);
        }
        let _ = s.write_all(MARKER.as_bytes());
        if n > 0 {
            // Whatever follows until the client closes: the rest of a line written in
            // pieces (a read that took less than the line), or a piece sent after it.
            let wait = if n < line_len {
                UNREAD_WAIT
            } else {
                AFTER_WAIT
            };
            let more = read_for(&mut s, wait, buf.len());
            if let Ok(mut r) = recorded.lock() {
                r.unread.extend_from_slice(&more);
            }
        }
    }
}

/// How many data segments the peer has sent on `s` (`tcpi_data_segs_in` of Linux's
/// `TCP_INFO`, since 4.6), or `None` where the kernel does not say. On loopback every
/// write of a client becomes at least one segment of its own unless several are waiting
/// at once, and the first always goes alone: more than one means more than one write.
fn data_segments_in(s: &TcpStream) -> Option<u32> {
    use std::os::fd::AsRawFd;
    /// Where `tcpi_data_segs_in` sits in `struct tcp_info` (linux/tcp.h): 8 one-byte
    /// fields, 24 `__u32`, 4 `__u64`, then `segs_out`, `segs_in`, `notsent_bytes` and
    /// `min_rtt`.
    const AT: usize = 8 + 24 * 4 + 4 * 8 + 4 * 4;
    let mut info = [0u8; 256];
    let mut len = info.len() as libc::socklen_t;
    // SAFETY: getsockopt(2) writes at most `len` bytes into `info` and sets `len`.
    let rc = unsafe {
        libc::getsockopt(
            s.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            info.as_mut_ptr().cast(),
            &mut len,
        )
    };
    if rc != 0 || (len as usize) < AT + 4 {
        return None;
    }
    let bytes: [u8; 4] = info[AT..AT + 4].try_into().ok()?;
    Some(u32::from_ne_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notes() -> Notes {
        Notes {
            started: Instant::now(),
            events: Vec::new(),
        }
    }

    #[test]
    fn a_tcp_probe_records_both_sides_and_the_close() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut buf = [0u8; 16];
            let n = s.read(&mut buf).unwrap();
            s.write_all(&buf[..n].to_ascii_uppercase()).unwrap();
        });
        let mut notes = notes();
        let writes = [b"abc".to_vec()];
        let reply = tcp_exchange(port, &writes, Duration::from_secs(5), &mut notes);
        server.join().unwrap();
        assert_eq!(
            reply,
            Reply::Bytes {
                bytes: b"ABC".to_vec(),
                reset: false
            }
        );
        let whats: Vec<_> = notes.events.iter().map(|e| (e.from, e.what)).collect();
        assert_eq!(
            whats,
            [
                (Peer::Client, WireWhat::Data),
                (Peer::Server, WireWhat::Data),
                (Peer::Server, WireWhat::Close)
            ]
        );
    }

    #[test]
    fn a_tcp_probe_of_a_closed_port_is_refused_with_nothing_on_the_wire() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut notes = notes();
        let reply = tcp_exchange(port, &[b"x".to_vec()], Duration::from_secs(1), &mut notes);
        assert_eq!(reply, Reply::Refused);
        assert!(notes.events.is_empty());
    }

    #[test]
    fn the_recording_server_answers_the_marker_and_keeps_what_it_read() {
        let at = (Ipv4Addr::LOCALHOST, 0).into();
        let rec = RecordingServer::start(Transport::Tcp, at, Duration::from_secs(5), 5).unwrap();
        let mut c = TcpStream::connect(("127.0.0.1", rec.port())).unwrap();
        c.write_all(b"hello").unwrap();
        let mut reply = Vec::new();
        c.read_to_end(&mut reply).unwrap();
        assert_eq!(reply, MARKER.as_bytes());
        let recorded = rec.stop();
        assert_eq!(recorded.received, b"hello");
        assert!(recorded.unread.is_empty());
        assert_eq!(recorded.segments, 1, "one write is one segment");
    }

    #[test]
    fn a_line_written_in_pieces_is_counted_in_pieces_however_it_was_read() {
        for round in 0..3 {
            let rec = RecordingServer::start(
                Transport::Tcp,
                (Ipv4Addr::LOCALHOST, 0).into(),
                Duration::from_secs(5),
                5,
            )
            .unwrap();
            let mut c = TcpStream::connect(("127.0.0.1", rec.port())).unwrap();
            for b in b"hello" {
                c.write_all(&[*b]).unwrap();
            }
            let mut reply = Vec::new();
            c.read_to_end(&mut reply).unwrap();
            let recorded = rec.stop();
            let mut all = recorded.received.clone();
            all.extend_from_slice(&recorded.unread);
            assert_eq!(all, b"hello", "round {round}");
            assert!(
                recorded.segments > 1 || !recorded.unread.is_empty(),
                "round {round}: five writes seen as one: {recorded:?}"
            );
        }
    }

    #[test]
    fn a_newline_written_after_the_line_is_seen_after_a_whole_read() {
        let at = (Ipv4Addr::LOCALHOST, 0).into();
        let rec = RecordingServer::start(Transport::Tcp, at, Duration::from_secs(5), 5).unwrap();
        let mut c = TcpStream::connect(("127.0.0.1", rec.port())).unwrap();
        c.write_all(b"hello").unwrap();
        c.write_all(b"\n").unwrap();
        let mut reply = Vec::new();
        c.read_to_end(&mut reply).unwrap();
        let recorded = rec.stop();
        let mut all = recorded.received.clone();
        all.extend_from_slice(&recorded.unread);
        assert_eq!(all, b"hello\n");
        assert!(
            recorded.segments > 1 || !recorded.unread.is_empty(),
            "{recorded:?}"
        );
    }
}

//! The transparent relay between a client and a server: it forwards every byte both
//! ways and records them, so a verdict can say who put what on the wire. It never alters,
//! holds back or judges what it forwards, and starts no process.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::wire::{Peer, Transcript, WireEvent, WireWhat};
use crate::proto::udp::recv_datagram;
use crate::proto::Transport;

/// How often relay threads look at the stop flag while idle.
const TICK: Duration = Duration::from_millis(5);

#[derive(Clone)]
struct Recorder {
    started: Instant,
    events: Arc<Mutex<Vec<WireEvent>>>,
    limit: usize,
}

impl Recorder {
    fn record(&self, from: Peer, bytes: &[u8], what: WireWhat) {
        if let Ok(mut e) = self.events.lock() {
            let kept: usize = e.iter().map(|x| x.bytes.len()).sum();
            let room = self.limit.saturating_sub(kept);
            e.push(WireEvent {
                from,
                at_ms: self.started.elapsed().as_millis() as u64,
                bytes: bytes[..bytes.len().min(room)].to_vec(),
                what,
            });
        }
    }
}

/// A running relay; [`Relay::stop`] ends it and returns the transcript.
pub struct Relay {
    port: u16,
    transport: Transport,
    stop: Arc<AtomicBool>,
    recorder: Recorder,
    threads: Vec<JoinHandle<()>>,
    /// The UDP relay's sockets, shut for reading at the stop so that its threads wake
    /// at once instead of at their next tick.
    udp_sockets: Vec<Arc<UdpSocket>>,
}

impl Relay {
    /// Starts a relay on `listen` (port 0: any free port; `127.0.0.1` unless the client
    /// sends to another address) that forwards to `127.0.0.1:server_port`.
    pub fn start(
        transport: Transport,
        server_port: u16,
        listen: SocketAddr,
        limit: usize,
    ) -> io::Result<Relay> {
        let listen_port = listen.port();
        let recorder = Recorder {
            started: Instant::now(),
            events: Arc::default(),
            limit,
        };
        let stop = Arc::new(AtomicBool::new(false));
        let server: SocketAddr = (Ipv4Addr::LOCALHOST, server_port).into();
        // A fixed port may still be held for a moment by the previous unit's relay socket,
        // copied into a child that another thread has started and that has not yet called
        // `exec`.
        let deadline = Instant::now() + Duration::from_secs(2);
        let (port, threads, udp_sockets) = loop {
            let started = match transport {
                Transport::Udp => udp(server, listen, recorder.clone(), Arc::clone(&stop)),
                Transport::Tcp => tcp(server, listen, recorder.clone(), Arc::clone(&stop))
                    .map(|(port, threads)| (port, threads, Vec::new())),
            };
            match started {
                Err(e)
                    if listen_port != 0
                        && e.kind() == io::ErrorKind::AddrInUse
                        && Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(5));
                }
                other => break other?,
            }
        };
        Ok(Relay {
            port,
            transport,
            stop,
            recorder,
            threads,
            udp_sockets,
        })
    }

    /// The port clients should be pointed at.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops forwarding and returns everything recorded.
    pub fn stop(self) -> Transcript {
        self.stop.store(true, Ordering::SeqCst);
        if self.transport == Transport::Tcp {
            // Wakes the acceptor blocked in accept().
            let _ = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port));
        }
        for socket in &self.udp_sockets {
            // Linux wakes a reader blocked on a UDP socket that is shut, connected or not;
            // what is already queued is still read first, then the read returns 0.
            // SAFETY: shutdown(2) on a descriptor the socket owns and keeps open.
            unsafe { libc::shutdown(socket.as_raw_fd(), libc::SHUT_RD) };
        }
        for t in self.threads {
            let _ = t.join();
        }
        let events = self
            .recorder
            .events
            .lock()
            .map(|e| e.clone())
            .unwrap_or_default();
        Transcript { events }
    }
}

/// A UDP relay's two sockets.
type UdpSockets = Vec<Arc<UdpSocket>>;

fn udp(
    server: SocketAddr,
    listen: SocketAddr,
    rec: Recorder,
    stop: Arc<AtomicBool>,
) -> io::Result<(u16, Vec<JoinHandle<()>>, UdpSockets)> {
    let front = Arc::new(UdpSocket::bind(listen)?);
    let back = Arc::new(UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?);
    front.set_read_timeout(Some(TICK))?;
    back.set_read_timeout(Some(TICK))?;
    let port = front.local_addr()?.port();
    let sockets = vec![Arc::clone(&front), Arc::clone(&back)];
    let client: Arc<Mutex<Option<SocketAddr>>> = Arc::default();
    let forward = {
        let (front, back, rec, stop, client) = (
            Arc::clone(&front),
            Arc::clone(&back),
            rec.clone(),
            Arc::clone(&stop),
            Arc::clone(&client),
        );
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            while !stop.load(Ordering::SeqCst) {
                if let Ok((n, from)) = recv_datagram(&front, &mut buf) {
                    if n == 0 && stop.load(Ordering::SeqCst) {
                        break; // the wake-up of a shut socket, not a datagram
                    }
                    rec.record(Peer::Client, &buf[..n], WireWhat::Data);
                    if let Ok(mut c) = client.lock() {
                        *c = Some(from);
                    }
                    let _ = back.send_to(&buf[..n], server);
                }
            }
        })
    };
    let backward = std::thread::spawn(move || {
        let mut buf = vec![0u8; 65536];
        while !stop.load(Ordering::SeqCst) {
            if let Ok((n, from)) = recv_datagram(&back, &mut buf) {
                if n == 0 && stop.load(Ordering::SeqCst) {
                    break; // the wake-up of a shut socket, not a datagram
                }
                let what = if from == server {
                    WireWhat::Data
                } else {
                    WireWhat::DataFromOtherPort
                };
                rec.record(Peer::Server, &buf[..n], what);
                if let Some(c) = client.lock().ok().and_then(|c| *c) {
                    let _ = front.send_to(&buf[..n], c);
                }
            }
        }
    });
    Ok((port, vec![forward, backward], sockets))
}

/// Copies `from` → `to` until EOF or reset, recording as `peer`; mirrors the ending.
fn pump(mut from: TcpStream, mut to: TcpStream, peer: Peer, rec: Recorder, stop: Arc<AtomicBool>) {
    let _ = from.set_read_timeout(Some(TICK));
    let mut buf = [0u8; 65536];
    loop {
        match from.read(&mut buf) {
            Ok(0) => {
                rec.record(peer, b"", WireWhat::Close);
                let _ = to.shutdown(Shutdown::Write);
                return;
            }
            Ok(n) => {
                rec.record(peer, &buf[..n], WireWhat::Data);
                if to.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) =>
            {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
            }
            Err(_) => {
                rec.record(peer, b"", WireWhat::Reset);
                // Pass the reset on: linger 0 makes close send RST.
                let _ = set_linger_zero(&to);
                let _ = to.shutdown(Shutdown::Both);
                return;
            }
        }
    }
}

fn set_linger_zero(stream: &TcpStream) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt on a valid socket with a correctly sized struct.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn tcp(
    server: SocketAddr,
    listen: SocketAddr,
    rec: Recorder,
    stop: Arc<AtomicBool>,
) -> io::Result<(u16, Vec<JoinHandle<()>>)> {
    let listener = TcpListener::bind(listen)?;
    let port = listener.local_addr()?.port();
    let acceptor = std::thread::spawn(move || {
        let mut pumps = Vec::new();
        loop {
            let accepted = listener.accept();
            if stop.load(Ordering::SeqCst) {
                break;
            }
            match accepted {
                Ok((client, _)) => {
                    let Ok(upstream) = TcpStream::connect_timeout(&server, Duration::from_secs(2))
                    else {
                        rec.record(Peer::Server, b"", WireWhat::Refused);
                        continue;
                    };
                    let (c2, u2) = match (client.try_clone(), upstream.try_clone()) {
                        (Ok(c), Ok(u)) => (c, u),
                        _ => continue,
                    };
                    let (r1, s1) = (rec.clone(), Arc::clone(&stop));
                    let (r2, s2) = (rec.clone(), Arc::clone(&stop));
                    pumps.push(std::thread::spawn(move || {
                        pump(client, upstream, Peer::Client, r1, s1)
                    }));
                    pumps.push(std::thread::spawn(move || {
                        pump(u2, c2, Peer::Server, r2, s2)
                    }));
                }
                Err(_) => std::thread::sleep(TICK),
            }
        }
        for p in pumps {
            let _ = p.join();
        }
    });
    Ok((port, vec![acceptor]))
}

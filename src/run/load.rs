//! Load on one server instance: several clients at once, each with its own line, and
//! hundreds of requests in a row while the server's open descriptors are counted. It
//! talks on sockets and reads `/proc`; it never starts or stops a process and never
//! judges what it saw.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use super::observe::{Exchange, FromAddress, LoadSeen};
use crate::proto::Transport;
use crate::registry::framed_line;

/// How long the requests of a volume case may take in all; those not sent by then are
/// left out (a slow server is not a wrong one).
const VOLUME_BUDGET: Duration = Duration::from_secs(4);

/// The time between two clients' connections under concurrency.
const STAGGER: Duration = Duration::from_millis(5);

/// The line client `i` of `n` sends under concurrency: all the same length, each its own.
pub fn concurrent_line(i: usize, n: usize) -> String {
    const WORDS: [&str; 8] = [
        "alpha", "bravo", "charl", "delta", "echoo", "foxtr", "golfy", "hotel",
    ];
    format!("client {i:02} of {n:02} says {}", WORDS[i % WORDS.len()])
}

/// The line request `i` of a volume case sends.
fn volume_line(i: usize) -> String {
    format!("request {i:05}")
}

/// `n` clients connect (TCP) or bind (UDP) one after another and send their lines
/// without waiting for any reply; then every reply is read, until `timeout`.
pub(super) fn concurrent(transport: Transport, port: u16, n: usize, timeout: Duration) -> LoadSeen {
    let started = Instant::now();
    let deadline = started + timeout;
    let lines: Vec<Vec<u8>> = (0..n)
        .map(|i| framed_line(concurrent_line(i, n).as_bytes(), transport))
        .collect();
    let replies: Vec<Option<Vec<u8>>> = match transport {
        Transport::Tcp => tcp_concurrent(port, &lines, deadline),
        Transport::Udp => udp_concurrent(port, &lines, deadline),
    };
    let exchanges = lines
        .into_iter()
        .zip(replies)
        .map(|(sent, reply)| Exchange {
            sent,
            answered: reply.is_some(),
            reply: reply.unwrap_or_default(),
        })
        .collect();
    LoadSeen::Concurrent {
        exchanges,
        ms: started.elapsed().as_millis() as u64,
    }
}

fn left(deadline: Instant) -> Duration {
    deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1))
}

fn tcp_concurrent(port: u16, lines: &[Vec<u8>], deadline: Instant) -> Vec<Option<Vec<u8>>> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let streams: Vec<Option<TcpStream>> = lines
        .iter()
        .map(|line| {
            // A moment between clients: a server that serves one at a time (the
            // reference listens with a backlog of 1) has taken the previous one off its
            // queue, so the kernel does not drop the next connection and make it retry a
            // second later; a server that overlaps requests still overlaps them.
            std::thread::sleep(STAGGER);
            let mut s = TcpStream::connect_timeout(&addr, left(deadline)).ok()?;
            s.write_all(line).ok()?;
            Some(s)
        })
        .collect();
    std::thread::scope(|scope| {
        let readers: Vec<_> = streams
            .into_iter()
            .map(|s| scope.spawn(move || s.and_then(|s| read_until_close(s, deadline))))
            .collect();
        readers
            .into_iter()
            .map(|r| r.join().ok().flatten())
            .collect()
    })
}

/// Everything until the peer closes or resets (`None` when nothing came by `deadline`).
fn read_until_close(mut s: TcpStream, deadline: Instant) -> Option<Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if Instant::now() >= deadline || s.set_read_timeout(Some(left(deadline))).is_err() {
            break;
        }
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
        if got.len() > 1 << 16 {
            break;
        }
    }
    (!got.is_empty()).then_some(got)
}

fn udp_concurrent(port: u16, lines: &[Vec<u8>], deadline: Instant) -> Vec<Option<Vec<u8>>> {
    let sockets: Vec<Option<UdpSocket>> = lines
        .iter()
        .map(|line| {
            let s = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).ok()?;
            s.send_to(line, (Ipv4Addr::LOCALHOST, port)).ok()?;
            Some(s)
        })
        .collect();
    std::thread::scope(|scope| {
        let readers: Vec<_> = sockets
            .into_iter()
            .map(|s| {
                scope.spawn(move || {
                    let s = s?;
                    s.set_read_timeout(Some(left(deadline))).ok()?;
                    let mut buf = vec![0u8; 65536];
                    let (n, _) = s.recv_from(&mut buf).ok()?;
                    Some(buf[..n].to_vec())
                })
            })
            .collect();
        readers
            .into_iter()
            .map(|r| r.join().ok().flatten())
            .collect()
    })
}

/// The line sent by the addresses probe.
pub const ADDRESSES_LINE: &str = "sent from another loopback address";

/// Where the addresses probe sends from and to, after 127.0.0.1 to itself: UDP from
/// another source to the usual
/// destination (a reply sent to a fixed address misses it) and to another address of
/// 127.0.0.0/8; TCP to other addresses (the kernel picks the source); both over IPv6.
fn address_pairs(transport: Transport) -> Vec<(IpAddr, IpAddr)> {
    let v4 = |a, b, c, d| IpAddr::V4(Ipv4Addr::new(a, b, c, d));
    let lo6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
    // First the usual address, as a control: a server that does not answer it has
    // another problem than addresses.
    let control = (v4(127, 0, 0, 1), v4(127, 0, 0, 1));
    match transport {
        Transport::Udp => vec![
            control,
            (v4(127, 0, 0, 2), v4(127, 0, 0, 1)),
            (v4(127, 1, 2, 3), v4(127, 1, 2, 3)),
            (lo6, lo6),
        ],
        Transport::Tcp => vec![
            control,
            (v4(127, 0, 0, 2), v4(127, 0, 0, 2)),
            (v4(127, 1, 2, 3), v4(127, 1, 2, 3)),
            (lo6, lo6),
        ],
    }
}

/// [`ADDRESSES_LINE`] from each of [`address_pairs`], one after another. After a request
/// left unanswered until the time limit the rest would wait as long: the first one is
/// the finding, so they are not sent.
pub(super) fn addresses(transport: Transport, port: u16, timeout: Duration) -> LoadSeen {
    let framed = framed_line(ADDRESSES_LINE.as_bytes(), transport);
    let line = framed.as_slice();
    let mut exchanges = Vec::new();
    for (from, to) in address_pairs(transport) {
        let to = SocketAddr::new(to, port);
        let (source, outcome) = match transport {
            Transport::Udp => udp_from(from, to, line, timeout),
            Transport::Tcp => tcp_to(to, line, timeout),
        };
        let (refused, silent) = (outcome == Sent::Refused, outcome == Sent::Silent);
        let reply = match outcome {
            Sent::Reply(r) => Some(r),
            Sent::Refused | Sent::Silent => None,
        };
        exchanges.push(FromAddress {
            from: source.map_or_else(|| from.to_string(), |s| s.to_string()),
            to: to.to_string(),
            exchange: Exchange {
                sent: line.to_vec(),
                answered: reply.is_some(),
                reply: reply.unwrap_or_default(),
            },
            not_listening: to.is_ipv6() && refused,
            tcp_refused: (transport == Transport::Tcp).then_some(refused),
        });
        if silent {
            break;
        }
    }
    LoadSeen::Addresses { exchanges }
}

/// How one request went.
#[derive(Debug, PartialEq, Eq)]
enum Sent {
    Reply(Vec<u8>),
    /// Nothing listens there (ICMP port unreachable, or a refused connection).
    Refused,
    /// No reply within the time limit.
    Silent,
}

fn udp_from(
    from: IpAddr,
    to: SocketAddr,
    line: &[u8],
    timeout: Duration,
) -> (Option<SocketAddr>, Sent) {
    let Ok(s) = UdpSocket::bind(SocketAddr::new(from, 0)) else {
        return (None, Sent::Refused);
    };
    let source = s.local_addr().ok();
    let _ = s.set_read_timeout(Some(timeout));
    // Over IPv6, connected, so that a port nothing listens on shows at once as a
    // refusal rather than as a silence. Over IPv4 unconnected: the kernel sends a reply
    // to 127.1.2.3 from 127.0.0.1, which a connected socket would not take (the
    // reference client, unconnected, takes it).
    let sent = if to.is_ipv6() {
        s.connect(to).and_then(|()| s.send(line))
    } else {
        s.send_to(line, to)
    };
    if sent.is_err() {
        return (source, Sent::Refused);
    }
    let mut buf = vec![0u8; 65536];
    let sent = match s.recv_from(&mut buf) {
        Ok((n, _)) => Sent::Reply(buf[..n].to_vec()),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => Sent::Refused,
        Err(_) => Sent::Silent,
    };
    (source, sent)
}

fn tcp_to(to: SocketAddr, line: &[u8], timeout: Duration) -> (Option<SocketAddr>, Sent) {
    let mut s = match TcpStream::connect_timeout(&to, timeout) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            return (None, Sent::Refused)
        }
        Err(_) => return (None, Sent::Silent),
    };
    let source = s.local_addr().ok();
    if s.write_all(line).is_err() {
        return (source, Sent::Silent);
    }
    let sent = match read_until_close(s, Instant::now() + timeout) {
        Some(r) => Sent::Reply(r),
        None => Sent::Silent,
    };
    (source, sent)
}

/// The line sent by the late-request probe.
pub const LATE_LINE: &str = "typed a while after connecting";

/// TCP: connects, waits `after`, then sends [`LATE_LINE`] and reads the reply until the
/// server closes or `timeout` passes (counted from the send).
pub(super) fn late(port: u16, after: Duration, timeout: Duration) -> LoadSeen {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let framed = framed_line(LATE_LINE.as_bytes(), Transport::Tcp);
    let line = framed.as_slice();
    // A control: the same line at once. A server that does not answer it has another
    // problem than slow clients.
    let control_answered = tcp_request(port, line, timeout);
    let reply = TcpStream::connect_timeout(&addr, timeout)
        .ok()
        .and_then(|mut s| {
            std::thread::sleep(after);
            // A server that gave up may have closed already: writing then fails, or
            // the read sees its close.
            let _ = s.write_all(line);
            read_until_close(s, Instant::now() + timeout)
        });
    LoadSeen::Late {
        control_answered,
        after_ms: after.as_millis() as u64,
        exchange: Exchange {
            sent: line.to_vec(),
            answered: reply.is_some(),
            reply: reply.unwrap_or_default(),
        },
    }
}

/// Up to `requests` requests one after another, each waiting up to `timeout` for its
/// reply, within [`VOLUME_BUDGET`]; stops at the first unanswered one. Counts the open
/// descriptors of process `pid` and its descendants before and after.
pub(super) fn volume(
    transport: Transport,
    port: u16,
    requests: usize,
    timeout: Duration,
    pid: u32,
) -> LoadSeen {
    let fds_before = open_descriptors(pid);
    let started = Instant::now();
    let udp = match transport {
        Transport::Udp => UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).ok(),
        Transport::Tcp => None,
    };
    let (mut sent, mut answered, mut unanswered_at) = (0, 0, None);
    while sent < requests && started.elapsed() < VOLUME_BUDGET {
        let line = framed_line(volume_line(sent).as_bytes(), transport);
        sent += 1;
        let got = match &udp {
            Some(s) => udp_request(s, port, &line, timeout),
            None => tcp_request(port, &line, timeout),
        };
        if got {
            answered += 1;
        } else {
            unanswered_at = Some(sent - 1);
            break;
        }
    }
    let ms = started.elapsed().as_millis() as u64;
    // A moment for descriptors being closed as the last connection ends.
    std::thread::sleep(Duration::from_millis(50));
    LoadSeen::Volume {
        requests,
        sent,
        answered,
        unanswered_at,
        fds_before,
        fds_after: open_descriptors(pid),
        ms,
    }
}

fn tcp_request(port: u16, line: &[u8], timeout: Duration) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut s) = TcpStream::connect_timeout(&addr, timeout) else {
        return false;
    };
    if s.write_all(line).is_err() {
        return false;
    }
    read_until_close(s, Instant::now() + timeout).is_some()
}

fn udp_request(s: &UdpSocket, port: u16, line: &[u8], timeout: Duration) -> bool {
    if s.send_to(line, (Ipv4Addr::LOCALHOST, port)).is_err() {
        return false;
    }
    let mut buf = vec![0u8; 65536];
    // The loop stops at the first unanswered request, so no late reply is pending.
    s.set_read_timeout(Some(timeout)).is_ok() && s.recv_from(&mut buf).is_ok()
}

/// The open descriptors of process `pid` and every process descended from it, from
/// `/proc`; `None` when they cannot be read.
pub fn open_descriptors(pid: u32) -> Option<usize> {
    let mut children: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(p) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if let Some(parent) = parent_of(p) {
            children.entry(parent).or_default().push(p);
        }
    }
    let (mut total, mut todo, mut seen) = (0, vec![pid], 0);
    while let Some(p) = todo.pop() {
        seen += 1;
        if seen > 10_000 {
            break;
        }
        total += std::fs::read_dir(format!("/proc/{p}/fd")).ok()?.count();
        todo.extend(children.get(&p).into_iter().flatten());
    }
    Some(total)
}

/// The parent of process `p`, from `/proc/p/stat` (after the command's closing `)`).
fn parent_of(p: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_lines_are_distinct_and_equally_long() {
        let lines: Vec<String> = (0..6).map(|i| concurrent_line(i, 6)).collect();
        assert!(lines.iter().all(|l| l.len() == lines[0].len()));
        let distinct: std::collections::BTreeSet<_> = lines.iter().collect();
        assert_eq!(distinct.len(), 6);
    }

    #[test]
    fn descriptors_of_this_process_are_counted_and_follow_an_open_file() {
        let me = std::process::id();
        let before = open_descriptors(me).unwrap();
        let files: Vec<_> = (0..200)
            .map(|_| std::fs::File::open("/proc/self/stat").unwrap())
            .collect();
        let after = open_descriptors(me).unwrap();
        // Other tests open and close files meanwhile: a margin, not an exact count.
        assert!(after >= before + 100, "{before} -> {after}");
        drop(files);
    }
}

//! Ports: leasing free ones that no other shout run will pick, and seeing when a
//! server has bound one, from the kernel's socket tables rather than by probing it. The
//! netlink dump is `sockdiag`'s; the `/proc` fallback and who holds a socket are here. It
//! never connects to a port or sends to one.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

pub use super::sockdiag::BoundSocket;
use crate::proto::Transport;

/// The range leased ports come from: below Linux's ephemeral range (32768–60999), so a
/// client's automatically chosen source port never takes a server's port.
const RANGE: std::ops::Range<u16> = 20000..32000;

/// A port reserved for this process until dropped: an exclusive `flock` on a file named
/// after it keeps other shout runs away, and it was free for both UDP and TCP when taken.
/// The lock file is removed when the lease ends (while still locked), so the folder
/// holds only the leases in use.
#[derive(Debug)]
pub struct PortLease {
    port: u16,
    _lock: File,
    path: PathBuf,
}

impl Drop for PortLease {
    fn drop(&mut self) {
        // Unlinked before the lock goes with the descriptor: a run that opened the old
        // file meanwhile sees it is no longer the one at this path, and tries again.
        if let Ok(mut held) = held().lock() {
            held.remove(&self.path);
        }
        let _ = fs::remove_file(&self.path);
    }
}

/// The lock files of the leases this process holds.
fn held() -> &'static std::sync::Mutex<std::collections::BTreeSet<PathBuf>> {
    static HELD: std::sync::OnceLock<std::sync::Mutex<std::collections::BTreeSet<PathBuf>>> =
        std::sync::OnceLock::new();
    HELD.get_or_init(Default::default)
}

/// Removes the lock files of every lease still held, for a process about to exit
/// without dropping them (on Ctrl-C); their locks go with the process. No lease can be
/// taken after this: the list stays locked until the process exits, and a lease makes its
/// file only while it holds that lock, so no thread leaves a file behind.
pub fn remove_held_locks() {
    let held = held().lock().unwrap_or_else(|p| p.into_inner());
    for path in held.iter() {
        let _ = fs::remove_file(path);
    }
    std::mem::forget(held);
}

impl PortLease {
    /// The leased port.
    pub fn port(&self) -> u16 {
        self.port
    }
}

fn lock_dir() -> PathBuf {
    std::env::temp_dir().join("shout-ports")
}

/// Creates the lock folder shared by every user's runs: writable by all and sticky, as
/// `/tmp` is, so that each user can add lock files and remove only their own.
fn shared_lock_dir() -> io::Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let dir = lock_dir();
    if !dir.is_dir() {
        fs::create_dir_all(&dir)?;
        // Only its creator can set this; a folder made by an older shout stays as it is.
        let _ = fs::set_permissions(&dir, fs::Permissions::from_mode(0o1777));
    }
    Ok(dir)
}

/// Leases a port that is free on all IPv4 and IPv6 addresses for UDP and TCP.
pub fn lease_port() -> io::Result<PortLease> {
    let dir = shared_lock_dir()?;
    let span = (RANGE.end - RANGE.start) as u64;
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
        ^ (std::process::id() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut x = seed | 1;
    // Every attempt, from making its file to listing it as held, under the list's lock:
    // an interrupt that removes the held files meanwhile would miss a file made outside.
    let mut held = held().lock().unwrap_or_else(|p| p.into_inner());
    for _ in 0..span {
        // xorshift: a cheap walk over the range in a per-process order.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let port = RANGE.start + (x % span) as u16;
        let path = dir.join(format!("{port}.lock"));
        let file = match OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
        {
            Ok(file) => file,
            // Another user's lease (their lock file is theirs alone): the port is taken.
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => continue,
            Err(e) => return Err(e),
        };
        // SAFETY: flock on a file descriptor we own.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            continue;
        }
        // The lease that held it may have removed the file between our open and lock:
        // the lock counts only on the file still at the path.
        if !same_file(&file, &path) {
            continue;
        }
        if is_free(port) {
            held.insert(path.clone());
            return Ok(PortLease {
                port,
                _lock: file,
                path,
            });
        }
        // Not ours to keep: leave no file for a port we do not hold.
        let _ = fs::remove_file(&path);
    }
    Err(io::Error::new(
        io::ErrorKind::AddrInUse,
        format!("no free port in {}..{}", RANGE.start, RANGE.end),
    ))
}

/// Whether `file` is the file now at `path` (same device and inode).
fn same_file(file: &File, path: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

fn is_free(port: u16) -> bool {
    bindable(libc::SOCK_DGRAM, port)
        && bindable(libc::SOCK_STREAM, port)
        && bound_sockets(Transport::Udp, port)
            .map(|v| v.is_empty())
            .unwrap_or(true)
        && bound_sockets(Transport::Tcp, port)
            .map(|v| v.is_empty())
            .unwrap_or(true)
}

/// Whether a socket of `kind` can bind `0.0.0.0:port` *without* `SO_REUSEADDR` (which
/// Rust's `TcpListener` sets): the way the textbook's servers bind, so a port with
/// connections still in `TIME_WAIT` counts as taken.
fn bindable(kind: libc::c_int, port: u16) -> bool {
    // SAFETY: socket/bind/close on a descriptor this function owns, with a zeroed,
    // correctly sized sockaddr_in.
    unsafe {
        let fd = libc::socket(libc::AF_INET, kind | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return false;
        }
        let mut addr: libc::sockaddr_in = std::mem::zeroed();
        addr.sin_family = libc::AF_INET as libc::sa_family_t;
        addr.sin_port = port.to_be();
        addr.sin_addr.s_addr = libc::INADDR_ANY;
        let ok = libc::bind(
            fd,
            (&addr as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        ) == 0;
        libc::close(fd);
        ok
    }
}

/// The sockets bound to `port` (every port when `port` is 0) for `transport` (TCP:
/// listening sockets only), asked of the kernel through netlink, or read from
/// `/proc/net/{udp,udp6,tcp,tcp6}` where netlink is unavailable.
pub fn bound_sockets(transport: Transport, port: u16) -> io::Result<Vec<BoundSocket>> {
    match super::sockdiag::bound(transport) {
        Ok(all) => Ok(all
            .into_iter()
            .filter(|s| port == 0 || s.port == port)
            .collect()),
        Err(_) => bound_sockets_from_proc(transport, port),
    }
}

fn bound_sockets_from_proc(transport: Transport, port: u16) -> io::Result<Vec<BoundSocket>> {
    let mut found = Vec::new();
    for (file, ipv6) in match transport {
        Transport::Udp => [("/proc/net/udp", false), ("/proc/net/udp6", true)],
        Transport::Tcp => [("/proc/net/tcp", false), ("/proc/net/tcp6", true)],
    } {
        let text = match fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound && ipv6 => continue,
            Err(e) => return Err(e),
        };
        for line in text.lines().skip(1) {
            if let Some(s) = parse_line(line, transport, ipv6) {
                if port == 0 || s.port == port {
                    found.push(s);
                }
            }
        }
    }
    Ok(found)
}

/// Parses one row: `sl local_address rem_address st … inode`.
fn parse_line(line: &str, transport: Transport, ipv6: bool) -> Option<BoundSocket> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let local = fields.get(1)?;
    let state = fields.get(3)?;
    let inode = fields.get(9)?.parse().ok()?;
    let port = u16::from_str_radix(local.rsplit(':').next()?, 16).ok()?;
    let wanted = match transport {
        Transport::Tcp => "0A", // TCP_LISTEN
        Transport::Udp => "07", // TCP_CLOSE: an unconnected, bound UDP socket
    };
    (*state == wanted).then_some(BoundSocket {
        port,
        inode,
        ipv6,
        queued: 0,
    })
}

/// The socket inodes process `pid` holds open.
pub fn socket_inodes(pid: u32) -> Vec<u64> {
    let Ok(entries) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| fs::read_link(e.path()).ok())
        .filter_map(|target| {
            let t = target.to_string_lossy();
            t.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
        })
        .collect()
}

/// The processes in process group `pgid` that descend from its leader (the process
/// shout started, whose pid is the group's id): the leader and its descendants, walked
/// through the kernel's children lists, kept when `/proc/PID/stat` names the group. A
/// walk reads a few files where a scan of `/proc` reads one per process on the machine,
/// and readiness polls it every few milliseconds.
pub fn group_members(pgid: u32) -> Vec<u32> {
    let mut members = Vec::new();
    let mut next = vec![pgid as i32];
    let mut seen = std::collections::BTreeSet::new();
    while let Some(pid) = next.pop() {
        if !seen.insert(pid) || seen.len() > 4096 {
            continue;
        }
        if group_of(pid) == Some(pgid) {
            members.push(pid as u32);
        }
        next.extend(crate::run::process::children_of(pid));
    }
    members
}

/// The process group of `pid`, from `/proc/PID/stat`.
fn group_of(pid: i32) -> Option<u32> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command: state ppid pgrp …
    let rest = &s[s.rfind(')')? + 2..];
    rest.split_whitespace().nth(2)?.parse::<u32>().ok()
}

/// The ports for `transport` that some process of group `pgid` has bound (UDP) or is
/// listening on (TCP), sorted.
pub fn ports_bound_by_group(transport: Transport, pgid: u32) -> io::Result<Vec<u16>> {
    let inodes: Vec<u64> = group_members(pgid)
        .into_iter()
        .flat_map(socket_inodes)
        .collect();
    if inodes.is_empty() {
        return Ok(Vec::new());
    }
    let mut ports: Vec<u16> = bound_sockets(transport, 0)?
        .into_iter()
        .filter(|s| inodes.contains(&s.inode))
        .map(|s| s.port)
        .collect();
    ports.sort_unstable();
    ports.dedup();
    Ok(ports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_listening_tcp_row() {
        let row = "   1: 00000000:2EE0 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0";
        assert_eq!(
            parse_line(row, Transport::Tcp, false),
            Some(BoundSocket {
                port: 12000,
                inode: 4242,
                ipv6: false,
                queued: 0,
            })
        );
        assert_eq!(parse_line(row, Transport::Udp, false), None);
    }

    #[test]
    fn sees_a_bound_udp_socket_and_who_owns_it() {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = s.local_addr().unwrap().port();
        let bound = bound_sockets(Transport::Udp, port).unwrap();
        assert_eq!(bound.len(), 1);
        assert!(socket_inodes(std::process::id()).contains(&bound[0].inode));
        assert_eq!(
            bound_sockets_from_proc(Transport::Udp, port).unwrap(),
            bound
        );
    }

    #[test]
    fn a_port_in_time_wait_is_not_free() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let (s, _) = l.accept().unwrap();
        // The side that closes first keeps the connection in TIME_WAIT.
        drop(s);
        drop(l);
        drop(c);
        assert!(!is_free(port), "port {port} has a connection in TIME_WAIT");
    }

    #[test]
    fn two_leases_never_share_a_port() {
        let a = lease_port().unwrap();
        let b = lease_port().unwrap();
        assert_ne!(a.port(), b.port());
        assert!(RANGE.contains(&a.port()));
    }
}

//! The kernel's socket tables through netlink `sock_diag`: asks only for listening TCP
//! sockets (or all UDP ones), so the answer stays small however many connections sit in
//! `TIME_WAIT`, unlike reading `/proc/net/tcp` in full. It only lists sockets: which
//! process holds one, and the `/proc` fallback, are `ports`' business (this file imports
//! nothing else of `run`).

use std::io;
use std::mem::size_of;

use crate::proto::Transport;

/// A socket the kernel lists as bound (UDP) or listening (TCP) on a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundSocket {
    /// The local port.
    pub port: u16,
    /// The socket's inode, to find its owner in `/proc/PID/fd`.
    pub inode: u64,
    /// Whether it came from the IPv6 table.
    pub ipv6: bool,
    /// A listening TCP socket: connections the kernel completed that wait for the
    /// program to accept them (0 where the table read does not say).
    pub queued: u32,
}

const NETLINK_SOCK_DIAG: libc::c_int = 4;
const SOCK_DIAG_BY_FAMILY: u16 = 20;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const TCP_LISTEN: u32 = 10;
/// Header sizes from `<linux/netlink.h>` and `<linux/inet_diag.h>`.
const NLMSG_HDR: usize = 16;
const SOCKID: usize = 48;
const DIAG_MSG: usize = 4 + SOCKID + 20;

/// A netlink socket closed on drop.
struct Netlink(libc::c_int);

impl Drop for Netlink {
    fn drop(&mut self) {
        // SAFETY: closing a descriptor this value owns.
        unsafe { libc::close(self.0) };
    }
}

/// Every listening TCP socket or bound UDP socket of this network namespace, for one
/// address family.
fn dump(transport: Transport, ipv6: bool) -> io::Result<Vec<BoundSocket>> {
    // SAFETY: plain socket(2) call; the descriptor is owned by `Netlink`.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
            NETLINK_SOCK_DIAG,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let sock = Netlink(fd);
    send(&sock, &request(transport, ipv6))?;
    receive(&sock, ipv6)
}

/// The dump request: one `inet_diag_req_v2` for `transport`'s bound states.
fn request(transport: Transport, ipv6: bool) -> Vec<u8> {
    let (protocol, states) = match transport {
        Transport::Tcp => (libc::IPPROTO_TCP as u8, 1u32 << TCP_LISTEN),
        // TCP_CLOSE: an unconnected, bound UDP socket.
        Transport::Udp => (libc::IPPROTO_UDP as u8, 1u32 << 7),
    };
    let family = if ipv6 { libc::AF_INET6 } else { libc::AF_INET } as u8;
    let len = NLMSG_HDR + 8 + SOCKID;
    let mut req = Vec::with_capacity(len);
    req.extend_from_slice(&(len as u32).to_ne_bytes());
    req.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    req.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    req.extend_from_slice(&1u32.to_ne_bytes()); // sequence
    req.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel fills it in
    req.extend_from_slice(&[family, protocol, 0, 0]);
    req.extend_from_slice(&states.to_ne_bytes());
    req.resize(len, 0); // a zero socket id: no filter beyond the states
    req
}

/// Sends `req` to the kernel.
fn send(sock: &Netlink, req: &[u8]) -> io::Result<()> {
    // SAFETY: a zeroed sockaddr_nl addresses the kernel.
    let mut kernel: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    kernel.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    // SAFETY: the buffer and address are valid for the given lengths.
    let sent = unsafe {
        libc::sendto(
            sock.0,
            req.as_ptr().cast(),
            req.len(),
            0,
            (&kernel as *const libc::sockaddr_nl).cast(),
            size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Reads the dump's replies until the kernel says it is done.
fn receive(sock: &Netlink, ipv6: bool) -> io::Result<Vec<BoundSocket>> {
    let mut found = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        // SAFETY: receiving into a buffer we own, within its length.
        let n = unsafe { libc::recv(sock.0, buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        let batch = &buf[..n as usize];
        if batch.is_empty() || read_batch(batch, ipv6, &mut found)? == Batch::Done {
            return Ok(found);
        }
    }
}

/// Whether a batch of replies ended the dump.
#[derive(Debug, PartialEq, Eq)]
enum Batch {
    Done,
    More,
}

/// Adds the sockets of one batch of netlink messages to `found`.
fn read_batch(mut rest: &[u8], ipv6: bool, found: &mut Vec<BoundSocket>) -> io::Result<Batch> {
    while rest.len() >= NLMSG_HDR {
        let msg_len = u32::from_ne_bytes(rest[0..4].try_into().unwrap_or_default()) as usize;
        let kind = u16::from_ne_bytes(rest[4..6].try_into().unwrap_or_default());
        if msg_len < NLMSG_HDR || msg_len > rest.len() {
            return Err(io::Error::other("malformed sock_diag reply"));
        }
        match kind {
            NLMSG_DONE => return Ok(Batch::Done),
            NLMSG_ERROR => {
                let code = rest
                    .get(NLMSG_HDR..NLMSG_HDR + 4)
                    .and_then(|b| b.try_into().ok())
                    .map(i32::from_ne_bytes)
                    .unwrap_or(0);
                return Err(io::Error::from_raw_os_error(-code));
            }
            SOCK_DIAG_BY_FAMILY => found.extend(parse(&rest[NLMSG_HDR..msg_len], ipv6)),
            _ => {}
        }
        // Messages are aligned to 4 bytes.
        let step = (msg_len + 3) & !3;
        rest = rest.get(step..).unwrap_or_default();
    }
    Ok(Batch::More)
}

/// One `inet_diag_msg`: family, state, timer, retrans, socket id (source port first, in
/// network order), expires, rqueue, wqueue, uid, inode.
fn parse(msg: &[u8], ipv6: bool) -> Option<BoundSocket> {
    if msg.len() < DIAG_MSG {
        return None;
    }
    let port = u16::from_be_bytes([msg[4], msg[5]]);
    let inode = u32::from_ne_bytes(msg[DIAG_MSG - 4..DIAG_MSG].try_into().ok()?);
    let queued = u32::from_ne_bytes(msg[4 + SOCKID + 4..4 + SOCKID + 8].try_into().ok()?);
    Some(BoundSocket {
        port,
        inode: u64::from(inode),
        ipv6,
        queued,
    })
}

/// How many connections wait to be accepted on the TCP listening sockets of `port` in
/// this network namespace; `None` when the table cannot be read or nothing listens.
pub fn accept_queue(port: u16) -> Option<u32> {
    let listening = bound(Transport::Tcp).ok()?;
    let on_port: Vec<u32> = listening
        .iter()
        .filter(|s| s.port == port)
        .map(|s| s.queued)
        .collect();
    (!on_port.is_empty()).then(|| on_port.iter().sum())
}

/// The listening TCP sockets or bound UDP sockets, IPv4 and IPv6, of this namespace.
pub fn bound(transport: Transport) -> io::Result<Vec<BoundSocket>> {
    let mut all = dump(transport, false)?;
    match dump(transport, true) {
        Ok(v6) => all.extend(v6),
        // A kernel without IPv6 has no IPv6 sockets to list.
        Err(e) if e.raw_os_error() == Some(libc::EAFNOSUPPORT) => {}
        Err(e) => return Err(e),
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::MetadataExt;

    use super::*;

    fn inode(fd: std::os::fd::RawFd) -> u64 {
        std::fs::metadata(format!("/proc/self/fd/{fd}"))
            .unwrap()
            .ino()
    }

    #[test]
    fn lists_a_listener_and_a_udp_socket_with_their_inodes() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let u = std::net::UdpSocket::bind("[::1]:0").unwrap();
        let tcp = bound(Transport::Tcp).unwrap();
        let udp = bound(Transport::Udp).unwrap();
        // The inodes of these two sockets, as the kernel reports them to `stat`.
        let mine = [inode(l.as_raw_fd()), inode(u.as_raw_fd())];
        let lp = l.local_addr().unwrap().port();
        let up = u.local_addr().unwrap().port();
        assert!(tcp
            .iter()
            .any(|s| s.port == lp && !s.ipv6 && mine.contains(&s.inode)));
        assert!(udp
            .iter()
            .any(|s| s.port == up && s.ipv6 && mine.contains(&s.inode)));
        // A connected TCP socket is not listening.
        let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let cp = c.local_addr().unwrap().port();
        assert!(!bound(Transport::Tcp).unwrap().iter().any(|s| s.port == cp));
    }

    /// One netlink message header with `kind`, followed by `body`.
    fn message(kind: u16, body: &[u8]) -> Vec<u8> {
        let mut m = ((NLMSG_HDR + body.len()) as u32).to_ne_bytes().to_vec();
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(&[0; NLMSG_HDR - 6]);
        m.extend_from_slice(body);
        m
    }

    #[test]
    fn a_batch_reads_sockets_until_the_kernel_says_done() {
        let mut msg = vec![0u8; DIAG_MSG];
        msg[4..6].copy_from_slice(&12000u16.to_be_bytes());
        msg[DIAG_MSG - 4..].copy_from_slice(&4242u32.to_ne_bytes());
        msg[4 + SOCKID + 4..4 + SOCKID + 8].copy_from_slice(&2u32.to_ne_bytes());
        let mut batch = message(SOCK_DIAG_BY_FAMILY, &msg);
        let mut found = Vec::new();
        assert_eq!(read_batch(&batch, true, &mut found).unwrap(), Batch::More);
        assert_eq!(
            found,
            vec![BoundSocket {
                port: 12000,
                inode: 4242,
                ipv6: true,
                queued: 2,
            }]
        );
        batch.extend(message(NLMSG_DONE, &[0; 4]));
        assert_eq!(read_batch(&batch, true, &mut found).unwrap(), Batch::Done);
        assert_eq!(found.len(), 2);
    }

    #[test]
    fn a_batch_reports_the_kernels_error_and_a_malformed_length() {
        let refused = message(NLMSG_ERROR, &(-libc::EPERM).to_ne_bytes());
        let e = read_batch(&refused, false, &mut Vec::new()).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EPERM));
        let mut short = message(NLMSG_DONE, &[]);
        short[0..4].copy_from_slice(&4u32.to_ne_bytes());
        assert!(read_batch(&short, false, &mut Vec::new()).is_err());
    }
}

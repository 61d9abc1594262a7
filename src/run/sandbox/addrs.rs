//! Addresses a client hardcodes (`192.168.0.123`, `10.0.0.117`, `fd00::7`) added to the
//! loopback interface of the calling thread's network namespace, through netlink
//! (`RTM_NEWADDR`, what `ip addr add ADDR dev lo` sends): in a namespace of the grader's
//! own, a packet to such an address then stays on `lo` and reaches whatever listens
//! there, and never the machine's real network.
//!
//! It changes only the calling thread's namespace; it starts no process.

use std::io;
use std::mem::size_of;
use std::net::IpAddr;

use super::sys::check;

const NLMSG_HDR: usize = 16;
const IFADDRMSG: usize = 8;
const NLMSG_ERROR: u16 = 2;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
/// No duplicate address detection: the address is usable at once.
const IFA_F_NODAD: u8 = 0x02;

/// Adds each of `addrs` to `lo` in the calling thread's network namespace, as a host
/// address (`/32`, `/128`). Addresses already there (`127.0.0.0/8` is all local on `lo`)
/// are left alone. Call it only in a namespace made for the purpose (see
/// [`enter_fresh_netns`](super::enter_fresh_netns)): in the machine's own, it would
/// capture traffic meant for that address.
pub fn add_loopback_addresses(addrs: &[IpAddr]) -> io::Result<()> {
    let wanted: Vec<&IpAddr> = addrs.iter().filter(|a| !a.is_loopback()).collect();
    if wanted.is_empty() {
        return Ok(());
    }
    // SAFETY: if_nametoindex(3) with a valid C string.
    let lo = unsafe { libc::if_nametoindex(c"lo".as_ptr()) };
    if lo == 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: plain socket(2) call; the descriptor is owned below.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_ROUTE,
        )
    };
    check(fd.into())?;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    // SAFETY: `fd` is a fresh descriptor that nothing else owns.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    for (seq, addr) in wanted.into_iter().enumerate() {
        let req = request(addr, lo, seq as u32 + 1);
        // SAFETY: a zeroed sockaddr_nl addresses the kernel.
        let mut kernel: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        kernel.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // SAFETY: the buffer and address are valid for the given lengths.
        let sent = unsafe {
            libc::sendto(
                sock.as_raw_fd(),
                req.as_ptr().cast(),
                req.len(),
                0,
                (&kernel as *const libc::sockaddr_nl).cast(),
                size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        check(sent as libc::c_long)?;
        acknowledged(sock.as_raw_fd())
            .map_err(|e| io::Error::new(e.kind(), format!("cannot add {addr} to lo: {e}")))?;
    }
    Ok(())
}

/// The `RTM_NEWADDR` request adding `addr` as a host address of interface `index`.
fn request(addr: &IpAddr, index: u32, seq: u32) -> Vec<u8> {
    let (family, prefix, bytes): (u8, u8, Vec<u8>) = match addr {
        IpAddr::V4(a) => (libc::AF_INET as u8, 32, a.octets().to_vec()),
        IpAddr::V6(a) => (libc::AF_INET6 as u8, 128, a.octets().to_vec()),
    };
    let attr_len = 4 + bytes.len();
    let len = NLMSG_HDR + IFADDRMSG + 2 * attr_len;
    let flags =
        (libc::NLM_F_REQUEST | libc::NLM_F_ACK | libc::NLM_F_CREATE | libc::NLM_F_EXCL) as u16;
    let mut req = Vec::with_capacity(len);
    req.extend_from_slice(&(len as u32).to_ne_bytes());
    req.extend_from_slice(&libc::RTM_NEWADDR.to_ne_bytes());
    req.extend_from_slice(&flags.to_ne_bytes());
    req.extend_from_slice(&seq.to_ne_bytes());
    req.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel fills it in
                                                // ifaddrmsg: family, prefix length, flags, scope (universe), interface index.
    req.extend_from_slice(&[family, prefix, IFA_F_NODAD, 0]);
    req.extend_from_slice(&index.to_ne_bytes());
    for kind in [IFA_LOCAL, IFA_ADDRESS] {
        req.extend_from_slice(&(attr_len as u16).to_ne_bytes());
        req.extend_from_slice(&kind.to_ne_bytes());
        req.extend_from_slice(&bytes); // 4 or 16 bytes: already aligned
    }
    req
}

/// Reads the kernel's answer to one request: `Ok` for an acknowledgement, the error it
/// carries otherwise (`EEXIST` counts as done).
fn acknowledged(fd: libc::c_int) -> io::Result<()> {
    let mut buf = [0u8; 1024];
    // SAFETY: receiving into a buffer we own, within its length.
    let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
    check(n as libc::c_long)?;
    let n = n as usize;
    let kind = (n >= NLMSG_HDR).then(|| u16::from_ne_bytes([buf[4], buf[5]]));
    if kind != Some(NLMSG_ERROR) || n < NLMSG_HDR + 4 {
        return Err(io::Error::other("netlink gave no acknowledgement"));
    }
    let code = i32::from_ne_bytes([buf[16], buf[17], buf[18], buf[19]]);
    match -code {
        0 | libc::EEXIST => Ok(()),
        errno => Err(io::Error::from_raw_os_error(errno)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_adds_a_host_address_to_the_interface() {
        let v4 = request(&"192.168.0.123".parse().unwrap(), 1, 7);
        assert_eq!(v4.len(), 16 + 8 + 2 * 8);
        assert_eq!(
            u32::from_ne_bytes(v4[0..4].try_into().unwrap()) as usize,
            v4.len()
        );
        assert_eq!(&v4[16..20], &[libc::AF_INET as u8, 32, IFA_F_NODAD, 0]);
        assert_eq!(&v4[28..32], &[192, 168, 0, 123]);
        let v6 = request(&"fd00::7".parse().unwrap(), 1, 8);
        assert_eq!(v6.len(), 16 + 8 + 2 * 20);
        assert_eq!(v6[17], 128);
    }

    #[test]
    fn a_lan_address_on_lo_in_a_namespace_of_our_own_answers_there() {
        // In a thread of its own, which alone enters the new namespace.
        let outcome = std::thread::spawn(|| {
            if super::super::enter_fresh_netns().is_err() {
                return None; // no network namespaces here (not root)
            }
            let addr: IpAddr = "10.0.0.117".parse().unwrap();
            add_loopback_addresses(&[addr, "127.0.0.1".parse().unwrap()]).unwrap();
            let server = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
            let port = server.local_addr().unwrap().port();
            let client = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
            client.send_to(b"hi", (addr, port)).unwrap();
            server
                .set_read_timeout(Some(std::time::Duration::from_secs(10)))
                .unwrap();
            let mut buf = [0u8; 8];
            let (n, from) = server.recv_from(&mut buf).unwrap();
            Some((buf[..n].to_vec(), from.ip()))
        })
        .join()
        .unwrap();
        if let Some((bytes, from)) = outcome {
            assert_eq!(bytes, b"hi");
            assert_eq!(from.to_string(), "10.0.0.117");
        }
    }
}

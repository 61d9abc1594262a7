//! The client-timing cases: a line typed a while after the client connected, and a
//! client started with nothing listening on its port. It arranges the moment and the
//! port and notes what it arranged; it never judges what the client did.

use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use super::observe::TimingSeen;
use super::peer::RecordingServer;
use super::process::{Finished, Running, Spawn};

/// The longest a late-line case waits for a client to connect before it types the line
/// anyway (a client that reads the keyboard before it connects never will).
const CONTACT_WAIT: Duration = Duration::from_secs(3);

/// How often the wait for the client's connection looks.
const POLL: Duration = Duration::from_millis(10);

/// Runs `spec`'s client, typing its line (`spec.stdin`) `late` after it connected to
/// `recorder`, and gives it `timeout` in all from the moment the line is typed.
pub(super) fn late_line(
    spec: &Spawn,
    recorder: &RecordingServer,
    late: Duration,
    timeout: Duration,
) -> io::Result<(Finished, TimingSeen)> {
    let (mut running, stdin) = Running::spawn_holding_stdin(spec)?;
    let started = running.started();
    let ms = |at: Instant| at.saturating_duration_since(started).as_millis() as u64;
    let contact_deadline = started + CONTACT_WAIT;
    while recorder.contacted_at().is_none()
        && running.exited().is_none()
        && Instant::now() < contact_deadline
    {
        std::thread::sleep(POLL);
    }
    let contacted = recorder.contacted_at();
    let type_at = contacted.map_or(Instant::now(), |c| c.max(started)) + late;
    while running.exited().is_none() && Instant::now() < type_at {
        std::thread::sleep(POLL.min(type_at.saturating_duration_since(Instant::now())));
    }
    let line_ms = match (running.exited(), stdin) {
        (None, Some(mut stdin)) => {
            let typed = Instant::now();
            // A client that closed its end of the pipe just gets nothing more.
            let _ = stdin.write_all(spec.stdin.as_deref().unwrap_or_default());
            drop(stdin);
            Some(ms(typed))
        }
        _ => None,
    };
    let seen = TimingSeen::Late {
        contacted_ms: contacted.map(ms),
        line_ms,
    };
    Ok((running.finish(timeout), seen))
}

/// A TCP port on 127.0.0.1 that is bound but not listening: a connection to it is
/// refused, and no other program can take the port while this is held.
pub(super) struct Unlistened {
    /// The bound socket; closed on drop.
    _socket: OwnedFd,
    /// Its port.
    pub port: u16,
}

impl Unlistened {
    /// Binds `port` (0: any free one) without listening.
    pub fn bind(port: u16) -> io::Result<Unlistened> {
        // SAFETY: plain socket calls on a descriptor this function owns; every pointer
        // passed points to a live local of the size given.
        unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            let socket = OwnedFd::from_raw_fd(fd);
            let mut addr: libc::sockaddr_in = std::mem::zeroed();
            addr.sin_family = libc::AF_INET as libc::sa_family_t;
            addr.sin_port = port.to_be();
            addr.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
            let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            let raw = socket.as_raw_fd();
            if libc::bind(raw, (&addr as *const libc::sockaddr_in).cast(), len) != 0 {
                return Err(io::Error::last_os_error());
            }
            let mut bound: libc::sockaddr_in = std::mem::zeroed();
            let mut bound_len = len;
            let got = (&mut bound as *mut libc::sockaddr_in).cast();
            if libc::getsockname(raw, got, &mut bound_len) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(Unlistened {
                _socket: socket,
                port: u16::from_be(bound.sin_port),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpStream;

    #[test]
    fn a_connection_to_an_unlistened_port_is_refused() {
        let port = Unlistened::bind(0).unwrap();
        assert_ne!(port.port, 0);
        let err = TcpStream::connect(("127.0.0.1", port.port)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    }
}

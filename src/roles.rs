//! The four roles as command-line programs: drop-in equivalents of the reference scripts.
//!
//! This is the only library module that binds ports or touches stdin/stdout for the
//! roles; the exchanges themselves live in [`crate::proto`].

use std::io::{self, BufRead, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use crate::proto::{self, Log, UnicodeVersion};

pub use crate::proto::{DEFAULT_PORT, PROMPT, READY_LINE, TCP_REPLY_PREFIX};

/// A role that could not do its job; `exit_code` follows the reference where it has one.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct RoleError {
    /// What went wrong and what to do about it.
    pub message: String,
    /// 1 where the reference script would also fail, 2 for setup problems (a port in use).
    pub exit_code: u8,
}

impl RoleError {
    fn new(exit_code: u8, message: impl Into<String>) -> Self {
        RoleError {
            message: message.into(),
            exit_code,
        }
    }
}

/// Settings shared by both servers.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The port to listen on.
    pub port: u16,
    /// The address to bind; `None` means all IPv4 interfaces, like the reference.
    pub bind: Option<IpAddr>,
    /// The case-mapping data.
    pub unicode: UnicodeVersion,
    /// TCP only: how long a silent connection is kept. Never zero: a server that could
    /// not time out would let silent clients hold its workers forever, so
    /// [`idle_timeout_from_secs`] rejects 0 and [`tcp_server`] refuses it.
    pub idle_timeout: Duration,
}

/// Validates `--idle-timeout SECONDS`: a positive, finite number of seconds of at
/// least a microsecond. Zero, negative, NaN, infinite and overflowing values are setup
/// errors (status 2); zero is not "never", because a silent client would then hold a
/// worker for good.
pub fn idle_timeout_from_secs(seconds: f64) -> Result<Duration, RoleError> {
    match Duration::try_from_secs_f64(seconds) {
        Ok(d) if d >= Duration::from_micros(1) => Ok(d),
        _ => Err(RoleError::new(
            2,
            format!(
                "--idle-timeout must be a positive number of seconds, got {seconds}; \
                 pass e.g. --idle-timeout 10 (the default)"
            ),
        )),
    }
}

impl ServerConfig {
    fn address(&self) -> SocketAddr {
        SocketAddr::new(
            self.bind.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            self.port,
        )
    }
}

fn bind_error(transport: &str, addr: SocketAddr, e: io::Error) -> RoleError {
    let hint = match e.kind() {
        io::ErrorKind::AddrInUse => {
            "the port is in use (another server?): stop that server or pass another PORT"
        }
        io::ErrorKind::AddrNotAvailable => "no interface has that address: pass another --bind",
        io::ErrorKind::PermissionDenied => {
            "ports below 1024 need privileges: pass a PORT of 1024 or more"
        }
        _ => "check PORT and --bind",
    };
    RoleError::new(
        2,
        format!("cannot listen on {transport} {addr}: {e}; {hint}"),
    )
}

fn stderr_log() -> Log {
    Arc::new(|line: &str| {
        let mut err = io::stderr().lock();
        let _ = writeln!(err, "shout: {line}");
    })
}

/// Exits the process with status 0 on SIGINT or SIGTERM (servers block in the kernel,
/// so a watcher thread is the simplest clean way out).
fn exit_on_signals() -> Result<(), RoleError> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])
        .map_err(|e| RoleError::new(2, format!("cannot install signal handlers: {e}")))?;
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            let _ = io::stdout().flush();
            std::process::exit(0);
        }
    });
    Ok(())
}

fn announce(out: &mut dyn Write) -> Result<(), RoleError> {
    writeln!(out, "{READY_LINE}")
        .and_then(|_| out.flush())
        .map_err(|e| RoleError::new(2, format!("cannot write the ready line: {e}")))
}

/// `shout udp-server`: binds, prints the ready line (flushed), serves until a signal.
pub fn udp_server(config: &ServerConfig, out: &mut dyn Write) -> Result<(), RoleError> {
    exit_on_signals()?;
    let addr = config.address();
    let socket = UdpSocket::bind(addr).map_err(|e| bind_error("UDP", addr, e))?;
    announce(out)?;
    proto::udp::serve(&socket, config.unicode, &stderr_log())
        .map_err(|e| RoleError::new(1, format!("UDP server stopped: {e}")))
}

/// `shout tcp-server`: binds, listens, prints the ready line (flushed), serves until a signal.
pub fn tcp_server(config: &ServerConfig, out: &mut dyn Write) -> Result<(), RoleError> {
    if config.idle_timeout.is_zero() {
        return Err(idle_timeout_from_secs(0.0).unwrap_err());
    }
    exit_on_signals()?;
    let addr = config.address();
    let listener = TcpListener::bind(addr).map_err(|e| bind_error("TCP", addr, e))?;
    announce(out)?;
    let options = proto::tcp::TcpServeOptions {
        version: config.unicode,
        idle_timeout: config.idle_timeout,
        workers: 8,
    };
    proto::tcp::serve(listener, options, stderr_log())
        .map_err(|e| RoleError::new(1, format!("TCP server stopped: {e}")))
}

/// Settings shared by both clients.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The server's host name or address (`localhost` by default, like the reference).
    pub host: String,
    /// The server's port.
    pub port: u16,
    /// How long to wait for the reply; `None` waits forever like the reference.
    pub timeout: Option<Duration>,
}

impl ClientConfig {
    /// Resolves the server like the reference (`AF_INET`), falling back to IPv6 so a
    /// server started with `--bind ::1` is reachable too.
    fn resolve(&self) -> Result<SocketAddr, RoleError> {
        let addrs: Vec<SocketAddr> = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|e| {
                RoleError::new(
                    1,
                    format!("cannot resolve server host `{}`: {e}", self.host),
                )
            })?
            .collect();
        addrs
            .iter()
            .find(|a| a.is_ipv4())
            .or_else(|| addrs.first())
            .copied()
            .ok_or_else(|| RoleError::new(1, format!("server host `{}` has no address", self.host)))
    }
}

/// Prints the prompt and reads one line the way Python's `input()` does on a pipe:
/// only the trailing `\n` is removed; end of input before any byte is an error.
fn prompt_line(input: &mut dyn BufRead, out: &mut dyn Write) -> Result<String, RoleError> {
    let io_err = |e: io::Error| RoleError::new(1, format!("cannot write to stdout: {e}"));
    out.write_all(PROMPT.as_bytes()).map_err(io_err)?;
    out.flush().map_err(io_err)?;
    let mut line = Vec::new();
    input
        .read_until(b'\n', &mut line)
        .map_err(|e| RoleError::new(1, format!("cannot read stdin: {e}")))?;
    if line.is_empty() {
        return Err(RoleError::new(
            1,
            "end of input before a line was typed; nothing sent",
        ));
    }
    if line.last() == Some(&b'\n') {
        line.pop();
    }
    String::from_utf8(line)
        .map_err(|_| RoleError::new(1, "the input line is not valid UTF-8; nothing sent"))
}

fn decode_reply(reply: Vec<u8>) -> Result<String, RoleError> {
    String::from_utf8(reply).map_err(|e| {
        RoleError::new(
            1,
            format!(
                "the server's reply is not valid UTF-8 (first bad byte at offset {}); nothing printed",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

/// Seconds as a person would write them: `30`, `0.5`, `1.25` (no rounding to whole seconds).
fn show_seconds(d: Duration) -> String {
    format!("{}", d.as_secs_f64())
}

fn reply_error(e: io::Error, config: &ClientConfig) -> RoleError {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => RoleError::new(
            1,
            match config.timeout {
                Some(t) => format!(
                    "no reply from {}:{} within {} s",
                    config.host,
                    config.port,
                    show_seconds(t)
                ),
                None => format!("no reply from {}:{}: {e}", config.host, config.port),
            },
        ),
        _ => RoleError::new(
            1,
            format!("exchange with {}:{} failed: {e}", config.host, config.port),
        ),
    }
}

/// `shout udp-client`: prompt, read a line, send it in one datagram, print the reply.
pub fn udp_client(
    config: &ClientConfig,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> Result<(), RoleError> {
    let line = prompt_line(input, out)?;
    let server = config.resolve()?;
    let local: SocketAddr = if server.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(local)
        .map_err(|e| RoleError::new(2, format!("cannot open a UDP socket: {e}")))?;
    let reply = proto::udp::request(&socket, server, line.as_bytes(), config.timeout)
        .map_err(|e| reply_error(e, config))?;
    let text = decode_reply(reply)?;
    writeln!(out, "{text}")
        .and_then(|_| out.flush())
        .map_err(|e| RoleError::new(1, format!("cannot write to stdout: {e}")))
}

/// `shout tcp-client`: connect, prompt, read a line, send it, print `From Server: ` and the reply.
pub fn tcp_client(
    config: &ClientConfig,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> Result<(), RoleError> {
    let server = config.resolve()?;
    let mut stream = TcpStream::connect(server).map_err(|e| {
        RoleError::new(
            1,
            format!(
                "cannot connect to {}:{} ({server}): {e}; is the server running?",
                config.host, config.port
            ),
        )
    })?;
    let line = prompt_line(input, out)?;
    let reply = proto::tcp::request(&mut stream, line.as_bytes(), config.timeout)
        .map_err(|e| reply_error(e, config))?;
    let text = decode_reply(reply)?;
    writeln!(out, "{TCP_REPLY_PREFIX}{text}")
        .and_then(|_| out.flush())
        .map_err(|e| RoleError::new(1, format!("cannot write to stdout: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_timeout_accepts_positive_seconds() {
        assert_eq!(
            idle_timeout_from_secs(10.0).unwrap(),
            Duration::from_secs(10)
        );
        assert_eq!(
            idle_timeout_from_secs(0.3).unwrap(),
            Duration::from_millis(300)
        );
    }

    #[test]
    fn idle_timeout_rejects_zero_negative_and_non_finite_seconds() {
        for bad in [0.0, -0.0, -1.0, 1e-9, f64::NAN, f64::INFINITY, 1e30] {
            let e = idle_timeout_from_secs(bad).expect_err(&bad.to_string());
            assert_eq!(e.exit_code, 2);
            assert!(e.message.contains("--idle-timeout"), "{}", e.message);
        }
    }

    #[test]
    fn tcp_server_refuses_a_zero_idle_timeout_before_binding() {
        let config = ServerConfig {
            port: 0,
            bind: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            unicode: UnicodeVersion::DEFAULT,
            idle_timeout: Duration::ZERO,
        };
        let mut out = Vec::new();
        let e = tcp_server(&config, &mut out).expect_err("a zero idle timeout is refused");
        assert_eq!(e.exit_code, 2);
        assert!(out.is_empty(), "no ready line: {out:?}");
    }

    #[test]
    fn timeouts_print_fractions_of_a_second() {
        let config = ClientConfig {
            host: "h".into(),
            port: 1,
            timeout: Some(Duration::from_millis(500)),
        };
        let e = reply_error(io::ErrorKind::WouldBlock.into(), &config);
        assert_eq!(e.message, "no reply from h:1 within 0.5 s");
        let config = ClientConfig {
            timeout: Some(Duration::from_secs(30)),
            ..config
        };
        let e = reply_error(io::ErrorKind::TimedOut.into(), &config);
        assert_eq!(e.message, "no reply from h:1 within 30 s");
    }
}

//! Shared test plumbing: finding interpreters, starting the roles, talking to servers and
//! standing in for them, reading the kernel's socket tables, bounded waits.

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use shout::proto::Transport;
use shout::run::ports::{lease_port, PortLease};
use shout::run::process::{Exit, Finished, Running, Spawn};
use shout::run::ready::wait_until_bound;

/// Every wait in these tests is bounded by this.
pub const WAIT: Duration = Duration::from_secs(20);

/// The prompt both reference clients print, without a newline.
pub const PROMPT: &str = "Input lowercase sentence:";

/// The line both reference servers print once listening (unbuffered, Python writes the
/// text and the newline in two writes, so wait for both).
pub const READY_LINE: &str = "The server is ready to receive\n";

/// How long a process must keep waiting before we call it "waiting forever".
pub const QUIET: Duration = Duration::from_millis(800);

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A reference script by file name, e.g. `UDPServer.py`.
pub fn reference(script: &str) -> PathBuf {
    root().join("reference").join(script)
}

/// The reference script of `role` (`Server` or `Client`) for `transport`.
pub fn script(transport: Transport, role: &str) -> PathBuf {
    reference(&format!("{}{role}.py", transport.as_str().to_uppercase()))
}

/// The `shout` binary under test.
pub fn shout_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_shout"))
}

/// The environment every reference script runs with: UTF-8 standard streams on every
/// CPython 3 (3.6 would otherwise use ASCII under the C locale).
pub fn python_env() -> Vec<(OsString, OsString)> {
    vec![
        ("LC_ALL".into(), "C.UTF-8".into()),
        ("PYTHONIOENCODING".into(), "utf-8".into()),
    ]
}

// ---------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------

/// What to start: `argv` with `env` on top of ours and `stdin` written to it (`None`:
/// `/dev/null`), keeping up to 1 MiB of each output stream.
fn spec(argv: Vec<OsString>, env: Vec<(OsString, OsString)>, stdin: Option<Vec<u8>>) -> Spawn {
    Spawn {
        argv,
        env,
        stdin,
        capture_limit: 1 << 20,
        ..Spawn::default()
    }
}

/// Starts `argv` in a process group of its own, with `env` on top of ours and `stdin`
/// written to it (`None`: `/dev/null`). Dropping the handle kills the group.
pub fn spawn(
    argv: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    stdin: Option<Vec<u8>>,
) -> Running {
    let spec = spec(argv, env, stdin);
    Running::spawn(&spec).unwrap_or_else(|e| panic!("cannot spawn {:?}: {e}", spec.argv))
}

/// Starts `argv` like [`spawn`], with its stdin held open and handed back: the test
/// types into it when it chooses.
pub fn spawn_holding_stdin(
    argv: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
) -> (Running, std::process::ChildStdin) {
    let spec = spec(argv, env, Some(Vec::new()));
    let (running, stdin) = Running::spawn_holding_stdin(&spec)
        .unwrap_or_else(|e| panic!("cannot spawn {:?}: {e}", spec.argv));
    (running, stdin.expect("a piped stdin"))
}

/// What `program args…` printed, if it started and exited 0 within [`WAIT`].
pub fn stdout_of(program: impl Into<OsString>, args: &[&str]) -> Option<String> {
    let mut argv = vec![program.into()];
    argv.extend(args.iter().map(OsString::from));
    let done = Running::spawn(&spec(argv, Vec::new(), None))
        .ok()?
        .finish(WAIT);
    (done.exit == Exit::Code(0)).then(|| text(&done.stdout.bytes))
}

/// `(name, value)` pairs as an environment for [`spawn`].
pub fn env_vars(env: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
    env.iter()
        .map(|(k, v)| (OsString::from(k), OsString::from(v)))
        .collect()
}

/// Polls what `process` printed until `done` holds for it; false if the process exits or
/// [`WAIT`] passes first.
pub fn wait_for_output(process: &mut Running, done: impl Fn(&[u8]) -> bool) -> bool {
    let deadline = Instant::now() + WAIT;
    loop {
        if done(&process.stdout_so_far()) {
            return true;
        }
        if process.exited().is_some() || Instant::now() >= deadline {
            return done(&process.stdout_so_far());
        }
        process.wait_timeout(Duration::from_millis(5));
    }
}

/// Polls what `process` printed until it contains `needle`; false if the process exits
/// or [`WAIT`] passes first.
pub fn wait_for_stdout(process: &mut Running, needle: &[u8]) -> bool {
    wait_for_output(process, |out| {
        out.windows(needle.len().max(1)).any(|w| w == needle)
    })
}

// ---------------------------------------------------------------------------------------
// Interpreters
// ---------------------------------------------------------------------------------------

/// A CPython 3 interpreter found on this machine.
#[derive(Debug, Clone)]
pub struct Python {
    /// The interpreter's path.
    pub path: PathBuf,
    /// `sys.version_info[:2]`, e.g. `3.11`.
    pub version: String,
    /// `unicodedata.unidata_version`, e.g. `14.0.0`.
    pub unicode: String,
}

impl Python {
    /// `(major, minor)` of [`Python::version`].
    pub fn minor_version(&self) -> (u32, u32) {
        major_minor(&self.version)
    }
}

/// `(major, minor)` of a dotted version such as `3.11` or `14.0.0` (0 where missing).
pub fn major_minor(version: &str) -> (u32, u32) {
    let mut it = version.split('.').map(|n| n.parse::<u32>().unwrap_or(0));
    (it.next().unwrap_or(0), it.next().unwrap_or(0))
}

fn probe(path: &Path) -> Option<Python> {
    let text = stdout_of(
        path,
        &[
            "-c",
            "import sys, unicodedata; print('%d.%d' % sys.version_info[:2], unicodedata.unidata_version)",
        ],
    )?;
    let mut words = text.split_whitespace();
    let version = words.next()?.to_string();
    let unicode = words.next()?.to_string();
    if !version.starts_with("3.") {
        return None;
    }
    Some(Python {
        path: path.to_path_buf(),
        version,
        unicode,
    })
}

/// The default `python3` (from `PATH`), found once per run and resolved through a pyenv
/// shim (a shell script) to the interpreter itself, so start-up is quick and signals
/// reach Python directly. Panics with what to install when missing.
pub fn python3() -> Python {
    static PYTHON: OnceLock<Python> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let path = which::which("python3")
                .expect("python3 is not on PATH: install CPython 3 (apt-get install python3)");
            let mut python = probe(&path).expect("python3 on PATH does not run as CPython 3");
            if let Some(exe) = stdout_of(&path, &["-c", "import sys; print(sys.executable)"]) {
                if !exe.trim().is_empty() {
                    python.path = PathBuf::from(exe.trim());
                }
            }
            python
        })
        .clone()
}

/// pyenv's root: `PYENV_ROOT`, what `pyenv root` says, or `~/.pyenv`.
pub fn pyenv_root() -> Option<PathBuf> {
    std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|| {
            stdout_of("pyenv", &["root"])
                .map(|root| PathBuf::from(root.trim()))
                .filter(|root| !root.as_os_str().is_empty())
        })
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pyenv")))
}

/// Every CPython 3 interpreter to test against, one per `major.minor`, oldest first;
/// found once per run.
///
/// `SHOUT_PYTHONS` (colon-separated paths) overrides discovery; otherwise the
/// interpreters under `$(pyenv root)/versions/*/bin/python3` plus `python3` on `PATH`.
pub fn python3_interpreters() -> Vec<Python> {
    static ALL: OnceLock<Vec<Python>> = OnceLock::new();
    ALL.get_or_init(find_python3_interpreters).clone()
}

fn find_python3_interpreters() -> Vec<Python> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Ok(list) = std::env::var("SHOUT_PYTHONS") {
        for p in list.split(':').filter(|p| !p.is_empty()) {
            let python = probe(Path::new(p)).unwrap_or_else(|| {
                panic!("SHOUT_PYTHONS names `{p}`, which is not a runnable CPython 3")
            });
            candidates.push(python.path);
        }
    } else {
        if let Some(root) = pyenv_root() {
            if let Ok(entries) = std::fs::read_dir(root.join("versions")) {
                for e in entries.flatten() {
                    let p = e.path().join("bin").join("python3");
                    if p.exists() {
                        candidates.push(p);
                    }
                }
            }
        }
        if let Ok(p) = which::which("python3") {
            candidates.push(p);
        }
    }
    let mut found: Vec<Python> = Vec::new();
    for c in candidates {
        if let Some(p) = probe(&c) {
            if !found.iter().any(|f| f.version == p.version) {
                found.push(p);
            }
        }
    }
    assert!(
        !found.is_empty(),
        "no CPython 3 interpreter found: install python3 or set SHOUT_PYTHONS"
    );
    found.sort_by_key(Python::minor_version);
    found
}

/// A working Python 2 interpreter, if one is installed (under pyenv, or `python2` on PATH).
pub fn python2() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(Ok(entries)) = pyenv_root().map(|p| std::fs::read_dir(p.join("versions"))) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with("2.") {
                candidates.push(e.path().join("bin").join("python"));
            }
        }
    }
    candidates.extend(which::which("python2").ok());
    candidates
        .into_iter()
        .find(|p| stdout_of(p, &["-c", "import sys; sys.exit(sys.version_info[0] != 2)"]).is_some())
}

// ---------------------------------------------------------------------------------------
// The roles
// ---------------------------------------------------------------------------------------

/// Which implementation plays a role.
#[derive(Debug, Clone)]
pub enum Side {
    /// A reference script under this interpreter.
    Python(Python),
    /// `shout`'s own role, with this `--unicode` for servers.
    Rust { unicode: String },
}

impl Side {
    /// The reference under the default `python3`.
    pub fn python() -> Side {
        Side::Python(python3())
    }

    /// The Rust role, with the Unicode version of the default `python3`.
    pub fn rust() -> Side {
        Side::Rust {
            unicode: python3().unicode,
        }
    }

    /// Both implementations of a role, reference first.
    pub fn both() -> [Side; 2] {
        [Side::python(), Side::rust()]
    }

    /// Whether this is a reference script.
    pub fn is_python(&self) -> bool {
        matches!(self, Side::Python(_))
    }

    /// A short name for messages.
    pub fn name(&self) -> String {
        match self {
            Side::Python(p) => format!("python{}", p.version),
            Side::Rust { .. } => "rust".into(),
        }
    }

    /// The command line and environment of `role` (`Server` or `Client`): the reference
    /// script with `args` then `extra` (and the UTF-8 environment of [`python_env`]), or
    /// `shout <transport>-<role>` with `args`, `--unicode` for servers, then `extra`.
    pub fn command(
        &self,
        transport: Transport,
        role: &str,
        args: &[String],
        extra: &[&str],
    ) -> (Vec<OsString>, Vec<(OsString, OsString)>) {
        match self {
            Side::Python(p) => {
                let mut argv: Vec<OsString> =
                    vec![p.path.clone().into(), script(transport, role).into()];
                argv.extend(args.iter().map(OsString::from));
                argv.extend(extra.iter().map(OsString::from));
                (argv, python_env())
            }
            Side::Rust { unicode } => {
                let mut argv: Vec<OsString> = vec![
                    shout_bin().into(),
                    format!("{transport}-{}", role.to_lowercase()).into(),
                ];
                argv.extend(args.iter().map(OsString::from));
                if role == "Server" {
                    argv.push("--unicode".into());
                    argv.push(unicode.into());
                }
                argv.extend(extra.iter().map(OsString::from));
                (argv, Vec::new())
            }
        }
    }
}

/// Starts `side`'s server on `port` with `extra` arguments and `env` on top of the
/// usual environment, without waiting for it to listen.
pub fn spawn_server(
    side: &Side,
    transport: Transport,
    port: u16,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Running {
    let (argv, mut base) = side.command(transport, "Server", &[port.to_string()], extra);
    base.extend(env_vars(env));
    spawn(argv, base, None)
}

/// A server on a port of its own; killed (with its group) when dropped.
pub struct Server {
    process: Option<Running>,
    /// The port it listens on.
    pub port: u16,
    /// Its transport.
    pub transport: Transport,
    name: String,
    _lease: PortLease,
}

impl Server {
    /// Starts `side`'s server and waits until the kernel shows it listening.
    pub fn start(side: &Side, transport: Transport) -> Server {
        Server::start_with(side, transport, &[], &[])
    }

    /// Like [`Server::start`], with `extra` arguments and `env` on top of the usual
    /// environment.
    pub fn start_with(
        side: &Side,
        transport: Transport,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Server {
        Server::start_command(transport, &side.name(), |port| {
            spawn_server(side, transport, port, extra, env)
        })
    }

    /// Starts the server `start` starts on the port it is given (one no TCP socket uses,
    /// see [`quiet_port`]) and waits until the kernel shows it listening there; `name`
    /// is for messages.
    pub fn start_command(
        transport: Transport,
        name: &str,
        start: impl FnOnce(u16) -> Running,
    ) -> Server {
        let (port, lease) = quiet_port();
        let mut process = start(port);
        if let Err(e) = wait_until_bound(&mut process, transport, port, WAIT) {
            let out = process.stop();
            panic!(
                "{name} {transport} server never listened on {port}: {e}\nstderr: {}",
                text(&out.stderr.bytes)
            );
        }
        Server {
            process: Some(process),
            port,
            transport,
            name: name.to_string(),
            _lease: lease,
        }
    }

    /// The running process; panics once stopped.
    pub fn process(&mut self) -> &mut Running {
        self.process.as_mut().expect("server process")
    }

    /// Whether the server process is still running.
    pub fn alive(&mut self) -> bool {
        self.process.as_mut().is_some_and(|p| p.exited().is_none())
    }

    /// Waits (at most [`WAIT`]) for the server to exit on its own.
    pub fn wait_exit(&mut self) -> Exit {
        let name = self.name.clone();
        self.process()
            .wait_timeout(WAIT)
            .unwrap_or_else(|| panic!("{name} server still running after {WAIT:?}"))
    }

    /// Sends `signal` to the server process.
    pub fn signal(&mut self, signal: i32) {
        let pid = self.process().pid() as i32;
        // SAFETY: kill(2) on a child we started and have not reaped.
        unsafe { libc::kill(pid, signal) };
    }

    /// Stops the server (if still running) and returns its output; the exit is what it
    /// did on its own, or `TimedOut` if we had to stop it. The port stays leased until
    /// the server is dropped.
    pub fn stop(&mut self) -> Finished {
        self.process.take().expect("server process").stop()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(p) = self.process.take() {
            p.stop();
        }
    }
}

/// Starts `side`'s client against `host:port` with `stdin`, `extra` arguments and `env`
/// on top of the usual environment.
pub fn spawn_client_to(
    side: &Side,
    transport: Transport,
    host: &str,
    port: u16,
    stdin: &[u8],
    extra: &[&str],
    env: &[(&str, &str)],
) -> Running {
    let (argv, mut base) = side.command(
        transport,
        "Client",
        &[host.to_string(), port.to_string()],
        extra,
    );
    base.extend(env_vars(env));
    spawn(argv, base, Some(stdin.to_vec()))
}

/// Starts `side`'s client against `127.0.0.1:port` with `stdin`.
pub fn spawn_client(side: &Side, transport: Transport, port: u16, stdin: &[u8]) -> Running {
    spawn_client_to(side, transport, "127.0.0.1", port, stdin, &[], &[])
}

/// Runs `side`'s client against `127.0.0.1:port` with `stdin` to its end (at most
/// [`WAIT`]).
pub fn run_client(side: &Side, transport: Transport, port: u16, stdin: &[u8]) -> Finished {
    spawn_client(side, transport, port, stdin).finish(WAIT)
}

/// What a client prints for `reply`: the prompt, then the reply (UDP bare, TCP after
/// `From Server: ` and print's separator space) and a newline.
pub fn printed(transport: Transport, reply: &[u8]) -> Vec<u8> {
    let mut out = PROMPT.as_bytes().to_vec();
    if transport == Transport::Tcp {
        out.extend_from_slice(b"From Server:  ");
    }
    out.extend_from_slice(reply);
    out.push(b'\n');
    out
}

// ---------------------------------------------------------------------------------------
// Messages and assertions
// ---------------------------------------------------------------------------------------

/// Escapes bytes for assertion messages.
pub fn show(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

/// Bytes as text, invalid UTF-8 replaced.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// How a process ended and what it printed, for assertion messages.
pub fn describe(who: &str, f: &Finished) -> String {
    format!(
        "{who}: {} after {:.2} s\nstdout: {}\nstderr: {}",
        f.exit,
        f.duration.as_secs_f64(),
        show(&f.stdout.bytes),
        text(&f.stderr.bytes)
    )
}

/// The client exited 0 and printed exactly `stdout`.
pub fn assert_printed(side: &Side, transport: Transport, f: &Finished, stdout: &[u8]) {
    let who = format!("{} {transport} client", side.name());
    assert_eq!(f.exit, Exit::Code(0), "{}", describe(&who, f));
    assert_eq!(show(&f.stdout.bytes), show(stdout), "{}", describe(&who, f));
}

/// The client failed with status 1 after printing exactly `stdout`; the reference's
/// traceback names `python_error`, shout's message starts `shout: error:`.
pub fn assert_failed(
    side: &Side,
    transport: Transport,
    f: &Finished,
    stdout: &str,
    python_error: &str,
) {
    let who = format!("{} {transport} client", side.name());
    assert_eq!(f.exit, Exit::Code(1), "{}", describe(&who, f));
    assert_eq!(text(&f.stdout.bytes), stdout, "{}", describe(&who, f));
    let stderr = text(&f.stderr.bytes);
    if side.is_python() {
        assert!(
            stderr.contains("Traceback (most recent call last)") && stderr.contains(python_error),
            "expected a {python_error} traceback\n{}",
            describe(&who, f)
        );
    } else {
        assert!(stderr.starts_with("shout: error:"), "{}", describe(&who, f));
    }
}

/// The server crashed the reference's way: status 1, a traceback naming `error`.
pub fn assert_crashed(server: &mut Server, error: &str) {
    let exit = server.wait_exit();
    let out = server.stop();
    let stderr = text(&out.stderr.bytes);
    assert_eq!(exit, Exit::Code(1), "server stderr: {stderr}");
    assert!(
        stderr.contains(error),
        "expected {error} in the server's stderr: {stderr}"
    );
}

/// `n` bytes of `A`.
pub fn upper_ascii(n: usize) -> Vec<u8> {
    vec![b'A'; n]
}

// ---------------------------------------------------------------------------------------
// Talking to servers
// ---------------------------------------------------------------------------------------

/// Retries `op` while a signal interrupts it. Socket calls with a timeout fail with
/// `EINTR` even under `SA_RESTART`, and some tests in this binary handle signals.
pub fn retry<T>(mut op: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    loop {
        match op() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// How a TCP exchange ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The server closed cleanly (FIN).
    Eof,
    /// The server reset the connection.
    Reset,
    /// Nothing more within the wait.
    Silent,
}

/// What a TCP exchange read, and how it ended.
#[derive(Debug)]
pub struct Talk {
    /// Every byte read before the end.
    pub bytes: Vec<u8>,
    /// How it ended.
    pub end: End,
}

/// Reads `stream` until the peer closes, resets, or stays silent for `wait`, keeping
/// what arrived before the end.
pub fn read_all(stream: &mut TcpStream, wait: Duration) -> Talk {
    stream.set_read_timeout(Some(wait)).unwrap();
    let mut bytes = Vec::new();
    let mut buf = [0u8; 65536];
    let end = loop {
        match stream.read(&mut buf) {
            Ok(0) => break End::Eof,
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => break End::Reset,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                break End::Silent
            }
            Err(e) => panic!("reading the reply failed: {e}"),
        }
    };
    Talk { bytes, end }
}

/// Connects to `127.0.0.1:port`, writes `request` (without shutting down our side), and
/// reads as [`read_all`] does. A server that resets the connection while a long request
/// is still being written ends the writing; what it sent before is still read.
pub fn tcp_talk(port: u16, request: &[u8], wait: Duration) -> Talk {
    let mut s = retry(|| TcpStream::connect(("127.0.0.1", port))).expect("connect");
    if let Err(e) = s.write_all(request) {
        let reset = matches!(
            e.kind(),
            io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
        );
        assert!(reset, "writing the request failed: {e}");
    }
    read_all(&mut s, wait)
}

/// [`tcp_talk`] where only a clean close counts: the bytes read, or the error (a reset,
/// or a timeout after `wait` of silence) that ended the read.
pub fn tcp_exchange(port: u16, request: &[u8], wait: Duration) -> io::Result<Vec<u8>> {
    let talk = tcp_talk(port, request, wait);
    match talk.end {
        End::Eof => Ok(talk.bytes),
        End::Reset => Err(io::ErrorKind::ConnectionReset.into()),
        End::Silent => Err(io::ErrorKind::TimedOut.into()),
    }
}

/// A UDP socket on 127.0.0.1 with an ephemeral port.
pub fn udp_socket() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").unwrap()
}

/// A TCP listener on 127.0.0.1 with an ephemeral port.
pub fn tcp_listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").unwrap()
}

/// Sends one datagram to `127.0.0.1:port` and waits up to `wait` for one reply (payload
/// and source).
pub fn udp_talk(port: u16, request: &[u8], wait: Duration) -> Option<(Vec<u8>, SocketAddr)> {
    let s = udp_socket();
    s.send_to(request, ("127.0.0.1", port)).unwrap();
    udp_reply(&s, wait)
}

/// [`udp_talk`] without the source: the reply, or `None` after `wait`.
pub fn udp_exchange(port: u16, request: &[u8], wait: Duration) -> Option<Vec<u8>> {
    udp_talk(port, request, wait).map(|(reply, _)| reply)
}

/// Waits up to `wait` for one datagram on `s` (payload and source).
pub fn udp_reply(s: &UdpSocket, wait: Duration) -> Option<(Vec<u8>, SocketAddr)> {
    let deadline = Instant::now() + wait;
    let mut buf = vec![0u8; 65536];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        s.set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .unwrap();
        match s.recv_from(&mut buf) {
            Ok((n, from)) => return Some((buf[..n].to_vec(), from)),
            Err(e) if e.kind() == io::ErrorKind::Interrupted && !left.is_zero() => continue,
            Err(_) => return None,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Standing in for a server
// ---------------------------------------------------------------------------------------

/// Receives one datagram on `socket` while `client` runs: `None` if the client exits
/// without sending (or [`WAIT`] passes).
pub fn udp_receive_while(
    socket: &UdpSocket,
    client: &mut Running,
) -> Option<(Vec<u8>, SocketAddr)> {
    let deadline = Instant::now() + WAIT;
    let mut buf = vec![0u8; 65536];
    socket
        .set_read_timeout(Some(Duration::from_millis(10)))
        .unwrap();
    loop {
        match socket.recv_from(&mut buf) {
            Ok((n, from)) => return Some((buf[..n].to_vec(), from)),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => panic!("recv_from: {e}"),
        }
        if client.exited().is_some() {
            // Anything sent before the exit is queued by now.
            socket.set_nonblocking(true).unwrap();
            let last = socket
                .recv_from(&mut buf)
                .ok()
                .map(|(n, from)| (buf[..n].to_vec(), from));
            socket.set_nonblocking(false).unwrap();
            return last;
        }
        if Instant::now() >= deadline {
            return None;
        }
    }
}

/// Accepts one connection on `listener` while `client` runs: `None` if the client exits
/// without connecting (or [`WAIT`] passes).
pub fn tcp_accept_while(listener: &TcpListener, client: &mut Running) -> Option<TcpStream> {
    let deadline = Instant::now() + WAIT;
    listener.set_nonblocking(true).unwrap();
    loop {
        let exited = client.exited().is_some();
        match listener.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false).unwrap();
                return Some(s);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => panic!("accept: {e}"),
        }
        if exited || Instant::now() >= deadline {
            return None;
        }
        client.wait_timeout(Duration::from_millis(5));
    }
}

// ---------------------------------------------------------------------------------------
// Ports and the kernel's socket tables
// ---------------------------------------------------------------------------------------

/// `TCP_ESTABLISHED` in `/proc/net/tcp`.
pub const TCP_ESTABLISHED: u8 = 0x01;
/// `TCP_TIME_WAIT` in `/proc/net/tcp`.
pub const TCP_TIME_WAIT: u8 = 0x06;
/// `TCP_LISTEN` in `/proc/net/tcp`.
pub const TCP_LISTEN: u8 = 0x0a;

/// One TCP socket as the kernel lists it in `/proc/net/tcp` or `/proc/net/tcp6`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpSocket {
    /// The local port.
    pub port: u16,
    /// The state (`TCP_LISTEN`, `TCP_TIME_WAIT`…).
    pub state: u8,
    /// `rx_queue`: bytes not yet read, or for a listening socket the connections waiting
    /// in its accept queue.
    pub rx_queue: u64,
}

/// Every TCP socket (IPv4 and IPv6) the kernel lists, in any state.
pub fn tcp_sockets() -> Vec<TcpSocket> {
    let mut found = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let port = fields
                .get(1)
                .and_then(|l| l.rsplit(':').next())
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            let state = fields.get(3).and_then(|s| u8::from_str_radix(s, 16).ok());
            let rx_queue = fields
                .get(4)
                .and_then(|q| q.split(':').nth(1))
                .and_then(|q| u64::from_str_radix(q, 16).ok());
            if let (Some(port), Some(state), Some(rx_queue)) = (port, state, rx_queue) {
                found.push(TcpSocket {
                    port,
                    state,
                    rx_queue,
                });
            }
        }
    }
    found
}

/// The TCP sockets the kernel lists on local `port`.
pub fn tcp_sockets_on(port: u16) -> Vec<TcpSocket> {
    tcp_sockets()
        .into_iter()
        .filter(|s| s.port == port)
        .collect()
}

/// A leased port no TCP socket uses in any state.
///
/// A lease alone can hand out a port still in TIME_WAIT from an `SO_REUSEADDR` socket
/// (a shout server's): the lease's own check binds with `SO_REUSEADDR` and succeeds, but
/// the reference TCP server binds without it and fails with `EADDRINUSE`.
pub fn quiet_port() -> (u16, PortLease) {
    let mut skipped = Vec::new();
    for _ in 0..256 {
        let lease = lease_port().expect("lease a port");
        let port = lease.port();
        if !tcp_sockets().iter().any(|s| s.port == port) {
            return (port, lease);
        }
        // Held until we return, so the same port is not offered again.
        skipped.push(lease);
    }
    panic!("no leased port was free of TCP sockets in 256 tries");
}

/// A CPython 3 that the unprivileged user 65534 can run (pyenv under root's home is not
/// one), if any.
pub fn python_for_nobody() -> Option<PathBuf> {
    ["/usr/bin/python3", "/usr/local/bin/python3"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| {
            std::process::Command::new("setpriv")
                .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(p)
                .args(["-c", "import sys; sys.exit(sys.version_info[0] != 3)"])
                .status()
                .is_ok_and(|s| s.success())
        })
}

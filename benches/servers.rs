//! Servers under load: requests per second and p50/p99 latency of the Rust servers, the
//! Python reference servers and a bare std-socket "ceiling", over UDP and TCP, with 1 and
//! 16 closed-loop clients, plus a silent TCP client next to 1 measuring client.
//!
//! Run with `cargo bench --bench servers`. Loopback only. Environment:
//!
//! - `SHOUT_BENCH_SECONDS`: measuring time per scenario (default 2; a 0.3 s warm-up precedes it).
//! - `SHOUT_BENCH_ONLY`: run only the scenarios whose name contains this text (e.g. `udp`).
//! - `SHOUT_BENCH_BIN`: a `shout` binary to measure instead of this crate's (to compare a
//!   prototype built elsewhere).
//!
//! Under `cargo test --all-targets` (no `--bench` argument) it does nothing, so tests stay quick.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use shout::proto::Transport;
use shout::run::ports::{group_members, lease_port, PortLease};
use shout::run::process::{Running, Spawn};
use shout::run::ready::wait_until_bound;

/// Warm-up before each measurement.
const WARMUP: Duration = Duration::from_millis(300);
/// Default measuring time per scenario.
const DEFAULT_SECONDS: f64 = 2.0;
/// Longest wait for one exchange (connect, reply); a timeout counts as a failure.
const REQUEST_TIMEOUT: Duration = Duration::from_millis(200);
/// Most requests one client thread makes in one measurement, whatever the time.
const MAX_REQUESTS_PER_CLIENT: u64 = 5_000_000;
/// Longest wait for a server to bind its port.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// The text every request starts with (a sequence number follows, so replies can be matched).
const REQUEST_TEXT: &str = "hello world, 안녕";
/// The concurrency levels measured.
const CONCURRENCY: [usize; 2] = [1, 16];

/// Which server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Impl {
    Ceiling,
    Rust,
    Reference,
}

impl Impl {
    const ALL: [Impl; 3] = [Impl::Ceiling, Impl::Rust, Impl::Reference];

    fn name(self) -> &'static str {
        match self {
            Impl::Ceiling => "ceiling",
            Impl::Rust => "rust",
            Impl::Reference => "reference",
        }
    }
}

/// Settings of one run.
struct Config {
    measure: Duration,
    only: Option<String>,
    rust_bin: PathBuf,
    root: PathBuf,
}

impl Config {
    fn from_env() -> Result<Config, String> {
        let seconds = match std::env::var("SHOUT_BENCH_SECONDS") {
            Ok(s) => s
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v > 0.0 && *v <= 600.0)
                .ok_or_else(|| {
                    format!(
                        "SHOUT_BENCH_SECONDS must be a number of seconds in (0, 600], not `{s}`"
                    )
                })?,
            Err(_) => DEFAULT_SECONDS,
        };
        let rust_bin = match std::env::var_os("SHOUT_BENCH_BIN") {
            Some(p) => PathBuf::from(p),
            None => PathBuf::from(env!("CARGO_BIN_EXE_shout")),
        };
        if !rust_bin.is_file() {
            return Err(format!("no shout binary at {}", rust_bin.display()));
        }
        Ok(Config {
            measure: Duration::from_secs_f64(seconds),
            only: std::env::var("SHOUT_BENCH_ONLY")
                .ok()
                .filter(|s| !s.is_empty()),
            rust_bin,
            root: PathBuf::from(env!("CARGO_MANIFEST_DIR")),
        })
    }

    fn wants(&self, scenario: &str) -> bool {
        match self.only.as_deref() {
            Some(filter) => scenario.contains(filter),
            None => true,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Servers

/// The in-process ceiling: the bare minimum a server of this protocol must do.
struct Ceiling {
    stop: Arc<AtomicBool>,
    transport: Transport,
    port: u16,
    thread: Option<JoinHandle<()>>,
}

impl Ceiling {
    fn start(transport: Transport, port: u16) -> io::Result<Ceiling> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = match transport {
            Transport::Udp => {
                let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, port))?;
                // A backstop so the thread always notices `stop`, even if the wake-up is lost.
                socket.set_read_timeout(Some(Duration::from_millis(100)))?;
                std::thread::spawn(move || ceiling_udp(&socket, &flag))
            }
            Transport::Tcp => {
                let listener = TcpListener::bind((Ipv4Addr::UNSPECIFIED, port))?;
                std::thread::spawn(move || ceiling_tcp(&listener, &flag))
            }
        };
        Ok(Ceiling {
            stop,
            transport,
            port,
            thread: Some(thread),
        })
    }
}

/// recv_from 2048, ASCII uppercase, send_to: one thread.
fn ceiling_udp(socket: &UdpSocket, stop: &AtomicBool) {
    let mut buf = [0u8; 2048];
    while !stop.load(Ordering::Relaxed) {
        let Ok((n, peer)) = socket.recv_from(&mut buf) else {
            continue;
        };
        if stop.load(Ordering::Relaxed) {
            break;
        }
        buf[..n].make_ascii_uppercase();
        let _ = socket.send_to(&buf[..n], peer);
    }
}

/// accept, one read of 1024, ASCII uppercase, write, close: one connection at a time.
fn ceiling_tcp(listener: &TcpListener, stop: &AtomicBool) {
    let mut buf = [0u8; 1024];
    while !stop.load(Ordering::Relaxed) {
        let Ok((mut stream, _)) = listener.accept() else {
            continue;
        };
        if stop.load(Ordering::Relaxed) {
            break;
        }
        // A bound on a silent peer (none is sent here); not on the measured path.
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        if let Ok(n) = stream.read(&mut buf) {
            buf[..n].make_ascii_uppercase();
            let _ = stream.write_all(&buf[..n]);
        }
    }
}

impl Drop for Ceiling {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        // Wake the thread out of its blocking call.
        match self.transport {
            Transport::Udp => {
                if let Ok(s) = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)) {
                    let _ = s.send_to(b"stop", addr);
                }
            }
            Transport::Tcp => {
                let _ = TcpStream::connect_timeout(&addr, Duration::from_secs(1));
            }
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

enum ServerKind {
    Process(Running),
    Ceiling(Ceiling),
}

/// A server listening on a leased port; stopped (its whole process group killed, or its
/// thread joined) when dropped.
struct Server {
    port: u16,
    kind: ServerKind,
    _lease: PortLease,
}

impl Server {
    fn start(
        config: &Config,
        which: Impl,
        transport: Transport,
        pgids: &mut Vec<u32>,
    ) -> Result<Server, String> {
        let lease = lease_port().map_err(|e| format!("cannot lease a port: {e}"))?;
        let port = lease.port();
        let kind = match which {
            Impl::Ceiling => ServerKind::Ceiling(
                Ceiling::start(transport, port)
                    .map_err(|e| format!("ceiling {transport} server: {e}"))?,
            ),
            Impl::Rust | Impl::Reference => {
                let argv: Vec<OsString> = match which {
                    Impl::Rust => vec![
                        config.rust_bin.clone().into(),
                        format!("{transport}-server").into(),
                        port.to_string().into(),
                    ],
                    _ => {
                        let script = match transport {
                            Transport::Udp => "UDPServer.py",
                            Transport::Tcp => "TCPServer.py",
                        };
                        vec![
                            "python3".into(),
                            config.root.join("reference").join(script).into(),
                            port.to_string().into(),
                        ]
                    }
                };
                let spec = Spawn {
                    argv,
                    cwd: Some(config.root.clone()),
                    env: vec![("LC_ALL".into(), "C.UTF-8".into())],
                    stdin: None,
                    capture_limit: 64 * 1024,
                };
                let mut running = Running::spawn(&spec)
                    .map_err(|e| format!("cannot start {}: {e}", which.name()))?;
                pgids.push(running.pid());
                if let Err(e) = wait_until_bound(&mut running, transport, port, READY_TIMEOUT) {
                    let out = running.stop();
                    return Err(format!(
                        "{} {transport} server: {e}; stderr: {}",
                        which.name(),
                        String::from_utf8_lossy(&out.stderr.bytes).trim()
                    ));
                }
                ServerKind::Process(running)
            }
        };
        Ok(Server {
            port,
            kind,
            _lease: lease,
        })
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// Stops the server; complains if a process died on its own during the measurement.
    fn stop(self) -> Option<String> {
        match self.kind {
            ServerKind::Process(mut running) => {
                let died = running.exited();
                let out = running.stop();
                died.map(|exit| {
                    format!(
                        "server exited during the run ({exit}); stderr: {}",
                        String::from_utf8_lossy(&out.stderr.bytes).trim()
                    )
                })
            }
            ServerKind::Ceiling(ceiling) => {
                drop(ceiling);
                None
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Clients

/// One closed-loop client's results inside the measuring window.
#[derive(Default)]
struct ClientResult {
    ok: u64,
    failed: u64,
    latencies_ns: Vec<u64>,
}

/// A measurement over all clients.
struct Stats {
    ok: u64,
    failed: u64,
    seconds: f64,
    p50_us: Option<f64>,
    p99_us: Option<f64>,
}

impl Stats {
    fn rps(&self) -> f64 {
        self.ok as f64 / self.seconds
    }
}

/// Writes request number `seq` of client `client` and its expected reply.
fn make_request(client: usize, seq: u64, request: &mut Vec<u8>, expected: &mut Vec<u8>) {
    request.clear();
    expected.clear();
    let _ = write!(request, "{REQUEST_TEXT} #{client}-{seq}");
    // The text has no lowercase outside ASCII (Hangul has no case), so the reply is exact.
    expected.extend_from_slice(request);
    expected.make_ascii_uppercase();
}

/// One UDP exchange on a connected socket whose read timeout is `REQUEST_TIMEOUT`;
/// replies to earlier (timed-out) requests are skipped.
fn udp_exchange(socket: &UdpSocket, request: &[u8], expected: &[u8], buf: &mut [u8]) -> bool {
    if socket.send(request).is_err() {
        return false;
    }
    let deadline = Instant::now() + REQUEST_TIMEOUT;
    loop {
        match socket.recv(buf) {
            Ok(n) if &buf[..n] == expected => return true,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
        // A stale or wrong reply: wait for the right one, until the deadline.
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || socket.set_read_timeout(Some(left)).is_err() {
            return false;
        }
    }
}

/// One TCP exchange: connect, one write, read to the server's close, compare.
fn tcp_exchange(addr: SocketAddr, request: &[u8], expected: &[u8], buf: &mut [u8]) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, REQUEST_TIMEOUT) else {
        return false;
    };
    let deadline = Instant::now() + REQUEST_TIMEOUT;
    if stream.set_read_timeout(Some(REQUEST_TIMEOUT)).is_err() || stream.write_all(request).is_err()
    {
        return false;
    }
    let mut got = 0;
    loop {
        if got == buf.len() {
            return false;
        }
        match stream.read(&mut buf[got..]) {
            Ok(0) => return &buf[..got] == expected,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
        if Instant::now() >= deadline {
            return false;
        }
    }
}

fn client_loop(
    transport: Transport,
    addr: SocketAddr,
    client: usize,
    warm_end: Instant,
    end: Instant,
) -> ClientResult {
    let mut result = ClientResult::default();
    let mut request = Vec::with_capacity(64);
    let mut expected = Vec::with_capacity(64);
    let mut buf = [0u8; 2048];
    let udp = match transport {
        Transport::Udp => {
            let s = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).and_then(|s| {
                s.connect(addr)?;
                s.set_read_timeout(Some(REQUEST_TIMEOUT))?;
                Ok(s)
            });
            match s {
                Ok(s) => Some(s),
                Err(_) => {
                    result.failed += 1;
                    return result;
                }
            }
        }
        Transport::Tcp => None,
    };
    for seq in 0..MAX_REQUESTS_PER_CLIENT {
        let started = Instant::now();
        if started >= end {
            break;
        }
        make_request(client, seq, &mut request, &mut expected);
        let ok = match &udp {
            Some(socket) => {
                let ok = udp_exchange(socket, &request, &expected, &mut buf);
                if !ok {
                    // Restore the plain timeout a stale-reply wait may have shortened.
                    let _ = socket.set_read_timeout(Some(REQUEST_TIMEOUT));
                }
                ok
            }
            None => tcp_exchange(addr, &request, &expected, &mut buf),
        };
        if started < warm_end {
            continue;
        }
        if ok {
            result.ok += 1;
            result
                .latencies_ns
                .push(started.elapsed().as_nanos() as u64);
        } else {
            result.failed += 1;
        }
    }
    result
}

/// Runs `clients` closed-loop clients against `addr` for the warm-up plus `measure`.
fn measure(transport: Transport, addr: SocketAddr, clients: usize, measure: Duration) -> Stats {
    let start = Instant::now();
    let warm_end = start + WARMUP;
    let end = warm_end + measure;
    let results: Vec<ClientResult> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..clients)
            .map(|c| scope.spawn(move || client_loop(transport, addr, c, warm_end, end)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut latencies: Vec<u64> = Vec::new();
    let (mut ok, mut failed) = (0, 0);
    for r in results {
        ok += r.ok;
        failed += r.failed;
        latencies.extend(r.latencies_ns);
    }
    latencies.sort_unstable();
    let pct = |p: usize| -> Option<f64> {
        (!latencies.is_empty())
            .then(|| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)] as f64 / 1e3)
    };
    Stats {
        ok,
        failed,
        seconds: measure.as_secs_f64(),
        p50_us: pct(50),
        p99_us: pct(99),
    }
}

// ---------------------------------------------------------------------------------------
// The run

struct Row {
    scenario: String,
    stats: Stats,
    note: Option<String>,
}

fn run_plain(
    config: &Config,
    transport: Transport,
    which: Impl,
    clients: usize,
    pgids: &mut Vec<u32>,
) -> Result<Row, String> {
    let scenario = format!("{transport} {} x{clients}", which.name());
    eprintln!("bench: {scenario} ...");
    let server = Server::start(config, which, transport, pgids)?;
    let stats = measure(transport, server.addr(), clients, config.measure);
    let note = server.stop();
    Ok(Row {
        scenario,
        stats,
        note,
    })
}

/// One server: 1 client alone, then 1 client while a silent client holds a connection.
fn run_silent(config: &Config, which: Impl, pgids: &mut Vec<u32>) -> Result<(Row, Row), String> {
    let base = format!("tcp {} x1 (silent baseline)", which.name());
    let with = format!("tcp {} x1 + 1 silent", which.name());
    eprintln!("bench: {with} ...");
    let server = Server::start(config, which, Transport::Tcp, pgids)?;
    let before = measure(Transport::Tcp, server.addr(), 1, config.measure);
    // Connects and sends nothing; held open for the whole measurement.
    let silent = TcpStream::connect_timeout(&server.addr(), Duration::from_secs(1))
        .map_err(|e| format!("silent client cannot connect: {e}"))?;
    let after = measure(Transport::Tcp, server.addr(), 1, config.measure);
    drop(silent);
    let note = server.stop();
    Ok((
        Row {
            scenario: base,
            stats: before,
            note: None,
        },
        Row {
            scenario: with,
            stats: after,
            note,
        },
    ))
}

fn fmt_us(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.0}")).unwrap_or_else(|| "-".into())
}

fn ratio(a: Option<&Row>, b: Option<&Row>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b.stats.rps() > 0.0 => {
            format!("{:.2}", a.stats.rps() / b.stats.rps())
        }
        (Some(_), Some(_)) => "∞ (denominator 0 req/s)".into(),
        _ => "-".into(),
    }
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("servers: a benchmark; run it with `cargo bench --bench servers`");
        return;
    }
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("servers: {e}");
            std::process::exit(2);
        }
    };
    let mut pgids = Vec::new();
    let mut rows: Vec<Row> = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    for transport in Transport::ALL {
        for clients in CONCURRENCY {
            for which in Impl::ALL {
                if !config.wants(&format!("{transport} {} x{clients}", which.name())) {
                    continue;
                }
                match run_plain(&config, transport, which, clients, &mut pgids) {
                    Ok(row) => rows.push(row),
                    Err(e) => errors.push(e),
                }
            }
        }
    }
    for which in [Impl::Rust, Impl::Reference] {
        if !config.wants(&format!("tcp {} x1 + 1 silent", which.name())) {
            continue;
        }
        match run_silent(&config, which, &mut pgids) {
            Ok((a, b)) => rows.extend([a, b]),
            Err(e) => errors.push(e),
        }
    }

    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n{:.1} s per measurement after a {:.1} s warm-up; request timeout {} ms; {} CPUs\n",
        config.measure.as_secs_f64(),
        WARMUP.as_secs_f64(),
        REQUEST_TIMEOUT.as_millis(),
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    let _ = writeln!(out, "| scenario | req/s | p50 µs | p99 µs | failed |");
    let _ = writeln!(out, "|---|---:|---:|---:|---:|");
    for r in &rows {
        let _ = writeln!(
            out,
            "| {} | {:.0} | {} | {} | {} |",
            r.scenario,
            r.stats.rps(),
            fmt_us(r.stats.p50_us),
            fmt_us(r.stats.p99_us),
            r.stats.failed
        );
    }
    let find = |name: String| rows.iter().find(|r| r.scenario == name);
    let _ = writeln!(
        out,
        "\n| transport × clients | rust/ceiling | rust/reference |"
    );
    let _ = writeln!(out, "|---|---:|---:|");
    for transport in Transport::ALL {
        for clients in CONCURRENCY {
            let rust = find(format!("{transport} rust x{clients}"));
            if rust.is_none() {
                continue;
            }
            let _ = writeln!(
                out,
                "| {transport} ×{clients} | {} | {} |",
                ratio(rust, find(format!("{transport} ceiling x{clients}"))),
                ratio(rust, find(format!("{transport} reference x{clients}")))
            );
        }
    }
    let mut silent_header = false;
    for which in [Impl::Rust, Impl::Reference] {
        let base = find(format!("tcp {} x1 (silent baseline)", which.name()));
        let with = find(format!("tcp {} x1 + 1 silent", which.name()));
        if let (Some(b), Some(w)) = (base, with) {
            if !silent_header {
                let _ = writeln!(
                    out,
                    "\n| tcp ×1 with 1 silent client | req/s before | req/s with | with/before |"
                );
                let _ = writeln!(out, "|---|---:|---:|---:|");
                silent_header = true;
            }
            let _ = writeln!(
                out,
                "| {} | {:.0} | {:.0} | {} |",
                which.name(),
                b.stats.rps(),
                w.stats.rps(),
                ratio(Some(w), Some(b))
            );
        }
    }
    for r in &rows {
        if let Some(note) = &r.note {
            let _ = writeln!(out, "\nnote: {}: {note}", r.scenario);
        }
    }
    print!("{out}");

    // Every server process group must be gone.
    let lingering: Vec<u32> = pgids
        .iter()
        .copied()
        .filter(|&g| !group_members(g).is_empty())
        .collect();
    if lingering.is_empty() {
        println!("\nall {} server process groups are gone", pgids.len());
    } else {
        errors.push(format!("process groups still alive: {lingering:?}"));
    }
    if !errors.is_empty() {
        for e in &errors {
            eprintln!("servers: error: {e}");
        }
        std::process::exit(1);
    }
}

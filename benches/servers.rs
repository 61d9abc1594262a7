//! Servers under load: requests per second and p50/p99 latency of the Rust servers, the
//! Python reference servers and a bare std-socket "ceiling", over UDP and TCP, with 1 and
//! 16 closed-loop clients, plus a silent TCP client next to 1 measuring client.
//!
//! Run with `cargo bench --bench servers`. Loopback only. See docs/BENCHMARKS.md.
//!
//! Environment:
//!
//! - `SHOUT_BENCH_SECONDS`: measuring time per scenario (default 2), after a 0.3 s warm-up.
//! - `SHOUT_BENCH_ONLY`: a regular expression; run only the scenarios whose name it matches
//!   somewhere (`udp`, `x16`, `tcp (rust|alt) x1$`).
//! - `SHOUT_BENCH_PLACEMENT`: `shared` (the default), `split` or `all`: the CPU placements.
//! - `SHOUT_BENCH_BIN`: a `shout` binary to measure as `rust` instead of this crate's.
//! - `SHOUT_BENCH_ALT_BIN`: a second `shout` binary (a prototype built elsewhere), measured
//!   as `alt` in the same run, interleaved with the others.
//!
//! Fairness on a small, shared machine:
//!
//! - Clients and servers are pinned to CPUs, because where the scheduler happens to put them
//!   otherwise decides the result more than the server does (a same-CPU exchange takes 5 µs,
//!   a cross-CPU one 60 µs). `shared` pins clients and server to one CPU: every exchange pays
//!   the whole CPU cost of both ends. `split` (opt-in) pins the server to a second CPU and the
//!   clients to the first; it only means something on an otherwise idle machine, since a
//!   pinned server cannot move away from other work on its CPU.
//! - The server's own CPU time per request (from the kernel's per-thread accounting) is
//!   reported next to req/s: it is the least noisy measure of what a server costs.
//! - The servers compared in a scenario run side by side and are measured in interleaved
//!   rounds (the order rotating), so load from elsewhere on the machine falls on all alike.
//!
//! Under `cargo test --all-targets` (no `--bench` argument) it does nothing.

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
use shout::run::process::{kill_all, Running, Spawn};
use shout::run::ready::wait_until_bound;

/// Warm-up of each server before its first round.
const WARMUP: Duration = Duration::from_millis(300);
/// Default measuring time per scenario (split into `ROUNDS` slices).
const DEFAULT_SECONDS: f64 = 2.0;
/// Interleaved rounds per scenario.
const ROUNDS: u32 = 8;
/// Un-counted run-in before each slice, so a slice starts in the steady state.
const RUN_IN: Duration = Duration::from_millis(30);
/// Longest wait for one exchange (connect, reply); a timeout counts as a failure.
const REQUEST_TIMEOUT: Duration = Duration::from_millis(200);
/// Most requests one client thread makes in one slice, whatever the time.
const MAX_REQUESTS_PER_CLIENT: u64 = 5_000_000;
/// Longest wait for a server to bind its port.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// The text every request starts with (a sequence number follows, so replies can be matched).
const REQUEST_TEXT: &str = "hello world, 안녕";
/// The concurrency levels measured.
const CONCURRENCY: [usize; 2] = [1, 16];
/// Set in the environment of the bench's own binary re-run as the `ceiling-proc` server.
const CEILING_CHILD_ENV: &str = "SHOUT_BENCH_CEILING_CHILD";

/// Which server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Impl {
    /// The bare server on a thread of this process.
    Ceiling,
    /// The same bare server in a process of its own (as the Rust server is).
    CeilingProc,
    /// `shout udp-server` / `shout tcp-server`.
    Rust,
    /// The same from `SHOUT_BENCH_ALT_BIN`.
    Alt,
    /// `reference/UDPServer.py` / `reference/TCPServer.py`.
    Reference,
}

impl Impl {
    fn name(self) -> &'static str {
        match self {
            Impl::Ceiling => "ceiling",
            Impl::CeilingProc => "ceiling-proc",
            Impl::Rust => "rust",
            Impl::Alt => "alt",
            Impl::Reference => "reference",
        }
    }
}

/// Settings of one run.
struct Config {
    measure: Duration,
    only: Option<regex::Regex>,
    placements: Vec<Placement>,
    rust_bin: PathBuf,
    alt_bin: Option<PathBuf>,
    self_exe: PathBuf,
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
                    format!("SHOUT_BENCH_SECONDS must be seconds in (0, 600], not `{s}`")
                })?,
            Err(_) => DEFAULT_SECONDS,
        };
        let binary = |var: &str| -> Result<Option<PathBuf>, String> {
            match std::env::var_os(var) {
                Some(p) if PathBuf::from(&p).is_file() => Ok(Some(PathBuf::from(p))),
                Some(p) => Err(format!("{var}: no file at {}", PathBuf::from(p).display())),
                None => Ok(None),
            }
        };
        let rust_bin = binary("SHOUT_BENCH_BIN")?
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_shout")));
        let alt_bin = binary("SHOUT_BENCH_ALT_BIN")?;
        let self_exe = std::env::current_exe()
            .map_err(|e| format!("cannot find the bench's own executable: {e}"))?;

        let only = match std::env::var("SHOUT_BENCH_ONLY") {
            Ok(s) if !s.is_empty() => {
                Some(regex::Regex::new(&s).map_err(|e| format!("SHOUT_BENCH_ONLY: {e}"))?)
            }
            _ => None,
        };
        let cpus = allowed_cpus();
        let first = *cpus.first().ok_or("no CPU is allowed for this process")?;
        let mut placements = vec![Placement {
            name: "shared",
            all: cpus.clone(),
            server: first,
            clients: first,
        }];
        if let Some(&second) = cpus.get(1) {
            placements.push(Placement {
                name: "split",
                all: cpus.clone(),
                server: second,
                clients: first,
            });
        }
        let wanted = std::env::var("SHOUT_BENCH_PLACEMENT").unwrap_or_else(|_| "shared".into());
        let wanted = wanted.trim();
        if wanted != "all" {
            placements.retain(|p| p.name == wanted);
        }
        if placements.is_empty() {
            return Err(format!(
                "SHOUT_BENCH_PLACEMENT must be `shared`, `split` or `all` (split needs 2 CPUs), not `{wanted}`"
            ));
        }
        Ok(Config {
            measure: Duration::from_secs_f64(seconds),
            only,
            placements,
            rust_bin,
            alt_bin,
            self_exe,
            root: PathBuf::from(env!("CARGO_MANIFEST_DIR")),
        })
    }

    /// The servers compared in the plain scenarios, in their first round's order.
    fn impls(&self) -> Vec<Impl> {
        let mut all = vec![Impl::Ceiling, Impl::CeilingProc, Impl::Rust];
        if self.alt_bin.is_some() {
            all.push(Impl::Alt);
        }
        all.push(Impl::Reference);
        all
    }

    fn wants(&self, scenario: &str) -> bool {
        match &self.only {
            Some(filter) => filter.is_match(scenario),
            None => true,
        }
    }
}

// ---------------------------------------------------------------------------------------
// CPU placement

/// Which CPU the server and the clients run on.
#[derive(Debug, Clone)]
struct Placement {
    name: &'static str,
    /// Every CPU this process may use (restored after pinning the spawning thread).
    all: Vec<usize>,
    server: usize,
    clients: usize,
}

/// The CPUs this process may run on, ascending.
fn allowed_cpus() -> Vec<usize> {
    // SAFETY: cpu_set_t is plain data; sched_getaffinity writes at most its size.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Vec::new();
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| libc::CPU_ISSET(c, &set))
            .collect()
    }
}

/// Pins the calling thread (and whatever it spawns or forks from now on) to `cpus`.
fn pin_current_thread(cpus: &[usize]) -> io::Result<()> {
    // SAFETY: cpu_set_t is plain data; pid 0 is the calling thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        for &c in cpus {
            libc::CPU_SET(c, &mut set);
        }
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The ceiling

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
        if let Ok(n) = stream.read(&mut buf) {
            buf[..n].make_ascii_uppercase();
            let _ = stream.write_all(&buf[..n]);
        }
    }
}

/// The in-process ceiling server, stopped and joined when dropped.
struct Ceiling {
    stop: Arc<AtomicBool>,
    transport: Transport,
    port: u16,
    /// The serving thread's id, for its CPU time.
    tid: i32,
    thread: Option<JoinHandle<()>>,
}

impl Ceiling {
    fn start(transport: Transport, port: u16, cpu: usize) -> io::Result<Ceiling> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let (tid_tx, tid_rx) = std::sync::mpsc::channel();
        let setup = move || {
            let _ = pin_current_thread(&[cpu]);
            // SAFETY: gettid has no preconditions.
            let _ = tid_tx.send(unsafe { libc::gettid() });
        };
        let thread = match transport {
            Transport::Udp => {
                let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, port))?;
                // A backstop so the thread always notices `stop`, even if the wake-up is lost.
                socket.set_read_timeout(Some(Duration::from_millis(100)))?;
                std::thread::spawn(move || {
                    setup();
                    ceiling_udp(&socket, &flag)
                })
            }
            Transport::Tcp => {
                let listener = TcpListener::bind((Ipv4Addr::UNSPECIFIED, port))?;
                std::thread::spawn(move || {
                    setup();
                    ceiling_tcp(&listener, &flag)
                })
            }
        };
        let tid = tid_rx
            .recv_timeout(Duration::from_secs(5))
            .map_err(|_| io::Error::other("the ceiling thread did not start"))?;
        Ok(Ceiling {
            stop,
            transport,
            port,
            tid,
            thread: Some(thread),
        })
    }
}

impl Drop for Ceiling {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        // Wake the thread out of its blocking call. UDP: its read timeout also ends the wait.
        let woken = match self.transport {
            Transport::Udp => {
                if let Ok(s) = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)) {
                    let _ = s.send_to(b"stop", addr);
                }
                true
            }
            Transport::Tcp => TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok(),
        };
        // Without a wake-up a TCP thread could block forever: leave it (it holds no child).
        if let Some(t) = self.thread.take().filter(|_| woken) {
            let _ = t.join();
        }
    }
}

/// The bench's binary re-run as the `ceiling-proc` server: `udp:PORT` or `tcp:PORT`.
/// Serves until killed (its process group is killed with the others).
fn ceiling_child(spec: &str) -> Result<(), String> {
    let (transport, port) = spec
        .split_once(':')
        .and_then(|(t, p)| Some((t.parse::<Transport>().ok()?, p.parse::<u16>().ok()?)))
        .ok_or_else(|| format!("{CEILING_CHILD_ENV}: expected `udp:PORT` or `tcp:PORT`"))?;
    let never = AtomicBool::new(false);
    match transport {
        Transport::Udp => {
            let socket =
                UdpSocket::bind((Ipv4Addr::UNSPECIFIED, port)).map_err(|e| e.to_string())?;
            ceiling_udp(&socket, &never);
        }
        Transport::Tcp => {
            let listener =
                TcpListener::bind((Ipv4Addr::UNSPECIFIED, port)).map_err(|e| e.to_string())?;
            ceiling_tcp(&listener, &never);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Servers

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
        placement: &Placement,
        which: Impl,
        transport: Transport,
        pgids: &mut Vec<u32>,
    ) -> Result<Server, String> {
        let lease = lease_port().map_err(|e| format!("cannot lease a port: {e}"))?;
        let port = lease.port();
        let shout = |bin: &PathBuf| -> Vec<OsString> {
            vec![
                bin.into(),
                format!("{transport}-server").into(),
                port.to_string().into(),
            ]
        };
        let mut env: Vec<(OsString, OsString)> = vec![("LC_ALL".into(), "C.UTF-8".into())];
        let argv: Vec<OsString> = match which {
            Impl::Ceiling => {
                let ceiling = Ceiling::start(transport, port, placement.server)
                    .map_err(|e| format!("ceiling {transport} server: {e}"))?;
                return Ok(Server {
                    port,
                    kind: ServerKind::Ceiling(ceiling),
                    _lease: lease,
                });
            }
            Impl::CeilingProc => {
                env.push((
                    CEILING_CHILD_ENV.into(),
                    format!("{transport}:{port}").into(),
                ));
                vec![config.self_exe.clone().into()]
            }
            Impl::Rust => shout(&config.rust_bin),
            Impl::Alt => shout(config.alt_bin.as_ref().ok_or("no SHOUT_BENCH_ALT_BIN")?),
            Impl::Reference => {
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
            env,
            stdin: None,
            capture_limit: 64 * 1024,
            confine: None,
        };
        // The child inherits the spawning thread's CPU affinity, for all its threads.
        pin_current_thread(&[placement.server])
            .map_err(|e| format!("cannot pin to CPU {}: {e}", placement.server))?;
        let spawned = Running::spawn(&spec);
        pin_current_thread(&placement.all)
            .map_err(|e| format!("cannot restore the CPU affinity: {e}"))?;
        let mut running = spawned.map_err(|e| format!("cannot start {}: {e}", which.name()))?;
        pgids.push(running.pid());
        if let Err(e) = wait_until_bound(&mut running, transport, port, READY_TIMEOUT) {
            let out = running.stop();
            return Err(format!(
                "{} {transport} server: {e}; stderr: {}",
                which.name(),
                String::from_utf8_lossy(&out.stderr.bytes).trim()
            ));
        }
        Ok(Server {
            port,
            kind: ServerKind::Process(running),
            _lease: lease,
        })
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// CPU time the server has used so far, in ns, from the scheduler's per-thread
    /// accounting (`/proc/.../task/TID/schedstat`), summed over its threads.
    fn cpu_ns(&self) -> Option<u64> {
        let task_ns = |dir: PathBuf| -> Option<u64> {
            let text = std::fs::read_to_string(dir.join("schedstat")).ok()?;
            text.split_whitespace().next()?.parse().ok()
        };
        match &self.kind {
            ServerKind::Ceiling(c) => task_ns(PathBuf::from(format!("/proc/self/task/{}", c.tid))),
            ServerKind::Process(running) => {
                let dir = format!("/proc/{}/task", running.pid());
                let mut total = 0;
                for entry in std::fs::read_dir(dir).ok()? {
                    total += task_ns(entry.ok()?.path())?;
                }
                Some(total)
            }
        }
    }

    /// Stops the server; says so if a process died on its own during the measurement.
    fn stop(self) -> Option<String> {
        match self.kind {
            ServerKind::Process(mut running) => {
                let died = running.exited();
                let out = running.stop();
                died.map(|exit| {
                    format!(
                        "the server exited during the run ({exit}); stderr: {}",
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

/// Exchanges counted in measuring windows (one client's or several merged).
#[derive(Default)]
struct Sample {
    ok: u64,
    failed: u64,
    /// Of the successful exchanges.
    latencies_ns: Vec<u64>,
    seconds: f64,
    /// CPU time the server used in the windows (`None` once any reading failed).
    server_cpu_ns: Option<u64>,
}

impl Sample {
    /// An empty accumulator.
    fn empty() -> Sample {
        Sample {
            server_cpu_ns: Some(0),
            ..Sample::default()
        }
    }

    fn merge(&mut self, other: Sample) {
        self.ok += other.ok;
        self.failed += other.failed;
        self.latencies_ns.extend(other.latencies_ns);
        self.seconds += other.seconds;
        self.server_cpu_ns = self
            .server_cpu_ns
            .zip(other.server_cpu_ns)
            .map(|(a, b)| a + b);
    }

    /// Server CPU time per successful exchange, in µs.
    fn cpu_per_request_us(&self) -> Option<f64> {
        let ns = self.server_cpu_ns?;
        (self.ok > 0).then(|| ns as f64 / self.ok as f64 / 1e3)
    }

    fn rps(&self) -> f64 {
        if self.seconds > 0.0 {
            self.ok as f64 / self.seconds
        } else {
            0.0
        }
    }

    /// The `p`th percentile latency in µs (sorts the latencies).
    fn percentile_us(&mut self, p: usize) -> Option<f64> {
        let v = &mut self.latencies_ns;
        if v.is_empty() {
            return None;
        }
        v.sort_unstable();
        Some(v[(v.len() * p / 100).min(v.len() - 1)] as f64 / 1e3)
    }
}

/// Writes request number `seq` of client `client` and its expected reply.
fn make_request(client: usize, seq: u64, request: &mut Vec<u8>, expected: &mut Vec<u8>) {
    request.clear();
    expected.clear();
    let _ = write!(request, "{REQUEST_TEXT} #{client}-{seq}");
    // The text has no lowercase outside ASCII (Hangul has no case), so this is the reply.
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
    let mut shortened = false;
    let ok = loop {
        match socket.recv(buf) {
            Ok(n) if &buf[..n] == expected => break true,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break false,
        }
        // A stale or wrong reply: wait for the right one until the deadline.
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || socket.set_read_timeout(Some(left)).is_err() {
            break false;
        }
        shortened = true;
    };
    if shortened {
        let _ = socket.set_read_timeout(Some(REQUEST_TIMEOUT));
    }
    ok
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

/// One closed-loop client: exchanges until `end`, counting those started after `from`.
fn client_loop(
    transport: Transport,
    addr: SocketAddr,
    client: usize,
    from: Instant,
    end: Instant,
) -> Sample {
    let mut sample = Sample::default();
    let mut request = Vec::with_capacity(64);
    let mut expected = Vec::with_capacity(64);
    let mut buf = [0u8; 2048];
    let udp = match transport {
        Transport::Udp => {
            let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).and_then(|s| {
                s.connect(addr)?;
                s.set_read_timeout(Some(REQUEST_TIMEOUT))?;
                Ok(s)
            });
            match socket {
                Ok(s) => Some(s),
                Err(_) => {
                    sample.failed += 1;
                    return sample;
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
            Some(socket) => udp_exchange(socket, &request, &expected, &mut buf),
            None => tcp_exchange(addr, &request, &expected, &mut buf),
        };
        if started < from {
            continue;
        }
        if ok {
            sample.ok += 1;
            sample
                .latencies_ns
                .push(started.elapsed().as_nanos() as u64);
        } else {
            sample.failed += 1;
        }
    }
    sample
}

/// Runs `clients` closed-loop clients on CPU `cpu` against `server`: `run_in` un-counted,
/// then `window` counted, reading the server's CPU time at the window's edges.
fn measure(
    transport: Transport,
    server: &Server,
    clients: usize,
    cpu: usize,
    run_in: Duration,
    window: Duration,
) -> Sample {
    let addr = server.addr();
    let from = Instant::now() + run_in;
    let end = from + window;
    let mut total = Sample {
        seconds: window.as_secs_f64(),
        ..Sample::default()
    };
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..clients)
            .map(|c| {
                scope.spawn(move || {
                    let _ = pin_current_thread(&[cpu]);
                    client_loop(transport, addr, c, from, end)
                })
            })
            .collect();
        // Timing, not readiness: the window's edges are fixed instants.
        std::thread::sleep(from.saturating_duration_since(Instant::now()));
        let cpu_before = server.cpu_ns();
        std::thread::sleep(end.saturating_duration_since(Instant::now()));
        let cpu_after = server.cpu_ns();
        total.server_cpu_ns = cpu_before.zip(cpu_after).map(|(a, b)| b.saturating_sub(a));
        for h in handles {
            let s = h.join().unwrap_or_default();
            total.ok += s.ok;
            total.failed += s.failed;
            total.latencies_ns.extend(s.latencies_ns);
        }
    });
    total
}

// ---------------------------------------------------------------------------------------
// The run

struct Row {
    placement: &'static str,
    scenario: String,
    sample: Sample,
    p50_us: Option<f64>,
    p99_us: Option<f64>,
    note: Option<String>,
}

/// A server in a scenario and what was measured of it.
struct Contender {
    which: Impl,
    scenario: String,
    server: Server,
    sample: Sample,
}

struct Runner<'a> {
    config: &'a Config,
    rows: Vec<Row>,
    errors: Vec<String>,
    pgids: Vec<u32>,
}

impl Runner<'_> {
    /// Starts one server per `(impl, scenario name)` that the filter wants.
    fn start_all(
        &mut self,
        placement: &Placement,
        transport: Transport,
        wanted: Vec<(Impl, String)>,
    ) -> Vec<Contender> {
        let mut contenders = Vec::new();
        for (which, scenario) in wanted {
            if !self.config.wants(&scenario) {
                continue;
            }
            match Server::start(self.config, placement, which, transport, &mut self.pgids) {
                Ok(server) => contenders.push(Contender {
                    which,
                    scenario,
                    server,
                    sample: Sample::empty(),
                }),
                Err(e) => self
                    .errors
                    .push(format!("[{}] {scenario}: {e}", placement.name)),
            }
        }
        contenders
    }

    /// Measures every contender for the configured time, in `ROUNDS` interleaved slices
    /// whose order rotates, after an optional warm-up of each.
    fn rounds(
        &self,
        placement: &Placement,
        transport: Transport,
        clients: usize,
        contenders: &mut [Contender],
        warm_up: bool,
    ) {
        let cpu = placement.clients;
        if warm_up {
            for c in contenders.iter() {
                measure(transport, &c.server, clients, cpu, WARMUP, Duration::ZERO);
            }
        }
        let slice = self.config.measure / ROUNDS;
        let n = contenders.len();
        for round in 0..ROUNDS as usize {
            for k in 0..n {
                let c = &mut contenders[(k + round) % n];
                let s = measure(transport, &c.server, clients, cpu, RUN_IN, slice);
                c.sample.merge(s);
            }
        }
    }

    /// Stops the servers and keeps their results.
    fn finish(&mut self, placement: &Placement, contenders: Vec<Contender>) {
        for c in contenders {
            let note = c.server.stop();
            self.push(placement, c.scenario, c.sample, note);
        }
    }

    fn push(
        &mut self,
        placement: &Placement,
        scenario: String,
        mut sample: Sample,
        note: Option<String>,
    ) {
        let (p50_us, p99_us) = (sample.percentile_us(50), sample.percentile_us(99));
        sample.latencies_ns = Vec::new();
        self.rows.push(Row {
            placement: placement.name,
            scenario,
            sample,
            p50_us,
            p99_us,
            note,
        });
    }

    /// Every server for one transport and concurrency, side by side.
    fn plain(&mut self, placement: &Placement, transport: Transport, clients: usize) {
        let wanted: Vec<(Impl, String)> = self
            .config
            .impls()
            .into_iter()
            .map(|w| (w, format!("{transport} {} x{clients}", w.name())))
            .collect();
        if !wanted.iter().any(|(_, s)| self.config.wants(s)) {
            return;
        }
        eprintln!("bench: [{}] {transport} x{clients} ...", placement.name);
        let mut contenders = self.start_all(placement, transport, wanted);
        self.rounds(placement, transport, clients, &mut contenders, true);
        self.finish(placement, contenders);
    }

    /// One TCP client alone, and the same while a silent client holds a connection, in
    /// alternating slices: the silent client connects (sending nothing) before each "with"
    /// slice and closes after it, which also frees a server it blocked.
    fn silent(&mut self, placement: &Placement) {
        let wanted: Vec<(Impl, String)> = self
            .config
            .impls()
            .into_iter()
            .filter(|w| matches!(w, Impl::Rust | Impl::Alt | Impl::Reference))
            .map(|w| (w, format!("tcp {} x1 + 1 silent", w.name())))
            .collect();
        if !wanted.iter().any(|(_, s)| self.config.wants(s)) {
            return;
        }
        eprintln!("bench: [{}] tcp x1 + 1 silent ...", placement.name);
        let mut contenders = self.start_all(placement, Transport::Tcp, wanted);
        let (tcp, cpu) = (Transport::Tcp, placement.clients);
        for c in &contenders {
            measure(tcp, &c.server, 1, cpu, WARMUP, Duration::ZERO);
        }
        let mut before: Vec<Sample> = contenders.iter().map(|_| Sample::empty()).collect();
        let mut broken: Vec<Option<String>> = contenders.iter().map(|_| None).collect();
        let slice = self.config.measure / ROUNDS;
        let n = contenders.len();
        for round in 0..ROUNDS as usize {
            for k in 0..n {
                let i = (k + round) % n;
                before[i].merge(measure(tcp, &contenders[i].server, 1, cpu, RUN_IN, slice));
            }
            for k in 0..n {
                let i = (k + round) % n;
                let c = &mut contenders[i];
                if broken[i].is_some() {
                    continue;
                }
                match TcpStream::connect_timeout(&c.server.addr(), Duration::from_secs(1)) {
                    Ok(silent) => {
                        c.sample
                            .merge(measure(tcp, &c.server, 1, cpu, RUN_IN, slice));
                        drop(silent);
                    }
                    Err(e) => broken[i] = Some(format!("the silent client cannot connect: {e}")),
                }
            }
        }
        for ((c, b), broken) in contenders.iter().zip(before).zip(&broken) {
            let name = format!("tcp {} x1 (silent baseline)", c.which.name());
            self.push(placement, name, b, None);
            if let Some(e) = broken {
                let e = format!("[{}] {}: {e}", placement.name, c.scenario);
                self.errors.push(e);
            }
        }
        self.finish(placement, contenders);
    }

    fn find(&self, placement: &str, scenario: &str) -> Option<&Row> {
        self.rows
            .iter()
            .find(|r| r.placement == placement && r.scenario == scenario)
    }

    fn report(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "\n{:.1} s per scenario ({ROUNDS} interleaved rounds) after a {:.1} s warm-up; \
             request timeout {} ms; {} CPUs",
            self.config.measure.as_secs_f64(),
            WARMUP.as_secs_f64(),
            REQUEST_TIMEOUT.as_millis(),
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(0)
        );
        let alt = self.config.alt_bin.is_some();
        for p in &self.config.placements {
            if !self.rows.iter().any(|r| r.placement == p.name) {
                continue;
            }
            let how = if p.server == p.clients {
                format!("server and clients on CPU {}", p.server)
            } else {
                format!("server on CPU {}, clients on CPU {}", p.server, p.clients)
            };
            let _ = writeln!(out, "\n### Placement `{}`: {how}\n", p.name);
            let _ = writeln!(
                out,
                "| scenario | req/s | p50 µs | p99 µs | failed | server CPU µs/req |"
            );
            let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
            for r in self.rows.iter().filter(|r| r.placement == p.name) {
                let _ = writeln!(
                    out,
                    "| {} | {:.0} | {} | {} | {} | {} |",
                    r.scenario,
                    r.sample.rps(),
                    fmt_us(r.p50_us),
                    fmt_us(r.p99_us),
                    r.sample.failed,
                    r.sample
                        .cpu_per_request_us()
                        .map(|v| format!("{v:.2}"))
                        .unwrap_or_else(|| "-".into())
                );
            }
            let mut ratios = String::new();
            for transport in Transport::ALL {
                for clients in CONCURRENCY {
                    let row = |w: Impl| {
                        self.find(p.name, &format!("{transport} {} x{clients}", w.name()))
                    };
                    let rust = row(Impl::Rust);
                    if rust.is_none() {
                        continue;
                    }
                    let _ = write!(
                        ratios,
                        "| {transport} ×{clients} | {} | {} | {} | {} |",
                        ratio(rust, row(Impl::Ceiling)),
                        ratio(rust, row(Impl::CeilingProc)),
                        ratio(rust, row(Impl::Reference)),
                        cpu_ratio(rust, row(Impl::CeilingProc))
                    );
                    if alt {
                        let _ = write!(
                            ratios,
                            " {} | {} | {} |",
                            ratio(row(Impl::Alt), rust),
                            cpu_ratio(row(Impl::Alt), rust),
                            ratio(row(Impl::Alt), row(Impl::Ceiling))
                        );
                    }
                    let _ = writeln!(ratios);
                }
            }
            if !ratios.is_empty() {
                let _ = write!(
                    out,
                    "\n| req/s ratio | rust/ceiling | rust/ceiling-proc | rust/reference | \
                     CPU/req rust÷ceiling-proc |"
                );
                let _ = writeln!(
                    out,
                    "{}",
                    if alt {
                        " alt/rust | CPU/req alt÷rust | alt/ceiling |"
                    } else {
                        ""
                    }
                );
                let _ = write!(out, "|---|---:|---:|---:|---:|");
                let _ = writeln!(out, "{}", if alt { "---:|---:|---:|" } else { "" });
                out.push_str(&ratios);
            }
            let mut header = false;
            for which in [Impl::Rust, Impl::Alt, Impl::Reference] {
                let name = which.name();
                let base = self.find(p.name, &format!("tcp {name} x1 (silent baseline)"));
                let with = self.find(p.name, &format!("tcp {name} x1 + 1 silent"));
                if let (Some(b), Some(w)) = (base, with) {
                    if !header {
                        let _ = writeln!(
                            out,
                            "\n| tcp ×1, 1 silent client | req/s before | req/s with | with/before |"
                        );
                        let _ = writeln!(out, "|---|---:|---:|---:|");
                        header = true;
                    }
                    let _ = writeln!(
                        out,
                        "| {name} | {:.0} | {:.0} | {} |",
                        b.sample.rps(),
                        w.sample.rps(),
                        ratio(Some(w), Some(b))
                    );
                }
            }
        }
        for r in &self.rows {
            if let Some(note) = &r.note {
                let _ = writeln!(out, "\nnote: [{}] {}: {note}", r.placement, r.scenario);
            }
        }
        out
    }
}

fn fmt_us(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.0}")).unwrap_or_else(|| "-".into())
}

fn ratio(a: Option<&Row>, b: Option<&Row>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b.sample.rps() > 0.0 => {
            format!("{:.2}", a.sample.rps() / b.sample.rps())
        }
        (Some(_), Some(_)) => "∞ (0 req/s below)".into(),
        _ => "-".into(),
    }
}

fn cpu_ratio(a: Option<&Row>, b: Option<&Row>) -> String {
    let per = |r: Option<&Row>| r.and_then(|r| r.sample.cpu_per_request_us());
    match (per(a), per(b)) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
        _ => "-".into(),
    }
}

/// On Ctrl-C or SIGTERM, kill every server group first (they are not in our group).
fn kill_servers_on_signals() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    if let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) {
        std::thread::spawn(move || {
            if let Some(sig) = signals.forever().next() {
                kill_all();
                std::process::exit(128 + sig);
            }
        });
    }
}

fn main() {
    if let Ok(spec) = std::env::var(CEILING_CHILD_ENV) {
        if let Err(e) = ceiling_child(&spec) {
            eprintln!("servers: ceiling-proc: {e}");
            std::process::exit(2);
        }
        return;
    }
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
    kill_servers_on_signals();
    let mut runner = Runner {
        config: &config,
        rows: Vec::new(),
        errors: Vec::new(),
        pgids: Vec::new(),
    };
    for placement in &config.placements {
        for transport in Transport::ALL {
            for clients in CONCURRENCY {
                runner.plain(placement, transport, clients);
            }
        }
        runner.silent(placement);
    }
    print!("{}", runner.report());

    // Every server process group must be gone.
    let lingering: Vec<u32> = runner
        .pgids
        .iter()
        .copied()
        .filter(|&g| !group_members(g).is_empty())
        .collect();
    if lingering.is_empty() {
        println!(
            "\nall {} server process groups are gone",
            runner.pgids.len()
        );
    } else {
        runner
            .errors
            .push(format!("process groups still alive: {lingering:?}"));
    }
    if !runner.errors.is_empty() {
        for e in &runner.errors {
            eprintln!("servers: error: {e}");
        }
        std::process::exit(1);
    }
}

//! `shout check` as a student meets it: the textbook Python server and client, checked
//! with the reference already in the cache (a second run), against their floor.
//!
//! The floor is what the candidate itself costs, measured in the same run: for a client
//! check, the lifetimes of the candidate's client processes; for a server check, the
//! lifetimes of the client processes that talk to it, each probe that holds it for a
//! second or more on purpose (`late-line` sends its line 1 s after connecting), and one
//! start-up of the candidate server per lane (measured alone, uncontended). Either sum is
//! divided by the cores. A ratio near 1 means the harness costs little beyond the
//! programs it runs. The ratio without the deliberate waits is printed beside it.
//!
//! `cargo bench --bench check` runs each check once to fill a fresh cache, then
//! `SHOUT_BENCH_RUNS` times (default 3), printing wall time, floor and ratio per run and
//! the median of each.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use shout::proto::Transport;
use shout::results::Results;
use shout::run::ports::lease_port;
use shout::run::process::{Running, Spawn};
use shout::run::ready::wait_until_bound;

/// The interpreter itself behind `python3` (not a wrapper such as pyenv's shim).
fn python() -> PathBuf {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3 runs");
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// One check: its wall time and results.
fn check(cache: &Path, transport: Transport, role: &str, command: &str) -> (f64, Results) {
    let json = tempfile::NamedTempFile::new().expect("a temporary file");
    let cores = cores().to_string();
    let started = Instant::now();
    let status = Command::new(env!("CARGO_BIN_EXE_shout"))
        .args(["check", "--transport", transport.as_str(), "--jobs", &cores])
        .args([&format!("--{role}"), command, "--cache-dir"])
        .arg(cache)
        .args(["--format", "json", "--output"])
        .arg(json.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("shout runs");
    let wall = started.elapsed().as_secs_f64();
    assert!(
        status.success(),
        "shout check --{role} {command} failed: {status}"
    );
    let results = serde_json::from_slice(&std::fs::read(json.path()).expect("results"))
        .expect("results parse");
    (wall, results)
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// How long `command` (with `{port}`) takes to listen, alone: the median of five starts.
fn start_up(transport: Transport, command: &str) -> f64 {
    let mut times: Vec<f64> = (0..5)
        .map(|_| {
            let lease = lease_port().expect("a free port");
            let argv = command
                .replace("{port}", &lease.port().to_string())
                .split_whitespace()
                .map(Into::into)
                .collect();
            let started = Instant::now();
            let mut server = Running::spawn(&Spawn {
                argv,
                ..Spawn::default()
            })
            .expect("the server starts");
            wait_until_bound(
                &mut server,
                transport,
                lease.port(),
                Duration::from_secs(10),
            )
            .expect("the server listens");
            let took = started.elapsed().as_secs_f64();
            server.stop();
            took
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// A unit without a client process that lasted this long waited on purpose: a case that
/// sends its line late (`late-line`, 1 s) or a reply that never comes (the unit's limit).
const WAITED_MS: u64 = 900;

/// The candidate's own cost in `results`, in seconds of one core: each client's
/// lifetime; and, apart, each probe without a client process that waited on purpose (its
/// whole length: the candidate is held for that long whatever the harness does).
fn own_seconds(results: &Results) -> (f64, f64) {
    let uncached = || results.results.iter().filter(|r| !r.cached);
    let clients: u64 = uncached().filter_map(|r| r.client_ms).sum();
    let waited: u64 = uncached()
        .filter(|r| r.client_ms.is_none() && r.duration_ms >= WAITED_MS)
        .map(|r| r.duration_ms)
        .sum();
    (clients as f64 / 1000.0, waited as f64 / 1000.0)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        // `cargo test --benches` asks for a list; this bench has no tests.
        return;
    }
    let runs: usize = std::env::var("SHOUT_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let python = python();
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("reference");
    let cache = tempfile::tempdir().expect("a temporary directory");
    println!(
        "shout check, --jobs {}, reference cached, {runs} run(s); python {}",
        cores(),
        python.display()
    );
    println!(
        "{:<12} {:>4} {:>6} {:>7} {:>8} {:>6} {:>12}",
        "check", "run", "units", "wall s", "floor s", "ratio", "no-waits"
    );
    for transport in [Transport::Udp, Transport::Tcp] {
        let upper = transport.as_str().to_uppercase();
        let server = format!(
            "{} -S {}/{upper}Server.py {{port}}",
            python.display(),
            scripts.display()
        );
        let client = format!(
            "{} -S {}/{upper}Client.py {{host}} {{port}}",
            python.display(),
            scripts.display()
        );
        let server_start = start_up(transport, &server);
        for (role, command) in [("server", &server), ("client", &client)] {
            // Twice first: a case the reference does not answer is kept once seen twice.
            check(cache.path(), transport, role, command);
            check(cache.path(), transport, role, command);
            let mut walls = Vec::new();
            let mut ratios = Vec::new();
            for run in 1..=runs {
                let (wall, results) = check(cache.path(), transport, role, command);
                let (mut own, waited) = own_seconds(&results);
                if role == "server" {
                    own += server_start * cores() as f64;
                }
                let floor = (own + waited) / cores() as f64;
                let bare = own / cores() as f64;
                println!(
                    "{:<12} {run:>4} {:>6} {wall:>7.2} {floor:>8.2} {:>6.2} {:>12.2}",
                    format!("{transport} {role}"),
                    results.results.len(),
                    wall / floor,
                    wall / bare
                );
                walls.push(wall);
                ratios.push(wall / floor);
            }
            walls.sort_by(f64::total_cmp);
            ratios.sort_by(f64::total_cmp);
            println!(
                "{:<12} median wall {:.2} s, median wall/floor {:.2}",
                format!("{transport} {role}"),
                walls[walls.len() / 2],
                ratios[ratios.len() / 2]
            );
        }
    }
}

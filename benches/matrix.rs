//! The built-in matrix's wall time against its floor: the client processes the run must
//! start, each costed at its uncontended lifetime (measured alone, in the same bench
//! run), divided by the cores it may use. A ratio near 1 means the harness costs little
//! beyond the programs it runs.
//!
//! `cargo bench --bench matrix` first measures each built-in client (the reference
//! client under the interpreter itself with `-S`, shout's own) alone against the
//! reference server, ten times per transport. It then runs `shout matrix --no-cache`
//! (release build, `--jobs` = the cores) `SHOUT_BENCH_RUNS` times (default 3), and prints
//! each run's wall time, floor and ratio, then the median ratio; and last, the wall time
//! of a run that takes the whole built-in matrix from a warm cache.
//!
//! A unit whose client ran for 900 ms or more waited on a limit the protocol imposes (a
//! reply that never comes): its own lifetime is its cost. So does a server probe (no
//! client process) that lasted that long: it waited on purpose (`late-line` sends its
//! line 1 s after connecting) or on a reply that never comes (the reference server
//! serves one connection at a time, so a silent one holds it for the unit's limit), and
//! its length is its cost. The `no-waits` column is the ratio to the clients alone.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use shout::proto::Transport;
use shout::results::Results;
use shout::run::ports::lease_port;
use shout::run::process::{Running, Spawn};
use shout::run::ready::wait_until_bound;

/// A unit at least this long waited on a limit: its cost is its own lifetime.
const WAITED_MS: u64 = 900;

fn python() -> String {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3 runs");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn words(line: &str) -> Vec<std::ffi::OsString> {
    line.split_whitespace().map(Into::into).collect()
}

/// The median lifetime, in ms, of `client` (with `{port}`) sending one line to a
/// reference server started alone.
fn alone(transport: Transport, client: &str, python: &str, scripts: &Path) -> f64 {
    let upper = transport.as_str().to_uppercase();
    let lease = lease_port().expect("a free port");
    let port = lease.port().to_string();
    let mut server = Running::spawn(&Spawn {
        argv: words(&format!(
            "{python} -S {}/{upper}Server.py {port}",
            scripts.display()
        )),
        ..Spawn::default()
    })
    .expect("the reference server starts");
    wait_until_bound(
        &mut server,
        transport,
        lease.port(),
        Duration::from_secs(10),
    )
    .expect("the reference server listens");
    let mut times: Vec<f64> = (0..10)
        .map(|_| {
            let started = Instant::now();
            let done = Running::spawn(&Spawn {
                argv: words(&client.replace("{port}", &port)),
                stdin: Some(b"hello world\n".to_vec()),
                capture_limit: 1 << 16,
                ..Spawn::default()
            })
            .expect("the client starts")
            .finish(Duration::from_secs(5));
            assert!(done.stdout.bytes.ends_with(b"HELLO WORLD\n"), "{client}");
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    server.stop();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn run(args: &[&str], json: &Path) -> (f64, Results) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let started = Instant::now();
    let status = Command::new(env!("CARGO_BIN_EXE_shout"))
        .args(["matrix", "--jobs", &cores.to_string(), "--format", "json"])
        .args(args)
        .arg("--output")
        .arg(json)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("shout runs");
    let wall = started.elapsed().as_secs_f64();
    assert!(status.success(), "shout matrix failed: {status}");
    let results = serde_json::from_slice(&std::fs::read(json).expect("results written"))
        .expect("results parse");
    (wall, results)
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
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let python = python();
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("reference");
    let exe = env!("CARGO_BIN_EXE_shout");
    let mut lifetime: BTreeMap<(String, Transport), f64> = BTreeMap::new();
    for transport in [Transport::Udp, Transport::Tcp] {
        let upper = transport.as_str().to_uppercase();
        let py = format!(
            "{python} -S {}/{upper}Client.py 127.0.0.1 {{port}}",
            scripts.display()
        );
        let rust = format!("{exe} {transport}-client 127.0.0.1 {{port}}");
        for (name, client) in [("python", py), ("rust", rust)] {
            let ms = alone(transport, &client, &python, &scripts);
            println!("{name} {transport} client alone: {ms:.1} ms");
            lifetime.insert((name.to_string(), transport), ms);
        }
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut ratios = Vec::new();
    println!("shout matrix --no-cache, --jobs {cores}, {runs} run(s)");
    println!(
        "{:>4} {:>8} {:>8} {:>6} {:>8} {:>8} {:>7} {:>9}",
        "run", "units", "clients", "waits", "wall s", "floor s", "ratio", "no-waits"
    );
    for n in 1..=runs {
        let (wall, results) = run(&["--no-cache"], &dir.path().join(format!("run{n}.json")));
        let costs: Vec<f64> = results
            .results
            .iter()
            .filter_map(|r| {
                let ms = r.client_ms?;
                let alone = lifetime.get(&(r.client.clone(), r.transport));
                Some(match alone {
                    Some(&a) if ms < WAITED_MS => a,
                    _ => ms as f64,
                })
            })
            .collect();
        let waits: Vec<f64> = results
            .results
            .iter()
            .filter(|r| r.client_ms.is_none() && r.duration_ms >= WAITED_MS)
            .map(|r| r.duration_ms as f64)
            .collect();
        let clients = costs.iter().sum::<f64>() / 1000.0 / cores as f64;
        let floor = clients + waits.iter().sum::<f64>() / 1000.0 / cores as f64;
        let ratio = wall / floor;
        ratios.push(ratio);
        println!(
            "{n:>4} {:>8} {:>8} {:>6} {wall:>8.2} {floor:>8.2} {ratio:>7.2} {:>9.2}",
            results.results.len(),
            costs.len(),
            waits.len(),
            wall / clients
        );
    }
    ratios.sort_by(f64::total_cmp);
    println!("median wall/floor: {:.2}", ratios[ratios.len() / 2]);
    let cache = dir.path().join("cache");
    let cache_arg = cache.display().to_string();
    for _ in 0..2 {
        run(&["--cache-dir", &cache_arg], &dir.path().join("fill.json"));
    }
    let (wall, results) = run(&["--cache-dir", &cache_arg], &dir.path().join("warm.json"));
    let cached = results.results.iter().filter(|r| r.cached).count();
    println!(
        "warm cache: {wall:.2} s for {} units, {cached} of them from the cache",
        results.results.len()
    );
}

//! The built-in matrix's wall time against its floor: the sum of the lifetimes of the
//! client processes the run must start, divided by the cores it may use. A ratio near 1
//! means the harness costs little beyond the programs it runs.
//!
//! `cargo bench --bench matrix` runs `shout matrix` (release build) `SHOUT_BENCH_RUNS`
//! times (default 3) with `--jobs` = the available cores, and prints each run's wall time,
//! floor and ratio, then the median ratio.

use std::process::Command;
use std::time::Instant;

use shout::results::Results;

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
    let exe = env!("CARGO_BIN_EXE_shout");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut ratios = Vec::new();
    println!("shout matrix, --jobs {cores}, {runs} run(s)");
    println!(
        "{:>4} {:>8} {:>8} {:>8} {:>8} {:>7}",
        "run", "units", "clients", "wall s", "floor s", "ratio"
    );
    for run in 1..=runs {
        let json = dir.path().join(format!("run{run}.json"));
        let started = Instant::now();
        let status = Command::new(exe)
            .args(["matrix", "--jobs", &cores.to_string(), "--format", "json"])
            .arg("--output")
            .arg(&json)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("shout runs");
        let wall = started.elapsed().as_secs_f64();
        assert!(status.success(), "shout matrix failed: {status}");
        let results: Results =
            serde_json::from_slice(&std::fs::read(&json).expect("results written"))
                .expect("results parse");
        let clients: Vec<u64> = results.results.iter().filter_map(|r| r.client_ms).collect();
        let floor = clients.iter().sum::<u64>() as f64 / 1000.0 / cores as f64;
        let ratio = wall / floor;
        ratios.push(ratio);
        println!(
            "{run:>4} {:>8} {:>8} {wall:>8.2} {floor:>8.2} {ratio:>7.2}",
            results.results.len(),
            clients.len()
        );
    }
    ratios.sort_by(f64::total_cmp);
    println!("median wall/floor: {:.2}", ratios[ratios.len() / 2]);
}

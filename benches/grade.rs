//! Grading time for a class: `shout grade` (release build) on generated submissions,
//! per submission and for the whole class, with `--jobs` = twice the available cores
//! (`shout grade`'s default).
//!
//! `cargo bench --bench grade` copies fixture submissions from
//! `tests/fixtures/submissions/` into `SHOUT_BENCH_CLASS` folders (default 50) named
//! `student-01` …, cycling through a mix that looks like a real class: mostly textbook
//! Python 3 (faithful, with the placeholders, with one bug each), some Python 2, C and
//! JavaScript, a few incomplete ones. It then grades the whole class once and prints the
//! wall time, the time per submission, and the slowest submissions. Hostile and
//! deadlocking submissions are left out of the mix: each costs its time limits, which
//! `SHOUT_BENCH_MIX=all` adds (the whole fixture folder, cycled). `SHOUT_BENCH_JOBS`
//! overrides `--jobs`.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use shout::results::Results;

/// The default class: one entry a student, cycled.
const MIX: &[&str] = &[
    "py3-faithful",
    "py3-placeholder",
    "bug-title",
    "py3-faithful",
    "bug-newline",
    "bug-upper-client",
    "py3-faithful",
    "bug-prefix-client",
    "missing-role",
    "py2",
    "py3-faithful",
    "bug-other-port",
    "c-sockets",
    "bug-log-server",
    "js-node",
    "bug-misnamed",
    "bug-whole-buffer",
    "bug-loop-client",
];

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create a submission folder");
    for entry in std::fs::read_dir(from).expect("read a fixture") {
        let entry = entry.expect("a fixture entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy a fixture file");
        }
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        // `cargo test --benches` asks for a list; this bench has no tests.
        return;
    }
    if !std::env::args().any(|a| a == "--bench") {
        println!("grade bench: run with `cargo bench --bench grade`");
        return;
    }
    let class: usize = std::env::var("SHOUT_BENCH_CLASS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/submissions");
    let mix: Vec<String> = if std::env::var("SHOUT_BENCH_MIX").as_deref() == Ok("all") {
        let mut all: Vec<String> = std::fs::read_dir(&fixtures)
            .expect("the fixture submissions")
            .flatten()
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        all.sort();
        all
    } else {
        MIX.iter().map(|s| s.to_string()).collect()
    };
    let cores = std::env::var("SHOUT_BENCH_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| 2 * std::thread::available_parallelism().map_or(1, |n| n.get()));
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut folders = Vec::new();
    for i in 0..class {
        let name = format!("student-{:02}", i + 1);
        let to = dir.path().join("class").join(&name);
        copy_dir(&fixtures.join(&mix[i % mix.len()]), &to);
        folders.push(to);
    }
    let out = dir.path().join("grades");
    println!("shout grade: {class} submissions, --jobs {cores}");
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_shout"))
        .arg("grade")
        .args(&folders)
        .arg("--out")
        .arg(&out)
        .args(["--jobs", &cores.to_string()])
        .output()
        .expect("shout runs");
    let wall = started.elapsed().as_secs_f64();
    assert!(
        output.status.success(),
        "shout grade failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let mut per: Vec<(f64, String, String)> = Vec::new();
    for (i, folder) in folders.iter().enumerate() {
        let name = folder.file_name().unwrap().to_string_lossy().into_owned();
        let json = out.join(&name).join("shout.json");
        if let Ok(bytes) = std::fs::read(&json) {
            let results: Results = serde_json::from_slice(&bytes).expect("results parse");
            per.push((
                results.summary.wall_seconds,
                name,
                mix[i % mix.len()].clone(),
            ));
        }
    }
    let rows = std::fs::read_to_string(out.join("grades.csv"))
        .expect("grades.csv written")
        .lines()
        .count()
        - 1;
    assert_eq!(rows, class, "one row per submission");
    per.sort_by(|a, b| b.0.total_cmp(&a.0));
    let graded: f64 = per.iter().map(|p| p.0).sum();
    println!(
        "class wall time: {wall:.1} s ({:.2} s per submission)",
        wall / class as f64
    );
    println!(
        "sum of per-submission grading times: {graded:.1} s (mean {:.2} s, {} submissions ran programs)",
        graded / per.len().max(1) as f64,
        per.len()
    );
    println!("slowest:");
    for (secs, name, from) in per.iter().take(5) {
        println!("  {name} ({from}): {secs:.1} s");
    }
}

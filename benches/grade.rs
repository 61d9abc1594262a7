//! Grading time for a class: `shout grade` (release build) on generated submissions,
//! per submission and for the whole class, with `--jobs` = twice the available cores
//! (`shout grade`'s default).
//!
//! `cargo bench --bench grade` copies fixture submissions from
//! `tests/fixtures/submissions/` into `SHOUT_BENCH_CLASS` folders (default 50) named
//! `student-01` …, cycling through a mix that looks like a real class: mostly textbook
//! Python 3 (faithful, with the placeholders, with one bug each), some Python 2, C and
//! JavaScript, a few incomplete ones. It first grades the first submission alone until
//! the reference's own units all come from the cache (a fresh build computes them, and
//! keeps a case the reference gives no answer to only once a second run has seen it so),
//! then grades the whole class once and prints the wall time, the time per submission,
//! the slowest submissions, how busy the machine was meanwhile (from `/proc/stat`), and
//! what one start of `python3` importing `socket` cost just before: the yardstick for
//! comparing runs made on different days of a shared machine. Hostile and
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
    warm_up(&folders[0], &dir.path().join("warm-up"));
    let start_ms = python_start_ms();
    println!("shout grade: {class} submissions, --jobs {cores}");
    let before = cpu_ticks();
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
    let busy = before.zip(cpu_ticks()).map(|(a, b)| b.since(&a));
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
    if let Some(t) = busy {
        println!(
            "machine meanwhile: user {:.1} s, system {:.1} s, idle {:.1} s of CPU ({:.0} % busy)",
            t.user,
            t.system,
            t.idle,
            100.0 * (t.user + t.system) / (t.user + t.system + t.idle).max(f64::EPSILON)
        );
    }
    match start_ms {
        Some(ms) => {
            println!("one `python3 -c 'import socket'` just before: {ms:.1} ms (median of 21)")
        }
        None => println!("python3 could not be started to measure this machine's speed"),
    }
}

/// Grades `folder` alone, up to three times, until its run takes every reference unit
/// from the cache.
fn warm_up(folder: &Path, out: &Path) {
    for _ in 0..3 {
        let status = Command::new(env!("CARGO_BIN_EXE_shout"))
            .arg("grade")
            .arg(folder)
            .arg("--out")
            .arg(out)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("shout runs");
        assert!(status.success(), "warm-up grade failed: {status}");
        let name = folder.file_name().expect("a submission name");
        let bytes = std::fs::read(out.join(name).join("shout.json")).expect("warm-up results");
        let results: Results = serde_json::from_slice(&bytes).expect("results parse");
        if results.cache.is_some_and(|c| c.ran == 0) {
            return;
        }
    }
}

/// The median wall time of 21 starts of `python3` importing `socket`, in milliseconds:
/// the interpreter itself, not a launcher in front of it (pyenv's shims take longer than
/// the interpreter they start).
fn python_start_ms() -> Option<f64> {
    let found = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .ok()?;
    let python = String::from_utf8(found.stdout).ok()?.trim().to_string();
    let mut times: Vec<f64> = (0..21)
        .map(|_| {
            let t = Instant::now();
            let ok = Command::new(&python)
                .args(["-c", "import socket"])
                .status()
                .is_ok_and(|s| s.success());
            ok.then(|| t.elapsed().as_secs_f64() * 1e3)
        })
        .collect::<Option<_>>()?;
    times.sort_by(f64::total_cmp);
    Some(times[times.len() / 2])
}

/// CPU time of the whole machine, in seconds, from the first line of `/proc/stat`.
struct Ticks {
    user: f64,
    system: f64,
    idle: f64,
}

impl Ticks {
    fn since(&self, before: &Ticks) -> Ticks {
        Ticks {
            user: self.user - before.user,
            system: self.system - before.system,
            idle: self.idle - before.idle,
        }
    }
}

fn cpu_ticks() -> Option<Ticks> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let v: Vec<f64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap_or(0.0) / 100.0)
        .collect();
    let at = |i: usize| v.get(i).copied().unwrap_or(0.0);
    // user nice system idle iowait irq softirq
    Some(Ticks {
        user: at(0) + at(1),
        system: at(2) + at(5) + at(6),
        idle: at(3) + at(4),
    })
}

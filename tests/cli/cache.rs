//! The reference cache, as a user meets it: a second run takes the built-in units from
//! the cache folder and says so, and changing anything the reference depends on (the
//! interpreter, the limits, its environment, shout itself) runs them again.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use serde_json::Value;

use crate::support::{python3, python3_interpreters, root, shout_bin};

/// `shout check` of the reference TCP server on two cases, with the cache in `cache`,
/// extra `args`, and `env` set; returns the exit status, the terminal report and the
/// JSON results.
fn check(exe: &Path, cache: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, Value) {
    let json = tempfile::NamedTempFile::new().unwrap();
    let server = format!(
        "{} {} {{port}}",
        python3().path.display(),
        root().join("reference/TCPServer.py").display()
    );
    let mut cmd = assert_cmd::Command::new(exe);
    cmd.args(["check", "--transport", "tcp", "--server", &server])
        .args(["--case", "hello", "--case", "korean"])
        .arg("--cache-dir")
        .arg(cache)
        .args(args)
        .args(["--format", "json", "--output"])
        .arg(json.path())
        .env("LC_ALL", "C.UTF-8")
        .timeout(Duration::from_secs(300));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out: Output = cmd.output().unwrap();
    let results: Value = serde_json::from_slice(&std::fs::read(json.path()).unwrap())
        .unwrap_or_else(|e| {
            panic!(
                "no JSON results ({e}): {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        results,
    )
}

fn reused(results: &Value) -> u64 {
    results["cache"]["reused"].as_u64().unwrap_or(0)
}

/// Each unit's id with its verdict and whether it came from the cache.
fn units(results: &Value) -> Vec<(String, String, bool)> {
    results["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["id"].as_str().unwrap().to_string(),
                u["verdict"].as_str().unwrap().to_string(),
                u["cached"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_second_check_takes_the_built_in_units_from_the_cache_and_says_so() {
    let cache = tempfile::tempdir().unwrap();
    let (code, _, first) = check(&shout_bin(), cache.path(), &[], &[]);
    assert_eq!(code, 0);
    assert_eq!(reused(&first), 0, "an empty cache gave units: {first}");
    assert!(first["cache"]["ran"].as_u64().unwrap() > 0);
    assert!(units(&first).iter().all(|(_, _, cached)| !cached));
    let files: Vec<PathBuf> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "one file per key: {files:?}");

    let (code, terminal, second) = check(&shout_bin(), cache.path(), &[], &[]);
    assert_eq!(code, 0);
    assert!(reused(&second) > 0, "nothing reused: {second}");
    assert_eq!(second["cache"]["ran"], 0);
    assert!(
        terminal.contains("cached: ") && terminal.contains(&cache.path().display().to_string()),
        "the terminal report does not say what was cached:\n{terminal}"
    );
    // The same verdicts; the reference's own units marked, the candidate's never.
    let (a, b) = (units(&first), units(&second));
    assert_eq!(
        a.iter().map(|(id, v, _)| (id, v)).collect::<Vec<_>>(),
        b.iter().map(|(id, v, _)| (id, v)).collect::<Vec<_>>()
    );
    for (id, _, cached) in &b {
        assert_eq!(*cached, !id.contains("candidate"), "{id}");
    }
}

#[test]
fn changing_what_the_reference_depends_on_runs_it_again() {
    let cache = tempfile::tempdir().unwrap();
    let exe = shout_bin();
    check(&exe, cache.path(), &[], &[]);
    assert!(reused(&check(&exe, cache.path(), &[], &[]).2) > 0);

    // The limits.
    let (_, _, r) = check(&exe, cache.path(), &["--timeout", "4"], &[]);
    assert_eq!(reused(&r), 0, "--timeout 4 reused units kept under 3 s");
    // The environment the interpreter reads.
    let (_, _, r) = check(&exe, cache.path(), &[], &[("PYTHONHASHSEED", "7")]);
    assert_eq!(reused(&r), 0, "a new PYTHON* variable reused units");
    // Another interpreter.
    let other = python3_interpreters()
        .into_iter()
        .find(|p| p.version != python3().version);
    if let Some(other) = other {
        let path = other.path.display().to_string();
        let (_, _, r) = check(&exe, cache.path(), &["--python", &path], &[]);
        assert_eq!(
            reused(&r),
            0,
            "{path} reused units of {}",
            python3().version
        );
    } else {
        eprintln!("only one CPython 3 here: the interpreter part of the key is not tried");
    }
    // Another build of shout (a copy is another file, with another time).
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("shout");
    std::fs::copy(&exe, &copy).unwrap();
    let (_, _, r) = check(&copy, cache.path(), &[], &[]);
    assert_eq!(reused(&r), 0, "another shout binary reused units");

    // The first key's file is still there and still used.
    assert!(reused(&check(&exe, cache.path(), &[], &[]).2) > 0);
}

#[test]
fn without_the_cache_nothing_is_kept_and_a_damaged_file_is_run_again() {
    let cache = tempfile::tempdir().unwrap();
    // --no-cache and --cache-dir contradict each other: refused before anything runs.
    let out = assert_cmd::Command::new(shout_bin())
        .args([
            "check",
            "--transport",
            "udp",
            "--server",
            "x {port}",
            "--no-cache",
        ])
        .arg("--cache-dir")
        .arg(cache.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--no-cache"));

    let home = tempfile::tempdir().unwrap();
    let json = tempfile::NamedTempFile::new().unwrap();
    let out = assert_cmd::Command::new(shout_bin())
        .args([
            "check",
            "--transport",
            "udp",
            "--case",
            "hello",
            "--no-cache",
        ])
        .arg("--server")
        .arg(format!(
            "{} {} {{port}}",
            python3().path.display(),
            root().join("reference/UDPServer.py").display()
        ))
        .args(["--format", "json", "--output"])
        .arg(json.path())
        .env("XDG_CACHE_HOME", home.path())
        .timeout(Duration::from_secs(300))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let r: Value = serde_json::from_slice(&std::fs::read(json.path()).unwrap()).unwrap();
    assert!(
        r.get("cache").is_none(),
        "--no-cache still used a cache: {r}"
    );
    assert_eq!(std::fs::read_dir(home.path()).unwrap().count(), 0);

    // A damaged cache file costs a run of the reference, nothing else.
    check(&shout_bin(), cache.path(), &[], &[]);
    for e in std::fs::read_dir(cache.path()).unwrap() {
        std::fs::write(e.unwrap().path(), b"{\"format\": 1, \"units\": ").unwrap();
    }
    let (code, _, r) = check(&shout_bin(), cache.path(), &[], &[]);
    assert_eq!(code, 0);
    assert_eq!(reused(&r), 0);
    assert!(reused(&check(&shout_bin(), cache.path(), &[], &[]).2) > 0);
}

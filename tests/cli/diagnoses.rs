//! Every wrong implementation gets the one finding it declares in
//! `tests/fixtures/impls/diagnoses.toml`: each failing unit of its check names that
//! finding and no other, and at least one unit fails.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use shout::results::Results;
use shout::verdict::Verdict;

use crate::support::{root, shout_bin};

#[derive(Deserialize)]
struct Declared {
    diagnosis: Vec<Diagnosis>,
}

#[derive(Deserialize)]
struct Diagnosis {
    name: String,
    role: String,
    cases: Vec<String>,
    finding: String,
}

#[derive(Deserialize)]
struct Manifest {
    implementation: Vec<Implementation>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Implementation {
    name: String,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(flatten)]
    roles: BTreeMap<String, toml::Value>,
}

fn impls_dir() -> std::path::PathBuf {
    root().join("tests/fixtures/impls")
}

fn load<T: for<'de> Deserialize<'de>>(file: &str) -> T {
    let text = std::fs::read_to_string(impls_dir().join(file)).unwrap();
    toml::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// Runs `shout check` on `d`'s role with its cases (in the manifest's directory, with
/// its environment); returns what went wrong, if anything.
fn check(d: &Diagnosis, imp: &Implementation) -> Result<(), String> {
    let command = imp
        .roles
        .get(&d.role)
        .and_then(|v| v.as_str())
        .ok_or_else(|| format!("{}: no `{}` in wrong.toml", d.name, d.role))?;
    let (transport, side) = d.role.split_once('-').unwrap();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let mut cmd = assert_cmd::Command::new(shout_bin());
    cmd.current_dir(impls_dir())
        .envs(&imp.env)
        .args(["check", "--transport", transport])
        .arg(format!("--{side}"))
        .arg(command)
        .args(["--timeout", "5", "--format", "json", "--output"])
        .arg(&json)
        .timeout(Duration::from_secs(300));
    for c in &d.cases {
        cmd.args(["--case", c]);
    }
    let out = cmd.output().unwrap();
    let results: Results = std::fs::read(&json)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| {
            format!(
                "{}: no results (exit {:?}): {}",
                d.name,
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
    let failed: Vec<_> = results
        .results
        .iter()
        .filter(|r| r.verdict == Verdict::Fail)
        .collect();
    if failed.is_empty() {
        return Err(format!("{}: nothing failed", d.name));
    }
    let other: Vec<_> = failed
        .iter()
        .filter(|r| r.finding.as_ref().map(|f| f.code()).as_deref() != Some(&d.finding))
        .map(|r| format!("{} => {}", r.id, r.diagnosis().unwrap_or_default()))
        .collect();
    if other.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}: expected `{}`, but:\n  {}",
            d.name,
            d.finding,
            other.join("\n  ")
        ))
    }
}

#[test]
fn every_wrong_fixture_gets_the_finding_it_declares() {
    let declared: Declared = load("diagnoses.toml");
    let manifest: Manifest = load("wrong.toml");
    let by_name: BTreeMap<_, _> = manifest
        .implementation
        .iter()
        .map(|i| (i.name.as_str(), i))
        .collect();
    // Two checks at a time: most of a check is spent waiting out a fixture's silence,
    // and each check bounds its own waits.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let wrong: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    let mut wrong = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let Some(d) = declared.diagnosis.get(i) else {
                            break wrong;
                        };
                        let Some(imp) = by_name.get(d.name.as_str()) else {
                            wrong.push(format!("{}: not in wrong.toml", d.name));
                            continue;
                        };
                        if let Err(e) = check(d, imp) {
                            wrong.push(e);
                        }
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a diagnosis worker panicked"))
            .collect()
    });
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

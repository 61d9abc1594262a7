//! Failures are told by cause, and a difference of Unicode version alone is not a
//! failure: the real binary on real implementations (an ASCII-only server, a correct
//! Node server whose runtime follows a newer Unicode than the reference Python).

use std::process::Output;
use std::time::Duration;

use crate::support::{root, shout_bin};

/// Runs `shout` from the implementation fixtures' folder with `args`.
fn shout(args: &[&str]) -> (i32, String, String) {
    let out: Output = assert_cmd::Command::new(shout_bin())
        .current_dir(root().join("tests/fixtures/impls"))
        .env("LC_ALL", "C.UTF-8")
        .env("PYTHONIOENCODING", "utf-8")
        .args(args)
        .timeout(Duration::from_secs(600))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn an_ascii_only_server_is_one_cause_on_one_screen() {
    let (code, stdout, stderr) = shout(&[
        "check",
        "--transport",
        "udp",
        "--server",
        "python3 wrong/ascii-upper/UDPServer.py {port}",
    ]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let failures = stdout
        .lines()
        .find(|l| l.starts_with("FAILURES ("))
        .unwrap_or_else(|| panic!("no FAILURES line: {stdout}"));
    assert!(failures.ends_with(", 1 cause)"), "{stdout}");
    let causes: Vec<&str> = stdout.lines().filter(|l| l.starts_with("✗ ")).collect();
    assert_eq!(causes.len(), 1, "{stdout}");
    assert!(
        causes[0].starts_with("✗ candidate server — ")
            && causes[0].contains("server maps case with ASCII only"),
        "{stdout}"
    );
    // Not also an old Unicode version, nor a one-to-one mapping.
    assert!(!stdout.contains("follows Unicode"), "{stdout}");
    assert!(!stdout.contains("one-to-one"), "{stdout}");
    assert!(stdout.lines().count() <= 40, "more than a screen: {stdout}");
}

/// The Node fixture's servers (ICU follows Unicode 17.0 in Node 20) on the generated
/// version cases and the core ones, with `extra` flags.
fn node_matrix(extra: &[&str]) -> (i32, String, String) {
    assert!(
        which::which("node").is_ok(),
        "node is not installed: apt-get install nodejs"
    );
    let mut args = vec![
        "matrix",
        "--manifest",
        "correct.toml",
        "--only",
        "node",
        "--transport",
        "udp",
        "--category",
        "unicode-versions",
        "--category",
        "core",
    ];
    args.extend(extra);
    shout(&args)
}

#[test]
fn a_runtime_on_a_newer_unicode_passes_with_one_line_saying_so() {
    let (code, stdout, stderr) = node_matrix(&[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(!stdout.contains("FAILURES"), "{stdout}");
    let notes: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("a difference of Unicode version only"))
        .collect();
    assert_eq!(notes.len(), 1, "{stdout}");
    assert!(
        notes[0].trim_start().starts_with("node server: "),
        "{stdout}"
    );
    assert!(notes[0].contains("reference Python"), "{stdout}");
    // The characters concerned are named (ƛ gained its uppercase in Unicode 16.0).
    assert!(notes[0].contains("characters: "), "{stdout}");
}

#[test]
fn a_runtime_on_a_newer_unicode_fails_when_strict_with_one_cause() {
    let (code, stdout, stderr) = node_matrix(&["--strict-unicode"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let causes: Vec<&str> = stdout.lines().filter(|l| l.starts_with("✗ ")).collect();
    assert_eq!(causes.len(), 1, "{stdout}");
    assert!(causes[0].starts_with("✗ node server — "), "{stdout}");
    assert!(
        causes[0].contains("a difference of Unicode version only"),
        "{stdout}"
    );
    // The reproduce line carries the flag that made it a failure.
    assert!(stdout.contains("--strict-unicode"), "{stdout}");
}

#[test]
fn a_declared_version_that_does_not_explain_the_replies_still_fails() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("node.toml");
    let impls = root().join("tests/fixtures/impls");
    std::fs::write(
        &manifest,
        format!(
            "[[implementation]]\nname = \"node-old\"\nlanguage = \"javascript\"\n\
             dir = \"{}\"\nunicode = \"12.1\"\n\
             udp-server = \"node correct/node/UDPServer.js {{port}}\"\n",
            impls.display()
        ),
    )
    .unwrap();
    let (code, stdout, stderr) = shout(&[
        "matrix",
        "--manifest",
        manifest.to_str().unwrap(),
        "--only",
        "node-old",
        "--transport",
        "udp",
        "--category",
        "unicode-versions",
    ]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.contains("✗ node-old server — "), "{stdout}");
    assert!(stdout.contains("follows Unicode 1"), "{stdout}");
}

#[test]
fn an_unknown_unicode_version_in_a_manifest_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("m.toml");
    std::fs::write(
        &manifest,
        "[[implementation]]\nname = \"x\"\nunicode = \"99.0\"\nudp-server = \"x {port}\"\n",
    )
    .unwrap();
    let (code, _, stderr) = shout(&["matrix", "--manifest", manifest.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("m.toml:3"), "{stderr}");
    assert!(stderr.contains("field `unicode`"), "{stderr}");
    assert!(stderr.contains("auto"), "{stderr}");
}

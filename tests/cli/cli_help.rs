//! The command line teaches itself, through the real `shout` binary: every `--help` says
//! what is required and shows examples, and mistakes (a required flag left out, a
//! misspelt placeholder, two reports to one file, a missing file) are named with the fix,
//! before anything runs.

use std::path::Path;
use std::time::Duration;

use crate::support::shout_bin;

/// Runs `shout ARGS…` in `dir`; returns the exit code, stdout and stderr.
fn shout(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = assert_cmd::Command::new(shout_bin())
        .current_dir(dir)
        .args(args)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Asserts that `args` stop with exit status 2 before running anything, saying `says`.
fn refused(dir: &Path, args: &[&str], says: &str) -> String {
    let (code, stdout, stderr) = shout(dir, args);
    assert_eq!(code, 2, "{args:?}: {stderr}");
    assert!(
        stderr.contains(says),
        "{args:?} should say {says:?}:\n{stderr}"
    );
    assert!(
        !stdout.contains("units:") && !stderr.contains("units:"),
        "{args:?}: something ran"
    );
    stderr
}

#[test]
fn every_subcommand_help_says_what_is_required_and_shows_examples() {
    let dir = tempfile::tempdir().unwrap();
    for sub in [
        "udp-server",
        "tcp-server",
        "udp-client",
        "tcp-client",
        "matrix",
        "check",
        "merge",
        "grade",
    ] {
        for flag in ["--help", "-h"] {
            let (code, help, _) = shout(dir.path(), &[sub, flag]);
            assert_eq!(code, 0, "{sub} {flag}");
            assert!(help.contains("\nRequired: "), "{sub} {flag}:\n{help}");
            let examples = help
                .split("\nExamples:\n")
                .nth(1)
                .unwrap_or_else(|| panic!("{sub} {flag} has no examples:\n{help}"));
            let shown = examples
                .lines()
                .filter(|l| l.starts_with("  ") && l.contains("shout "))
                .count();
            assert!(shown >= 2, "{sub} {flag}: {shown} examples:\n{help}");
        }
    }
    let (_, check, _) = shout(dir.path(), &["check", "--help"]);
    assert!(
        check.contains("Usage: shout check [OPTIONS] <--server <CMD>|--client <CMD>|DIR>"),
        "{check}"
    );
    assert!(
        check.contains("Required: a folder (`shout check .`), or --transport udp|tcp and one of --server 'CMD …'\nor --client 'CMD …'"),
        "{check}"
    );
    let (_, grade, _) = shout(dir.path(), &["grade", "--help"]);
    assert!(
        grade.contains("Required: DIR…, one folder per submission, and --out OUTDIR"),
        "{grade}"
    );
}

#[test]
fn check_names_the_flags_it_requires() {
    let dir = tempfile::tempdir().unwrap();
    refused(
        dir.path(),
        &["check", "--server", "x {port}"],
        "the following required arguments were not provided:\n  --transport <udp|tcp>",
    );
    refused(
        dir.path(),
        &["check", "--transport", "udp"],
        "<--server <CMD>|--client <CMD>|DIR>",
    );
}

#[test]
fn a_misspelt_placeholder_is_named_with_the_placeholders_there_are() {
    let dir = tempfile::tempdir().unwrap();
    refused(
        dir.path(),
        &[
            "check",
            "--transport",
            "udp",
            "--server",
            "python3 s.py {prot}",
        ],
        "shout: error: --server: unknown placeholder `{prot}`; the placeholders are {port}, {host}",
    );
    std::fs::write(
        dir.path().join("m.toml"),
        "[[implementation]]\nname = \"alice\"\nudp-client = \"python3 c.py {hots} {port}\"\n",
    )
    .unwrap();
    refused(
        dir.path(),
        &["matrix", "--manifest", "m.toml", "--list"],
        "m.toml:3: field `udp-client`: unknown placeholder `{hots}`; the placeholders are {port}, {host}",
    );
}

#[test]
fn two_reports_to_one_file_are_refused_naming_the_file_and_both_formats() {
    let dir = tempfile::tempdir().unwrap();
    refused(
        dir.path(),
        &[
            "matrix", "--format", "json", "--output", "./r.json", "--format", "html", "--output",
            "r.json",
        ],
        "shout: error: the json and html reports both go to r.json (as ./r.json and r.json): give each --format its own --output",
    );
    assert!(!dir.path().join("r.json").exists());
    refused(
        dir.path(),
        &[
            "merge", "a.json", "--format", "junit", "--output", "s.xml", "--format", "markdown",
            "--output", "s.xml",
        ],
        "the junit and markdown reports both go to s.xml: give each --format its own --output",
    );
}

#[test]
fn file_errors_name_the_file_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    refused(
        dir.path(),
        &["matrix", "--expectations", "known.toml"],
        "shout: error: expectations file known.toml: No such file or directory (os error 2); create it or run with --update-expectations to write it",
    );
    refused(
        dir.path(),
        &["matrix", "--manifest", "impls.toml"],
        "shout: error: manifest file impls.toml: No such file or directory (os error 2); check the --manifest path",
    );
    refused(
        dir.path(),
        &["grade", ".", "--out", "grades", "--rubric", "rubric.toml"],
        "shout: error: rubric file rubric.toml: No such file or directory (os error 2); check the --rubric path, or drop --rubric to use the built-in rubric",
    );
    std::fs::write(dir.path().join("known.toml"), "[[expect]]\nid = \"x\"\n").unwrap();
    refused(
        dir.path(),
        &["matrix", "--expectations", "known.toml"],
        "shout: error: expectations file known.toml:1: missing field `reason`",
    );
}

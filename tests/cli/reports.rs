//! Reports, expectations and shards, through the real `shout` binary: one run writes
//! every format, known failures become xfail (and xpass when fixed), and merged shards
//! equal one unsharded run.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use crate::support::{root, shout_bin};
use shout::results::Results;
use shout::verdict::Verdict;

fn wrong_manifest() -> String {
    root()
        .join("tests/fixtures/impls/wrong.toml")
        .display()
        .to_string()
}

/// Runs `shout ARGS…` in `dir`; returns the exit code and stderr.
fn shout(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = assert_cmd::Command::new(shout_bin())
        .current_dir(dir)
        .env("LC_ALL", "C.UTF-8")
        .env("PYTHONIOENCODING", "utf-8")
        .args(args)
        .timeout(Duration::from_secs(300))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn read(path: &Path) -> Results {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn verdicts(r: &Results) -> BTreeMap<String, Verdict> {
    r.results
        .iter()
        .map(|u| (u.id.clone(), u.verdict))
        .collect()
}

#[test]
fn one_run_writes_valid_junit_markdown_and_html() {
    let dir = tempfile::tempdir().unwrap();
    let m = wrong_manifest();
    let (code, err) = shout(
        dir.path(),
        &[
            "matrix",
            "--manifest",
            &m,
            "--only",
            "title-case",
            "--case",
            "hello",
            "--format",
            "junit",
            "--output",
            "j.xml",
            "--format",
            "markdown",
            "--output",
            "s.md",
            "--format",
            "html",
            "--output",
            "r.html",
            "--format",
            "json",
            "--output",
            "r.json",
        ],
    );
    assert_eq!(code, 1, "{err}");
    let results = read(&dir.path().join("r.json"));
    let failed = results.summary.failed;
    assert!(failed > 0);

    let xml = std::fs::read_to_string(dir.path().join("j.xml")).unwrap();
    let junit = quick_junit::Report::deserialize_from_str(&xml).expect("valid JUnit XML");
    assert_eq!(junit.tests, results.results.len());
    assert_eq!(junit.failures, failed);
    let suite = junit
        .test_suites
        .iter()
        .find(|s| {
            s.name
                .as_str()
                .contains("python-client × title-case-server")
        })
        .expect("a suite for the pair");
    let case = &suite.test_cases[0];
    assert_eq!(case.name.as_str(), "hello");
    assert!(case.classname.is_some());

    let md = std::fs::read_to_string(dir.path().join("s.md")).unwrap();
    assert!(md.contains("title-case"), "{md}");
    assert!(md.contains("❌"));
    assert!(
        md.contains("shout matrix"),
        "the reproduce command is in the summary"
    );

    let html = std::fs::read_to_string(dir.path().join("r.html")).unwrap();
    assert!(html.to_ascii_lowercase().starts_with("<!doctype html"));
    assert!(html.contains("title-case-server"));
    assert!(!html.contains("http://") && !html.contains("https://"));
}

#[test]
fn expectations_turn_a_known_failure_into_xfail_and_a_fixed_one_into_xpass() {
    let dir = tempfile::tempdir().unwrap();
    let m = wrong_manifest();
    let exp = dir.path().join("expect.toml");
    std::fs::write(
        &exp,
        "[[expect]]\nid = \"*title-case-server::hello\"\nreason = \"title-cases\"\n",
    )
    .unwrap();
    let args = |extra: &[&str]| -> Vec<String> {
        [
            "matrix",
            "--manifest",
            &m,
            "--only",
            "title-case",
            "--transport",
            "udp",
            "--case",
            "hello",
            "--expectations",
            exp.to_str().unwrap(),
            "--format",
            "json",
            "--output",
            "r.json",
        ]
        .iter()
        .chain(extra)
        .map(|s| s.to_string())
        .collect()
    };
    let run = |extra: &[&str]| {
        let a = args(extra);
        shout(
            dir.path(),
            &a.iter().map(String::as_str).collect::<Vec<_>>(),
        )
    };
    let (code, err) = run(&[]);
    assert_eq!(code, 0, "known failures only: {err}");
    let r = read(&dir.path().join("r.json"));
    assert!(
        r.summary.xfail > 0 && r.summary.failed == 0,
        "{:?}",
        r.summary
    );

    // The same list, but naming a unit that passes: xpass, and the run fails.
    std::fs::write(
        &exp,
        "[[expect]]\nid = \"udp::python-client::python-server::hello\"\nreason = \"stale\"\n\
         [[expect]]\nid = \"*title-case-server::hello\"\nreason = \"title-cases\"\n",
    )
    .unwrap();
    let (code, _) = run(&[]);
    assert_eq!(code, 1);
    let r = read(&dir.path().join("r.json"));
    let xpass: Vec<&str> = r
        .results
        .iter()
        .filter(|u| u.verdict == Verdict::Xpass)
        .map(|u| u.id.as_str())
        .collect();
    assert_eq!(xpass, ["udp::python-client::python-server::hello"]);

    // --update-expectations removes the stale entry, keeps the glob that still holds,
    // says what it did, and the updating run itself passes, as does the next one.
    let (code, err) = run(&["--update-expectations"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("removed `udp::python-client::python-server::hello`: it passes now"),
        "{err}"
    );
    let text = std::fs::read_to_string(&exp).unwrap();
    assert_eq!(
        text,
        "[[expect]]\nid = \"*title-case-server::hello\"\nreason = \"title-cases\"\n"
    );
    let (code, err) = run(&[]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn two_merged_shards_equal_one_unsharded_run() {
    let dir = tempfile::tempdir().unwrap();
    let m = wrong_manifest();
    let base = [
        "matrix",
        "--manifest",
        &m,
        "--only",
        "prefix",
        "--case",
        "hello",
        "--case",
        "korean",
    ];
    let run = |extra: &[&str]| {
        let args: Vec<&str> = base.iter().copied().chain(extra.iter().copied()).collect();
        shout(dir.path(), &args)
    };
    let (whole_code, _) = run(&["--format", "json", "--output", "whole.json"]);
    let whole = read(&dir.path().join("whole.json"));
    assert_eq!(whole_code, 1, "the prefix server fails");
    for kind in ["count", "hash"] {
        let mut files = Vec::new();
        for k in 1..=2 {
            let file = format!("{kind}{k}.json");
            let part = format!("{kind}:{k}/2");
            run(&["--partition", &part, "--format", "json", "--output", &file]);
            let shard = read(&dir.path().join(&file));
            assert!(shard.results.len() < whole.results.len());
            files.push(file);
        }
        let mut args = vec!["merge"];
        args.extend(files.iter().map(String::as_str));
        args.extend(["--format", "json", "--output", "merged.json"]);
        let (code, err) = shout(dir.path(), &args);
        assert_eq!(code, whole_code, "{kind}: {err}");
        let merged = read(&dir.path().join("merged.json"));
        assert_eq!(verdicts(&merged), verdicts(&whole), "{kind}");
        let (a, b) = (&merged.summary, &whole.summary);
        assert_eq!(
            (a.total, a.passed, a.failed, a.info),
            (b.total, b.passed, b.failed, b.info)
        );

        // One shard alone is not the whole run.
        let (code, err) = shout(dir.path(), &["merge", &files[0]]);
        assert_eq!(code, 2);
        assert!(err.contains("missing shard"), "{err}");
    }
}

#[test]
fn report_arguments_are_checked_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let (code, err) = shout(
        dir.path(),
        &["matrix", "--format", "junit", "--format", "html"],
    );
    assert_eq!(code, 2);
    assert!(err.contains("only one --format can go to stdout"), "{err}");
    let (code, err) = shout(dir.path(), &["matrix", "--format", "pdf"]);
    assert_eq!(code, 2);
    assert!(err.contains("junit"), "{err}");
    let (code, err) = shout(dir.path(), &["matrix", "--expectations", "missing.toml"]);
    assert_eq!(code, 2);
    assert!(err.contains("missing.toml"), "{err}");
    // A report that could not be written at the end is refused at the start.
    let dir_str = dir.path().to_str().unwrap();
    for (output, says) in [
        ("no-such-folder/r.json", "create the folder"),
        ("", "--output is empty"),
        (dir_str, "is a directory"),
    ] {
        let (code, err) = shout(
            dir.path(),
            &["matrix", "--format", "json", "--output", output],
        );
        assert_eq!(code, 2, "{output}: {err}");
        assert!(err.contains(says), "{output}: {err}");
        assert!(!err.contains("units"), "{output}: something ran: {err}");
    }
    assert!(!dir.path().join("no-such-folder").exists());
    let (code, err) = shout(dir.path(), &["matrix", "--list", "--format", "json"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--list prints the unit ids"), "{err}");
}

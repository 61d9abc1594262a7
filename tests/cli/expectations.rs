//! Known failures through the real `shout` binary: a glob holds while any unit it names
//! fails, a stale glob is one `xpass` whose reproduce line reproduces it, the terminal
//! matrix marks known failures, and `--update-expectations` edits the file in place.

use std::path::Path;
use std::time::Duration;

use crate::support::{root, shout_bin};
use shout::report::shared::Tally;
use shout::report::terminal;
use shout::results::Results;
use shout::verdict::Verdict;

/// What one run of `shout` gave.
struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `shout ARGS…` in `dir`.
fn shout(dir: &Path, args: &[&str]) -> Ran {
    let out = assert_cmd::Command::new(shout_bin())
        .current_dir(dir)
        .env("LC_ALL", "C.UTF-8")
        .env("PYTHONIOENCODING", "utf-8")
        .args(args)
        .timeout(Duration::from_secs(300))
        .output()
        .unwrap();
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Writes `impls.toml` in `dir`: two of the fixtures' wrong UDP servers, `title-case`
/// and `lower-case`, each wrong on `hello` and right on `korean` (which has no case).
fn servers(dir: &Path) {
    let fixtures = root().join("tests/fixtures/impls");
    let mut text = String::new();
    for name in ["title-case", "lower-case"] {
        text.push_str(&format!(
            "[[implementation]]\nname = \"{name}\"\nlanguage = \"python\"\ndir = {:?}\n\
             env = {{ LC_ALL = \"C.UTF-8\", PYTHONIOENCODING = \"utf-8\" }}\n\
             udp-server = \"python3 wrong/{name}/UDPServer.py {{port}}\"\n\n",
            fixtures.display().to_string()
        ));
    }
    std::fs::write(dir.join("impls.toml"), text).unwrap();
}

/// `shout matrix` over the servers of [`servers`] named in `only`, on UDP and the cases
/// `hello` and `korean`, judged by `exp.toml`, with `extra` flags.
fn matrix(dir: &Path, only: &[&str], extra: &[&str]) -> (Ran, Results) {
    servers(dir);
    let mut args = vec![
        "matrix",
        "--manifest",
        "impls.toml",
        "--transport",
        "udp",
        "--case",
        "hello",
        "--case",
        "korean",
        "--expectations",
        "exp.toml",
        "--format",
        "json",
        "--output",
        "r.json",
    ];
    for name in only {
        args.extend(["--only", name]);
    }
    args.extend(extra);
    let ran = shout(dir, &args);
    let results = serde_json::from_slice(&std::fs::read(dir.join("r.json")).unwrap())
        .unwrap_or_else(|e| panic!("{e}: {}", ran.stderr));
    (ran, results)
}

fn with(results: &Results, verdict: Verdict) -> Vec<&str> {
    results
        .results
        .iter()
        .filter(|u| u.verdict == verdict)
        .map(|u| u.id.as_str())
        .collect()
}

#[test]
fn a_cell_with_known_failures_says_so() {
    let mut t = Tally::default();
    for v in [Verdict::Pass, Verdict::Xfail, Verdict::Xfail, Verdict::Info] {
        t.add(v);
    }
    assert_eq!(terminal::cell(Some(&t)), "✓ 3/3 · 2 xfail");
    t.add(Verdict::Xpass);
    assert_eq!(terminal::cell(Some(&t)), "✗ 3/4 · 1 xpass · 2 xfail");
    assert_eq!(terminal::cell(Some(&Tally::default())), "✓ 0/0");
    assert_eq!(terminal::cell(None), "-");
}

#[test]
fn a_glob_holds_while_any_unit_fails_and_the_matrix_shows_its_xfails() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("exp.toml"),
        "[[expect]]\nid = \"*::title-case-server::*\"\nreason = \"title-cases\"\n",
    )
    .unwrap();
    let (ran, r) = matrix(dir.path(), &["title-case"], &[]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(with(&r, Verdict::Xpass).is_empty(), "{:?}", r.summary);
    let xfail = with(&r, Verdict::Xfail);
    assert!(xfail.contains(&"udp::python-client::title-case-server::hello"));
    assert!(xfail.iter().all(|id| id.ends_with("::hello")), "{xfail:?}");
    let korean = r
        .results
        .iter()
        .find(|u| u.id == "udp::python-client::title-case-server::korean")
        .unwrap();
    assert_eq!(korean.verdict, Verdict::Pass, "a passing unit of a glob");
    assert!(korean.known.is_none());
    // The terminal matrix marks the known failures in the cell.
    let row = ran
        .stdout
        .lines()
        .find(|l| l.starts_with("python ") && l.contains("xfail"))
        .unwrap_or_else(|| panic!("no python row with xfail:\n{}", ran.stdout));
    assert!(row.contains("✓ 2/2 · 1 xfail"), "{row}");
    // Every unit was judged by the file, and its reproduce line says so.
    for u in &r.results {
        assert!(
            u.reproduce.contains(" --expectations exp.toml"),
            "{}",
            u.reproduce
        );
    }
}

#[test]
fn a_stale_glob_is_one_xpass_whose_reproduce_line_reproduces_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("exp.toml"),
        "[[expect]]\nid = \"*::title-case-server::korean\"\nreason = \"once failed\"\n\
         [[expect]]\nid = \"*::title-case-server::hello\"\nreason = \"title-cases\"\n",
    )
    .unwrap();
    let (ran, r) = matrix(dir.path(), &["title-case"], &[]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let xpass: Vec<_> = r
        .results
        .iter()
        .filter(|u| u.verdict == Verdict::Xpass)
        .collect();
    assert_eq!(xpass.len(), 1, "one stale entry, reported once");
    let stale = xpass[0];
    assert_eq!(
        stale.known.as_ref().unwrap().id,
        "*::title-case-server::korean"
    );
    assert!(
        ran.stdout
            .contains("remove `*::title-case-server::korean` from the expectations"),
        "{}",
        ran.stdout
    );
    let words = shlex::split(&stale.reproduce).unwrap();
    assert_eq!(words[0], "shout");
    let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
    let again = shout(dir.path(), &args);
    assert_eq!(again.code, 1, "{}\n{}", stale.reproduce, again.stderr);
    assert!(again.stdout.contains(", 1 xpass in"), "{}", again.stdout);
}

const LIST: &str = "# Our known failures.\n\n\
    # title-case capitalises each word.\n\
    [[expect]]\nid = \"*::title-case-server::*\"\nreason = \"title-cases\"  # since 2024\n\n\
    # python fixed this.\n\
    [[expect]]\nid = \"udp::python-client::python-server::hello\"\nreason = \"stale\"\n\n\
    # bob runs in another job.\n\
    [[expect]]\nid = \"*::bob-server::*\"\nreason = \"bob's own\"\n";

#[test]
fn updating_keeps_comments_and_globs_adds_new_failures_and_the_updating_run_passes() {
    let dir = tempfile::tempdir().unwrap();
    let exp = dir.path().join("exp.toml");
    std::fs::write(&exp, LIST).unwrap();
    let (ran, r) = matrix(
        dir.path(),
        &["title-case", "lower-case"],
        &["--update-expectations"],
    );
    assert_eq!(
        ran.code, 0,
        "the file now describes the run: {}",
        ran.stderr
    );
    assert!(r.summary.xfail > 0 && r.summary.failed == 0 && r.summary.xpass == 0);
    for said in [
        "shout: updated the expectations file exp.toml",
        "removed `udp::python-client::python-server::hello`: it passes now",
        "added `udp::python-client::lower-case-server::hello`: a new failure",
        "kept `*::bob-server::*`: it names no unit of this run",
    ] {
        assert!(ran.stderr.contains(said), "{said}:\n{}", ran.stderr);
    }
    let text = std::fs::read_to_string(&exp).unwrap();
    assert!(
        text.starts_with(
            "# Our known failures.\n\n# title-case capitalises each word.\n[[expect]]\nid = \"*::title-case-server::*\"\nreason = \"title-cases\"  # since 2024\n\n# bob runs in another job.\n[[expect]]\nid = \"*::bob-server::*\""
        ),
        "{text}"
    );
    assert!(!text.contains("python fixed this"), "{text}");
    assert!(
        text.contains(
            "\n[[expect]]\nid = \"udp::python-client::lower-case-server::hello\"\nreason = \""
        ),
        "{text}"
    );
    assert!(!text.contains("lower-case-server::korean"), "{text}");
    // Updating again changes nothing.
    let (ran, _) = matrix(
        dir.path(),
        &["title-case", "lower-case"],
        &["--update-expectations"],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("already describes this run"),
        "{}",
        ran.stderr
    );
    assert_eq!(std::fs::read_to_string(&exp).unwrap(), text);
}

#[test]
fn updating_creates_a_missing_file_and_refuses_a_missing_folder_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let (ran, r) = matrix(dir.path(), &["title-case"], &["--update-expectations"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(r.summary.failed, 0);
    let text = std::fs::read_to_string(dir.path().join("exp.toml")).unwrap();
    assert!(text.starts_with("# Known failures"), "{text}");
    assert!(
        text.contains("id = \"udp::python-client::title-case-server::hello\""),
        "{text}"
    );

    let ran = shout(
        dir.path(),
        &[
            "matrix",
            "--expectations",
            "no-such-folder/exp.toml",
            "--update-expectations",
        ],
    );
    assert_eq!(ran.code, 2);
    assert!(
        ran.stderr.contains(
            "cannot write the expectations file no-such-folder/exp.toml: No such file or directory"
        ),
        "{}",
        ran.stderr
    );
    assert!(
        !ran.stderr.contains("units"),
        "something ran: {}",
        ran.stderr
    );
}

#[test]
fn a_glob_whose_failures_are_in_another_shard_is_judged_by_the_merge() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("exp.toml"),
        "[[expect]]\nid = \"*::title-case-server::*\"\nreason = \"title-cases\"\n",
    )
    .unwrap();
    let mut deferred = false;
    let mut shards = Vec::new();
    for k in 1..=2 {
        let part = format!("count:{k}/2");
        let (ran, r) = matrix(dir.path(), &["title-case"], &["--partition", &part]);
        assert!(ran.code < 2, "{}", ran.stderr);
        assert!(
            with(&r, Verdict::Xpass).is_empty(),
            "{part}: {:?}",
            r.summary
        );
        deferred |= ran
            .stderr
            .contains("has no failing unit in this shard; `shout merge --expectations` judges it");
        let file = format!("{k}.json");
        std::fs::rename(dir.path().join("r.json"), dir.path().join(&file)).unwrap();
        shards.push(file);
    }
    assert!(deferred, "the count shards split hello from korean");
    let ran = shout(
        dir.path(),
        &[
            "merge",
            &shards[0],
            &shards[1],
            "--expectations",
            "exp.toml",
            "--format",
            "json",
            "--output",
            "merged.json",
        ],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let merged: Results =
        serde_json::from_slice(&std::fs::read(dir.path().join("merged.json")).unwrap()).unwrap();
    assert_eq!(merged.summary.xpass, 0);
    assert!(merged.summary.xfail > 0);
    for u in &merged.results {
        assert_eq!(
            u.reproduce.matches("--expectations").count(),
            1,
            "{}",
            u.reproduce
        );
    }
}

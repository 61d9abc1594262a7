//! `shout grade` on the fixture submissions: scores, sentences a student reads, and the
//! gradebook files.

use std::time::Duration;

use crate::support::{root, shout_bin, WAIT};
use shout::grade::gradebook::validate_gradescope;

#[test]
fn grades_a_faithful_a_buggy_and_an_incomplete_submission() {
    let out = tempfile::tempdir().unwrap();
    let fixtures = root().join("tests/fixtures/submissions");
    let result = assert_cmd::Command::new(shout_bin())
        .arg("grade")
        .args(["py3-faithful", "bug-title", "missing-role"].map(|n| fixtures.join(n)))
        .arg("--out")
        .arg(out.path())
        .timeout(Duration::from_secs(600))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(0), "{stderr}");
    // None of these programs leaves anything running: no note says otherwise.
    assert!(!stderr.contains("left running"), "{stderr}");

    let csv = std::fs::read_to_string(out.path().join("grades.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 4, "a header and one row per submission:\n{csv}");
    let row = |name: &str| -> Vec<String> {
        rows.iter()
            .find(|r| r.starts_with(&format!("{name},")))
            .unwrap_or_else(|| panic!("no row for {name}:\n{csv}"))
            .split(',')
            .map(str::to_string)
            .collect()
    };
    // submission,language,udp-server,udp-client,tcp-server,tcp-client,total,max,…
    let faithful = row("py3-faithful");
    assert_eq!(
        faithful[6], faithful[7],
        "the textbook code earns every point: {faithful:?}"
    );
    let title = row("bug-title");
    let udp_server: f64 = title[2].parse().unwrap();
    assert!(
        udp_server < 10.0,
        "a title-casing server loses most points: {title:?}"
    );
    assert_eq!(title[3], "18", "its client is correct: {title:?}");
    let missing = row("missing-role");
    assert_eq!(
        (missing[4].as_str(), missing[5].as_str()),
        ("0", "0"),
        "{missing:?}"
    );

    for name in ["py3-faithful", "bug-title", "missing-role"] {
        let json: serde_json::Value = serde_json::from_slice(
            &std::fs::read(out.path().join(name).join("results.json")).unwrap(),
        )
        .unwrap();
        validate_gradescope(&json).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let md = std::fs::read_to_string(out.path().join("grades.md")).unwrap();
    assert!(md.contains("title-cased"), "{md}");
    assert!(md.contains("no TCP client"), "{md}");
}

/// One submission's row of `grades.csv`: submission, language, the four roles' points,
/// total, max, first problem.
fn csv_rows(out: &std::path::Path) -> Vec<Vec<String>> {
    let csv = std::fs::read_to_string(out.join("grades.csv")).unwrap();
    csv.lines()
        .skip(1)
        .map(|l| {
            // The first problem is the last column and may hold commas (quoted).
            let mut cells: Vec<String> = l.splitn(9, ',').map(str::to_string).collect();
            cells.resize(9, String::new());
            cells
        })
        .collect()
}

#[test]
fn grades_a_mixed_class_in_parallel_with_a_sentence_for_each_bug() {
    let out = tempfile::tempdir().unwrap();
    // Grading's scratch folder (and so every student's work folder) goes here, so that
    // what this run leaves behind can be told from other tests' runs.
    let scratch = tempfile::tempdir().unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(scratch.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let fixtures = root().join("tests/fixtures/submissions");
    let class = [
        "py3-placeholder",
        "py2",
        "c-sockets",
        "bug-newline",
        "bug-upper-client",
        "bug-other-port",
        "bug-whole-buffer",
        "go-server",
        "hostile-never-exits",
        "hostile-flood",
        "hostile-fork",
        "hostile-never-binds",
        "hostile-ignore-term",
        "java-textbook",
        "js-node",
    ];
    let result = assert_cmd::Command::new(shout_bin())
        .arg("grade")
        .args(class.map(|n| fixtures.join(n)))
        // A file among the folders is skipped, not graded.
        .arg(fixtures.join("README.md"))
        .arg("--out")
        .arg(out.path())
        .args(["--jobs", "4"])
        .env("TMPDIR", scratch.path())
        .timeout(Duration::from_secs(600))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(stderr.contains("skipping"), "{stderr}");
    // No thread of the grader may die on the way, even where the class's results survive.
    assert!(!stderr.contains("panicked"), "{stderr}");
    let go_missing = which::which("go").is_err();
    if go_missing {
        // The grader is told at once that this machine, not the student, lacks Go: the
        // Go roles are not graded (not scored 0), and the run is incomplete.
        assert_eq!(result.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("not graded: go-server on the roles that need it"),
            "{stderr}"
        );
    } else {
        assert_eq!(result.status.code(), Some(0), "{stderr}");
    }
    let rows = csv_rows(out.path());
    assert_eq!(rows.len(), class.len(), "one row per folder: {rows:?}");
    let row = |name: &str| -> &Vec<String> {
        rows.iter()
            .find(|r| r[0] == name)
            .unwrap_or_else(|| panic!("no row for {name}: {rows:?}"))
    };
    if go_missing {
        // Its roles say why instead of a score, and are out of its maximum.
        let go = row("go-server");
        assert!(
            go[2..6].iter().any(|c| c.starts_with("not graded: ")),
            "{go:?}"
        );
        assert_ne!(go[7], "76", "{go:?}");
    }
    // At least 17 of a client's 18 points (a C client stops at a NUL byte, an edge case).
    let nearly_full = |name: &str, col: usize| {
        let r = row(name);
        let points: f64 = r[col].parse().unwrap();
        assert!(points >= 17.0, "{name}, column {col}: {r:?}");
    };
    // Textbook code with the textbook's placeholder host names earns every point.
    assert_eq!(row("py3-placeholder")[6], row("py3-placeholder")[7]);
    // Python 2 runs; its servers only uppercase ASCII, its clients are correct.
    assert_eq!(row("py2")[1], "Python 2");
    nearly_full("py2", 3);
    nearly_full("py2", 5);
    assert!(row("py2")[8].contains("only ASCII"), "{:?}", row("py2"));
    // C builds and runs; the TCP client's one-space prefix is decoration by default.
    assert_eq!(row("c-sockets")[1], "C");
    nearly_full("c-sockets", 3);
    nearly_full("c-sockets", 5);
    let md = std::fs::read_to_string(out.path().join("grades.md")).unwrap();
    for (name, sentence) in [
        ("bug-newline", "added a newline"),
        ("bug-upper-client", "uppercased the text before sending"),
        ("bug-other-port", "different port"),
        ("bug-whole-buffer", "whole 1024-byte buffer"),
        ("go-server", "`go` is not installed"),
    ] {
        assert!(
            row(name)[8].contains(sentence),
            "{name}: expected a sentence with `{sentence}`: {:?}",
            row(name)
        );
        // grades.md escapes Markdown (the backticks too), so the sentence shows as text.
        assert!(md.contains(&shout::text::markdown_text(sentence)), "{md}");
    }
    // A client that prints the reply and never exits loses its points and is stopped.
    let never =
        std::fs::read_to_string(out.path().join("hostile-never-exits").join("results.json"))
            .unwrap();
    assert!(never.contains("did not exit"), "{never}");
    assert_eq!(row("hostile-never-exits")[6], "0");
    // A client that floods its output loses its points whatever it printed first, and
    // the first thing to fix is its own failure, not the roles it lacks.
    assert_eq!(row("hostile-flood")[3], "0", "{:?}", row("hostile-flood"));
    assert!(
        row("hostile-flood")[8].contains("kept printing"),
        "{:?}",
        row("hostile-flood")
    );
    // A server that forks without end is contained, stopped and told so.
    assert_eq!(row("hostile-fork")[4], "0", "{:?}", row("hostile-fork"));
    assert!(
        row("hostile-fork")[8].contains("started too many processes"),
        "{:?}",
        row("hostile-fork")
    );
    // A server that never binds is waited for once, then told so.
    assert!(
        row("hostile-never-binds")[8].contains("never started listening"),
        "{:?}",
        row("hostile-never-binds")
    );
    // A correct server that ignores SIGTERM keeps its points; it is killed at the end.
    assert_eq!(
        row("hostile-ignore-term")[2],
        "20",
        "{:?}",
        row("hostile-ignore-term")
    );
    // Nothing a submission started is still running.
    let left: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
        // Student programs run in work folders inside grading's scratch folder.
        .filter_map(|e| std::fs::read_link(e.path().join("cwd")).ok())
        .map(|cwd| cwd.display().to_string())
        .filter(|cwd| cwd.starts_with(&scratch.path().display().to_string()))
        .collect();
    assert!(left.is_empty(), "left running: {left:?}");
    // The textbook's Java programs build and run (where a JDK is installed) and lose
    // points for the textbook's own Java bugs; Node's differ from the reference only on
    // edge cases.
    let java = row("java-textbook");
    if which::which("javac").is_ok() && which::which("java").is_ok() {
        assert!(
            java[8].contains("whole 1024-byte receive buffer"),
            "{java:?}"
        );
        let tcp_server: f64 = java[4].parse().unwrap();
        assert!(tcp_server < 10.0, "the newline-framed TCP server: {java:?}");
        let tcp =
            std::fs::read_to_string(out.path().join("java-textbook").join("results.json")).unwrap();
        // Named by what it waits for. Whether its death after the client gave up was seen
        // first still decides between the two wordings (a timing race, not yet removed).
        assert!(
            tcp.contains("waits for a newline")
                || tcp.contains("waits for more input, such as a newline"),
            "{tcp}"
        );
        // `writeBytes` sends one character per write: a server reading once gets one.
        assert!(
            tcp.contains("TCP client sent the line in several writes"),
            "{tcp}"
        );
    } else {
        assert!(java[8].contains("not installed"), "{java:?}");
    }
    let node = row("js-node");
    if which::which("node").is_ok() {
        let total: f64 = node[6].parse().unwrap();
        assert!(total >= 70.0, "{node:?}");
    }
    // Every sentence comes with a command that reruns just that case, in the student's
    // own folder: no path of the grader's in it.
    let title =
        std::fs::read_to_string(out.path().join("bug-newline").join("results.json")).unwrap();
    assert!(title.contains("rerun:    shout check . --case "), "{title}");
    assert!(!title.contains("fixtures/submissions"), "{title}");
    for name in class {
        let json: serde_json::Value = serde_json::from_slice(
            &std::fs::read(out.path().join(name).join("results.json")).unwrap(),
        )
        .unwrap();
        validate_gradescope(&json).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

/// The grader's own mistakes (an interpreter that is not there, a case that does not
/// exist) stop the run before any submission is graded.
#[test]
fn bad_grader_options_stop_before_any_submission_is_graded() {
    let fixtures = root().join("tests/fixtures/submissions");
    let out = tempfile::tempdir().unwrap();
    for (args, says) in [
        (["--python", "/no/such/python3"], "/no/such/python3"),
        (
            ["--case", "no-such-case"],
            "--case no-such-case matches no case",
        ),
    ] {
        let done = assert_cmd::Command::new(shout_bin())
            .arg("grade")
            .arg(fixtures.join("py3-faithful"))
            .arg("--out")
            .arg(out.path())
            .args(args)
            .timeout(WAIT)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&done.stderr);
        assert_eq!(done.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
        assert!(!stderr.contains("graded py3-faithful"), "{stderr}");
        assert!(!out.path().join("py3-faithful").exists());
    }
}

/// The Gradescope entry point writes the submission's results where Gradescope reads
/// them, and a zero with a message when grading itself fails.
#[test]
fn the_gradescope_entry_point_writes_results_json_even_when_grading_fails() {
    let script = root().join("tools/gradescope/run_autograder");
    let run = |shout: &std::path::Path, submission: &str| {
        let ag = tempfile::tempdir().unwrap();
        let sub = ag.path().join("submission");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::create_dir_all(ag.path().join("source")).unwrap();
        let from = root().join("tests/fixtures/submissions").join(submission);
        for f in std::fs::read_dir(from).unwrap().flatten() {
            std::fs::copy(f.path(), sub.join(f.file_name())).unwrap();
        }
        assert_cmd::Command::new("bash")
            .arg(&script)
            .env("SHOUT", shout)
            .env("AUTOGRADER_ROOT", ag.path())
            .timeout(Duration::from_secs(600))
            .assert()
            .success();
        let text = std::fs::read_to_string(ag.path().join("results/results.json")).unwrap();
        let kept = cache_files(&ag.path().join("shout-cache"));
        (
            serde_json::from_str::<serde_json::Value>(&text).unwrap(),
            kept,
        )
    };
    let (graded, kept) = run(&shout_bin(), "missing-role");
    validate_gradescope(&graded).unwrap();
    assert_eq!(graded["score"].as_f64(), Some(38.0), "{graded}");
    // It keeps the reference's units where the image's warm-up puts them.
    assert_eq!(kept, 1, "reference files in AUTOGRADER_ROOT/shout-cache");
    let (failed, _) = run(std::path::Path::new("/bin/false"), "missing-role");
    validate_gradescope(&failed).unwrap();
    assert_eq!(failed["score"].as_f64(), Some(0.0), "{failed}");
    assert!(
        failed["output"]
            .as_str()
            .unwrap_or_default()
            .contains("could not run"),
        "{failed}"
    );
}

/// How many reference cache files `dir` holds.
fn cache_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| {
        d.flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("reference-"))
            .count()
    })
}

/// The image's warm-up fills the cache the entry point reads with every reference unit a
/// student's grading needs: a submission graded after it runs none of them. It refuses a
/// folder without the reference scripts.
#[test]
fn the_gradescope_warm_up_leaves_no_reference_unit_for_a_student_to_run() {
    let script = root().join("tools/gradescope/warm_cache");
    let ag = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(ag.path().join("source")).unwrap();
    let warm = |from: &std::path::Path| {
        assert_cmd::Command::new("bash")
            .arg(&script)
            .arg(from)
            .env("SHOUT", shout_bin())
            .env("AUTOGRADER_ROOT", ag.path())
            .timeout(Duration::from_secs(600))
            .output()
            .unwrap()
    };
    let refused = warm(&root().join("tests"));
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("has no UDPClient.py"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let warmed = warm(&root().join("reference"));
    assert!(
        warmed.status.success(),
        "{}",
        String::from_utf8_lossy(&warmed.stderr)
    );
    let cache = ag.path().join("shout-cache");
    assert_eq!(cache_files(&cache), 1);
    let out = tempfile::tempdir().unwrap();
    let graded = assert_cmd::Command::new(shout_bin())
        .arg("grade")
        .arg(root().join("tests/fixtures/submissions/py3-faithful"))
        .arg("--out")
        .arg(out.path())
        .arg("--cache-dir")
        .arg(&cache)
        .timeout(WAIT)
        .output()
        .unwrap();
    assert!(
        graded.status.success(),
        "{}",
        String::from_utf8_lossy(&graded.stderr)
    );
    let text = std::fs::read_to_string(out.path().join("py3-faithful/shout.json")).unwrap();
    let results: shout::results::Results = serde_json::from_str(&text).unwrap();
    let used = results.cache.expect("the cache is reported");
    assert_eq!(
        used.ran, 0,
        "reference units run after the warm-up: {used:?}"
    );
    assert!(used.reused > 0, "{used:?}");
}

//! The one headline a student reads first ("First thing to fix") names the root cause
//! of a bug, not one of its symptoms: a server that echoes its input is told so, not
//! that it lowercased the text, and a server that accepts one connection is told it
//! stops accepting, not that it never replied.

use std::time::Duration;

use crate::support::{root, shout_bin};

/// Grades `names` (folders of tests/fixtures/submissions) on a few cases; returns each
/// one's first-problem cell and its Gradescope feedback.
fn headlines(names: &[&str]) -> Vec<(String, String, String)> {
    let out = tempfile::tempdir().unwrap();
    let fixtures = root().join("tests/fixtures/submissions");
    let result = assert_cmd::Command::new(shout_bin())
        .arg("grade")
        .args(names.iter().map(|n| fixtures.join(n)))
        .args([
            "--case",
            "hello",
            "--case",
            "sentence",
            "--case",
            "mixed-case",
        ])
        .arg("--out")
        .arg(out.path())
        .timeout(Duration::from_secs(600))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        matches!(result.status.code(), Some(0 | 1)),
        "exit {:?}: {stderr}",
        result.status.code()
    );
    let csv = std::fs::read_to_string(out.path().join("grades.csv")).unwrap();
    csv.lines()
        .skip(1)
        .map(|l| {
            let cells: Vec<&str> = l.splitn(9, ',').collect();
            let feedback =
                std::fs::read_to_string(out.path().join(cells[0]).join("results.json")).unwrap();
            (cells[0].to_string(), cells[8].to_string(), feedback)
        })
        .collect()
}

#[test]
fn an_echo_server_and_a_single_accept_server_get_the_headline_of_their_cause() {
    let rows = headlines(&["bug-echo-server", "bug-single-accept"]);
    let row = |name: &str| {
        rows.iter()
            .find(|r| r.0 == name)
            .unwrap_or_else(|| panic!("no row for {name}: {rows:?}"))
    };
    let (_, echo, feedback) = row("bug-echo-server");
    assert!(
        echo.contains("Your UDP server sent the text back without uppercasing it"),
        "{echo}"
    );
    // No sentence below contradicts it.
    assert!(!feedback.contains("lowercase"), "{feedback}");
    let (_, single, feedback) = row("bug-single-accept");
    assert!(
        single.contains("Your TCP server left new connections waiting unaccepted"),
        "{single}"
    );
    assert!(!single.contains("never replied"), "{single}");
    assert!(!feedback.contains("never replied"), "{feedback}");
}

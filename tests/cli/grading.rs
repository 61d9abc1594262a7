//! `shout grade` on the fixture submissions: scores, sentences a student reads, and the
//! gradebook files.

use std::time::Duration;

use crate::support::{root, shout_bin};
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

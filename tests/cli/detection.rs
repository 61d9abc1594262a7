//! `shout grade` on submissions whose shape detection must read right: Java in a package,
//! Python 2 clients beside Python 3 servers, clients that bind, ports written as strings,
//! two files for one role, and a language this machine cannot build.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::support::root;

/// One gradebook row: the CSV's header names to their cells.
type Row = BTreeMap<String, String>;

/// Grades the fixture submissions `names` together; their rows by submission name, the
/// exit status, and stderr.
fn grade(names: &[&str]) -> (BTreeMap<String, Row>, Option<i32>, String) {
    let out = tempfile::tempdir().unwrap();
    let fixtures = root().join("tests/fixtures/submissions");
    let result = assert_cmd::Command::new(crate::support::shout_bin())
        .arg("grade")
        .args(names.iter().map(|n| fixtures.join(n)))
        .arg("--out")
        .arg(out.path())
        .timeout(Duration::from_secs(900))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr).into_owned();
    let csv = std::fs::read_to_string(out.path().join("grades.csv"))
        .unwrap_or_else(|e| panic!("no grades.csv ({e}):\n{stderr}"));
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let rows = lines
        .map(|line| {
            let row: Row = header
                .iter()
                .zip(line.split(','))
                .map(|(h, c)| (h.to_string(), c.to_string()))
                .collect();
            (row["submission"].clone(), row)
        })
        .collect();
    (rows, result.status.code(), stderr)
}

#[test]
fn java_in_a_package_earns_every_point() {
    let (rows, code, stderr) = grade(&["java-package"]);
    let row = &rows["java-package"];
    assert_eq!(row["total"], row["max"], "{row:?}\n{stderr}");
    assert_eq!(code, Some(0), "{stderr}");
}

//! `shout grade` on submissions whose shape detection must read right: Java in a package,
//! Python 2 clients beside Python 3 servers, clients that bind, ports written as strings,
//! two files for one role, and a language this machine cannot build.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::support::root;

/// One gradebook row: the CSV's header names to their cells.
type Row = BTreeMap<String, String>;

/// What grading a few fixture submissions together gave.
struct Graded {
    /// The gradebook's rows, by submission name.
    rows: BTreeMap<String, Row>,
    code: Option<i32>,
    stderr: String,
    out: tempfile::TempDir,
}

impl Graded {
    /// The feedback file of submission `name`, as text.
    fn feedback(&self, name: &str) -> String {
        std::fs::read_to_string(self.out.path().join(name).join("results.json"))
            .unwrap_or_else(|e| panic!("{name}: no results.json ({e})"))
    }
}

/// Grades the fixture submissions `names` together.
fn grade(names: &[&str]) -> Graded {
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
    Graded {
        rows,
        code: result.status.code(),
        stderr,
        out,
    }
}

#[test]
fn package_declared_java_and_mixed_python_earn_every_point() {
    let graded = grade(&["java-package", "py-mixed"]);
    let stderr = &graded.stderr;
    for name in ["java-package", "py-mixed"] {
        let row = &graded.rows[name];
        assert_eq!(row["total"], row["max"], "{name}: {row:?}\n{stderr}");
    }
    assert_eq!(graded.code, Some(0), "{stderr}");
    let mixed = graded.feedback("py-mixed");
    for note in [
        "UDPClient.py: runs under Python 2: it uses raw_input",
        "TCPServer.py: runs under Python 3: it uses .encode() and .decode()",
    ] {
        assert!(
            mixed.contains(note),
            "the feedback names the interpreter: {mixed}"
        );
    }
}

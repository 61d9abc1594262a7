//! `shout grade` on submissions whose shape detection must read right: Java in a package,
//! Python 2 clients beside Python 3 servers, clients that bind, ports written as strings,
//! two files for one role, and a language this machine cannot build.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::support::root;

/// One gradebook row: the CSV's header names to their cells.
pub(crate) type Row = BTreeMap<String, String>;

/// What grading a few fixture submissions together gave.
pub(crate) struct Graded {
    /// The gradebook's rows, by submission name.
    pub(crate) rows: BTreeMap<String, Row>,
    pub(crate) code: Option<i32>,
    pub(crate) stderr: String,
    pub(crate) out: tempfile::TempDir,
}

impl Graded {
    /// The feedback file of submission `name`, as text.
    pub(crate) fn feedback(&self, name: &str) -> String {
        std::fs::read_to_string(self.out.path().join(name).join("results.json"))
            .unwrap_or_else(|e| panic!("{name}: no results.json ({e})"))
    }
}

/// Grades the fixture submissions `names` together.
fn grade(names: &[&str]) -> Graded {
    grade_with(names, &[])
}

/// Grades the fixture submissions `names` together, with `args` after `grade`'s own.
pub(crate) fn grade_with(names: &[&str], args: &[&str]) -> Graded {
    let out = tempfile::tempdir().unwrap();
    let fixtures = root().join("tests/fixtures/submissions");
    let result = assert_cmd::Command::new(crate::support::shout_bin())
        .arg("grade")
        .args(names.iter().map(|n| fixtures.join(n)))
        .args(args)
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

#[test]
fn clients_that_bind_and_two_servers_for_one_role_are_graded_as_what_they_do() {
    let graded = grade(&[
        "c-bind-client",
        "py-two-servers",
        "py-two-udp-servers",
        "go-listenpacket",
    ]);
    let stderr = &graded.stderr;

    // Both C clients earn every point: the UDP one binds a local port before it sends,
    // the TCP one names its port as a string. It has no server.
    let c = &graded.rows["c-bind-client"];
    assert_eq!(
        (c["udp-client"].as_str(), c["tcp-client"].as_str()),
        ("18", "18"),
        "{c:?}\n{stderr}"
    );
    assert!(c["first_problem"].contains("no UDP server found"), "{c:?}");

    // The server the client talks to is graded, and the feedback names both files.
    let two = &graded.rows["py-two-servers"];
    assert_eq!(two["total"], two["max"], "{two:?}\n{stderr}");
    let feedback = graded.feedback("py-two-servers");
    assert!(
        feedback
            .contains("TCPServer_v2.py and TCPServer.py both play it; TCPServer_v2.py is graded"),
        "{feedback}"
    );

    // Two UDP servers on one port, which the code cannot tell apart: the better-named
    // one uppercases only ASCII, the other is right. Both are graded; the right one is
    // kept, and the feedback says so.
    let both = &graded.rows["py-two-udp-servers"];
    assert_eq!(both["udp-server"], "20", "{both:?}\n{stderr}");
    assert_eq!(both["total"], both["max"], "{both:?}\n{stderr}");
    let feedback = graded.feedback("py-two-udp-servers");
    assert!(
        feedback.contains("graded both UDPServer.py and server_fixed.py; kept server_fixed.py"),
        "{feedback}"
    );

    // Go is not installed here: all four roles are found, and the reason is the
    // toolchain, not a missing role.
    let go = &graded.rows["go-listenpacket"];
    if which::which("go").is_err() {
        assert!(
            go["first_problem"].contains("`go` is not installed"),
            "{go:?}"
        );
        let feedback = graded.feedback("go-listenpacket");
        for absent in ["server found", "client found"] {
            assert!(
                !feedback.contains(absent),
                "every Go role was found: {feedback}"
            );
        }
    }
}

#[test]
fn a_class_folder_given_as_one_submission_is_refused_with_the_command_meant() {
    let class = tempfile::tempdir().unwrap();
    let fixtures = root().join("tests/fixtures/submissions");
    for name in ["py3-faithful", "py2", "c-sockets"] {
        let to = class.path().join(name);
        std::fs::create_dir_all(&to).unwrap();
        for f in std::fs::read_dir(fixtures.join(name)).unwrap().flatten() {
            std::fs::copy(f.path(), to.join(f.file_name())).unwrap();
        }
    }
    let out = tempfile::tempdir().unwrap();
    let result = assert_cmd::Command::new(crate::support::shout_bin())
        .arg("grade")
        .arg(class.path())
        .arg("--out")
        .arg(out.path().join("grades"))
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("holds 3 folders with programs"), "{stderr}");
    assert!(stderr.contains("/* --out"), "{stderr}");
    assert!(
        !out.path().join("grades").exists(),
        "nothing graded: {stderr}"
    );
}

//! `shout check` of a server whose port is written in (the textbook's `serverPort =
//! 12000`, no `{port}`): each server gets a network namespace of its own, as root or, for
//! an ordinary user, inside a user namespace of shout's own.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use crate::support::{python3, python_for_nobody, reference, shout_bin};

/// A folder readable by everyone holding the reference TCP server (port 12000 written
/// in), with `edit` applied to its text.
fn server_folder(edit: impl Fn(String) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(reference("TCPServer.py")).unwrap();
    // As the textbook prints it: the port is only written in.
    let argv = "int(sys.argv[1]) if len(sys.argv) > 1 else 12000";
    assert!(text.contains(argv), "the reference changed");
    let text = text.replace(argv, "12000");
    std::fs::write(dir.path().join("TCPServer.py"), edit(text)).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn check(prefix: &[&str], dir: &Path, python: &Path, extra: &[&str]) -> (i32, String, String) {
    let server = format!("{} TCPServer.py", python.display());
    let mut cmd = assert_cmd::Command::new(prefix.first().map_or(shout_bin(), PathBuf::from));
    cmd.args(prefix.iter().skip(1))
        .args(if prefix.is_empty() {
            Vec::new()
        } else {
            vec![shout_bin().display().to_string()]
        })
        .args(["check", "--transport", "tcp", "--server", &server])
        .args([
            "--case",
            "hello",
            "--case",
            "korean",
            "--case",
            "empty-line",
        ])
        .args(extra)
        .current_dir(dir)
        .env("LC_ALL", "C.UTF-8")
        .timeout(Duration::from_secs(300));
    let out: Output = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_server_with_its_port_written_in_is_checked_side_by_side_and_still_judged() {
    let good = server_folder(|t| t);
    let python = python3().path;
    let (code, stdout, stderr) = check(&[], good.path(), &python, &["--jobs", "3"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stderr.contains("network namespace of its own"), "{stderr}");
    assert!(
        stdout.contains(" 0 failed") && stdout.contains(" 0 skipped"),
        "{stdout}"
    );

    let lower = server_folder(|t| t.replace(".upper()", ".lower()"));
    let (code, stdout, _) = check(&[], lower.path(), &python, &["--jobs", "3"]);
    assert_eq!(code, 1, "a lowercasing server passed:\n{stdout}");
    assert!(stdout.contains("candidate"), "{stdout}");
}

#[test]
fn an_ordinary_user_checks_a_textbook_server_without_root() {
    // SAFETY: geteuid(2) cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        // Already an ordinary user: the plain run above is this test.
        let dir = server_folder(|t| t);
        let (code, _, stderr) = check(&[], dir.path(), &python3().path, &[]);
        assert_eq!(code, 0, "{stderr}");
        return;
    }
    let Some(python) = python_for_nobody() else {
        eprintln!("no CPython 3 here that user 65534 can run: not tried as an ordinary user");
        return;
    };
    let dir = server_folder(|t| t);
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    std::os::unix::fs::chown(&home, Some(65534), Some(65534)).unwrap();
    let home_var = format!("HOME={}", home.display());
    let prefix = [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "env",
        &home_var,
    ];
    let python_flag = python.display().to_string();
    let (code, stdout, stderr) = check(&prefix, dir.path(), &python, &["--python", &python_flag]);
    if stderr.contains("no network namespace is available") {
        eprintln!("user namespaces are disabled here: {stderr}");
        assert_eq!(
            code, 0,
            "one at a time, it must still pass:\n{stdout}\n{stderr}"
        );
        return;
    }
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stderr.contains("inside a user namespace"), "{stderr}");
    // Its cache went to the user's own home, owned by that user.
    let cache = home.join(".cache/shout");
    let entry = std::fs::read_dir(&cache).unwrap().next().unwrap().unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!(entry.metadata().unwrap().uid(), 65534);
}

#[test]
fn an_ordinary_user_grades_a_textbook_submission_with_full_marks() {
    // SAFETY: geteuid(2) cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("not root: the other tests here already run as an ordinary user");
        return;
    }
    let Some(python) = python_for_nobody() else {
        eprintln!("no CPython 3 here that user 65534 can run: not tried as an ordinary user");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let student = dir.path().join("textbook");
    std::fs::create_dir(&student).unwrap();
    let fixture = crate::support::root().join("tests/fixtures/submissions/py3-faithful");
    for e in std::fs::read_dir(fixture).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), student.join(e.file_name())).unwrap();
    }
    std::fs::set_permissions(&student, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = dir.path().join("out");
    let result = assert_cmd::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "env"])
        .arg(format!("HOME={}", dir.path().display()))
        .arg(shout_bin())
        .arg("grade")
        .arg(&student)
        .arg("--out")
        .arg(&out)
        .arg("--python")
        .arg(&python)
        // Without root some layers are missing: strict mode refuses, rightly.
        .args(["--isolation", "best-effort"])
        .timeout(Duration::from_secs(600))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(0), "{stderr}");
    let csv = std::fs::read_to_string(out.join("grades.csv")).unwrap();
    let row = csv.lines().nth(1).unwrap();
    assert!(
        row.starts_with("textbook,Python 3,20,18,20,18,76,76,"),
        "{row}\n{stderr}"
    );
}

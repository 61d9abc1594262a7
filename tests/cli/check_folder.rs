//! `shout check DIR`: a student's own folder, checked as `shout grade` grades it, with
//! the feedback on the terminal and reruns the student can type in that folder.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use crate::support::root;

fn submission(name: &str) -> std::path::PathBuf {
    root().join("tests/fixtures/submissions").join(name)
}

fn check(prefix: &[&str], dir: &Path, args: &[&str]) -> (i32, String, String) {
    let exe = crate::support::shout_bin().display().to_string();
    let argv: Vec<&str> = prefix.iter().copied().chain([exe.as_str()]).collect();
    let out = assert_cmd::Command::new(argv[0])
        .args(&argv[1..])
        .args(["check", "."])
        .args(args)
        .current_dir(dir)
        .env("LC_ALL", "C.UTF-8")
        .timeout(Duration::from_secs(600))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_faithful_folder_gets_every_point_and_a_buggy_one_is_told_why() {
    let (code, stdout, stderr) = check(&[], &submission("py3-faithful"), &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("Total: 76 / 76 points."), "{stdout}");
    assert!(stdout.contains("✓ TCP server — core: 10 / 10"), "{stdout}");

    let (code, stdout, stderr) = check(&[], &submission("bug-title"), &[]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stdout.contains("✗ "), "{stdout}");
    assert!(
        stdout.contains("title"),
        "the sentence does not name the bug:\n{stdout}"
    );
    // Each rerun is typed in the student's folder; nothing of the grader's is named.
    let reruns: Vec<&str> = stdout.lines().filter(|l| l.contains("rerun:")).collect();
    assert!(!reruns.is_empty(), "{stdout}");
    for line in reruns {
        assert!(
            line.trim().starts_with("rerun:    shout check . --case "),
            "{line}"
        );
    }
    assert!(
        !stdout.contains("shout-grade-") && !stdout.contains("fixtures"),
        "{stdout}"
    );
}

#[test]
fn a_rerun_line_runs_as_printed() {
    let (_, stdout, _) = check(&[], &submission("bug-title"), &[]);
    let line = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("rerun:    shout "))
        .expect("a rerun line");
    let words = shlex::split(line).unwrap();
    assert_eq!(words[..2], ["check", "."], "{line}");
    let rest: Vec<&str> = words[2..].iter().map(String::as_str).collect();
    let (code, again, stderr) = check(&[], &submission("bug-title"), &rest);
    assert_eq!(code, 1, "{again}\n{stderr}");
    assert!(again.contains("✗ "), "{again}");
}

#[test]
fn a_path_that_is_not_a_folder_is_refused_with_the_fix() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let out = assert_cmd::Command::new(crate::support::shout_bin())
        .arg("check")
        .arg(file.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("give the folder that holds your programs"),
        "{stderr}"
    );
}

#[test]
fn an_ordinary_user_checks_a_textbook_folder_with_its_ports_written_in() {
    // SAFETY: geteuid(2) cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        let (code, stdout, stderr) = check(&[], &submission("py3-faithful"), &[]);
        assert_eq!(code, 0, "{stdout}\n{stderr}");
        return;
    }
    let python = crate::support::python_for_nobody();
    let Some(python) = python else {
        eprintln!("no CPython 3 here that user 65534 can run: not tried as an ordinary user");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(submission("py3-faithful")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.path().join(e.file_name())).unwrap();
    }
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let home = format!("HOME={}", dir.path().display());
    let prefix = [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "env",
        &home,
    ];
    let python = python.display().to_string();
    let (code, stdout, stderr) = check(&prefix, dir.path(), &["--python", &python]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("Total: 76 / 76 points."), "{stdout}");
}

//! `shout grade --isolation`: strict refuses to grade, with the reason and exit status
//! 2, when a layer is missing; best-effort grades and says which layers are not active.

use std::time::Duration;

use crate::support::{root, shout_bin};

/// A `PATH` holding only `python3` (for the reference): no `bwrap` on it.
fn path_without_bubblewrap(dir: &std::path::Path) -> std::ffi::OsString {
    let python = which_python3();
    std::os::unix::fs::symlink(&python, dir.join("python3")).unwrap();
    dir.as_os_str().to_owned()
}

fn which_python3() -> std::path::PathBuf {
    ["/usr/bin/python3", "/usr/local/bin/python3"]
        .iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.exists())
        .expect("python3 in /usr/bin or /usr/local/bin")
}

#[test]
fn strict_isolation_refuses_without_bubblewrap_and_best_effort_says_what_is_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let path = path_without_bubblewrap(&bin);
    let submission = root().join("tests/fixtures/submissions/py3-faithful");
    let grade = |mode: &str, out: &str| {
        assert_cmd::Command::new(shout_bin())
            .arg("grade")
            .arg(&submission)
            .arg("--out")
            .arg(tmp.path().join(out))
            .args(["--isolation", mode, "--case", "hello"])
            .env("PATH", &path)
            .timeout(Duration::from_secs(600))
            .output()
            .unwrap()
    };
    let strict = grade("strict", "strict");
    let stderr = String::from_utf8_lossy(&strict.stderr);
    assert_eq!(strict.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("bubblewrap is not installed"), "{stderr}");
    assert!(stderr.contains("--isolation best-effort"), "{stderr}");
    assert!(
        !tmp.path().join("strict/grades.csv").exists(),
        "strict graded anyway"
    );

    let lax = grade("best-effort", "lax");
    let stderr = String::from_utf8_lossy(&lax.stderr);
    assert_eq!(lax.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("not active:"), "{stderr}");
    assert!(
        stderr.contains("bubblewrap (bubblewrap is not installed"),
        "{stderr}"
    );
    let json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(tmp.path().join("lax/py3-faithful/results.json")).unwrap(),
    )
    .unwrap();
    let isolation = &json["extra_data"]["isolation"];
    assert_eq!(isolation["mode"], "best-effort");
    assert!(
        isolation["inactive"]["bubblewrap"]
            .as_str()
            .is_some_and(|why| why.contains("not installed")),
        "{isolation}"
    );
}

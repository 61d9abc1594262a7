//! A busy machine's hiccups are not a program's fault: a unit whose program was silent
//! runs once more before the silence counts, and a program that really never answers
//! still fails, after a bounded number of retries.

use std::time::{Duration, Instant};

use crate::support::python3;

/// A UDP server that answers every request, the first one only after `delay` seconds
/// (as if the machine had stalled it), and never at all when `delay` is negative.
fn server(dir: &std::path::Path, delay: f64) -> String {
    let path = dir.join("server.py");
    std::fs::write(
        &path,
        format!(
            "import sys, time\n\
             from socket import *\n\
             s = socket(AF_INET, SOCK_DGRAM)\n\
             s.bind(('', int(sys.argv[1])))\n\
             first = True\n\
             while True:\n\
             \x20   data, addr = s.recvfrom(2048)\n\
             \x20   if {delay} < 0:\n\
             \x20       continue\n\
             \x20   if first:\n\
             \x20       first = False\n\
             \x20       time.sleep({delay})\n\
             \x20   s.sendto(data.decode().upper().encode(), addr)\n"
        ),
    )
    .unwrap();
    format!("{} {} {{port}}", python3().path.display(), path.display())
}

fn check(server: &str) -> (i32, String) {
    let out = assert_cmd::Command::new(crate::support::shout_bin())
        .args([
            "check",
            "--transport",
            "udp",
            "--case",
            "hello",
            "--jobs",
            "1",
        ])
        .args(["--no-cache", "--server", server])
        .env("LC_ALL", "C.UTF-8")
        .timeout(Duration::from_secs(300))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn a_server_stalled_once_is_retried_and_passes() {
    let dir = tempfile::tempdir().unwrap();
    // Longer than the 3 s limit: without a retry, its first unit fails.
    let (code, stdout) = check(&server(dir.path(), 4.0));
    assert_eq!(code, 0, "a stall the retry covers was counted:\n{stdout}");
}

#[test]
fn a_server_that_never_answers_still_fails_after_its_retries() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let (code, stdout) = check(&server(dir.path(), -1.0));
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("candidate"), "{stdout}");
    // Three units of 3 s, and one retry before the silence is confirmed: well under a
    // minute even on a loaded machine.
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "{:?}",
        started.elapsed()
    );
}

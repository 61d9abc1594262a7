//! The harness catches every deliberately wrong implementation with the right diagnosis
//! and fault, passes correct ones written differently, and leaves no process behind.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use crate::support::{pyenv_root, python_env, reference, root, shout_bin, WAIT};
use predicates::prelude::PredicateBooleanExt as _;
use shout::results::Results;
use shout::verdict::{Fault, Verdict};

fn fixture(rel: &str) -> String {
    root()
        .join("tests/fixtures/impls")
        .join(rel)
        .display()
        .to_string()
}

/// Runs `shout check` on one candidate role and returns the exit code and results.
fn check(transport: &str, role: &str, command: &str, cases: &[&str]) -> (i32, Results) {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let mut cmd = assert_cmd::Command::new(shout_bin());
    cmd.envs(python_env())
        .env(TAG_VAR, tag())
        .args([
            "check",
            "--transport",
            transport,
            &format!("--{role}"),
            command,
            "--timeout",
            "5",
        ])
        .args(["--format", "json", "--output"])
        .arg(&json)
        .timeout(Duration::from_secs(300));
    for c in cases {
        cmd.args(["--case", c]);
    }
    let out: Output = cmd.output().unwrap();
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "exit {code}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Results = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    (code, results)
}

/// Marks the `shout` a test runs, and what it starts, in their environment: tests that
/// run the same fixture at the same time do not count each other's processes as their
/// own leftovers.
const TAG_VAR: &str = "SHOUT_TEST_TAG";

/// This test's mark: its process and thread.
fn tag() -> String {
    format!("{}-{:?}", std::process::id(), std::thread::current().id())
}

/// Whether process `dir` (a `/proc` entry) carries this test's mark. Other tests start
/// the same fixtures, some without a mark: only what this test's `shout` started (its
/// environment passes the mark on) is this test's to find.
fn this_tests(dir: &Path) -> bool {
    let Ok(environ) = std::fs::read(dir.join("environ")) else {
        return false;
    };
    let mine = format!("{TAG_VAR}={}", tag());
    environ.split(|&b| b == 0).any(|v| v == mine.as_bytes())
}

/// The command lines of the processes running now that mention `needle` and carry this
/// test's mark.
fn running_with(needle: &str) -> Vec<String> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter(|e| this_tests(&e.path()))
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(needle))
        .collect()
}

/// No process runs whose command line mentions `needle`.
fn nothing_left_running(needle: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let left = running_with(needle);
        if left.is_empty() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "left running: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The wrong `role` (`server` or `client`) `name` is failed on `cases`, every failure
/// blamed on it alone, one of them with `diagnosis`, each with a `shout check` command
/// to reproduce it; and nothing it started is left running.
fn caught(role: &str, name: &str, transport: &str, cases: &[&str], diagnosis: &str) {
    let (file, args, fault) = match role {
        "server" => ("Server", "{port}", Fault::Server),
        _ => ("Client", "{host} {port}", Fault::Client),
    };
    let script = format!("wrong/{name}/{}{file}.py", transport.to_uppercase());
    let command = format!("python3 {} {args}", fixture(&script));
    let (code, results) = check(transport, role, &command, cases);
    assert_eq!(code, 1, "{name} passed: {:?}", results.summary);
    let caught: Vec<_> = results
        .results
        .iter()
        .filter(|r| r.verdict == Verdict::Fail)
        .collect();
    assert!(!caught.is_empty(), "{name}: no failing unit");
    let candidate = |r: &&shout::results::UnitResult| match role {
        "server" => r.server == "candidate",
        _ => r.client == "candidate",
    };
    assert!(
        caught
            .iter()
            .all(|r| candidate(r) && r.fault == Some(fault)),
        "{name}: failures not all blamed on the {role}: {:?}",
        caught.iter().map(|r| (&r.id, r.fault)).collect::<Vec<_>>()
    );
    assert!(
        caught.iter().any(|r| r
            .diagnosis()
            .as_deref()
            .unwrap_or_default()
            .contains(diagnosis)),
        "{name}: no diagnosis containing `{diagnosis}`: {:?}",
        caught.iter().map(|r| r.diagnosis()).collect::<Vec<_>>()
    );
    assert!(caught.iter().all(|r| r.reproduce.contains("shout check")));
    nothing_left_running(&script);
}

fn caught_server(name: &str, transport: &str, cases: &[&str], diagnosis: &str) {
    caught("server", name, transport, cases, diagnosis);
}

fn caught_client(name: &str, transport: &str, cases: &[&str], diagnosis: &str) {
    caught("client", name, transport, cases, diagnosis);
}

macro_rules! server_cases {
    ($($test:ident: $name:literal, $transport:literal, [$($case:literal),*], $diag:literal;)*) => {
        $(#[test]
        fn $test() {
            caught_server($name, $transport, &[$($case),*], $diag);
        })*
    };
}

server_cases! {
    catches_a_title_casing_server: "title-case", "udp", ["hello"], "title-cases";
    catches_a_lower_casing_server: "lower-case", "tcp", ["mixed-case"], "lowercases";
    catches_a_swap_casing_server: "swap-case", "udp", ["mixed-case"], "swaps case";
    catches_an_ascii_only_server: "ascii-upper", "tcp", ["latin-accents"], "ASCII only";
    catches_simple_case_mapping: "simple-case", "udp", ["ligatures"], "simple";
    catches_a_newer_unicode_version: "newer-unicode", "udp", ["unicode-15-1-to-16-0"], "server follows Unicode 16.0.0";
    catches_a_trailing_newline: "trailing-newline", "tcp", ["hello"], "trailing newline";
    catches_stripped_whitespace: "strip", "udp", ["whitespace-runs"], "stripped";
    catches_a_reply_prefix: "prefix", "tcp", ["hello"], "prefix `OK: `";
    catches_latin1_decoding: "latin1", "udp", ["korean"], "Latin-1";
    catches_a_server_that_reads_too_little: "short-read", "tcp", ["sentence"], "stops after 16";
    catches_newline_framing_as_a_deadlock: "newline-framed", "tcp", ["hello"], "waits for a newline";
    catches_reading_until_a_short_read: "read-until-short", "tcp", ["tcp-buffer-exact"], "waits for more bytes than the request holds";
    catches_a_reply_from_another_port: "other-port", "udp", ["hello"], "different port";
    catches_a_reply_sent_twice: "reply-twice", "udp", ["hello"], "sent 2 datagrams for one request";
    catches_a_crash_on_non_ascii: "crash-non-ascii", "tcp", ["korean"], "died";
    catches_a_server_that_never_answers: "never-answers", "udp", ["hello"], "never replied";
}

#[test]
fn catches_a_one_shot_server() {
    caught_server("one-shot", "udp", &["hello", "sentence"], "exited");
}

/// The check after each probe asks only whether the server still serves: a wrong server
/// whose reply to that check is wrong too is not called dead, and passes the cases its
/// bug does not touch.
#[test]
fn a_wrong_server_still_serving_is_not_called_dead() {
    let script = "wrong/title-case/UDPServer.py";
    let command = format!("python3 {} {{port}}", fixture(script));
    let (_, results) = check(
        "udp",
        "server",
        &command,
        &["digits-punctuation", "korean", "hello"],
    );
    let probe = |case: &str| {
        results
            .results
            .iter()
            .find(|r| r.client == "probe" && r.server == "candidate" && r.case == case)
            .unwrap_or_else(|| panic!("no probe of `{case}`"))
    };
    for case in ["digits-punctuation", "korean"] {
        assert_eq!(probe(case).verdict, Verdict::Pass, "{:?}", probe(case));
    }
    let hello = probe("hello");
    assert_eq!(hello.verdict, Verdict::Fail);
    let diagnosis = hello.diagnosis().unwrap_or_default();
    assert!(diagnosis.contains("title-cases"), "{diagnosis}");
    assert!(!diagnosis.contains("stopped"), "{diagnosis}");
    nothing_left_running(script);
}

#[test]
fn catches_a_client_that_uppercases_before_sending() {
    caught_client(
        "upper-client",
        "udp",
        &["hello"],
        "uppercased the line before sending",
    );
}

#[test]
fn catches_a_client_that_sends_the_newline() {
    caught_client("newline-client", "tcp", &["hello"], "trailing newline");
}

#[test]
fn catches_a_client_that_truncates_the_reply() {
    caught_client("truncate-client", "udp", &["sentence"], "truncat");
}

#[test]
fn a_hung_client_is_timed_out_and_killed() {
    caught_client("hang-client", "tcp", &["hello"], "sent nothing");
}

const PASSING: &[&str] = &[
    "hello",
    "korean",
    "sharp-s",
    "ligatures",
    "whitespace-runs",
    "control-characters",
    "tcp-buffer-exact",
    "expanding-reply",
    "invalid-utf8",
    "oversize-datagram",
    "split-writes",
    "decomposed",
    "byte-order-mark",
    "reply-over-1024",
    "concurrent-clients",
    "many-requests",
    "other-addresses",
    "late-line",
    "typed-late",
    "no-server",
];

fn passes(transport: &str, role: &str, command: &str) {
    let (code, results) = check(transport, role, command, PASSING);
    let failed: Vec<_> = results
        .results
        .iter()
        .filter(|r| r.verdict.is_failure())
        .map(|r| (&r.id, r.diagnosis()))
        .collect();
    assert_eq!(code, 0, "{command} failed: {failed:?}");
    assert!(results
        .results
        .iter()
        .any(|r| r.verdict == Verdict::Pass && r.id.contains("candidate")));
}

#[test]
fn correct_servers_written_differently_pass() {
    for t in ["udp", "tcp"] {
        for imp in [
            "socketserver-py",
            "threaded-py",
            "asyncio-py",
            "dual-stack-py",
        ] {
            let script = fixture(&format!("correct/{imp}/{}Server.py", t.to_uppercase()));
            passes(t, "server", &format!("python3 {script} {{port}}"));
        }
    }
    // Slow but correct: a fifth of a second over each reply.
    let slow = fixture("correct/slow-py/TCPServer.py");
    passes("tcp", "server", &format!("python3 {slow} {{port}}"));
}

#[test]
fn correct_node_implementations_pass() {
    if which::which("node").is_err() {
        panic!("node is not installed: apt-get install nodejs");
    }
    for t in ["udp", "tcp"] {
        let up = t.to_uppercase();
        passes(
            t,
            "server",
            &format!(
                "node {} {{port}}",
                fixture(&format!("correct/node/{up}Server.js"))
            ),
        );
        passes(
            t,
            "client",
            &format!(
                "node {} {{host}} {{port}}",
                fixture(&format!("correct/node/{up}Client.js"))
            ),
        );
    }
}

#[test]
fn a_flooding_server_is_captured_within_bounds_and_passes() {
    let script = "wrong/flood/UDPServer.py";
    let (code, results) = check(
        "udp",
        "server",
        &format!("python3 {} {{port}}", fixture(script)),
        &["hello"],
    );
    assert_eq!(code, 0, "{:?}", results.summary);
    nothing_left_running(script);
}

#[test]
fn the_builtin_matrix_passes_on_a_subset_and_lists_ids() {
    let out = assert_cmd::Command::new(shout_bin())
        .args(["matrix", "--list"])
        .timeout(WAIT)
        .output()
        .unwrap();
    let ids = String::from_utf8_lossy(&out.stdout);
    assert!(
        ids.lines()
            .any(|l| l == "udp::python-client::rust-server::korean"),
        "{ids}"
    );
    assert!(ids
        .lines()
        .any(|l| l == "tcp::probe-client::rust-server::invalid-utf8"));
    assert!(ids
        .lines()
        .any(|l| l == "tcp::rust-client::probe-server::hello"));
    assert_cmd::Command::new(shout_bin())
        .args([
            "matrix",
            "--case",
            "hello",
            "--case",
            "sharp-s",
            "--case",
            "invalid-utf8",
        ])
        .timeout(Duration::from_secs(300))
        .assert()
        .success();
}

/// A child that is interrupted (SIGTERM, then SIGKILL) if the test ends while it runs:
/// `shout` ends the process groups it started before it exits.
struct Interruptible(std::process::Child);

impl Interruptible {
    fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on our own child, not yet reaped.
        unsafe { libc::kill(self.0.id() as i32, signal) };
    }

    /// Waits up to `wait` for the child to exit.
    fn wait_timeout(&mut self, wait: Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + wait;
        loop {
            if let Some(status) = self.0.try_wait().expect("wait for the child") {
                return Some(status);
            }
            if std::time::Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Interruptible {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            self.signal(libc::SIGTERM);
            if self.wait_timeout(Duration::from_secs(5)).is_none() {
                let _ = self.0.kill();
                let _ = self.0.wait();
            }
        }
    }
}

#[test]
fn interrupting_a_run_leaves_no_process_behind() {
    // A private copy of the never-answering server, so that no parallel test runs a
    // process this test could mistake for one left behind.
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("interrupted-server.py");
    std::fs::copy(fixture("wrong/never-answers/UDPServer.py"), &script).unwrap();
    let manifest = dir.path().join("m.toml");
    std::fs::write(
        &manifest,
        format!(
            "[[implementation]]\nname = \"interrupted\"\nudp-server = \"python3 {} {{port}}\"\n",
            script.display()
        ),
    )
    .unwrap();
    let needle = script.display().to_string();
    let manifest = manifest.display().to_string();
    // Its own temporary folder, to see that the run's scratch folder goes too.
    let tmp = tempfile::tempdir().unwrap();
    let mut child = Interruptible(
        std::process::Command::new(shout_bin())
            .env(TAG_VAR, tag())
            .env("TMPDIR", tmp.path())
            .args([
                "matrix",
                "--manifest",
                &manifest,
                "--only",
                "interrupted",
                "--transport",
                "udp",
                "--case",
                "hello",
                "--timeout",
                "30",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Wait until the hung server is running, then interrupt.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while running_with(&needle).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the server never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.signal(libc::SIGINT);
    let status = child
        .wait_timeout(WAIT)
        .expect("shout still running after SIGINT");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        status.code(),
        Some(130),
        "ended by signal {:?}",
        status.signal()
    );
    nothing_left_running(&needle);
    assert!(Path::new(&manifest).exists());
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| n.to_string_lossy().starts_with("shout-") && n != "shout-ports")
        .collect();
    assert!(left.is_empty(), "scratch left behind: {left:?}");
    // Port leases end with the run and take their lock files with them.
    let leases = std::fs::read_dir(tmp.path().join("shout-ports"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(leases, 0, "lock files left in shout-ports");
}

#[test]
fn a_bad_manifest_is_an_error_naming_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("bad.toml");
    std::fs::write(
        &m,
        "[[implementation]]\nname = \"x\"\nudp-sever = \"a {port}\"\n",
    )
    .unwrap();
    assert_cmd::Command::new(shout_bin())
        .args(["matrix", "--manifest"])
        .arg(&m)
        .timeout(WAIT)
        .assert()
        .code(2)
        .stderr(
            predicates::str::contains("bad.toml:3").and(predicates::str::contains("udp-sever")),
        );
}

#[test]
fn time_limits_out_of_range_are_errors_not_panics_or_hangs() {
    let scratch = tempfile::tempdir().unwrap();
    let out = scratch.path().join("out");
    let out = out.to_str().unwrap();
    let cases: [&[&str]; 7] = [
        &["matrix", "--timeout", "1e20"],
        &["matrix", "--run-timeout=-1"],
        &["matrix", "--run-timeout", "nan"],
        &[
            "check",
            "--transport",
            "udp",
            "--server",
            "x {port}",
            "--timeout",
            "inf",
        ],
        &["grade", ".", "--out", out, "--timeout", "1e20"],
        &["udp-client", "--timeout=-1"],
        &["tcp-client", "--timeout", "1e20"],
    ];
    for args in cases {
        assert_cmd::Command::new(shout_bin())
            .args(args)
            .write_stdin("hello\n")
            .timeout(WAIT)
            .assert()
            .code(2)
            .stderr(
                predicates::str::contains("must be a number of seconds")
                    .and(predicates::str::contains("panicked").not()),
            );
    }
}

/// A command that cannot start, or a run cut short by its time limit, is an incomplete
/// run: exit 2 with the reason shown, never a green matrix.
#[test]
fn an_incomplete_run_says_why_and_exits_2() {
    let missing = assert_cmd::Command::new(shout_bin())
        .args([
            "check",
            "--transport",
            "udp",
            "--server",
            "no-such-program-anywhere {port}",
            "--case",
            "hello",
        ])
        .timeout(WAIT)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&missing.stdout);
    assert_eq!(missing.status.code(), Some(2), "{stdout}");
    assert!(stdout.contains("NOT RUN"), "{stdout}");
    assert!(
        stdout.contains("cannot start `no-such-program-anywhere`"),
        "{stdout}"
    );
    assert!(stdout.contains("skip"), "the candidate's cells: {stdout}");
    let cut = assert_cmd::Command::new(shout_bin())
        .args(["matrix", "--transport", "udp", "--run-timeout", "0.001"])
        .timeout(WAIT)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&cut.stdout);
    assert_eq!(cut.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains("the run's time limit passed first"),
        "{stdout}"
    );
}

/// `--python` must name distinct CPython 3 versions; anything else is said plainly.
#[test]
fn python_interpreters_are_checked_with_plain_messages() {
    let python3 = which::which("python3").expect("python3 on PATH");
    let resolved = std::fs::canonicalize(&python3).unwrap();
    assert_cmd::Command::new(shout_bin())
        .args(["matrix", "--list", "--python"])
        .arg(&python3)
        .arg("--python")
        .arg(&resolved)
        .timeout(WAIT)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("give each version once"));
    let python2 = pyenv_root()
        .map(|root| root.join("versions/2.7.18/bin/python2.7"))
        .filter(|p| p.exists());
    if let Some(python2) = python2 {
        assert_cmd::Command::new(shout_bin())
            .args(["matrix", "--list", "--python"])
            .arg(&python2)
            .timeout(WAIT)
            .assert()
            .code(2)
            .stderr(predicates::str::contains(
                "is Python 2.7; the reference needs CPython 3.6 or later",
            ));
    }
}

/// A build that fails is a verdict on every unit of that implementation (exit 1), with
/// what the build printed, not a crash of the run.
#[test]
fn a_failing_build_is_a_verdict_naming_what_it_printed() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("shout.toml");
    let server = reference("UDPServer.py").display().to_string();
    std::fs::write(
        &manifest,
        format!(
            "[[implementation]]\nname = \"broken\"\nbuild = \"sh -c 'echo missing semicolon >&2; exit 3'\"\nudp-server = \"python3 {server} {{port}}\"\n\n[[implementation]]\nname = \"silent\"\nbuild = \"false\"\nudp-server = \"python3 {server} {{port}}\"\n"
        ),
    )
    .unwrap();
    let json = dir.path().join("r.json");
    let done = assert_cmd::Command::new(shout_bin())
        .args([
            "matrix",
            "--transport",
            "udp",
            "--case",
            "hello",
            "--manifest",
        ])
        .arg(&manifest)
        .args(["--format", "json", "--output"])
        .arg(&json)
        .timeout(Duration::from_secs(300))
        .output()
        .unwrap();
    assert_eq!(done.status.code(), Some(1), "{done:?}");
    let results: Results = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let diagnosis = |server: &str| {
        results
            .results
            .iter()
            .find(|r| r.server == server)
            .and_then(|r| r.diagnosis())
            .unwrap_or_default()
    };
    assert!(
        diagnosis("broken").contains("(exit status 3): missing semicolon"),
        "{}",
        diagnosis("broken")
    );
    assert!(
        diagnosis("silent").ends_with("(exit status 1) without output"),
        "{}",
        diagnosis("silent")
    );
    assert!(results
        .results
        .iter()
        .filter(|r| r.server == "broken" || r.server == "silent")
        .all(|r| r.verdict == Verdict::Fail));
}

/// A server that starts a helper in a session of its own, holding its stdout: the run
/// neither waits for the helper nor leaves it behind, and says it ended it.
#[test]
fn a_detached_helper_neither_hangs_the_run_nor_survives_it() {
    let command = format!(
        "python3 {} {{port}}",
        fixture("correct/detached-helper/UDPServer.py")
    );
    let done = assert_cmd::Command::new(shout_bin())
        .env(TAG_VAR, tag())
        .args(["check", "--transport", "udp", "--server", &command])
        .args(["--case", "hello", "--case", "korean"])
        .timeout(WAIT)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("killed"), "{stderr}");
    nothing_left_running("detached-helper-of-shout-fixture");
}

/// A client hardcoding the textbook's port: units that listen for it take turns, so
/// running several at once never fails to bind (in a network namespace of its own, so
/// that nothing else on this machine holds port 12000).
#[test]
fn a_client_on_a_fixed_port_is_checked_in_parallel_without_clashes() {
    let client = root().join("tests/fixtures/submissions/py3-faithful/UDPClient.py");
    let script = format!(
        "ip link set lo up && exec {} check --transport udp --jobs 4 --client 'python3 {}'",
        shout_bin().display(),
        client.display()
    );
    let done = assert_cmd::Command::new("unshare")
        .args(["-n", "sh", "-c", &script])
        .timeout(Duration::from_secs(300))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert_eq!(
        done.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(
        stdout.contains(" 0 failed") && stdout.contains(" 0 skipped"),
        "{stdout}"
    );
}

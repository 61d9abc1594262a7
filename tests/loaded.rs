//! The same class graded twice, once as the machine is and once with eight busy loops of
//! this test's own on its cores (`--jobs 8`): every role gets the same score both times,
//! and correct work full marks. A role may instead be "not graded" because the machine
//! was too busy, which costs the student nothing; it may never lose a point to the load.
//!
//! Its own test binary, so that cargo runs nothing else beside it: the load is the one
//! it makes (and whatever else the machine is doing).
//!
//! The class: the textbook Python (correct), the textbook Java (a UDP server that
//! returns its whole buffer, a TCP server that waits for a newline, a TCP client that
//! writes one character at a time: its verdicts used to depend on timing), twice under
//! two names, and C. A few cases keep it short; `SHOUT_TEST_LOADED_ALL=1` grades every
//! case.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const CLASS: &[&str] = &["py3-faithful", "java-textbook", "c-sockets"];
const CASES: &[&str] = &["hello", "korean", "tcp-buffer-exact", "invalid-utf8"];
const ROLES: &[&str] = &["udp-server", "udp-client", "tcp-server", "tcp-client"];

/// What a cell says when the machine, not the student, decided it.
const BUSY: &str = "not graded: the grading machine was too busy";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Eight threads that spin until dropped, or for at most ten minutes.
struct Load {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Load {
    fn start(n: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..n)
            .map(|_| {
                let stop = Arc::clone(&stop);
                std::thread::spawn(move || {
                    let deadline = Instant::now() + Duration::from_secs(600);
                    let mut x: u64 = 0;
                    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                        for _ in 0..10_000 {
                            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
                        }
                    }
                })
            })
            .collect();
        Load { stop, threads }
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// The class's gradebook: per submission, its role cells and total.
type Book = BTreeMap<String, BTreeMap<String, String>>;

/// The class's folders, and a second copy of the Java textbook submission under another
/// name: two identical submissions graded together must score alike.
fn class(dir: &Path) -> Vec<PathBuf> {
    let fixtures = root().join("tests/fixtures/submissions");
    let mut folders: Vec<PathBuf> = CLASS
        .iter()
        .map(|name| {
            let to = dir.join(name);
            copy(&fixtures.join(name), &to);
            to
        })
        .collect();
    let twin = dir.join(TWIN);
    copy(&fixtures.join("java-textbook"), &twin);
    folders.push(twin);
    folders
}

/// The second copy's name.
const TWIN: &str = "java-textbook-again";

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        if e.file_type().unwrap().is_dir() {
            copy(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn grade(folders: &[PathBuf], out: &Path) -> (Option<i32>, Book, String) {
    let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_shout"));
    cmd.arg("grade")
        .args(folders)
        .arg("--out")
        .arg(out)
        .args(["--jobs", "8", "--no-cache"]);
    if std::env::var_os("SHOUT_TEST_LOADED_ALL").is_none() {
        for case in CASES {
            cmd.args(["--case", case]);
        }
    }
    if !is_root() {
        cmd.args(["--isolation", "best-effort"]);
    }
    let result = cmd.timeout(Duration::from_secs(1500)).output().unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr).into_owned();
    let csv = std::fs::read_to_string(out.join("grades.csv"))
        .unwrap_or_else(|e| panic!("no grades.csv ({e}): {stderr}"));
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let mut book = Book::new();
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        let row: BTreeMap<String, String> = header
            .iter()
            .zip(&cells)
            .map(|(h, c)| (h.to_string(), c.to_string()))
            .collect();
        book.insert(row["submission"].clone(), row);
    }
    (result.status.code(), book, stderr)
}

fn is_root() -> bool {
    // SAFETY: geteuid(2) takes nothing.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn a_class_graded_under_load_scores_exactly_as_it_does_without() {
    let dir = tempfile::tempdir().unwrap();
    let folders = class(dir.path());
    let (quiet_code, quiet, quiet_err) = grade(&folders, &dir.path().join("quiet"));
    let (loaded_code, loaded, loaded_err) = {
        let _load = Load::start(8);
        grade(&folders, &dir.path().join("loaded"))
    };
    for code in [quiet_code, loaded_code] {
        assert!(
            matches!(code, Some(0) | Some(2)),
            "exit {code:?}\n{quiet_err}\n{loaded_err}"
        );
    }
    for name in CLASS {
        for role in ROLES {
            let (q, l) = (&quiet[*name][*role], &loaded[*name][*role]);
            let machine = q.starts_with(BUSY) || l.starts_with(BUSY);
            assert!(
                q == l || machine,
                "{name} {role}: {q} without load, {l} with it\n{loaded_err}"
            );
        }
    }
    // Two identical submissions score alike within each run.
    for book in [&quiet, &loaded] {
        for role in ROLES {
            let (a, b) = (&book["java-textbook"][*role], &book[TWIN][*role]);
            let machine = a.starts_with(BUSY) || b.starts_with(BUSY);
            assert!(
                a == b || machine,
                "{role}: two copies of one submission: {a}, {b}"
            );
        }
    }
    // Correct work keeps every point it was graded on, loaded or not; the Java
    // textbook's known mistakes are found both times.
    for book in [&quiet, &loaded] {
        let row = &book["py3-faithful"];
        assert_eq!(row["total"], row["max"], "py3-faithful: {row:?}");
        let java = &book["java-textbook"];
        assert_ne!(java["total"], java["max"], "java-textbook: {java:?}");
    }
}

//! Hostile submissions graded in parallel with honest ones (`shout grade --jobs 4`), one
//! per attack a cheating student tried (docs/SECURITY.md): reading a classmate's
//! processes, files and memory through `/proc`, reading the grader's secrets and earlier
//! grades, killing or rewriting a classmate's programs, deleting files in `/tmp`, filling
//! `/dev/shm` and `/tmp`, holding more memory than the submission's budget with two
//! processes, running the `shout` binary as one's server, and submitting 60 MB or 2001
//! files.
//!
//! The whole class is graded once (the first test to ask grades it); each test then
//! checks one attack: the honest submissions keep full marks, no secret or byte of
//! another student appears in the attacker's results or in the drop folder the attacker
//! writes its loot to, and nothing the attackers wrote survives the run.
//!
//! As root every layer is asked for (`--isolation strict`); otherwise the suite grades
//! with `--isolation best-effort` and checks the attacks bubblewrap alone stops, skipping
//! (and saying so) those that need root (the memory budget). `SHOUT_TEST_ISOLATION`
//! overrides the mode: with `best-effort` and no `bwrap` on `PATH` the attacks succeed
//! and these tests fail, as they must.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// What the honest submissions' sources, the grader's environment, the grader's working
/// folder and an earlier run's grades hold: none of it may reach an attacker.
const HONEST_MARK: &str = "HONEST-SOURCE-MARK-5c1e";
const SECRET: &str = "GRADER-SECRET-TOKEN-77ab";
const CWD_MARK: &str = "GRADER-CWD-MARK-90d2";
const EARLIER_MARK: &str = "EARLIER-GRADES-MARK-3f61";
/// What the memory attacker reports when two of its processes held 400 MiB at once.
const MEMORY_MARK: &str = "MEMORY-BUDGET-EXCEEDED";
/// What the filling attacker reports when it wrote more than its work folder's size.
const DISK_MARK: &str = "WORK-FOLDER-OVER-BUDGET";
/// What the attackers of this run name the files they leave in `/tmp` and `/dev/shm`.
fn leftover_prefix() -> String {
    format!("shout-attack-{}-", std::process::id())
}

const ATTACKS: [&str; 9] = [
    "proc",
    "kill",
    "rewrite",
    "paths",
    "env",
    "tmp-rm",
    "fill",
    "memory",
    "shout-bin",
];

/// The textbook's four programs (`tests/fixtures/submissions/py3-faithful`).
fn textbook(file: &str) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/submissions/py3-faithful");
    fs::read_to_string(dir.join(file)).unwrap()
}

fn root() -> bool {
    // SAFETY: geteuid(2) cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Everything the tests look at after the one grading run, read into memory: the
/// run's files are removed as soon as it ends.
struct Class {
    /// Per submission, every byte written about it: its `results.json` and `shout.json`
    /// and its lines of `grades.csv`, `grades.md` and `grades.html`.
    about: BTreeMap<String, String>,
    /// Per submission, its `results.json`.
    results: BTreeMap<String, serde_json::Value>,
    /// `grades.csv`.
    csv: String,
    /// What attackers wrote to the world-writable drop folder: file name and the
    /// distinct lines.
    loot: Vec<String>,
    /// Whether the file of another sandboxed user, which the `tmp-rm` build deletes if it
    /// can, was still there after the run.
    victim_kept: bool,
    /// The active layers, from a `results.json`.
    active: Vec<String>,
    /// The exit status and standard error of `shout grade`.
    status: Option<i32>,
    stderr: String,
}

impl Class {
    fn total(&self, name: &str) -> (f64, f64) {
        let json = self.results(name);
        let score = json["score"].as_f64().unwrap();
        let max = json["extra_data"]["max_score"].as_f64().unwrap();
        (score, max)
    }

    fn results(&self, name: &str) -> &serde_json::Value {
        self.results
            .get(name)
            .unwrap_or_else(|| panic!("no results.json for {name}:\n{}", self.stderr))
    }

    fn everything_about(&self, name: &str) -> &str {
        self.about.get(name).map(String::as_str).unwrap_or_default()
    }

    fn layer_active(&self, layer: &str) -> bool {
        self.active.iter().any(|l| l == layer)
    }

    /// Checks the honest submissions kept every point and nothing leaked from anyone.
    fn assert_attack_failed(&self, attacker: &str) {
        assert_eq!(self.status, Some(0), "shout grade failed:\n{}", self.stderr);
        for honest in ["honest-a", "honest-b", "honest-c"] {
            let (score, max) = self.total(honest);
            assert_eq!(
                score,
                max,
                "{honest} lost points while {attacker} was graded:\n{}",
                self.everything_about(honest)
            );
        }
        let about = self.everything_about(attacker);
        assert!(!about.is_empty(), "nothing was written about {attacker}");
        for secret in [
            HONEST_MARK,
            SECRET,
            CWD_MARK,
            EARLIER_MARK,
            MEMORY_MARK,
            DISK_MARK,
        ] {
            assert!(
                !about.contains(secret),
                "{attacker} got {secret} into its results"
            );
        }
        assert!(
            self.loot.is_empty(),
            "attackers wrote loot to the drop folder: {:?}",
            self.loot
        );
    }
}

/// Reads what the run wrote about each of `names` in `out`, and what lies in `drop`.
fn read_run(class: &mut Class, out: &Path, drop: &Path, names: &[String]) {
    let class_files: Vec<String> = ["grades.csv", "grades.md", "grades.html"]
        .iter()
        .map(|f| fs::read_to_string(out.join(f)).unwrap_or_default())
        .collect();
    class.csv = class_files[0].clone();
    for name in names {
        let mut all = String::new();
        for entry in fs::read_dir(out.join(name)).into_iter().flatten().flatten() {
            all.push_str(&String::from_utf8_lossy(&fs::read(entry.path()).unwrap()));
        }
        for text in &class_files {
            all.extend(
                text.lines()
                    .filter(|l| l.contains(name.as_str()))
                    .map(|l| format!("{l}\n")),
            );
        }
        class.about.insert(name.clone(), all);
        if let Ok(text) = fs::read(out.join(name).join("results.json")) {
            class
                .results
                .insert(name.clone(), serde_json::from_slice(&text).unwrap());
        }
    }
    for entry in fs::read_dir(drop).into_iter().flatten().flatten() {
        let text = fs::read_to_string(entry.path()).unwrap_or_default();
        let mut kinds: Vec<&str> = text.lines().collect();
        kinds.sort();
        kinds.dedup();
        class.loot.push(format!(
            "{}: {}",
            entry.file_name().to_string_lossy(),
            kinds.join(", ")
        ));
    }
}

/// Grades the class once: three honest submissions among the attackers, four at a time.
fn class() -> &'static Class {
    static CLASS: OnceLock<Class> = OnceLock::new();
    CLASS.get_or_init(grade_class)
}

fn grade_class() -> Class {
    let tmp = tempfile::Builder::new()
        .prefix("shout-isolation-")
        .tempdir()
        .unwrap();
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let class = tmp.path().join("class");
    let out = tmp.path().join("out");
    let drop = tmp.path().join("drop");
    let cwd = tmp.path().join("grader");
    for dir in [&class, &out, &drop, &cwd] {
        fs::create_dir_all(dir).unwrap();
        fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).unwrap();
    }
    fs::set_permissions(&drop, fs::Permissions::from_mode(0o1777)).unwrap();
    fs::write(cwd.join("notes.txt"), CWD_MARK).unwrap();
    // An earlier run's grades, which students must not read.
    fs::write(
        out.join("grades.csv"),
        format!("submission,total\r\nsomeone,{EARLIER_MARK}\r\n"),
    )
    .unwrap();
    let victim = std::env::temp_dir().join(format!("shout-victim-{}", std::process::id()));
    fs::create_dir_all(&victim).unwrap();
    fs::write(victim.join("keep.txt"), "a file of another sandboxed user").unwrap();
    if root() {
        std::os::unix::fs::chown(&victim, Some(65534), Some(65534)).unwrap();
        std::os::unix::fs::chown(victim.join("keep.txt"), Some(65534), Some(65534)).unwrap();
    }
    let honest_dir = class.join("honest-a");
    let context = Context {
        honest: honest_dir.clone(),
        out: out.clone(),
        drop: drop.clone(),
        cwd: cwd.clone(),
    };
    let mut order = Vec::new();
    for name in ["honest-a"]
        .iter()
        .chain(&ATTACKS[..5])
        .chain(&["honest-b"])
        .chain(&ATTACKS[5..])
        .chain(&["oversized", "many-files", "honest-c"])
    {
        let dir = class.join(name);
        fs::create_dir_all(&dir).unwrap();
        match *name {
            n if n.starts_with("honest") => write_honest(&dir),
            "oversized" => {
                write_honest(&dir);
                // Sparse: 60 MB that take no disk.
                fs::File::create(dir.join("dataset.bin"))
                    .unwrap()
                    .set_len(60_000_000)
                    .unwrap();
            }
            "many-files" => {
                write_honest(&dir);
                let modules = dir.join("node_modules");
                fs::create_dir(&modules).unwrap();
                for m in 0..2001 {
                    fs::write(modules.join(format!("m{m}.js")), "module.exports = 1;\n").unwrap();
                }
            }
            attack => write_attacker(&dir, attack, &context),
        }
        order.push(dir);
    }
    // SHOUT_TEST_ISOLATION=best-effort with bubblewrap off PATH shows the attacks this
    // suite catches when the layers are missing.
    let isolation = std::env::var("SHOUT_TEST_ISOLATION")
        .unwrap_or_else(|_| if root() { "strict" } else { "best-effort" }.to_string());
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_shout"))
        .arg("grade")
        .args(&order)
        .arg("--out")
        .arg(&out)
        .args(["--jobs", "4", "--isolation", &isolation])
        .current_dir(&cwd)
        .env("GRADER_TOKEN", SECRET)
        .output()
        .unwrap();
    let mut class = Class {
        about: BTreeMap::new(),
        results: BTreeMap::new(),
        csv: String::new(),
        loot: Vec::new(),
        victim_kept: victim.join("keep.txt").exists(),
        active: Vec::new(),
        status: output.status.code(),
        stderr: String::from_utf8_lossy(&output.stderr).to_string(),
    };
    let names: Vec<String> = order
        .iter()
        .map(|d| d.file_name().unwrap().to_string_lossy().to_string())
        .collect();
    read_run(&mut class, &out, &drop, &names);
    let _ = fs::remove_dir_all(&victim);
    drop_all(tmp);
    if let Some(json) = class.results.get("honest-a") {
        class.active = json["extra_data"]["isolation"]["active"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
    }
    class
}

/// Removes the run's folder (files of submission users included).
fn drop_all(tmp: tempfile::TempDir) {
    let path = tmp.path().to_path_buf();
    if tmp.close().is_err() {
        let _ = fs::remove_dir_all(path);
    }
}

/// Where the attackers look, as a student would find out (the paths are in the grader's
/// command line, which every process could read before).
struct Context {
    honest: PathBuf,
    out: PathBuf,
    drop: PathBuf,
    cwd: PathBuf,
}

fn write_honest(dir: &Path) {
    for file in [
        "TCPServer.py",
        "TCPClient.py",
        "UDPServer.py",
        "UDPClient.py",
    ] {
        fs::write(
            dir.join(file),
            format!("# {HONEST_MARK}\n{}", textbook(file)),
        )
        .unwrap();
    }
}

/// A correct submission whose servers also attack for up to 40 s from a thread, and
/// append whatever they find to every reply and write it to the drop folder.
fn write_attacker(dir: &Path, attack: &str, c: &Context) {
    for file in ["TCPClient.py", "UDPClient.py"] {
        fs::write(dir.join(file), textbook(file)).unwrap();
    }
    let prelude = ATTACK_PY
        .replace("@ATTACK@", attack)
        .replace("@HONEST@", &c.honest.display().to_string())
        .replace("@OUT@", &c.out.display().to_string())
        .replace("@DROP@", &c.drop.display().to_string())
        .replace("@CWD@", &c.cwd.display().to_string())
        .replace("@PREFIX@", &leftover_prefix())
        .replace(
            "@MARKS@",
            &[HONEST_MARK, SECRET, CWD_MARK, EARLIER_MARK]
                .map(|m| format!("b'{}'", m.chars().rev().collect::<String>()))
                .join(", "),
        );
    fs::write(dir.join("attack.py"), prelude).unwrap();
    fs::write(dir.join("TCPServer.py"), TCP_SERVER_PY).unwrap();
    fs::write(dir.join("UDPServer.py"), UDP_SERVER_PY).unwrap();
    match attack {
        "tmp-rm" => fs::write(
            dir.join("shout.toml"),
            "[[implementation]]\nname = \"tmp-rm\"\nlanguage = \"python\"\nbuild = \"sh -c 'rm -rf /tmp/shout-victim-*; find /tmp /var/tmp -maxdepth 3 -user 65534 -delete 2>/dev/null; true'\"\n\
             udp-server = \"python3 UDPServer.py {port}\"\ntcp-server = \"python3 TCPServer.py {port}\"\n",
        )
        .unwrap(),
        "shout-bin" => fs::write(
            dir.join("shout.toml"),
            format!(
                "[[implementation]]\nname = \"shout-bin\"\nlanguage = \"python\"\n\
                 udp-server = \"{bin} udp-server {{port}}\"\ntcp-server = \"{bin} tcp-server {{port}}\"\n",
                bin = env!("CARGO_BIN_EXE_shout")
            ),
        )
        .unwrap(),
        _ => {}
    }
}

/// The attacks, in Python, imported by both servers (`@NAME@` are filled in per
/// attacker).
const ATTACK_PY: &str = include_str!("fixtures/isolation/attack.py");

/// The attacker's TCP server: the textbook's, with the attack thread and the loot in
/// its replies.
const TCP_SERVER_PY: &str = include_str!("fixtures/isolation/TCPServer.py");

/// The attacker's UDP server, likewise.
const UDP_SERVER_PY: &str = include_str!("fixtures/isolation/UDPServer.py");

/// The processes of graded submissions still alive: those running as a submission's
/// own user.
fn submission_processes() -> Vec<String> {
    let base = shout::run::sandbox::SUBMISSION_UID_BASE;
    let mut alive = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(status) = fs::read_to_string(entry.path().join("status")) else {
            continue;
        };
        let uid: Option<u32> = status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|l| l.split_whitespace().next()?.parse().ok());
        if uid.is_some_and(|u| (base..base + 1000).contains(&u)) {
            alive.push(status.lines().next().unwrap_or_default().to_string());
        }
    }
    alive
}

#[test]
fn a_classmates_processes_files_environment_and_memory_are_out_of_reach_through_proc() {
    class().assert_attack_failed("proc");
}

#[test]
fn killing_every_visible_process_leaves_the_classmates_marks_alone() {
    class().assert_attack_failed("kill");
}

#[test]
fn rewriting_a_classmates_server_in_its_work_folder_changes_nothing() {
    class().assert_attack_failed("rewrite");
}

#[test]
fn the_classmates_originals_earlier_grades_and_the_graders_folder_cannot_be_read() {
    class().assert_attack_failed("paths");
}

#[test]
fn the_graders_environment_does_not_reach_student_code() {
    class().assert_attack_failed("env");
}

#[test]
fn a_build_step_cannot_delete_files_elsewhere_in_tmp() {
    let c = class();
    c.assert_attack_failed("tmp-rm");
    assert!(
        c.victim_kept,
        "the build deleted a file of another user in /tmp"
    );
}

#[test]
fn files_written_to_tmp_and_dev_shm_do_not_survive_the_run() {
    let c = class();
    c.assert_attack_failed("fill");
    let mut left = Vec::new();
    for folder in ["/tmp", "/dev/shm", "/var/tmp"] {
        for entry in fs::read_dir(folder).into_iter().flatten().flatten() {
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with(&leftover_prefix())
            {
                left.push(entry.path());
            }
        }
    }
    for path in &left {
        let _ = fs::remove_file(path);
    }
    assert!(
        left.is_empty(),
        "files the attacker wrote were still there: {left:?}"
    );
}

#[test]
fn two_processes_cannot_hold_more_than_the_submissions_memory_budget() {
    let c = class();
    if c.status == Some(0) && !c.layer_active("memory cgroup") {
        eprintln!(
            "skipped: no memory cgroup here (needs root); active layers: {:?}",
            c.active
        );
        return;
    }
    c.assert_attack_failed("memory");
}

#[test]
fn the_shout_binary_cannot_be_run_as_the_students_server() {
    let c = class();
    c.assert_attack_failed("shout-bin");
    let (score, _) = c.total("shout-bin");
    assert_eq!(
        score,
        0.0,
        "shout's own servers earned points for a student:\n{}",
        c.everything_about("shout-bin")
    );
}

#[test]
fn an_oversized_submission_is_not_graded_and_says_why_while_the_class_is() {
    let c = class();
    c.assert_attack_failed("oversized");
    let csv = &c.csv;
    let row = |name: &str| {
        csv.lines()
            .find(|l| l.starts_with(&format!("{name},")))
            .unwrap_or_else(|| panic!("no row for {name}:\n{csv}"))
            .to_string()
    };
    assert!(
        row("oversized").contains("your submission is 60 MB; the limit is 50 MB"),
        "{}",
        row("oversized")
    );
    assert!(
        row("many-files").contains("the limit is 2000"),
        "{}",
        row("many-files")
    );
    assert_eq!(c.total("oversized").0, 0.0);
    assert_eq!(c.total("many-files").0, 0.0);
    for (name, (score, max)) in ["honest-a", "honest-b", "honest-c"].map(|n| (n, c.total(n))) {
        assert_eq!(score, max, "{name}");
    }
}

/// The per-submission memory cgroups (cgroup v1) left by shout processes that have
/// exited: `shout-mem/<pid>-<n>` inside this test's own memory cgroup, which shout
/// shared.
fn stale_memory_cgroups() -> Vec<PathBuf> {
    let Ok(own) = fs::read_to_string("/proc/self/cgroup") else {
        return Vec::new();
    };
    let Some(path) = own.lines().find_map(|l| {
        let mut parts = l.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        controllers
            .split(',')
            .any(|c| c == "memory")
            .then(|| path.to_string())
    }) else {
        return Vec::new();
    };
    let base = Path::new("/sys/fs/cgroup/memory")
        .join(path.trim_start_matches('/'))
        .join("shout-mem");
    fs::read_dir(base)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            name.split_once('-')
                .and_then(|(pid, _)| pid.parse::<u32>().ok())
                .is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists())
        })
        .map(|e| e.path())
        .collect()
}

#[test]
fn no_process_or_memory_cgroup_of_a_submission_outlives_the_run() {
    let c = class();
    assert_eq!(c.status, Some(0), "{}", c.stderr);
    let alive = submission_processes();
    assert!(alive.is_empty(), "still running: {alive:?}");
    let cgroups = stale_memory_cgroups();
    assert!(
        cgroups.is_empty(),
        "memory cgroups left behind: {cgroups:?}"
    );
}

#[test]
fn the_active_layers_are_said_at_the_start_and_written_to_results_json() {
    let c = class();
    assert_eq!(c.status, Some(0), "{}", c.stderr);
    assert!(c.stderr.contains("isolation "), "{}", c.stderr);
    assert!(
        c.layer_active("bubblewrap"),
        "bubblewrap is needed for this suite: {:?}",
        c.active
    );
    if root() {
        for layer in [
            "unprivileged user",
            "pids cgroup",
            "network namespace",
            "memory cgroup",
        ] {
            assert!(
                c.layer_active(layer),
                "{layer} is not active as root: {:?}",
                c.active
            );
        }
    }
}

//! `--reference`: the class's own reference (`java-textbook`, a manifest), the class
//! report's hint when a class looks taught from the Java programs, and `non-strict`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::{root, shout_bin};

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/submissions").join(name)
}

/// Copies the fixture `name` to `dir/as_name`, as a class folder would hold it.
fn copy_fixture(name: &str, dir: &Path, as_name: &str) -> PathBuf {
    let to = dir.join(as_name);
    std::fs::create_dir_all(&to).unwrap();
    for entry in std::fs::read_dir(fixture(name)).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
    to
}

fn shout(args: &[&std::ffi::OsStr]) -> std::process::Output {
    assert_cmd::Command::new(shout_bin())
        .args(args)
        .timeout(Duration::from_secs(900))
        .output()
        .unwrap()
}

fn grade(dirs: &[PathBuf], out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args: Vec<std::ffi::OsString> = vec!["grade".into()];
    args.extend(dirs.iter().map(|d| d.clone().into_os_string()));
    args.extend([
        "--out".into(),
        out.as_os_str().to_owned(),
        "--no-cache".into(),
    ]);
    args.extend(extra.iter().map(|a| a.into()));
    let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    shout(&refs)
}

fn summary(out: &Path, name: &str) -> serde_json::Value {
    let text = std::fs::read(out.join(name).join("shout.json")).unwrap();
    serde_json::from_slice(&text).unwrap()
}

fn results_json(out: &Path, name: &str) -> serde_json::Value {
    let text = std::fs::read(out.join(name).join("results.json")).unwrap();
    serde_json::from_slice(&text).unwrap()
}

/// A test's score in `results.json` by its name (`TCP server — core`).
fn score(results: &serde_json::Value, test: &str) -> f64 {
    results["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == test)
        .unwrap_or_else(|| panic!("no test {test}: {results}"))["score"]
        .as_f64()
        .unwrap()
}

#[test]
fn a_newline_framed_java_class_passes_against_java_textbook_and_is_told_so_against_python() {
    let class = tempfile::tempdir().unwrap();
    let alice = copy_fixture("java-textbook", class.path(), "alice");
    let bob = copy_fixture("bug-newline-framed-tcp", class.path(), "bob");
    let cases = ["--case", "hello", "--case", "mixed-case"];

    // Against the Python scripts: the newline sentence, and the hint with the command.
    let python = tempfile::tempdir().unwrap();
    let result = grade(&[alice.clone(), bob.clone()], python.path(), &cases);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(0), "{stderr}");
    let md = std::fs::read_to_string(python.path().join("grades.md")).unwrap();
    assert!(md.contains("waits for a newline"), "{md}");
    assert!(md.contains("## The reference"), "{md}");
    assert!(md.contains("--reference java-textbook"), "{md}");
    let html = std::fs::read_to_string(python.path().join("grades.html")).unwrap();
    assert!(
        html.contains("id=\"reference\""),
        "the class page says it too"
    );
    assert!(
        stderr.contains("2 of 2 TCP servers wait for a newline")
            && stderr.contains(&format!("{} {} --out", alice.display(), bob.display()))
            && stderr.contains("--case mixed-case --reference java-textbook"),
        "the terminal gives this very command with --reference java-textbook:\n{stderr}"
    );
    assert!(
        score(&results_json(python.path(), "alice"), "TCP server — core") < 10.0,
        "against the Python scripts the Java server loses its core points"
    );

    // Against the Java programs: every check of the Java class passes, and no hint.
    let java = tempfile::tempdir().unwrap();
    let result = grade(
        &[alice],
        java.path(),
        &[&cases[..], &["--reference", "java-textbook"]].concat(),
    );
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(0), "{stderr}");
    let shout_json = summary(java.path(), "alice");
    assert_eq!(shout_json["reference_implementation"], "java-textbook");
    assert_eq!(
        shout_json["summary"]["failed"], 0,
        "every unit passes: {}",
        shout_json["summary"]
    );
    assert!(shout_json["summary"]["passed"].as_u64().unwrap() > 20);
    let ids: Vec<&str> = shout_json["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"tcp::java-textbook-client::alice-server::hello"),
        "the Java client is the reference peer: {ids:?}"
    );
    assert!(ids.iter().all(|id| !id.contains("python-")), "{ids:?}");
    let results = results_json(java.path(), "alice");
    for test in [
        "UDP server — core",
        "UDP client — core",
        "TCP server — core",
        "TCP client — core",
    ] {
        assert_eq!(score(&results, test), 10.0, "{test}");
    }
    let md = std::fs::read_to_string(java.path().join("grades.md")).unwrap();
    assert!(!md.contains("## The reference"), "{md}");
}

#[test]
fn a_server_with_larger_buffers_is_non_strict_with_full_credit_unless_the_rubric_says_otherwise() {
    let cases = [
        "--case",
        "udp-buffer-plus-one",
        "--case",
        "tcp-buffer-plus-one",
    ];
    let out = tempfile::tempdir().unwrap();
    let result = grade(&[fixture("big-buffer")], out.path(), &cases);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(0), "{stderr}");
    let shout_json = summary(out.path(), "big-buffer");
    let non_strict: Vec<&serde_json::Value> = shout_json["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["verdict"] == "non-strict")
        .collect();
    let ids: Vec<&str> = non_strict
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "tcp::probe-client::big-buffer-server::tcp-buffer-plus-one",
            "udp::probe-client::big-buffer-server::udp-buffer-plus-one"
        ]
    );
    assert!(
        non_strict[1]["diagnosis"]
            .as_str()
            .unwrap()
            .contains("answered all 2049 bytes of the request where the reference (python) answers only the first 2048"),
        "{}",
        non_strict[1]["diagnosis"]
    );
    assert_eq!(shout_json["summary"]["non_strict"], 2);
    let results = results_json(out.path(), "big-buffer");
    assert_eq!(score(&results, "UDP server — edge"), 3.0, "full credit");
    let output = results["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "UDP server — edge")
        .unwrap()["output"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(output.contains("1 non-strict"), "{output}");

    // A rubric that gives it no credit.
    let rubric = out.path().join("rubric.toml");
    std::fs::write(&rubric, "non-strict-credit = 0\n").unwrap();
    let strict = tempfile::tempdir().unwrap();
    let rubric_arg = rubric.display().to_string();
    let result = grade(
        &[fixture("big-buffer")],
        strict.path(),
        &[&cases[..], &["--rubric", &rubric_arg]].concat(),
    );
    assert_eq!(result.status.code(), Some(0));
    let results = results_json(strict.path(), "big-buffer");
    // Two UDP edge units: the 1025-byte one passes, the non-strict one now earns nothing.
    assert_eq!(score(&results, "UDP server — edge"), 1.5);
}

/// A UDP server taking its port from the command line, with a buffer for any datagram.
const BIG_UDP_SERVER: &str = "\
import sys
from socket import *
s = socket(AF_INET, SOCK_DGRAM)
s.bind(('', int(sys.argv[1])))
while True:
    m, a = s.recvfrom(65535)
    s.sendto(m.decode().upper().encode(), a)
";

#[test]
fn check_counts_non_strict_as_a_difference_unless_told_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let server = dir.path().join("big.py");
    std::fs::write(&server, BIG_UDP_SERVER).unwrap();
    let command = format!("python3 {} {{port}}", server.display());
    let check = |extra: &[&str]| {
        let mut args = vec![
            "check",
            "--transport",
            "udp",
            "--server",
            &command,
            "--case",
            "udp-buffer-plus-one",
            "--no-cache",
        ];
        args.extend_from_slice(extra);
        let os: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
        shout(&os)
    };
    let strict = check(&[]);
    let stdout = String::from_utf8_lossy(&strict.stdout);
    assert_eq!(strict.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("non-strict"), "{stdout}");
    let lenient = check(&["--non-strict-ok"]);
    assert_eq!(
        lenient.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&lenient.stdout)
    );
}

/// A model solution whose UDP server ends every reply with a newline.
const MODEL_UDP_SERVER: &str = "\
import sys
from socket import *
s = socket(AF_INET, SOCK_DGRAM)
s.bind(('', int(sys.argv[1])))
while True:
    m, a = s.recvfrom(2048)
    s.sendto((m.decode().upper() + '\\n').encode(), a)
";

#[test]
fn a_manifest_reference_is_what_a_candidate_is_compared_with() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("model_udp_server.py"), MODEL_UDP_SERVER).unwrap();
    let reference = root().join("reference");
    let manifest = dir.path().join("model.toml");
    std::fs::write(
        &manifest,
        format!(
            "[[implementation]]\nname = \"model\"\nlanguage = \"python\"\n\
             env = {{ LC_ALL = \"C.UTF-8\", PYTHONIOENCODING = \"utf-8\" }}\n\
             udp-server = \"python3 model_udp_server.py {{port}}\"\n\
             udp-client = \"python3 {r}/UDPClient.py {{host}} {{port}}\"\n\
             tcp-server = \"python3 {r}/TCPServer.py {{port}}\"\n\
             tcp-client = \"python3 {r}/TCPClient.py {{host}} {{port}}\"\n",
            r = reference.display()
        ),
    )
    .unwrap();
    let json = dir.path().join("r.json");
    let check = |server: &str| {
        let args = [
            "check",
            "--reference",
            manifest.to_str().unwrap(),
            "--transport",
            "udp",
            "--server",
            server,
            "--case",
            "hello",
            "--no-cache",
            "--format",
            "json",
            "--output",
            json.to_str().unwrap(),
        ];
        let os: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
        shout(&os)
    };
    // The textbook's own server differs from this model solution: it adds no newline.
    let textbook = format!("python3 {}/UDPServer.py {{port}}", reference.display());
    let result = check(&textbook);
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert_eq!(result.status.code(), Some(1), "{stdout}");
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(results["reference_implementation"], "model");
    assert!(
        results["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == "udp::probe-client::candidate-server::hello"
                && r["verdict"] == "fail"),
        "{results}"
    );
    // The model's own server agrees with it.
    let own = format!(
        "python3 {} {{port}}",
        dir.path().join("model_udp_server.py").display()
    );
    let result = check(&own);
    assert_eq!(
        result.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&result.stdout)
    );
}

#[test]
fn a_bad_reference_is_a_clear_error_with_exit_2() {
    let run = |args: &[&str]| {
        let os: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
        let out = shout(&os);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stderr) = run(&[
        "check",
        "--reference",
        "javva",
        "--transport",
        "udp",
        "--server",
        "true {port}",
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("--reference javva: not `python`, not `java-textbook`"),
        "{stderr}"
    );
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("half.toml");
    std::fs::write(
        &manifest,
        "[[implementation]]\nname = \"half\"\nudp-server = \"true {port}\"\n",
    )
    .unwrap();
    let out = dir.path().join("grades");
    let (code, stderr) = run(&[
        "grade",
        fixture("py3-faithful").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--reference",
        manifest.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "has no udp-client, tcp-server, tcp-client; a reference plays all four roles"
        ),
        "{stderr}"
    );
}

#[test]
fn java_textbook_without_a_jdk_is_the_machines_problem_exit_2() {
    // An empty PATH: no javac (the reference interpreter is given by its path).
    let bin = tempfile::tempdir().unwrap();
    let python = crate::support::python3().path;
    let out = assert_cmd::Command::new(shout_bin())
        .args(["check", "--reference", "java-textbook", "--python"])
        .arg(&python)
        .args([
            "--transport",
            "udp",
            "--server",
            "true {port}",
            "--no-cache",
        ])
        .env("PATH", bin.path())
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--reference java-textbook needs a JDK (`javac` is not on PATH)"),
        "{stderr}"
    );
}

/// Under `--reference java-textbook`, a Unicode difference names the Java runtime and
/// the Unicode version its `Character` follows, never the Python interpreter's.
#[test]
fn a_unicode_difference_under_the_java_reference_names_java_and_its_version() {
    let java = std::process::Command::new("java")
        .arg("-version")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&java.stderr).into_owned();
    let quoted = text.split('"').nth(1).unwrap_or_default();
    let feature = match quoted.split(['.', '-', '+']).next() {
        Some("1") => quoted.split('.').nth(1).unwrap_or_default(),
        Some(n) => n,
        None => "",
    };
    let server = format!(
        "python3 {} {{port}}",
        root().join("reference/UDPServer.py").display()
    );
    let done = shout(
        &[
            "check",
            "--reference",
            "java-textbook",
            "--transport",
            "udp",
            "--server",
            &server,
            "--case",
            "unicode-*",
        ]
        .map(std::ffi::OsStr::new),
    );
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert!(
        stdout.contains(&format!("the reference Java {feature} follows ")),
        "{stdout}"
    );
    assert!(!stdout.contains("the reference Python"), "{stdout}");
}

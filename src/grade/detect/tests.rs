//! Detection on the fixture submissions and on small folders written by the tests.

use std::path::{Path, PathBuf};

use super::commands::template;
use super::roles::name_hint;
use super::sources::{slash_path, strip_comments};
use super::*;
use crate::proto::Transport;
use crate::registry::{CommandTemplate, Role, RoleKey};

pub(super) fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/submissions")
        .join(name)
}

pub(super) fn sources(name: &str) -> Sources {
    match detect(&fixture(name)).expect("the fixture is a readable folder") {
        Submission::Sources(s) => s,
        Submission::Manifest(_) => panic!("{name} has no manifest"),
    }
}

/// One line per role, in manifest order, then the submission's notes.
pub(super) fn summary(s: &Sources) -> Vec<String> {
    let mut out = Vec::new();
    for key in RoleKey::ALL {
        let Some(r) = s.role(key) else { continue };
        let mut line = format!("{key} {} {}", slash_path(&r.file), r.language);
        if let Some(p) = r.port {
            line.push_str(&format!(" port={p}"));
        }
        if let Some(h) = &r.host {
            line.push_str(&format!(" host={h}"));
        }
        for n in &r.notes {
            line.push_str(&format!(" | {n}"));
        }
        out.push(line);
    }
    out.extend(s.notes.iter().map(|n| format!("note: {n}")));
    out
}

pub(super) fn check(name: &str, language: Language, expected: &[&str]) {
    let s = sources(name);
    assert_eq!(s.name, name);
    assert_eq!(s.language, Some(language), "{name}");
    assert_eq!(summary(&s), expected, "{name}");
}

pub(super) fn words(c: &CommandTemplate) -> String {
    c.words.join(" ")
}

/// The four textbook scripts, as `py3-faithful` and most one-bug copies have them.
const PY3_FOUR: [&str; 4] = [
    "udp-server UDPServer.py Python 3 port=12000",
    "udp-client UDPClient.py Python 3 port=12000 host=localhost",
    "tcp-server TCPServer.py Python 3 port=12000",
    "tcp-client TCPClient.py Python 3 port=12000 host=127.0.0.1",
];

#[test]
fn textbook_python3_scripts_give_all_four_roles() {
    check("py3-faithful", Language::Python3, &PY3_FOUR);
    let s = sources("py3-faithful");
    let udp_server = s.role(RoleKey::ALL[0]).unwrap();
    assert_eq!(words(&udp_server.run), "python3 UDPServer.py");
    assert_eq!(udp_server.build, None);
}

#[test]
fn one_bug_copies_are_detected_like_the_textbook_scripts() {
    for name in [
        "big-buffer",
        "bug-newline",
        "bug-newline-framed-tcp",
        "bug-upper-client",
        "bug-other-port",
        "bug-title",
        "bug-prefix-client",
        "bug-loop-client",
        "bug-log-server",
    ] {
        check(name, Language::Python3, &PY3_FOUR);
    }
}

#[test]
fn one_role_bug_folders_give_their_one_role() {
    check(
        "bug-echo-server",
        Language::Python3,
        &["udp-server UDPServer.py Python 3 port=12000"],
    );
    check(
        "bug-single-accept",
        Language::Python3,
        &["tcp-server TCPServer.py Python 3 port=12000"],
    );
}

#[test]
fn placeholders_and_misspelt_names_are_found_and_noted() {
    check(
        "py3-placeholder",
        Language::Python3,
        &[
            "udp-server UDPserver.py Python 3 port=12000",
            "udp-client udpclient.py Python 3 port=12000 host=hostname \
             | the server name 'hostname' is the textbook's placeholder",
            "tcp-server TCPserver.py Python 3 port=12000",
            "tcp-client TCPclient.py Python 3 port=12000 host=servername \
             | the server name 'servername' is the textbook's placeholder",
        ],
    );
}

#[test]
fn python2_syntax_makes_every_script_python2() {
    check(
        "py2",
        Language::Python2,
        &[
            "udp-server UDPServer.py Python 2 port=12000",
            "udp-client UDPClient.py Python 2 port=12000 host=localhost",
            "tcp-server TCPServer.py Python 2 port=12000",
            "tcp-client TCPClient.py Python 2 port=12000 host=localhost",
        ],
    );
    let s = sources("py2");
    assert_eq!(
        words(&s.role(RoleKey::ALL[3]).unwrap().run),
        "python2 TCPClient.py"
    );
}

#[test]
fn textbook_java_uses_its_own_ports_and_the_hostname_placeholder() {
    check(
        "java-textbook",
        Language::Java,
        &[
            "udp-server UDPServer.java Java port=9876",
            "udp-client UDPClient.java Java port=9876 host=hostname \
             | the server name 'hostname' is the textbook's placeholder",
            "tcp-server TCPServer.java Java port=6789",
            "tcp-client TCPClient.java Java port=6789 host=hostname \
             | the server name 'hostname' is the textbook's placeholder",
        ],
    );
    let s = sources("java-textbook");
    let client = s.role(RoleKey::ALL[1]).unwrap();
    assert_eq!(
        words(client.build.as_ref().unwrap()),
        "javac UDPClient.java"
    );
    assert_eq!(words(&client.run), "java -cp . UDPClient");
}

#[test]
fn c_ports_come_from_htons_or_a_define() {
    let c_four = [
        "udp-server udp_server.c C port=12000",
        "udp-client udp_client.c C port=12000 host=127.0.0.1",
        "tcp-server tcp_server.c C port=12000",
        "tcp-client tcp_client.c C port=12000 host=127.0.0.1",
    ];
    check("c-sockets", Language::C, &c_four);
    check("bug-whole-buffer", Language::C, &c_four);
    let s = sources("c-sockets");
    let server = s.role(RoleKey::ALL[0]).unwrap();
    assert_eq!(
        words(server.build.as_ref().unwrap()),
        "gcc -O2 -o ./udp_server udp_server.c"
    );
    assert_eq!(words(&server.run), "./udp_server");
}

#[test]
fn node_scripts_are_found_by_dgram_and_net() {
    check(
        "js-node",
        Language::JavaScript,
        &[
            "udp-server udp_server.js JavaScript port=12000",
            "udp-client udp_client.js JavaScript port=12000 host=localhost",
            "tcp-server tcp_server.js JavaScript port=12000",
            "tcp-client tcp_client.js JavaScript port=12000 host=localhost",
        ],
    );
    let s = sources("js-node");
    assert_eq!(
        words(&s.role(RoleKey::ALL[2]).unwrap().run),
        "node tcp_server.js"
    );
}

#[test]
fn one_go_file_can_play_two_roles() {
    check(
        "go-server",
        Language::Go,
        &[
            "udp-server server.go Go port=12000",
            "udp-client udpclient.go Go port=12000 host=localhost",
            "tcp-server server.go Go port=12000",
            "tcp-client tcpclient.go Go port=12000 host=127.0.0.1",
        ],
    );
    let s = sources("go-server");
    let udp = s.role(RoleKey::ALL[0]).unwrap();
    let tcp = s.role(RoleKey::ALL[2]).unwrap();
    assert_eq!(udp.build, tcp.build);
    assert_eq!(
        words(udp.build.as_ref().unwrap()),
        "go build -o ./server server.go"
    );
}

#[test]
fn missing_roles_are_absent() {
    check(
        "missing-role",
        Language::Python3,
        &[
            "udp-server UDPServer.py Python 3 port=12000",
            "udp-client UDPClient.py Python 3 port=12000 host=localhost",
        ],
    );
}

#[test]
fn code_wins_over_a_lying_file_name() {
    check(
        "bug-misnamed",
        Language::Python3,
        &[
            "udp-server TCPC.py Python 3 port=12000 \
             | file name says TCP client, code is a UDP server",
            "udp-client UDPC.py Python 3 port=12000 host=localhost",
        ],
    );
}

#[test]
fn hostile_submissions_are_detected_without_running_them() {
    check(
        "hostile-fork",
        Language::Python3,
        &["tcp-server TCPServer.py Python 3 port=12000"],
    );
    check(
        "hostile-flood",
        Language::Python3,
        &["udp-client UDPClient.py Python 3 port=12000 host=localhost"],
    );
    check(
        "hostile-ignore-term",
        Language::Python3,
        &["udp-server UDPServer.py Python 3 port=12000"],
    );
    check(
        "hostile-never-exits",
        Language::Python3,
        &["tcp-client TCPClient.py Python 3 port=12000 host=localhost"],
    );
}

#[test]
fn a_server_that_never_binds_falls_back_to_its_file_name() {
    check(
        "hostile-never-binds",
        Language::Python3,
        &["tcp-server TCPServer.py Python 3 port=12000 \
           | the code never binds, listens or accepts; taken as a TCP server from its file name"],
    );
}

#[test]
fn a_manifest_is_used_instead_of_the_sources() {
    let Submission::Manifest(m) = detect(&fixture("with-manifest")).unwrap() else {
        panic!("with-manifest has a shout.toml");
    };
    assert_eq!(m.name, "with-manifest");
    assert_eq!(m.file, fixture("with-manifest").join(MANIFEST_FILE));
    assert_eq!(m.implementations.len(), 1);
    let keys: Vec<String> = m.implementations[0]
        .roles
        .keys()
        .map(|k| k.to_string())
        .collect();
    assert_eq!(keys, ["udp-server", "tcp-server"]);
}

#[test]
fn every_fixture_folder_is_covered_by_a_test() {
    let covered = [
        "big-buffer",
        "bug-echo-server",
        "bug-log-server",
        "bug-loop-client",
        "bug-misnamed",
        "bug-newline",
        "bug-newline-framed-tcp",
        "bug-other-port",
        "bug-prefix-client",
        "bug-single-accept",
        "bug-title",
        "bug-upper-client",
        "bug-whole-buffer",
        "c-bind-client",
        "c-lan-address",
        "c-sockets",
        "go-listenpacket",
        "go-server",
        "hostile-flood",
        "hostile-fork",
        "hostile-ignore-term",
        "hostile-never-binds",
        "hostile-never-exits",
        "java-package",
        "java-textbook",
        "js-node",
        "missing-role",
        "py-hostname",
        "py-lan-address",
        "py-mixed",
        "py-two-servers",
        "py-two-udp-servers",
        "py2",
        "py3-faithful",
        "py3-placeholder",
        "rust-cargo",
        "with-manifest",
    ];
    let mut found: Vec<String> = std::fs::read_dir(fixture(""))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    assert_eq!(found, covered);
}

#[test]
fn go_submissions_say_how_to_install_go_when_it_is_missing() {
    let sub = detect(&fixture("go-server")).unwrap();
    if which::which("go").is_err() {
        assert_eq!(
            missing_toolchain(&sub).map(|m| m.to_string()).as_deref(),
            Some("Go submission; `go` is not installed: apt-get install golang-go")
        );
    }
    let Submission::Sources(mut s) = sub else {
        unreachable!()
    };
    for role in s.roles.values_mut() {
        role.build = Some(template(&["shout-no-such-compiler".to_string()]));
    }
    let missing = missing_toolchain(&Submission::Sources(s)).unwrap();
    assert_eq!(
        missing.programs[0],
        MissingProgram {
            program: "shout-no-such-compiler".into(),
            needed_by: NeededBy::Language(Language::Go),
        }
    );
    let message = missing.to_string();
    assert!(
        message.starts_with(
            "Go submission; `shout-no-such-compiler` is not installed: apt-get install golang-go"
        ),
        "{message}"
    );
}

#[test]
fn folder_names_become_submission_names() {
    assert_eq!(
        submission_name("John Smith_HW2 (late)").as_deref(),
        Some("john-smith-hw2-late")
    );
    assert_eq!(
        submission_name("py3-faithful").as_deref(),
        Some("py3-faithful")
    );
    assert_eq!(submission_name("__--__"), None);
}

#[test]
fn file_names_hint_at_roles() {
    let hint = |n: &str| name_hint(Path::new(n));
    assert_eq!(hint("TCPC.py"), (Some(Transport::Tcp), Some(Role::Client)));
    assert_eq!(hint("udp_s.c"), (Some(Transport::Udp), Some(Role::Server)));
    assert_eq!(
        hint("UDPserver.py"),
        (Some(Transport::Udp), Some(Role::Server))
    );
    assert_eq!(hint("server.go"), (None, Some(Role::Server)));
    assert_eq!(hint("readline.js"), (None, None));
}

#[test]
fn comments_are_blanked_but_strings_are_kept() {
    let py = strip_comments(
        "x = '#'  # bind(\ns = \"\"\"it's\"\"\" # 9\n",
        Language::Python3,
    );
    assert_eq!(py, "x = '#'         \ns = \"\"\"it's\"\"\"    \n");
    let c = strip_comments("a(\"//\"); // b\n/* c\n*/ d", Language::C);
    assert_eq!(c, "a(\"//\");     \n    \n   d");
}

pub(super) fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn rust_files_build_with_rustc_or_cargo() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("Rust Student");
    write(
        &dir,
        "udp_server.rs",
        "use std::net::UdpSocket;\nfn main() {\n let s = UdpSocket::bind(\"0.0.0.0:12000\").unwrap();\n let mut b = [0u8; 2048];\n let (n, a) = s.recv_from(&mut b).unwrap();\n s.send_to(&b[..n], a).unwrap();\n}\n",
    );
    write(
        &dir,
        "client/Cargo.toml",
        "[package]\nname = \"tcpc\"\nversion = \"0.1.0\"\n",
    );
    write(
        &dir,
        "client/src/main.rs",
        "use std::net::TcpStream;\nconst PORT: u16 = 12001;\nfn main() { let _ = std::io::stdin(); let _s = TcpStream::connect((\"localhost\", PORT)); }\n",
    );
    let Submission::Sources(s) = detect(&dir).unwrap() else {
        panic!("no manifest here")
    };
    assert_eq!(s.name, "rust-student");
    assert_eq!(
        summary(&s),
        [
            "udp-server udp_server.rs Rust port=12000",
            "tcp-client client/src/main.rs Rust port=12001 host=localhost",
        ]
    );
    let server = s.role(RoleKey::ALL[0]).unwrap();
    assert_eq!(
        words(server.build.as_ref().unwrap()),
        "rustc -O -o ./udp_server udp_server.rs"
    );
    let client = s.role(RoleKey::ALL[3]).unwrap();
    assert_eq!(
        words(client.build.as_ref().unwrap()),
        "cargo build --release --offline --manifest-path client/Cargo.toml"
    );
    assert_eq!(words(&client.run), "client/target/release/tcpc");
}

#[test]
fn duplicate_roles_and_mismatched_ports_are_noted() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dup");
    let server = std::fs::read_to_string(fixture("py3-faithful").join("UDPServer.py")).unwrap();
    write(&dir, "UDPServer.py", &server);
    write(&dir, "old/server_v1.py", &server.replace("12000", "12001"));
    write(&dir, "helper.py", "import os\n");
    write(
        &dir,
        "UDPClient.py",
        &std::fs::read_to_string(fixture("py3-faithful").join("UDPClient.py"))
            .unwrap()
            .replace("12000", "5000")
            .replace("'localhost'", "'lab-pc-07'"),
    );
    let Submission::Sources(s) = detect(&dir).unwrap() else {
        panic!("no manifest here")
    };
    assert_eq!(
        summary(&s),
        [
            "udp-server UDPServer.py Python 3 port=12000",
            "udp-client UDPClient.py Python 3 port=5000 host=lab-pc-07 \
             | the server name 'lab-pc-07' is not this machine's loopback address; grading \
             puts the test server there; to run it yourself, set it to 'localhost'",
            "note: udp-server: UDPServer.py and old/server_v1.py both play it, and the code \
             does not say which is meant; both are graded and the better kept",
            "note: the UDP client sends to port 5000, but the UDP server listens on port 12000",
        ]
    );
}

#[test]
fn folders_without_code_have_no_roles() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("empty");
    write(&dir, "README.txt", "I ran out of time.\n");
    let Submission::Sources(s) = detect(&dir).unwrap() else {
        panic!("no manifest here")
    };
    assert_eq!(s.language, None);
    assert_eq!(summary(&s), ["note: no source file plays a role"]);
}

#[test]
fn bad_folders_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("file.py");
    std::fs::write(&file, "").unwrap();
    assert!(matches!(
        detect(&file),
        Err(DetectError::NotADirectory { .. })
    ));
    let dir = tmp.path().join("bad-manifest");
    write(
        &dir,
        MANIFEST_FILE,
        "[[implementation]]\nname = \"Bad Name\"\nudp-server = \"x {port}\"\n",
    );
    let err = detect(&dir).unwrap_err();
    assert!(matches!(err, DetectError::Manifest(_)), "{err}");
    assert!(err.to_string().contains("field `name`"), "{err}");
}

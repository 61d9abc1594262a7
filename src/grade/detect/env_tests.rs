//! Detection on submissions whose grading depends on the grading machine: a Cargo
//! project, and clients that hardcode a LAN address or a host name.

use super::tests::{check, sources, words};
use super::*;
use crate::registry::RoleKey;

#[test]
fn a_cargo_project_builds_once_offline_and_runs_each_binary() {
    check(
        "rust-cargo",
        Language::Rust,
        &[
            "udp-server src/bin/udp_server.rs Rust port=12000",
            "udp-client src/bin/udp_client.rs Rust port=12000 host=127.0.0.1",
            "tcp-server src/bin/tcp_server.rs Rust port=12000",
            "tcp-client src/bin/tcp_client.rs Rust port=12000 host=127.0.0.1",
        ],
    );
    let s = sources("rust-cargo");
    for key in RoleKey::ALL {
        let role = s.role(key).unwrap();
        assert_eq!(
            role.build.as_ref().map(words).as_deref(),
            Some("cargo build --release --offline --manifest-path Cargo.toml"),
            "{key}"
        );
        let bin = role
            .file
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert_eq!(words(&role.run), format!("target/release/{bin}"), "{key}");
    }
}

#[test]
fn clients_that_name_a_lan_address_or_a_lab_machine_say_so_and_list_every_host() {
    let lan = "is not this machine's loopback address; grading puts the test server there; \
               to run it yourself, set it to 'localhost'";
    check(
        "py-lan-address",
        Language::Python3,
        &[
            "udp-server UDPServer.py Python 3 port=12000",
            &format!("udp-client UDPClient.py Python 3 port=12000 host=192.168.0.123 | the server name '192.168.0.123' {lan}"),
            "tcp-server TCPServer.py Python 3 port=12000",
            &format!("tcp-client TCPClient.py Python 3 port=12000 host=192.168.0.123 | the server name '192.168.0.123' {lan}"),
        ],
    );
    let c = sources("c-lan-address");
    for key in [RoleKey::ALL[1], RoleKey::ALL[3]] {
        assert_eq!(c.role(key).unwrap().hosts, ["10.0.0.117"], "{key}");
        assert_eq!(c.role(key).unwrap().port, Some(12000), "{key}");
    }
    assert!(c.role(RoleKey::ALL[0]).is_none());
    let named = sources("py-hostname");
    assert_eq!(named.role(RoleKey::ALL[1]).unwrap().hosts, ["labpc-07"]);
    assert_eq!(named.client_hosts(), ["labpc-07"]);
}

#[test]
fn every_address_a_client_writes_is_collected_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    super::tests::write(
        dir.path(),
        "client.go",
        "package main\nimport (\"fmt\"\n\"net\")\nconst lab = \"10.0.0.117:12000\"\nfunc main() {\n\tconn, err := net.Dial(\"udp\", \"[fd00::7]:12000\")\n\tif err != nil { conn, _ = net.Dial(\"udp\", lab) }\n\tvar line string\n\tfmt.Scanln(&line)\n\tconn.Write([]byte(line))\n\tbuf := make([]byte, 2048)\n\tn, _ := conn.Read(buf)\n\tfmt.Println(string(buf[:n]))\n\t_ = \"10.0.0.117\"\n}\n",
    );
    let Submission::Sources(s) = detect(dir.path()).unwrap() else {
        panic!("no manifest here")
    };
    assert_eq!(
        s.role(RoleKey::ALL[1]).expect("a UDP client").hosts,
        ["10.0.0.117", "fd00::7"]
    );
}

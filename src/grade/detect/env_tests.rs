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

//! `shout grade` where the grading machine, not the student, decides whether a program
//! can run: a Rust toolchain installed under root's home, and clients that hardcode a
//! LAN address or a host name the test server must answer to.

use crate::detection::grade_with;

/// Why a test that needs root and bubblewrap cannot run here, if it cannot.
fn cannot_isolate_strictly() -> Option<&'static str> {
    // SAFETY: geteuid(2) cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not root: strict isolation needs root");
    }
    if which::which("bwrap").is_err() {
        return Some("bubblewrap is not installed (apt-get install bubblewrap)");
    }
    None
}

#[test]
fn a_cargo_project_builds_with_the_graders_rustup_toolchain_and_earns_every_point() {
    if let Some(why) = cannot_isolate_strictly() {
        eprintln!("skipped: {why}");
        return;
    }
    if which::which("cargo").is_err() {
        eprintln!("skipped: cargo is not installed here");
        return;
    }
    let graded = grade_with(&["rust-cargo"], &["--isolation", "strict"]);
    let stderr = &graded.stderr;
    let row = &graded.rows["rust-cargo"];
    assert_eq!(row["language"], "Rust", "{row:?}\n{stderr}");
    assert_eq!(row["total"], row["max"], "{row:?}\n{stderr}");
    assert_eq!(row["max"], "76", "every role counts: {row:?}\n{stderr}");
    assert_eq!(graded.code, Some(0), "{stderr}");
}

/// Whether shout can give each server a network namespace of its own here: as root, or
/// inside a user namespace of its own.
fn own_networks() -> bool {
    // SAFETY: geteuid(2) cannot fail.
    (unsafe { libc::geteuid() } == 0)
        || std::process::Command::new("unshare")
            .args(["-Urn", "true"])
            .status()
            .is_ok_and(|s| s.success())
}

#[test]
fn clients_that_send_to_a_lan_address_or_a_lab_machine_earn_every_client_point() {
    if !own_networks() {
        eprintln!("skipped: no network namespaces here (not root, no user namespaces)");
        return;
    }
    let graded = grade_with(&["py-lan-address", "c-lan-address", "py-hostname"], &[]);
    let stderr = &graded.stderr;
    for name in ["py-lan-address", "c-lan-address", "py-hostname"] {
        let row = &graded.rows[name];
        assert_eq!(
            (row["udp-client"].as_str(), row["tcp-client"].as_str()),
            ("18", "18"),
            "{name}: {row:?}\n{stderr}"
        );
    }
    for name in ["py-lan-address", "py-hostname"] {
        let row = &graded.rows[name];
        assert_eq!(row["total"], row["max"], "{name}: {row:?}\n{stderr}");
    }
    // The C folder has no servers: that, not its clients, is what it lacks.
    let c = &graded.rows["c-lan-address"];
    assert!(c["first_problem"].contains("no UDP server found"), "{c:?}");
}

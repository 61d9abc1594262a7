//! The Rust roles as programs: help, arguments, ready line, signals, binding, errors.

use std::ffi::OsString;

use assert_cmd::Command;
use predicates::prelude::*;

use crate::support::{
    printed, run_client, shout_bin, show, spawn, udp_socket, wait_for_output, Server, Side, PROMPT,
    READY_LINE, WAIT,
};
use shout::proto::Transport;
use shout::run::ports::lease_port;
use shout::run::process::Exit;

fn shout() -> Command {
    let mut cmd = Command::new(shout_bin());
    cmd.timeout(WAIT);
    cmd
}

#[test]
fn every_role_has_help_with_the_reference_arguments() {
    for (role, words) in [
        ("udp-server", &["[PORT]", "--bind", "--unicode"][..]),
        (
            "tcp-server",
            &["[PORT]", "--bind", "--unicode", "--idle-timeout"][..],
        ),
        ("udp-client", &["[HOST]", "[PORT]"][..]),
        ("tcp-client", &["[HOST]", "[PORT]"][..]),
    ] {
        let mut assert = shout().args([role, "--help"]).assert().success();
        for w in words {
            assert = assert.stdout(predicate::str::contains(*w));
        }
    }
}

#[test]
fn unknown_unicode_version_is_an_error_listing_the_supported_ones() {
    shout()
        .args(["udp-server", "0", "--unicode", "3.2"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("14.0").and(predicate::str::contains("3.2")))
        .stderr(predicate::str::contains("panicked").not());
}

#[test]
fn a_port_in_use_is_a_clear_error_not_a_panic() {
    for transport in Transport::ALL {
        let busy = Server::start(&Side::rust(), transport);
        shout()
            .args([format!("{transport}-server"), busy.port.to_string()])
            .assert()
            .code(2)
            .stderr(
                predicate::str::contains("in use").and(predicate::str::contains("panicked").not()),
            );
    }
}

/// `shout <transport>-server <port> args…` (no `--unicode`), listening.
fn rust_server(transport: Transport, args: &[&str]) -> Server {
    Server::start_command(transport, "rust", |port| {
        let mut argv: Vec<OsString> = vec![
            shout_bin().into(),
            format!("{transport}-server").into(),
            port.to_string().into(),
        ];
        argv.extend(args.iter().map(OsString::from));
        spawn(argv, Vec::new(), None)
    })
}

#[test]
fn servers_print_the_ready_line_flushed_on_a_pipe_before_any_request() {
    for transport in Transport::ALL {
        let mut server = rust_server(transport, &[]);
        wait_for_output(server.process(), |out| !out.is_empty());
        assert_eq!(
            show(&server.process().stdout_so_far()),
            show(READY_LINE.as_bytes())
        );
    }
}

#[test]
fn servers_exit_cleanly_on_sigint_and_sigterm() {
    for transport in Transport::ALL {
        for signal in [libc::SIGINT, libc::SIGTERM] {
            let mut server = rust_server(transport, &[]);
            server.signal(signal);
            assert_eq!(
                server.process().wait_timeout(WAIT),
                Some(Exit::Code(0)),
                "{transport} after signal {signal}"
            );
        }
    }
}

#[test]
fn servers_bind_ipv6_loopback_with_bind() {
    for transport in Transport::ALL {
        let server = rust_server(transport, &["--bind", "::1"]);
        let port = server.port;
        let out = run_client(&Side::rust(), transport, port, b"v6\n");
        // run_client targets 127.0.0.1, where nothing listens: refused or no reply.
        assert_ne!(out.exit, Exit::Code(0));
        let mut cmd = shout();
        let args = [
            format!("{transport}-client"),
            "::1".into(),
            port.to_string(),
            "--timeout".into(),
            "5".into(),
        ];
        let expected = printed(transport, b"V6");
        cmd.args(args)
            .write_stdin("v6\n")
            .assert()
            .success()
            .stdout(expected);
    }
}

#[test]
fn servers_bind_all_ipv4_interfaces_by_default() {
    for transport in Transport::ALL {
        let server = rust_server(transport, &[]);
        let port = server.port;
        let bound = shout::run::ports::bound_sockets(transport, port).unwrap();
        assert_eq!(bound.len(), 1);
        assert!(!bound[0].ipv6);
        let table = if transport == Transport::Udp {
            "/proc/net/udp"
        } else {
            "/proc/net/tcp"
        };
        let text = std::fs::read_to_string(table).unwrap();
        assert!(
            text.contains(&format!("00000000:{port:04X}")),
            "not bound to 0.0.0.0:{port}"
        );
    }
}

#[test]
fn clients_fail_like_the_reference_at_end_of_input() {
    for transport in Transport::ALL {
        let server = Server::start(&Side::rust(), transport);
        let rust = run_client(&Side::rust(), transport, server.port, b"");
        let python = run_client(&Side::python(), transport, server.port, b"");
        assert_eq!(rust.exit, Exit::Code(1));
        assert_eq!(python.exit, Exit::Code(1));
        assert_eq!(show(&rust.stdout.bytes), show(&python.stdout.bytes));
        assert!(String::from_utf8_lossy(&rust.stderr.bytes).contains("end of input"));
    }
}

#[test]
fn tcp_client_reports_a_refused_connection_before_the_prompt() {
    let lease = lease_port().unwrap();
    shout()
        .args(["tcp-client", "127.0.0.1", &lease.port().to_string()])
        .write_stdin("x\n")
        .assert()
        .code(1)
        .stdout("")
        .stderr(
            predicate::str::contains("cannot connect")
                .and(predicate::str::contains("is the server running")),
        );
}

#[test]
fn udp_client_gives_up_after_its_timeout_when_nobody_answers() {
    let lease = lease_port().unwrap();
    shout()
        .args([
            "udp-client",
            "127.0.0.1",
            &lease.port().to_string(),
            "--timeout",
            "0.5",
        ])
        .write_stdin("x\n")
        .assert()
        .code(1)
        .stdout(PROMPT)
        // A sub-second timeout is shown as given, not rounded to `0 s`.
        .stderr(predicate::str::contains("no reply").and(predicate::str::contains("within 0.5 s")));
}

#[test]
fn tcp_server_rejects_an_idle_timeout_that_is_not_positive() {
    // Before: 0 (and any negative value) silently meant the 10 s default.
    for bad in ["0", "-1", "NaN"] {
        shout()
            .args([
                "tcp-server",
                "0",
                "--bind",
                "127.0.0.1",
                &format!("--idle-timeout={bad}"),
            ])
            .assert()
            .code(2)
            .stdout("")
            .stderr(
                predicate::str::contains("--idle-timeout must be a positive number of seconds")
                    .and(predicate::str::contains("panicked").not()),
            );
    }
}

#[test]
fn clients_print_only_the_prompt_when_the_reply_is_not_utf8() {
    // A server that answers invalid UTF-8: the Rust server echoing an invalid request
    // cannot be reached through a client, so stand one up here.
    let socket = udp_socket();
    let port = socket.local_addr().unwrap().port();
    let responder = std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        socket.set_read_timeout(Some(WAIT)).unwrap();
        if let Ok((_, peer)) = socket.recv_from(&mut buf) {
            socket.send_to(b"\xff\xfe", peer).unwrap();
        }
    });
    shout()
        .args(["udp-client", "127.0.0.1", &port.to_string()])
        .write_stdin("x\n")
        .assert()
        .code(1)
        .stdout(PROMPT)
        .stderr(predicate::str::contains("not valid UTF-8"));
    responder.join().unwrap();
}

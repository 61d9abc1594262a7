//! Where shout's Rust roles answer what the reference scripts leave unanswered, and
//! how they differ from them there (and nowhere else).
//!
//! `docs/PROTOCOL.md` cites every test here by name: each test is the evidence for one
//! statement there. Every wait is bounded: readiness comes from the kernel's socket
//! tables, and output is polled with a deadline.

use std::net::{TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use shout::proto::Transport;
use shout::run::process::Exit;

use crate::support::{
    assert_failed, assert_printed, describe, printed, quiet_port, read_all, retry, run_client,
    show, spawn_client_to, spawn_server, tcp_listener, tcp_talk, text, udp_talk, upper_ascii,
    wait_for_stdout, End, Server, Side, PROMPT, READY_LINE, WAIT,
};

#[test]
fn rust_servers_answer_invalid_utf8_losslessly_and_log_one_line() {
    for transport in Transport::ALL {
        let mut server = Server::start(&Side::rust(), transport);
        let request = b"a\xffb\xc3 \xed\xa0\x80z";
        let reply = match transport {
            Transport::Udp => udp_talk(server.port, request, WAIT).expect("no reply").0,
            Transport::Tcp => tcp_talk(server.port, request, WAIT).bytes,
        };
        assert_eq!(
            show(&reply),
            show(b"A\xffB\xc3 \xed\xa0\x80Z"),
            "{transport}"
        );
        // Still serving.
        let next = match transport {
            Transport::Udp => udp_talk(server.port, b"ok", WAIT).expect("no reply").0,
            Transport::Tcp => tcp_talk(server.port, b"ok", WAIT).bytes,
        };
        assert_eq!(next, b"OK");
        assert!(server.alive());
        let out = server.stop();
        let stderr = text(&out.stderr.bytes);
        assert_eq!(stderr.lines().count(), 1, "{transport} stderr: {stderr}");
        assert!(stderr.contains("UTF-8"), "{transport} stderr: {stderr}");
    }
}

#[test]
fn rust_servers_answer_a_split_character_losslessly() {
    // TCP: the first 1024 bytes end inside `é`; the unread byte still makes a reset.
    let mut server = Server::start(&Side::rust(), Transport::Tcp);
    let talk = tcp_talk(server.port, ("a".repeat(1023) + "é").as_bytes(), WAIT);
    assert_eq!(
        show(&talk.bytes),
        show(&[&upper_ascii(1023)[..], b"\xc3"].concat())
    );
    assert!(matches!(talk.end, End::Reset | End::Eof), "{:?}", talk.end);
    assert!(server.alive());
    let stderr = text(&server.stop().stderr.bytes);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    // UDP: the datagram is cut at 2048 inside `é`; one line for the cut, one for the byte.
    let mut server = Server::start(&Side::rust(), Transport::Udp);
    let (reply, _) =
        udp_talk(server.port, ("a".repeat(2047) + "é").as_bytes(), WAIT).expect("no reply");
    assert_eq!(
        show(&reply),
        show(&[&upper_ascii(2047)[..], b"\xc3"].concat())
    );
    assert!(server.alive());
    let stderr = text(&server.stop().stderr.bytes);
    assert!(
        stderr.contains("truncated") && stderr.contains("UTF-8"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 2, "{stderr}");

    // The Rust clients cannot print such a reply: status 1, the prompt only.
    let server = Server::start(&Side::rust(), Transport::Udp);
    let f = run_client(
        &Side::rust(),
        Transport::Udp,
        server.port,
        ("a".repeat(2047) + "é\n").as_bytes(),
    );
    assert_failed(&Side::rust(), Transport::Udp, &f, PROMPT, "");
}

#[test]
fn rust_tcp_server_serves_connections_concurrently() {
    // With a 60 s idle timeout, a server serving one connection at a time could answer
    // the second client only after 60 s; WAIT is 20 s.
    let server = Server::start_with(
        &Side::rust(),
        Transport::Tcp,
        &["--idle-timeout", "60"],
        &[],
    );
    let _silent = retry(|| TcpStream::connect(("127.0.0.1", server.port))).unwrap();
    let talk = tcp_talk(server.port, b"not blocked", WAIT);
    assert_eq!(
        (show(&talk.bytes), talk.end),
        ("NOT BLOCKED".to_string(), End::Eof)
    );
}

#[test]
fn rust_tcp_server_closes_silent_connections_after_the_idle_timeout() {
    let mut server = Server::start_with(
        &Side::rust(),
        Transport::Tcp,
        &["--idle-timeout", "0.3"],
        &[],
    );
    let started = Instant::now();
    let mut silent = retry(|| TcpStream::connect(("127.0.0.1", server.port))).unwrap();
    let talk = read_all(&mut silent, WAIT);
    let waited = started.elapsed();
    assert_eq!((talk.bytes.len(), talk.end), (0, End::Eof));
    assert!(
        waited >= Duration::from_millis(300),
        "closed after {waited:?}"
    );
    assert!(server.alive());
    let stderr = text(&server.stop().stderr.bytes);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("sent nothing"), "{stderr}");
}

#[test]
fn rust_servers_flush_the_ready_line() {
    for transport in Transport::ALL {
        let mut server = Server::start(&Side::rust(), transport);
        assert!(
            wait_for_stdout(server.process(), READY_LINE.as_bytes()),
            "{transport}"
        );
        assert_eq!(text(&server.process().stdout_so_far()), READY_LINE);
    }
}

#[test]
fn rust_servers_exit_0_on_sigint_and_sigterm() {
    for transport in Transport::ALL {
        for signal in [libc::SIGINT, libc::SIGTERM] {
            let mut server = Server::start(&Side::rust(), transport);
            assert!(
                wait_for_stdout(server.process(), READY_LINE.as_bytes()),
                "{transport}: no ready line"
            );
            server.signal(signal);
            let exit = server.wait_exit();
            let out = server.stop();
            assert_eq!(
                exit,
                Exit::Code(0),
                "{transport} signal {signal}: {}",
                text(&out.stderr.bytes)
            );
            assert_eq!(text(&out.stdout.bytes), READY_LINE);
        }
    }
}

#[test]
fn rust_clients_give_up_after_their_timeout() {
    let give_up = |transport, port, stdin: &[u8]| {
        let timeout = ["--timeout", "0.3"];
        spawn_client_to(
            &Side::rust(),
            transport,
            "127.0.0.1",
            port,
            stdin,
            &timeout,
            &[],
        )
        .finish(WAIT)
    };
    // UDP to a port nobody listens on (the reference waits forever).
    let (port, _lease) = quiet_port();
    let f = give_up(Transport::Udp, port, b"hello\n");
    assert_failed(&Side::rust(), Transport::Udp, &f, PROMPT, "");
    assert!(
        text(&f.stderr.bytes).contains("no reply"),
        "{}",
        describe("rust", &f)
    );
    assert!(f.duration >= Duration::from_millis(300));

    // TCP to a server that never answers; also an empty line to the reference server,
    // which hangs both reference roles (reference_tcp_empty_line_hangs_client_and_server).
    let listener = tcp_listener();
    let port = listener.local_addr().unwrap().port();
    let f = give_up(Transport::Tcp, port, b"hello\n");
    assert_failed(&Side::rust(), Transport::Tcp, &f, PROMPT, "");
    assert!(
        text(&f.stderr.bytes).contains("no reply"),
        "{}",
        describe("rust", &f)
    );
    drop(listener);

    let server = Server::start(&Side::python(), Transport::Tcp);
    let f = give_up(Transport::Tcp, server.port, b"\n");
    assert_failed(&Side::rust(), Transport::Tcp, &f, PROMPT, "");
}

#[test]
fn rust_roles_work_over_ipv6_with_bind() {
    for transport in Transport::ALL {
        let server = Server::start_with(&Side::rust(), transport, &["--bind", "::1"], &[]);
        let f = spawn_client_to(
            &Side::rust(),
            transport,
            "::1",
            server.port,
            b"over six\n",
            &[],
            &[],
        )
        .finish(WAIT);
        assert_printed(
            &Side::rust(),
            transport,
            &f,
            &printed(transport, b"OVER SIX"),
        );
        // The reference clients are AF_INET only.
        let f = spawn_client_to(
            &Side::python(),
            transport,
            "::1",
            server.port,
            b"over six\n",
            &[],
            &[],
        )
        .finish(WAIT);
        let stdout = if transport == Transport::Udp {
            PROMPT
        } else {
            ""
        };
        assert_failed(
            &Side::python(),
            transport,
            &f,
            stdout,
            "Address family for hostname not supported",
        );
    }
}

#[test]
fn rust_servers_exit_2_when_the_port_is_in_use() {
    for transport in Transport::ALL {
        let (port, _lease) = quiet_port();
        let _udp;
        let _tcp;
        match transport {
            Transport::Udp => _udp = UdpSocket::bind(("0.0.0.0", port)).unwrap(),
            Transport::Tcp => _tcp = TcpListener::bind(("0.0.0.0", port)).unwrap(),
        }
        for side in Side::both() {
            let mut s = spawn_server(&side, transport, port, &[], &[]);
            let exit = s.wait_timeout(WAIT);
            let out = s.stop();
            let stderr = text(&out.stderr.bytes);
            assert!(
                stderr.contains("Address already in use"),
                "{} {transport}: {stderr}",
                side.name()
            );
            let expected = if side.is_python() {
                Exit::Code(1)
            } else {
                Exit::Code(2)
            };
            assert_eq!(
                exit,
                Some(expected),
                "{} {transport}: {stderr}",
                side.name()
            );
            assert_eq!(show(&out.stdout.bytes), "", "no ready line before the bind");
        }
    }
}

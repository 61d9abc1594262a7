//! The protocol as measured on the real reference scripts: how requests and replies are
//! framed over UDP and TCP (datagrams, one `recv`, buffer sizes, closing and resets).
//!
//! `docs/PROTOCOL.md` cites every test here by name: each test is the evidence for one
//! statement there. Every wait is bounded: readiness comes from the kernel's socket
//! tables, and output is polled with a deadline.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use shout::proto::Transport;
use shout::run::process::Exit;
use shout::run::ready::wait_until_bound;

use crate::support::{
    assert_failed, assert_printed, describe, printed, run_client, show, spawn_client, spawn_server,
    tcp_sockets_on, tcp_talk, text, udp_receive_while, udp_reply, udp_socket, udp_talk,
    upper_ascii, End, Server, Side, PROMPT, TCP_TIME_WAIT, WAIT,
};

#[test]
fn reference_udp_server_answers_each_datagram_from_its_own_port() {
    for side in Side::both() {
        let mut server = Server::start(&side, Transport::Udp);
        let s = udp_socket();
        for (request, reply) in [
            (&b"first"[..], &b"FIRST"[..]),
            (b"second one", b"SECOND ONE"),
        ] {
            s.send_to(request, ("127.0.0.1", server.port)).unwrap();
            let (got, from) = udp_reply(&s, WAIT).expect("no reply");
            assert_eq!(show(&got), show(reply), "{} server", side.name());
            let source = SocketAddr::from(([127, 0, 0, 1], server.port));
            assert_eq!(from, source, "{} server's reply source", side.name());
        }
        assert!(server.alive());
    }
}

#[test]
fn reference_udp_client_accepts_a_reply_from_any_source() {
    // The client ignores recvfrom's address: a reply from another port is printed too.
    let server = udp_socket();
    let other = udp_socket();
    let mut c = spawn_client(
        &Side::python(),
        Transport::Udp,
        server.local_addr().unwrap().port(),
        b"hi\n",
    );
    let (_, from) = udp_receive_while(&server, &mut c).expect("nothing sent");
    other.send_to(b"FROM ELSEWHERE", from).unwrap();
    assert_printed(
        &Side::python(),
        Transport::Udp,
        &c.finish(WAIT),
        &printed(Transport::Udp, b"FROM ELSEWHERE"),
    );
}

#[test]
fn reference_udp_server_truncates_datagrams_to_2048_bytes() {
    for side in Side::both() {
        let mut server = Server::start(&side, Transport::Udp);
        let (reply, _) = udp_talk(server.port, &[b'a'; 3000], WAIT).expect("no reply");
        assert_eq!(reply, upper_ascii(2048), "{} server", side.name());
        assert!(server.alive());
    }
    let mut server = Server::start(&Side::python(), Transport::Udp);
    // The whole line also goes out in one datagram from the real client.
    for side in Side::both() {
        let f = run_client(
            &side,
            Transport::Udp,
            server.port,
            &[&[b'a'; 3000][..], b"\n"].concat(),
        );
        assert_printed(
            &side,
            Transport::Udp,
            &f,
            &printed(Transport::Udp, &upper_ascii(2048)),
        );
    }
    assert!(server.alive());
}

#[test]
fn reference_udp_client_truncates_replies_to_2048_bytes() {
    // `ŉ` (2 bytes) uppercases to `ʼN` (3 bytes): 1000 of them make a 3000-byte reply.
    let mut server = Server::start(&Side::python(), Transport::Udp);
    let whole = "ʼN".repeat(682) + "ʼ"; // the first 2048 bytes end on a character boundary
    assert_eq!(whole.len(), 2048);
    for side in Side::both() {
        let f = run_client(
            &side,
            Transport::Udp,
            server.port,
            ("ŉ".repeat(1000) + "\n").as_bytes(),
        );
        assert_printed(
            &side,
            Transport::Udp,
            &f,
            &printed(Transport::Udp, whole.as_bytes()),
        );
        // One byte more in front moves the cut inside `ʼ`: the reply no longer decodes.
        let f = run_client(
            &side,
            Transport::Udp,
            server.port,
            ("a".to_string() + &"ŉ".repeat(1000) + "\n").as_bytes(),
        );
        assert_failed(&side, Transport::Udp, &f, PROMPT, "UnicodeDecodeError");
    }
    assert!(server.alive());
}

#[test]
fn reference_udp_client_cannot_send_more_than_65507_bytes() {
    let mut server = Server::start(&Side::python(), Transport::Udp);
    for side in Side::both() {
        let f = run_client(
            &side,
            Transport::Udp,
            server.port,
            &[&[b'a'; 65508][..], b"\n"].concat(),
        );
        assert_failed(&side, Transport::Udp, &f, PROMPT, "Message too long");
        let f = run_client(
            &side,
            Transport::Udp,
            server.port,
            &[&[b'a'; 65507][..], b"\n"].concat(),
        );
        assert_printed(
            &side,
            Transport::Udp,
            &f,
            &printed(Transport::Udp, &upper_ascii(2048)),
        );
    }
    assert!(server.alive());
}

#[test]
fn reference_tcp_server_answers_the_first_recv_and_closes() {
    // No newline, no shutdown of our side: the server answers what one recv returned.
    for side in Side::both() {
        let mut server = Server::start(&side, Transport::Tcp);
        let talk = tcp_talk(server.port, b"abc", WAIT);
        assert_eq!(
            (show(&talk.bytes), talk.end),
            ("ABC".to_string(), End::Eof),
            "{}",
            side.name()
        );
        let talk = tcp_talk(server.port, b"again\r\n", WAIT);
        assert_eq!(
            show(&talk.bytes),
            show(b"AGAIN\r\n"),
            "{} server",
            side.name()
        );
        assert!(server.alive());
    }
}

#[test]
fn reference_tcp_server_truncates_requests_to_1024_bytes_and_resets() {
    // Raw: the reply is the first 1024 bytes uppercased; the unread rest makes the
    // server's close a reset. Linux still delivers the reply queued before the reset.
    for side in Side::both() {
        let mut server = Server::start(&side, Transport::Tcp);
        for size in [1025, 2000, 200_000] {
            let talk = tcp_talk(server.port, &vec![b'a'; size], WAIT);
            let allowed = talk.end == End::Reset && upper_ascii(1024).starts_with(&talk.bytes);
            let got = format!("{} bytes then {:?}", talk.bytes.len(), talk.end);
            assert!(allowed, "{} server, {size} bytes: got {got}", side.name());
        }
        // Exactly 1024 bytes: all read, so a clean close.
        let talk = tcp_talk(server.port, &[b'a'; 1024], WAIT);
        assert_eq!(
            (talk.bytes, talk.end),
            (upper_ascii(1024), End::Eof),
            "{}",
            side.name()
        );
        assert!(server.alive());
    }
    let mut server = Server::start(&Side::python(), Transport::Tcp);

    // Through the real clients (one recv of at most 1024 bytes): the truncated reply,
    // or, should the reset overtake it, a reset error. Measured: always the reply, even
    // for 8 MiB, where the reference client's single send() returns a partial count.
    let mut runs: Vec<(Side, usize)> = Side::both()
        .into_iter()
        .flat_map(|s| [(s.clone(), 2000), (s, 200_000)])
        .collect();
    runs.push((Side::python(), 8 << 20));
    for (side, size) in runs {
        let f = run_client(
            &side,
            Transport::Tcp,
            server.port,
            &[&vec![b'a'; size][..], b"\n"].concat(),
        );
        let truncated = f.exit == Exit::Code(0)
            && f.stdout.bytes == printed(Transport::Tcp, &upper_ascii(1024));
        let stderr = text(&f.stderr.bytes);
        let reset = f.exit == Exit::Code(1)
            && f.stdout.bytes == PROMPT.as_bytes()
            && (stderr.contains("ConnectionResetError")
                || stderr.contains("Connection reset by peer"));
        assert!(
            truncated || reset,
            "{}",
            describe(&format!("{} client, {size} bytes", side.name()), &f)
        );
    }
    assert!(server.alive());
}

/// For a request larger than the socket buffers, the server resets the connection while
/// the client is still sending. The client's single `send()` (one `write` in Rust) then
/// returns a partial count, and the 1024-byte reply queued before the reset is printed.
#[test]
fn rust_tcp_client_prints_the_truncated_reply_of_a_huge_request() {
    let server = Server::start(&Side::python(), Transport::Tcp);
    for side in Side::both() {
        let f = run_client(
            &side,
            Transport::Tcp,
            server.port,
            &[&vec![b'a'; 8 << 20][..], b"\n"].concat(),
        );
        assert_printed(
            &side,
            Transport::Tcp,
            &f,
            &printed(Transport::Tcp, &upper_ascii(1024)),
        );
    }
}

#[test]
fn reference_tcp_client_truncates_replies_to_1024_bytes() {
    // 400 × `ŉ` (800 bytes) uppercase to 1200 bytes; the client's one recv keeps 1024.
    let mut server = Server::start(&Side::python(), Transport::Tcp);
    let kept = "A".to_string() + &"ʼN".repeat(341);
    assert_eq!(kept.len(), 1024);
    for side in Side::both() {
        let f = run_client(
            &side,
            Transport::Tcp,
            server.port,
            ("a".to_string() + &"ŉ".repeat(400) + "\n").as_bytes(),
        );
        assert_printed(
            &side,
            Transport::Tcp,
            &f,
            &printed(Transport::Tcp, kept.as_bytes()),
        );
        // Without the leading `a` the cut falls inside `ʼ`: the client cannot decode it.
        let f = run_client(
            &side,
            Transport::Tcp,
            server.port,
            ("ŉ".repeat(400) + "\n").as_bytes(),
        );
        assert_failed(&side, Transport::Tcp, &f, PROMPT, "UnicodeDecodeError");
    }
    assert!(server.alive());
}

#[test]
fn reference_tcp_server_cannot_restart_on_its_port_during_time_wait() {
    // The server closes first, so its side of each connection lingers in TIME_WAIT, and
    // without SO_REUSEADDR a new server cannot bind the port until that ends (60 s).
    let mut server = Server::start(&Side::python(), Transport::Tcp);
    let talk = tcp_talk(server.port, b"x", WAIT);
    assert_eq!((show(&talk.bytes), talk.end), ("X".to_string(), End::Eof));
    server.stop();
    // Let the closing handshake settle: only TIME_WAIT sockets, or none at all when the
    // kernel's TIME_WAIT table is full (net.ipv4.tcp_max_tw_buckets) and skips the state.
    let deadline = Instant::now() + WAIT;
    let mut states = tcp_sockets_on(server.port);
    while states.iter().any(|s| s.state != TCP_TIME_WAIT) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
        states = tcp_sockets_on(server.port);
    }
    let held = !states.is_empty();
    if !held {
        eprintln!(
            "note: no TIME_WAIT socket was kept (table full?); checking the restart succeeds"
        );
    }
    for side in Side::both() {
        let mut again = spawn_server(&side, Transport::Tcp, server.port, &[], &[]);
        if !held {
            let bound = wait_until_bound(&mut again, Transport::Tcp, server.port, WAIT);
            assert!(
                bound.is_ok(),
                "{} restart without TIME_WAIT: {bound:?}",
                side.name()
            );
            again.stop();
            continue;
        }
        let exit = again.wait_timeout(WAIT);
        let out = again.stop();
        let stderr = text(&out.stderr.bytes);
        let expected = if side.is_python() {
            Exit::Code(1)
        } else {
            Exit::Code(2)
        };
        assert_eq!(exit, Some(expected), "{} restart: {stderr}", side.name());
        assert!(
            stderr.contains("Address already in use"),
            "{} restart: {stderr}",
            side.name()
        );
    }
}

//! The protocol as measured on the real reference scripts, and the places where shout's
//! Rust roles answer what the reference leaves unanswered.
//!
//! `docs/PROTOCOL.md` cites every test here by name: each test is the evidence for one
//! statement there. Every wait is bounded: readiness comes from the kernel's socket
//! tables, output is polled with a deadline, and "waits forever" is shown by a process
//! still waiting after [`QUIET`].

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use shout::proto::Transport;
use shout::run::process::Exit;
use shout::run::ready::wait_until_bound;

use crate::support::{
    assert_crashed, assert_failed, assert_printed, describe, major_minor, printed, python2,
    python3, python3_interpreters, python_env, quiet_port, read_all, retry, run_client, script,
    show, spawn, spawn_client, spawn_client_to, spawn_server, tcp_accept_while, tcp_sockets_on,
    tcp_talk, text, udp_receive_while, udp_reply, udp_socket, udp_talk, upper_ascii,
    wait_for_stdout, End, Server, Side, PROMPT, QUIET, READY_LINE, TCP_TIME_WAIT, WAIT,
};

// ---------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------

#[test]
fn reference_clients_send_and_print_utf8_on_every_cpython3() {
    let pythons = python3_interpreters();
    let line = "héllo wörld ß ✓\n";
    let reply = "HÉLLO WÖRLD SS ✓";
    for python in &pythons {
        let side = Side::Python(python.clone());
        // UDP: a fake server records the datagram and answers a fixed reply.
        let socket = udp_socket();
        let port = socket.local_addr().unwrap().port();
        let mut c = spawn_client(&side, Transport::Udp, port, line.as_bytes());
        let (got, from) = udp_receive_while(&socket, &mut c).expect("the UDP client sent nothing");
        assert_eq!(
            show(&got),
            show(line.trim_end().as_bytes()),
            "python {}",
            python.version
        );
        socket.send_to(reply.as_bytes(), from).unwrap();
        assert_printed(
            &side,
            Transport::Udp,
            &c.finish(WAIT),
            &printed(Transport::Udp, reply.as_bytes()),
        );

        // TCP: the same through a fake listener.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut c = spawn_client(&side, Transport::Tcp, port, line.as_bytes());
        let mut conn = tcp_accept_while(&listener, &mut c).expect("the TCP client never connected");
        conn.set_read_timeout(Some(WAIT)).unwrap();
        let mut buf = [0u8; 1024];
        let n = retry(|| conn.read(&mut buf)).unwrap();
        assert_eq!(
            show(&buf[..n]),
            show(line.trim_end().as_bytes()),
            "python {}",
            python.version
        );
        conn.write_all(reply.as_bytes()).unwrap();
        drop(conn);
        assert_printed(
            &side,
            Transport::Tcp,
            &c.finish(WAIT),
            &printed(Transport::Tcp, reply.as_bytes()),
        );
    }
}

#[test]
fn cpython36_stdio_is_ascii_under_the_c_locale() {
    // LC_ALL=C and none of the UTF-8 overrides: an empty value counts as unset for Python.
    let c_locale = [
        ("LC_ALL", "C"),
        ("PYTHONIOENCODING", ""),
        ("PYTHONUTF8", ""),
        ("PYTHONCOERCECLOCALE", ""),
    ];
    let mut saw_36 = false;
    for python in python3_interpreters() {
        let side = Side::Python(python.clone());
        let old = python.minor_version() < (3, 7);
        saw_36 |= old;

        // Non-ASCII input: 3.6 reads it as surrogate escapes and crashes in encode().
        let socket = udp_socket();
        let port = socket.local_addr().unwrap().port();
        let mut c = spawn_client_to(
            &side,
            Transport::Udp,
            "127.0.0.1",
            port,
            "héllo\n".as_bytes(),
            &[],
            &c_locale,
        );
        let got = udp_receive_while(&socket, &mut c);
        if let Some((_, from)) = &got {
            socket.send_to("HÉLLO".as_bytes(), from).unwrap();
        }
        let f = c.finish(WAIT);
        if old {
            assert!(
                got.is_none(),
                "python {} sent {:?} under the C locale",
                python.version,
                got
            );
            assert_failed(&side, Transport::Udp, &f, PROMPT, "surrogates not allowed");
            assert!(
                text(&f.stderr.bytes).contains("UnicodeEncodeError"),
                "{}",
                describe("3.6", &f)
            );
        } else {
            assert_eq!(
                got.map(|g| g.0),
                Some("héllo".as_bytes().to_vec()),
                "python {}",
                python.version
            );
            assert_printed(
                &side,
                Transport::Udp,
                &f,
                &printed(Transport::Udp, "HÉLLO".as_bytes()),
            );
        }

        // ASCII input works everywhere, and the server side never uses the locale:
        // bytes.decode() and str.encode() default to UTF-8 on every CPython 3.
        let mut server = Server::start_with(&side, Transport::Udp, &[], &c_locale);
        let f = spawn_client_to(
            &side,
            Transport::Udp,
            "127.0.0.1",
            server.port,
            b"hello\n",
            &[],
            &c_locale,
        )
        .finish(WAIT);
        assert_printed(
            &side,
            Transport::Udp,
            &f,
            &printed(Transport::Udp, b"HELLO"),
        );
        let (reply, _) = udp_talk(server.port, "héllo".as_bytes(), WAIT).expect("no reply");
        assert_eq!(
            text(&reply),
            "HÉLLO",
            "python {} server under the C locale",
            python.version
        );
        assert!(server.alive());
    }
    if !saw_36 {
        eprintln!("note: no CPython 3.6 found; only the 3.7+ half of this statement was checked");
    }
}

// ---------------------------------------------------------------------------------------
// Framing
// ---------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------
// Case mapping
// ---------------------------------------------------------------------------------------

/// Characters whose uppercase needs more than a one-to-one, context-free mapping.
const SPECIAL: &str = "ß ŉ ﬃ ﬀ ΐ ς σ i ı İ ǅ ǆ ǈ ŀ ʼn";
const SPECIAL_UPPER: &str = "SS ʼN FFI FF \u{399}\u{308}\u{301} Σ Σ I I İ Ǆ Ǆ Ǉ Ŀ ʼN";

#[test]
fn reference_upper_uses_full_unconditional_special_casing() {
    for python in python3_interpreters() {
        let mut server = Server::start(&Side::Python(python.clone()), Transport::Udp);
        let (reply, _) = udp_talk(server.port, SPECIAL.as_bytes(), WAIT).expect("no reply");
        assert_eq!(text(&reply), SPECIAL_UPPER, "python {}", python.version);
        assert!(server.alive());
    }
}

#[test]
fn rust_servers_uppercase_special_casing_like_the_reference() {
    for transport in Transport::ALL {
        let mut server = Server::start(&Side::rust(), transport);
        let reply = match transport {
            Transport::Udp => {
                udp_talk(server.port, SPECIAL.as_bytes(), WAIT)
                    .expect("no reply")
                    .0
            }
            Transport::Tcp => tcp_talk(server.port, SPECIAL.as_bytes(), WAIT).bytes,
        };
        assert_eq!(text(&reply), SPECIAL_UPPER, "rust {transport} server");
        assert!(server.alive());
    }
}

/// One character per Unicode version that gave it (or its partner) an uppercase:
/// Georgian `ა` (11.0), `ʂ` (12.0), `ꟈ` (13.0), `ꟁ` (14.0).
const VERSION_PROBES: [(char, char, (u32, u32)); 4] = [
    ('\u{10D0}', '\u{1C90}', (11, 0)),
    ('\u{0282}', '\u{A7C5}', (12, 0)),
    ('\u{A7C8}', '\u{A7C7}', (13, 0)),
    ('\u{A7C1}', '\u{A7C0}', (14, 0)),
];

/// `unicodedata.unidata_version` of each CPython 3 on the development machine.
const MEASURED_UNICODE: [(&str, &str); 8] = [
    ("3.6", "9.0.0"),
    ("3.7", "11.0.0"),
    ("3.8", "12.1.0"),
    ("3.9", "13.0.0"),
    ("3.10", "13.0.0"),
    ("3.11", "14.0.0"),
    ("3.12", "15.0.0"),
    ("3.13", "15.1.0"),
];

#[test]
fn reference_upper_follows_unidata_version() {
    for python in python3_interpreters() {
        if let Some((_, unicode)) = MEASURED_UNICODE.iter().find(|(v, _)| *v == python.version) {
            assert_eq!(
                python.unicode, *unicode,
                "python {} changed its Unicode version",
                python.version
            );
        }
        let unicode = major_minor(&python.unicode);
        let request: String = VERSION_PROBES.iter().map(|p| p.0).collect();
        let expected: String = VERSION_PROBES
            .iter()
            .map(|&(lower, upper, since)| if unicode >= since { upper } else { lower })
            .collect();
        let mut server = Server::start(&Side::Python(python.clone()), Transport::Udp);
        let (reply, _) = udp_talk(server.port, request.as_bytes(), WAIT).expect("no reply");
        assert_eq!(
            text(&reply),
            expected,
            "python {} (Unicode {}): {}",
            python.version,
            python.unicode,
            text(&reply).escape_unicode()
        );
        assert!(server.alive());
    }
}

// ---------------------------------------------------------------------------------------
// Client input and output
// ---------------------------------------------------------------------------------------

#[test]
fn reference_udp_client_prints_the_reply_bare() {
    let server = Server::start(&Side::python(), Transport::Udp);
    for side in Side::both() {
        let f = run_client(&side, Transport::Udp, server.port, b"hello world\n");
        assert_printed(
            &side,
            Transport::Udp,
            &f,
            b"Input lowercase sentence:HELLO WORLD\n",
        );
        assert!(f.stderr.bytes.is_empty(), "{}", describe(&side.name(), &f));
    }
}

#[test]
fn reference_tcp_client_prints_from_server_with_two_spaces() {
    let server = Server::start(&Side::python(), Transport::Tcp);
    for side in Side::both() {
        let f = run_client(&side, Transport::Tcp, server.port, b"hello world\n");
        assert_printed(
            &side,
            Transport::Tcp,
            &f,
            b"Input lowercase sentence:From Server:  HELLO WORLD\n",
        );
        assert!(f.stderr.bytes.is_empty(), "{}", describe(&side.name(), &f));
    }
}

#[test]
fn reference_tcp_client_connects_before_prompting() {
    for side in Side::both() {
        // Stdin already at its end: the connection is made, then input fails.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut c = spawn_client(&side, Transport::Tcp, port, b"");
        let mut conn = tcp_accept_while(&listener, &mut c).expect("the client never connected");
        let talk = read_all(&mut conn, WAIT);
        assert_eq!(
            (talk.bytes.len(), talk.end),
            (0, End::Eof),
            "{}",
            side.name()
        );
        assert_failed(&side, Transport::Tcp, &c.finish(WAIT), PROMPT, "EOFError");
    }
}

#[test]
fn reference_clients_exit_1_with_the_prompt_only_at_end_of_input() {
    for side in Side::both() {
        let socket = udp_socket();
        let mut c = spawn_client(
            &side,
            Transport::Udp,
            socket.local_addr().unwrap().port(),
            b"",
        );
        assert_eq!(
            udp_receive_while(&socket, &mut c),
            None,
            "{} sent a datagram",
            side.name()
        );
        assert_failed(&side, Transport::Udp, &c.finish(WAIT), PROMPT, "EOFError");
    }
    // TCP: see reference_tcp_client_connects_before_prompting (same outcome).
}

#[test]
fn reference_clients_send_a_last_line_without_newline() {
    for transport in Transport::ALL {
        let server = Server::start(&Side::python(), transport);
        for side in Side::both() {
            let f = run_client(&side, transport, server.port, b"no newline");
            assert_printed(&side, transport, &f, &printed(transport, b"NO NEWLINE"));
        }
    }
}

#[test]
fn reference_clients_send_only_the_first_line() {
    for transport in Transport::ALL {
        let server = Server::start(&Side::python(), transport);
        for side in Side::both() {
            let f = run_client(&side, transport, server.port, b"first\nsecond\n");
            assert_printed(&side, transport, &f, &printed(transport, b"FIRST"));
        }
    }
}

#[test]
fn reference_clients_keep_cr_and_control_characters() {
    // Only the final `\n` goes; `\r` (also before `\n`), tab, NUL, ESC, DEL stay.
    let line = b"a\rb\tc\x00d\x1be\x7ff\r\n";
    let sent = b"a\rb\tc\x00d\x1be\x7ff\r";
    for side in Side::both() {
        let socket = udp_socket();
        let mut c = spawn_client(
            &side,
            Transport::Udp,
            socket.local_addr().unwrap().port(),
            line,
        );
        let (got, _) = udp_receive_while(&socket, &mut c).expect("nothing sent");
        assert_eq!(show(&got), show(sent), "{}", side.name());
        c.stop();
    }
    for transport in Transport::ALL {
        let server = Server::start(&Side::python(), transport);
        for side in Side::both() {
            let f = run_client(&side, transport, server.port, line);
            assert_printed(
                &side,
                transport,
                &f,
                &printed(transport, b"A\rB\tC\x00D\x1bE\x7fF\r"),
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Empty input
// ---------------------------------------------------------------------------------------

#[test]
fn reference_udp_empty_line_is_an_empty_datagram_and_an_empty_reply() {
    let mut rust_server = Server::start(&Side::rust(), Transport::Udp);
    let reply = udp_talk(rust_server.port, b"", WAIT).map(|r| r.0);
    assert_eq!(reply, Some(Vec::new()), "rust server");
    assert!(rust_server.alive());

    let socket = udp_socket();
    let mut c = spawn_client(
        &Side::python(),
        Transport::Udp,
        socket.local_addr().unwrap().port(),
        b"\n",
    );
    let (got, _) = udp_receive_while(&socket, &mut c).expect("no datagram");
    assert!(got.is_empty(), "sent {}", show(&got));
    c.stop();

    let mut server = Server::start(&Side::python(), Transport::Udp);
    assert_eq!(
        udp_talk(server.port, b"", WAIT).map(|r| r.0),
        Some(Vec::new())
    );
    for side in Side::both() {
        let f = run_client(&side, Transport::Udp, server.port, b"\n");
        assert_printed(&side, Transport::Udp, &f, &printed(Transport::Udp, b""));
    }
    assert!(server.alive());
}

#[test]
fn reference_tcp_empty_line_hangs_client_and_server() {
    let mut server = Server::start(&Side::python(), Transport::Tcp);
    let mut c = spawn_client(&Side::python(), Transport::Tcp, server.port, b"\n");
    assert!(
        wait_for_stdout(&mut c, PROMPT.as_bytes()),
        "no prompt: {}",
        show(&c.stdout_so_far())
    );
    // The client sent nothing and waits for a reply; the server waits in recv on that
    // connection, so a second client, already connected through the backlog, is not
    // answered either.
    let mut second = retry(|| TcpStream::connect(("127.0.0.1", server.port))).unwrap();
    second.write_all(b"waiting").unwrap();
    let talk = read_all(&mut second, QUIET);
    assert_eq!((talk.bytes.len(), talk.end), (0, End::Silent));
    assert_eq!(c.exited(), None, "the client should still be waiting");
    assert!(server.alive());
    // Killing the silent client frees the server, which then answers the second one.
    let f = c.stop();
    assert_eq!(show(&f.stdout.bytes), PROMPT);
    let talk = read_all(&mut second, WAIT);
    assert_eq!(
        (show(&talk.bytes), talk.end),
        ("WAITING".to_string(), End::Eof)
    );
    assert!(server.alive());
}

// ---------------------------------------------------------------------------------------
// Split characters and invalid UTF-8
// ---------------------------------------------------------------------------------------

#[test]
fn reference_tcp_server_crashes_on_a_character_split_at_byte_1024() {
    let line = "a".repeat(1023) + "é\n";
    for side in Side::both() {
        let mut server = Server::start(&Side::python(), Transport::Tcp);
        let f = run_client(&side, Transport::Tcp, server.port, line.as_bytes());
        // The server dies with one unread byte, so the client's recv sees a reset.
        assert_failed(&side, Transport::Tcp, &f, PROMPT, "ConnectionResetError");
        if !side.is_python() {
            assert!(
                text(&f.stderr.bytes).contains("Connection reset by peer"),
                "{}",
                describe("rust", &f)
            );
        }
        assert_crashed(
            &mut server,
            "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xc3 in position 1023",
        );
    }
}

#[test]
fn reference_udp_server_crashes_on_a_character_split_at_byte_2048() {
    let line = "a".repeat(2047) + "é\n";
    for side in Side::both() {
        let mut server = Server::start(&Side::python(), Transport::Udp);
        let mut c = spawn_client(&side, Transport::Udp, server.port, line.as_bytes());
        let exit = server.wait_exit();
        // No reply can come from a dead server: the client still waits.
        assert_eq!(
            c.exited(),
            None,
            "the {} client should still be waiting",
            side.name()
        );
        let f = c.stop();
        assert_eq!(show(&f.stdout.bytes), PROMPT);
        assert_eq!(exit, Exit::Code(1));
        assert_crashed(
            &mut server,
            "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xc3 in position 2047",
        );
    }
}

#[test]
fn reference_udp_server_crashes_on_invalid_utf8() {
    let mut server = Server::start(&Side::python(), Transport::Udp);
    let s = udp_socket();
    s.send_to(b"a\xffb", ("127.0.0.1", server.port)).unwrap();
    assert_crashed(&mut server, "UnicodeDecodeError");
    s.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 2048];
    let got = s.recv_from(&mut buf);
    assert!(
        matches!(&got, Err(e) if e.kind() == io::ErrorKind::WouldBlock),
        "a reply (or an error) arrived: {got:?}"
    );
}

#[test]
fn reference_tcp_server_crashes_on_invalid_utf8() {
    for request in [&b"a\xffb"[..], &[0xffu8; 2000][..]] {
        let mut server = Server::start(&Side::python(), Transport::Tcp);
        let talk = tcp_talk(server.port, request, WAIT);
        // No reply: a clean close if the server read everything, a reset if not.
        assert!(talk.bytes.is_empty(), "reply {}", show(&talk.bytes));
        let expected = if request.len() <= 1024 {
            End::Eof
        } else {
            End::Reset
        };
        assert_eq!(talk.end, expected, "{} bytes", request.len());
        assert_crashed(&mut server, "UnicodeDecodeError");
    }
}

#[test]
fn reference_clients_never_send_invalid_utf8_from_stdin() {
    for side in Side::both() {
        let socket = udp_socket();
        let mut c = spawn_client(
            &side,
            Transport::Udp,
            socket.local_addr().unwrap().port(),
            b"a\xffb\n",
        );
        assert_eq!(
            udp_receive_while(&socket, &mut c),
            None,
            "{} sent a datagram",
            side.name()
        );
        assert_failed(
            &side,
            Transport::Udp,
            &c.finish(WAIT),
            PROMPT,
            "UnicodeDecodeError",
        );

        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut c = spawn_client(
            &side,
            Transport::Tcp,
            listener.local_addr().unwrap().port(),
            b"a\xffb\n",
        );
        let mut conn = tcp_accept_while(&listener, &mut c).expect("no connection");
        let talk = read_all(&mut conn, WAIT);
        assert_eq!(
            (talk.bytes.len(), talk.end),
            (0, End::Eof),
            "{} sent bytes",
            side.name()
        );
        assert_failed(
            &side,
            Transport::Tcp,
            &c.finish(WAIT),
            PROMPT,
            "UnicodeDecodeError",
        );
    }
}

#[test]
fn reference_clients_crash_on_an_invalid_utf8_reply() {
    for side in Side::both() {
        let socket = udp_socket();
        let mut c = spawn_client(
            &side,
            Transport::Udp,
            socket.local_addr().unwrap().port(),
            b"hi\n",
        );
        let (_, from) = udp_receive_while(&socket, &mut c).expect("nothing sent");
        socket.send_to(b"H\xffI", from).unwrap();
        assert_failed(
            &side,
            Transport::Udp,
            &c.finish(WAIT),
            PROMPT,
            "UnicodeDecodeError",
        );

        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut c = spawn_client(
            &side,
            Transport::Tcp,
            listener.local_addr().unwrap().port(),
            b"hi\n",
        );
        let mut conn = tcp_accept_while(&listener, &mut c).expect("no connection");
        conn.set_read_timeout(Some(WAIT)).unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(retry(|| conn.read(&mut buf)).unwrap(), 2);
        conn.write_all(b"H\xffI").unwrap();
        let _ = conn.shutdown(Shutdown::Write);
        assert_failed(
            &side,
            Transport::Tcp,
            &c.finish(WAIT),
            PROMPT,
            "UnicodeDecodeError",
        );
    }
}

// ---------------------------------------------------------------------------------------
// No server
// ---------------------------------------------------------------------------------------

#[test]
fn reference_tcp_client_is_refused_before_the_prompt() {
    let (port, _lease) = quiet_port();
    for side in Side::both() {
        let f = run_client(&side, Transport::Tcp, port, b"hello\n");
        assert_failed(&side, Transport::Tcp, &f, "", "ConnectionRefusedError");
    }
}

#[test]
fn reference_udp_client_waits_forever_without_a_server() {
    // An unconnected UDP socket is not told about the ICMP port-unreachable.
    let (port, _lease) = quiet_port();
    let mut c = spawn_client(&Side::python(), Transport::Udp, port, b"hello\n");
    assert!(wait_for_stdout(&mut c, PROMPT.as_bytes()), "no prompt");
    assert_eq!(
        c.wait_timeout(QUIET),
        None,
        "the client should still be waiting"
    );
    let f = c.stop();
    assert_eq!(show(&f.stdout.bytes), PROMPT);
    assert!(f.stderr.bytes.is_empty(), "{}", text(&f.stderr.bytes));
}

// ---------------------------------------------------------------------------------------
// The ready line and signals
// ---------------------------------------------------------------------------------------

#[test]
fn reference_ready_line_is_block_buffered_on_a_pipe() {
    let python = python3();
    let side = Side::Python(python.clone());
    for (transport, signal) in [
        (Transport::Udp, libc::SIGINT),
        (Transport::Tcp, libc::SIGTERM),
    ] {
        // PYTHONUNBUFFERED may be set around us; an empty value unsets it for Python.
        let mut server = Server::start_with(&side, transport, &[], &[("PYTHONUNBUFFERED", "")]);
        // It is serving…
        let reply = match transport {
            Transport::Udp => udp_talk(server.port, b"x", WAIT).expect("no reply").0,
            Transport::Tcp => tcp_talk(server.port, b"x", WAIT).bytes,
        };
        assert_eq!(reply, b"X");
        // …but the line is still in its stdout buffer.
        assert_eq!(
            show(&server.process().stdout_so_far()),
            "",
            "{transport}: ready line already written"
        );
        server.signal(signal);
        let exit = server.wait_exit();
        let out = server.stop();
        if signal == libc::SIGINT {
            // KeyboardInterrupt: a traceback, a normal shutdown that flushes stdout, then
            // status 1 (3.6, 3.7) or death by SIGINT (3.8+, which re-raises the signal).
            let expected = if python.minor_version() >= (3, 8) {
                Exit::Signal(libc::SIGINT)
            } else {
                Exit::Code(1)
            };
            assert_eq!(exit, expected);
            assert_eq!(text(&out.stdout.bytes), READY_LINE);
            assert!(text(&out.stderr.bytes)
                .trim_end()
                .ends_with("KeyboardInterrupt"));
        } else {
            // SIGTERM kills it outright: the buffered line is lost.
            assert_eq!(exit, Exit::Signal(libc::SIGTERM));
            assert_eq!(show(&out.stdout.bytes), "");
        }
    }
    // Unbuffered (`PYTHONUNBUFFERED=1` or `-u`), the line appears while it runs.
    let mut server = Server::start_with(&side, Transport::Udp, &[], &[("PYTHONUNBUFFERED", "1")]);
    assert!(wait_for_stdout(server.process(), READY_LINE.as_bytes()));
    assert_eq!(text(&server.process().stdout_so_far()), READY_LINE);
}

// ---------------------------------------------------------------------------------------
// Every interpreter, and Python 2
// ---------------------------------------------------------------------------------------

#[test]
fn reference_scripts_run_on_every_cpython3() {
    let pythons = python3_interpreters();
    let threads: Vec<_> = pythons
        .into_iter()
        .map(|python| {
            std::thread::spawn(move || {
                let side = Side::Python(python.clone());
                for transport in Transport::ALL {
                    let mut server = Server::start(&side, transport);
                    let f = run_client(&side, transport, server.port, "hello, wörld\n".as_bytes());
                    assert_printed(
                        &side,
                        transport,
                        &f,
                        &printed(transport, "HELLO, WÖRLD".as_bytes()),
                    );
                    assert!(f.stderr.bytes.is_empty(), "{}", describe(&side.name(), &f));
                    assert!(
                        server.alive(),
                        "python {} {transport} server died",
                        python.version
                    );
                }
                python.version
            })
        })
        .collect();
    let mut versions = Vec::new();
    for t in threads {
        versions.push(t.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
    }
    eprintln!("reference scripts ran on CPython {}", versions.join(", "));
}

#[test]
fn reference_scripts_are_python3_only() {
    let Some(python2) = python2() else {
        eprintln!("note: no Python 2 installed; nothing to check");
        return;
    };
    let server = Server::start(&Side::python(), Transport::Udp);
    let run2 = |transport: Transport, port: u16, stdin: &[u8]| {
        let argv = vec![
            python2.clone().into(),
            script(transport, "Client").into(),
            "127.0.0.1".into(),
            port.to_string().into(),
        ];
        spawn(argv, python_env(), Some(stdin.to_vec())).finish(WAIT)
    };
    // Python 2's input() evaluates the line as an expression.
    let f = run2(Transport::Udp, server.port, b"hello\n");
    assert_eq!(f.exit, Exit::Code(1), "{}", describe("python2", &f));
    assert!(
        text(&f.stderr.bytes).contains("NameError: name 'hello' is not defined"),
        "{}",
        describe("python2", &f)
    );
    // A quoted line gets through, and Python 2's print statement shows a tuple.
    let tcp = Server::start(&Side::python(), Transport::Tcp);
    let f = run2(Transport::Tcp, tcp.port, b"'hello'\n");
    assert_eq!(
        show(&f.stdout.bytes),
        show(b"Input lowercase sentence:('From Server: ', u'HELLO')\n")
    );
}

// ---------------------------------------------------------------------------------------
// Where shout's Rust roles differ (only where the reference has no answer)
// ---------------------------------------------------------------------------------------

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
    // UDP to a port nobody listens on (the reference waits forever).
    let (port, _lease) = quiet_port();
    let f = spawn_client_to(
        &Side::rust(),
        Transport::Udp,
        "127.0.0.1",
        port,
        b"hello\n",
        &["--timeout", "0.3"],
        &[],
    )
    .finish(WAIT);
    assert_failed(&Side::rust(), Transport::Udp, &f, PROMPT, "");
    assert!(
        text(&f.stderr.bytes).contains("no reply"),
        "{}",
        describe("rust", &f)
    );
    assert!(f.duration >= Duration::from_millis(300));

    // TCP to a server that never answers; also an empty line to the reference server,
    // which hangs both reference roles (reference_tcp_empty_line_hangs_client_and_server).
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let f = spawn_client_to(
        &Side::rust(),
        Transport::Tcp,
        "127.0.0.1",
        port,
        b"hello\n",
        &["--timeout", "0.3"],
        &[],
    )
    .finish(WAIT);
    assert_failed(&Side::rust(), Transport::Tcp, &f, PROMPT, "");
    assert!(
        text(&f.stderr.bytes).contains("no reply"),
        "{}",
        describe("rust", &f)
    );
    drop(listener);

    let server = Server::start(&Side::python(), Transport::Tcp);
    let f = spawn_client_to(
        &Side::rust(),
        Transport::Tcp,
        "127.0.0.1",
        server.port,
        b"\n",
        &["--timeout", "0.3"],
        &[],
    )
    .finish(WAIT);
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

//! The protocol as measured on the real reference scripts: what the clients read, send
//! and print, empty lines, characters cut by the buffers, invalid UTF-8, and no server.
//!
//! `docs/PROTOCOL.md` cites every test here by name: each test is the evidence for one
//! statement there. Every wait is bounded: readiness comes from the kernel's socket
//! tables, output is polled with a deadline, and "waits forever" is shown by a process
//! still waiting after [`QUIET`](crate::support::QUIET).

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};

use shout::proto::Transport;
use shout::run::process::Exit;

use crate::support::{
    assert_crashed, assert_failed, assert_printed, describe, printed, quiet_port, read_all, retry,
    run_client, show, spawn_client, tcp_accept_while, tcp_listener, tcp_talk, text,
    udp_receive_while, udp_socket, udp_talk, wait_for_stdout, End, Server, Side, PROMPT, QUIET,
    WAIT,
};

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
        let listener = tcp_listener();
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

        let listener = tcp_listener();
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

        let listener = tcp_listener();
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

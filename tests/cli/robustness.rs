//! The Rust servers survive what kills the reference (invalid UTF-8, characters cut by the
//! buffer, empty and oversize datagrams, over-long TCP messages, silent clients) and keep
//! answering everyone else correctly.

use std::io::Read;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::support::{
    printed, run_client, show, tcp_exchange, tcp_sockets_on, tcp_talk, udp_exchange, Server, Side,
    TCP_ESTABLISHED, TCP_LISTEN,
};
use shout::proto::Transport;
use shout::run::process::Exit;

const WAIT: Duration = Duration::from_secs(5);

/// A well-behaved client still gets the right answer from `server`.
fn still_answers(server: &Server) {
    let out = run_client(
        &Side::python(),
        server.transport,
        server.port,
        "still there ß\n".as_bytes(),
    );
    let expected = printed(server.transport, b"STILL THERE SS");
    assert_eq!(
        out.exit,
        Exit::Code(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr.bytes)
    );
    assert_eq!(show(&out.stdout.bytes), show(&expected));
}

/// Five well-behaved clients in a row get their answers from `server` promptly.
fn answers_five_without_delay(server: &Server) {
    let start = Instant::now();
    for _ in 0..5 {
        still_answers(server);
    }
    // The idle timeout is 10 s by default; five answers must not have waited for it.
    assert!(
        start.elapsed() < Duration::from_secs(8),
        "answers were delayed: {:?}",
        start.elapsed()
    );
}

fn rust_server(transport: Transport) -> Server {
    Server::start(&Side::rust(), transport)
}

#[test]
fn rust_udp_server_answers_invalid_utf8_and_keeps_serving() {
    let mut server = rust_server(Transport::Udp);
    let reply = udp_exchange(server.port, b"abc\xff\xfe def \xc3", WAIT).expect("a reply");
    assert_eq!(show(&reply), show(b"ABC\xff\xfe DEF \xc3"));
    assert!(server.alive());
    still_answers(&server);
    let out = server.stop();
    let log = String::from_utf8_lossy(&out.stderr.bytes);
    assert_eq!(
        log.lines()
            .filter(|l| l.contains("not valid UTF-8"))
            .count(),
        1,
        "stderr: {log}"
    );
}

#[test]
fn rust_udp_server_answers_an_empty_datagram_with_an_empty_one() {
    let server = rust_server(Transport::Udp);
    assert_eq!(udp_exchange(server.port, b"", WAIT), Some(Vec::new()));
    still_answers(&server);
}

#[test]
fn rust_udp_server_truncates_oversize_datagrams_like_the_reference() {
    let server = rust_server(Transport::Udp);
    // 3000 bytes: only the first 2048 are read, as with recvfrom(2048).
    let reply = udp_exchange(server.port, "abc".repeat(1000).as_bytes(), WAIT).expect("a reply");
    assert_eq!(reply, "ABC".repeat(1000).as_bytes()[..2048].to_vec());
    // A two-byte character cut by the buffer: the reference crashes; shout echoes the byte.
    let mut cut = "a".repeat(2047).into_bytes();
    cut.extend_from_slice("éé".as_bytes());
    let reply = udp_exchange(server.port, &cut, WAIT).expect("a reply");
    let mut expected = "A".repeat(2047).into_bytes();
    expected.push(0xc3);
    assert_eq!(show(&reply), show(&expected));
    still_answers(&server);
}

#[test]
fn rust_tcp_server_answers_invalid_utf8_and_keeps_serving() {
    let server = rust_server(Transport::Tcp);
    let reply = tcp_exchange(server.port, b"x\x80y", WAIT).expect("a reply");
    assert_eq!(show(&reply), show(b"X\x80Y"));
    still_answers(&server);
}

#[test]
fn rust_tcp_server_reads_only_the_first_1024_bytes_of_an_overlong_message() {
    let server = rust_server(Transport::Tcp);
    // The unread rest makes the close a reset, as with the reference: accept either ending.
    let reply = tcp_talk(server.port, "q".repeat(5000).as_bytes(), WAIT).bytes;
    assert_eq!(reply, "Q".repeat(1024).into_bytes());
    still_answers(&server);
}

#[test]
fn rust_tcp_server_answers_others_while_three_clients_stay_silent() {
    let server = rust_server(Transport::Tcp);
    let silent: Vec<TcpStream> = (0..3)
        .map(|_| TcpStream::connect(("127.0.0.1", server.port)).unwrap())
        .collect();
    answers_five_without_delay(&server);
    drop(silent);
}

#[test]
fn rust_tcp_server_answers_others_while_more_clients_stay_silent_than_it_has_workers() {
    // Far more silent connections than the server's accepting workers (8).
    const SILENT: usize = 40;
    let server = rust_server(Transport::Tcp);
    let silent: Vec<TcpStream> = (0..SILENT)
        .map(|_| TcpStream::connect(("127.0.0.1", server.port)).unwrap())
        .collect();
    // Wait until the server has accepted every silent connection: each is established on
    // the server's side and none is left in the listener's accept queue. A server whose
    // workers each wait on one silent connection never gets there.
    let deadline = Instant::now() + WAIT;
    loop {
        let sockets = tcp_sockets_on(server.port);
        let established = sockets
            .iter()
            .filter(|s| s.state == TCP_ESTABLISHED)
            .count();
        let queued: u64 = sockets
            .iter()
            .filter(|s| s.state == TCP_LISTEN)
            .map(|s| s.rx_queue)
            .sum();
        if established >= SILENT && queued == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "silent connections not all accepted: {established} established, {queued} still queued"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    answers_five_without_delay(&server);
    drop(silent);
}

#[test]
fn rust_tcp_server_closes_idle_connections_after_the_idle_timeout() {
    let server = Server::start_with(
        &Side::rust(),
        Transport::Tcp,
        &["--idle-timeout", "0.3"],
        &[],
    );
    let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    let mut buf = [0u8; 16];
    let started = Instant::now();
    let n = s
        .read(&mut buf)
        .expect("the server closes the connection, not a read timeout");
    assert_eq!(n, 0, "a silent connection gets no reply");
    assert!(started.elapsed() < Duration::from_secs(4));
    still_answers(&server);
}

#[test]
fn reference_tcp_server_is_blocked_by_one_silent_client_but_rust_is_not() {
    // The contrast that motivates the concurrent server, measured rather than claimed.
    let reference = Server::start(&Side::python(), Transport::Tcp);
    let _silent = TcpStream::connect(("127.0.0.1", reference.port)).unwrap();
    let blocked = tcp_exchange(reference.port, b"hi", Duration::from_millis(500));
    assert!(
        blocked.is_err(),
        "the reference answered despite a silent client: {blocked:?}"
    );
    let rust = rust_server(Transport::Tcp);
    let _silent = TcpStream::connect(("127.0.0.1", rust.port)).unwrap();
    assert_eq!(tcp_exchange(rust.port, b"hi", WAIT).unwrap(), b"HI");
}

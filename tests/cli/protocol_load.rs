//! The protocol as measured on the real reference scripts, in the situations the load,
//! address, timing and ending probes create: how the TCP server ends a connection,
//! requests from other source addresses and over IPv6, clients at once, hundreds of
//! requests, a line that comes late (to the server, and typed late into the client),
//! decomposed input, a byte-order mark, and a reply longer than
//! the TCP client's one `recv(1024)`.
//!
//! `docs/PROTOCOL.md` cites each test by name. Every wait is bounded.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::time::Duration;

use shout::proto::Transport;

use crate::support::{
    printed, run_client, spawn_holding_stdin, tcp_accept_while, tcp_listener, Server, Side,
};

const READ: Duration = Duration::from_secs(10);

fn python() -> Side {
    Side::python()
}

/// Connects to `addr`, sends `line`, and reads until the server ends the connection:
/// the reply, and whether it ended with a reset.
fn tcp_exchange(addr: SocketAddr, line: &[u8]) -> (Vec<u8>, bool) {
    let mut s = TcpStream::connect_timeout(&addr, READ).unwrap();
    s.set_read_timeout(Some(READ)).unwrap();
    s.write_all(line).unwrap();
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (reply, false),
            Ok(n) => reply.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return (reply, true),
            Err(e) => panic!("reading the reply: {e}"),
        }
    }
}

fn local(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

#[test]
fn reference_tcp_server_closes_with_fin_after_its_reply() {
    let server = Server::start(&python(), Transport::Tcp);
    for _ in 0..5 {
        let (reply, reset) = tcp_exchange(local(server.port), b"hello world");
        assert_eq!(reply, b"HELLO WORLD");
        assert!(!reset, "the reference reset the connection");
    }
}

#[test]
fn reference_servers_answer_other_loopback_addresses_and_not_ipv6() {
    let udp = Server::start(&python(), Transport::Udp);
    for (from, to) in [
        ([127, 0, 0, 2], [127, 0, 0, 1]),
        ([127, 1, 2, 3], [127, 1, 2, 3]),
    ] {
        let s = UdpSocket::bind((Ipv4Addr::from(from), 0)).unwrap();
        s.set_read_timeout(Some(READ)).unwrap();
        s.send_to(b"from afar", (Ipv4Addr::from(to), udp.port))
            .unwrap();
        let mut buf = [0u8; 2048];
        let (n, sender) = s.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"FROM AFAR");
        // The kernel answers a request to 127.1.2.3 from 127.0.0.1 (the preferred
        // source of the loopback route); the port is the server's.
        assert_eq!(sender.port(), udp.port);
    }
    let tcp = Server::start(&python(), Transport::Tcp);
    for to in [[127, 0, 0, 2], [127, 1, 2, 3]] {
        let addr = SocketAddr::from((Ipv4Addr::from(to), tcp.port));
        assert_eq!(tcp_exchange(addr, b"from afar").0, b"FROM AFAR");
    }
    // AF_INET only: nothing listens on [::1].
    let six = TcpStream::connect(("::1", tcp.port)).map(|_| ());
    assert_eq!(six.unwrap_err().kind(), ErrorKind::ConnectionRefused);
}

#[test]
fn reference_tcp_server_serves_concurrent_clients_one_after_another() {
    let server = Server::start(&python(), Transport::Tcp);
    // A first client connects and says nothing yet; a second one sends at once.
    let mut first = TcpStream::connect(local(server.port)).unwrap();
    let mut second = TcpStream::connect(local(server.port)).unwrap();
    second.write_all(b"second").unwrap();
    second
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut buf = [0u8; 64];
    let waiting = second.read(&mut buf).map_err(|e| e.kind());
    assert!(
        matches!(waiting, Err(ErrorKind::WouldBlock | ErrorKind::TimedOut)),
        "the second client was answered while the first was being served: {waiting:?}"
    );
    // Once the first has sent, both are answered, in order, each its own line.
    first.write_all(b"first").unwrap();
    first.set_read_timeout(Some(READ)).unwrap();
    let mut got = Vec::new();
    first.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"FIRST");
    second.set_read_timeout(Some(READ)).unwrap();
    let mut got = Vec::new();
    second.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"SECOND");
    // Six clients that send within milliseconds of one another all get their own reply.
    let clients: Vec<_> = (0..6)
        .map(|i| {
            let mut s = TcpStream::connect(local(server.port)).unwrap();
            s.write_all(format!("client {i}").as_bytes()).unwrap();
            s
        })
        .collect();
    for (i, mut s) in clients.into_iter().enumerate() {
        s.set_read_timeout(Some(READ)).unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
        assert_eq!(got, format!("CLIENT {i}").as_bytes());
    }
}

/// Open descriptors of process `pid`.
fn descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

#[test]
fn reference_servers_answer_hundreds_of_requests_and_keep_no_descriptor() {
    for transport in [Transport::Udp, Transport::Tcp] {
        let mut server = Server::start(&python(), transport);
        let pid = server.process().pid();
        let before = descriptors(pid);
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        udp.set_read_timeout(Some(READ)).unwrap();
        for i in 0..300 {
            let line = format!("request {i}");
            let reply = match transport {
                Transport::Tcp => tcp_exchange(local(server.port), line.as_bytes()).0,
                Transport::Udp => {
                    udp.send_to(line.as_bytes(), local(server.port)).unwrap();
                    let mut buf = [0u8; 2048];
                    let (n, _) = udp.recv_from(&mut buf).unwrap();
                    buf[..n].to_vec()
                }
            };
            assert_eq!(reply, line.to_uppercase().as_bytes(), "{transport}");
        }
        assert_eq!(descriptors(pid), before, "{transport}");
    }
}

#[test]
fn reference_tcp_server_waits_for_a_line_that_comes_late() {
    let server = Server::start(&python(), Transport::Tcp);
    let mut s = TcpStream::connect(local(server.port)).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    s.write_all(b"slow typist").unwrap();
    s.set_read_timeout(Some(READ)).unwrap();
    let mut got = Vec::new();
    s.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"SLOW TYPIST");
}

#[test]
fn reference_servers_keep_decomposed_characters_and_a_byte_order_mark() {
    for transport in [Transport::Udp, Transport::Tcp] {
        let server = Server::start(&python(), transport);
        for (line, reply) in [
            ("cafe\u{301}", "CAFE\u{301}"),
            ("\u{feff}hello", "\u{feff}HELLO"),
        ] {
            let f = run_client(
                &python(),
                transport,
                server.port,
                format!("{line}\n").as_bytes(),
            );
            assert_eq!(f.stdout.bytes, printed(transport, reply.as_bytes()));
        }
    }
}

#[test]
fn reference_tcp_client_prints_the_first_1024_bytes_of_a_longer_reply() {
    let line = "ΐ".repeat(200);
    let reply = line.to_uppercase();
    assert_eq!((line.len(), reply.len()), (400, 1200));
    let server = Server::start(&python(), Transport::Tcp);
    let f = run_client(
        &python(),
        Transport::Tcp,
        server.port,
        format!("{line}\n").as_bytes(),
    );
    assert_eq!(
        f.stdout.bytes,
        printed(Transport::Tcp, &reply.as_bytes()[..1024])
    );
    // UDP: the client's recvfrom(2048) takes the whole reply.
    let server = Server::start(&python(), Transport::Udp);
    let f = run_client(
        &python(),
        Transport::Udp,
        server.port,
        format!("{line}\n").as_bytes(),
    );
    assert_eq!(f.stdout.bytes, printed(Transport::Udp, reply.as_bytes()));
}

#[test]
fn reference_tcp_client_connects_first_and_waits_for_a_line_typed_late() {
    let listener = tcp_listener();
    let port = listener.local_addr().unwrap().port();
    let (argv, env) = python().command(
        Transport::Tcp,
        "Client",
        &["127.0.0.1".into(), port.to_string()],
        &[],
    );
    let (mut client, mut stdin) = spawn_holding_stdin(argv, env);
    // It connects before anything is typed.
    let mut s = tcp_accept_while(&listener, &mut client).expect("the client connects first");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(client.exited(), None, "the client gave up on a slow typist");
    stdin.write_all(b"typed late\n").unwrap();
    drop(stdin);
    s.set_read_timeout(Some(READ)).unwrap();
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"typed late");
    s.write_all(b"TYPED LATE").unwrap();
    drop(s);
    let f = client.finish(READ);
    assert_eq!(f.stdout.bytes, printed(Transport::Tcp, b"TYPED LATE"));
}

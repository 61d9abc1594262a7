//! The protocol as the textbook's Java programs (`reference/java/`, the `java-textbook`
//! reference) speak it, measured on the real programs: `docs/PROTOCOL.md` cites each
//! test for what they do differently from the Python scripts. Each test compiles the
//! programs once (javac) and skips, saying so, where no JDK is installed.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use shout::proto::Transport;
use shout::run::process::{Exit, Running};

use crate::support::{env_vars, root, show, spawn, text, udp_socket, Server, QUIET, WAIT};

/// The compiled classes, once per test binary; `None` without a JDK.
fn classes() -> Option<&'static PathBuf> {
    static CLASSES: OnceLock<Option<PathBuf>> = OnceLock::new();
    CLASSES
        .get_or_init(|| {
            let javac = which::which("javac").ok()?;
            // Kept with the build, so that no test leaves a folder behind.
            let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("java-textbook");
            std::fs::create_dir_all(&dir).ok()?;
            let sources = ["UDPServer", "UDPClient", "TCPServer", "TCPClient"]
                .map(|n| root().join("reference/java").join(format!("{n}.java")));
            let ok = std::process::Command::new(javac)
                .arg("-d")
                .arg(&dir)
                .args(sources)
                .status()
                .ok()?
                .success();
            ok.then_some(dir)
        })
        .as_ref()
}

fn java(class: &str, args: &[String], stdin: Option<&[u8]>) -> Running {
    let mut argv = vec![
        "java".into(),
        "-cp".into(),
        classes().expect("compiled").clone().into_os_string(),
        class.into(),
    ];
    argv.extend(args.iter().map(Into::into));
    spawn(
        argv,
        env_vars(&[("LC_ALL", "C.UTF-8")]),
        stdin.map(<[u8]>::to_vec),
    )
}

fn server(transport: Transport) -> Server {
    let class = match transport {
        Transport::Udp => "UDPServer",
        Transport::Tcp => "TCPServer",
    };
    Server::start_command(transport, "java-textbook", |port| {
        java(class, &[port.to_string()], None)
    })
}

/// Whether the JDK is here; if not, says so (the test then checks nothing).
fn jdk() -> bool {
    let here = classes().is_some();
    if !here {
        eprintln!("skipped: no JDK (javac) on this machine");
    }
    here
}

/// Reads what `s` receives until the peer closes or `wait` passes with nothing new.
fn read_quietly(s: &mut TcpStream, wait: Duration) -> (Vec<u8>, bool) {
    s.set_read_timeout(Some(wait)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (got, true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (got, false),
        }
    }
}

/// Reads up to and including a newline (or the close, or [`WAIT`]).
fn line(s: &mut TcpStream) -> Vec<u8> {
    s.set_read_timeout(Some(WAIT)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.contains(&b'\n') {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    got
}

#[test]
fn java_tcp_server_answers_only_a_line_ending_in_a_newline_and_keeps_the_connection_open() {
    if !jdk() {
        return;
    }
    let mut srv = server(Transport::Tcp);
    let mut s = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    s.write_all(b"abc").unwrap();
    let (got, closed) = read_quietly(&mut s, QUIET);
    assert_eq!(
        (show(&got), closed),
        (String::new(), false),
        "no newline, no reply"
    );
    s.write_all(b"\n").unwrap();
    assert_eq!(
        show(&line(&mut s)),
        show(b"ABC\n"),
        "the reply ends with a newline"
    );
    let (more, closed) = read_quietly(&mut s, QUIET);
    assert_eq!(
        (show(&more), closed),
        (String::new(), false),
        "and it never closes"
    );
    // The client closes first: the server reads the next connection's line.
    drop(s);
    let mut s = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    s.write_all(b"again\n").unwrap();
    assert_eq!(show(&line(&mut s)), show(b"AGAIN\n"));
    assert!(srv.alive());
}

#[test]
fn java_tcp_server_dies_on_a_connection_closed_without_a_line() {
    if !jdk() {
        return;
    }
    let mut srv = server(Transport::Tcp);
    drop(TcpStream::connect(("127.0.0.1", srv.port)).unwrap());
    // readLine() returns null; null.toUpperCase() throws.
    assert_eq!(srv.wait_exit(), Exit::Code(1));
    let err = text(&srv.stop().stderr.bytes);
    assert!(err.contains("NullPointerException"), "{err}");
}

#[test]
fn java_tcp_client_sends_the_line_and_a_newline_keeping_one_byte_per_character() {
    if !jdk() {
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let client = java(
        "TCPClient",
        &["127.0.0.1".into(), port.to_string()],
        Some("héllo\n".as_bytes()),
    );
    let (mut s, _) = listener.accept().unwrap();
    let got = line(&mut s);
    // writeBytes keeps the low byte of each character: é (U+00E9) is the byte 0xE9.
    assert_eq!(show(&got), show(b"h\xe9llo\n"));
    s.write_all(b"H\xc3\x89LLO\n").unwrap();
    let done = client.finish(WAIT);
    assert_eq!(done.exit, Exit::Code(0));
    assert_eq!(text(&done.stdout.bytes), "FROM SERVER: HÉLLO\n");
}

#[test]
fn java_udp_server_answers_its_whole_1024_byte_buffer_with_what_earlier_requests_left() {
    if !jdk() {
        return;
    }
    let srv = server(Transport::Udp);
    let s = udp_socket();
    let ask = |request: &[u8]| {
        s.send_to(request, ("127.0.0.1", srv.port)).unwrap();
        crate::support::udp_reply(&s, WAIT).expect("no reply").0
    };
    let mut first = b"HELLO WORLD".to_vec();
    first.resize(1024, 0);
    assert_eq!(
        show(&ask(b"hello world")),
        show(&first),
        "zero bytes fill it"
    );
    let mut second = b"HI".to_vec();
    second.extend_from_slice(b"LLO WORLD");
    second.resize(1024, 0);
    assert_eq!(
        show(&ask(b"hi")),
        show(&second),
        "the earlier, longer request shows through"
    );
    let long = vec![b'a'; 2049];
    assert_eq!(
        ask(&long),
        vec![b'A'; 1024],
        "a datagram is cut at 1024 bytes"
    );
}

#[test]
fn java_udp_client_prints_the_whole_buffer_after_from_server() {
    if !jdk() {
        return;
    }
    let server = udp_socket();
    let port = server.local_addr().unwrap().port();
    let client = java(
        "UDPClient",
        &["127.0.0.1".into(), port.to_string()],
        Some(b"hello\n"),
    );
    server.set_read_timeout(Some(WAIT)).unwrap();
    let mut buf = [0u8; 2048];
    let (n, from) = server.recv_from(&mut buf).unwrap();
    assert_eq!(
        show(&buf[..n]),
        show(b"hello"),
        "the line, without its newline"
    );
    server.send_to(b"HELLO", from).unwrap();
    let done = client.finish(WAIT);
    assert_eq!(done.exit, Exit::Code(0));
    let mut expected = b"FROM SERVER:HELLO".to_vec();
    expected.resize(b"FROM SERVER:".len() + 1024, 0);
    expected.push(b'\n');
    assert_eq!(show(&done.stdout.bytes), show(&expected));
}

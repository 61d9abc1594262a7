//! The protocol as measured on the real reference scripts: what it owes to the Python
//! running it (the locale's encoding, the Unicode database behind `str.upper()`, the
//! buffering of stdout, signals) and on which interpreters the scripts run at all.
//!
//! `docs/PROTOCOL.md` cites every test here by name: each test is the evidence for one
//! statement there. Every wait is bounded: readiness comes from the kernel's socket
//! tables, and output is polled with a deadline.

use std::ffi::OsString;
use std::io::{Read, Write};

use shout::proto::Transport;
use shout::registry::REFERENCE_FLAGS;
use shout::run::process::Exit;

use crate::support::{
    assert_failed, assert_printed, describe, major_minor, printed, python2, python3,
    python3_interpreters, python_env, retry, run_client, script, show, spawn, spawn_client,
    spawn_client_to, stdout_of, tcp_accept_while, tcp_listener, tcp_talk, text, udp_receive_while,
    udp_socket, udp_talk, wait_for_stdout, Python, Server, Side, PROMPT, READY_LINE, WAIT,
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
        let listener = tcp_listener();
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

/// The reference server as shout starts it: the interpreter itself, with
/// [`shout::registry::REFERENCE_FLAGS`] (`-S`).
fn reference_as_shout_runs_it(python: &Python, transport: Transport) -> Server {
    let executable = stdout_of(
        &python.path,
        &["-c", "import sys; sys.stdout.write(sys.executable)"],
    )
    .expect("the interpreter names itself");
    Server::start_command(transport, "python -S", |port| {
        let mut argv: Vec<OsString> = vec![executable.clone().into()];
        argv.extend(REFERENCE_FLAGS.iter().map(OsString::from));
        argv.push(script(transport, "Server").into());
        argv.push(port.to_string().into());
        spawn(argv, python_env(), None)
    })
}

/// shout starts the reference with `-S` (no `site`) because it is cheaper; every scalar
/// value through the servers, and a few lines through the clients, come out the same
/// bytes as with a plain start.
#[test]
fn reference_servers_answer_alike_with_and_without_site() {
    let python = python3();
    for transport in Transport::ALL {
        let plain = Server::start(&Side::Python(python.clone()), transport);
        let flagged = reference_as_shout_runs_it(&python, transport);
        let chunks = crate::sweep::sweep_between(&plain, &flagged, transport)
            .unwrap_or_else(|e| panic!("{transport}, with and without -S: {e}"));
        assert!(chunks > 100, "{transport}: only {chunks} chunks");
        for line in ["hello world", "straße ŉ", "한국어 ǅ ﬃ", ""] {
            let stdin = format!("{line}\n");
            let outputs: Vec<Vec<u8>> = [&[][..], &REFERENCE_FLAGS[..]]
                .iter()
                .map(|flags| {
                    let mut argv: Vec<OsString> = vec![python.path.clone().into()];
                    argv.extend(flags.iter().map(OsString::from));
                    argv.push(script(transport, "Client").into());
                    argv.push("127.0.0.1".into());
                    argv.push(plain.port.to_string().into());
                    spawn(argv, python_env(), Some(stdin.as_bytes().to_vec()))
                        .finish(WAIT)
                        .stdout
                        .bytes
                })
                .collect();
            assert_eq!(outputs[0], outputs[1], "{transport} client on {line:?}");
        }
    }
}

//! The student's sentences, finding by finding.

use super::*;
use crate::corpus::Category;
use crate::grade::detect::Language;
use crate::run::process::Exit;
use crate::run::wire::Transcript;
use crate::verdict::{
    Added, ClientFinding, Mapping, ReferenceFinding, ReferenceServer, ServerFinding,
};

fn unit(
    transport: Transport,
    client: &str,
    server: &str,
    kind: UnitKind,
    finding: impl Into<Finding>,
    expected: &[u8],
    actual: Option<&[u8]>,
) -> UnitResult {
    UnitResult {
        id: format!("{transport}::{client}-client::{server}-server::hello"),
        axis: None,
        transport,
        client: client.into(),
        server: server.into(),
        kind,
        case: "hello".into(),
        category: Category::Core,
        verdict: Verdict::Fail,
        fault: None,
        input: b"hello world".to_vec(),
        expected: Some(expected.to_vec()),
        actual: actual.map(<[u8]>::to_vec),
        wire: Transcript::default(),
        finding: Some(finding.into()),
        known: None,
        minimal_input: None,
        reproduce: "shout matrix --id x".into(),
        duration_ms: 1,
        client_ms: None,
        client_stderr: None,
        cached: false,
    }
}

#[test]
fn a_client_shown_the_marker_is_told_what_it_is_and_a_crash_shows_its_error_output() {
    let marker = format!(
        "Input lowercase sentence:From Server:  {}\n",
        crate::run::MARKER
    );
    let mut r = unit(
        Transport::Udp,
        "alice",
        "probe",
        UnitKind::ClientProbe,
        ClientFinding::SentNothing,
        marker.as_bytes(),
        Some(b"Input lowercase sentence:"),
    );
    r.input = Vec::new();
    r.client_stderr = Some(
        "Traceback (most recent call last):\n  File \"c.py\", line 9\nValueError: empty\x1b[2J"
            .into(),
    );
    let s = for_student(&r, "alice");
    assert!(s.contains("is the reply of shout's test server"), "{s}");
    assert!(s.contains("must not stop on an empty line"), "{s}");
    // The last lines of the traceback, escaped: no terminal control reaches the page.
    assert!(
        s.contains(
            "Its error output ended with: `  File \"c.py\", line 9\\nValueError: empty\\u{1b}[2J`."
        ),
        "{s}"
    );
    // Another student's unit, or a pass, says neither.
    assert!(!for_student(&r, "bob").contains("error output"));
}

#[test]
fn a_preview_that_would_read_the_same_shows_where_the_bytes_differ() {
    let expected = "B".repeat(100);
    let mut actual = expected.clone().into_bytes();
    actual[80] = b'b';
    let s = server_says(
        Transport::Udp,
        ServerFinding::ReplyDiffers { at: 80 },
        expected.as_bytes(),
        &actual,
    );
    assert!(s.contains("first difference at byte 80"), "{s}");
    assert!(s.contains("BBBBBBBBBBBBb"), "{s}");
}

fn server_says(transport: Transport, d: ServerFinding, expected: &[u8], actual: &[u8]) -> String {
    let r = unit(
        transport,
        "probe",
        "alice",
        UnitKind::ServerProbe,
        d,
        expected,
        Some(actual),
    );
    for_student(&r, "alice")
}

#[test]
fn server_mistakes_are_told_to_the_student() {
    assert_eq!(
        server_says(
            Transport::Udp,
            ServerFinding::AddedAfter {
                added: Added::Newline,
                expected: b"HELLO".to_vec(),
                actual: b"HELLO\n".to_vec()
            },
            b"HELLO",
            b"HELLO\n"
        ),
        "Your UDP server added a newline after the reply: expected `HELLO`, got `HELLO\\n`."
    );
    assert_eq!(
        server_says(
            Transport::Tcp,
            ServerFinding::WaitsForNewline,
            b"HELLO",
            b""
        ),
        "Your TCP server waits for a newline that the reference client never sends (deadlock)."
    );
    assert_eq!(
        server_says(
            Transport::Udp,
            ServerFinding::ReplyFromOtherPort,
            b"HELLO",
            b"HELLO"
        ),
        "Your UDP server replied from a different port than it listens on; replies must come from the server's own socket."
    );
    let (d, _) = crate::verdict::diagnose_reply(
        b"hello",
        b"HELLO",
        &[b"HELLO".as_slice(), b"OLD REQUEST", &[0u8; 1008]].concat(),
        crate::proto::case::UnicodeVersion::DEFAULT,
        "3.11",
    );
    let said = server_says(Transport::Udp, d, b"HELLO", b"HELLO...");
    assert!(
        said.starts_with("Your UDP server sends back its whole 1024-byte receive buffer: after the reply come bytes an earlier, longer request left there"),
        "{said}"
    );
    let mut buffer = b"HELLO".to_vec();
    buffer.resize(1024, 0);
    assert_eq!(
        server_says(
            Transport::Udp,
            ServerFinding::AddedAfter {
                added: Added::Zeros {
                    count: 1019,
                    buffer: 1024,
                },
                expected: b"HELLO".to_vec(),
                actual: buffer.clone()
            },
            b"HELLO",
            &buffer
        ),
        "Your UDP server sends back the whole 1024-byte buffer, including the unused zero bytes (1019 after the reply)."
    );
    assert_eq!(
        server_says(
            Transport::Tcp,
            ServerFinding::CaseMapping {
                mapping: Mapping::AsciiOnly
            },
            "HÉLLO".as_bytes(),
            "HéLLO".as_bytes()
        ),
        "Your TCP server uppercased only ASCII letters and left non-ASCII ones (é, ß) unchanged: expected `HÉLLO`, got `HéLLO`."
    );
    assert_eq!(
        server_says(
            Transport::Udp,
            ServerFinding::CaseMapping {
                mapping: Mapping::Title
            },
            b"HELLO WORLD",
            b"Hello World"
        ),
        "Your UDP server title-cased the text (\"Hello World\") instead of uppercasing it: expected `HELLO WORLD`, got `Hello World`."
    );
    assert_eq!(
        server_says(
            Transport::Udp,
            ServerFinding::AddedPrefix {
                prefix: b"OK: ".to_vec()
            },
            b"HELLO",
            b"OK: HELLO"
        ),
        "Your UDP server put `OK: ` before the reply."
    );
    assert_eq!(
        server_says(
            Transport::Tcp,
            ServerFinding::ReplyCut { got: 5, of: 11 },
            b"HELLO WORLD",
            b"HELLO"
        ),
        "Your TCP server's reply stops after 5 of 11 bytes: it reads or sends too little: expected `HELLO WORLD`, got `HELLO`."
    );
    assert_eq!(
        server_says(
            Transport::Tcp,
            ServerFinding::Died {
                exit: Exit::Code(1)
            },
            b"HELLO",
            b""
        ),
        "Your TCP server crashed on this input (exit status 1)."
    );
}

#[test]
fn case_mapping_mistakes_name_what_the_server_does() {
    let s = server_says(
        Transport::Udp,
        ServerFinding::OtherUnicode {
            from: "16.0".parse().unwrap(),
            to: "16.0".parse().unwrap(),
            reference: "14.0".parse().unwrap(),
            runtime: "Python 3.11".into(),
        },
        "Ƛ".as_bytes(),
        "\u{a7dc}".as_bytes(),
    );
    assert!(
        s.starts_with("Your UDP server follows Unicode 16.0.0 (as 3.14), the reference Python 3.11 follows 14.0.0, so some characters come out differently: expected `Ƛ`"),
        "{s}"
    );
    let s = server_says(
        Transport::Tcp,
        ServerFinding::Latin1,
        "CAFÉ".as_bytes(),
        "CAFÃ©".as_bytes(),
    );
    assert!(
        s.contains("Latin-1 instead of UTF-8, so non-ASCII letters come out garbled"),
        "{s}"
    );
    let s = server_says(
        Transport::Udp,
        ServerFinding::CaseMapping {
            mapping: Mapping::Simple,
        },
        b"STRASSE",
        "STRAßE".as_bytes(),
    );
    assert!(s.contains("ß becomes SS"), "{s}");
}

#[test]
fn client_mistakes_are_told_to_the_student() {
    let r = unit(
        Transport::Udp,
        "bob",
        "probe",
        UnitKind::ClientProbe,
        ClientFinding::SentUppercased,
        b"hello",
        Some(b"hello"),
    );
    assert_eq!(
        for_student(&r, "bob"),
        "Your UDP client uppercased the text before sending it."
    );
    let r = unit(
        Transport::Tcp,
        "bob",
        "python",
        UnitKind::Pairing,
        ClientFinding::SentNewline,
        b"x",
        Some(b"x"),
    );
    assert!(for_student(&r, "bob").starts_with(
        "Your TCP client sends a newline after the text; the reference client sends the line without it"
    ));
    let mut printed = b"Input lowercase sentence:HELLO".to_vec();
    printed.resize(1049, 0);
    let r = unit(
        Transport::Udp,
        "bob",
        "python",
        UnitKind::Pairing,
        ClientFinding::PrintedOther {
            printed: printed.clone(),
            reference: b"Input lowercase sentence:HELLO\n".to_vec(),
            at: Some(30),
        },
        b"Input lowercase sentence:HELLO\n",
        Some(&printed),
    );
    assert_eq!(
        for_student(&r, "bob"),
        "Your UDP client printed the whole receive buffer: the reply is followed by 1019 unused zero bytes."
    );
    let r = unit(
        Transport::Udp,
        "bob",
        "python",
        UnitKind::Pairing,
        ClientFinding::OutputFlood { bytes: 200000000 },
        b"x",
        Some(b"x"),
    );
    assert_eq!(
        for_student(&r, "bob"),
        "Your UDP client kept printing after the reply (200000000 bytes); it was stopped."
    );
}

#[test]
fn the_other_side_is_named_for_what_it_is() {
    let r = unit(
        Transport::Udp,
        "bob",
        "python",
        UnitKind::Pairing,
        ServerFinding::NeverReplied,
        b"x",
        None,
    );
    assert_eq!(
        for_student(&r, "bob"),
        "With your UDP client, the reference server never replied (no answer within the time limit)."
    );
}

#[test]
fn every_finding_and_a_missing_one_read_as_sentences() {
    let r = unit(
        Transport::Tcp,
        "probe",
        "alice",
        UnitKind::ServerProbe,
        ServerFinding::ReplyDiffers { at: 3 },
        b"HELLO",
        Some(b"HEL"),
    );
    assert_eq!(
        for_student(&r, "alice"),
        "Your TCP server's reply differs from the reference's from byte 3: expected `HELLO`, got `HEL`."
    );
    let mut r = r;
    r.finding = None;
    assert_eq!(
        for_student(&r, "alice"),
        "Your TCP server does not behave like the reference on `hello`: expected `HELLO`, got `HEL`."
    );
    r.verdict = Verdict::Info;
    r.finding = Some(
        ReferenceFinding::ServerUndefined {
            how: ReferenceServer::Dies {
                exit: Exit::Code(1),
            },
            this_kept_answering: Some(true),
        }
        .into(),
    );
    assert_eq!(
        for_student(&r, "alice"),
        "Not counted: the reference server dies on this input (exit status 1); this server kept answering."
    );
}

#[test]
fn a_unit_left_out_says_why_once() {
    let mut r = unit(
        Transport::Udp,
        "probe",
        "alice",
        UnitKind::ServerProbe,
        RunFinding::RunTimedOut,
        b"HELLO",
        None,
    );
    r.verdict = Verdict::Skip;
    assert_eq!(
        for_student(&r, "alice"),
        "Not run: the grading run's time limit passed first."
    );
    r.verdict = Verdict::Info;
    r.finding = Some(RunFinding::ReferenceUndefined.into());
    assert_eq!(
        for_student(&r, "alice"),
        "Not counted: the reference itself gives no answer on this case."
    );
}

#[test]
fn long_bytes_are_cut_short_without_splitting_an_escape() {
    let q = quote(&[b'a'; 100], 10);
    assert_eq!(q, "aaaaaaaaaa… (100 bytes in all)");
    let q = quote(b"abcdefghi\n", 10);
    assert_eq!(q, "abcdefghi… (10 bytes in all)");
    assert_eq!(quote(b"\xffok", 10), "\\xffok");
}

#[test]
fn problems_name_the_role_and_what_to_do() {
    let [_, uc, ts, tc] = RoleKey::ALL;
    assert_eq!(
        problem(&Problem::MissingRole {
            role: uc,
            language: Some(Language::Python3)
        }),
        "No UDP client found: expected a file such as UDPClient.py that reads a line, sends it to the server over UDP and prints the reply."
    );
    assert!(problem(&Problem::MissingRole {
        role: ts,
        language: Some(Language::C)
    })
    .contains("tcp_server.c"));
    assert_eq!(
        problem(&Problem::MissingToolchain(
            "Go submission; `go` is not installed: apt-get install golang-go".into()
        )),
        "Go submission; `go` is not installed: apt-get install golang-go"
    );
    let p = problem(&Problem::BuildFailed {
        role: tc,
        command: Some("javac TCPClient.java".into()),
        output: "TCPClient.java:5: error: ';' expected\n    int x = 1\n             ^\n1 error\n"
            .into(),
    });
    assert_eq!(
        p,
        "Your TCP client did not build (`javac TCPClient.java` failed): TCPClient.java:5: error: ';' expected /     int x = 1 /              ^ / … (1 more lines)"
    );
}

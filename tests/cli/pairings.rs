//! The four pairings per transport (Python/Rust client × Python/Rust server) print
//! byte-identical output and exit the same way on every line of a varied corpus.

use crate::support::{run_client, show, Server, Side};
use shout::proto::Transport;

/// Lines typed into the clients (each followed by `\n`).
fn corpus() -> Vec<(&'static str, String)> {
    vec![
        ("ascii", "hello world".into()),
        ("mixed-case", "HeLLo WoRLD, mIxEd CaSe".into()),
        (
            "digits-punctuation",
            "0123456789 !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~".into(),
        ),
        (
            "korean",
            "소켓 프로그래밍: 네트워크 애플리케이션 생성".into(),
        ),
        ("sharp-s", "straße groß ß".into()),
        ("ligatures", "ﬃ ﬁ ﬂ ﬀ ﬆ ŉ".into()),
        ("greek-final-sigma", "ὀδυσσεύς σοφός".into()),
        ("turkish-i", "i ı İ istanbul ıspanak".into()),
        ("titlecase-digraph", "ǅ ǆ ǈ ǋ ǲ".into()),
        ("emoji", "hi 👋🏽 café ☕ 𝒶𝒷".into()),
        ("whitespace-runs", "  a  \t\t b   ".into()),
        (
            "control-characters",
            "a\u{1}b\u{7f}c\u{1b}[0m\u{b}\u{c}d".into(),
        ),
        ("carriage-return", "line\rend".into()),
        ("unicode-line-separators", "a\u{2028}b\u{85}c".into()),
        ("empty-udp-only", String::new()),
        ("bytes-1000", "abcdefghij".repeat(100)),
        ("bytes-1000-sharp-s", "ß".repeat(500)),
        ("bytes-2000", "abcdefghij".repeat(200)),
        ("bytes-2000-two-byte", "é".repeat(1000)),
    ]
}

fn all_four_pairings_agree(transport: Transport) {
    let sides = Side::both();
    let servers: Vec<Server> = sides.iter().map(|s| Server::start(s, transport)).collect();
    let mut failures = Vec::new();
    for (name, line) in corpus() {
        if transport == Transport::Tcp && line.is_empty() {
            // The reference TCP client sends nothing and the reference server waits
            // forever for it: no defined answer (see docs/PROTOCOL.md).
            continue;
        }
        let stdin = format!("{line}\n");
        let reference = run_client(&sides[0], transport, servers[0].port, stdin.as_bytes());
        assert_eq!(
            reference.exit,
            shout::run::process::Exit::Code(0),
            "{transport} reference pair failed on `{name}`: {}",
            String::from_utf8_lossy(&reference.stderr.bytes)
        );
        for client in &sides {
            for (server_side, server) in sides.iter().zip(&servers) {
                let got = run_client(client, transport, server.port, stdin.as_bytes());
                if got.stdout.bytes != reference.stdout.bytes || got.exit != reference.exit {
                    failures.push(format!(
                        "{transport} {}-client × {}-server on `{name}`:\n  expected {} ({})\n  actual   {} ({})\n  stderr   {}",
                        client.name(),
                        server_side.name(),
                        show(&reference.stdout.bytes),
                        reference.exit,
                        show(&got.stdout.bytes),
                        got.exit,
                        String::from_utf8_lossy(&got.stderr.bytes)
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} pairing differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn udp_pairings_print_identical_output_on_the_corpus() {
    all_four_pairings_agree(Transport::Udp);
}

#[test]
fn tcp_pairings_print_identical_output_on_the_corpus() {
    all_four_pairings_agree(Transport::Tcp);
}

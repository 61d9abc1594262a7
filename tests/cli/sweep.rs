//! The exhaustive sweep: every Unicode scalar value, in chunks that fit the reference's
//! buffers, through the reference server and the Rust server (UDP and TCP) under every
//! CPython 3 found, with `--unicode` read from the interpreter itself. Zero differences.

use std::time::Duration;

use crate::support::{python3_interpreters, tcp_exchange, udp_exchange, Python, Server, Side};
use shout::proto::Transport;

/// Every scalar value, UTF-8 encoded, cut at character boundaries into chunks of at
/// most `limit` bytes.
fn chunks(limit: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut current = Vec::with_capacity(limit);
    let mut buf = [0u8; 4];
    for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
        let bytes = c.encode_utf8(&mut buf).as_bytes();
        if current.len() + bytes.len() > limit {
            out.push(std::mem::take(&mut current));
        }
        current.extend_from_slice(bytes);
    }
    out.push(current);
    out
}

fn sweep(python: &Python, transport: Transport) -> Result<usize, String> {
    let reference = Server::start(&Side::Python(python.clone()), transport);
    let rust = Server::start(
        &Side::Rust {
            unicode: python.unicode.clone(),
        },
        transport,
    );
    sweep_between(&reference, &rust, transport).map_err(|e| {
        format!(
            "python {} (Unicode {}), {transport}: {e}",
            python.version, python.unicode
        )
    })
}

/// Every chunk through `reference` and `rust`; the number of chunks, or what differed.
pub fn sweep_between(
    reference: &Server,
    rust: &Server,
    transport: Transport,
) -> Result<usize, String> {
    let limit = match transport {
        Transport::Udp => shout::proto::udp::UDP_BUFFER,
        Transport::Tcp => shout::proto::tcp::TCP_BUFFER,
    };
    let wait = Duration::from_secs(10);
    let ask = |port: u16, chunk: &[u8]| -> Vec<u8> {
        match transport {
            Transport::Udp => udp_exchange(port, chunk, wait).expect("no UDP reply within 10 s"),
            Transport::Tcp => tcp_exchange(port, chunk, wait).expect("TCP exchange failed"),
        }
    };
    let all = chunks(limit);
    let mut differing = 0usize;
    let mut first = Vec::new();
    for chunk in &all {
        let expected = ask(reference.port, chunk);
        let actual = ask(rust.port, chunk);
        if expected != actual {
            let diff = expected.iter().zip(&actual).filter(|(a, b)| a != b).count()
                + expected.len().abs_diff(actual.len());
            differing += diff;
            if first.len() < 5 {
                let text = String::from_utf8_lossy(chunk);
                first.push(format!(
                    "chunk starting U+{:04X}: {diff} bytes differ",
                    text.chars().next().map(|c| c as u32).unwrap_or(0)
                ));
            }
        }
    }
    if differing == 0 {
        Ok(all.len())
    } else {
        Err(format!("{differing} differing bytes\n{}", first.join("\n")))
    }
}

/// Sweeps `transport` under every interpreter found; panics with every difference.
pub fn sweep_all(transport: Transport) {
    let pythons = python3_interpreters();
    let results: Vec<(String, Result<usize, String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = pythons
            .iter()
            .map(|p| {
                scope.spawn(move || {
                    (
                        format!("{} (Unicode {})", p.version, p.unicode),
                        sweep(p, transport),
                    )
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("sweep thread"))
            .collect()
    });
    let mut errors = Vec::new();
    for (who, result) in results {
        match result {
            Ok(n) => {
                eprintln!("swept {transport} through CPython {who}: {n} chunks, 0 differences")
            }
            Err(e) => errors.push(e),
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn udp_sweep_of_every_scalar_value_matches_every_python() {
    sweep_all(Transport::Udp);
}

#[test]
fn tcp_sweep_of_every_scalar_value_matches_every_python() {
    sweep_all(Transport::Tcp);
}

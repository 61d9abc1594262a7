//! The case table against the real interpreters: for every CPython 3 found, `chr(c).upper()`
//! for every scalar value must equal `shout::proto::upper_str` under the interpreter's own
//! `unicodedata.unidata_version`. Zero differences.

use std::collections::HashMap;
use std::time::Duration;

use crate::support::{python3_interpreters, spawn, Python};
use shout::proto::{upper_str, UnicodeVersion};
use shout::run::process::Exit;

/// How long one interpreter may take to dump its table (every interpreter runs at once).
const DUMP_WAIT: Duration = Duration::from_secs(300);

/// Prints `cp:up up ...` (hex) for every scalar value whose `upper()` is not itself.
const DUMP: &str = r#"
import sys
out = []
for c in range(0x110000):
    if 0xD800 <= c <= 0xDFFF:
        continue
    u = chr(c).upper()
    if u != chr(c):
        out.append('%x:%s' % (c, ' '.join('%x' % ord(x) for x in u)))
out.append('end')
sys.stdout.write('\n'.join(out) + '\n')
"#;

/// The interpreter's uppercase of every scalar value that changes, keyed by code point.
fn python_uppers(python: &Python) -> HashMap<u32, Vec<u32>> {
    let argv = vec![
        python.path.clone().into(),
        "-I".into(),
        "-c".into(),
        DUMP.into(),
    ];
    let out = spawn(argv, Vec::new(), None).finish(DUMP_WAIT);
    assert!(
        out.exit == Exit::Code(0),
        "{} failed: {}",
        python.path.display(),
        String::from_utf8_lossy(&out.stderr.bytes)
    );
    let text = String::from_utf8(out.stdout.bytes).expect("the dump is ASCII");
    let hex = |s: &str| u32::from_str_radix(s, 16).expect("hex code point");
    let mut lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.pop(),
        Some("end"),
        "truncated dump from {}",
        python.path.display()
    );
    lines
        .into_iter()
        .map(|line| {
            let (cp, up) = line.split_once(':').expect("cp:up line");
            (hex(cp), up.split(' ').map(hex).collect())
        })
        .collect()
}

fn show(cps: &[u32]) -> String {
    cps.iter()
        .map(|c| format!("U+{c:04X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Compares one interpreter with shout's table; returns a failure report, if any.
fn compare(python: &Python) -> Result<String, String> {
    let version: UnicodeVersion = python.unicode.parse().map_err(|e| {
        format!(
            "Python {} reports Unicode {}: {e}",
            python.version, python.unicode
        )
    })?;
    let expected = python_uppers(python);
    let mut differences = Vec::new();
    let mut count = 0usize;
    let mut rust_std = 0usize;
    let mut all = String::new();
    let mut all_expected = String::new();
    for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
        let cp = u32::from(c);
        let want: Vec<u32> = expected.get(&cp).cloned().unwrap_or_else(|| vec![cp]);
        let got: Vec<u32> = upper_str(c.encode_utf8(&mut [0; 4]), version)
            .chars()
            .map(u32::from)
            .collect();
        if got != want {
            count += 1;
            if differences.len() < 20 {
                differences.push(format!(
                    "  U+{cp:04X}: python {} , shout {}",
                    show(&want),
                    show(&got)
                ));
            }
        }
        let std: Vec<u32> = c.to_uppercase().map(u32::from).collect();
        if std != want {
            rust_std += 1;
        }
        all.push(c);
        all_expected.extend(want.iter().filter_map(|&u| char::from_u32(u)));
    }
    if count > 0 {
        return Err(format!(
            "Python {} ({}, Unicode {}): {count} scalar values differ; the first {}:\n{}",
            python.version,
            python.path.display(),
            python.unicode,
            differences.len(),
            differences.join("\n")
        ));
    }
    if upper_str(&all, version) != all_expected {
        return Err(format!(
            "Python {} (Unicode {}): every char alone matches, the whole string does not",
            python.version, python.unicode
        ));
    }
    Ok(format!(
        "Python {} (Unicode {}): {} scalar values change under upper(), 0 differences; \
         Rust's char::to_uppercase (Unicode {}.{}.{}) differs on {rust_std}",
        python.version,
        python.unicode,
        expected.len(),
        char::UNICODE_VERSION.0,
        char::UNICODE_VERSION.1,
        char::UNICODE_VERSION.2,
    ))
}

#[test]
fn upper_matches_every_interpreter_for_every_scalar_value() {
    let pythons = python3_interpreters();
    let handles: Vec<_> = pythons
        .into_iter()
        .map(|python| std::thread::spawn(move || compare(&python)))
        .collect();
    let mut failures = Vec::new();
    for handle in handles {
        match handle.join().expect("comparison thread panicked") {
            Ok(report) => eprintln!("{report}"),
            Err(failure) => failures.push(failure),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

//! One-sentence diagnoses: recognising the usual ways an implementation goes wrong.

use crate::proto::case::{upper_char, upper_str, UnicodeVersion};

/// A text transformation a server may apply instead of Python's `upper()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transform {
    /// `str.lower()`.
    Lower,
    /// `str.title()`.
    Title,
    /// `str.swapcase()`.
    SwapCase,
    /// Only `a`–`z` uppercased.
    AsciiUpper,
    /// One-to-one mapping: characters whose uppercase is longer stay as they are.
    Simple,
    /// Unchanged.
    Identity,
    /// Uppercase under another Unicode version.
    Version(UnicodeVersion),
}

impl Transform {
    /// Applies the transformation to `text`.
    pub fn apply(self, text: &str, reference: UnicodeVersion) -> String {
        match self {
            Transform::Lower => text.to_lowercase(),
            Transform::Title => {
                let mut out = String::new();
                let mut prev_cased = false;
                for c in text.chars() {
                    if prev_cased {
                        out.extend(c.to_lowercase());
                    } else {
                        out.extend(c.to_uppercase());
                    }
                    prev_cased = c.is_alphabetic();
                }
                out
            }
            Transform::SwapCase => text
                .chars()
                .flat_map(|c| {
                    let v: Vec<char> = if c.is_uppercase() {
                        c.to_lowercase().collect()
                    } else if c.is_lowercase() {
                        upper_char(c, reference).chars().collect()
                    } else {
                        vec![c]
                    };
                    v
                })
                .collect(),
            Transform::AsciiUpper => text.to_ascii_uppercase(),
            Transform::Simple => text
                .chars()
                .map(|c| {
                    let up: Vec<char> = upper_char(c, reference).chars().collect();
                    if up.len() == 1 {
                        up[0]
                    } else {
                        c
                    }
                })
                .collect(),
            Transform::Identity => text.to_string(),
            Transform::Version(v) => upper_str(text, v),
        }
    }

    fn sentence(self, reference: UnicodeVersion, python: &str) -> String {
        match self {
            Transform::Lower => "server lowercases instead of uppercasing".into(),
            Transform::Title => "server title-cases (capitalises each word) instead of uppercasing everything".into(),
            Transform::SwapCase => "server swaps case instead of uppercasing".into(),
            Transform::AsciiUpper => "server maps case with ASCII only: non-ASCII letters are left unchanged".into(),
            Transform::Simple => {
                "server uses one-to-one (simple) case mapping: characters such as ß must become two (SS)".into()
            }
            Transform::Identity => "server echoes the request without uppercasing it".into(),
            Transform::Version(v) => {
                let hint = v.python_hint().map(|h| format!(" (as {h})")).unwrap_or_default();
                format!("server follows Unicode {v}{hint}, the reference Python {python} follows {reference}")
            }
        }
    }
}

fn python_strip(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}

/// Escapes bytes for one-line messages.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\\' => out.push_str("\\\\"),
                c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

fn short(bytes: &[u8]) -> String {
    let e = escape(bytes);
    if e.chars().count() > 40 {
        format!("{}…", e.chars().take(40).collect::<String>())
    } else {
        e
    }
}

/// Receive-buffer sizes students use (the reference's 1024 for TCP and 2048 for UDP,
/// and the textbook's Java 1024); a reply of exactly one of these lengths that starts
/// with the expected reply is a whole buffer sent back.
const BUFFER_SIZES: [usize; 3] = [512, 1024, 2048];

/// Explains why a server's reply `actual` differs from the reference's `expected` for
/// `request`. Returns the sentence and, when a transformation explains it, the smallest
/// input showing the difference.
pub fn diagnose_reply(
    request: &[u8],
    expected: &[u8],
    actual: &[u8],
    reference: UnicodeVersion,
    python: &str,
) -> (String, Option<String>) {
    if actual.is_empty() && !expected.is_empty() {
        return ("server replied with nothing".into(), None);
    }
    if let Some(extra) = actual.strip_prefix(expected) {
        let what = match extra {
            b"\n" => "a trailing newline".to_string(),
            b"\r\n" => "a trailing \\r\\n".to_string(),
            _ if extra.iter().all(|&b| b == 0) => {
                format!("{} zero bytes (the unused part of its buffer)", extra.len())
            }
            // A reply exactly one buffer long: the server sent its whole receive buffer,
            // with what an earlier, longer request left in it after this one.
            _ if BUFFER_SIZES.contains(&actual.len()) => format!(
                "the rest of its {}-byte receive buffer after the reply (bytes an earlier request left there): `{}`",
                actual.len(),
                short(extra)
            ),
            _ => format!("`{}` after the reply", short(extra)),
        };
        return (
            format!(
                "server added {what}: expected `{}`, got `{}`",
                short(expected),
                short(actual)
            ),
            None,
        );
    }
    if let Some(prefix) = actual.strip_suffix(expected) {
        return (
            format!("server added a prefix `{}` before the reply", short(prefix)),
            None,
        );
    }
    if let Ok(text) = std::str::from_utf8(request) {
        let up = upper_str(text, reference);
        if up.strip_suffix('\r').map(str::as_bytes) == Some(actual) {
            return (
                "server dropped the `\\r` at the end of the request; the reference keeps it in the reply".into(),
                None,
            );
        }
        if python_strip(&up).as_bytes() == actual && up.as_bytes() != actual {
            return (
                "server stripped leading or trailing whitespace".into(),
                Some(" a ".into()),
            );
        }
        // Another Unicode version: name the range of versions that explain the reply.
        let matching: Vec<UnicodeVersion> = UnicodeVersion::supported()
            .iter()
            .copied()
            .filter(|&v| v != reference && upper_str(text, v).as_bytes() == actual)
            .collect();
        if let (Some(&lo), Some(&hi)) = (matching.first(), matching.last()) {
            let t = Transform::Version(lo);
            let mut sentence = t.sentence(reference, python);
            if hi != lo {
                sentence = sentence.replacen(&lo.to_string(), &format!("{lo}–{hi}"), 1);
            }
            let minimal = text
                .chars()
                .find(|c| upper_str(&c.to_string(), lo) != upper_str(&c.to_string(), reference));
            return (sentence, minimal.map(|c| c.to_string()));
        }
        // Where several transformations explain the reply, the narrowest wins.
        for t in [
            Transform::Simple,
            Transform::AsciiUpper,
            Transform::Title,
            Transform::SwapCase,
            Transform::Lower,
            Transform::Identity,
        ] {
            if t.apply(text, reference).as_bytes() == actual {
                // The smallest input: the first character the transformation gets wrong.
                let minimal = text.chars().find(|c| {
                    let s = c.to_string();
                    t.apply(&s, reference) != upper_str(&s, reference)
                });
                return (
                    t.sentence(reference, python),
                    minimal.map(|c| c.to_string()),
                );
            }
        }
    }
    let latin1: String = request.iter().map(|&b| b as char).collect();
    let latin1_up = upper_str(&latin1, reference);
    let latin1_back: Vec<u8> = latin1_up
        .chars()
        .map(|c| if (c as u32) < 256 { c as u8 } else { b'?' })
        .collect();
    if actual == latin1_up.as_bytes() || actual == latin1_back {
        return (
            "server decodes the request as Latin-1 instead of UTF-8".into(),
            Some("é".into()),
        );
    }
    if expected.starts_with(actual) {
        return (
            format!(
                "server's reply stops after {} of {} bytes: it reads or sends too little",
                actual.len(),
                expected.len()
            ),
            None,
        );
    }
    let at = expected
        .iter()
        .zip(actual)
        .position(|(a, b)| a != b)
        .unwrap_or(expected.len().min(actual.len()));
    (
        format!("server's reply differs from the reference's from byte {at}"),
        None,
    )
}

/// Explains why the bytes a client sent differ from what the reference client sends.
pub fn diagnose_request(expected: &[u8], actual: &[u8], reference: UnicodeVersion) -> String {
    if actual.is_empty() {
        return "client sent nothing".into();
    }
    if actual
        .strip_prefix(expected)
        .is_some_and(|rest| rest == b"\n" || rest == b"\r\n")
    {
        return "client sent the line with its trailing newline; the reference client strips it"
            .into();
    }
    if let Ok(text) = std::str::from_utf8(expected) {
        if upper_str(text, reference).as_bytes() == actual
            || text.to_uppercase().as_bytes() == actual
        {
            return "client uppercased the line before sending it".into();
        }
        if text.strip_suffix('\r').map(str::as_bytes) == Some(actual) {
            return "client dropped the `\\r` at the end of the line (it reads `\\r\\n` as the line's end); the reference client keeps it".into();
        }
        if python_strip(text).as_bytes() == actual {
            return "client stripped whitespace from the line before sending it".into();
        }
    }
    if expected.starts_with(actual) {
        return format!(
            "client sent only {} of the line's {} bytes",
            actual.len(),
            expected.len()
        );
    }
    format!(
        "client sent `{}`; the reference client sends `{}`",
        short(actual),
        short(expected)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const V: UnicodeVersion = UnicodeVersion {
        major: 14,
        minor: 0,
        update: 0,
    };

    fn reply(input: &str, actual: &str) -> String {
        diagnose_reply(
            input.as_bytes(),
            upper_str(input, V).as_bytes(),
            actual.as_bytes(),
            V,
            "3.11",
        )
        .0
    }

    #[test]
    fn recognises_the_usual_server_mistakes() {
        assert!(reply("hello", "HELLO\n").contains("trailing newline"));
        assert!(reply("hello", "OK: HELLO").contains("prefix"));
        assert!(reply("hello world", "Hello World").contains("title-cases"));
        assert!(reply("Hello", "hello").contains("lowercases"));
        assert!(reply("Hello", "hELLO").contains("swaps case"));
        assert!(reply("straße é", "STRAßE é").contains("ASCII only"));
        // Both readings explain this one; the narrower (simple mapping) is named.
        assert!(reply("straße", "STRAßE").contains("simple"));
        assert!(reply("ﬃ é", "ﬃ É").contains("simple"));
        assert!(reply(" a ", "A").contains("stripped"));
        assert!(reply("hello world", "HELLO").contains("stops after 5 of 11"));
    }

    #[test]
    fn recognises_a_whole_receive_buffer_with_an_earlier_requests_leftovers() {
        let mut leftover = "HELLO".to_string();
        leftover.push_str("OX JUMPS OVER THE LAZY DOG");
        leftover.extend(std::iter::repeat_n('\0', 1024 - leftover.len()));
        let said = reply("hello", &leftover);
        assert!(said.contains("1024-byte receive buffer"), "{said}");
        // Not every extra text is a buffer: one byte more than the reply is not.
        assert!(reply("hello", "HELLOX").contains("`X` after the reply"));
    }

    #[test]
    fn names_the_unicode_version_and_the_smallest_input() {
        let input = "a \u{19b} b";
        let newer = upper_str(input, "16.0".parse().unwrap());
        let (sentence, minimal) = diagnose_reply(
            input.as_bytes(),
            upper_str(input, V).as_bytes(),
            newer.as_bytes(),
            V,
            "3.11",
        );
        assert!(sentence.contains("Unicode 1"), "{sentence}");
        assert!(sentence.contains("follows 14.0.0"), "{sentence}");
        assert_eq!(minimal.as_deref(), Some("\u{19b}"));
    }

    #[test]
    fn recognises_latin1_decoding() {
        let input = "café";
        let wrong: String = input
            .bytes()
            .map(|b| b as char)
            .collect::<String>()
            .to_uppercase();
        assert!(reply(input, &wrong).contains("Latin-1"));
    }

    #[test]
    fn recognises_the_usual_client_mistakes() {
        assert!(diagnose_request(b"hi", b"hi\n", V).contains("newline"));
        assert!(diagnose_request(b"hi", b"HI", V).contains("uppercased"));
        assert!(diagnose_request(b" hi ", b"hi", V).contains("stripped"));
        assert!(diagnose_request(b"hi\r", b"hi", V).contains("dropped the `\\r`"));
        assert!(reply("hi\r", "HI").contains("dropped the `\\r`"));
        assert!(diagnose_request(b"hi", b"", V).contains("nothing"));
    }
}

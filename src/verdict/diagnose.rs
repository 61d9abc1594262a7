//! Diagnoses: recognising the usual ways an implementation goes wrong, as findings.
//! Pure: compares bytes, words nothing (the finding's sentence does).

use super::finding::{Added, ClientFinding, Encoding, Mapping, Normalization, ServerFinding};
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
                        // The reference's uppercase, not this Rust's Unicode version.
                        out.push_str(&upper_char(c, reference).to_string());
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

    /// The finding's name for this transformation; `None` for another Unicode version,
    /// which is a finding of its own.
    fn mapping(self) -> Option<Mapping> {
        match self {
            Transform::Lower => Some(Mapping::Lower),
            Transform::Title => Some(Mapping::Title),
            Transform::SwapCase => Some(Mapping::SwapCase),
            Transform::AsciiUpper => Some(Mapping::AsciiOnly),
            Transform::Simple => Some(Mapping::Simple),
            Transform::Identity => Some(Mapping::Identity),
            Transform::Version(_) => None,
        }
    }
}

fn python_strip(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}

/// Receive-buffer sizes students use (the reference's 1024 for TCP and 2048 for UDP,
/// and the textbook's Java 1024); a reply of exactly one of these lengths that starts
/// with the expected reply is a whole buffer sent back.
const BUFFER_SIZES: [usize; 3] = [512, 1024, 2048];

/// Explains why a server's reply `actual` differs from the reference's `expected` for
/// `request`. Returns the finding and, when a transformation explains it, the smallest
/// input showing the difference.
pub fn diagnose_reply(
    request: &[u8],
    expected: &[u8],
    actual: &[u8],
    reference: UnicodeVersion,
    runtime: &str,
) -> (ServerFinding, Option<String>) {
    if actual.is_empty() && !expected.is_empty() {
        return (ServerFinding::ReplyEmpty, None);
    }
    if let Some(encoding) = other_encoding(expected, actual) {
        return (ServerFinding::OtherEncoding { encoding }, None);
    }
    let request = taken(request, expected, reference);
    if let Some(extra) = actual.strip_prefix(expected) {
        let added = match extra {
            b"\n" => Added::Newline,
            b"\r\n" => Added::CrLf,
            _ if extra.iter().all(|&b| b == 0) => Added::Zeros {
                count: extra.len(),
                buffer: request.len() + extra.len(),
            },
            // A reply exactly one buffer long: the server sent its whole receive buffer,
            // with what an earlier, longer request left in it after this one.
            _ if BUFFER_SIZES.contains(&actual.len()) => Added::BufferRest {
                size: actual.len(),
                rest: extra.to_vec(),
            },
            _ => Added::Bytes {
                bytes: extra.to_vec(),
            },
        };
        let finding = ServerFinding::AddedAfter {
            added,
            expected: expected.to_vec(),
            actual: actual.to_vec(),
        };
        return (finding, None);
    }
    if let Some(prefix) = actual.strip_suffix(expected) {
        let prefix = prefix.to_vec();
        return (ServerFinding::AddedPrefix { prefix }, None);
    }
    // The reference answered with its whole buffer: the reply, then zero bytes.
    if let Some(rest) = expected.strip_prefix(actual) {
        if !actual.is_empty() && rest.iter().all(|&b| b == 0) {
            let (got, of) = (actual.len(), expected.len());
            return (ServerFinding::NoBufferRest { got, of }, None);
        }
    }
    if let Ok(text) = std::str::from_utf8(request) {
        if let Some(found) = diagnose_text(text, actual, reference, runtime) {
            return found;
        }
    }
    let latin1: String = request.iter().map(|&b| b as char).collect();
    let latin1_up = upper_str(&latin1, reference);
    let latin1_back: Vec<u8> = latin1_up
        .chars()
        .map(|c| if (c as u32) < 256 { c as u8 } else { b'?' })
        .collect();
    if actual == latin1_up.as_bytes() || actual == latin1_back {
        return (ServerFinding::Latin1, Some("é".into()));
    }
    if expected.starts_with(actual) {
        let (got, of) = (actual.len(), expected.len());
        return (ServerFinding::ReplyCut { got, of }, None);
    }
    let at = expected
        .iter()
        .zip(actual)
        .position(|(a, b)| a != b)
        .unwrap_or(expected.len().min(actual.len()));
    (ServerFinding::ReplyDiffers { at }, None)
}

/// The part of `request` the reference answered: all of it, or, for a request longer
/// than the reference's buffer, the start one read took (so that a reply to that start
/// is read like any other, an echo as an echo).
fn taken<'a>(request: &'a [u8], expected: &[u8], reference: UnicodeVersion) -> &'a [u8] {
    [expected.len(), 1024, 2048]
        .into_iter()
        .filter(|&n| n < request.len())
        .find(|&n| {
            std::str::from_utf8(&request[..n])
                .is_ok_and(|t| upper_str(t, reference).as_bytes() == expected)
        })
        .map_or(request, |n| &request[..n])
}

/// The encoding `actual` is in when it holds the text of `expected` (UTF-8) otherwise
/// than as UTF-8 alone: UTF-16 in either byte order, with or without a byte-order mark,
/// or UTF-8 after a two-byte length.
fn other_encoding(expected: &[u8], actual: &[u8]) -> Option<Encoding> {
    let text = std::str::from_utf8(expected).ok()?;
    let units: Vec<u16> = text.encode_utf16().collect();
    let be: Vec<u8> = units.iter().flat_map(|u| u.to_be_bytes()).collect();
    let le: Vec<u8> = units.iter().flat_map(|u| u.to_le_bytes()).collect();
    let with_bom = |bom: [u8; 2], body: &[u8]| actual.strip_prefix(&bom) == Some(body);
    if text.is_empty() {
        None
    } else if actual == be {
        Some(Encoding::Utf16Be)
    } else if actual == le {
        Some(Encoding::Utf16Le)
    } else if with_bom([0xfe, 0xff], &be) || with_bom([0xff, 0xfe], &le) {
        Some(Encoding::Utf16WithBom)
    } else if actual.len() == expected.len() + 2
        && actual[2..] == *expected
        && usize::from(u16::from_be_bytes([actual[0], actual[1]])) == expected.len()
    {
        Some(Encoding::LengthPrefixed)
    } else {
        None
    }
}

/// The readings of a reply to a request that is text: a dropped `\r`, stripped
/// whitespace, another Unicode version, another case mapping.
fn diagnose_text(
    text: &str,
    actual: &[u8],
    reference: UnicodeVersion,
    runtime: &str,
) -> Option<(ServerFinding, Option<String>)> {
    let up = upper_str(text, reference);
    if up.strip_suffix('\r').map(str::as_bytes) == Some(actual) {
        return Some((ServerFinding::DroppedCr, None));
    }
    if let Some(found) = normalization(text, &up, actual, reference) {
        return Some((found, None));
    }
    if python_strip(&up).as_bytes() == actual && up.as_bytes() != actual {
        return Some((ServerFinding::StrippedWhitespace, Some(" a ".into())));
    }
    // Another Unicode version: name the range of versions that explain the reply.
    let matching: Vec<UnicodeVersion> = UnicodeVersion::supported()
        .iter()
        .copied()
        .filter(|&v| v != reference && upper_str(text, v).as_bytes() == actual)
        .collect();
    if let (Some(&from), Some(&to)) = (matching.first(), matching.last()) {
        let minimal = text
            .chars()
            .find(|c| upper_str(&c.to_string(), from) != upper_str(&c.to_string(), reference));
        let finding = ServerFinding::OtherUnicode {
            from,
            to,
            reference,
            runtime: runtime.to_string(),
        };
        return Some((finding, minimal.map(|c| c.to_string())));
    }
    // Where several transformations explain the reply, the narrowest wins; an echo
    // before lowercasing, which explains a lowercase request's echo as well.
    [
        Transform::Simple,
        Transform::AsciiUpper,
        Transform::Title,
        Transform::SwapCase,
        Transform::Identity,
        Transform::Lower,
    ]
    .into_iter()
    .filter(|t| t.apply(text, reference).as_bytes() == actual)
    .find_map(|t| {
        let mapping = t.mapping()?;
        // The smallest input: the first character the transformation gets wrong.
        let minimal = text.chars().find(|c| {
            let s = c.to_string();
            t.apply(&s, reference) != upper_str(&s, reference)
        });
        Some((
            ServerFinding::CaseMapping { mapping },
            minimal.map(|c| c.to_string()),
        ))
    })
}

/// A dropped leading byte-order mark (decoding as `utf-8-sig`), or a Unicode
/// normalization applied before or after uppercasing: `up` is the reference's reply.
fn normalization(
    text: &str,
    up: &str,
    actual: &[u8],
    reference: UnicodeVersion,
) -> Option<ServerFinding> {
    if up.as_bytes() == actual {
        return None;
    }
    if let Some(rest) = up.strip_prefix('\u{feff}') {
        if rest.as_bytes() == actual {
            return Some(ServerFinding::DroppedByteOrderMark);
        }
    }
    Normalization::ALL.into_iter().find_map(|form| {
        let after = normalize(form, up);
        let before = upper_str(&normalize(form, text), reference);
        (after.as_bytes() == actual || before.as_bytes() == actual)
            .then_some(ServerFinding::Normalized { form })
    })
}

/// `text` in normalization form `form`.
fn normalize(form: Normalization, text: &str) -> String {
    use unicode_normalization::UnicodeNormalization as _;
    match form {
        Normalization::Nfc => text.nfc().collect(),
        Normalization::Nfd => text.nfd().collect(),
        Normalization::Nfkc => text.nfkc().collect(),
        Normalization::Nfkd => text.nfkd().collect(),
    }
}

/// Explains why the bytes a client sent differ from what the reference client sends.
pub fn diagnose_request(
    expected: &[u8],
    actual: &[u8],
    reference: UnicodeVersion,
) -> ClientFinding {
    if actual.is_empty() {
        return ClientFinding::SentNothing;
    }
    if actual
        .strip_prefix(expected)
        .is_some_and(|rest| rest == b"\n" || rest == b"\r\n")
    {
        return ClientFinding::SentNewline;
    }
    if expected
        .strip_prefix(actual)
        .is_some_and(|rest| rest == b"\n" || rest == b"\r\n")
    {
        return ClientFinding::SentNoNewline;
    }
    if let Ok(text) = std::str::from_utf8(expected) {
        if upper_str(text, reference).as_bytes() == actual
            || text.to_uppercase().as_bytes() == actual
        {
            return ClientFinding::SentUppercased;
        }
        if text.strip_suffix('\r').map(str::as_bytes) == Some(actual) {
            return ClientFinding::SentWithoutCr;
        }
        if python_strip(text).as_bytes() == actual {
            return ClientFinding::SentStripped;
        }
    }
    if expected.starts_with(actual) {
        return ClientFinding::SentPart {
            got: actual.len(),
            of: expected.len(),
        };
    }
    ClientFinding::SentOther {
        sent: actual.to_vec(),
        reference: expected.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_echo_of_a_request_longer_than_the_buffer_is_an_echo() {
        // 2049 bytes: the reference's recvfrom(2048) answers the first 2048.
        let request = "d".repeat(2049);
        let (found, _) = diagnose_reply(
            request.as_bytes(),
            "D".repeat(2048).as_bytes(),
            "d".repeat(2048).as_bytes(),
            UnicodeVersion::DEFAULT,
            "3.11",
        );
        assert_eq!(
            found,
            ServerFinding::CaseMapping {
                mapping: Mapping::Identity
            }
        );
    }

    #[test]
    fn a_whole_buffer_is_as_long_as_the_request_and_its_zeros_not_the_reply() {
        // 200 × ΐ is 400 bytes and uppercases to 1200: a 1024-byte buffer sent whole
        // after uppercasing in a string is 1200 + 624 bytes long.
        let request = "ΐ".repeat(200);
        let up = upper_str(&request, UnicodeVersion::DEFAULT);
        let mut actual = up.as_bytes().to_vec();
        actual.extend(std::iter::repeat_n(0u8, 1024 - request.len()));
        let (found, _) = diagnose_reply(
            request.as_bytes(),
            up.as_bytes(),
            &actual,
            UnicodeVersion::DEFAULT,
            "3.11",
        );
        let sentence = crate::verdict::Finding::Server(found.clone()).sentence();
        assert!(sentence.contains("1024-byte buffer"), "{sentence}");
        let ServerFinding::AddedAfter {
            added: Added::Zeros { count, buffer },
            ..
        } = found
        else {
            panic!("{found:?}")
        };
        assert_eq!((count, buffer), (624, 1024));
    }

    #[test]
    fn a_reply_in_utf16_or_after_a_length_is_an_encoding_not_an_added_prefix() {
        let v = UnicodeVersion::DEFAULT;
        let found = |expected: &str, actual: &[u8]| {
            let request = expected.to_lowercase();
            diagnose_reply(request.as_bytes(), expected.as_bytes(), actual, v, "3.11").0
        };
        let enc = |encoding| ServerFinding::OtherEncoding { encoding };
        // One character in UTF-16BE is `\0A`: the reply ends with the expected byte.
        assert_eq!(found("A", b"\0A"), enc(Encoding::Utf16Be));
        assert_eq!(found("HÉ", b"\0H\0\xc9"), enc(Encoding::Utf16Be));
        assert_eq!(found("HI", b"H\0I\0"), enc(Encoding::Utf16Le));
        assert_eq!(found("HI", b"\xfe\xff\0H\0I"), enc(Encoding::Utf16WithBom));
        assert_eq!(found("HI", b"\0\x02HI"), enc(Encoding::LengthPrefixed));
        // A prefix that is not a length stays a prefix.
        assert_eq!(
            found("HI", b"\0\x05HI"),
            ServerFinding::AddedPrefix {
                prefix: b"\0\x05".to_vec()
            }
        );
    }

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
        .to_string()
    }

    fn request(expected: &[u8], actual: &[u8]) -> String {
        diagnose_request(expected, actual, V).to_string()
    }

    fn finding(input: &str, actual: &str) -> ServerFinding {
        let expected = upper_str(input, V);
        diagnose_reply(
            input.as_bytes(),
            expected.as_bytes(),
            actual.as_bytes(),
            V,
            "3.11",
        )
        .0
    }

    #[test]
    fn recognises_normalization_and_a_dropped_byte_order_mark() {
        let nfd = "cafe\u{301}";
        let nfc = ServerFinding::Normalized {
            form: Normalization::Nfc,
        };
        assert_eq!(finding(nfd, "CAF\u{c9}"), nfc);
        let nfd_form = ServerFinding::Normalized {
            form: Normalization::Nfd,
        };
        assert_eq!(finding("caf\u{e9}", "CAFE\u{301}"), nfd_form);
        assert_eq!(
            finding("\u{feff}hi", "HI"),
            ServerFinding::DroppedByteOrderMark
        );
        // Dropping the first character of any other request is not a byte-order mark.
        assert_ne!(finding("xhi", "HI"), ServerFinding::DroppedByteOrderMark);
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
    fn the_reply_alone_against_a_reference_that_sends_its_whole_buffer() {
        let mut buffer = b"HELLO".to_vec();
        buffer.resize(1024, 0);
        let (finding, _) = diagnose_reply(b"hello", &buffer, b"HELLO", V, "3.11");
        assert_eq!(finding, ServerFinding::NoBufferRest { got: 5, of: 1024 });
        // A reply cut inside the text is not that.
        let (finding, _) = diagnose_reply(b"hello", &buffer, b"HEL", V, "3.11");
        assert_ne!(finding, ServerFinding::NoBufferRest { got: 3, of: 1024 });
    }

    #[test]
    fn a_line_without_the_newline_the_reference_client_sends() {
        assert_eq!(
            diagnose_request(b"hello\n", b"hello", V),
            ClientFinding::SentNoNewline
        );
        assert_eq!(
            diagnose_request(b"hello", b"hello\n", V),
            ClientFinding::SentNewline
        );
    }

    #[test]
    fn names_the_unicode_version_and_the_smallest_input() {
        let input = "a \u{19b} b";
        let newer = upper_str(input, "16.0".parse().unwrap());
        let (finding, minimal) = diagnose_reply(
            input.as_bytes(),
            upper_str(input, V).as_bytes(),
            newer.as_bytes(),
            V,
            "3.11",
        );
        let sentence = finding.to_string();
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
        assert!(request(b"hi", b"hi\n").contains("newline"));
        assert!(request(b"hi", b"HI").contains("uppercased"));
        assert!(request(b" hi ", b"hi").contains("stripped"));
        assert!(request(b"hi\r", b"hi").contains("dropped the `\\r`"));
        assert!(reply("hi\r", "HI").contains("dropped the `\\r`"));
        assert!(request(b"hi", b"").contains("nothing"));
    }
}

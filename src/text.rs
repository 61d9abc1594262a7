//! Text helpers every stage that words something shares: escaping bytes for one line,
//! and cutting long text short. One place, so every report escapes and clips alike.
//! Pure functions: no I/O, no knowledge of findings or reports.

/// Escapes bytes for one-line messages: `\n`, `\r`, `\t`, `\\`, other control
/// characters as `\u{…}`, bytes that are not UTF-8 as `\xNN`.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_escaped(&mut out, c);
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\\' => out.push_str("\\\\"),
        c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        c => out.push(c),
    }
}

/// How a clipped text says what it left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rest {
    /// Only `…`.
    Ellipsis,
    /// `… (N chars)`: the whole text's length in characters.
    TotalChars,
    /// `… (N more bytes)`: the bytes left out.
    MoreBytes,
}

/// `s` cut after `max` characters, saying what was left out as `rest` does; `s` itself
/// when it is short enough.
pub fn clip(s: &str, max: usize, rest: Rest) -> String {
    let Some((at, _)) = s.char_indices().nth(max) else {
        return s.to_string();
    };
    let kept = &s[..at];
    match rest {
        Rest::Ellipsis => format!("{kept}…"),
        Rest::TotalChars => format!("{kept}… ({} chars)", s.chars().count()),
        Rest::MoreBytes => format!("{kept}… ({} more bytes)", s.len() - at),
    }
}

/// Bytes escaped and cut after 40 characters: a quote inside a one-line diagnosis.
pub fn short(bytes: &[u8]) -> String {
    clip(&escape(bytes), 40, Rest::Ellipsis)
}

/// `bytes` escaped as [`escape`] does, cut after `max` characters with
/// `… (N bytes in all)`, never in the middle of an escape.
pub fn quote(bytes: &[u8], max: usize) -> String {
    let mut out = String::new();
    let mut shown = 0;
    let mut cut = false;
    let mut push = |piece: &str| -> bool {
        let n = piece.chars().count();
        if shown + n > max {
            cut = true;
            return false;
        }
        shown += n;
        out.push_str(piece);
        true
    };
    'outer: for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            let mut piece = String::new();
            push_escaped(&mut piece, c);
            if !push(&piece) {
                break 'outer;
            }
        }
        for &b in chunk.invalid() {
            if !push(&format!("\\x{b:02x}")) {
                break 'outer;
            }
        }
    }
    if cut {
        format!("{out}… ({} bytes in all)", bytes.len())
    } else {
        out
    }
}

/// Two byte strings quoted side by side, each cut after `max` characters, so that where
/// they differ shows: when the two quotes would read the same (the difference lies past
/// the cut, or in a character that looks like another, such as a no-break space), both
/// start a little before the first differing byte, and characters that look like a
/// space or like nothing are written as `\u{…}`.
pub fn quote_pair(expected: &[u8], actual: &[u8], max: usize) -> (String, String) {
    let plain = (quote(expected, max), quote(actual, max));
    if expected == actual || plain.0 != plain.1 && !looks_alike(&plain.0, &plain.1) {
        return plain;
    }
    let at = expected
        .iter()
        .zip(actual)
        .position(|(e, a)| e != a)
        .unwrap_or(expected.len().min(actual.len()));
    // A few characters of context before the difference, from a character boundary of
    // both (they agree up to `at`).
    let mut from = at.saturating_sub(12);
    while from > 0 && (expected.get(from).is_some_and(|b| b & 0xc0 == 0x80)) {
        from -= 1;
    }
    let window = |bytes: &[u8]| {
        let shown = reveal(&quote(&bytes[from.min(bytes.len())..], max));
        let lead = if from > 0 { "…" } else { "" };
        format!(
            "{lead}{shown} (first difference at byte {at}, {} bytes in all)",
            bytes.len()
        )
    };
    (window(expected), window(actual))
}

/// Whether two quotes differ only in characters that look alike (a space and a
/// no-break space, a zero-width character and nothing).
fn looks_alike(a: &str, b: &str) -> bool {
    a != b && reveal(a) != *a || reveal(b) != *b
}

/// `s` with characters that look like a space or like nothing written as `\u{…}`.
fn reveal(s: &str) -> String {
    let hidden = |c: char| {
        (c.is_whitespace() && c != ' ')
            || matches!(c, '\u{ad}' | '\u{200b}'..='\u{200d}' | '\u{2060}'..='\u{2064}' | '\u{feff}')
    };
    if !s.chars().any(hidden) {
        return s.to_string();
    }
    s.chars()
        .map(|c| {
            if hidden(c) {
                format!("\\u{{{:x}}}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Text shown to people from arbitrary bytes: [`escape`] (control
/// characters, invalid UTF-8 and backslashes escaped), then the characters it leaves
/// that XML 1.0 forbids or that would reorder or break the line (U+FFFE/U+FFFF,
/// bidirectional controls, line and paragraph separators) escaped the same way.
/// The result holds no control character, so it is safe in XML and on one line.
pub fn visible(bytes: &[u8]) -> String {
    let escaped = escape(bytes);
    if !escaped.chars().any(is_invisible) {
        return escaped;
    }
    let mut out = String::with_capacity(escaped.len() + 8);
    for c in escaped.chars() {
        if is_invisible(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Free text (diagnoses, ids, commands) made safe for one line of a report: control
/// characters and invisible direction marks as `\n` or `\u{…}`; backslashes stay as they
/// are, since such text is already escaped where it quotes bytes.
pub fn visible_str(s: &str) -> String {
    if !s.chars().any(|c| c.is_control() || is_invisible(c)) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || is_invisible(c) => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

/// Characters that are not control characters but would hide or reorder text when
/// shown: noncharacters, line and paragraph separators, direction marks and overrides.
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{fffe}' | '\u{ffff}' | '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}'
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{061c}')
}

/// `s` escaped for HTML element content and double-quoted attribute values (`&`, `<`,
/// `>`, `"`, `'`); make it visible first ([`visible_str`]) when it may hold control
/// characters.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Plain text for one line of Markdown (a table cell, a list item): made visible
/// ([`visible_str`]), HTML's `<`, `>` and `&` as entities, and every character Markdown
/// would read as syntax (emphasis, code, links, tables, headings) backslash-escaped, so
/// what a student wrote renders as the text it is and never as markup.
pub fn markdown_text(s: &str) -> String {
    let mut out = String::new();
    for c in visible_str(s).chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '~' | '!' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Text for a terminal, several lines allowed: every control character but the line
/// feed, and every invisible direction mark ([`is_invisible`]), shown as `\u{…}` (`\r`,
/// `\t`), so that nothing a student's program printed can move the cursor, recolour or
/// retitle the grader's terminal, or hide text.
pub fn terminal_text(s: &str) -> String {
    if !s
        .chars()
        .any(|c| (c.is_control() && c != '\n') || is_invisible(c))
    {
        return s.to_string();
    }
    s.split('\n')
        .map(visible_str)
        .collect::<Vec<_>>()
        .join("\n")
}

/// One CSV cell's text that no spreadsheet runs as a formula: text starting with `=`,
/// `+`, `-`, `@`, a tab or a carriage return gets a leading `'` (OWASP's advice for CSV
/// injection). Numbers such as `-1.5` are left as they are.
pub fn csv_inert(s: &str) -> String {
    let risky = s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && s.parse::<f64>().is_err() {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// The 1-based line of byte `offset` in `text` (a TOML error's span, say); past the
/// end counts as the last line.
pub fn line_at(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// 64-bit FNV-1a of `bytes`: the fingerprints of ids, corpora and scripts.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pair_of_quotes_that_would_read_the_same_shows_where_the_bytes_differ() {
        let expected = "B".repeat(100);
        let mut actual = expected.clone().into_bytes();
        actual[70] = b'b';
        // Cut at 60 characters, both would read `BBBB…`.
        assert_eq!(quote(expected.as_bytes(), 60), quote(&actual, 60));
        let (e, a) = quote_pair(expected.as_bytes(), &actual, 60);
        assert_ne!(e, a);
        assert!(a.starts_with("…BBBBBBBBBBBBb"), "{a}");
        assert!(
            a.contains("first difference at byte 70, 100 bytes in all"),
            "{a}"
        );
        // A no-break space for a space: written out where it hides.
        let (e, a) = quote_pair("A B".as_bytes(), "A\u{a0}B".as_bytes(), 60);
        assert_eq!(e, "A B (first difference at byte 1, 3 bytes in all)");
        assert_eq!(a, "A\\u{a0}B (first difference at byte 1, 4 bytes in all)");
        // Quotes that already differ stay as they are.
        assert_eq!(
            quote_pair(b"HELLO", b"hello", 60),
            ("HELLO".to_string(), "hello".to_string())
        );
    }

    #[test]
    fn escapes_controls_backslashes_and_invalid_bytes() {
        assert_eq!(escape(b"a\n\\\x07\xff"), "a\\n\\\\\\u{7}\\xff");
    }

    #[test]
    fn clips_by_characters_and_says_what_is_left_out() {
        assert_eq!(clip("ééé", 2, Rest::Ellipsis), "éé…");
        assert_eq!(clip("ééé", 2, Rest::TotalChars), "éé… (3 chars)");
        assert_eq!(clip("ééé", 2, Rest::MoreBytes), "éé… (2 more bytes)");
        assert_eq!(clip("éé", 2, Rest::MoreBytes), "éé");
    }

    #[test]
    fn quotes_never_split_an_escape() {
        assert_eq!(quote(&[b'a'; 100], 10), "aaaaaaaaaa… (100 bytes in all)");
        assert_eq!(quote(b"abcdefghi\n", 10), "abcdefghi… (10 bytes in all)");
        assert_eq!(quote(b"\xffok", 10), "\\xffok");
    }

    #[test]
    fn lines_count_from_one() {
        assert_eq!(line_at("a\nb\nc", 0), 1);
        assert_eq!(line_at("a\nb\nc", 2), 2);
        assert_eq!(line_at("a\nb\nc", 99), 3);
    }

    #[test]
    fn markdown_text_renders_as_text() {
        assert_eq!(
            markdown_text("</td><script>x_[y](z)|`\u{1b}"),
            "&lt;/td&gt;&lt;script&gt;x\\_\\[y\\](z)\\|\\`\\\\u{1b}"
        );
    }

    #[test]
    fn terminal_text_keeps_lines_and_shows_controls() {
        assert_eq!(
            terminal_text("a\u{1b}[2Jb\nc\rd\u{202e}\n"),
            "a\\u{1b}[2Jb\nc\\rd\\u{202e}\n"
        );
        assert_eq!(terminal_text("plain\nlines"), "plain\nlines");
    }

    #[test]
    fn csv_cells_never_start_a_formula() {
        assert_eq!(csv_inert("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        for risky in ["+1+2", "-cmd", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(csv_inert(risky), format!("'{risky}"));
        }
        assert_eq!(csv_inert("-1.5"), "-1.5");
        assert_eq!(csv_inert("python"), "python");
    }

    #[test]
    fn visible_text_shows_invisible_characters() {
        assert_eq!(visible_str("a\u{202e}b\n"), "a\\u{202e}b\\n");
        assert_eq!(visible_str("plain \\n"), "plain \\n");
    }
}

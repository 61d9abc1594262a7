//! The uppercase rule: Python's `str.upper()` for a chosen Unicode version.
//!
//! CPython uppercases one code point at a time, without context: an
//! unconditional entry of `SpecialCasing.txt` (one to three chars) wins,
//! otherwise the simple uppercase mapping of `UnicodeData.txt`, otherwise the
//! char itself. Language- and context-dependent entries are ignored. The
//! answer depends on the interpreter's `unicodedata.unidata_version`, so this
//! module carries the mapping of every [`UnicodeVersion::supported`] version in
//! a generated table (`case_data.rs`, from `tools/gen-case-table`).
//!
//! Lookups go through a per-version table built on first use: the 256-code-point
//! block of a char selects the few arithmetic ranges that touch it (none for
//! most blocks), then a binary search among those. ASCII never reaches the table.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

#[path = "case_data.rs"]
mod case_data;

use case_data::{FULL, RANGES, VERSIONS};

/// A Unicode version whose case-mapping data shout carries (`14.0` or `14.0.0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnicodeVersion {
    /// Major version.
    pub major: u8,
    /// Minor version.
    pub minor: u8,
    /// Update version.
    pub update: u8,
}

impl UnicodeVersion {
    /// The version used when none is given.
    pub const DEFAULT: UnicodeVersion = UnicodeVersion {
        major: 17,
        minor: 0,
        update: 0,
    };

    /// Every supported version, oldest first.
    pub fn supported() -> &'static [UnicodeVersion] {
        &VERSIONS
    }

    /// Whether this exact version has its own table.
    pub fn is_supported(self) -> bool {
        VERSIONS.contains(&self)
    }

    /// The CPython releases whose `unicodedata.unidata_version` is this version,
    /// e.g. `Some("3.9, 3.10")` for 13.0.0; `None` when no released CPython used it.
    pub fn python_hint(self) -> Option<&'static str> {
        match (self.major, self.minor, self.update) {
            (9, 0, 0) => Some("3.6"),
            (11, 0, 0) => Some("3.7"),
            (12, 1, 0) => Some("3.8"),
            (13, 0, 0) => Some("3.9, 3.10"),
            (14, 0, 0) => Some("3.11"),
            (15, 0, 0) => Some("3.12"),
            (15, 1, 0) => Some("3.13"),
            (16, 0, 0) => Some("3.14"),
            _ => None,
        }
    }

    /// `14.0` for `14.0.0`; the update number is kept when it is not zero.
    fn short(self) -> String {
        if self.update == 0 {
            format!("{}.{}", self.major, self.minor)
        } else {
            self.to_string()
        }
    }

    /// The table index for this version: the newest supported version not
    /// after it, or the oldest one for versions before every supported one.
    fn index(self) -> usize {
        VERSIONS.partition_point(|v| *v <= self).saturating_sub(1)
    }
}

impl Default for UnicodeVersion {
    fn default() -> Self {
        UnicodeVersion::DEFAULT
    }
}

impl fmt::Display for UnicodeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.update)
    }
}

/// An unknown or malformed Unicode version.
#[derive(Debug, thiserror::Error)]
#[error("unknown Unicode version `{given}`; supported: {supported}")]
pub struct UnknownVersion {
    /// What the user wrote.
    pub given: String,
    /// The supported versions, comma-separated.
    pub supported: String,
}

/// In results files a version is its text, `14.0.0`.
impl serde::Serialize for UnicodeVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for UnicodeVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<UnicodeVersion, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl FromStr for UnicodeVersion {
    type Err = UnknownVersion;

    /// Parses `14.0` or `14.0.0` (surrounding whitespace ignored); only
    /// supported versions are accepted.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let unknown = || UnknownVersion {
            given: s.to_string(),
            supported: VERSIONS
                .iter()
                .map(|v| v.short())
                .collect::<Vec<_>>()
                .join(", "),
        };
        let parts: Vec<&str> = s.trim().split('.').collect();
        if !(2..=3).contains(&parts.len()) {
            return Err(unknown());
        }
        let mut numbers = [0u8; 3];
        for (n, part) in numbers.iter_mut().zip(&parts) {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(unknown());
            }
            *n = part.parse().map_err(|_| unknown())?;
        }
        let version = UnicodeVersion {
            major: numbers[0],
            minor: numbers[1],
            update: numbers[2],
        };
        if version.is_supported() {
            Ok(version)
        } else {
            Err(unknown())
        }
    }
}

/// The uppercase of one char under some version: the char itself or its
/// mapping (one char, or two or three from `SpecialCasing.txt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Upper {
    /// A single char (the input itself when it has no mapping).
    One(char),
    /// Two or three chars.
    Many(&'static str),
}

impl Upper {
    /// Appends the uppercase to `out`.
    pub fn push_to(self, out: &mut String) {
        match self {
            Upper::One(c) => out.push(c),
            Upper::Many(s) => out.push_str(s),
        }
    }

    /// The chars of the uppercase, in order.
    pub fn chars(self) -> impl Iterator<Item = char> {
        let (one, many) = match self {
            Upper::One(c) => (Some(c), ""),
            Upper::Many(s) => (None, s),
        };
        one.into_iter().chain(many.chars())
    }
}

impl fmt::Display for Upper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Upper::One(c) => write!(f, "{c}"),
            Upper::Many(s) => f.write_str(s),
        }
    }
}

/// Where one table entry sends its code points.
#[derive(Debug, Clone, Copy)]
enum To {
    /// Add this to the code point.
    Delta(i32),
    /// Replace with these chars.
    Full(&'static str),
}

/// One arithmetic range of a version's table: `first + k * (mask + 1)` up to `last`.
#[derive(Debug, Clone, Copy)]
struct Entry {
    first: u32,
    last: u32,
    /// Stride minus one: 0 for every code point, 1 for every other one.
    mask: u32,
    to: To,
}

/// Number of 256-code-point blocks in the code space.
const BLOCKS: usize = 0x110000 >> 8;

/// One version's mapping, ready for lookups.
struct Table {
    /// Non-overlapping, sorted by `first`.
    entries: Vec<Entry>,
    /// Per 256-code-point block `b`, the slice `entries[start..end]` of the
    /// entries that touch it; empty for blocks without any mapping.
    blocks: Box<[(u16, u16)]>,
}

impl Table {
    fn build(index: usize) -> Table {
        let index = index as u8;
        let live = |since: u8, until: u8| since <= index && index < until;
        let mut entries: Vec<Entry> = RANGES
            .iter()
            .filter(|r| live(r.3, r.4))
            .map(|&(first, last, stride, _, _, delta)| {
                debug_assert!(stride == 1 || stride == 2);
                Entry {
                    first,
                    last,
                    mask: u32::from(stride) - 1,
                    to: To::Delta(delta),
                }
            })
            .chain(
                FULL.iter()
                    .filter(|f| live(f.1, f.2))
                    .map(|&(cp, _, _, s)| Entry {
                        first: cp,
                        last: cp,
                        mask: 0,
                        to: To::Full(s),
                    }),
            )
            .collect();
        entries.sort_by_key(|e| e.first);
        assert!(entries.len() <= usize::from(u16::MAX));
        let blocks = (0..BLOCKS as u32)
            .map(|b| {
                let (low, high) = (b << 8, (b << 8) | 0xFF);
                let start = entries.partition_point(|e| e.last < low);
                let end = entries.partition_point(|e| e.first <= high);
                (start as u16, end.max(start) as u16)
            })
            .collect();
        Table { entries, blocks }
    }

    #[inline]
    fn get(&self, cp: u32) -> Option<To> {
        let (start, end) = *self.blocks.get((cp >> 8) as usize)?;
        if start == end {
            return None;
        }
        let near = &self.entries[usize::from(start)..usize::from(end)];
        let i = near.partition_point(|e| e.first <= cp);
        let e = near.get(i.checked_sub(1)?)?;
        (cp <= e.last && (cp - e.first) & e.mask == 0).then_some(e.to)
    }

    #[inline]
    fn upper(&self, c: char) -> Upper {
        match self.get(u32::from(c)) {
            None => Upper::One(c),
            Some(To::Delta(d)) => {
                Upper::One(char::from_u32(u32::from(c).wrapping_add_signed(d)).unwrap_or(c))
            }
            Some(To::Full(s)) => Upper::Many(s),
        }
    }
}

/// The table of `version`, built on first use.
fn table(version: UnicodeVersion) -> &'static Table {
    static TABLES: [OnceLock<Table>; VERSIONS.len()] = [const { OnceLock::new() }; VERSIONS.len()];
    let index = version.index();
    TABLES[index].get_or_init(|| Table::build(index))
}

/// Python's `chr(c).upper()` under `version`.
///
/// A version that is not supported (the fields are public) is read as the
/// newest supported version before it, or the oldest supported one.
pub fn upper_char(c: char, version: UnicodeVersion) -> Upper {
    if c.is_ascii() {
        return Upper::One(c.to_ascii_uppercase());
    }
    table(version).upper(c)
}

/// Python's `str.upper()` under `version`.
///
/// A version that is not supported is read as in [`upper_char`].
pub fn upper_str(s: &str, version: UnicodeVersion) -> String {
    if s.is_ascii() {
        return s.to_ascii_uppercase();
    }
    let table = table(version);
    let mut out = String::with_capacity(s.len() + s.len() / 4);
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_uppercase());
        } else {
            table.upper(c).push_to(&mut out);
        }
    }
    out
}

/// The server's rule on raw bytes: valid UTF-8 runs uppercased with [`upper_str`],
/// invalid bytes passed through unchanged (Python's `surrogateescape` round trip).
pub fn upper_bytes(bytes: &[u8], version: UnicodeVersion) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.extend_from_slice(upper_str(chunk.valid(), version).as_bytes());
        out.extend_from_slice(chunk.invalid());
    }
    out
}

/// A server's answer to one request: the reply bytes and whether the request was valid
/// UTF-8 (where it was not, the reference server would have crashed).
#[derive(Debug, PartialEq, Eq)]
pub struct ServerReply<'a> {
    /// The uppercase of the request, by [`upper_str`] or, for invalid UTF-8, [`upper_bytes`].
    pub bytes: Cow<'a, [u8]>,
    /// Whether the request decoded as UTF-8; servers log the ones that did not.
    pub valid_utf8: bool,
}

/// The server's rule on a request in its receive buffer, validating the bytes once.
///
/// ASCII is uppercased in place and borrowed back, so the common request costs no
/// allocation; other valid UTF-8 goes through [`upper_str`], invalid bytes through
/// [`upper_bytes`]. The reply is the same as `upper_bytes(request, version)` in every case.
pub fn server_reply(request: &mut [u8], version: UnicodeVersion) -> ServerReply<'_> {
    if request.is_ascii() {
        request.make_ascii_uppercase();
        return ServerReply {
            bytes: Cow::Borrowed(request),
            valid_utf8: true,
        };
    }
    match std::str::from_utf8(request) {
        Ok(text) => ServerReply {
            bytes: Cow::Owned(upper_str(text, version).into_bytes()),
            valid_utf8: true,
        },
        Err(_) => ServerReply {
            bytes: Cow::Owned(upper_bytes(request, version)),
            valid_utf8: false,
        },
    }
}

/// The chars whose uppercase differs between versions `a` and `b`, ascending.
pub fn changed_between(a: UnicodeVersion, b: UnicodeVersion) -> Vec<char> {
    candidates()
        .filter(|&c| upper_char(c, a) != upper_char(c, b))
        .collect()
}

/// Every scalar value whose uppercase differs between any two supported
/// versions, ascending.
pub fn version_sensitive_chars() -> Vec<char> {
    candidates()
        .filter(|&c| !mapping_changes(c).is_empty())
        .collect()
}

/// The supported versions in which the uppercase of `c` changed, i.e. differs
/// from the previous supported version; empty when it is the same in all.
pub fn mapping_changes(c: char) -> Vec<UnicodeVersion> {
    VERSIONS
        .windows(2)
        .filter(|w| upper_char(c, w[0]) != upper_char(c, w[1]))
        .map(|w| w[1])
        .collect()
}

/// The chars of table entries that do not cover every version: the only ones
/// whose mapping can differ between versions. Ascending, without repeats.
fn candidates() -> impl Iterator<Item = char> {
    let all = VERSIONS.len() as u8;
    let partial = |since: u8, until: u8| since > 0 || until < all;
    let mut cps: Vec<u32> = RANGES
        .iter()
        .filter(|r| partial(r.3, r.4))
        .flat_map(|&(first, last, stride, ..)| (first..=last).step_by(usize::from(stride)))
        .chain(FULL.iter().filter(|f| partial(f.1, f.2)).map(|f| f.0))
        .collect();
    cps.sort_unstable();
    cps.dedup();
    cps.into_iter().filter_map(char::from_u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> UnicodeVersion {
        s.parse().unwrap()
    }

    #[test]
    fn default_is_the_newest_supported_version() {
        assert_eq!(UnicodeVersion::default(), UnicodeVersion::DEFAULT);
        assert_eq!(
            UnicodeVersion::supported().last(),
            Some(&UnicodeVersion::DEFAULT)
        );
        assert!(UnicodeVersion::supported().windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn supports_every_version_from_9_to_17() {
        let listed: Vec<String> = UnicodeVersion::supported()
            .iter()
            .map(|v| v.to_string())
            .collect();
        assert_eq!(
            listed,
            [
                "9.0.0", "10.0.0", "11.0.0", "12.0.0", "12.1.0", "13.0.0", "14.0.0", "15.0.0",
                "15.1.0", "16.0.0", "17.0.0"
            ]
        );
    }

    #[test]
    fn parses_two_and_three_part_versions() {
        let expected = UnicodeVersion {
            major: 14,
            minor: 0,
            update: 0,
        };
        assert_eq!(v("14.0"), expected);
        assert_eq!(v("14.0.0"), expected);
        assert_eq!(v(" 14.0 "), expected);
        assert_eq!(v("12.1").to_string(), "12.1.0");
        assert_eq!(v("17.0.0"), UnicodeVersion::DEFAULT);
        for version in UnicodeVersion::supported() {
            assert_eq!(v(&version.to_string()), *version);
        }
    }

    #[test]
    fn rejects_unknown_and_malformed_versions() {
        for bad in [
            "", "14", "14.", ".0", "14.0.0.0", "14.1", "8.0", "18.0", "12.0.1", "v14.0", "1a.0",
            "+14.0", "14.-0", "300.0",
        ] {
            let err = bad.parse::<UnicodeVersion>().unwrap_err();
            assert_eq!(err.given, bad);
            assert_eq!(
                err.supported,
                "9.0, 10.0, 11.0, 12.0, 12.1, 13.0, 14.0, 15.0, 15.1, 16.0, 17.0"
            );
        }
        let err = "14.2".parse::<UnicodeVersion>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown Unicode version `14.2`; supported: \
             9.0, 10.0, 11.0, 12.0, 12.1, 13.0, 14.0, 15.0, 15.1, 16.0, 17.0"
        );
    }

    #[test]
    fn python_hints() {
        assert_eq!(v("14.0").python_hint(), Some("3.11"));
        assert_eq!(v("13.0").python_hint(), Some("3.9, 3.10"));
        assert_eq!(v("10.0").python_hint(), None);
    }

    #[test]
    fn special_casing_expands() {
        for version in UnicodeVersion::supported() {
            assert_eq!(upper_str("straße", *version), "STRASSE");
            assert_eq!(upper_str("ŉ", *version), "\u{2BC}N");
            assert_eq!(upper_str("ﬃ", *version), "FFI");
            assert_eq!(upper_str("ΐ", *version), "\u{399}\u{308}\u{301}");
            assert_eq!(upper_str("ᾳ", *version), "ΑΙ");
            assert_eq!(upper_char('ß', *version), Upper::Many("SS"));
            assert_eq!(upper_char('ß', *version).to_string(), "SS");
            assert_eq!(upper_char('ß', *version).chars().collect::<String>(), "SS");
        }
    }

    #[test]
    fn conditional_special_casing_is_ignored() {
        // Turkish/Lithuanian rules do not apply: `i` is always `I`, `İ` stays.
        assert_eq!(upper_str("iİı", UnicodeVersion::DEFAULT), "Iİ\u{49}");
        // Final sigma only matters for lowercase.
        assert_eq!(upper_str("σς", UnicodeVersion::DEFAULT), "ΣΣ");
    }

    #[test]
    fn simple_mappings() {
        let d = UnicodeVersion::DEFAULT;
        assert_eq!(upper_str("héllo wörld ÿ", d), "HÉLLO WÖRLD Ÿ");
        assert_eq!(upper_str("µ", d), "\u{39C}");
        assert_eq!(upper_str("ǆ ǅ Ǆ", d), "Ǆ Ǆ Ǆ");
        assert_eq!(upper_str("ā ă ą", d), "Ā Ă Ą");
        assert_eq!(upper_str("Ā", d), "Ā");
        assert_eq!(upper_str("𐐨", d), "𐐀");
        assert_eq!(upper_str("日本語 😀", d), "日本語 😀");
        assert_eq!(upper_char('ſ', d), Upper::One('S'));
        assert_eq!(upper_char('\u{10FFFF}', d), Upper::One('\u{10FFFF}'));
    }

    #[test]
    fn mappings_added_in_16_0() {
        // U+019B LATIN SMALL LETTER LAMBDA WITH STROKE and U+0264 LATIN SMALL
        // LETTER RAMS HORN got capitals (U+A7DC, U+A7CB) in Unicode 16.0.
        for s in ["9.0", "12.1", "14.0", "15.0", "15.1"] {
            assert_eq!(upper_str("\u{19B}\u{264}", v(s)), "\u{19B}\u{264}", "{s}");
        }
        for s in ["16.0", "17.0"] {
            assert_eq!(upper_str("\u{19B}\u{264}", v(s)), "\u{A7DC}\u{A7CB}", "{s}");
        }
        assert_eq!(mapping_changes('\u{19B}'), [v("16.0")]);
        assert_eq!(mapping_changes('\u{264}'), [v("16.0")]);
        assert!(mapping_changes('a').is_empty());
        assert!(mapping_changes('ß').is_empty());
    }

    #[test]
    fn georgian_mkhedruli_uppercases_from_11_0() {
        assert_eq!(upper_str("ა", v("10.0")), "ა");
        assert_eq!(upper_str("ა", v("11.0")), "\u{1C90}");
        assert_eq!(mapping_changes('ა'), [v("11.0")]);
    }

    #[test]
    fn version_differences() {
        let counts: Vec<usize> = VERSIONS
            .windows(2)
            .map(|w| changed_between(w[0], w[1]).len())
            .collect();
        assert_eq!(counts, [0, 79, 7, 0, 3, 40, 0, 0, 27, 28]);
        let sensitive = version_sensitive_chars();
        assert_eq!(sensitive.len(), 184);
        assert!(sensitive.windows(2).all(|w| w[0] < w[1]));
        assert!(sensitive.contains(&'\u{19B}') && sensitive.contains(&'\u{264}'));
        assert!(!sensitive.contains(&'a'));
        for c in sensitive {
            assert!(!mapping_changes(c).is_empty(), "{c:?}");
        }
    }

    #[test]
    fn unsupported_versions_fall_back() {
        let between = UnicodeVersion {
            major: 15,
            minor: 2,
            update: 0,
        };
        assert_eq!(upper_str("\u{19B}", between), "\u{19B}");
        let old = UnicodeVersion {
            major: 8,
            minor: 0,
            update: 0,
        };
        assert_eq!(upper_str("ა", old), "ა");
        let future = UnicodeVersion {
            major: 99,
            minor: 0,
            update: 0,
        };
        assert_eq!(upper_str("\u{19B}", future), "\u{A7DC}");
        assert!(!future.is_supported());
    }

    #[test]
    fn ascii_fast_path() {
        for version in UnicodeVersion::supported() {
            assert_eq!(upper_str("", *version), "");
            assert_eq!(
                upper_str("hello, World! 123 ~\x7f\0", *version),
                "HELLO, WORLD! 123 ~\x7f\0"
            );
            for b in 0u8..0x80 {
                let c = char::from(b);
                assert_eq!(upper_char(c, *version), Upper::One(c.to_ascii_uppercase()));
                assert_eq!(table(*version).upper(c), Upper::One(c.to_ascii_uppercase()));
            }
        }
        let mixed = "abc ß xyz";
        assert_eq!(upper_str(mixed, UnicodeVersion::DEFAULT), "ABC SS XYZ");
    }

    #[test]
    fn upper_bytes_keeps_invalid_utf8() {
        let d = UnicodeVersion::DEFAULT;
        assert_eq!(upper_bytes(b"hello\n", d), b"HELLO\n");
        assert_eq!(upper_bytes(b"a\xffb\xc3", d), b"A\xffB\xc3");
        assert_eq!(upper_bytes(b"\xe2\x82", d), b"\xe2\x82");
        assert_eq!(
            upper_bytes("straße\u{80}".as_bytes(), d),
            "STRASSE\u{80}".as_bytes()
        );
        let mut bytes = "ß".as_bytes().to_vec();
        bytes.extend_from_slice(b"\xed\xa0\x80x"); // an encoded surrogate is invalid
        assert_eq!(upper_bytes(&bytes, d), b"SS\xed\xa0\x80X");
        assert_eq!(upper_bytes(b"", d), b"");
    }

    #[test]
    fn server_reply_equals_upper_bytes_and_flags_invalid_utf8() {
        let d = UnicodeVersion::DEFAULT;
        let cases: [&[u8]; 7] = [
            b"",
            b"hello world",
            "hello world, \u{c548}\u{b155} #1-2".as_bytes(),
            "stra\u{df}e \u{149}".as_bytes(),
            b"a\xffb\xc3",
            b"\xe2\x82",
            b"\xed\xa0\x80x",
        ];
        for case in cases {
            let mut buf = case.to_vec();
            let reply = server_reply(&mut buf, d);
            assert_eq!(reply.bytes, upper_bytes(case, d), "{case:?}");
            assert_eq!(
                reply.valid_utf8,
                std::str::from_utf8(case).is_ok(),
                "{case:?}"
            );
        }
        // ASCII is answered from the buffer itself, without a copy.
        let mut buf = b"abc".to_vec();
        assert!(matches!(
            server_reply(&mut buf, d).bytes,
            Cow::Borrowed(b"ABC")
        ));
    }

    #[test]
    fn matches_rust_std_for_the_toolchains_unicode_version() {
        // Rust's `char::to_uppercase` applies the same rule (unconditional
        // SpecialCasing, else the simple mapping) with the toolchain's data.
        let (major, minor, update) = char::UNICODE_VERSION;
        let std_version = UnicodeVersion {
            major,
            minor,
            update,
        };
        if !std_version.is_supported() {
            return;
        }
        let mut ours = String::new();
        let mut std = String::new();
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            ours.clear();
            upper_char(c, std_version).push_to(&mut ours);
            std.clear();
            std.extend(c.to_uppercase());
            assert_eq!(ours, std, "U+{:04X} under {std_version}", u32::from(c));
        }
    }

    #[test]
    fn tables_have_no_overlaps() {
        for (i, _) in VERSIONS.iter().enumerate() {
            let t = Table::build(i);
            assert!(t.entries.windows(2).all(|w| w[0].last < w[1].first));
        }
    }
}

//! The uppercase rule: Python's `str.upper()` for a chosen Unicode version.
//!
//! STUB: to be replaced by the generated-table implementation.

use std::fmt;
use std::str::FromStr;

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
    pub const DEFAULT: UnicodeVersion = UnicodeVersion { major: 17, minor: 0, update: 0 };

    /// Every supported version, oldest first.
    pub fn supported() -> &'static [UnicodeVersion] {
        &[UnicodeVersion::DEFAULT]
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

impl FromStr for UnicodeVersion {
    type Err = UnknownVersion;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let _ = s;
        Ok(UnicodeVersion::DEFAULT)
    }
}

/// Python's `str.upper()` under `version`.
pub fn upper_str(s: &str, version: UnicodeVersion) -> String {
    let _ = version;
    s.to_uppercase()
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

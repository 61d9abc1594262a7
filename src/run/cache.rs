//! The reference's own observations kept on disk between runs (`~/.cache/shout`): what a
//! cache file holds, the key it is valid for, and reading and writing it. A file is only
//! ever read back under exactly the key it was written with: the key names everything
//! that can change what the reference does (the interpreters, the reference's program
//! bytes, the corpus, the limits and shout itself). It stores and loads; it never runs a
//! unit and never decides which units may be reused (that is `reference`).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::observe::Observation;

/// The format of a cache file; a file of another format is ignored (and rewritten).
const FORMAT: u32 = 1;

/// Everything the reference's observations depend on, as named parts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheKey {
    parts: BTreeMap<String, String>,
}

impl CacheKey {
    /// Adds (or replaces) one part of the key.
    pub fn with(mut self, name: &str, value: impl Into<String>) -> CacheKey {
        self.parts.insert(name.to_string(), value.into());
        self
    }

    /// A short digest of the whole key, for the file name.
    pub fn digest(&self) -> String {
        let text = serde_json::to_vec(&self.parts).unwrap_or_default();
        format!("{:016x}", crate::text::fnv1a(&text))
    }

    /// The parts, by name.
    pub fn parts(&self) -> &BTreeMap<String, String> {
        &self.parts
    }
}

/// One reference unit's observation, as kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stored {
    /// What was observed.
    pub observation: Observation,
    /// Wall time of the unit when it ran.
    pub duration_ms: u64,
    /// Whether the observation was seen in two runs. Only an answer the reference did not
    /// give (a hang, a silent server) needs it: a busy machine can make the reference
    /// late once, and a late answer kept for good would make a case undefined for good.
    #[serde(default)]
    pub confirmed: bool,
}

/// A cache file's contents.
#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheFile {
    format: u32,
    key: CacheKey,
    units: BTreeMap<String, Stored>,
}

/// The platform's cache folder for shout: `$XDG_CACHE_HOME/shout`, else
/// `$HOME/.cache/shout`; none when neither is set.
pub fn default_dir() -> Option<PathBuf> {
    let from = |var: &str| {
        std::env::var_os(var)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    from("XDG_CACHE_HOME")
        .filter(|p| p.is_absolute())
        .or_else(|| from("HOME").map(|h| h.join(".cache")))
        .map(|d| d.join("shout"))
}

/// The file in `dir` that holds the observations for `key`.
pub fn file_for(dir: &Path, key: &CacheKey) -> PathBuf {
    dir.join(format!("reference-{}.json", key.digest()))
}

/// The observations kept in `dir` for exactly `key`; none when there is no such file,
/// or it is unreadable, of another format or written for another key.
pub fn load(dir: &Path, key: &CacheKey) -> BTreeMap<String, Stored> {
    let Ok(bytes) = std::fs::read(file_for(dir, key)) else {
        return BTreeMap::new();
    };
    match serde_json::from_slice::<CacheFile>(&bytes) {
        Ok(file) if file.format == FORMAT && file.key == *key => file.units,
        _ => BTreeMap::new(),
    }
}

/// Writes `units` as the observations for `key` in `dir`, atomically: a concurrent run
/// reads either the old file or the new one, never half of one.
pub fn save(dir: &Path, key: &CacheKey, units: &BTreeMap<String, Stored>) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let file = CacheFile {
        format: FORMAT,
        key: key.clone(),
        units: units.clone(),
    };
    let bytes = serde_json::to_vec(&file).map_err(std::io::Error::other)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(&bytes)?;
    tmp.persist(file_for(dir, key)).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::observe::Reply;
    use crate::run::testing::server_probe;

    fn stored(reply: Reply) -> Stored {
        Stored {
            observation: server_probe(reply),
            duration_ms: 7,
            confirmed: false,
        }
    }

    fn key() -> CacheKey {
        CacheKey::default()
            .with("shout", "0.1.0")
            .with("corpus", "abc")
    }

    #[test]
    fn what_is_saved_under_a_key_loads_back_under_that_key_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut units = BTreeMap::new();
        units.insert(
            "udp::probe-client::python-server::hello".to_string(),
            stored(Reply::Nothing),
        );
        save(dir.path(), &key(), &units).unwrap();
        assert_eq!(load(dir.path(), &key()), units);
        for other in [
            key().with("corpus", "abd"),
            key().with("shout", "0.1.1"),
            key().with("interpreter", "/usr/bin/python3"),
        ] {
            assert_ne!(other.digest(), key().digest());
            assert!(load(dir.path(), &other).is_empty());
        }
    }

    #[test]
    fn a_file_written_for_another_key_under_the_same_name_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let mut units = BTreeMap::new();
        units.insert("x".to_string(), stored(Reply::Refused));
        save(dir.path(), &key().with("corpus", "other"), &units).unwrap();
        // The same file name, as if two keys had the same digest.
        std::fs::rename(
            file_for(dir.path(), &key().with("corpus", "other")),
            file_for(dir.path(), &key()),
        )
        .unwrap();
        assert!(load(dir.path(), &key()).is_empty());
    }

    #[test]
    fn a_damaged_or_missing_file_is_an_empty_cache() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load(dir.path(), &key()).is_empty());
        std::fs::write(file_for(dir.path(), &key()), b"{not json").unwrap();
        assert!(load(dir.path(), &key()).is_empty());
    }
}

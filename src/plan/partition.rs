//! Sharding: `count:K/N` takes every N-th unit starting at the K-th; `hash:K/N` takes the
//! units whose id hashes to K-1 modulo N. Same meaning as nextest's.
//!
//! The hash is [`shard_hash`]: 64-bit FNV-1a over the unit id's UTF-8 bytes, then
//! MurmurHash3's `fmix64` finalizer (FNV-1a alone keeps its low bits poorly mixed: with
//! N = 2 every id of one shape lands in one shard). Fixed and documented, never
//! `DefaultHasher` (which may change between Rust releases).

use std::str::FromStr;

use super::units::Unit;

/// A shard of the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partition {
    /// The K-th of N shards by position (1-based K).
    Count {
        /// This shard, 1-based.
        shard: u64,
        /// How many shards.
        total: u64,
    },
    /// The K-th of N shards by hash of the unit id (1-based K).
    Hash {
        /// This shard, 1-based.
        shard: u64,
        /// How many shards.
        total: u64,
    },
}

/// A `--partition` value that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error(
    "invalid partition `{given}`: {reason}; expected `count:K/N` or `hash:K/N` with 1 <= K <= N"
)]
pub struct PartitionError {
    given: String,
    reason: String,
}

impl FromStr for Partition {
    type Err = PartitionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason: &str| PartitionError {
            given: s.to_string(),
            reason: reason.into(),
        };
        let (kind, rest) = s.split_once(':').ok_or_else(|| err("missing `:`"))?;
        let (k, n) = rest.split_once('/').ok_or_else(|| err("missing `/`"))?;
        let shard: u64 = k.parse().map_err(|_| err("K is not a number"))?;
        let total: u64 = n.parse().map_err(|_| err("N is not a number"))?;
        if shard == 0 || total == 0 || shard > total {
            return Err(err("K must be between 1 and N"));
        }
        match kind {
            "count" => Ok(Partition::Count { shard, total }),
            "hash" => Ok(Partition::Hash { shard, total }),
            _ => Err(err("unknown kind")),
        }
    }
}

impl std::fmt::Display for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Partition::Count { shard, total } => write!(f, "count:{shard}/{total}"),
            Partition::Hash { shard, total } => write!(f, "hash:{shard}/{total}"),
        }
    }
}

pub use crate::text::fnv1a;

/// MurmurHash3's 64-bit finalizer: every input bit affects every output bit.
pub fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// The hash `hash:K/N` uses: a unit belongs to shard `shard_hash(id) % N + 1`.
pub fn shard_hash(id: &str) -> u64 {
    fmix64(fnv1a(id.as_bytes()))
}

/// In results files a partition is its text, `hash:2/4`.
impl serde::Serialize for Partition {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Partition {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Partition, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Partition {
    /// Whether the unit at `index` (in plan order) with `id` belongs to this shard.
    pub fn contains(&self, index: usize, id: &str) -> bool {
        match *self {
            Partition::Count { shard, total } => (index as u64) % total == shard - 1,
            Partition::Hash { shard, total } => shard_hash(id) % total == shard - 1,
        }
    }

    /// Keeps this shard's units.
    pub fn apply(&self, units: Vec<Unit>) -> Vec<Unit> {
        units
            .into_iter()
            .enumerate()
            .filter(|(i, u)| self.contains(*i, &u.id))
            .map(|(_, u)| u)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        assert_eq!(
            "count:1/2".parse::<Partition>().unwrap(),
            Partition::Count { shard: 1, total: 2 }
        );
        assert_eq!(
            "hash:3/3".parse::<Partition>().unwrap().to_string(),
            "hash:3/3"
        );
        for bad in ["count:0/2", "count:3/2", "hash:1", "slice:1/2", "count:a/2"] {
            assert!(bad.parse::<Partition>().is_err(), "{bad}");
        }
    }

    #[test]
    fn shards_cover_every_unit_exactly_once() {
        let ids: Vec<String> = (0..100)
            .map(|i| format!("udp::a-client::b-server::case-{i}"))
            .collect();
        for kind in ["count", "hash"] {
            let mut seen = vec![0; ids.len()];
            for k in 1..=3 {
                let p: Partition = format!("{kind}:{k}/3").parse().unwrap();
                for (i, id) in ids.iter().enumerate() {
                    if p.contains(i, id) {
                        seen[i] += 1;
                    }
                }
            }
            assert!(seen.iter().all(|&n| n == 1), "{kind}");
        }
    }

    #[test]
    fn the_hash_is_the_documented_function() {
        assert_eq!(fnv1a(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fmix64(0), 0);
        assert_eq!(shard_hash("a"), fmix64(0xaf63dc4c8601ec8c));
    }

    #[test]
    fn hash_shards_of_two_are_balanced_for_ids_of_one_shape() {
        // FNV-1a alone puts all of these in one shard.
        let ids: Vec<String> = (0..200)
            .map(|i| format!("udp::python-client::x{i}-server::hello"))
            .collect();
        let first = ids.iter().filter(|id| shard_hash(id) % 2 == 0).count();
        assert!((70..=130).contains(&first), "{first} of 200 in shard 1");
    }
}

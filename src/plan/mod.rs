//! The plan: pure and deterministic. Which units run (transport × client × server ×
//! case, plus the probes of each side), in a fixed order, filtered and partitioned.

mod partition;
mod units;

pub use partition::{fmix64, fnv1a, shard_hash, Partition, PartitionError};
pub use units::{
    build, glob, graded, is_glob, with_support, CaseGroup, Filters, Side, Unit, UnitKind, PROBE,
};

//! The plan: pure and deterministic. Which units run (transport × client × server ×
//! case, plus the probes of each side), in a fixed order, filtered and partitioned.

mod partition;
mod units;

pub use partition::{fnv1a, Partition, PartitionError};
pub use units::{build, Filters, Side, Unit, UnitKind, PROBE};

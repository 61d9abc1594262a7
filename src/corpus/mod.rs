//! The case corpus as validated data: `cases.toml` (embedded in the binary) plus the
//! generated `unicode` cases, one per step between supported Unicode versions.

mod model;

pub use model::{load, Applies, Case, Category, CorpusError, Grading, Input, Load, Timing};

//! shout's integration tests: one binary, one module per area, real binaries and real reference scripts.

mod case_table;
mod grading;
mod harness;
mod layers;
mod pairings;
mod protocol;
mod reports;
mod robustness;
mod roles;
mod support;
mod sweep;

//! shout: a cross-language conformance harness for the textbook's UDP/TCP uppercase protocol.
//!
//! # Layout
//!
//! Data flows one way; a module imports only those listed before it (a test in
//! `tests/cli/layers.rs` holds the code to this):
//!
//! - [`text`]: escaping bytes for one line and clipping long text: one place for all.
//! - [`proto`]: the reference protocol: the uppercase rule (Python's `str.upper()` per
//!   Unicode version), the UDP/TCP exchanges on sockets the caller binds, and what the
//!   reference scripts print.
//! - [`roles`]: the four roles as programs (`shout udp-server` …), drop-in equivalents of
//!   the reference scripts.
//! - [`registry`] → [`corpus`] → [`plan`]: implementations, cases and the units to run,
//!   as validated data.
//! - [`run`]: the one module that owns child processes: spawning and confining them
//!   (the sandbox), scheduling lanes, each server's lifecycle, the harness playing the
//!   peer, ports and readiness; it returns observations.
//! - [`verdict`]: observations against the reference's: a verdict, the side at fault
//!   and a typed [`verdict::Finding`], worded once (`verdict::Finding::sentence`).
//! - [`results`]: the versioned record every reader uses (findings and their sentences).
//! - [`expectations`]: known failures, turned into `xfail`/`xpass`.
//! - [`report`]: one file per format; [`output`]: where reports go (stdout, stderr or a
//!   file), every target checked before a run, every report written after it.
//! - [`harness`]: strings registry → … → results together for `matrix`, `check` and
//!   the `cargo test` matrix.
//! - [`grade`]: grading submissions: detection, the rubric, the student's wording of
//!   findings, the pipeline (which asks [`run`] for every process) and the gradebook.

pub mod corpus;
pub mod expectations;
pub mod grade;
pub mod harness;
pub mod output;
pub mod plan;
pub mod proto;
pub mod registry;
pub mod report;
pub mod results;
pub mod roles;
pub mod run;
pub mod text;
pub mod verdict;

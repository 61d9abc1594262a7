//! shout: a cross-language conformance harness for the textbook's UDP/TCP uppercase protocol.
//!
//! # Layout
//!
//! - [`proto`]: the reference protocol: the uppercase rule (Python's `str.upper()` per
//!   Unicode version) and the UDP/TCP exchanges on sockets the caller binds.
//! - [`roles`]: the four roles as programs (`shout udp-server` …), drop-in equivalents of
//!   the reference scripts.
//! - [`registry`] → [`corpus`] → [`plan`] → [`run`] → [`verdict`] → [`results`] →
//!   [`report`]: the harness, data flowing one way; [`harness`] strings the stages
//!   together. [`run`] holds child processes in their own groups with capped capture,
//!   the relay, and ports: leasing them and seeing when a server has bound one.
//! - [`output`]: where reports go (stdout, stderr or a file): every target checked
//!   before a run, every report written after it.
//! - [`expectations`]: known failures, turned into `xfail`/`xpass`.
//! - [`grade`]: grading student submissions: detection, the sandbox, the pipeline and
//!   the gradebook.

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

//! Reporters: each turns [`crate::results::Results`] into bytes for one audience.
//!
//! - [`terminal`]: matrices and failures for a person at a terminal.
//! - [`json`]: the results themselves, for machines and for `merge`.
//! - [`junit`]: JUnit XML for CI test views (GitLab, Jenkins).
//! - [`markdown`]: a compact summary for GitHub step summaries and comments; also the
//!   matrix tally and byte excerpts the other reports share.
//! - [`html`]: one self-contained page with clickable matrices and every case.

pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod terminal;

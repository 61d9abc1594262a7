//! The gradebook: each submission's results turned into points per role and category
//! under a [`Rubric`](crate::grade::rubric::Rubric), written as Gradescope `results.json` files and as the class's
//! CSV and Markdown tables and its HTML page.
//!
//! Scoring: a role's units are the ones where the submission plays that role (a server
//! role: every pairing it serves and every server probe; a client role: every pairing
//! it runs in and every client probe). Within a role × category bucket the points are
//! earned in proportion to the units that pass. `info` (the reference has no defined
//! answer) and `skip` (not run) units count neither way, and neither does a failure the
//! harness puts on the other side (a pairing of the student's own client and server
//! where only the client is wrong costs the server nothing). `xfail` counts as a
//! failure and `xpass` as a pass. A bucket with units but none that count is worth its
//! full points when the reference had no answer for any of them, and 0 when none ran.
//! A role with a problem (missing, toolchain, build failure) scores 0 in every bucket,
//! with the problem as the reason.
//!
//! Pure: it reads results and writes files, never starts a process.

mod class;
mod class_html;
mod gradescope;
#[cfg(test)]
mod not_graded_tests;
mod score;
mod student;
mod taught;
#[cfg(test)]
mod tests;
mod validate;

pub use class::{class_csv, class_markdown, write_all};
pub use class_html::class_html;
pub use gradescope::gradescope;
pub use score::{
    buckets, counts_for, first_problem, machine_too_busy, max_of, points_text, role_score, total,
    Bucket, Graded,
};
pub use student::student_text;
pub use taught::{taught_otherwise, TaughtOtherwise};
pub use validate::validate_gradescope;

//! Grading student submissions: folders of unmodified code in any language, one folder
//! per student.
//!
//! - [`detect`]: reads a folder and says which file plays which role, how to build and
//!   run it, and the port and server name it hardcodes. It never runs anything.
//! - [`rubric`]: points per role and category, client-output comparison and test
//!   visibility, from TOML or the defaults.
//! - [`explain`]: the sentences a student reads: each finding retold from their side,
//!   and the problems that stop a role from being graded.
//! - `candidates`: a role two files play, when the code cannot say which is meant:
//!   both graded, the better kept.
//! - [`pipeline`]: each submission detected, then copied, built and run against the
//!   reference and shout's own roles, confined, by [`crate::run`]: grading starts no
//!   process or thread itself.
//! - `hosts`: the servers clients name, as host names for the private `/etc/hosts` and
//!   addresses for each private network's loopback interface.
//! - `runnable`: what a detected submission runs as (commands, builds, environment,
//!   interpreters and toolchains resolved), or why it cannot run here.
//! - `unusable`: a submission that cannot be copied (too large, unreadable) as the
//!   problem its grade states.
//! - [`gradebook`]: results turned into scores, Gradescope `results.json`, and the
//!   class's CSV and Markdown tables.

mod candidates;
pub mod detect;
pub mod explain;
pub mod gradebook;
mod hosts;
pub mod pipeline;
pub mod rubric;
mod runnable;
mod unusable;

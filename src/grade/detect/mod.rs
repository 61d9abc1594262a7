//! Finding the roles in a student's folder by reading its files: which file plays which
//! role, in which language, how to build and run it, and the port and server name it
//! hardcodes.
//!
//! Detection is pure: it reads files and never runs, builds or connects anything, and it
//! never looks at `PATH` (only [`missing_toolchain`] does). File names are hints only:
//! students misspell them and misname files. A role comes from what the code does, and
//! the file name decides only when the code says nothing. `mod.rs` only re-exports.
//!
//! - `submission`: [`detect`], the entry point; `model`: what it returns.
//! - `sources`: which files are read, and their text without comments.
//! - `features`: what one file's code does, per language (`pattern`: each regex compiled
//!   once).
//! - `commands`: the build and run commands for one file (a Java package as a whole).
//! - `roles`: the roles each file plays and the interpreter of each Python file, with
//!   the notes a grader reads; `choose`: one file per role when several play it.
//! - `language`: the [`Language`]s recognized.
//! - `toolchain`: the programs this machine lacks ([`MissingToolchain`]).

mod choose;
mod class_folder;
mod commands;
mod features;
mod language;
mod model;
mod pattern;
mod roles;
mod sources;
mod submission;
mod toolchain;

#[cfg(test)]
mod env_tests;
#[cfg(test)]
mod shape_tests;
#[cfg(test)]
mod tests;

pub use class_folder::submissions_inside;
pub use language::Language;
pub use model::{DetectError, FoundRole, ManifestSubmission, Sources, Submission, MANIFEST_FILE};
pub use submission::{detect, submission_name};
pub use toolchain::{missing_toolchain, MissingProgram, MissingToolchain, NeededBy};

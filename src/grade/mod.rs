//! Grading student submissions: folders of unmodified code in any language, one folder
//! per student.
//!
//! - [`detect`]: reads a folder and says which file plays which role, how to build and
//!   run it, and the port and server name it hardcodes. It never runs anything.

pub mod detect;
pub mod sandbox;

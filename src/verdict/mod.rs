//! Verdicts: the pure comparison of observations against the reference's, with a
//! diagnosis and the side at fault. Never starts a process.

mod diagnose;
mod judge;
mod model;

pub use diagnose::{diagnose_reply, diagnose_request, escape, Transform};
pub use judge::{judge, Context, Judged};
pub use model::{Fault, Verdict, PROGRAM_MISSING, RUN_TIMED_OUT};

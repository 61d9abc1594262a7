//! Verdicts: the pure comparison of observations against the reference's, with a typed
//! finding and the side at fault. Never starts a process and never parses text.

mod compare;
mod diagnose;
mod ending;
mod finding;
mod judge;
mod load;
mod model;
mod non_strict;
mod pairing;
mod probes;
mod sentence;
mod settle;
mod timing;

pub use compare::{Context, Judged};
pub use diagnose::{diagnose_reply, diagnose_request, Transform};
pub use finding::{
    Added, ClientFinding, Completeness, Encoding, Finding, Mapping, Normalization,
    ReferenceFinding, ReferenceServer, ReferenceSide, RunFinding, ServerFinding,
};
pub use judge::judge;
pub use model::{Fault, Verdict};

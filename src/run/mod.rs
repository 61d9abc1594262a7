//! The one module that owns child processes and ports: spawn, capture, readiness, kill.
//! It never prints and never judges: it emits events and returns observations.
//!
//! Layout of the run stage, leaves first (a file imports only those above it):
//! - [`wire`], [`launch`], [`process`], [`observe`]: transcripts, starting a child without
//!   copying the harness, child processes, observations.
//! - `sockdiag`, [`ports`], [`ready`]: the kernel's socket tables, leased ports, readiness.
//! - [`relay`], `peer`: the recording relay; the harness playing client or server.
//! - `options`, [`cache`], `context`, `build`: a run's inputs and outputs, the reference's
//!   observations kept on disk, shared lookups, builds.
//! - `reference`, `stuck`, `pulse`, `turns`, `gate`, `shared`: the named policies lanes
//!   share (`pulse`: how busy the machine is right now).
//! - `server`, `pairing`, `load`, `timing`, `probes`: one server's lifecycle; the three
//!   kinds of unit, with the load and timing cases' arrangements.
//! - `lane`, `schedule`, [`execute`]: a lane's units in order; lanes on threads; the entry.
//! - [`sandbox`]: confinement of untrusted programs (users, limits, cgroups, namespaces,
//!   a private hosts file, work folders), asked for by `grade`.
//! - [`interpreter`], [`rust_toolchain`], [`build_steps`], [`worker_pool`]: what grading
//!   asks run to do: find and probe interpreters, make a Rust toolchain reachable, run a
//!   submission's build steps in order, grade submissions side by side.

mod build;
pub mod build_steps;
pub mod cache;
mod context;
pub mod execute;
mod gate;
pub mod interpreter;
mod lane;
pub mod launch;
mod load;
pub mod observe;
mod options;
mod pairing;
mod peer;
pub mod ports;
mod probes;
pub mod process;
mod pulse;
pub mod ready;
mod reference;
pub mod relay;
pub mod rust_toolchain;
pub mod sandbox;
mod schedule;
mod server;
mod shared;
mod sockdiag;
mod stuck;
#[cfg(test)]
pub(crate) mod testing;
mod timing;
mod turns;
pub mod wire;
pub mod worker_pool;

pub use peer::MARKER;

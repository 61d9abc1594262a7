//! The one module that owns child processes and ports: spawn, capture, readiness, kill.
//! It never prints and never judges: it emits events and returns observations.
//!
//! Layout of the run stage, leaves first (a file imports only those above it):
//! - [`wire`], [`process`], [`observe`]: transcripts, child processes, observations.
//! - `sockdiag`, [`ports`], [`ready`]: the kernel's socket tables, leased ports, readiness.
//! - [`relay`], `peer`: the recording relay; the harness playing client or server.
//! - `options`, `context`, `build`: a run's inputs and outputs, shared lookups, builds.
//! - `reference`, `stuck`, `turns`, `gate`, `shared`: the named policies lanes share.
//! - `server`, `pairing`, `probes`: one server's lifecycle; the three kinds of unit.
//! - `lane`, `schedule`, [`execute`]: a lane's units in order; lanes on threads; the entry.

mod build;
mod context;
pub mod execute;
mod gate;
mod lane;
pub mod observe;
mod options;
mod pairing;
mod peer;
pub mod ports;
mod probes;
pub mod process;
pub mod ready;
mod reference;
pub mod relay;
mod schedule;
mod server;
mod shared;
mod sockdiag;
mod stuck;
#[cfg(test)]
mod testing;
mod turns;
pub mod wire;

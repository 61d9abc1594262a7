//! The one module that owns child processes and ports: spawn, capture, readiness, kill.

pub mod execute;
pub mod observe;
pub mod ports;
pub mod process;
pub mod ready;
pub mod relay;
pub mod sandbox;
mod sockdiag;
pub mod wire;

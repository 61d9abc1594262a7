//! The one module that owns child processes and ports: spawn, capture, readiness, kill.

pub mod ports;
pub mod process;
pub mod ready;

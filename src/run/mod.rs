//! The one module that owns child processes and ports: spawn, capture, readiness, kill.

pub mod build_steps;
pub mod execute;
pub mod interpreter;
pub mod observe;
pub mod ports;
pub mod process;
pub mod ready;
pub mod relay;
pub mod sandbox;
mod sockdiag;
pub mod wire;
pub mod worker_pool;

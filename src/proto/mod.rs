//! The reference protocol: the uppercase rule and the UDP/TCP exchanges on given sockets.

pub mod case;
pub mod tcp;
pub mod udp;

pub use case::{upper_bytes, upper_str, UnicodeVersion};

/// Where servers send their one-line diagnostics (stderr in the binaries, a buffer in tests).
pub type Log = std::sync::Arc<dyn Fn(&str) + Send + Sync>;

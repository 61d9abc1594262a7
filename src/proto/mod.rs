//! The reference protocol: the uppercase rule and the UDP/TCP exchanges on given sockets.

pub mod case;
pub mod tcp;
pub mod udp;

pub use case::{server_reply, upper_bytes, upper_str, ServerReply, UnicodeVersion};

// What the reference scripts print and where they listen: part of the protocol as
// measured, which the roles reproduce and the verdicts read.

/// The line every reference server prints once it is listening.
pub const READY_LINE: &str = "The server is ready to receive";

/// The prompt both reference clients print, with no newline.
pub const PROMPT: &str = "Input lowercase sentence:";

/// What the TCP reference client prints before the reply (`print('From Server: ', reply)`).
pub const TCP_REPLY_PREFIX: &str = "From Server:  ";

/// The port the reference scripts use when none is given.
pub const DEFAULT_PORT: u16 = 12000;

/// Where servers send their one-line diagnostics (stderr in the binaries, a buffer in tests).
pub type Log = std::sync::Arc<dyn Fn(&str) + Send + Sync>;

/// The two transports the protocol runs over.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// One datagram each way.
    Udp,
    /// One connection per exchange.
    Tcp,
}

impl Transport {
    /// Both transports, UDP first.
    pub const ALL: [Transport; 2] = [Transport::Udp, Transport::Tcp];

    /// `udp` or `tcp`: the one place a transport becomes a string.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
        }
    }
}

impl std::fmt::Display for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Transport {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "udp" => Ok(Transport::Udp),
            "tcp" => Ok(Transport::Tcp),
            other => Err(format!(
                "unknown transport `{other}`: expected `udp` or `tcp`"
            )),
        }
    }
}

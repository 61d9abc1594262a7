//! What crossed the wire in one unit, as recorded by the harness in the middle.

use serde::{Deserialize, Serialize};

/// Which side sent a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Peer {
    /// The client (or the harness acting as one).
    Client,
    /// The server (or the harness acting as one).
    Server,
}

/// One chunk or event on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireEvent {
    /// Who sent it.
    pub from: Peer,
    /// Milliseconds since the unit started.
    pub at_ms: u64,
    /// The bytes (empty for a close).
    #[serde(with = "crate::run::wire::bytes_text")]
    pub bytes: Vec<u8>,
    /// What happened.
    pub what: WireWhat,
}

/// What one wire event is. Serialised in kebab case (`data-from-other-port`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WireWhat {
    /// Bytes, from the port the peer was addressed on.
    Data,
    /// A UDP reply from another port than the server listens on.
    DataFromOtherPort,
    /// A second (third…) UDP datagram answering one request.
    ExtraDatagram,
    /// An orderly close (TCP FIN).
    Close,
    /// A reset (TCP RST).
    Reset,
    /// The server refused the relay's connection (nothing listened).
    Refused,
    /// A pairing that ran without the relay, so nothing was seen.
    Unrecorded,
}

impl WireWhat {
    /// The name used in results files and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            WireWhat::Data => "data",
            WireWhat::DataFromOtherPort => "data-from-other-port",
            WireWhat::ExtraDatagram => "extra-datagram",
            WireWhat::Close => "close",
            WireWhat::Reset => "reset",
            WireWhat::Refused => "refused",
            WireWhat::Unrecorded => "unrecorded",
        }
    }

    /// Whether the event carries bytes the peer sent as its reply or request (an
    /// extra datagram is recorded apart: it is not part of the reply).
    pub fn is_data(self) -> bool {
        match self {
            WireWhat::Data | WireWhat::DataFromOtherPort => true,
            WireWhat::ExtraDatagram
            | WireWhat::Close
            | WireWhat::Reset
            | WireWhat::Refused
            | WireWhat::Unrecorded => false,
        }
    }
}

/// The transcript of one unit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transcript {
    /// Everything in order.
    pub events: Vec<WireEvent>,
}

impl Transcript {
    /// All data bytes `from` sent, concatenated.
    pub fn sent_by(&self, from: Peer) -> Vec<u8> {
        self.events
            .iter()
            .filter(|e| e.from == from && e.what.is_data())
            .flat_map(|e| e.bytes.clone())
            .collect()
    }

    /// Whether `from` did `what` (e.g. [`WireWhat::Reset`]).
    pub fn has(&self, from: Peer, what: WireWhat) -> bool {
        self.events.iter().any(|e| e.from == from && e.what == what)
    }
}

/// Bytes as text in JSON: valid UTF-8 stays readable, anything else is escaped as `\xNN`
/// (and a literal backslash as `\\`), so results are both exact and human-readable.
pub mod bytes_text {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Escapes bytes into a string.
    pub fn encode(bytes: &[u8]) -> String {
        let mut out = String::new();
        for chunk in bytes.utf8_chunks() {
            for c in chunk.valid().chars() {
                if c == '\\' {
                    out.push_str("\\\\");
                } else {
                    out.push(c);
                }
            }
            for b in chunk.invalid() {
                out.push_str(&format!("\\x{b:02x}"));
            }
        }
        out
    }

    /// Reverses [`encode`].
    pub fn decode(text: &str) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        let mut rest = text;
        while let Some(pos) = rest.find('\\') {
            out.extend_from_slice(&rest.as_bytes()[..pos]);
            let tail = &rest[pos + 1..];
            if let Some(t) = tail.strip_prefix('\\') {
                out.push(b'\\');
                rest = t;
            } else if let Some(t) = tail.strip_prefix('x') {
                let hex = t.get(..2).ok_or("truncated \\x escape")?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| "bad \\x escape")?);
                rest = &t[2..];
            } else {
                return Err("unknown escape".into());
            }
        }
        out.extend_from_slice(rest.as_bytes());
        Ok(out)
    }

    /// serde: serialize.
    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&encode(bytes))
    }

    /// serde: deserialize.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        decode(&text).map_err(serde::de::Error::custom)
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn round_trips_any_bytes() {
            for b in [
                &b"plain"[..],
                b"a\\b",
                b"\xff\xfe\\x41",
                "ß\n".as_bytes(),
                b"",
            ] {
                assert_eq!(super::decode(&super::encode(b)).unwrap(), b);
            }
            assert_eq!(super::encode(b"A\xffB"), "A\\xffB");
        }
    }
}

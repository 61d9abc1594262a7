//! The verdict and fault enums: strings appear only through `as_str`.

use serde::{Deserialize, Serialize};

/// The outcome of one unit.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Same as the reference.
    #[default]
    Pass,
    /// Differs from the reference.
    Fail,
    /// The reference itself has no defined answer; reported, never a failure.
    Info,
    /// Differs from the reference only by answering more of a request than the
    /// reference's buffers let it (the whole 2049-byte datagram, all of a 1025-byte TCP
    /// request): a difference for `matrix` and `check` unless `--non-strict-ok`; the
    /// rubric decides its points in `grade`.
    #[serde(rename = "non-strict")]
    NonStrict,
    /// Not applicable or not runnable here (the reason says which).
    Skip,
    /// A failure listed in the expectations file.
    Xfail,
    /// Listed as a known failure, but passed: the list is out of date.
    Xpass,
}

impl Verdict {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Info => "info",
            Verdict::NonStrict => "non-strict",
            Verdict::Skip => "skip",
            Verdict::Xfail => "xfail",
            Verdict::Xpass => "xpass",
        }
    }

    /// Whether this verdict makes the run fail (exit status 1). A `non-strict` unit is
    /// a difference, judged by the run: see [`Verdict::is_difference`].
    pub fn is_failure(self) -> bool {
        match self {
            Verdict::Fail | Verdict::Xpass => true,
            Verdict::Pass | Verdict::Info | Verdict::NonStrict | Verdict::Skip | Verdict::Xfail => {
                false
            }
        }
    }

    /// Whether this verdict makes the run fail when `non_strict_ok` says whether a
    /// `non-strict` unit agrees (`--non-strict-ok`) or differs (the default).
    pub fn is_difference(self, non_strict_ok: bool) -> bool {
        self.is_failure() || (self == Verdict::NonStrict && !non_strict_ok)
    }
}

/// Which side a failure is attributed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fault {
    /// The server misbehaves with the reference client too.
    Server,
    /// The client misbehaves with the reference server too.
    Client,
    /// Both sides misbehave on their own.
    Both,
    /// Each side is fine with the reference; only this pair disagrees.
    Combination,
}

impl Fault {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::Server => "server",
            Fault::Client => "client",
            Fault::Both => "both",
            Fault::Combination => "combination",
        }
    }
}

//! Whether a class graded against one reference looks taught from another: most of its
//! TCP servers wait for a newline before answering, as the textbook's Java programs do
//! (`readLine()`), while the Python scripts it was graded against send none. The class
//! reports then say so, with the command that grades the class against the Java programs.

use super::score::Graded;
use crate::proto::Transport;
use crate::registry::{JAVA_TEXTBOOK, PYTHON};
use crate::verdict::{Finding, ServerFinding, Verdict};

/// A class that looks taught from the textbook's Java programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaughtOtherwise {
    /// Submissions whose TCP server waits for a newline the reference never sends.
    pub waiting: usize,
    /// Submissions whose TCP server was graded.
    pub servers: usize,
}

impl TaughtOtherwise {
    /// The `--reference` value that fits the class.
    pub const REFERENCE: &'static str = JAVA_TEXTBOOK;

    /// What the class reports say, ending with `command`, the one that regrades the
    /// class against the Java programs.
    pub fn sentence(&self, command: &str) -> String {
        format!(
            "{} of {} TCP servers wait for a newline before they answer, as the textbook's Java \
             programs do (`readLine()`), and the Python scripts they were graded against send \
             none: this class looks taught from the Java programs. To grade it against them: \
             `{command}`",
            self.waiting, self.servers
        )
    }
}

/// `Some` when the class was graded against the Python scripts and more than half of its
/// graded TCP servers (at least one) wait for a newline: they answer only a line ending
/// in `\n`, or answer nothing to an unended one and die when the connection closes.
pub fn taught_otherwise(all: &[Graded]) -> Option<TaughtOtherwise> {
    let mut seen = TaughtOtherwise {
        waiting: 0,
        servers: 0,
    };
    for g in all {
        let Some(results) = &g.results else { continue };
        if results.reference_implementation != PYTHON {
            return None;
        }
        let tcp_server: Vec<_> = results
            .results
            .iter()
            .filter(|r| r.transport == Transport::Tcp && r.server == g.name)
            .collect();
        if tcp_server.is_empty() {
            continue;
        }
        seen.servers += 1;
        // A server that answers nothing while the line is unended and dies once the
        // connection closes is the textbook's Java one: its `readLine()` returns the
        // unended line (or null) at the close, and the reply then goes to a closed socket.
        let waits = tcp_server.iter().any(|r| {
            r.verdict == Verdict::Fail
                && matches!(
                    r.finding,
                    Some(Finding::Server(
                        ServerFinding::WaitsForNewline
                            | ServerFinding::ExitedWhenClientClosed { .. }
                    ))
                )
        });
        if waits {
            seen.waiting += 1;
        }
    }
    (seen.waiting > 0 && seen.waiting * 2 > seen.servers).then_some(seen)
}

/// The regrade command the class reports show: the grader's own folders and `--out`
/// are theirs to fill in.
pub const GENERIC_REGRADE: &str = "shout grade SUBMISSIONS… --out OUT --reference java-textbook";

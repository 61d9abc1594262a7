//! Sentences for students: a unit's harness diagnosis retold to the student whose code
//! it is about ("Your UDP server added a newline after the reply: …"), and the problems
//! that stop a role from being graded at all (missing, not buildable, no toolchain).
//!
//! Pure text: it reads results and never runs anything. Every finding has its wording
//! here, in matches with no catch-all arm, so a new finding cannot go unworded.
//!
//! Layout: `problem` (roles that cannot be graded), `server` and `client` (each side's
//! findings), `detail` (when the bytes follow a sentence); here, the unit's sentence
//! and the notes after it.

mod client;
mod detail;
mod problem;
mod server;
#[cfg(test)]
mod tests;

use client::client_predicate;
use detail::wants_detail;
use problem::first_lines;
pub use problem::{problem, Problem};
use server::server_predicate;

use crate::plan::UnitKind;
use crate::proto::Transport;
use crate::registry::{RoleKey, SHOUT};
use crate::results::UnitResult;
pub use crate::text::quote;
use crate::text::quote_pair;
use crate::verdict::{Finding, RunFinding, Verdict};

/// How many characters of escaped bytes a sentence quotes before cutting them short.
const QUOTE_CHARS: usize = 60;

/// How many characters of a client's error output a sentence quotes.
const STDERR_CHARS: usize = 160;

/// One plain sentence for `student` about unit `r`: what went wrong, from the student's
/// side, with the expected and actual bytes quoted (escaped, cut short when long).
pub fn for_student(r: &UnitResult, student: &str) -> String {
    match r.verdict {
        Verdict::Pass | Verdict::Xpass => {
            format!("Passed: {} on `{}`.", graded_side(r, student), r.case)
        }
        Verdict::Info => {
            let why = match &r.finding {
                Some(f) => retell(f, r, student),
                None => "the reference has no defined answer for this input".to_string(),
            };
            format!("Not counted: {}.", lower_first(&why))
        }
        Verdict::NonStrict => {
            let why = match &r.finding {
                Some(f) => retell(f, r, student),
                None => "it answered more than the reference's buffers let it".to_string(),
            };
            format!("Non-strict, not a mistake: {}.", lower_first(&why))
        }
        Verdict::Skip => {
            let why = match &r.finding {
                Some(f) => retell(f, r, student),
                None => "this check did not run".to_string(),
            };
            format!("Not run: {}.", lower_first(&why))
        }
        Verdict::Fail | Verdict::Xfail => {
            let Some(finding) = &r.finding else {
                let mut s = format!(
                    "{} does not behave like the reference on `{}`",
                    graded_side(r, student),
                    r.case
                );
                s.push_str(&detail(r));
                return finish(s);
            };
            let mut s = retell(finding, r, student);
            if wants_detail(finding) && !s.contains('`') {
                s.push_str(&detail(r));
            }
            let mut s = finish(s);
            for note in [marker_note(r, student), stderr_note(r, student)]
                .into_iter()
                .flatten()
            {
                s.push(' ');
                s.push_str(&note);
            }
            s
        }
    }
}

/// Where a student's client was run against shout's test server and the bytes quoted
/// hold its reply: what that reply is, so that `SHOUT MARKER …` does not puzzle.
fn marker_note(r: &UnitResult, student: &str) -> Option<String> {
    let marker = crate::run::MARKER.as_bytes();
    let quoted = [&r.expected, &r.actual]
        .into_iter()
        .flatten()
        .any(|b| b.windows(marker.len()).any(|w| w == marker));
    if r.kind != UnitKind::ClientProbe || r.client != student || !quoted {
        return None;
    }
    let empty = if r.input.is_empty() {
        " The line here is empty: the reference client sends it all the same (an empty message) and prints that reply, so a client must not stop on an empty line."
    } else {
        ""
    };
    Some(format!(
        "(`{}` is the reply of shout's test server, the same whatever it receives, so that the output shows the server's reply was printed.){empty}",
        crate::run::MARKER
    ))
}

/// A student's client that ended with a failure: the end of what it printed on its
/// standard error (a traceback's last lines), escaped and cut short.
fn stderr_note(r: &UnitResult, student: &str) -> Option<String> {
    let tail = r.client_stderr.as_deref().filter(|_| r.client == student)?;
    let lines: Vec<&str> = tail.lines().filter(|l| !l.trim().is_empty()).collect();
    let last = lines[lines.len().saturating_sub(2)..].join("\n");
    Some(format!(
        "Its error output ended with: `{}`.",
        quote(last.as_bytes(), STDERR_CHARS)
    ))
}

/// The side a finding speaks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Server,
    Client,
}

/// Finding `f` told from `student`'s side, without a final period.
fn retell(f: &Finding, r: &UnitResult, student: &str) -> String {
    let (side, sentence) = match f {
        Finding::Run(RunFinding::BuildFailed { output }) => {
            return format!("Your code did not build: {}", first_lines(output));
        }
        Finding::Run(RunFinding::ProgramMissing { detail }) => {
            return format!("the program could not be started: {detail}");
        }
        // The verdict's own word ("Not run: …") comes first; the reason follows it.
        Finding::Run(RunFinding::MachineBusy { .. }) => {
            return "the grading machine was too busy to time your program fairly; this does not count against you".into();
        }
        Finding::Run(RunFinding::RunTimedOut) => {
            return "the grading run's time limit passed first".into();
        }
        Finding::Run(RunFinding::ReferenceUndefined) => {
            return "the reference itself gives no answer on this case".into();
        }
        Finding::Run(RunFinding::NoReference { .. }) | Finding::Reference(_) => {
            return upper_first(&f.sentence());
        }
        Finding::Server(s) => (
            Side::Server,
            format!(
                "{}{}",
                who(r, Side::Server, student),
                server_predicate(s, r)
            ),
        ),
        Finding::Client(c) => (
            Side::Client,
            format!(
                "{}{}",
                who(r, Side::Client, student),
                client_predicate(c, r)
            ),
        ),
    };
    // About the other side of a unit the student is in: say whose unit it is.
    let (this, other) = match side {
        Side::Server => (&r.server, Side::Client),
        Side::Client => (&r.client, Side::Server),
    };
    let other_name = match other {
        Side::Server => &r.server,
        Side::Client => &r.client,
    };
    if this != student && other_name == student {
        return format!(
            "With {}, {}",
            lower_first(&who(r, other, student)),
            lower_first(&sentence)
        );
    }
    sentence
}

/// `: expected `…`, got `…`` for the unit's bytes, or nothing when it has none.
fn detail(r: &UnitResult) -> String {
    match (&r.expected, &r.actual) {
        (Some(e), Some(a)) => {
            let (e, a) = quote_pair(e, a, QUOTE_CHARS);
            format!(": expected `{e}`, got `{a}`")
        }
        (Some(e), None) => format!(": expected `{}`, got nothing", quote(e, QUOTE_CHARS)),
        _ => String::new(),
    }
}

/// Who a side of `r` is, from `student`'s point of view: "Your UDP server", "The
/// reference client", "shout's test client", …
fn who(r: &UnitResult, side: Side, student: &str) -> String {
    let (name, role) = match side {
        Side::Server => (&r.server, "server"),
        Side::Client => (&r.client, "client"),
    };
    let t = upper(r.transport);
    if name == student {
        format!("Your {t} {role}")
    } else if name == crate::registry::reference() {
        format!("The reference {role}")
    } else if name == SHOUT {
        format!("shout's {role}")
    } else if name == crate::plan::PROBE {
        format!("shout's test {role}")
    } else {
        format!("The {role} `{name}`")
    }
}

/// The student's side of `r`, for sentences that have no diagnosis to go on.
fn graded_side(r: &UnitResult, student: &str) -> String {
    if r.server == student {
        who(r, Side::Server, student)
    } else {
        who(r, Side::Client, student)
    }
}

/// `UDP server`, `TCP client`, …
pub fn role_words(role: RoleKey) -> String {
    format!("{} {}", upper(role.transport), role.role.as_str())
}

pub(super) fn upper(t: Transport) -> &'static str {
    match t {
        Transport::Udp => "UDP",
        Transport::Tcp => "TCP",
    }
}

pub(super) fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn lower_first(s: &str) -> String {
    // Only the subjects this module writes; anything else may start with a name.
    if s.starts_with("Your ") || s.starts_with("The ") {
        let mut c = s.chars();
        match c.next() {
            Some(f) => f.to_lowercase().chain(c).collect(),
            None => String::new(),
        }
    } else {
        s.to_string()
    }
}

fn finish(mut s: String) -> String {
    if !s.ends_with('.') {
        s.push('.');
    }
    s
}

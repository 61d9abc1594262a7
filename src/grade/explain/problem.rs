//! What stops a role from being graded at all (missing, not buildable, no toolchain,
//! too large, unreadable), in one sentence each. Pure text.

use super::{role_words, upper, upper_first};
use crate::grade::detect::Language;
use crate::registry::{Role, RoleKey};

/// How many lines of compiler output a build problem quotes.
const BUILD_LINES: usize = 3;

/// What stops a role from being graded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// No file in the submission plays `role`.
    MissingRole {
        /// The role that is missing.
        role: RoleKey,
        /// The submission's language, to name a file the student would recognise.
        language: Option<Language>,
    },
    /// The toolchain is not installed; the sentence from `detect::missing_toolchain`.
    MissingToolchain(String),
    /// The build command failed.
    BuildFailed {
        /// The role whose build failed.
        role: RoleKey,
        /// The build command, as one line, when known.
        command: Option<String>,
        /// What the build printed (compiler errors).
        output: String,
    },
    /// The submission is larger than the grader allows; nothing of it ran.
    Oversized {
        /// Bytes of its files (at least, when `complete` is false).
        bytes: u64,
        /// Its files and folders (at least, when `complete` is false).
        entries: usize,
        /// Whether every file was counted.
        complete: bool,
        /// The most bytes allowed.
        max_bytes: u64,
        /// The most files and folders allowed.
        max_entries: usize,
    },
    /// A file or folder of the submission cannot be read; nothing of it ran.
    Unreadable {
        /// What could not be read, relative to the submission folder ("" for the folder).
        path: String,
        /// Why, as the system says it.
        why: String,
    },
}

/// One sentence for the student about a [`Problem`].
pub fn problem(p: &Problem) -> String {
    match p {
        Problem::MissingRole { role, language } => {
            let what = match role.role {
                Role::Server => format!(
                    "listens on a {t} port and sends each line back uppercased",
                    t = upper(role.transport)
                ),
                Role::Client => format!(
                    "reads a line, sends it to the server over {t} and prints the reply",
                    t = upper(role.transport)
                ),
            };
            format!(
                "No {} found: expected a file such as {} that {what}.",
                role_words(*role),
                example_file(*role, *language)
            )
        }
        Problem::MissingToolchain(sentence) => sentence.trim().to_string(),
        Problem::BuildFailed {
            role,
            command,
            output,
        } => {
            let cmd = command
                .as_deref()
                .map(|c| format!(" (`{c}` failed)"))
                .unwrap_or_default();
            format!(
                "Your {} did not build{cmd}: {}",
                role_words(*role),
                first_lines(output)
            )
        }
        Problem::Oversized {
            bytes,
            entries,
            complete,
            max_bytes,
            max_entries,
        } => oversized(*bytes, *entries, *complete, *max_bytes, *max_entries),
        Problem::Unreadable { path, why } => {
            let what = if path.is_empty() {
                "Your submission folder".to_string()
            } else {
                format!("`{path}` in your submission")
            };
            format!(
                "Not graded: {what} cannot be read ({why}); submit it again with files anyone may read."
            )
        }
    }
}

/// The sentence for a submission over its size or file limits: each measure that is
/// over, with its limit, and what to leave out.
fn oversized(
    bytes: u64,
    entries: usize,
    complete: bool,
    max_bytes: u64,
    max_entries: usize,
) -> String {
    let at_least = if complete { "" } else { "at least " };
    let mut over = Vec::new();
    if bytes > max_bytes {
        over.push(format!(
            "your submission is {at_least}{}; the limit is {}",
            megabytes(bytes),
            megabytes(max_bytes)
        ));
    }
    if entries > max_entries {
        over.push(format!(
            "it holds {at_least}{entries} files and folders; the limit is {max_entries}"
        ));
    }
    format!(
        "Not graded: {}. Leave out build output, data files and downloaded dependencies \
         (such as node_modules) and submit again.",
        over.join(", and ")
    )
}

/// Bytes in megabytes (10^6), as a file manager shows them: `500 MB`, `1.5 MB`.
fn megabytes(bytes: u64) -> String {
    let mb = bytes as f64 / 1e6;
    if mb >= 10.0 || mb.fract() == 0.0 {
        format!("{mb:.0} MB")
    } else {
        format!("{mb:.1} MB")
    }
}

/// A file name a student of `language` would use for `role`.
fn example_file(role: RoleKey, language: Option<Language>) -> String {
    let (t, r) = (role.transport.as_str(), role.role.as_str());
    let camel = format!("{}{}", upper(role.transport), upper_first(r));
    match language {
        Some(Language::Python3 | Language::Python2) | None => format!("{camel}.py"),
        Some(Language::Java) => format!("{camel}.java"),
        Some(Language::C) => format!("{t}_{r}.c"),
        Some(Language::Go) => format!("{t}{r}.go"),
        Some(Language::JavaScript) => format!("{t}_{r}.js"),
        Some(Language::Rust) => format!("{t}_{r}.rs"),
    }
}

/// The first few non-empty lines of `output`, joined with ` / `.
pub(super) fn first_lines(output: &str) -> String {
    let lines: Vec<&str> = output
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .collect();
    if lines.is_empty() {
        return "it printed nothing".into();
    }
    let mut shown: Vec<String> = lines
        .iter()
        .take(BUILD_LINES)
        .map(|l| {
            if l.chars().count() > 160 {
                format!("{}…", l.chars().take(160).collect::<String>())
            } else {
                l.to_string()
            }
        })
        .collect();
    if lines.len() > BUILD_LINES {
        shown.push(format!("… ({} more lines)", lines.len() - BUILD_LINES));
    }
    shown.join(" / ")
}

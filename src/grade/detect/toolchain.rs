//! Which programs a submission's build and run commands need that this machine lacks,
//! as a typed finding ([`MissingToolchain`]) that callers match on and print.
//!
//! It looks programs up on `PATH` and never runs them; it is the only part of detection
//! that looks at `PATH`.

use std::fmt;

use super::language::Language;
use super::model::Submission;
use crate::registry::CommandTemplate;

/// Who needs a missing program, which decides how the student is told to get it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NeededBy {
    /// A role detected in this language; [`Language::install_hint`] says how to install it.
    Language(Language),
    /// A command in the submission's own `shout.toml`.
    Manifest,
}

/// One program a submission's build or run command starts from `PATH` and this machine
/// does not have.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MissingProgram {
    /// The program as the command names it: `go`, `javac`, `node`.
    pub program: String,
    /// Whose command names it.
    pub needed_by: NeededBy,
}

impl fmt::Display for MissingProgram {
    /// "Go submission; `go` is not installed: apt-get install golang-go", or for a
    /// manifest "the manifest's commands run `go`, which is not installed".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let program = &self.program;
        match self.needed_by {
            NeededBy::Language(language) => write!(
                f,
                "{language} submission; `{program}` is not installed: {}",
                language.install_hint()
            ),
            NeededBy::Manifest => write!(
                f,
                "the manifest's commands run `{program}`, which is not installed"
            ),
        }
    }
}

/// The toolchain a submission needs and this machine lacks: at least one program, each
/// once, in the order its roles name them. Its [`Display`](fmt::Display) is the sentence a
/// student reads: each program's sentence, joined by "; ".
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MissingToolchain {
    /// The programs missing, never empty.
    pub programs: Vec<MissingProgram>,
}

impl fmt::Display for MissingToolchain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, program) in self.programs.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{program}")?;
        }
        Ok(())
    }
}

/// The toolchain a submission needs and this machine lacks, e.g. `go` for a Go
/// submission. `None` when everything its build and run commands name is on `PATH`.
pub fn missing_toolchain(submission: &Submission) -> Option<MissingToolchain> {
    let mut programs: Vec<MissingProgram> = Vec::new();
    let mut push = |program: String, needed_by: NeededBy| {
        let missing = MissingProgram { program, needed_by };
        if !programs.contains(&missing) {
            programs.push(missing);
        }
    };
    match submission {
        Submission::Sources(s) => {
            for role in s.roles.values() {
                for program in needed_programs(role.build.as_ref(), &role.run) {
                    if which::which(&program).is_err() {
                        push(program, NeededBy::Language(role.language));
                    }
                }
            }
        }
        Submission::Manifest(m) => {
            for imp in &m.implementations {
                for run in imp.roles.values() {
                    for program in needed_programs(imp.build.as_ref(), run) {
                        if which::which(&program).is_err() {
                            push(program, NeededBy::Manifest);
                        }
                    }
                }
            }
        }
    }
    (!programs.is_empty()).then_some(MissingToolchain { programs })
}

/// The programs a build and a run start from `PATH`: first words without a `/`.
fn needed_programs(build: Option<&CommandTemplate>, run: &CommandTemplate) -> Vec<String> {
    build
        .into_iter()
        .chain(std::iter::once(run))
        .filter_map(|c| c.words.first())
        .filter(|w| !w.contains('/') && !w.contains('{'))
        .cloned()
        .collect()
}

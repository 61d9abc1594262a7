//! What detection returns: a submission (a manifest, or the roles found in its
//! sources) and why a folder could not be read. Data only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::language::Language;
use crate::registry::{CommandTemplate, Implementation, ManifestError, RoleKey};

/// The file that makes a folder a declared implementation instead of sources to read.
pub const MANIFEST_FILE: &str = "shout.toml";

/// One role found in the sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundRole {
    /// The source file, relative to the submission folder.
    pub file: PathBuf,
    /// The file's language (a submission may mix languages).
    pub language: Language,
    /// Run once in the submission folder before the role can run; `None` for interpreted
    /// languages. Several roles may share the same build.
    pub build: Option<CommandTemplate>,
    /// The argv that runs the role from the submission folder. Student code takes no
    /// arguments, so it has no `{host}` or `{port}` placeholder.
    pub run: CommandTemplate,
    /// The port the code hardcodes: the one a server listens on, or a client sends to.
    pub port: Option<u16>,
    /// The server name a client hardcodes (`localhost`, `127.0.0.1`, `hostname`); always
    /// `None` for servers.
    pub host: Option<String>,
    /// Every server name and address a client's code names (`hostname`, `lab-pc-07`,
    /// `192.168.0.123`, `fd00::7`), in order of appearance: grading makes each one reach
    /// the test server. Empty for servers.
    pub hosts: Vec<String>,
    /// What a grader should know about this file, e.g. that its name lies.
    pub notes: Vec<String>,
}

/// A folder whose roles were found by reading the sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sources {
    /// The folder name made to fit `[a-z0-9-]+`.
    pub name: String,
    /// The folder, as given.
    pub dir: PathBuf,
    /// The language of most roles (or of most source files, when no role was found);
    /// `None` when there is no source file at all.
    pub language: Option<Language>,
    /// The roles found; a role not in the folder is absent.
    pub roles: BTreeMap<RoleKey, FoundRole>,
    /// For a role that two files play and the code cannot decide between, the second:
    /// grading grades both and keeps the better. Absent for every other role.
    pub alternates: BTreeMap<RoleKey, FoundRole>,
    /// Notes about the submission as a whole (duplicate roles, mismatched ports, …).
    pub notes: Vec<String>,
}

impl Sources {
    /// The role `key`, if the submission has it.
    pub fn role(&self, key: RoleKey) -> Option<&FoundRole> {
        self.roles.get(&key)
    }

    /// Every server name and address the submission's clients name (second files
    /// included), each once.
    pub fn client_hosts(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for role in self.roles.values().chain(self.alternates.values()) {
            for h in &role.hosts {
                if !out.contains(&h.as_str()) {
                    out.push(h);
                }
            }
        }
        out
    }
}

/// A folder with a `shout.toml`: it says how to build and run itself.
#[derive(Debug, Clone)]
pub struct ManifestSubmission {
    /// The folder name made to fit `[a-z0-9-]+`.
    pub name: String,
    /// The folder, as given.
    pub dir: PathBuf,
    /// The manifest's path.
    pub file: PathBuf,
    /// The implementations it declares, validated by the registry's loader.
    pub implementations: Vec<Implementation>,
}

/// What [`detect`](super::detect) found in a submission folder.
#[derive(Debug, Clone)]
pub enum Submission {
    /// Roles found by reading the sources.
    Sources(Sources),
    /// The folder has a `shout.toml`; use the manifest and do not guess.
    Manifest(ManifestSubmission),
}

impl Submission {
    /// The submission's name, `[a-z0-9-]+`.
    pub fn name(&self) -> &str {
        match self {
            Submission::Sources(s) => &s.name,
            Submission::Manifest(m) => &m.name,
        }
    }

    /// The submission folder.
    pub fn dir(&self) -> &Path {
        match self {
            Submission::Sources(s) => &s.dir,
            Submission::Manifest(m) => &m.dir,
        }
    }
}

/// A folder that cannot be looked at as a submission.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    /// The path is missing or is a file.
    #[error("{}: not a directory; pass one folder per submission", path.display())]
    NotADirectory {
        /// The path given.
        path: PathBuf,
    },
    /// A folder or file could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        /// What could not be read.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The folder name has nothing to make a `[a-z0-9-]+` name from.
    #[error("{}: the folder name has no ASCII letter or digit to name the submission; rename the folder", path.display())]
    Name {
        /// The folder.
        path: PathBuf,
    },
    /// The folder's `shout.toml` is invalid.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
}

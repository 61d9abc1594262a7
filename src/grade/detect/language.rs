//! The languages detection recognizes, their names and how to install their toolchains.
//!
//! Plain data: nothing here reads a file or looks at `PATH`.

use std::fmt;

/// The languages detection recognizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Language {
    /// `.py` without Python 2 syntax.
    Python3,
    /// `.py` with `raw_input` or `print` statements.
    Python2,
    /// `.java`.
    Java,
    /// `.c`.
    C,
    /// `.go`.
    Go,
    /// `.js`, `.mjs`, `.cjs`, run with Node.
    JavaScript,
    /// `.rs`, a single file or a Cargo project.
    Rust,
}

impl Language {
    /// The language's name as students and reports write it: `Python 3`, `Go`, …
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Python3 => "Python 3",
            Language::Python2 => "Python 2",
            Language::Java => "Java",
            Language::C => "C",
            Language::Go => "Go",
            Language::JavaScript => "JavaScript",
            Language::Rust => "Rust",
        }
    }

    /// How to install the toolchain that builds and runs this language.
    pub fn install_hint(self) -> &'static str {
        match self {
            Language::Python3 => "apt-get install python3",
            Language::Python2 => "install Python 2 with pyenv: pyenv install 2.7.18",
            Language::Java => "apt-get install default-jdk",
            Language::C => "apt-get install gcc",
            Language::Go => "apt-get install golang-go",
            Language::JavaScript => "apt-get install nodejs",
            Language::Rust => "apt-get install cargo",
        }
    }

    /// The language of a file with extension `ext` (without the dot), if recognized.
    pub(super) fn from_extension(ext: &str) -> Option<Language> {
        match ext {
            "py" => Some(Language::Python3),
            "java" => Some(Language::Java),
            "c" => Some(Language::C),
            "go" => Some(Language::Go),
            "js" | "mjs" | "cjs" => Some(Language::JavaScript),
            "rs" => Some(Language::Rust),
            _ => None,
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

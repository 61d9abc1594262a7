//! Reporters: each turns [`crate::results::Results`] into bytes for one audience.
//!
//! - [`terminal`]: matrices and failures for a person at a terminal.
//! - [`json`]: the results themselves, for machines and for `merge`.
//! - [`junit`]: JUnit XML for CI test views (GitLab, Jenkins).
//! - [`markdown`]: a compact summary for GitHub step summaries and comments.
//! - [`html`]: one self-contained page with clickable matrices and every case.
//! - [`causes`]: failures grouped by cause, which every report lists; [`shared`]: the
//!   matrix tally and byte excerpts the Markdown, HTML and JUnit reports share.

pub mod causes;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod shared;
pub mod terminal;

use crate::results::Results;

/// A report format, as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// [`terminal`].
    Terminal,
    /// [`json`].
    Json,
    /// [`junit`].
    Junit,
    /// [`markdown`].
    Markdown,
    /// [`html`].
    Html,
}

impl Format {
    /// Every format, in the order `--help` lists them.
    pub const ALL: [Format; 5] = [
        Format::Terminal,
        Format::Json,
        Format::Junit,
        Format::Markdown,
        Format::Html,
    ];

    /// The name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Terminal => "terminal",
            Format::Json => "json",
            Format::Junit => "junit",
            Format::Markdown => "markdown",
            Format::Html => "html",
        }
    }

    /// Renders `results` in this format.
    pub fn render(self, results: &Results) -> Result<Vec<u8>, String> {
        let mut buf = Vec::new();
        match self {
            Format::Terminal => {
                terminal::write(results, &mut buf).map_err(|e| e.to_string())?;
                // Whatever a student's program put in the results reaches the terminal
                // with its control characters shown, never obeyed.
                buf = crate::text::terminal_text(&String::from_utf8_lossy(&buf)).into_bytes();
            }
            Format::Json => json::write(results, &mut buf).map_err(|e| e.to_string())?,
            Format::Junit => buf = junit::render(results).map_err(|e| e.to_string())?.into(),
            Format::Markdown => buf = markdown::render(results).into(),
            Format::Html => buf = html::render(results).into(),
        }
        Ok(buf)
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Format::ALL.iter().map(|f| f.as_str()).collect();
                format!("unknown format `{s}`: use one of {}", names.join(", "))
            })
    }
}

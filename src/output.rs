//! Where reports go: a typed [`Target`] for each report asked for, and one
//! [`ReportWriter`] that checks every target before a run and writes every report after it.
//!
//! It renders nothing itself (each format belongs to [`crate::report`]) and never picks a
//! stream on its own: stdout and stderr are handed in, so tests write to a `Vec<u8>`.

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::report::Format;
use crate::results::Results;

/// Where one report is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Standard output (`--output -`, or no `--output` at all).
    Stdout,
    /// Standard error: where the terminal summary goes when stdout carries another report.
    Stderr,
    /// A file, created or replaced once the run is over.
    File(PathBuf),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Stdout => f.write_str("stdout"),
            Target::Stderr => f.write_str("stderr"),
            Target::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// One report asked for: a format and where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// What the report looks like.
    pub format: Format,
    /// Where it is written.
    pub target: Target,
}

/// A report that cannot be, or could not be, written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// `--output ''`: no file name at all.
    #[error(
        "the {} report's --output is empty: give a file name, or - for stdout",
        format.as_str()
    )]
    EmptyPath {
        /// The report's format.
        format: Format,
    },
    /// The file name is a folder's.
    #[error(
        "the {} report's --output {} is a directory: give a file name",
        format.as_str(),
        path.display()
    )]
    Directory {
        /// The report's format.
        format: Format,
        /// The folder named.
        path: PathBuf,
    },
    /// Two reports name the same file, however spelt (`./r.json` and `r.json`).
    #[error(
        "the {} and {} reports both go to {}{}: give each --format its own --output",
        first.as_str(),
        second.as_str(),
        path.display(),
        spelt(first_path, path)
    )]
    SameFile {
        /// The earlier report's format.
        first: Format,
        /// Its `--output`, as given.
        first_path: PathBuf,
        /// The later report's format.
        second: Format,
        /// Its `--output`, as given.
        path: PathBuf,
    },
    /// The file cannot be created (a missing folder, no permission), found before the run.
    #[error(
        "cannot write the {} report to {}: {source}{}",
        format.as_str(),
        path.display(),
        create_first(missing_folder.as_deref())
    )]
    Unwritable {
        /// The report's format.
        format: Format,
        /// The file named.
        path: PathBuf,
        /// Why it cannot be created.
        source: io::Error,
        /// The folder the file would be in, when that folder does not exist.
        missing_folder: Option<PathBuf>,
    },
    /// The report could not be rendered.
    #[error("{message}")]
    Render {
        /// The report's format.
        format: Format,
        /// What the renderer said.
        message: String,
    },
    /// Writing the rendered report failed after the run.
    #[error("cannot write the {} report to {target}: {source}", format.as_str())]
    Write {
        /// The report's format.
        format: Format,
        /// Where it was going.
        target: Target,
        /// Why it failed.
        source: io::Error,
    },
    /// More than one report failed; each is named, in the order they were asked for.
    #[error("{}", join(.0))]
    Several(Vec<OutputError>),
}

fn create_first(missing_folder: Option<&Path>) -> String {
    match missing_folder {
        Some(dir) => format!(" (create the folder {} first)", dir.display()),
        None => "; give another --output".to_string(),
    }
}

/// How the same file was named twice, when the two spellings differ.
fn spelt(first: &Path, second: &Path) -> String {
    if first.as_os_str() == second.as_os_str() {
        String::new()
    } else {
        format!(" (as {} and {})", first.display(), second.display())
    }
}

/// The file `path` names, for comparing two `--output`s: absolute, with its folder
/// resolved (`.`, `..`, symbolic links) when that folder exists.
fn identity(path: &Path) -> PathBuf {
    let absolute = std::env::current_dir()
        .map(|d| d.join(path))
        .unwrap_or_else(|_| path.to_path_buf());
    let resolved = match (absolute.parent(), absolute.file_name()) {
        (Some(dir), Some(name)) => dir.canonicalize().ok().map(|d| d.join(name)),
        _ => None,
    };
    resolved.unwrap_or_else(|| absolute.components().collect())
}

/// Fails if two reports of `asked` go to one file.
fn check_distinct(asked: &[Report]) -> Result<(), OutputError> {
    let mut seen: Vec<(PathBuf, Format, &Path)> = Vec::new();
    for report in asked {
        let Target::File(path) = &report.target else {
            continue;
        };
        let id = identity(path);
        if let Some((_, first, first_path)) = seen.iter().find(|(p, _, _)| *p == id) {
            return Err(OutputError::SameFile {
                first: *first,
                first_path: first_path.to_path_buf(),
                second: report.format,
                path: path.clone(),
            });
        }
        seen.push((id, report.format, path));
    }
    Ok(())
}

fn join(errors: &[OutputError]) -> String {
    let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
    messages.join("; ")
}

/// Every report of one command, checked before the run and written after it.
///
/// The terminal summary is always among them: first, so that a report that cannot be
/// written does not hide it; on stdout, or on stderr when stdout carries another report.
#[derive(Debug, Clone)]
pub struct ReportWriter {
    /// In writing order: the summary (unless asked for on stdout), then as asked.
    reports: Vec<Report>,
}

impl ReportWriter {
    /// Checks every file target now, so that a report that could not be written later
    /// stops the command before anything runs (two reports to one file, an empty name, a
    /// directory, a missing folder, no permission). A file that did not exist is not left
    /// behind.
    pub fn open(asked: Vec<Report>) -> Result<ReportWriter, OutputError> {
        check_distinct(&asked)?;
        for report in &asked {
            if let Target::File(path) = &report.target {
                check_writable(report.format, path)?;
            }
        }
        Ok(ReportWriter {
            reports: with_summary(asked),
        })
    }

    /// The reports in the order they are written.
    pub fn reports(&self) -> &[Report] {
        &self.reports
    }

    /// Renders and writes every report of `results`; see [`ReportWriter::write_rendered`].
    pub fn write(
        &self,
        results: &Results,
        stdout: &mut dyn Write,
        stderr: &mut dyn Write,
    ) -> Result<(), OutputError> {
        self.write_rendered(|format| format.render(results), stdout, stderr)
    }

    /// Writes every report, in order, with the bytes `render` gives for its format. A
    /// report that fails does not stop the others; every failure is returned at the end.
    pub fn write_rendered(
        &self,
        render: impl Fn(Format) -> Result<Vec<u8>, String>,
        stdout: &mut dyn Write,
        stderr: &mut dyn Write,
    ) -> Result<(), OutputError> {
        let mut failed = Vec::new();
        for Report { format, target } in &self.reports {
            let bytes = match render(*format) {
                Ok(bytes) => bytes,
                Err(message) => {
                    failed.push(OutputError::Render {
                        format: *format,
                        message,
                    });
                    continue;
                }
            };
            let written = match target {
                Target::Stdout => stdout.write_all(&bytes),
                Target::Stderr => stderr.write_all(&bytes),
                Target::File(path) => std::fs::write(path, &bytes),
            };
            if let Err(source) = written {
                failed.push(OutputError::Write {
                    format: *format,
                    target: target.clone(),
                    source,
                });
            }
        }
        match failed.len() {
            0 => Ok(()),
            1 => Err(failed.remove(0)),
            _ => Err(OutputError::Several(failed)),
        }
    }
}

/// `asked`, with the terminal summary first unless it is already asked for on stdout.
fn with_summary(mut asked: Vec<Report>) -> Vec<Report> {
    let summary_on_stdout = asked
        .iter()
        .any(|r| r.format == Format::Terminal && r.target == Target::Stdout);
    if !summary_on_stdout {
        let target = if asked.iter().any(|r| r.target == Target::Stdout) {
            Target::Stderr
        } else {
            Target::Stdout
        };
        asked.insert(
            0,
            Report {
                format: Format::Terminal,
                target,
            },
        );
    }
    asked
}

/// Fails if the `format` report could not be written to `path` later.
fn check_writable(format: Format, path: &Path) -> Result<(), OutputError> {
    if path.as_os_str().is_empty() {
        return Err(OutputError::EmptyPath { format });
    }
    if path.is_dir() {
        return Err(OutputError::Directory {
            format,
            path: path.to_path_buf(),
        });
    }
    let existed = path.exists();
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(|source| OutputError::Unwritable {
            format,
            path: path.to_path_buf(),
            source,
            missing_folder: path
                .parent()
                .filter(|dir| !dir.as_os_str().is_empty() && !dir.is_dir())
                .map(Path::to_path_buf),
        })?;
    if !existed {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(format: Format, target: Target) -> Report {
        Report { format, target }
    }

    /// Each format renders as its own name, so tests can see what went where.
    fn by_name(format: Format) -> Result<Vec<u8>, String> {
        Ok(format!("<{}>", format.as_str()).into_bytes())
    }

    /// A stream that refuses every write.
    struct Broken;

    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::new(io::ErrorKind::BrokenPipe, "pipe closed"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_summary_goes_first_to_stdout_when_nothing_else_does() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("r.json");
        let writer =
            ReportWriter::open(vec![report(Format::Json, Target::File(file.clone()))]).unwrap();
        assert_eq!(
            writer.reports(),
            [
                report(Format::Terminal, Target::Stdout),
                report(Format::Json, Target::File(file.clone())),
            ]
        );
        let (mut out, mut err) = (Vec::new(), Vec::new());
        writer.write_rendered(by_name, &mut out, &mut err).unwrap();
        assert_eq!(out, b"<terminal>");
        assert!(err.is_empty());
        assert_eq!(std::fs::read_to_string(file).unwrap(), "<json>");
    }

    #[test]
    fn the_summary_moves_to_stderr_when_stdout_carries_another_report() {
        let writer = ReportWriter::open(vec![report(Format::Junit, Target::Stdout)]).unwrap();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        writer.write_rendered(by_name, &mut out, &mut err).unwrap();
        assert_eq!(out, b"<junit>");
        assert_eq!(err, b"<terminal>");
    }

    #[test]
    fn a_summary_asked_for_on_stdout_is_written_once_where_it_was_asked() {
        let writer = ReportWriter::open(vec![report(Format::Terminal, Target::Stdout)]).unwrap();
        assert_eq!(writer.reports(), [report(Format::Terminal, Target::Stdout)]);
    }

    #[test]
    fn a_failing_target_does_not_stop_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("gone");
        std::fs::create_dir(&gone).unwrap();
        let lost = gone.join("r.xml");
        let kept = dir.path().join("r.md");
        let writer = ReportWriter::open(vec![
            report(Format::Junit, Target::File(lost.clone())),
            report(Format::Markdown, Target::File(kept.clone())),
            report(Format::Json, Target::Stdout),
        ])
        .unwrap();
        // The folder disappears during the run.
        std::fs::remove_dir(&gone).unwrap();
        let mut err = Vec::new();
        let failed = writer
            .write_rendered(by_name, &mut Broken, &mut err)
            .unwrap_err();
        assert_eq!(err, b"<terminal>", "the summary is still written");
        assert_eq!(std::fs::read_to_string(&kept).unwrap(), "<markdown>");
        let message = failed.to_string();
        assert!(
            matches!(failed, OutputError::Several(ref e) if e.len() == 2),
            "{message}"
        );
        assert!(
            message.starts_with(&format!(
                "cannot write the junit report to {}: ",
                lost.display()
            )),
            "{message}"
        );
        assert!(
            message.contains("; cannot write the json report to stdout: pipe closed"),
            "{message}"
        );
    }

    #[test]
    fn a_report_that_cannot_render_is_named_and_the_others_are_written() {
        let writer = ReportWriter::open(vec![report(Format::Html, Target::Stdout)]).unwrap();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let failed = writer
            .write_rendered(
                |format| match format {
                    Format::Terminal => Err("the terminal report failed".to_string()),
                    other => by_name(other),
                },
                &mut out,
                &mut err,
            )
            .unwrap_err();
        assert_eq!(failed.to_string(), "the terminal report failed");
        assert_eq!(out, b"<html>");
    }

    #[test]
    fn targets_that_could_not_be_written_are_refused_before_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let open = |target| ReportWriter::open(vec![report(Format::Json, target)]).unwrap_err();
        let empty = open(Target::File(PathBuf::new())).to_string();
        assert_eq!(
            empty,
            "the json report's --output is empty: give a file name, or - for stdout"
        );
        let folder = open(Target::File(dir.path().to_path_buf())).to_string();
        assert!(
            folder.contains("is a directory: give a file name"),
            "{folder}"
        );
        let missing = dir.path().join("no-such-folder");
        let nested = open(Target::File(missing.join("r.json"))).to_string();
        assert!(
            nested.ends_with(&format!("(create the folder {} first)", missing.display())),
            "{nested}"
        );
        assert!(!missing.exists());
    }

    #[test]
    fn two_reports_to_one_file_are_refused_however_it_is_spelt() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("r.json");
        let dotted = dir.path().join(".").join("r.json");
        let around = dir.path().join("sub").join("..").join("r.json");
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let message = ReportWriter::open(vec![
            report(Format::Json, Target::File(dotted.clone())),
            report(Format::Html, Target::File(plain.clone())),
        ])
        .unwrap_err()
        .to_string();
        assert_eq!(
            message,
            format!(
                "the json and html reports both go to {} (as {} and {}): give each --format its own --output",
                plain.display(),
                dotted.display(),
                plain.display()
            )
        );
        let message = ReportWriter::open(vec![
            report(Format::Junit, Target::File(plain.clone())),
            report(Format::Json, Target::File(around)),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            message.starts_with("the junit and json reports both go to"),
            "{message}"
        );
        let message = ReportWriter::open(vec![
            report(Format::Markdown, Target::File("same.md".into())),
            report(Format::Markdown, Target::File("./same.md".into())),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            message.starts_with(
                "the markdown and markdown reports both go to ./same.md (as same.md and ./same.md)"
            ),
            "{message}"
        );
        assert!(!Path::new("same.md").exists());
        // Different files, and stdout twice over other checks, are fine here.
        ReportWriter::open(vec![
            report(Format::Json, Target::File(plain)),
            report(Format::Html, Target::File(dir.path().join("r.html"))),
        ])
        .unwrap();
    }

    #[test]
    fn checking_a_new_file_leaves_nothing_behind_and_keeps_an_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("new.json");
        let old = dir.path().join("old.json");
        std::fs::write(&old, "before").unwrap();
        ReportWriter::open(vec![
            report(Format::Json, Target::File(new.clone())),
            report(Format::Html, Target::File(old.clone())),
        ])
        .unwrap();
        assert!(!new.exists());
        assert_eq!(std::fs::read_to_string(old).unwrap(), "before");
    }

    #[test]
    fn targets_are_named_in_messages_as_a_person_would() {
        assert_eq!(Target::Stdout.to_string(), "stdout");
        assert_eq!(Target::Stderr.to_string(), "stderr");
        assert_eq!(Target::File("r.xml".into()).to_string(), "r.xml");
    }
}

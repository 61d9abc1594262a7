//! A submission that cannot be copied to its work folder (too large, too many files,
//! unreadable) as the [`Problem`] its grade states, so that the class goes on.
//!
//! Pure: it reads the copy's error and returns a value; it words nothing itself (see
//! `explain`).

use std::path::Path;

use super::explain::Problem;
use crate::run::sandbox::WorkdirError;

/// The problem a submission that cannot be copied has (never called with
/// [`WorkdirError::Scratch`], which is this machine's).
pub(super) fn unusable(e: &WorkdirError, dir: &Path) -> Problem {
    match e {
        WorkdirError::Oversized {
            bytes,
            entries,
            complete,
            limits,
            ..
        } => Problem::Oversized {
            bytes: *bytes,
            entries: *entries,
            complete: *complete,
            max_bytes: limits.bytes,
            max_entries: limits.entries,
        },
        WorkdirError::Unreadable { path, source } => Problem::Unreadable {
            path: path.strip_prefix(dir).unwrap_or(path).display().to_string(),
            why: source
                .raw_os_error()
                .map(|_| io_reason(source))
                .unwrap_or_else(|| source.to_string()),
        },
        WorkdirError::Scratch(source) => Problem::Unreadable {
            path: String::new(),
            why: source.to_string(),
        },
    }
}

/// The system's reason for an I/O error without the path it was annotated with
/// ("Permission denied").
fn io_reason(e: &std::io::Error) -> String {
    std::io::Error::from_raw_os_error(e.raw_os_error().unwrap_or(0))
        .to_string()
        .split(" (os error")
        .next()
        .unwrap_or_default()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grade::explain::problem;
    use crate::run::sandbox::WorkdirLimits;
    use std::path::PathBuf;

    #[test]
    fn an_oversized_submission_is_told_its_size_and_the_limit() {
        let e = WorkdirError::Oversized {
            dir: PathBuf::from("/class/ana"),
            bytes: 500_000_000,
            entries: 12,
            complete: true,
            limits: WorkdirLimits::default(),
        };
        let sentence = problem(&unusable(&e, Path::new("/class/ana")));
        assert!(
            sentence.contains("your submission is 500 MB; the limit is 50 MB"),
            "{sentence}"
        );
        let many = WorkdirError::Oversized {
            dir: PathBuf::from("/class/ana"),
            bytes: 1000,
            entries: 5001,
            complete: false,
            limits: WorkdirLimits::default(),
        };
        let sentence = problem(&unusable(&many, Path::new("/class/ana")));
        assert!(
            sentence.contains("at least 5001 files and folders; the limit is 2000"),
            "{sentence}"
        );
    }

    #[test]
    fn an_unreadable_file_is_named_without_the_graders_path() {
        let e = WorkdirError::Unreadable {
            path: PathBuf::from("/class/ana/secret.py"),
            source: std::io::Error::from_raw_os_error(libc::EACCES),
        };
        let sentence = problem(&unusable(&e, Path::new("/class/ana")));
        assert!(sentence.contains("`secret.py`"), "{sentence}");
        assert!(sentence.contains("Permission denied"), "{sentence}");
        assert!(!sentence.contains("/class"), "{sentence}");
    }
}

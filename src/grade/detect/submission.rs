//! What a submission folder is: a manifest, or sources whose roles were found by reading
//! them; [`detect`] decides which and names the submission.
//!
//! It reads the folder and never runs, builds or connects anything.

use std::path::Path;

use super::model::{DetectError, ManifestSubmission, Submission, MANIFEST_FILE};
use super::roles::detect_sources;
use super::sources::collect_sources;
use crate::registry::load_manifest;

/// Looks at the folder `dir` and says what it holds: a manifest, or the roles its
/// sources play.
pub fn detect(dir: &Path) -> Result<Submission, DetectError> {
    if !dir.is_dir() {
        return Err(DetectError::NotADirectory {
            path: dir.to_path_buf(),
        });
    }
    let folder = match dir.file_name() {
        Some(n) => n.to_string_lossy().into_owned(),
        None => dir
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default(),
    };
    let name = submission_name(&folder).ok_or_else(|| DetectError::Name {
        path: dir.to_path_buf(),
    })?;
    let manifest = dir.join(MANIFEST_FILE);
    if manifest.is_file() {
        let implementations = load_manifest(&manifest, &[])?;
        return Ok(Submission::Manifest(ManifestSubmission {
            name,
            dir: dir.to_path_buf(),
            file: manifest,
            implementations,
        }));
    }
    let mut files = Vec::new();
    collect_sources(dir, Path::new(""), 0, &mut files)?;
    Ok(Submission::Sources(detect_sources(name, dir, files)))
}

/// Turns a folder name into `[a-z0-9-]+`: ASCII lowercased, every run of other
/// characters one `-`, none at the ends. `None` if nothing is left.
pub fn submission_name(folder: &str) -> Option<String> {
    let mut out = String::new();
    for c in folder.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    (!out.is_empty()).then_some(out)
}

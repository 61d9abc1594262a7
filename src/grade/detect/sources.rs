//! Reading a submission's source files: which files to read, in a fixed order, and their
//! text with comments blanked out so a comment cannot change what the code is found to do.
//!
//! It reads files and never follows a symbolic link out of the submission.

use std::path::{Path, PathBuf};

use super::language::Language;
use super::model::DetectError;

/// Folders deeper than this below the submission are not searched.
const MAX_DEPTH: usize = 4;

/// Files larger than this are not source code a student wrote by hand; they are skipped.
const MAX_FILE_BYTES: u64 = 1 << 20;

/// Folders that hold build output, dependencies or tool state, never the student's code.
const SKIPPED_DIRS: [&str; 6] = [
    "node_modules",
    "target",
    "__pycache__",
    "build",
    "out",
    "venv",
];

/// A source file read from the submission.
pub(super) struct SourceFile {
    /// Relative to the submission folder.
    pub(super) path: PathBuf,
    pub(super) language: Language,
    /// The text with comments blanked out (strings kept), so a comment that mentions
    /// `bind` or a port cannot change the verdict.
    pub(super) code: String,
}

fn read_error(path: &Path, source: std::io::Error) -> DetectError {
    DetectError::Read {
        path: path.to_path_buf(),
        source,
    }
}

/// Collects source files in a deterministic order, without following symbolic links
/// (a submission could link to `/`).
pub(super) fn collect_sources(
    root: &Path,
    rel: &Path,
    depth: usize,
    out: &mut Vec<SourceFile>,
) -> Result<(), DetectError> {
    let dir = root.join(rel);
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .map_err(|e| read_error(&dir, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| read_error(&dir, e))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let meta = std::fs::symlink_metadata(&path).map_err(|e| read_error(&path, e))?;
        if name.starts_with('.') || meta.file_type().is_symlink() {
            continue;
        }
        if meta.is_dir() {
            if depth < MAX_DEPTH && !SKIPPED_DIRS.contains(&name.as_str()) {
                collect_sources(root, &rel.join(&name), depth + 1, out)?;
            }
            continue;
        }
        let Some(language) = Path::new(&name)
            .extension()
            .and_then(|e| Language::from_extension(&e.to_string_lossy()))
        else {
            continue;
        };
        if !meta.is_file() || meta.len() > MAX_FILE_BYTES {
            continue;
        }
        let bytes = std::fs::read(&path).map_err(|e| read_error(&path, e))?;
        let text = String::from_utf8_lossy(&bytes);
        out.push(SourceFile {
            path: rel.join(&name),
            language,
            code: strip_comments(&text, language),
        });
    }
    Ok(())
}

/// Blanks out comments, keeping string literals and line breaks.
pub(super) fn strip_comments(text: &str, language: Language) -> String {
    let python = matches!(language, Language::Python2 | Language::Python3);
    // In Rust a `'` starts a lifetime as often as a character; only `"` delimits.
    let quotes: &[char] = match language {
        Language::Python2 | Language::Python3 | Language::Java | Language::C => &['"', '\''],
        Language::JavaScript => &['"', '\'', '`'],
        Language::Go => &['"', '`'],
        Language::Rust => &['"'],
    };
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if quotes.contains(&c) {
            let triple = python && next == Some(c) && chars.get(i + 2) == Some(&c);
            let width = if triple { 3 } else { 1 };
            out.extend(&chars[i..i + width]);
            i += width;
            while i < chars.len() {
                if chars[i] == '\\' && c != '`' {
                    out.extend(&chars[i..(i + 2).min(chars.len())]);
                    i += 2;
                    continue;
                }
                let closes = if triple {
                    chars[i..].starts_with(&[c, c, c])
                } else {
                    chars[i] == c
                };
                if closes {
                    out.extend(&chars[i..i + width]);
                    i += width;
                    break;
                }
                if chars[i] == '\n' && !triple && c != '`' {
                    // An unterminated literal ends at the line, as in a lenient reader.
                    break;
                }
                out.push(chars[i]);
                i += 1;
            }
            continue;
        }
        let line_comment = if python {
            c == '#'
        } else {
            c == '/' && next == Some('/')
        };
        if line_comment {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
            continue;
        }
        if !python && c == '/' && next == Some('*') {
            out.push_str("  ");
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                out.push(if chars[i] == '\n' { '\n' } else { ' ' });
                i += 1;
            }
            out.push_str("  ");
            i += 2;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

/// The path with `/` separators, as reports and commands write it.
pub(super) fn slash_path(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

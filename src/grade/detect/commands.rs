//! The build and run commands for one source file, per language: `javac` and `java`,
//! `gcc`, `go build`, `rustc` or `cargo`, or the interpreter.
//!
//! A Java file that declares a `package` is compiled with the other files of its package
//! into one class folder ([`JAVA_CLASSES`]) and run by its qualified class name, as
//! `java -cp . Name` cannot find a class that lives in a package.
//!
//! It only writes argv words; nothing here checks that a program exists or runs it.

use std::path::{Path, PathBuf};

use super::language::Language;
use super::pattern::regex;
use super::sources::{slash_path, SourceFile};
use crate::registry::CommandTemplate;

/// The class folder, relative to the submission folder, that `javac -d` fills with the
/// classes of the Java files that declare a package. Hidden, so it is never read as a
/// source folder.
pub(super) const JAVA_CLASSES: &str = ".classes";

pub(super) fn template(words: &[String]) -> CommandTemplate {
    CommandTemplate {
        words: words.to_vec(),
    }
}

/// Where the file's binary goes: beside it, named after it.
fn binary_path(file: &Path) -> String {
    let stem = file.with_extension("");
    let s = slash_path(&stem);
    if s.contains('/') {
        s
    } else {
        format!("./{s}")
    }
}

/// The Cargo project a Rust file belongs to: the nearest `Cargo.toml` up to the
/// submission folder, relative to it.
fn cargo_project(root: &Path, file: &Path) -> Option<PathBuf> {
    let mut dir = file.parent();
    while let Some(d) = dir {
        if root.join(d).join("Cargo.toml").is_file() {
            return Some(d.to_path_buf());
        }
        dir = d.parent();
    }
    None
}

/// The `(build, run)` commands for one file; `files` are all the submission's sources
/// (a Java package is compiled as a whole).
pub(super) fn commands(
    root: &Path,
    file: &SourceFile,
    language: Language,
    files: &[SourceFile],
) -> (Option<CommandTemplate>, CommandTemplate) {
    let path = slash_path(&file.path);
    let s = |words: &[&str]| template(&words.iter().map(|w| w.to_string()).collect::<Vec<_>>());
    match language {
        Language::Python3 => (None, s(&["python3", &path])),
        Language::Python2 => (None, s(&["python2", &path])),
        Language::JavaScript => (None, s(&["node", &path])),
        Language::Java if java_package(&file.code).is_some() => java_packaged(file, files),
        Language::Java => {
            let class = java_class_name(file);
            let classpath = match file.path.parent() {
                Some(p) if !p.as_os_str().is_empty() => slash_path(p),
                _ => ".".to_string(),
            };
            (
                Some(s(&["javac", &path])),
                s(&["java", "-cp", &classpath, &class]),
            )
        }
        Language::C => {
            let out = binary_path(&file.path);
            (Some(s(&["gcc", "-O2", "-o", &out, &path])), s(&[&out]))
        }
        Language::Go => {
            let out = binary_path(&file.path);
            (Some(s(&["go", "build", "-o", &out, &path])), s(&[&out]))
        }
        Language::Rust => match cargo_project(root, &file.path) {
            Some(project) => {
                let manifest = slash_path(&project.join("Cargo.toml"));
                let bin = if file.path.parent().and_then(Path::file_name)
                    == Some(std::ffi::OsStr::new("bin"))
                {
                    file.path
                        .file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_default()
                } else {
                    cargo_package_name(&root.join(&project).join("Cargo.toml"))
                        .unwrap_or_else(|| "main".to_string())
                };
                // Always has a `/`, so it is never looked up on `PATH`.
                let exe = slash_path(&project.join("target").join("release").join(bin));
                (
                    Some(s(&[
                        "cargo",
                        "build",
                        "--release",
                        "--offline",
                        "--manifest-path",
                        &manifest,
                    ])),
                    s(&[&exe]),
                )
            }
            None => {
                let out = binary_path(&file.path);
                (Some(s(&["rustc", "-O", "-o", &out, &path])), s(&[&out]))
            }
        },
    }
}

/// The commands for a Java file in package `pkg`: every file of the package compiled in
/// one `javac -d` (in path order, so the roles of one package share one build), then
/// the qualified class name run from the class folder.
fn java_packaged(
    file: &SourceFile,
    files: &[SourceFile],
) -> (Option<CommandTemplate>, CommandTemplate) {
    let package = java_package(&file.code).unwrap_or_default();
    let mut build = vec![
        "javac".to_string(),
        "-d".to_string(),
        JAVA_CLASSES.to_string(),
    ];
    build.extend(
        files
            .iter()
            .filter(|f| {
                f.language == Language::Java && java_package(&f.code).as_deref() == Some(&package)
            })
            .map(|f| slash_path(&f.path)),
    );
    let class = java_class_name(file);
    let run = vec![
        "java".to_string(),
        "-cp".to_string(),
        JAVA_CLASSES.to_string(),
        format!("{package}.{class}"),
    ];
    (Some(template(&build)), template(&run))
}

/// The package a Java file declares (`package lab2;` gives `lab2`), if any.
pub(super) fn java_package(code: &str) -> Option<String> {
    regex!(r"(?m)^\s*package\s+([A-Za-z_][\w]*(?:\s*\.\s*[A-Za-z_]\w*)*)\s*;")
        .captures(code)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().chars().filter(|c| !c.is_whitespace()).collect())
}

/// The class that holds `main`, or the file's name when none is found.
fn java_class_name(file: &SourceFile) -> String {
    java_main_class(&file.code).unwrap_or_else(|| {
        file.path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    })
}

/// The class whose body holds `main`: the last class declared before it.
fn java_main_class(code: &str) -> Option<String> {
    let main = regex!(r"\bstatic\s+void\s+main\s*\(").find(code)?.start();
    regex!(r"\bclass\s+(\w+)")
        .captures_iter(&code[..main])
        .last()
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_string())
}

fn cargo_package_name(manifest: &Path) -> Option<String> {
    let text = std::fs::read_to_string(manifest).ok()?;
    let value: toml::Value = toml::from_str(&text).ok()?;
    value
        .get("package")?
        .get("name")?
        .as_str()
        .map(str::to_string)
}

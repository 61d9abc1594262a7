//! A folder that holds a class rather than one submission: `shout grade submissions`
//! where `shout grade submissions/*` was meant. Detection would search its subfolders
//! and grade one student's programs under the class folder's name, so it is caught
//! before grading.

use std::path::Path;

use super::language::Language;

/// At least this many subfolders with programs of their own, and none at the top: a
/// class. A student who splits the work into `UDP/` and `TCP/` has two.
const AT_LEAST: usize = 3;

/// How many submissions `dir` seems to hold, when it looks like a folder of
/// submissions (no program of its own, and [`AT_LEAST`] subfolders with programs);
/// `None` for anything else, including a folder that cannot be read (grading says why).
pub fn submissions_inside(dir: &Path) -> Option<usize> {
    let entries: Vec<_> = std::fs::read_dir(dir).ok()?.flatten().collect();
    if entries.iter().any(|e| is_program(&e.path())) {
        return None;
    }
    let with_programs = entries
        .iter()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .filter(|e| holds_programs(&e.path(), 3))
        .count();
    (with_programs >= AT_LEAST).then_some(with_programs)
}

fn is_program(path: &Path) -> bool {
    path.is_file()
        && path
            .extension()
            .and_then(|e| Language::from_extension(&e.to_string_lossy()))
            .is_some()
}

/// Whether `dir` or a folder under it (to `depth` levels) holds a program.
fn holds_programs(dir: &Path, depth: usize) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        let Ok(t) = e.file_type() else { return false };
        if t.is_dir() {
            depth > 0 && holds_programs(&e.path(), depth - 1)
        } else {
            is_program(&e.path())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str) {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, "print('x')\n").unwrap();
    }

    #[test]
    fn a_folder_of_student_folders_is_a_class_and_a_split_submission_is_not() {
        let class = tempfile::tempdir().unwrap();
        for s in ["alice", "bob", "carol"] {
            write(class.path(), &format!("{s}/UDPClient.py"));
        }
        write(class.path(), "README.md");
        assert_eq!(submissions_inside(class.path()), Some(3));

        let split = tempfile::tempdir().unwrap();
        write(split.path(), "UDP/UDPClient.py");
        write(split.path(), "TCP/TCPClient.py");
        assert_eq!(submissions_inside(split.path()), None);

        let one = tempfile::tempdir().unwrap();
        write(one.path(), "UDPClient.py");
        for s in ["a", "b", "c"] {
            write(one.path(), &format!("old/{s}/x.py"));
        }
        assert_eq!(submissions_inside(one.path()), None, "programs at the top");
    }
}

//! The library's shape: data flows one way (registry → corpus → plan → run → verdict →
//! results → reports), so no file imports a stage after its own, and no two files import
//! each other, directly or around a loop. Read from the sources, so a new import that
//! breaks either rule fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use regex::Regex;

use crate::support::root;

/// The library's top-level modules, earliest stage first: a file may import its own
/// module and the ones before it.
const STAGES: [&str; 14] = [
    "text",
    "proto",
    "roles",
    "registry",
    "corpus",
    "plan",
    "run",
    "verdict",
    "results",
    "expectations",
    "report",
    "output",
    "harness",
    "grade",
];

type Module = Vec<String>;

/// Every library file by its module path (`src/verdict/judge.rs` → `verdict::judge`).
fn library_files() -> BTreeMap<Module, PathBuf> {
    let src = root().join("src");
    let mut out = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().map_or(true, |e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(&src).unwrap().with_extension("");
            let mut module: Module = rel.iter().map(|c| c.to_string_lossy().into()).collect();
            if module.last().is_some_and(|l| l == "mod") {
                module.pop();
            }
            if module == ["lib"] {
                module.clear();
            }
            out.insert(module, path);
        }
    }
    // The binary's own modules (declared in main.rs) are not the library's.
    let binary = ["main", "cli", "commands", "options", "progress", "signals"];
    out.retain(|m, _| m.first().map_or(true, |f| !binary.contains(&f.as_str())));
    out
}

/// The code of a file without its tests and comments.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The files `module` refers to through `crate::…`, `super::…` and `self::…` paths,
/// including each first item of a `{…}` group.
fn imports(module: &Module, path: &Path, files: &BTreeMap<Module, PathBuf>) -> BTreeSet<Module> {
    let path_re = Regex::new(r"\b(crate|super|self)((?:::\w+)+)(::\{[^;]*?\})?").unwrap();
    let mut out = BTreeSet::new();
    for m in path_re.captures_iter(&code(path)) {
        let mut segments: Vec<String> = m[2]
            .trim_start_matches(':')
            .split("::")
            .map(String::from)
            .collect();
        let mut start = match &m[1] {
            "crate" => Vec::new(),
            // `super` is the parent of the file's module, `self` the module itself
            // (for `x/mod.rs` and `x.rs` alike: both are module `x`).
            "super" => module[..module.len().saturating_sub(1)].to_vec(),
            _ => module.clone(),
        };
        while segments.first().is_some_and(|s| s == "super") {
            start.pop();
            segments.remove(0);
        }
        let base: Module = start.into_iter().chain(segments).collect();
        let mut targets = vec![base.clone()];
        if let Some(group) = m.get(3) {
            let inner = group
                .as_str()
                .trim_start_matches("::{")
                .trim_end_matches('}');
            for item in inner.split(',') {
                let first = item
                    .trim()
                    .split([':', ' ', '{'])
                    .next()
                    .unwrap_or_default();
                if !first.is_empty() {
                    targets.push(base.iter().cloned().chain([first.to_string()]).collect());
                }
            }
        }
        for t in targets {
            // The deepest file the path names.
            if let Some(file) = (1..=t.len())
                .rev()
                .map(|n| t[..n].to_vec())
                .find(|p| files.contains_key(p))
            {
                if &file != module {
                    out.insert(file);
                }
            }
        }
    }
    out
}

fn name(m: &Module) -> String {
    if m.is_empty() {
        "lib".into()
    } else {
        m.join("::")
    }
}

fn graph() -> BTreeMap<Module, BTreeSet<Module>> {
    let files = library_files();
    assert!(files.len() > 40, "found only {} library files", files.len());
    files
        .iter()
        .map(|(m, p)| (m.clone(), imports(m, p, &files)))
        .collect()
}

#[test]
fn no_file_imports_a_later_stage() {
    let rank = |m: &Module| m.first().and_then(|f| STAGES.iter().position(|s| s == f));
    let mut against = Vec::new();
    for (from, tos) in graph() {
        for to in tos {
            if let (Some(a), Some(b)) = (rank(&from), rank(&to)) {
                if b > a {
                    against.push(format!("{} → {}", name(&from), name(&to)));
                }
            }
        }
    }
    assert!(
        against.is_empty(),
        "imports against the data flow: {against:?}"
    );
}

#[test]
fn no_two_files_import_each_other_even_around_a_loop() {
    let g = graph();
    // Depth-first search; a file met again while still on the path closes a loop.
    fn visit(
        m: &Module,
        g: &BTreeMap<Module, BTreeSet<Module>>,
        path: &mut Vec<Module>,
        done: &mut BTreeSet<Module>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == m) {
            return Some(path[at..].iter().chain([m]).map(name).collect());
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.clone());
        for next in g.get(m).into_iter().flatten() {
            if let Some(cycle) = visit(next, g, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(m.clone());
        None
    }
    let mut done = BTreeSet::new();
    for m in g.keys() {
        if let Some(cycle) = visit(m, &g, &mut Vec::new(), &mut done) {
            panic!("an import cycle: {}", cycle.join(" → "));
        }
    }
}

#[test]
fn the_checks_see_imports_through_groups_and_super() {
    // The checks above are only as good as what they read: an import written as a
    // group through `super` must be seen.
    let g = graph();
    let judge: Module = vec!["verdict".into(), "judge".into()];
    let compare: Module = vec!["verdict".into(), "compare".into()];
    let finding: Module = vec!["verdict".into(), "finding".into()];
    assert!(g[&judge].contains(&compare), "{:?}", g[&judge]);
    assert!(g[&judge].contains(&finding), "{:?}", g[&judge]);
    // lib.rs declares every module but imports none of them.
    assert!(g[&Vec::new()].is_empty(), "{:?}", g[&Vec::new()]);
}

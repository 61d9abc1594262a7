//! Known failures: a TOML list of unit ids or glob patterns, each with a reason. A failure
//! it lists becomes `xfail`; an entry whose units pass becomes `xpass`, which fails the
//! run, so the list cannot quietly go out of date.
//!
//! ```toml
//! [[expect]]
//! id = "udp::python-client::alice-server::sharp-s"
//! reason = "alice maps case one character at a time"
//!
//! [[expect]]
//! id = "*::bob-server::unicode-1?-*"   # `*` and `?` match like a shell glob
//! reason = "bob's runtime follows an older Unicode"
//!
//! [[expect]]
//! id = "tcp::*::carol-server::*"
//! reason = "carol's TCP server adds a newline to every reply"
//! strict = true                        # every unit it names must fail
//! ```
//!
//! How an entry is judged (each unit by the first entry that names it):
//! - an exact id: the unit fails → `xfail`; it passes → `xpass`.
//! - a glob: it holds when *any* of its units fails; those are `xfail` and the ones that
//!   pass stay `pass`. When none fails, the entry is stale and is reported once: the first
//!   of its passing units (in id order) is `xpass`, naming the pattern; the others stay
//!   `pass`. In a shard (`--partition`) a glob with no failing unit is not judged, since
//!   its failures may be in another shard: `shout merge --expectations` judges it.
//! - a glob with `strict = true`: like a list of exact ids; every unit that passes is
//!   `xpass`.
//!
//! `--update-expectations` edits the file in place ([`update_text`]): comments, reasons
//! and globs stay; entries are added for new failures and removed when stale.
//!
//! Nothing here runs or prints; the command line words the [`Change`]s it gets.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::plan::glob;
use crate::results::{KnownFailure, Results, Summary};
use crate::verdict::Verdict;

/// One listed known failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// A unit id, or a glob over unit ids.
    pub id: String,
    /// Why it fails, shown in reports.
    pub reason: String,
    /// For a glob: every unit it names must fail (each one that passes is `xpass`),
    /// instead of at least one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub strict: bool,
}

impl Expectation {
    /// Whether `id` is a glob (`*` or `?`) rather than one unit's id.
    pub fn is_pattern(&self) -> bool {
        crate::plan::is_glob(&self.id)
    }

    /// Whether each unit it names is judged on its own: an exact id or a strict glob.
    fn each_unit(&self) -> bool {
        self.strict || !self.is_pattern()
    }
}

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectations {
    /// The entries, in file order.
    #[serde(default)]
    pub expect: Vec<Expectation>,
}

/// What the expectations file is needed for, to say what to do when it is missing.
const CREATE_IT: &str = "; create it or run with --update-expectations to write it";

/// The expectations file is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ExpectationsError {
    /// It cannot be read.
    #[error("expectations file {}: {source}{}", path.display(), if source.kind() == std::io::ErrorKind::NotFound { CREATE_IT } else { "" })]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// It cannot be written (`--update-expectations`).
    #[error("cannot write the expectations file {}: {source}; check that its folder exists and is writable", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// It is not valid.
    #[error("expectations file {}{}: {message}\n  expected entries like:\n  [[expect]]\n  id = \"udp::python-client::alice-server::*\"\n  reason = \"why it is known to fail\"", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The 1-based line, when known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
}

/// What applying expectations changed, for the user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Units turned into `xfail`.
    pub xfail: usize,
    /// Units turned into `xpass`.
    pub xpass: usize,
    /// Entries that name no unit of this run (harmless in a filtered or sharded run).
    pub unmatched: Vec<String>,
    /// Entries whose every unit is judged by an earlier entry.
    pub shadowed: Vec<String>,
    /// Globs with no failing unit in this shard, left to `shout merge` to judge.
    pub deferred: Vec<String>,
}

/// What a run says about one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Standing {
    /// It names no unit of this run.
    Unmatched,
    /// It names units, but an earlier entry judges each of them.
    Shadowed,
    /// Some of its units fail (indices into the results). For an exact id or a strict
    /// glob, the passing ones are each `xpass`; for a glob they are plain `pass`.
    Holds {
        /// Its units that fail.
        failing: Vec<usize>,
        /// Its units that pass.
        passing: Vec<usize>,
    },
    /// None of its units fails, and some pass: it is out of date.
    Stale {
        /// Its units that pass.
        passing: Vec<usize>,
    },
    /// Its units neither pass nor fail (`info`, `skip`), or it is a glob with no
    /// failing unit in a shard.
    Undecided {
        /// A glob left to `shout merge` to judge.
        deferred: bool,
    },
}

/// A unit's verdict before any expectations: `xfail` was a failure, `xpass` a pass.
fn raw(v: Verdict) -> Verdict {
    match v {
        Verdict::Xfail => Verdict::Fail,
        Verdict::Xpass => Verdict::Pass,
        Verdict::Pass | Verdict::Fail | Verdict::Info | Verdict::NonStrict | Verdict::Skip => v,
    }
}

impl Expectations {
    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<Expectations, ExpectationsError> {
        let text = std::fs::read_to_string(path).map_err(|source| ExpectationsError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Expectations::parse(&text, path)
    }

    /// Parses `text` (read from `path`, named in errors).
    pub fn parse(text: &str, path: &Path) -> Result<Expectations, ExpectationsError> {
        let invalid = |line, message| ExpectationsError::Invalid {
            path: path.to_path_buf(),
            line,
            message,
        };
        let parsed: Expectations = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| crate::text::line_at(text, s.start));
            invalid(line, e.message().to_string())
        })?;
        for e in &parsed.expect {
            let line = text
                .lines()
                .position(|l| l.contains(&format!("\"{}\"", e.id)))
                .map(|n| n + 1);
            if e.id.trim().is_empty() {
                return Err(invalid(line, "an `id` is empty".into()));
            }
            if e.reason.trim().is_empty() {
                return Err(invalid(
                    line,
                    format!("`{}` has no reason: say why it is known to fail", e.id),
                ));
            }
        }
        Ok(parsed)
    }

    /// The first entry matching `id`.
    pub fn find(&self, id: &str) -> Option<&Expectation> {
        self.expect.iter().find(|e| glob(&e.id, id))
    }

    /// Which entry judges each unit: the first that names it.
    fn owners(&self, results: &Results) -> Vec<Option<usize>> {
        results
            .results
            .iter()
            .map(|r| self.expect.iter().position(|e| glob(&e.id, &r.id)))
            .collect()
    }

    /// What `results` say about each entry, and which entry judges each unit.
    fn judge(&self, results: &Results) -> (Vec<Standing>, Vec<Option<usize>>) {
        let owners = self.owners(results);
        let sharded = results.partition.is_some();
        let standings = self
            .expect
            .iter()
            .enumerate()
            .map(|(k, e)| {
                let mine: Vec<usize> = (0..owners.len())
                    .filter(|&i| owners[i] == Some(k))
                    .collect();
                if mine.is_empty() {
                    return if results.results.iter().any(|r| glob(&e.id, &r.id)) {
                        Standing::Shadowed
                    } else {
                        Standing::Unmatched
                    };
                }
                let with = |v: Verdict| -> Vec<usize> {
                    mine.iter()
                        .copied()
                        .filter(|&i| raw(results.results[i].verdict) == v)
                        .collect()
                };
                let (failing, passing) = (with(Verdict::Fail), with(Verdict::Pass));
                if !failing.is_empty() {
                    Standing::Holds { failing, passing }
                } else if passing.is_empty() {
                    Standing::Undecided { deferred: false }
                } else if sharded && !e.each_unit() {
                    Standing::Undecided { deferred: true }
                } else {
                    Standing::Stale { passing }
                }
            })
            .collect();
        (standings, owners)
    }

    /// Judges every unit an entry names (see the module's documentation), and recounts.
    /// Verdicts are judged afresh: an `xfail` or `xpass` already in `results` (a shard's,
    /// when merging) counts as the failure or pass it was. `info` and `skip` are left
    /// alone: they are not failures to expect.
    pub fn apply(&self, results: &mut Results) -> Applied {
        for r in &mut results.results {
            r.verdict = raw(r.verdict);
            r.known = None;
        }
        let (standings, _) = self.judge(results);
        let mut applied = Applied::default();
        for (e, standing) in self.expect.iter().zip(standings) {
            let known = || KnownFailure {
                id: e.id.clone(),
                reason: e.reason.clone(),
            };
            let (xfail, xpass): (Vec<usize>, Vec<usize>) = match standing {
                Standing::Unmatched => {
                    applied.unmatched.push(e.id.clone());
                    continue;
                }
                Standing::Shadowed => {
                    applied.shadowed.push(e.id.clone());
                    continue;
                }
                Standing::Undecided { deferred } => {
                    if deferred {
                        applied.deferred.push(e.id.clone());
                    }
                    continue;
                }
                Standing::Holds { failing, passing } if e.each_unit() => (failing, passing),
                Standing::Holds { failing, .. } => (failing, Vec::new()),
                Standing::Stale { passing } if e.each_unit() => (Vec::new(), passing),
                // A stale glob is reported once, on its first passing unit.
                Standing::Stale { passing } => (Vec::new(), passing.into_iter().take(1).collect()),
            };
            for i in xfail {
                results.results[i].verdict = Verdict::Xfail;
                results.results[i].known = Some(known());
                applied.xfail += 1;
            }
            for i in xpass {
                results.results[i].verdict = Verdict::Xpass;
                results.results[i].known = Some(known());
                applied.xpass += 1;
            }
        }
        results.summary = Summary::count(&results.results, results.summary.wall_seconds);
        applied
    }
}

/// How much of the plan a run covers, which decides what an entry naming none of its
/// units means when updating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    /// Every unit of the plan (no filter, no partition): an entry naming no unit is dead.
    Whole,
    /// Part of it (a filter, a shard, `shout check`, a merge): an entry naming no unit may
    /// name units this run left out, so it is kept.
    Part,
}

/// Why `--update-expectations` removed an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removal {
    /// An exact id whose unit passes.
    Passes,
    /// A glob none of whose units fails.
    NoneFails {
        /// How many of its units pass.
        passing: usize,
    },
    /// It names no unit, and the run covers every unit.
    NamesNoUnit,
}

/// One thing `--update-expectations` did to the file, or chose not to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// An entry for a failing unit that no entry named.
    Added {
        /// The unit's id.
        id: String,
    },
    /// An entry taken out.
    Removed {
        /// The entry's id or pattern.
        id: String,
        /// Why.
        why: Removal,
    },
    /// A strict glob some of whose units pass, replaced in place by the ids of its units
    /// that fail (with its reason).
    Narrowed {
        /// The pattern.
        id: String,
        /// How many of its units fail (the entries that replace it).
        failing: usize,
        /// How many of its units pass.
        passing: usize,
    },
    /// An entry naming no unit of a run that covers part of the plan, left as it was.
    Kept {
        /// The entry's id or pattern.
        id: String,
    },
}

impl Change {
    /// Whether the file was changed.
    pub fn edits(&self) -> bool {
        match self {
            Change::Added { .. } | Change::Removed { .. } | Change::Narrowed { .. } => true,
            Change::Kept { .. } => false,
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Added { id } => write!(f, "added `{id}`: a new failure"),
            Change::Removed { id, why } => match why {
                Removal::Passes => write!(f, "removed `{id}`: it passes now"),
                Removal::NoneFails { passing } => write!(
                    f,
                    "removed `{id}`: none of the units it names fails now ({passing} pass)"
                ),
                Removal::NamesNoUnit => write!(
                    f,
                    "removed `{id}`: it names no unit, and this run covers every unit"
                ),
            },
            Change::Narrowed {
                id,
                failing,
                passing,
            } => write!(
                f,
                "replaced the strict `{id}` by the ids of its {failing} failing unit(s): {passing} of its units pass now"
            ),
            Change::Kept { id } => write!(
                f,
                "kept `{id}`: it names no unit of this run, which covers only part of the plan (a filter or a shard); it may name units left out"
            ),
        }
    }
}

/// A rewritten expectations file.
#[derive(Debug, Clone)]
pub struct Update {
    /// The new text: the old one with entries added and removed, comments kept.
    pub text: String,
    /// The entries it holds.
    pub expectations: Expectations,
    /// What was done, in file order, then the additions.
    pub changes: Vec<Change>,
}

impl Update {
    /// Whether the file's text changed.
    pub fn edits(&self) -> bool {
        self.changes.iter().any(Change::edits)
    }
}

/// The first lines of a file `--update-expectations` creates.
const HEADER: &str = "# Known failures (shout --expectations): a unit id, or a glob that holds while any unit\n# it names fails; `strict = true` asks every unit it names to fail.\n";

/// One entry being rewritten: as it was in the file, or a new one.
enum Slot {
    /// The file's entry at this index, kept as written.
    Old(usize),
    /// A new entry for one failing unit.
    New(Expectation),
}

/// The file that describes `results`: `old` (the file's text, or `None` when it does not
/// exist yet) with an entry added for each failing unit no entry names, stale entries
/// removed (and strict globs narrowed to their failing units), and entries naming no unit
/// removed only when the run covers the whole plan. Comments, reasons, globs and order
/// are kept; `path` names the file in errors.
pub fn update_text(
    old: Option<&str>,
    path: &Path,
    results: &Results,
    coverage: Coverage,
) -> Result<Update, ExpectationsError> {
    let current = match old {
        Some(text) => Expectations::parse(text, path)?,
        None => Expectations::default(),
    };
    let (standings, owners) = current.judge(results);
    let mut slots: Vec<Slot> = Vec::new();
    let mut changes: Vec<Change> = Vec::new();
    for (k, (e, standing)) in current.expect.iter().zip(standings).enumerate() {
        let id = e.id.clone();
        match standing {
            Standing::Unmatched if coverage == Coverage::Whole => changes.push(Change::Removed {
                id,
                why: Removal::NamesNoUnit,
            }),
            Standing::Unmatched => {
                changes.push(Change::Kept { id });
                slots.push(Slot::Old(k));
            }
            Standing::Stale { passing } => changes.push(Change::Removed {
                id,
                why: if e.is_pattern() {
                    Removal::NoneFails {
                        passing: passing.len(),
                    }
                } else {
                    Removal::Passes
                },
            }),
            Standing::Holds { failing, passing } if e.strict && !passing.is_empty() => {
                changes.push(Change::Narrowed {
                    id,
                    failing: failing.len(),
                    passing: passing.len(),
                });
                slots.extend(failing.iter().map(|&i| {
                    Slot::New(Expectation {
                        id: results.results[i].id.clone(),
                        reason: e.reason.clone(),
                        strict: false,
                    })
                }));
            }
            Standing::Holds { .. } | Standing::Shadowed | Standing::Undecided { .. } => {
                slots.push(Slot::Old(k));
            }
        }
    }
    for (r, owner) in results.results.iter().zip(&owners) {
        if owner.is_none() && raw(r.verdict) == Verdict::Fail {
            let reason = r
                .finding
                .as_ref()
                .map(|f| f.sentence())
                .unwrap_or_else(|| "differs from the reference".into());
            changes.push(Change::Added { id: r.id.clone() });
            slots.push(Slot::New(Expectation {
                id: r.id.clone(),
                reason,
                strict: false,
            }));
        }
    }
    let text = match old {
        Some(text) if !changes.iter().any(Change::edits) => text.to_string(),
        _ => rewrite(old, path, &slots)?,
    };
    let expectations = Expectations::parse(&text, path)?;
    Ok(Update {
        text,
        expectations,
        changes,
    })
}

/// A new `[[expect]]` table for `e`.
fn new_table(e: &Expectation) -> toml_edit::Table {
    let mut t = toml_edit::Table::new();
    t.insert("id", toml_edit::value(e.id.as_str()));
    t.insert("reason", toml_edit::value(e.reason.as_str()));
    if e.strict {
        t.insert("strict", toml_edit::value(true));
    }
    t.decor_mut().set_prefix("\n");
    t
}

/// `expect = [{ … }, …]` holding `slots`: the old entries as written, new ones inline.
fn inline_entries(array: &toml_edit::Array, slots: &[Slot]) -> toml_edit::Array {
    let olds: Vec<toml_edit::Value> = array.iter().cloned().collect();
    let mut out = toml_edit::Array::new();
    for slot in slots {
        match slot {
            Slot::Old(k) => out.push_formatted(olds[*k].clone()),
            Slot::New(e) => out.push(new_table(e).into_inline_table()),
        }
    }
    out.fmt();
    out
}

/// `[[expect]]` tables holding `slots`: the old ones as written (comments and all).
fn table_entries(tables: &toml_edit::ArrayOfTables, slots: &[Slot]) -> toml_edit::ArrayOfTables {
    let olds: Vec<toml_edit::Table> = tables.iter().cloned().collect();
    let mut out = toml_edit::ArrayOfTables::new();
    for slot in slots {
        out.push(match slot {
            Slot::Old(k) => olds[*k].clone(),
            Slot::New(e) if out.is_empty() => {
                let mut t = new_table(e);
                t.decor_mut().set_prefix("");
                t
            }
            Slot::New(e) => new_table(e),
        });
    }
    out
}

/// The first `[[expect]]` tables of a file that had none, `lead` (its comments, or a
/// header) above them.
fn first_entries(lead: &str, slots: &[Slot]) -> toml_edit::ArrayOfTables {
    let mut out = toml_edit::ArrayOfTables::new();
    for slot in slots {
        if let Slot::New(e) = slot {
            let mut t = new_table(e);
            if out.is_empty() && !lead.trim().is_empty() {
                t.decor_mut().set_prefix(format!("{}\n\n", lead.trim_end()));
            }
            out.push(t);
        }
    }
    out
}

/// `old` (or a new file) holding the entries of `slots`, in that order.
fn rewrite(old: Option<&str>, path: &Path, slots: &[Slot]) -> Result<String, ExpectationsError> {
    let invalid = |message: String| ExpectationsError::Invalid {
        path: path.to_path_buf(),
        line: None,
        message,
    };
    let mut doc: toml_edit::DocumentMut = old
        .unwrap_or("")
        .parse()
        .map_err(|e: toml_edit::TomlError| invalid(e.message().to_string()))?;
    match doc.remove("expect") {
        // `expect = [{ id = …, reason = … }, …]`: an inline array stays one.
        Some(toml_edit::Item::Value(toml_edit::Value::Array(array))) => {
            doc.insert("expect", toml_edit::value(inline_entries(&array, slots)));
        }
        Some(toml_edit::Item::ArrayOfTables(tables)) => {
            doc.insert(
                "expect",
                toml_edit::Item::ArrayOfTables(table_entries(&tables, slots)),
            );
        }
        None => {
            // A file without entries keeps its comments (the document's trailing text)
            // above the first entry; a new file gets a header.
            let lead = match old {
                Some(_) => doc.trailing().as_str().unwrap_or("").to_string(),
                None => HEADER.to_string(),
            };
            let out = first_entries(&lead, slots);
            if !out.is_empty() {
                doc.set_trailing("");
                doc.insert("expect", toml_edit::Item::ArrayOfTables(out));
            }
        }
        Some(other) => {
            return Err(invalid(format!(
                "`expect` is a {}, not a list of [[expect]] entries",
                other.type_name()
            )))
        }
    }
    let mut text = doc.to_string();
    if old.is_none() && text.is_empty() {
        text = HEADER.to_string();
    }
    Ok(text)
}

/// Reads `path` (which may not exist yet), rewrites it to describe `results` (see
/// [`update_text`]) and writes it back when anything changed or it did not exist.
pub fn update_file(
    path: &Path,
    results: &Results,
    coverage: Coverage,
) -> Result<Update, ExpectationsError> {
    let old = match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(ExpectationsError::Read {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let update = update_text(old.as_deref(), path, results, coverage)?;
    if old.is_none() || update.edits() {
        std::fs::write(path, &update.text).map_err(|source| ExpectationsError::Write {
            path: path.to_path_buf(),
            source,
        })?;
    }
    Ok(update)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::results::testing::unit;
    use crate::results::UnitResult;

    const TITLE: &str =
        "server title-cases (capitalises each word) instead of uppercasing everything";

    fn results(units: Vec<UnitResult>) -> Results {
        Results {
            schema_version: crate::results::SCHEMA_VERSION,
            shout_version: "0".into(),
            corpus: "c".into(),
            partition: None,
            plan: None,
            reference: Vec::new(),
            reference_implementation: "python".into(),
            non_strict_ok: false,
            cache: None,
            summary: Summary::count(&units, 1.0),
            results: units,
        }
    }

    fn parse(text: &str) -> Result<Expectations, ExpectationsError> {
        Expectations::parse(text, Path::new("exp.toml"))
    }

    fn verdicts(r: &Results) -> Vec<Verdict> {
        r.results.iter().map(|u| u.verdict).collect()
    }

    /// `alice-server` fails `sharp-s` only; `bob-server` passes everything.
    fn alice_and_bob() -> Results {
        results(vec![
            unit("udp::python-client::alice-server::hello", Verdict::Pass),
            unit("udp::python-client::alice-server::sharp-s", Verdict::Fail),
            unit("udp::python-client::bob-server::hello", Verdict::Pass),
            unit("udp::python-client::bob-server::sharp-s", Verdict::Pass),
        ])
    }

    fn update(old: Option<&str>, r: &Results, coverage: Coverage) -> Update {
        update_text(old, Path::new("exp.toml"), r, coverage).unwrap()
    }

    #[test]
    fn a_listed_failure_is_xfail_and_the_run_passes() {
        let e = parse("[[expect]]\nid = \"udp::*::alice-server::*\"\nreason = \"title case\"\n")
            .unwrap();
        let mut r = results(vec![
            unit("udp::python-client::alice-server::hello", Verdict::Fail),
            unit("udp::python-client::bob-server::hello", Verdict::Pass),
        ]);
        assert_eq!(r.exit_code(), 1);
        let applied = e.apply(&mut r);
        assert_eq!((applied.xfail, applied.xpass), (1, 0));
        assert_eq!(r.results[0].verdict, Verdict::Xfail);
        assert_eq!(r.results[1].verdict, Verdict::Pass);
        assert_eq!((r.summary.xfail, r.summary.failed), (1, 0));
        assert_eq!(r.exit_code(), 0);
    }

    #[test]
    fn a_listed_unit_that_passes_is_xpass_and_fails_the_run() {
        let e =
            parse("[[expect]]\nid = \"udp::python-client::alice-server::hello\"\nreason = \"r\"\n")
                .unwrap();
        let mut r = results(vec![unit(
            "udp::python-client::alice-server::hello",
            Verdict::Pass,
        )]);
        let applied = e.apply(&mut r);
        assert_eq!(applied.xpass, 1);
        assert_eq!(r.results[0].verdict, Verdict::Xpass);
        assert!(r.results[0].diagnosis().unwrap().contains("remove"));
        assert_eq!(r.exit_code(), 1);
    }

    #[test]
    fn a_glob_holds_while_any_unit_fails_and_its_passing_units_stay_pass() {
        let e = parse("[[expect]]\nid = \"*::alice-server::*\"\nreason = \"r\"\n").unwrap();
        let mut r = alice_and_bob();
        let applied = e.apply(&mut r);
        assert_eq!((applied.xfail, applied.xpass), (1, 0));
        assert_eq!(
            verdicts(&r),
            [Verdict::Pass, Verdict::Xfail, Verdict::Pass, Verdict::Pass]
        );
        assert_eq!(r.results[0].known, None, "a passing unit is plain pass");
        assert_eq!(r.exit_code(), 0);
    }

    #[test]
    fn a_glob_none_of_whose_units_fails_is_one_xpass_on_its_first_passing_unit() {
        let e = parse("[[expect]]\nid = \"*::bob-server::*\"\nreason = \"r\"\n").unwrap();
        let mut r = alice_and_bob();
        let applied = e.apply(&mut r);
        assert_eq!((applied.xfail, applied.xpass), (0, 1));
        assert_eq!(
            verdicts(&r),
            [Verdict::Pass, Verdict::Fail, Verdict::Xpass, Verdict::Pass]
        );
        let known = r.results[2].known.as_ref().unwrap();
        assert_eq!(known.id, "*::bob-server::*");
        assert!(r.results[2]
            .diagnosis()
            .unwrap()
            .contains("remove `*::bob-server::*`"));
        assert_eq!(r.summary.xpass, 1);
    }

    #[test]
    fn a_strict_glob_makes_every_passing_unit_xpass() {
        let e = parse("[[expect]]\nid = \"*::alice-server::*\"\nreason = \"r\"\nstrict = true\n")
            .unwrap();
        assert!(e.expect[0].strict);
        let mut r = alice_and_bob();
        let applied = e.apply(&mut r);
        assert_eq!((applied.xfail, applied.xpass), (1, 1));
        assert_eq!(
            verdicts(&r),
            [Verdict::Xpass, Verdict::Xfail, Verdict::Pass, Verdict::Pass]
        );
        let e = parse("[[expect]]\nid = \"*::bob-server::*\"\nreason = \"r\"\nstrict = true\n")
            .unwrap();
        let mut r = alice_and_bob();
        assert_eq!(e.apply(&mut r).xpass, 2);
    }

    #[test]
    fn in_a_shard_a_glob_with_no_failing_unit_is_left_to_merge() {
        let e = parse(
            "[[expect]]\nid = \"*::bob-server::*\"\nreason = \"r\"\n\
             [[expect]]\nid = \"udp::python-client::alice-server::hello\"\nreason = \"r\"\n",
        )
        .unwrap();
        let mut r = alice_and_bob();
        r.partition = Some("hash:1/2".parse().unwrap());
        let applied = e.apply(&mut r);
        assert_eq!(applied.deferred, ["*::bob-server::*"]);
        // An exact id is judged in any shard: its one unit is here.
        assert_eq!(applied.xpass, 1);
        assert_eq!(r.results[0].verdict, Verdict::Xpass);
        assert_eq!(r.results[2].verdict, Verdict::Pass);
    }

    #[test]
    fn applying_again_judges_the_verdicts_afresh() {
        // A merge applies the file to shards that may have applied it already.
        let first =
            parse("[[expect]]\nid = \"*::alice-server::sharp-s\"\nreason = \"r\"\n").unwrap();
        let mut r = alice_and_bob();
        first.apply(&mut r);
        assert_eq!(r.results[1].verdict, Verdict::Xfail);
        let none = Expectations::default();
        none.apply(&mut r);
        assert_eq!(r.results[1].verdict, Verdict::Fail);
        assert_eq!(r.results[1].known, None);
        assert_eq!(r.summary.failed, 1);
    }

    #[test]
    fn info_and_skip_are_untouched_and_unmatched_or_shadowed_entries_are_reported() {
        let e = parse(
            "[[expect]]\nid = \"*hello\"\nreason = \"r\"\n[[expect]]\nid = \"gone\"\nreason = \"r\"\n\
             [[expect]]\nid = \"udp::a::b::hello\"\nreason = \"r\"\n",
        )
        .unwrap();
        let mut r = results(vec![unit("udp::a::b::hello", Verdict::Info)]);
        let applied = e.apply(&mut r);
        assert_eq!(r.results[0].verdict, Verdict::Info);
        assert_eq!(applied.unmatched, vec!["gone".to_string()]);
        assert_eq!(applied.shadowed, vec!["udp::a::b::hello".to_string()]);
    }

    #[test]
    fn bad_files_name_the_line_and_say_what_to_write() {
        let err = parse("[[expect]]\nid = \"x\"\nreasn = \"typo\"\n").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("expectations file exp.toml:3"), "{text}");
        assert!(text.contains("reasn"), "{text}");
        let err = parse("[[expect]]\nid = \"x\"\nreason = \" \"\n").unwrap_err();
        assert!(err.to_string().contains("no reason"), "{err}");
        let err = parse("[[expect]]\nid = \"x\"\nreason = \"r\"\nstrict = \"yes\"\n").unwrap_err();
        assert!(err.to_string().contains("exp.toml:4"), "{err}");
    }

    #[test]
    fn a_missing_file_is_named_with_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known.toml");
        let message = Expectations::load(&path).unwrap_err().to_string();
        assert_eq!(
            message,
            format!(
                "expectations file {}: No such file or directory (os error 2); create it or run with --update-expectations to write it",
                path.display()
            )
        );
    }

    const KEPT: &str = "# Our known failures.\n\n\
        # alice's runtime is old.\n[[expect]]\nid = \"*::alice-server::*\"\nreason = \"alice's own words\"  # keep\n\n\
        # bob used to fail.\n[[expect]]\nid = \"*::bob-server::*\"\nreason = \"fixed since\"\n";

    #[test]
    fn update_keeps_comments_reasons_and_globs_and_removes_what_no_longer_fails() {
        let r = alice_and_bob();
        let new = update(Some(KEPT), &r, Coverage::Whole);
        assert_eq!(
            new.text,
            "# Our known failures.\n\n\
             # alice's runtime is old.\n[[expect]]\nid = \"*::alice-server::*\"\nreason = \"alice's own words\"  # keep\n"
        );
        assert_eq!(
            new.changes,
            [Change::Removed {
                id: "*::bob-server::*".into(),
                why: Removal::NoneFails { passing: 2 }
            }]
        );
        assert_eq!(
            new.changes[0].to_string(),
            "removed `*::bob-server::*`: none of the units it names fails now (2 pass)"
        );
        // The file now describes the run.
        let mut again = alice_and_bob();
        new.expectations.apply(&mut again);
        assert_eq!(again.exit_code(), 0);
    }

    #[test]
    fn update_adds_only_failures_no_entry_covers() {
        let mut r = alice_and_bob();
        r.results.push(unit(
            "udp::python-client::carol-server::hello",
            Verdict::Fail,
        ));
        let new = update(Some(KEPT), &r, Coverage::Part);
        assert_eq!(
            new.changes[1],
            Change::Added {
                id: "udp::python-client::carol-server::hello".into()
            }
        );
        assert_eq!(new.changes.len(), 2, "{:?}", new.changes);
        assert!(
            new.text.ends_with(&format!(
                "reason = \"alice's own words\"  # keep\n\n[[expect]]\nid = \"udp::python-client::carol-server::hello\"\nreason = \"{TITLE}\"\n"
            )),
            "{}",
            new.text
        );
        assert_eq!(new.expectations.expect.len(), 2);
    }

    #[test]
    fn update_removes_an_exact_id_that_passes_and_says_so() {
        let r = alice_and_bob();
        let new = update(
            Some("[[expect]]\nid = \"udp::python-client::bob-server::hello\"\nreason = \"r\"\n"),
            &r,
            Coverage::Part,
        );
        assert_eq!(
            new.changes[0].to_string(),
            "removed `udp::python-client::bob-server::hello`: it passes now"
        );
        assert_eq!(
            new.changes[1].to_string(),
            "added `udp::python-client::alice-server::sharp-s`: a new failure"
        );
    }

    #[test]
    fn update_keeps_an_entry_naming_no_unit_only_when_the_run_is_partial() {
        let old = "# far away\n[[expect]]\nid = \"tcp::*::dave-server::*\"\nreason = \"r\"\n\
                   [[expect]]\nid = \"*::sharp-s\"\nreason = \"s\"\n";
        let r = alice_and_bob();
        let part = update(Some(old), &r, Coverage::Part);
        assert_eq!(part.text, old, "nothing to change");
        assert!(!part.edits());
        assert_eq!(
            part.changes,
            [Change::Kept {
                id: "tcp::*::dave-server::*".into()
            }]
        );
        assert!(part.changes[0]
            .to_string()
            .contains("it may name units left out"));
        let whole = update(Some(old), &r, Coverage::Whole);
        assert_eq!(
            whole.text,
            "[[expect]]\nid = \"*::sharp-s\"\nreason = \"s\"\n"
        );
        assert_eq!(
            whole.changes[0].to_string(),
            "removed `tcp::*::dave-server::*`: it names no unit, and this run covers every unit"
        );
    }

    #[test]
    fn update_in_a_shard_keeps_a_glob_whose_failures_may_be_elsewhere() {
        let mut r = alice_and_bob();
        r.partition = Some("count:2/2".parse().unwrap());
        let old = "[[expect]]\nid = \"*::bob-server::*\"\nreason = \"r\"\n\
                   [[expect]]\nid = \"*::alice-server::*\"\nreason = \"r\"\n";
        let new = update(Some(old), &r, Coverage::Part);
        assert_eq!(new.text, old);
    }

    #[test]
    fn update_narrows_a_strict_glob_to_its_failing_units_in_place() {
        let old =
            "[[expect]]\nid = \"*::alice-server::*\"\nreason = \"old unicode\"\nstrict = true\n\
                   [[expect]]\nid = \"tcp::*\"\nreason = \"later\"\n";
        let new = update(Some(old), &alice_and_bob(), Coverage::Part);
        assert_eq!(
            new.text,
            "[[expect]]\nid = \"udp::python-client::alice-server::sharp-s\"\nreason = \"old unicode\"\n\
             [[expect]]\nid = \"tcp::*\"\nreason = \"later\"\n"
        );
        assert_eq!(
            new.changes[0].to_string(),
            "replaced the strict `*::alice-server::*` by the ids of its 1 failing unit(s): 1 of its units pass now"
        );
    }

    #[test]
    fn update_creates_a_missing_file_and_fills_one_of_comments_only() {
        let r = alice_and_bob();
        let created = update(None, &r, Coverage::Whole);
        assert!(created.text.starts_with(HEADER), "{}", created.text);
        assert_eq!(
            created.expectations.expect,
            [Expectation {
                id: "udp::python-client::alice-server::sharp-s".into(),
                reason: TITLE.into(),
                strict: false
            }]
        );
        let empty = update(None, &results(Vec::new()), Coverage::Whole);
        assert_eq!(empty.text, HEADER);
        let commented = update(Some("# ours\n"), &r, Coverage::Whole);
        assert!(
            commented.text.starts_with("# ours\n\n[[expect]]\n"),
            "{}",
            commented.text
        );
    }

    #[test]
    fn update_keeps_an_inline_list_inline() {
        let old = "expect = [\n  { id = \"*::alice-server::*\", reason = \"a\" },\n  { id = \"*::bob-server::*\", reason = \"b\" },\n]\n";
        let mut r = alice_and_bob();
        r.results.push(unit(
            "udp::python-client::carol-server::hello",
            Verdict::Fail,
        ));
        let new = update(Some(old), &r, Coverage::Whole);
        let ids: Vec<&str> = new
            .expectations
            .expect
            .iter()
            .map(|e| e.id.as_str())
            .collect();
        assert_eq!(
            ids,
            [
                "*::alice-server::*",
                "udp::python-client::carol-server::hello"
            ]
        );
        assert!(new.text.starts_with("expect = ["), "{}", new.text);
    }

    #[test]
    fn update_file_writes_only_when_something_changed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known.toml");
        let r = alice_and_bob();
        let first = update_file(&path, &r, Coverage::Whole).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), first.text);
        let second = update_file(&path, &r, Coverage::Whole).unwrap();
        assert!(!second.edits() && second.changes.is_empty());
        let gone = dir.path().join("no-such-folder/known.toml");
        let message = update_file(&gone, &r, Coverage::Whole)
            .unwrap_err()
            .to_string();
        assert!(
            message.starts_with("cannot write the expectations file"),
            "{message}"
        );
    }
}

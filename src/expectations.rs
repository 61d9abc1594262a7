//! Known failures: a TOML list of unit ids or glob patterns, each with a reason. A failure
//! it lists becomes `xfail`; a listed unit that passes becomes `xpass`, which fails the
//! run, so the list cannot quietly go out of date.
//!
//! ```toml
//! [[expect]]
//! id = "udp::python-client::alice-server::sharp-s"
//! reason = "alice maps case one character at a time"
//!
//! [[expect]]
//! id = "*::bob-server::*"       # `*` and `?` match like a shell glob
//! reason = "bob's server adds a newline"
//! ```

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
}

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectations {
    /// The entries, in file order.
    #[serde(default)]
    pub expect: Vec<Expectation>,
}

/// The expectations file is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ExpectationsError {
    /// It cannot be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// It is not valid.
    #[error("{}{}: {message}\n  expected entries like:\n  [[expect]]\n  id = \"udp::python-client::alice-server::*\"\n  reason = \"why it is known to fail\"", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
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
    /// Entries that matched no unit of this run (harmless in a filtered or sharded run).
    pub unmatched: Vec<String>,
}

impl Expectations {
    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<Expectations, ExpectationsError> {
        let text = std::fs::read_to_string(path).map_err(|source| ExpectationsError::Io {
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

    /// Turns listed failures into `xfail` and listed passes into `xpass`, and recounts.
    /// `info` and `skip` are left alone: they are not failures to expect.
    pub fn apply(&self, results: &mut Results) -> Applied {
        let mut applied = Applied::default();
        let mut used = vec![false; self.expect.len()];
        for r in &mut results.results {
            let Some(k) = self.expect.iter().position(|e| glob(&e.id, &r.id)) else {
                continue;
            };
            used[k] = true;
            let known = KnownFailure {
                id: self.expect[k].id.clone(),
                reason: self.expect[k].reason.clone(),
            };
            match r.verdict {
                Verdict::Fail => {
                    r.verdict = Verdict::Xfail;
                    r.known = Some(known);
                    applied.xfail += 1;
                }
                Verdict::Pass => {
                    r.verdict = Verdict::Xpass;
                    r.known = Some(known);
                    applied.xpass += 1;
                }
                Verdict::Info | Verdict::Skip | Verdict::Xfail | Verdict::Xpass => {}
            }
        }
        applied.unmatched = self
            .expect
            .iter()
            .zip(used)
            .filter(|(_, u)| !u)
            .map(|(e, _)| e.id.clone())
            .collect();
        results.summary = Summary::count(&results.results, results.summary.wall_seconds);
        applied
    }

    /// The expectations this run calls for: every unit that fails (or is an expected
    /// failure) by its exact id, keeping the reason of the entry that already listed it
    /// and any entry that matched no unit of this run (it may belong to another shard or
    /// filter). Entries whose units now pass are dropped.
    pub fn updated(&self, results: &Results) -> Expectations {
        let mut expect: Vec<Expectation> = Vec::new();
        for r in &results.results {
            if !matches!(r.verdict, Verdict::Fail | Verdict::Xfail) {
                continue;
            }
            let reason = self
                .find(&r.id)
                .map(|e| e.reason.clone())
                .or_else(|| r.known.as_ref().map(|k| k.reason.clone()))
                .or_else(|| r.finding.as_ref().map(|f| f.sentence()))
                .unwrap_or_else(|| "differs from the reference".into());
            expect.push(Expectation {
                id: r.id.clone(),
                reason,
            });
        }
        for e in &self.expect {
            if !results.results.iter().any(|r| glob(&e.id, &r.id)) {
                expect.push(e.clone());
            }
        }
        Expectations { expect }
    }

    /// The file's text.
    pub fn to_toml(&self) -> String {
        let mut out = String::from(
            "# Known failures: each becomes `xfail`; one that passes becomes `xpass` and fails the run.\n",
        );
        for e in &self.expect {
            out.push_str("\n[[expect]]\n");
            out.push_str(&format!("id = {}\n", toml_string(&e.id)));
            out.push_str(&format!("reason = {}\n", toml_string(&e.reason)));
        }
        out
    }

    /// Writes the file.
    pub fn save(&self, path: &Path) -> Result<(), ExpectationsError> {
        std::fs::write(path, self.to_toml()).map_err(|source| ExpectationsError::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::results::testing::unit;
    use crate::results::UnitResult;

    fn results(units: Vec<UnitResult>) -> Results {
        Results {
            schema_version: crate::results::SCHEMA_VERSION,
            shout_version: "0".into(),
            corpus: "c".into(),
            partition: None,
            plan: None,
            summary: Summary::count(&units, 1.0),
            results: units,
        }
    }

    fn parse(text: &str) -> Result<Expectations, ExpectationsError> {
        Expectations::parse(text, Path::new("exp.toml"))
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
    fn info_and_skip_are_untouched_and_unmatched_entries_are_reported() {
        let e = parse(
            "[[expect]]\nid = \"*hello\"\nreason = \"r\"\n[[expect]]\nid = \"gone\"\nreason = \"r\"\n",
        )
        .unwrap();
        let mut r = results(vec![unit("udp::a::b::hello", Verdict::Info)]);
        let applied = e.apply(&mut r);
        assert_eq!(r.results[0].verdict, Verdict::Info);
        assert_eq!(applied.unmatched, vec!["gone".to_string()]);
    }

    #[test]
    fn bad_files_name_the_line_and_say_what_to_write() {
        let err = parse("[[expect]]\nid = \"x\"\nreasn = \"typo\"\n").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("exp.toml:3"), "{text}");
        assert!(text.contains("reasn"), "{text}");
        let err = parse("[[expect]]\nid = \"x\"\nreason = \" \"\n").unwrap_err();
        assert!(err.to_string().contains("no reason"), "{err}");
    }

    #[test]
    fn update_lists_failures_keeps_reasons_and_round_trips() {
        let old = parse(
            "[[expect]]\nid = \"udp::*::alice-server::hello\"\nreason = \"kept reason\"\n[[expect]]\nid = \"other-shard\"\nreason = \"kept\"\n[[expect]]\nid = \"udp::p::c::now-passes\"\nreason = \"dropped\"\n",
        )
        .unwrap();
        let r = results(vec![
            unit("udp::python-client::alice-server::hello", Verdict::Fail),
            unit("udp::python-client::bob-server::hello", Verdict::Fail),
            unit("udp::p::c::now-passes", Verdict::Pass),
        ]);
        let new = old.updated(&r);
        let ids: Vec<&str> = new.expect.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "udp::python-client::alice-server::hello",
                "udp::python-client::bob-server::hello",
                "other-shard"
            ]
        );
        assert_eq!(new.expect[0].reason, "kept reason");
        assert_eq!(
            new.expect[1].reason,
            "server title-cases (capitalises each word) instead of uppercasing everything"
        );
        assert_eq!(parse(&new.to_toml()).unwrap(), new);
    }
}

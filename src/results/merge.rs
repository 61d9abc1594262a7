//! Merging the results of shards into the results a single run would have given.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::{CacheUse, Results, Summary, SCHEMA_VERSION};
use crate::plan::Partition;

/// Shards that cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// A file cannot be read or parsed.
    #[error("{}: {message}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The shards do not belong to one run.
    #[error("{0}")]
    Mismatch(String),
}

/// Reads one results file.
pub fn read(path: &Path) -> Result<Results, MergeError> {
    let err = |message: String| MergeError::Read {
        path: path.to_path_buf(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        err(format!(
            "not JSON results ({e}); write them with --format json"
        ))
    })?;
    match value.get("schema_version").and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(SCHEMA_VERSION) => {}
        Some(1) => {
            return Err(err(format!(
                "schema_version 1 (written by an older shout, with diagnoses as text only), but this shout reads {SCHEMA_VERSION}: rerun the shards with this shout, or merge them with the shout that wrote them"
            )))
        }
        Some(v) => {
            return Err(err(format!(
                "schema_version {v}, but this shout reads {SCHEMA_VERSION}: use the shout that wrote it"
            )))
        }
        None => return Err(err("no schema_version: not shout results".into())),
    }
    serde_json::from_value(value).map_err(|e| err(format!("not shout results: {e}")))
}

/// Combines shards: same shout version, corpus and partition kind; every shard of the
/// set present exactly once; no unit in two shards. The summary is recounted and the
/// wall time is the longest shard's (shards run side by side).
pub fn merge(shards: Vec<(PathBuf, Results)>) -> Result<Results, MergeError> {
    let Some((first_path, first)) = shards.first() else {
        return Err(MergeError::Mismatch("no results files given".into()));
    };
    let name = |p: &Path| p.display().to_string();
    for (path, r) in &shards[1..] {
        if r.shout_version != first.shout_version {
            return Err(MergeError::Mismatch(format!(
                "{} was written by shout {} but {} by shout {}: run every shard with the same shout",
                name(path),
                r.shout_version,
                name(first_path),
                first.shout_version
            )));
        }
        if r.corpus != first.corpus {
            return Err(MergeError::Mismatch(format!(
                "{} ran corpus {} but {} ran corpus {}: the shards come from different corpora",
                name(path),
                r.corpus,
                name(first_path),
                first.corpus
            )));
        }
    }
    for (path, r) in &shards[1..] {
        if r.plan != first.plan {
            let describe = |p: &Option<super::PlanPrint>| match p {
                Some(p) => format!("{} units ({})", p.units, p.ids),
                None => "an unrecorded plan".to_string(),
            };
            return Err(MergeError::Mismatch(format!(
                "{} covers {} but {} covers {}: the shards come from runs with different filters, manifests or interpreters; give every shard the same options but --partition",
                name(path),
                describe(&r.plan),
                name(first_path),
                describe(&first.plan)
            )));
        }
    }
    check_partitions(&shards)?;
    let mut seen = BTreeSet::new();
    let mut results = Vec::new();
    for (path, r) in &shards {
        for u in &r.results {
            if !seen.insert(u.id.clone()) {
                return Err(MergeError::Mismatch(format!(
                    "unit {} appears in two shards (again in {}): were the same shard's results given twice?",
                    u.id,
                    name(path)
                )));
            }
            results.push(u.clone());
        }
    }
    results.sort_by(|a, b| a.id.cmp(&b.id));
    if let Some(plan) = &first.plan {
        if first.partition.is_some() && results.len() != plan.units {
            return Err(MergeError::Mismatch(format!(
                "the shards hold {} units but their run has {}: were they written from different plans?",
                results.len(),
                plan.units
            )));
        }
    }
    let wall = shards
        .iter()
        .map(|(_, r)| r.summary.wall_seconds)
        .fold(0.0, f64::max);
    Ok(Results {
        schema_version: SCHEMA_VERSION,
        shout_version: first.shout_version.clone(),
        corpus: first.corpus.clone(),
        partition: None,
        plan: first.plan.clone(),
        reference: first.reference.clone(),
        reference_implementation: first.reference_implementation.clone(),
        non_strict_ok: first.non_strict_ok,
        cache: merged_cache(&shards),
        summary: Summary::count(&results, wall),
        results,
    })
}

/// The shards' cache use added up (the folder of the first that had one).
fn merged_cache(shards: &[(PathBuf, Results)]) -> Option<CacheUse> {
    shards
        .iter()
        .filter_map(|(_, r)| r.cache.clone())
        .reduce(|a, b| CacheUse {
            dir: a.dir.or(b.dir),
            reused: a.reused + b.reused,
            ran: a.ran + b.ran,
        })
}

/// Partitioned shards must be one complete set: the same kind and N, each K once.
fn check_partitions(shards: &[(PathBuf, Results)]) -> Result<(), MergeError> {
    let parts: Vec<Option<Partition>> = shards.iter().map(|(_, r)| r.partition).collect();
    if parts.iter().all(Option::is_none) {
        return Ok(());
    }
    if parts.iter().any(Option::is_none) {
        return Err(MergeError::Mismatch(
            "some files are shards (--partition) and some are whole runs: merge only the shards of one run".into(),
        ));
    }
    let key = |p: &Partition| match *p {
        Partition::Count { total, .. } => ("count", total),
        Partition::Hash { total, .. } => ("hash", total),
    };
    let shard = |p: &Partition| match *p {
        Partition::Count { shard, .. } | Partition::Hash { shard, .. } => shard,
    };
    let parts: Vec<Partition> = parts.into_iter().flatten().collect();
    let (kind, total) = key(&parts[0]);
    if let Some(other) = parts.iter().find(|p| key(p) != (kind, total)) {
        return Err(MergeError::Mismatch(format!(
            "shards of different partitions: {} and {other}",
            parts[0]
        )));
    }
    let mut have: Vec<u64> = parts.iter().map(shard).collect();
    have.sort_unstable();
    let before = have.len();
    have.dedup();
    if have.len() != before {
        return Err(MergeError::Mismatch(format!(
            "a {kind}:K/{total} shard is given twice"
        )));
    }
    let missing: Vec<String> = (1..=total)
        .filter(|k| !have.contains(k))
        .map(|k| format!("{kind}:{k}/{total}"))
        .collect();
    if !missing.is_empty() {
        return Err(MergeError::Mismatch(format!(
            "missing shard(s) {}: the merged results would not be the whole run",
            missing.join(", ")
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::Verdict;

    use crate::results::testing::unit;
    use crate::results::UnitResult;

    fn shard(part: &str, units: Vec<UnitResult>, wall: f64) -> (PathBuf, Results) {
        (
            PathBuf::from(format!("{part}.json")),
            Results {
                schema_version: SCHEMA_VERSION,
                shout_version: "1".into(),
                corpus: "abc".into(),
                partition: Some(part.parse().expect("a partition")),
                plan: None,
                reference: Vec::new(),
                reference_implementation: "python".into(),
                non_strict_ok: false,
                cache: None,
                summary: Summary::count(&units, wall),
                results: units,
            },
        )
    }

    #[test]
    fn merges_a_complete_set_with_one_runs_counts_and_exit() {
        let merged = merge(vec![
            shard("count:2/2", vec![unit("b", Verdict::Fail)], 3.0),
            shard(
                "count:1/2",
                vec![unit("a", Verdict::Pass), unit("c", Verdict::Info)],
                5.0,
            ),
        ])
        .unwrap();
        let ids: Vec<&str> = merged.results.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        assert_eq!(
            (
                merged.summary.total,
                merged.summary.passed,
                merged.summary.failed
            ),
            (3, 1, 1)
        );
        assert_eq!(merged.summary.wall_seconds, 5.0);
        assert_eq!(merged.partition, None);
        assert_eq!(merged.exit_code(), 1);
    }

    #[test]
    fn refuses_mixed_incomplete_or_overlapping_shards() {
        let a = || shard("hash:1/3", vec![unit("a", Verdict::Pass)], 1.0);
        let b = || shard("hash:2/3", vec![unit("b", Verdict::Pass)], 1.0);
        let err = merge(vec![a(), b()]).unwrap_err().to_string();
        assert!(err.contains("missing shard(s) hash:3/3"), "{err}");
        let mut c = shard("hash:3/3", vec![unit("a", Verdict::Pass)], 1.0);
        let err = merge(vec![a(), b(), c.clone()]).unwrap_err().to_string();
        assert!(err.contains("appears in two shards"), "{err}");
        c.1.corpus = "other".into();
        let err = merge(vec![a(), b(), c]).unwrap_err().to_string();
        assert!(err.contains("different corpora"), "{err}");
        let mut d = shard("hash:3/3", vec![unit("d", Verdict::Pass)], 1.0);
        d.1.shout_version = "2".into();
        let err = merge(vec![a(), b(), d]).unwrap_err().to_string();
        assert!(err.contains("same shout"), "{err}");
        let e = shard("count:3/3", vec![unit("e", Verdict::Pass)], 1.0);
        let err = merge(vec![a(), b(), e]).unwrap_err().to_string();
        assert!(err.contains("different partitions"), "{err}");
    }

    #[test]
    fn refuses_shards_of_different_plans_or_a_set_short_of_its_plan() {
        let planned = |part: &str, id: &str, plan: &[&str]| {
            let mut s = shard(part, vec![unit(id, Verdict::Pass)], 1.0);
            s.1.plan = Some(crate::results::PlanPrint::of(plan.iter().copied()));
            s
        };
        let whole = ["a", "b"];
        let merged = merge(vec![
            planned("count:1/2", "a", &whole),
            planned("count:2/2", "b", &whole),
        ])
        .unwrap();
        assert_eq!(merged.plan.as_ref().map(|p| p.units), Some(2));
        let err = merge(vec![
            planned("count:1/2", "a", &whole),
            planned("count:2/2", "b", &["b", "c"]),
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("different filters"), "{err}");
        let three = ["a", "b", "c"];
        let err = merge(vec![
            planned("count:1/2", "a", &three),
            planned("count:2/2", "b", &three),
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("hold 2 units but their run has 3"), "{err}");
    }

    #[test]
    fn reading_names_the_file_and_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.json");
        std::fs::write(&p, "<testsuites/>").unwrap();
        assert!(read(&p).unwrap_err().to_string().contains("--format json"));
        std::fs::write(&p, r#"{"schema_version": 99}"#).unwrap();
        assert!(read(&p)
            .unwrap_err()
            .to_string()
            .contains("schema_version 99"));
    }
}

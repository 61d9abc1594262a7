//! Results: the versioned, serialisable record of a run, which every reporter reads
//! (and which shards merge). Built from judged units; never starts a process.

pub mod merge;
mod written;

use serde::{Deserialize, Serialize};

use crate::corpus::Category;
use crate::plan::{Partition, UnitKind};
use crate::proto::Transport;
use crate::run::wire::{bytes_text, Transcript};
use crate::verdict::{Completeness, Fault, Finding, Judged, Verdict};

/// The JSON schema's version; bumped on any incompatible change. Version 2: each unit
/// carries its typed `finding` (the `diagnosis` is rendered from it) and its `known`
/// failure entry; `kind` and `partition` are checked names.
pub const SCHEMA_VERSION: u32 = 2;

/// Counts by verdict.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Units in all.
    pub total: usize,
    /// `pass`.
    pub passed: usize,
    /// `fail`.
    pub failed: usize,
    /// `info`.
    pub info: usize,
    /// `non-strict`.
    #[serde(default)]
    pub non_strict: usize,
    /// `skip`.
    pub skipped: usize,
    /// `xfail`.
    #[serde(default)]
    pub xfail: usize,
    /// `xpass`.
    #[serde(default)]
    pub xpass: usize,
    /// Wall time of the run.
    pub wall_seconds: f64,
}

/// One unit's result. In JSON it also carries `diagnosis`, the finding's sentence
/// (with the known-failure entry's reason), for readers other than shout; shout itself
/// reads the `finding`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct UnitResult {
    /// The canonical id.
    pub id: String,
    /// The Python axis label, when several.
    pub axis: Option<String>,
    /// The transport.
    pub transport: Transport,
    /// The client's name (`probe` for the harness).
    pub client: String,
    /// The server's name (`probe` for the harness).
    pub server: String,
    /// What the unit checks.
    pub kind: UnitKind,
    /// The case's name.
    pub case: String,
    /// The case's category.
    pub category: Category,
    /// The verdict.
    pub verdict: Verdict,
    /// For failures: the side at fault.
    pub fault: Option<Fault>,
    /// The case's input (escaped bytes).
    #[serde(with = "bytes_text")]
    pub input: Vec<u8>,
    /// What the reference did.
    #[serde(deserialize_with = "opt_bytes::deserialize")]
    pub expected: Option<Vec<u8>>,
    /// What this unit did.
    #[serde(deserialize_with = "opt_bytes::deserialize")]
    pub actual: Option<Vec<u8>>,
    /// The bytes each side sent.
    pub wire: Transcript,
    /// Why it failed, or why it is info or skip.
    pub finding: Option<Finding>,
    /// The expectations entry that lists this unit as a known failure (`xfail`/`xpass`).
    #[serde(default)]
    pub known: Option<KnownFailure>,
    /// The smallest input that still shows the difference.
    pub minimal_input: Option<String>,
    /// One command that reruns just this unit.
    pub reproduce: String,
    /// Wall time of the unit.
    pub duration_ms: u64,
    /// Lifetime of the client process this unit started (none for server probes).
    #[serde(default)]
    pub client_ms: Option<u64>,
    /// The last lines of that client's standard error, when it ended with a failure.
    #[serde(default)]
    pub client_stderr: Option<String>,
    /// Whether the observation came from the reference cache instead of running (a unit
    /// of the reference's own, observed in an earlier run under the same key).
    #[serde(default)]
    pub cached: bool,
}

/// How a run used the reference cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheUse {
    /// The folder it is kept in; none when kept for this run only.
    pub dir: Option<String>,
    /// Units between built-in programs (the reference, shout's own roles, the harness's
    /// probes) taken from it, reported or not.
    pub reused: usize,
    /// The reference's own units run (and kept).
    pub ran: usize,
}

/// How the reference ran under one interpreter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferenceRun {
    /// The axis label (`py3.13`) when the run has several interpreters.
    pub axis: Option<String>,
    /// The interpreter (`sys.executable`).
    pub interpreter: String,
    /// Its `major.minor`.
    pub version: String,
    /// Its Unicode version.
    pub unicode: crate::proto::UnicodeVersion,
    /// The flags before the script (`-S`).
    pub flags: Vec<String>,
}

/// An expectations entry that matched a unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownFailure {
    /// The entry's id or pattern.
    pub id: String,
    /// Why it is known to fail.
    pub reason: String,
}

/// The units a run covers before partitioning, in brief.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanPrint {
    /// How many units.
    pub units: usize,
    /// FNV-1a over their ids, in hex.
    pub ids: String,
}

impl PlanPrint {
    /// The print of the units with `ids`, in any order.
    pub fn of<'a>(ids: impl IntoIterator<Item = &'a str>) -> PlanPrint {
        let mut ids: Vec<&str> = ids.into_iter().collect();
        ids.sort_unstable();
        let mut text = Vec::new();
        for id in &ids {
            text.extend_from_slice(id.as_bytes());
            text.push(0);
        }
        PlanPrint {
            units: ids.len(),
            ids: format!("{:016x}", crate::plan::fnv1a(&text)),
        }
    }
}

/// A whole run (or a merge of shards).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The shout version that produced it.
    pub shout_version: String,
    /// A fingerprint of the corpus (FNV-1a over case names and inputs).
    pub corpus: String,
    /// The shard, when partitioned.
    pub partition: Option<Partition>,
    /// What the run (every shard of it) covers: the number of units before
    /// partitioning and a fingerprint of their ids. Shards of different runs (other
    /// filters, manifests or interpreters) differ here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<PlanPrint>,
    /// How the reference ran, per interpreter axis: the interpreter itself and the flags
    /// it was started with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reference: Vec<ReferenceRun>,
    /// The implementation every other was compared with: `python` (the default),
    /// `java-textbook`, or a manifest's (`--reference`).
    #[serde(default = "python_reference")]
    pub reference_implementation: String,
    /// Whether a `non-strict` unit counts as agreeing (`--non-strict-ok`) rather than as
    /// a difference.
    #[serde(default)]
    pub non_strict_ok: bool,
    /// How the reference cache was used; none without one (`--no-cache`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<CacheUse>,
    /// Counts.
    pub summary: Summary,
    /// Every unit, sorted by id.
    pub results: Vec<UnitResult>,
}

mod opt_bytes {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|t| super::bytes_text::decode(&t).map_err(serde::de::Error::custom))
            .transpose()
    }
}

impl UnitResult {
    /// Whether this unit was skipped because a program could not start or the run's
    /// time limit passed: nothing was learnt about the implementations.
    pub fn is_incomplete(&self) -> bool {
        self.verdict == Verdict::Skip
            && self
                .finding
                .as_ref()
                .is_some_and(|f| f.completeness() == Completeness::Incomplete)
    }

    /// The one-sentence diagnosis: the finding's sentence, with the known-failure
    /// entry's reason for an `xfail` and what to do for an `xpass`.
    pub fn diagnosis(&self) -> Option<String> {
        let sentence = self.finding.as_ref().map(Finding::sentence);
        let Some(known) = &self.known else {
            return sentence;
        };
        match self.verdict {
            Verdict::Xfail => Some(match sentence {
                Some(d) => format!("{d} (known failure: {})", known.reason),
                None => format!("known failure: {}", known.reason),
            }),
            Verdict::Xpass => Some(format!(
                "listed as a known failure ({}), but {}: remove `{}` from the expectations",
                known.reason,
                if crate::plan::is_glob(&known.id) {
                    "none of the units it names fails"
                } else {
                    "it passes"
                },
                known.id
            )),
            Verdict::Pass | Verdict::Fail | Verdict::Info | Verdict::NonStrict | Verdict::Skip => {
                sentence
            }
        }
    }
}

impl Summary {
    /// Counts `results`.
    pub fn count(results: &[UnitResult], wall_seconds: f64) -> Summary {
        let mut s = Summary {
            total: results.len(),
            wall_seconds,
            ..Summary::default()
        };
        for r in results {
            match r.verdict {
                Verdict::Pass => s.passed += 1,
                Verdict::Fail => s.failed += 1,
                Verdict::NonStrict => s.non_strict += 1,
                Verdict::Info => s.info += 1,
                Verdict::Skip => s.skipped += 1,
                Verdict::Xfail => s.xfail += 1,
                Verdict::Xpass => s.xpass += 1,
            }
        }
        s
    }
}

/// What results written before `--reference` existed were compared with.
fn python_reference() -> String {
    crate::registry::PYTHON.to_string()
}

impl Results {
    /// Builds results from judged units; `reproduce` gives each unit's command.
    pub fn assemble(
        judged: &[Judged],
        corpus: String,
        partition: Option<Partition>,
        wall_seconds: f64,
        reproduce: &dyn Fn(&crate::plan::Unit) -> String,
    ) -> Results {
        let mut results: Vec<UnitResult> = judged
            .iter()
            .map(|j| {
                let u = &j.executed.unit;
                let client_ms = match &j.executed.observation {
                    crate::run::observe::Observation::Pairing { client, .. }
                    | crate::run::observe::Observation::ClientProbe { client, .. } => {
                        Some(client.duration_ms)
                    }
                    _ => None,
                };
                let client_stderr = match &j.executed.observation {
                    crate::run::observe::Observation::Pairing { client, .. }
                    | crate::run::observe::Observation::ClientProbe { client, .. }
                        if client.exit != crate::run::process::Exit::Code(0)
                            && !client.stderr_tail.trim().is_empty() =>
                    {
                        Some(client.stderr_tail.clone())
                    }
                    _ => None,
                };
                let wire = match &j.executed.observation {
                    crate::run::observe::Observation::Pairing { wire, .. }
                    | crate::run::observe::Observation::ServerProbe { wire, .. } => wire.clone(),
                    _ => Transcript::default(),
                };
                UnitResult {
                    id: u.id.clone(),
                    axis: u.axis.clone(),
                    transport: u.transport,
                    client: u.client.name().to_string(),
                    server: u.server.name().to_string(),
                    kind: u.kind,
                    case: u.case.name.clone(),
                    category: u.case.category,
                    verdict: j.verdict,
                    fault: j.fault,
                    input: u.case.request_bytes(),
                    expected: j.expected.clone(),
                    actual: j.actual.clone(),
                    wire,
                    finding: j.finding.clone(),
                    known: None,
                    minimal_input: j.minimal.clone(),
                    reproduce: reproduce(u),
                    duration_ms: j.executed.duration_ms,
                    client_ms,
                    client_stderr,
                    cached: j.executed.cached,
                }
            })
            .collect();
        results.sort_by(|a, b| a.id.cmp(&b.id));
        let summary = Summary::count(&results, wall_seconds);
        Results {
            schema_version: SCHEMA_VERSION,
            shout_version: env!("CARGO_PKG_VERSION").to_string(),
            corpus,
            partition,
            plan: None,
            reference: Vec::new(),
            reference_implementation: crate::registry::reference().to_string(),
            non_strict_ok: false,
            cache: None,
            summary,
            results,
        }
    }

    /// 2 when the run is incomplete (a program could not start, or the run's time limit
    /// left units out), else 1 when something failed, else 0.
    pub fn exit_code(&self) -> u8 {
        if self.incomplete().next().is_some() {
            2
        } else {
            u8::from(
                self.results
                    .iter()
                    .any(|r| r.verdict.is_difference(self.non_strict_ok)),
            )
        }
    }

    /// The units that could not run for a reason outside the implementations' behaviour:
    /// a program or toolchain missing, or the run's time limit.
    pub fn incomplete(&self) -> impl Iterator<Item = &UnitResult> {
        self.results.iter().filter(|r| r.is_incomplete())
    }
}

/// A fingerprint of a corpus: FNV-1a over names and request bytes.
pub fn corpus_fingerprint(cases: &[std::sync::Arc<crate::corpus::Case>]) -> String {
    let mut text = Vec::new();
    for c in cases {
        text.extend_from_slice(c.name.as_bytes());
        text.push(0);
        text.extend_from_slice(&c.request_bytes());
        text.push(0);
    }
    format!("{:016x}", crate::plan::fnv1a(&text))
}

/// Results for unit tests of the modules that read them.
#[cfg(test)]
pub(crate) mod testing {
    use super::UnitResult;
    use crate::verdict::Verdict;

    /// A UDP pairing `python` × `alice` on `hello` with `verdict`: `alice` title-cases.
    pub fn unit(id: &str, verdict: Verdict) -> UnitResult {
        let mut r: UnitResult = serde_json::from_value(serde_json::json!({
            "id": id, "axis": null, "transport": "udp", "client": "python", "server": "alice",
            "kind": "pairing", "case": "hello", "category": "core", "verdict": "pass",
            "fault": null, "input": "hello", "expected": "HELLO", "actual": "Hello",
            "wire": {"events": []}, "minimal_input": null,
            "finding": {"subject": "server", "finding": "case-mapping", "mapping": "title"},
            "reproduce": "shout matrix --id x", "duration_ms": 1
        }))
        .expect("a valid unit result");
        r.verdict = verdict;
        r
    }
}

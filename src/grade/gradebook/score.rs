//! Scoring: a submission's units into points per role and category, and the first
//! thing a student should fix. Pure: reads results, writes nothing.

use std::collections::BTreeMap;

use crate::corpus::Category;
use crate::grade::explain::{for_student, role_words};
use crate::grade::rubric::{Rubric, CATEGORIES};
use crate::plan::UnitKind;
use crate::registry::{Role, RoleKey};
use crate::results::{Results, UnitResult};
use crate::verdict::{Fault, Finding, RunFinding, Verdict};

/// One submission, ready to grade.
#[derive(Debug, Clone, PartialEq)]
pub struct Graded {
    /// The submission's name (`[a-z0-9-]+`), which is also its implementation's name in
    /// the results and its folder under the output directory.
    pub name: String,
    /// The language, as students write it (`Python 3`, `Java`, …).
    pub language: Option<String>,
    /// What the student should know that is not a failure (detection notes).
    pub notes: Vec<String>,
    /// Per role, the sentence saying why it could not be graded (missing role, build
    /// failure); such a role scores 0.
    pub problems: BTreeMap<RoleKey, String>,
    /// Per role, why this machine could not grade it (its toolchain is missing here): the
    /// grader's problem, not the student's. Such a role is neither scored nor counted in
    /// the maximum, and the run is incomplete.
    pub not_graded: BTreeMap<RoleKey, String>,
    /// The run's results; `None` when nothing could run.
    pub results: Option<Results>,
}

/// The score of one role × category bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket<'a> {
    /// The role.
    pub role: RoleKey,
    /// The category.
    pub category: Category,
    /// The points it is worth.
    pub max: f64,
    /// The points earned, rounded to hundredths.
    pub score: f64,
    /// Units that passed.
    pub passed: usize,
    /// Units that were `non-strict`, each earning the rubric's share of a pass.
    pub non_strict: Vec<&'a UnitResult>,
    /// Units that count (passed or failed).
    pub counted: usize,
    /// Units that do not count (`info`, `skip`, or the other side's fault).
    pub not_counted: usize,
    /// The failed units, in result order.
    pub failures: Vec<&'a UnitResult>,
    /// Why the bucket scored without counting units (a problem, nothing run, no
    /// defined answer), for the student.
    pub reason: Option<String>,
}

impl Bucket<'_> {
    /// Whether every point was earned.
    pub fn is_full(&self) -> bool {
        self.score >= self.max
    }

    /// The test name, e.g. `UDP server — core`.
    pub fn name(&self) -> String {
        format!("{} — {}", role_words(self.role), self.category.as_str())
    }
}

/// The roles of `student` with a unit the machine was too busy to judge (the program
/// was silent twice while the machine ran over twenty times slower than idle), each with
/// the sentence saying so: such a role is not graded rather than scored on what is left.
pub fn machine_too_busy(results: &Results, student: &str) -> BTreeMap<RoleKey, String> {
    let mut out = BTreeMap::new();
    for r in &results.results {
        let Some(Finding::Run(RunFinding::MachineBusy { tenths })) = &r.finding else {
            continue;
        };
        for role in RoleKey::ALL {
            if counts_for(r, student, role) {
                out.entry(role).or_insert_with(|| {
                    format!(
                        "the grading machine was too busy (it ran {}.{} times slower than an idle core); grade again when it is quieter",
                        tenths / 10,
                        tenths % 10
                    )
                });
            }
        }
    }
    out
}

/// Whether unit `r` is graded for `student`'s `role`.
pub fn counts_for(r: &UnitResult, student: &str, role: RoleKey) -> bool {
    if r.transport != role.transport {
        return false;
    }
    match role.role {
        Role::Server => {
            r.server == student
                && matches!(r.kind, UnitKind::Pairing | UnitKind::ServerProbe)
                && r.fault != Some(Fault::Client)
        }
        Role::Client => {
            r.client == student
                && matches!(r.kind, UnitKind::Pairing | UnitKind::ClientProbe)
                && r.fault != Some(Fault::Server)
        }
    }
}

/// Every bucket the rubric gives points to, in role then category order.
pub fn buckets<'a>(g: &'a Graded, rubric: &Rubric) -> Vec<Bucket<'a>> {
    let mut out = Vec::new();
    for role in RoleKey::ALL {
        for category in CATEGORIES {
            let max = rubric.points(role, category);
            if max <= 0.0 {
                continue;
            }
            out.push(bucket(g, role, category, max, rubric.non_strict_credit));
        }
    }
    out
}

/// One role × category; a `non-strict` unit earns `non_strict_credit` of a pass.
fn bucket<'a>(
    g: &'a Graded,
    role: RoleKey,
    category: Category,
    max: f64,
    non_strict_credit: f64,
) -> Bucket<'a> {
    let mut b = Bucket {
        role,
        category,
        max,
        score: 0.0,
        passed: 0,
        non_strict: Vec::new(),
        counted: 0,
        not_counted: 0,
        failures: Vec::new(),
        reason: None,
    };
    if let Some(why) = g.not_graded.get(&role) {
        b.reason = Some(format!("not graded: {why}"));
        b.max = 0.0;
        return b;
    }
    if let Some(p) = g.problems.get(&role) {
        b.reason = Some(p.clone());
        return b;
    }
    let units = units_of(g, role, category);
    let mut infos = 0;
    let mut first_skip = None;
    for r in &units {
        if !counts_for(r, &g.name, role) {
            b.not_counted += 1;
            continue;
        }
        match r.verdict {
            Verdict::Pass | Verdict::Xpass => {
                b.passed += 1;
                b.counted += 1;
            }
            Verdict::Fail | Verdict::Xfail => {
                b.counted += 1;
                b.failures.push(r);
            }
            Verdict::NonStrict => {
                b.non_strict.push(r);
                b.counted += 1;
            }
            Verdict::Info => {
                infos += 1;
                b.not_counted += 1;
            }
            Verdict::Skip => {
                first_skip.get_or_insert(*r);
                b.not_counted += 1;
            }
        }
    }
    if b.counted > 0 {
        let earned = b.passed as f64 + non_strict_credit * b.non_strict.len() as f64;
        b.score = round2(max * earned / b.counted as f64);
    } else {
        why_nothing_counted(g, &mut b, infos, first_skip, units.is_empty());
    }
    b
}

/// The units where `g` plays `role` on cases of `category`: its probes and pairings.
fn units_of(g: &Graded, role: RoleKey, category: Category) -> Vec<&UnitResult> {
    let probe = match role.role {
        Role::Server => UnitKind::ServerProbe,
        Role::Client => UnitKind::ClientProbe,
    };
    g.results
        .iter()
        .flat_map(|r| &r.results)
        .filter(|r| r.category == category && r.transport == role.transport)
        .filter(|r| match role.role {
            Role::Server => r.server == g.name,
            Role::Client => r.client == g.name,
        })
        .filter(|r| r.kind == probe || r.kind == UnitKind::Pairing)
        .collect()
}

/// A bucket where no unit counted: full points when the reference had no answer, else
/// 0, with the reason.
fn why_nothing_counted(
    g: &Graded,
    b: &mut Bucket,
    infos: usize,
    first_skip: Option<&UnitResult>,
    no_units: bool,
) {
    let (role, category) = (b.role, b.category);
    if infos > 0 {
        b.score = b.max;
        b.reason = Some(
            "The reference itself has no defined answer for these inputs, so they are not counted."
                .into(),
        );
    } else if let Some(r) = first_skip {
        b.reason = Some(for_student(r, &g.name));
    } else if no_units {
        b.reason = Some(format!(
            "No {} check ran for your {}.",
            category.as_str(),
            role_words(role)
        ));
    } else {
        b.reason = Some(format!(
            "Every {} check of your {} failed because of your other role.",
            category.as_str(),
            role_words(role)
        ));
    }
}

/// The points `role` earned across `buckets`.
pub fn role_score(buckets: &[Bucket], role: RoleKey) -> f64 {
    round2(
        buckets
            .iter()
            .filter(|b| b.role == role)
            .map(|b| b.score)
            .sum(),
    )
}

/// The most `buckets` could earn: the rubric's maximum less the roles not graded.
pub fn max_of(buckets: &[Bucket]) -> f64 {
    round2(buckets.iter().map(|b| b.max).sum())
}

/// The points earned across `buckets`.
pub fn total(buckets: &[Bucket]) -> f64 {
    round2(buckets.iter().map(|b| b.score).sum())
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Points as people write them: `20`, `37.5`, `6.67`.
pub fn points_text(x: f64) -> String {
    let s = format!("{:.2}", round2(x));
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// The first thing the student should fix: the first failure's sentence (what their code
/// does wrong), else why a role was not graded here, else a role's problem (missing,
/// unbuildable), else why a bucket is not
/// full; `None` when everything passed.
pub fn first_problem(g: &Graded, rubric: &Rubric) -> Option<String> {
    let bs = buckets(g, rubric);
    bs.iter()
        .find_map(|b| {
            b.failures
                .iter()
                .copied()
                .min_by_key(|r| clarity(r))
                .map(|r| for_student(example(b, r), &g.name))
        })
        .or_else(|| {
            g.not_graded
                .values()
                .next()
                .map(|w| format!("not graded: {w}"))
        })
        .or_else(|| g.problems.values().next().cloned())
        .or_else(|| {
            bs.iter()
                .find(|b| !b.is_full())
                .and_then(|b| b.reason.clone())
        })
}

/// For the failures that look like `r`, the unit that shows it most plainly.
fn example<'a>(b: &Bucket<'a>, r: &'a UnitResult) -> &'a UnitResult {
    let key = group_key(r);
    b.failures
        .iter()
        .copied()
        .filter(|u| group_key(u) == key)
        .min_by_key(|u| clarity(u))
        .unwrap_or(r)
}

/// Lower is plainer: a probe's bytes are the reply itself; a pairing with the
/// reference shows what the student's peer sees.
pub(super) fn clarity(r: &UnitResult) -> u8 {
    match r.kind {
        UnitKind::ServerProbe | UnitKind::ClientProbe => 0,
        _ if r.client == crate::registry::reference()
            || r.server == crate::registry::reference() =>
        {
            1
        }
        // The student's own client with their own server: whose mistake it shows is
        // the hardest to tell.
        _ if r.client == r.server => 3,
        _ => 2,
    }
}

/// Failures with the same key are one kind of mistake: the finding's code, without
/// its bytes and numbers.
pub(super) fn group_key(r: &UnitResult) -> String {
    r.finding.as_ref().map(Finding::code).unwrap_or_default()
}

//! A role two files play when the code cannot tell which is meant (`TCPServer.py` and
//! `TCPServer_v2.py` on one port): both are graded and the better kept, and the feedback
//! names both. The submission's own run grades the first file of every role; a second
//! run grades a variant holding each such role's second file together with the other
//! roles of its transport, so that the student's own pair is graded as it would be kept.
//! Per role, the run in which the role earns more is kept (the first on a tie): its
//! units of that role replace the first run's. At most two files per role, and one
//! extra run per submission, whatever the number of such roles.
//!
//! Pure: it builds sources and picks between results; `pipeline` runs them.

use std::collections::BTreeMap;

use super::detect::{Sources, Submission};
use super::gradebook::{buckets, points_text, role_score, Graded};
use super::rubric::Rubric;
use crate::plan::UnitKind;
use crate::registry::{Role, RoleKey};
use crate::results::{PlanPrint, Results, Summary, UnitResult};

/// The sources of the second run: each role's second file, with the first files of the
/// other roles of its transport; `None` when no role has a second file.
pub(super) fn variant(s: &Sources) -> Option<Sources> {
    if s.alternates.is_empty() {
        return None;
    }
    let mut roles = s.alternates.clone();
    for (key, role) in &s.roles {
        if s.alternates.keys().any(|a| a.transport == key.transport) {
            roles.entry(*key).or_insert_with(|| role.clone());
        }
    }
    Some(Sources {
        roles,
        alternates: BTreeMap::new(),
        ..s.clone()
    })
}

/// Whether `student` plays `key` in unit `r` (whoever is at fault).
fn plays(r: &UnitResult, student: &str, key: RoleKey) -> bool {
    r.transport == key.transport
        && match key.role {
            Role::Server => {
                r.server == student && matches!(r.kind, UnitKind::Pairing | UnitKind::ServerProbe)
            }
            Role::Client => {
                r.client == student && matches!(r.kind, UnitKind::Pairing | UnitKind::ClientProbe)
            }
        }
}

/// The points `key` earns in `graded` with `results` as its run.
fn score_with(graded: &Graded, results: &Results, key: RoleKey, rubric: &Rubric) -> f64 {
    let g = Graded {
        results: Some(results.clone()),
        ..graded.clone()
    };
    role_score(&buckets(&g, rubric), key)
}

/// Keeps, for each role of `s` with a second file, the better of the first run (in
/// `graded`) and the `second` run, and notes which was kept and why.
pub(super) fn keep_better(graded: &mut Graded, second: &Results, s: &Sources, rubric: &Rubric) {
    let Some(mut first) = graded.results.clone() else {
        return;
    };
    let name = graded.name.clone();
    let mut replaced = false;
    for (key, alternate) in &s.alternates {
        let Some(chosen) = s.role(*key) else {
            continue;
        };
        let one = score_with(graded, &first, *key, rubric);
        let two = score_with(graded, second, *key, rubric);
        let (a, b) = (chosen.file.display(), alternate.file.display());
        let (kept, other, high, low) = if two > one {
            first.results.retain(|r| !plays(r, &name, *key));
            first.results.extend(
                second
                    .results
                    .iter()
                    .filter(|r| plays(r, &name, *key))
                    .cloned(),
            );
            replaced = true;
            (&b, &a, two, one)
        } else {
            (&a, &b, one, two)
        };
        graded.notes.push(format!(
            "{key}: graded both {a} and {b}; kept {kept} ({} points, against {} for {other})",
            points_text(high),
            points_text(low)
        ));
    }
    if replaced {
        first.results.sort_by(|x, y| x.id.cmp(&y.id));
        first.summary = Summary::count(
            &first.results,
            first.summary.wall_seconds + second.summary.wall_seconds,
        );
        first.plan = Some(PlanPrint::of(first.results.iter().map(|r| r.id.as_str())));
    }
    graded.results = Some(first);
}

/// The sources of a submission, when they have roles with a second file.
pub(super) fn with_alternates(submission: &Submission) -> Option<&Sources> {
    match submission {
        Submission::Sources(s) if !s.alternates.is_empty() => Some(s),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::testing::unit;
    use crate::verdict::Verdict;

    /// A UDP server probe of `alice` on a core case, and her pairing with the reference
    /// client on it.
    fn run(verdicts: [Verdict; 2]) -> Results {
        let mut units = Vec::new();
        for (i, (case, verdict)) in ["hello", "world"].iter().zip(verdicts).enumerate() {
            let mut probe = unit(&format!("udp::probe-client::alice-server::{case}"), verdict);
            probe.kind = UnitKind::ServerProbe;
            probe.client = "probe".into();
            probe.case = case.to_string();
            let mut pairing = unit(
                &format!("udp::python-client::alice-server::{case}"),
                verdict,
            );
            pairing.case = case.to_string();
            pairing.duration_ms = i as u64;
            units.extend([probe, pairing]);
        }
        Results {
            schema_version: crate::results::SCHEMA_VERSION,
            shout_version: "0.1.0".into(),
            corpus: "0".into(),
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

    fn sources_with_two_udp_servers() -> Sources {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/submissions/py-two-udp-servers");
        match super::super::detect::detect(&dir).unwrap() {
            Submission::Sources(s) => s,
            Submission::Manifest(_) => panic!("no manifest there"),
        }
    }

    fn graded(results: Results) -> Graded {
        Graded {
            name: "alice".into(),
            language: None,
            notes: Vec::new(),
            problems: BTreeMap::new(),
            not_graded: BTreeMap::new(),
            results: Some(results),
        }
    }

    #[test]
    fn the_second_file_is_kept_when_it_earns_more_and_the_first_on_a_tie() {
        let s = sources_with_two_udp_servers();
        let rubric = Rubric::default();
        let worse = run([Verdict::Fail, Verdict::Pass]);
        let better = run([Verdict::Pass, Verdict::Pass]);

        let mut g = graded(worse.clone());
        keep_better(&mut g, &better, &s, &rubric);
        let kept = g.results.as_ref().unwrap();
        assert!(kept.results.iter().all(|r| r.verdict == Verdict::Pass));
        assert_eq!(kept.summary.passed, 4);
        assert_eq!(
            g.notes,
            [
                "udp-server: graded both UDPServer.py and server_fixed.py; kept server_fixed.py \
              (10 points, against 5 for UDPServer.py)"
            ]
        );

        let mut g = graded(better.clone());
        keep_better(&mut g, &worse, &s, &rubric);
        assert_eq!(g.results.as_ref().unwrap().results, better.results);
        assert!(
            g.notes[0].contains("kept UDPServer.py (10 points"),
            "{:?}",
            g.notes
        );

        let mut g = graded(better.clone());
        keep_better(&mut g, &better.clone(), &s, &rubric);
        assert!(g.notes[0].contains("kept UDPServer.py"), "{:?}", g.notes);
    }

    #[test]
    fn the_variant_pairs_the_second_file_with_the_other_role_of_its_transport() {
        let s = sources_with_two_udp_servers();
        let v = variant(&s).expect("a role with a second file");
        let files: Vec<String> = v
            .roles
            .iter()
            .map(|(k, r)| format!("{k} {}", r.file.display()))
            .collect();
        assert_eq!(
            files,
            ["udp-client UDPClient.py", "udp-server server_fixed.py"]
        );
        assert!(v.alternates.is_empty());
        let mut decided = s.clone();
        decided.alternates.clear();
        assert!(variant(&decided).is_none());
    }
}

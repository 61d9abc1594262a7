//! Roles this machine could not grade: out of the score and the maximum, and said so.

use super::tests::{graded, run_for};
use super::*;
use crate::grade::rubric::Rubric;
use crate::proto::Transport;
use crate::registry::RoleKey;
use crate::verdict::Verdict;

#[test]
fn a_role_this_machine_cannot_grade_is_neither_scored_nor_in_the_maximum() {
    let rubric = Rubric::default();
    let tc = RoleKey::ALL[3];
    let mut g = graded(
        "dana",
        run_for("dana", &|i| (Verdict::Pass, None, i.to_uppercase()))
            .into_iter()
            .filter(|u| !(u.transport == Transport::Tcp && u.client == "dana"))
            .collect(),
    );
    g.not_graded.insert(
        tc,
        "`go` is not installed: apt-get install golang-go".into(),
    );
    let bs = buckets(&g, &rubric);
    assert_eq!(total(&bs), 58.0);
    assert_eq!(max_of(&bs), 58.0);
    let csv = class_csv(std::slice::from_ref(&g), &rubric);
    let row = csv.lines().nth(1).unwrap();
    assert!(row.contains("not graded: `go` is not installed"), "{row}");
    assert!(row.contains(",58,58,"), "{row}");
    let md = class_markdown(std::slice::from_ref(&g), &rubric);
    assert!(md.contains("58 of 58"), "{md}");
    let first = first_problem(&g, &rubric).unwrap();
    assert!(first.starts_with("not graded: "), "{first}");
    let v = gradescope(&g, &rubric);
    assert_eq!(v["score"], 58.0);
    assert!(
        v["output"]
            .as_str()
            .unwrap()
            .contains("it is not counted against you"),
        "{v}"
    );
    // The same role missing from the submission is the student's: 0 of 76.
    let mut missing = g.clone();
    missing.not_graded.clear();
    missing.problems.insert(tc, "no TCP client found".into());
    assert_eq!(max_of(&buckets(&missing, &rubric)), 76.0);
}

#[test]
fn a_role_the_machine_was_too_busy_to_judge_is_not_graded_and_the_others_are() {
    use crate::verdict::RunFinding;
    let rubric = Rubric::default();
    // Every server unit passes but one, which the machine was too busy to judge.
    let mut busy_once = false;
    let units: Vec<_> = run_for("erin", &|i| (Verdict::Pass, None, i.to_uppercase()))
        .into_iter()
        .map(|mut u| {
            if !busy_once && u.transport == Transport::Tcp && u.server == "erin" {
                busy_once = true;
                u.verdict = Verdict::Skip;
                u.finding = Some(RunFinding::MachineBusy { tenths: 143 }.into());
            }
            u
        })
        .collect();
    let mut g = graded("erin", units);
    let busy = machine_too_busy(g.results.as_ref().unwrap(), "erin");
    let tcp_server = RoleKey::ALL[2];
    assert_eq!(busy.keys().copied().collect::<Vec<_>>(), [tcp_server]);
    assert!(busy[&tcp_server].contains("14.3 times slower"), "{busy:?}");
    g.not_graded.extend(busy);
    let bs = buckets(&g, &rubric);
    assert_eq!(max_of(&bs), 56.0, "the TCP server's 20 points are out");
    assert_eq!(total(&bs), 56.0);
    let row = class_csv(std::slice::from_ref(&g), &rubric);
    assert!(
        row.contains("not graded: the grading machine was too busy"),
        "{row}"
    );
    // Without the busy unit nothing is out.
    let clean = graded(
        "erin",
        run_for("erin", &|i| (Verdict::Pass, None, i.to_uppercase())),
    );
    assert!(machine_too_busy(clean.results.as_ref().unwrap(), "erin").is_empty());
}

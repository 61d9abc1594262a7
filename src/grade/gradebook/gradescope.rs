//! Gradescope's `results.json`: one test per role and category bucket, each failure
//! kind told once with an example's bytes; and a check of the format Gradescope reads.

use serde_json::{json, Map, Value};

use super::score::{buckets, clarity, group_key, max_of, points_text, total, Bucket, Graded};
use crate::grade::explain::{for_student, role_words};
use crate::grade::rubric::{Rubric, CATEGORIES};
use crate::registry::{Role, RoleKey};
use crate::results::UnitResult;
use crate::text::{quote, quote_pair};
use crate::verdict::{Fault, Finding};

/// How many kinds of failure a test's output describes before summing up the rest.
const MAX_GROUPS: usize = 5;

/// The most characters of a test's `output`.
const MAX_TEST_OUTPUT: usize = 6000;

/// How many characters of input, expected and actual bytes a test's output quotes.
const QUOTE_BYTES: usize = 200;

/// The text of one test: why it scored as it did, then each kind of failure with one
/// example's exact bytes and the command that reruns it.
fn test_output(b: &Bucket, student: &str) -> String {
    let mut out = String::new();
    if let Some(reason) = &b.reason {
        out.push_str(reason);
        out.push('\n');
        return out;
    }
    out.push_str(&format!("{} of {} checks passed", b.passed, b.counted));
    if !b.non_strict.is_empty() {
        out.push_str(&format!(", {} non-strict", b.non_strict.len()));
    }
    if b.not_counted > 0 {
        out.push_str(&format!(
            " ({} more not counted: the reference has no defined answer, they did not run, or your other role caused them)",
            b.not_counted
        ));
    }
    out.push_str(".\n");
    if let Some(first) = b.non_strict.first() {
        out.push_str(&for_student(first, student));
        out.push('\n');
    }
    let other = match b.role.role {
        Role::Server => "client",
        Role::Client => "server",
    };
    let (elsewhere, own): (Vec<&UnitResult>, Vec<&UnitResult>) = b
        .failures
        .iter()
        .copied()
        .partition(|r| told_by_other_side(r, b.role.role));
    let groups = by_kind(own);
    for (_, units) in groups.iter().take(MAX_GROUPS) {
        let part = failure_kind(units, student);
        if out.chars().count() + part.chars().count() > MAX_TEST_OUTPUT {
            out.push_str("\n(more failures left out to keep this short)\n");
            return out;
        }
        out.push_str(&part);
    }
    if !elsewhere.is_empty() {
        out.push_str(&format!(
            "\n{} more failed {} ran with a {other} that is wrong on its own too; its tests say how. They count here because your {} failed the same input with the reference {other}.\n",
            elsewhere.len(),
            if elsewhere.len() == 1 { "check" } else { "checks" },
            role_words(b.role),
        ));
    }
    if groups.len() > MAX_GROUPS {
        let rest: usize = groups[MAX_GROUPS..].iter().map(|(_, v)| v.len()).sum();
        out.push_str(&format!(
            "\n… and {} more kinds of failure ({rest} checks).\n",
            groups.len() - MAX_GROUPS
        ));
    }
    out
}

/// Whether failure `r` of `role` is one the harness puts on both sides but words from
/// the other side ("client sent nothing"): that side's own tests already explain it.
pub(super) fn told_by_other_side(r: &UnitResult, role: Role) -> bool {
    let about_other_side = |f: &Finding| match (f, role) {
        (Finding::Client(_), Role::Server) | (Finding::Server(_), Role::Client) => true,
        (Finding::Client(_) | Finding::Server(_), Role::Server | Role::Client)
        | (Finding::Run(_) | Finding::Reference(_), _) => false,
    };
    r.fault == Some(Fault::Both) && r.finding.as_ref().is_some_and(about_other_side)
}

/// Failures grouped by kind of mistake, the most frequent first.
pub(super) fn by_kind(failures: Vec<&UnitResult>) -> Vec<(String, Vec<&UnitResult>)> {
    let mut groups: Vec<(String, Vec<&UnitResult>)> = Vec::new();
    for r in failures {
        let key = group_key(r);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(r),
            None => groups.push((key, vec![r])),
        }
    }
    groups.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
    groups
}

/// One kind of failure: its sentence and count, then the plainest example's bytes and
/// the command that reruns it.
fn failure_kind(units: &[&UnitResult], student: &str) -> String {
    let r = units
        .iter()
        .copied()
        .min_by_key(|u| clarity(u))
        .expect("a group has a unit");
    let mut part = format!(
        "\n{} ({} {})\n",
        for_student(r, student),
        units.len(),
        if units.len() == 1 { "check" } else { "checks" }
    );
    part.push_str(&format!(
        "  case:     {}, {}\n  input:    `{}`\n",
        r.case,
        describe(r, student),
        quote(&r.input, QUOTE_BYTES)
    ));
    match (&r.expected, &r.actual) {
        (Some(e), Some(a)) if e == a => part.push_str(&format!(
            "  output:   `{}` (as expected: the difference is in what was sent)\n",
            quote(a, QUOTE_BYTES)
        )),
        (Some(e), Some(a)) => {
            let (e, a) = quote_pair(e, a, QUOTE_BYTES);
            part.push_str(&format!("  expected: `{e}`\n  got:      `{a}`\n"));
        }
        (e, a) => {
            if let Some(e) = e {
                part.push_str(&format!("  expected: `{}`\n", quote(e, QUOTE_BYTES)));
            }
            match a {
                Some(a) => part.push_str(&format!("  got:      `{}`\n", quote(a, QUOTE_BYTES))),
                None => part.push_str("  got:      nothing\n"),
            }
        }
    }
    if let Some(m) = &r.minimal_input {
        part.push_str(&format!(
            "  smallest input that shows it: `{}`\n",
            quote(m.as_bytes(), QUOTE_BYTES)
        ));
    }
    part.push_str(&format!("  rerun:    {}\n", r.reproduce));
    part
}

/// Which sides ran, in words: "over UDP, the reference client with your server".
pub(super) fn describe(r: &UnitResult, student: &str) -> String {
    let side = |name: &str, role: &str| match name {
        n if n == student => format!("your {role}"),
        n if n == crate::registry::reference() => format!("the reference {role}"),
        n if n == crate::registry::SHOUT => format!("shout's {role}"),
        n if n == crate::plan::PROBE => format!("shout's test {role}"),
        n => format!("{n}'s {role}"),
    };
    format!(
        "over {}, {} with {}",
        r.transport.as_str().to_uppercase(),
        side(&r.client, "client"),
        side(&r.server, "server")
    )
}

/// The submission's Gradescope `results.json`.
///
/// Top level: `score`, `execution_time` (when there are results), `output` (the total,
/// echoed when some tests are hidden and the rubric allows it, then problems and notes),
/// `output_format`, `stdout_visibility`, `extra_data` (`max_score`, `submission`,
/// `language`), `tests`. Each test is one role × category bucket with `name`, `number`,
/// `score`, `max_score`, `status`, `output`, `output_format`, `tags`, `visibility`.
/// Gradescope's format has no top-level maximum, so it goes in `extra_data`.
pub fn gradescope(g: &Graded, rubric: &Rubric) -> Value {
    let bs = buckets(g, rubric);
    let score = total(&bs);
    // Roles this machine could not grade are out of the maximum, not scored 0.
    let max = max_of(&bs);
    let hidden = bs
        .iter()
        .any(|b| rubric.visibility_of(b.category).hides_now());
    let mut output = String::new();
    if !hidden || rubric.show_total_when_hidden {
        output.push_str(&format!(
            "Total: {} / {} points.",
            points_text(score),
            points_text(max)
        ));
        if hidden {
            output.push_str(" Some tests are hidden for now; this total includes them.");
        }
        output.push('\n');
    }
    if let Some(l) = &g.language {
        output.push_str(&format!("Language: {l}.\n"));
    }
    for (role, p) in &g.problems {
        output.push_str(&format!("{}: {p}\n", role_words(*role)));
    }
    for (role, why) in &g.not_graded {
        output.push_str(&format!(
            "{}: not graded on this machine ({why}); it is not counted against you.\n",
            role_words(*role)
        ));
    }
    for n in &g.notes {
        output.push_str(&format!("Note: {n}\n"));
    }
    if output.is_empty() {
        output.push_str("Graded.\n");
    }
    let tests: Vec<Value> = bs
        .iter()
        .map(|b| {
            let role_no = RoleKey::ALL.iter().position(|&r| r == b.role).unwrap_or(0) + 1;
            let cat_no = CATEGORIES
                .iter()
                .position(|&c| c == b.category)
                .unwrap_or(0)
                + 1;
            json!({
                "name": b.name(),
                "number": format!("{role_no}.{cat_no}"),
                "score": b.score,
                "max_score": b.max,
                "status": if b.is_full() { "passed" } else { "failed" },
                "output": test_output(b, &g.name),
                "output_format": "text",
                "tags": [b.role.to_string(), b.category.as_str()],
                "visibility": rubric.visibility_of(b.category).as_str(),
            })
        })
        .collect();
    let mut top = Map::new();
    top.insert("score".into(), json!(score));
    if let Some(r) = &g.results {
        top.insert(
            "execution_time".into(),
            json!(r.summary.wall_seconds.max(0.0).round() as u64),
        );
    }
    top.insert("output".into(), json!(output));
    top.insert("output_format".into(), json!("text"));
    top.insert(
        "stdout_visibility".into(),
        json!(rubric.stdout_visibility.as_str()),
    );
    top.insert(
        "extra_data".into(),
        json!({
            "max_score": max,
            "submission": g.name,
            "language": g.language,
        }),
    );
    top.insert("tests".into(), Value::Array(tests));
    Value::Object(top)
}

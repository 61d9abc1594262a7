//! Gradescope's `results.json`: one test per role and category bucket, each failure
//! kind told once with an example's bytes; and a check of the format Gradescope reads.

use serde_json::{json, Map, Value};

use super::score::{buckets, clarity, group_key, points_text, total, Bucket, Graded};
use crate::grade::explain::{for_student, role_words};
use crate::grade::rubric::{Rubric, CATEGORIES};
use crate::registry::{Role, RoleKey, REFERENCE};
use crate::results::UnitResult;
use crate::text::quote;
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
    if b.not_counted > 0 {
        out.push_str(&format!(
            " ({} more not counted: the reference has no defined answer, they did not run, or your other role caused them)",
            b.not_counted
        ));
    }
    out.push_str(".\n");
    // A failure the harness puts on both sides, told from the other side ("client
    // sent nothing"), is already explained by that side's own tests.
    let other = match b.role.role {
        Role::Server => "client",
        Role::Client => "server",
    };
    let about_other_side = |f: &Finding| match (f, b.role.role) {
        (Finding::Client(_), Role::Server) | (Finding::Server(_), Role::Client) => true,
        (Finding::Client(_) | Finding::Server(_), Role::Server | Role::Client)
        | (Finding::Run(_) | Finding::Reference(_), _) => false,
    };
    let (elsewhere, own): (Vec<&UnitResult>, Vec<&UnitResult>) =
        b.failures.iter().copied().partition(|r| {
            r.fault == Some(Fault::Both) && r.finding.as_ref().is_some_and(about_other_side)
        });
    let mut groups: Vec<(String, Vec<&UnitResult>)> = Vec::new();
    for r in own {
        let key = group_key(r);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(r),
            None => groups.push((key, vec![r])),
        }
    }
    groups.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
    for (_, units) in groups.iter().take(MAX_GROUPS) {
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

/// Which sides ran, in words: "over UDP, the reference client with your server".
fn describe(r: &UnitResult, student: &str) -> String {
    let side = |name: &str, role: &str| match name {
        n if n == student => format!("your {role}"),
        n if n == REFERENCE => format!("the reference {role}"),
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
    let max = rubric.max_total();
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

const VISIBILITIES: [&str; 4] = ["visible", "hidden", "after_due_date", "after_published"];
const FORMATS: [&str; 5] = ["text", "html", "simple_format", "md", "ansi"];

/// Checks `v` against Gradescope's documented `results.json` format: known fields only,
/// each of the right type, and a score either at the top or on every test.
pub fn validate_gradescope(v: &Value) -> Result<(), String> {
    let top = v.as_object().ok_or("results.json must be a JSON object")?;
    let known = [
        "score",
        "execution_time",
        "output",
        "output_format",
        "test_output_format",
        "test_name_format",
        "visibility",
        "stdout_visibility",
        "extra_data",
        "tests",
        "leaderboard",
    ];
    check_fields(top, &known, "results.json")?;
    number(top, "score", "results.json")?;
    if let Some(t) = number(top, "execution_time", "results.json")? {
        if t < 0.0 {
            return Err("results.json: `execution_time` must not be negative".into());
        }
    }
    string(top, "output", "results.json")?;
    for f in ["output_format", "test_output_format", "test_name_format"] {
        one_of(top, f, &FORMATS, "results.json")?;
    }
    for f in ["visibility", "stdout_visibility"] {
        one_of(top, f, &VISIBILITIES, "results.json")?;
    }
    if let Some(e) = top.get("extra_data") {
        if !e.is_object() {
            return Err("results.json: `extra_data` must be an object".into());
        }
    }
    let tests = match top.get("tests") {
        None => &Vec::new(),
        Some(Value::Array(a)) => a,
        Some(_) => return Err("results.json: `tests` must be an array".into()),
    };
    if !top.contains_key("score")
        && (tests.is_empty() || tests.iter().any(|t| t.get("score").is_none()))
    {
        return Err("results.json: `score` is required unless every test has a `score`".into());
    }
    let test_fields = [
        "score",
        "max_score",
        "status",
        "name",
        "name_format",
        "number",
        "output",
        "output_format",
        "tags",
        "visibility",
        "extra_data",
    ];
    for (i, t) in tests.iter().enumerate() {
        let at = format!("tests[{i}]");
        let t = t.as_object().ok_or(format!("{at} must be an object"))?;
        check_fields(t, &test_fields, &at)?;
        number(t, "score", &at)?;
        if let Some(m) = number(t, "max_score", &at)? {
            if m < 0.0 {
                return Err(format!("{at}: `max_score` must not be negative"));
            }
        }
        one_of(t, "status", &["passed", "failed"], &at)?;
        for f in ["name", "number", "output"] {
            string(t, f, &at)?;
        }
        for f in ["name_format", "output_format"] {
            one_of(t, f, &FORMATS, &at)?;
        }
        one_of(t, "visibility", &VISIBILITIES, &at)?;
        if let Some(tags) = t.get("tags") {
            let ok = tags
                .as_array()
                .is_some_and(|a| a.iter().all(Value::is_string));
            if !ok {
                return Err(format!("{at}: `tags` must be an array of strings"));
            }
        }
        if t.get("extra_data").is_some_and(|e| !e.is_object()) {
            return Err(format!("{at}: `extra_data` must be an object"));
        }
    }
    if let Some(board) = top.get("leaderboard") {
        let board = board
            .as_array()
            .ok_or("results.json: `leaderboard` must be an array")?;
        for (i, entry) in board.iter().enumerate() {
            let at = format!("leaderboard[{i}]");
            let e = entry.as_object().ok_or(format!("{at} must be an object"))?;
            check_fields(e, &["name", "value", "order"], &at)?;
            if !e.get("name").is_some_and(Value::is_string) {
                return Err(format!("{at}: `name` must be a string"));
            }
            if !e
                .get("value")
                .is_some_and(|v| v.is_number() || v.is_string())
            {
                return Err(format!("{at}: `value` must be a number or a string"));
            }
            one_of(e, "order", &["asc", "desc"], &at)?;
        }
    }
    Ok(())
}

fn check_fields(o: &Map<String, Value>, known: &[&str], at: &str) -> Result<(), String> {
    match o.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(format!(
            "{at}: unknown field `{k}`; Gradescope knows {}",
            known.join(", ")
        )),
        None => Ok(()),
    }
}

fn number(o: &Map<String, Value>, f: &str, at: &str) -> Result<Option<f64>, String> {
    match o.get(f) {
        None => Ok(None),
        Some(v) => match v.as_f64() {
            Some(x) if x.is_finite() => Ok(Some(x)),
            _ => Err(format!("{at}: `{f}` must be a number")),
        },
    }
}

fn string(o: &Map<String, Value>, f: &str, at: &str) -> Result<(), String> {
    match o.get(f) {
        None | Some(Value::String(_)) => Ok(()),
        Some(_) => Err(format!("{at}: `{f}` must be a string")),
    }
}

fn one_of(o: &Map<String, Value>, f: &str, allowed: &[&str], at: &str) -> Result<(), String> {
    match o.get(f) {
        None => Ok(()),
        Some(Value::String(s)) if allowed.contains(&s.as_str()) => Ok(()),
        Some(v) => Err(format!(
            "{at}: `{f}` is {v}; use one of {}",
            allowed.join(", ")
        )),
    }
}

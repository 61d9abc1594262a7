//! The gradebook: each submission's results turned into points per role and category
//! under a [`Rubric`], written as Gradescope `results.json` files and as the class's
//! CSV and Markdown tables.
//!
//! Scoring: a role's units are the ones where the submission plays that role (a server
//! role: every pairing it serves and every server probe; a client role: every pairing
//! it runs in and every client probe). Within a role × category bucket the points are
//! earned in proportion to the units that pass. `info` (the reference has no defined
//! answer) and `skip` (not run) units count neither way, and neither does a failure the
//! harness puts on the other side (a pairing of the student's own client and server
//! where only the client is wrong costs the server nothing). `xfail` counts as a
//! failure and `xpass` as a pass. A bucket with units but none that count is worth its
//! full points when the reference had no answer for any of them, and 0 when none ran.
//! A role with a problem (missing, toolchain, build failure) scores 0 in every bucket,
//! with the problem as the reason.
//!
//! Pure: it reads results and writes files, never starts a process.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use serde_json::{json, Map, Value};

use super::explain::{for_student, role_words};
use super::rubric::{Rubric, CATEGORIES};
use crate::corpus::Category;
use crate::plan::UnitKind;
use crate::registry::{valid_name, Role, RoleKey, REFERENCE};
use crate::results::{Results, UnitResult};
use crate::text::quote;
use crate::verdict::{Fault, Finding, Verdict};

/// How many kinds of failure a test's output describes before summing up the rest.
const MAX_GROUPS: usize = 5;

/// The most characters of a test's `output`.
const MAX_TEST_OUTPUT: usize = 6000;

/// How many characters of input, expected and actual bytes a test's output quotes.
const QUOTE_BYTES: usize = 200;

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
    /// Per role, the sentence saying why it could not be graded (missing role, missing
    /// toolchain, build failure); such a role scores 0.
    pub problems: BTreeMap<RoleKey, String>,
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
            out.push(bucket(g, role, category, max));
        }
    }
    out
}

fn bucket<'a>(g: &'a Graded, role: RoleKey, category: Category, max: f64) -> Bucket<'a> {
    let mut b = Bucket {
        role,
        category,
        max,
        score: 0.0,
        passed: 0,
        counted: 0,
        not_counted: 0,
        failures: Vec::new(),
        reason: None,
    };
    if let Some(p) = g.problems.get(&role) {
        b.reason = Some(p.clone());
        return b;
    }
    let units: Vec<&UnitResult> = g
        .results
        .iter()
        .flat_map(|r| &r.results)
        .filter(|r| r.category == category && r.transport == role.transport)
        .filter(|r| match role.role {
            Role::Server => r.server == g.name,
            Role::Client => r.client == g.name,
        })
        .filter(|r| {
            r.kind
                == match role.role {
                    Role::Server => UnitKind::ServerProbe,
                    Role::Client => UnitKind::ClientProbe,
                }
                || r.kind == UnitKind::Pairing
        })
        .collect();
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
        b.score = round2(max * b.passed as f64 / b.counted as f64);
    } else if infos > 0 {
        b.score = max;
        b.reason = Some(
            "The reference itself has no defined answer for these inputs, so they are not counted."
                .into(),
        );
    } else if let Some(r) = first_skip {
        b.reason = Some(for_student(r, &g.name));
    } else if units.is_empty() {
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
    b
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
/// does wrong), else a role's problem (missing, unbuildable), else why a bucket is not
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
fn clarity(r: &UnitResult) -> u8 {
    match r.kind {
        UnitKind::ServerProbe | UnitKind::ClientProbe => 0,
        _ if r.client == REFERENCE || r.server == REFERENCE => 1,
        // The student's own client with their own server: whose mistake it shows is
        // the hardest to tell.
        _ if r.client == r.server => 3,
        _ => 2,
    }
}

/// Failures with the same key are one kind of mistake: the finding's code, without
/// its bytes and numbers.
fn group_key(r: &UnitResult) -> String {
    r.finding.as_ref().map(Finding::code).unwrap_or_default()
}

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

/// One RFC 4180 field: quoted when it holds a comma, a quote or a line break, with
/// quotes doubled.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The class as CSV (RFC 4180, CRLF line ends): one row per submission with its
/// language, points per role, total, maximum and first problem.
pub fn class_csv(all: &[Graded], rubric: &Rubric) -> String {
    let mut header: Vec<String> = vec!["submission".into(), "language".into()];
    header.extend(RoleKey::ALL.iter().map(|r| r.to_string()));
    header.extend(["total".into(), "max".into(), "first_problem".into()]);
    let mut out = String::new();
    let mut line = |fields: Vec<String>| {
        let row: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    };
    line(header);
    for g in all {
        let bs = buckets(g, rubric);
        let mut row = vec![g.name.clone(), g.language.clone().unwrap_or_default()];
        row.extend(
            RoleKey::ALL
                .iter()
                .map(|&r| points_text(role_score(&bs, r))),
        );
        row.push(points_text(total(&bs)));
        row.push(points_text(rubric.max_total()));
        row.push(first_problem(g, rubric).unwrap_or_default());
        line(row);
    }
    out
}

fn md_cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

/// The class as a Markdown table (points per role, total), then one line per
/// submission with the first thing to fix.
pub fn class_markdown(all: &[Graded], rubric: &Rubric) -> String {
    let mut out = String::from("# Grades\n\n| submission | language |");
    for r in RoleKey::ALL {
        out.push_str(&format!(
            " {} ({}) |",
            role_words(r),
            points_text(rubric.role_max(r))
        ));
    }
    out.push_str(&format!(
        " total ({}) |\n|---|---|",
        points_text(rubric.max_total())
    ));
    out.push_str(&"---:|".repeat(RoleKey::ALL.len() + 1));
    out.push('\n');
    for g in all {
        let bs = buckets(g, rubric);
        out.push_str(&format!(
            "| {} | {} |",
            md_cell(&g.name),
            md_cell(g.language.as_deref().unwrap_or("—"))
        ));
        for r in RoleKey::ALL {
            out.push_str(&format!(" {} |", points_text(role_score(&bs, r))));
        }
        out.push_str(&format!(" {} |\n", points_text(total(&bs))));
    }
    out.push_str("\n## First thing to fix\n\n");
    for g in all {
        let what = first_problem(g, rubric).unwrap_or_else(|| "every check passed.".into());
        out.push_str(&format!(
            "- `{}`: {}\n",
            g.name,
            what.replace(['\n', '\r'], " ")
        ));
    }
    out
}

/// Writes `OUT/NAME/results.json` for every submission, then `OUT/grades.csv` and
/// `OUT/grades.md`. A name that is not `[a-z0-9-]+`, or that two submissions share, is
/// an `InvalidInput` error before anything is written.
pub fn write_all(out_dir: &Path, all: &[Graded], rubric: &Rubric) -> io::Result<()> {
    let mut seen = std::collections::BTreeSet::new();
    for g in all {
        if !valid_name(&g.name) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("submission name `{}` must match [a-z0-9-]+", g.name),
            ));
        }
        if !seen.insert(g.name.as_str()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("two submissions are named `{}`; rename one folder", g.name),
            ));
        }
    }
    std::fs::create_dir_all(out_dir)?;
    for g in all {
        let dir = out_dir.join(&g.name);
        std::fs::create_dir_all(&dir)?;
        let mut text = serde_json::to_string_pretty(&gradescope(g, rubric))
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        text.push('\n');
        std::fs::write(dir.join("results.json"), text)?;
    }
    std::fs::write(out_dir.join("grades.csv"), class_csv(all, rubric))?;
    std::fs::write(out_dir.join("grades.md"), class_markdown(all, rubric))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grade::explain::{problem, Problem};
    use crate::grade::rubric::Visibility;
    use crate::proto::Transport;
    use crate::results::Summary;
    use crate::run::wire::Transcript;

    const CASES: [(&str, Category, &str); 4] = [
        ("hello", Category::Core, "hello world"),
        ("sharp-s", Category::Unicode, "straße"),
        ("single-char", Category::Edge, "a"),
        ("invalid-utf8", Category::Robustness, "abc\u{fffd}"),
    ];

    #[allow(clippy::too_many_arguments)]
    fn unit(
        transport: Transport,
        client: &str,
        server: &str,
        kind: UnitKind,
        case: &str,
        category: Category,
        input: &str,
        verdict: Verdict,
        fault: Option<Fault>,
        finding: Option<Finding>,
        expected: &str,
        actual: &str,
    ) -> UnitResult {
        UnitResult {
            id: format!("{transport}::{client}-client::{server}-server::{case}"),
            axis: None,
            transport,
            client: client.into(),
            server: server.into(),
            kind,
            case: case.into(),
            category,
            verdict,
            fault,
            input: input.as_bytes().to_vec(),
            expected: Some(expected.as_bytes().to_vec()),
            actual: Some(actual.as_bytes().to_vec()),
            wire: Transcript::default(),
            finding,
            known: None,
            minimal_input: None,
            reproduce: format!(
                "shout matrix --id {transport}::{client}-client::{server}-server::{case}"
            ),
            duration_ms: 1,
            client_ms: None,
        }
    }

    fn results(units: Vec<UnitResult>) -> Results {
        let mut units = units;
        units.sort_by(|a, b| a.id.cmp(&b.id));
        Results {
            schema_version: crate::results::SCHEMA_VERSION,
            shout_version: "0.1.0".into(),
            corpus: "0".into(),
            partition: None,
            plan: None,
            summary: Summary::count(&units, 12.4),
            results: units,
        }
    }

    /// How a test server answers an input: the verdict, the diagnosis and the reply.
    type ServerBehaviour = dyn Fn(&str) -> (Verdict, Option<Finding>, String);

    /// Every unit a grading run gives `name`'s four roles, judged by `server_verdict`
    /// for its server units; its client units all pass.
    fn run_for(name: &str, server_verdict: &ServerBehaviour) -> Vec<UnitResult> {
        let mut out = Vec::new();
        for t in Transport::ALL {
            for (case, category, input) in CASES {
                let want = input.to_uppercase();
                let server_unit = |client: &str, kind: UnitKind| {
                    let (v, d, got) = server_verdict(input);
                    let fault = (v == Verdict::Fail).then_some(Fault::Server);
                    unit(
                        t, client, name, kind, case, category, input, v, fault, d, &want, &got,
                    )
                };
                if category == Category::Robustness {
                    // The reference has no answer to invalid UTF-8, except for a probe
                    // case where it does: one info, one counted.
                    let mut info = server_unit("probe", UnitKind::ServerProbe);
                    info.verdict = Verdict::Info;
                    info.fault = None;
                    info.id.push_str("-info");
                    out.push(info);
                    out.push(server_unit("probe", UnitKind::ServerProbe));
                    continue;
                }
                for client in ["python", "rust", name] {
                    out.push(server_unit(client, UnitKind::Pairing));
                }
                out.push(server_unit("probe", UnitKind::ServerProbe));
                for server in ["python", "rust"] {
                    out.push(unit(
                        t,
                        name,
                        server,
                        UnitKind::Pairing,
                        case,
                        category,
                        input,
                        Verdict::Pass,
                        None,
                        None,
                        &want,
                        &want,
                    ));
                }
                out.push(unit(
                    t,
                    name,
                    "probe",
                    UnitKind::ClientProbe,
                    case,
                    category,
                    input,
                    Verdict::Pass,
                    None,
                    None,
                    &want,
                    &want,
                ));
            }
        }
        out
    }

    fn graded(name: &str, units: Vec<UnitResult>) -> Graded {
        Graded {
            name: name.into(),
            language: Some("Python 3".into()),
            notes: Vec::new(),
            problems: BTreeMap::new(),
            results: Some(results(units)),
        }
    }

    fn perfect() -> Graded {
        graded(
            "alice",
            run_for("alice", &|i| (Verdict::Pass, None, i.to_uppercase())),
        )
    }

    fn title_case(s: &str) -> String {
        let mut out = String::new();
        let mut prev = false;
        for c in s.chars() {
            if prev {
                out.extend(c.to_lowercase());
            } else {
                out.extend(c.to_uppercase());
            }
            prev = c.is_alphabetic();
        }
        out
    }

    /// Title-cases: wrong on every case but `single-char` (`a` → `A` either way).
    fn title_caser() -> Graded {
        graded(
            "bob",
            run_for("bob", &|i| {
                let got = title_case(i);
                if got == i.to_uppercase() {
                    (Verdict::Pass, None, got)
                } else {
                    (
                        Verdict::Fail,
                        Some(
                            crate::verdict::ServerFinding::CaseMapping {
                                mapping: crate::verdict::Mapping::Title,
                            }
                            .into(),
                        ),
                        got,
                    )
                }
            }),
        )
    }

    /// Perfect, but without a TCP client.
    fn no_tcp_client() -> Graded {
        let tc = RoleKey::ALL[3];
        let mut g = graded(
            "carol",
            run_for("carol", &|i| (Verdict::Pass, None, i.to_uppercase()))
                .into_iter()
                .filter(|u| !(u.transport == Transport::Tcp && u.client == "carol"))
                .collect(),
        );
        g.problems.insert(
            tc,
            problem(&Problem::MissingRole {
                role: tc,
                language: Some(crate::grade::detect::Language::Python3),
            }),
        );
        g.notes
            .push("the server name 'hostname' is the textbook's placeholder".into());
        g
    }

    fn fixture(name: &str) -> Results {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/results")
            .join(name);
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn test_named<'a>(v: &'a Value, name: &str) -> &'a Value {
        v["tests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("no test {name} in {v:#}"))
    }

    #[test]
    fn a_perfect_submission_gets_every_point() {
        let g = perfect();
        let rubric = Rubric::default();
        let v = gradescope(&g, &rubric);
        validate_gradescope(&v).unwrap();
        assert_eq!(v["score"], json!(76.0));
        assert_eq!(v["extra_data"]["max_score"], json!(76.0));
        let tests = v["tests"].as_array().unwrap();
        // 4 server buckets × 2 transports + 3 client buckets × 2 transports.
        assert_eq!(tests.len(), 14);
        assert!(tests.iter().all(|t| t["status"] == "passed"), "{v:#}");
        let robust = test_named(&v, "UDP server — robustness");
        assert_eq!(robust["score"], json!(2.0));
        assert!(robust["output"]
            .as_str()
            .unwrap()
            .starts_with("1 of 1 checks passed (1 more not counted"));
        assert_eq!(first_problem(&g, &rubric), None);
    }

    #[test]
    fn a_title_casing_server_loses_its_server_points_only() {
        let g = title_caser();
        let rubric = Rubric::default();
        let v = gradescope(&g, &rubric);
        validate_gradescope(&v).unwrap();
        let core = test_named(&v, "UDP server — core");
        assert_eq!(core["score"], json!(0.0));
        assert_eq!(core["status"], "failed");
        let out = core["output"].as_str().unwrap();
        assert!(out.starts_with("0 of 4 checks passed.\n"), "{out}");
        assert!(
            out.contains(
                "Your UDP server title-cased the text (\"Hello World\") instead of uppercasing it"
            ),
            "{out}"
        );
        // The example is the probe: its bytes are the reply itself.
        assert!(out.contains("  input:    `hello world`\n"), "{out}");
        assert!(out.contains("  expected: `HELLO WORLD`\n"), "{out}");
        assert!(out.contains("  got:      `Hello World`\n"), "{out}");
        assert!(
            out.contains("  rerun:    shout matrix --id udp::probe-client::bob-server::hello\n"),
            "{out}"
        );
        assert_eq!(test_named(&v, "TCP server — edge")["score"], json!(3.0));
        assert_eq!(test_named(&v, "UDP client — core")["score"], json!(10.0));
        // Clients 18 + 18, server edge 3 + 3: the rest is lost.
        assert_eq!(v["score"], json!(42.0));
        let bs = buckets(&g, &rubric);
        assert_eq!(role_score(&bs, RoleKey::ALL[0]), 3.0);
        assert_eq!(role_score(&bs, RoleKey::ALL[1]), 18.0);
        assert!(first_problem(&g, &rubric).unwrap().contains("title-cased"));
    }

    #[test]
    fn partly_passing_buckets_earn_points_in_proportion() {
        // Title-casing passes on all-caps input: 1 of 4 core checks of the UDP server.
        let mut g = title_caser();
        for u in &mut g.results.as_mut().unwrap().results {
            if u.transport == Transport::Udp
                && u.server == "bob"
                && u.client == "python"
                && u.category == Category::Core
            {
                u.verdict = Verdict::Pass;
                u.fault = None;
            }
        }
        let bs = buckets(&g, &Rubric::default());
        let core = &bs[0];
        assert_eq!((core.passed, core.counted), (1, 4));
        assert_eq!(core.score, 2.5);
    }

    #[test]
    fn a_failure_of_the_students_own_client_costs_the_server_nothing() {
        let mut g = perfect();
        for u in &mut g.results.as_mut().unwrap().results {
            if u.client == "alice" && u.server == "alice" && u.category == Category::Core {
                u.verdict = Verdict::Fail;
                u.fault = Some(Fault::Client);
            }
        }
        let bs = buckets(&g, &Rubric::default());
        assert_eq!(role_score(&bs, RoleKey::ALL[0]), 20.0);
        assert_eq!(bs[0].not_counted, 1);
    }

    #[test]
    fn a_missing_role_scores_zero_with_the_reason() {
        let g = no_tcp_client();
        let rubric = Rubric::default();
        let v = gradescope(&g, &rubric);
        validate_gradescope(&v).unwrap();
        assert_eq!(v["score"], json!(58.0));
        let t = test_named(&v, "TCP client — core");
        assert_eq!(t["score"], json!(0.0));
        assert_eq!(
            t["output"],
            "No TCP client found: expected a file such as TCPClient.py that reads a line, sends it to the server over TCP and prints the reply.\n"
        );
        let out = v["output"].as_str().unwrap();
        assert!(
            out.starts_with(
                "Total: 58 / 76 points.\nLanguage: Python 3.\nTCP client: No TCP client found"
            ),
            "{out}"
        );
        assert!(out.contains("Note: the server name 'hostname'"), "{out}");
        assert!(first_problem(&g, &rubric)
            .unwrap()
            .starts_with("No TCP client found"));
    }

    #[test]
    fn a_wrong_role_comes_before_a_missing_one_in_the_first_thing_to_fix() {
        let mut g = title_caser();
        let tc = RoleKey::ALL[3];
        g.problems.insert(
            tc,
            problem(&Problem::MissingRole {
                role: tc,
                language: Some(crate::grade::detect::Language::Python3),
            }),
        );
        let first = first_problem(&g, &Rubric::default()).unwrap();
        assert!(first.contains("title-cased"), "{first}");
    }

    #[test]
    fn hidden_tests_echo_the_total_unless_the_rubric_says_not_to() {
        let g = no_tcp_client();
        let mut rubric = Rubric {
            visibility: Visibility::AfterPublished,
            ..Rubric::default()
        };
        let v = gradescope(&g, &rubric);
        validate_gradescope(&v).unwrap();
        let out = v["output"].as_str().unwrap();
        assert!(
            out.starts_with(
                "Total: 58 / 76 points. Some tests are hidden for now; this total includes them.\n"
            ),
            "{out}"
        );
        assert!(v["tests"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["visibility"] == "after_published"));

        rubric.show_total_when_hidden = false;
        let v = gradescope(&g, &rubric);
        validate_gradescope(&v).unwrap();
        assert!(!v["output"].as_str().unwrap().contains("/ 76"), "{v:#}");

        // Only the robustness tests hidden: the total is still echoed.
        let rubric = Rubric {
            category_visibility: [(Category::Robustness, Visibility::Hidden)].into(),
            ..Rubric::default()
        };
        let v = gradescope(&g, &rubric);
        assert_eq!(
            test_named(&v, "UDP server — robustness")["visibility"],
            "hidden"
        );
        assert_eq!(test_named(&v, "UDP server — core")["visibility"], "visible");
        assert!(v["output"]
            .as_str()
            .unwrap()
            .contains("Some tests are hidden"));
    }

    #[test]
    fn a_real_run_grades_the_title_case_and_newline_servers() {
        let run = fixture("wrong-hello.json");
        let rubric = Rubric::default();
        for (name, sentence) in [
            (
                "title-case",
                "Your UDP server title-cased the text (\"Hello World\") instead of uppercasing it",
            ),
            (
                "trailing-newline",
                "Your UDP server added a newline after the reply: expected `HELLO WORLD`, got `HELLO WORLD\\n`.",
            ),
            (
                "other-port",
                "Your UDP server replied from a different port than it listens on",
            ),
        ] {
            let g = Graded {
                name: name.into(),
                language: None,
                notes: Vec::new(),
                problems: BTreeMap::new(),
                results: Some(run.clone()),
            };
            let v = gradescope(&g, &rubric);
            validate_gradescope(&v).unwrap();
            let core = test_named(&v, "UDP server — core");
            assert_eq!(core["status"], "failed", "{name}");
            let out = core["output"].as_str().unwrap();
            assert!(out.contains(sentence), "{name}: {out}");
            if name == "trailing-newline" {
                // The buggy clients of that run are wrong on their own too: one line,
                // not one sentence each about somebody else's client.
                assert!(
                    out.contains("\n3 more failed checks ran with a client that is wrong on its own too"),
                    "{out}"
                );
                assert!(!out.contains("uppercased the text"), "{out}");
            }
        }
        // Skipped units do not count against a server; xpass counts as a pass.
        let every = fixture("every-verdict.json");
        let g = Graded {
            name: "newer-unicode".into(),
            language: None,
            notes: Vec::new(),
            problems: BTreeMap::new(),
            results: Some(every.clone()),
        };
        let bs = buckets(&g, &rubric);
        let tcp_core = bs
            .iter()
            .find(|b| b.role == RoleKey::ALL[2] && b.category == Category::Core)
            .unwrap();
        assert_eq!(
            (tcp_core.passed, tcp_core.counted, tcp_core.not_counted),
            (1, 1, 3)
        );
        assert_eq!(tcp_core.score, 10.0);
        let g = Graded {
            name: "strip".into(),
            results: Some(every),
            ..g
        };
        let bs = buckets(&g, &rubric);
        assert_eq!(bs[0].passed, bs[0].counted, "{:?}", bs[0]);
    }

    #[test]
    fn a_role_that_never_ran_scores_zero_and_says_so() {
        let g = Graded {
            name: "dave".into(),
            language: None,
            notes: Vec::new(),
            problems: BTreeMap::new(),
            results: None,
        };
        let v = gradescope(&g, &Rubric::default());
        validate_gradescope(&v).unwrap();
        assert_eq!(v["score"], json!(0.0));
        assert_eq!(
            test_named(&v, "UDP server — core")["output"],
            "No core check ran for your UDP server.\n"
        );
    }

    /// A small RFC 4180 reader, to prove the CSV parses back.
    fn parse_csv(text: &str) -> Vec<Vec<String>> {
        let mut rows = Vec::new();
        let mut row = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match (quoted, c) {
                (true, '"') if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                (true, '"') => quoted = false,
                (true, c) => field.push(c),
                (false, '"') => quoted = true,
                (false, ',') => row.push(std::mem::take(&mut field)),
                (false, '\r') => {}
                (false, '\n') => {
                    row.push(std::mem::take(&mut field));
                    rows.push(std::mem::take(&mut row));
                }
                (false, c) => field.push(c),
            }
        }
        assert!(
            !quoted && field.is_empty() && row.is_empty(),
            "trailing data"
        );
        rows
    }

    #[test]
    fn the_class_csv_has_one_row_per_submission_and_parses_back() {
        let mut odd = no_tcp_client();
        odd.name = "erin".into();
        odd.problems.insert(
            RoleKey::ALL[0],
            "Your UDP server did not build (`gcc, \"quoted\"` failed):\nline two".into(),
        );
        let all = [perfect(), title_caser(), no_tcp_client(), odd];
        let text = class_csv(&all, &Rubric::default());
        assert!(text.ends_with("\r\n"));
        let rows = parse_csv(&text);
        assert_eq!(rows.len(), 1 + all.len());
        assert_eq!(
            rows[0],
            [
                "submission",
                "language",
                "udp-server",
                "udp-client",
                "tcp-server",
                "tcp-client",
                "total",
                "max",
                "first_problem"
            ]
        );
        assert!(rows.iter().all(|r| r.len() == 9), "{rows:?}");
        assert_eq!(
            rows[1][..8],
            ["alice", "Python 3", "20", "18", "20", "18", "76", "76"]
        );
        assert_eq!(
            rows[2][..8],
            ["bob", "Python 3", "3", "18", "3", "18", "42", "76"]
        );
        assert_eq!(rows[3][5..8], ["0", "58", "76"]);
        assert_eq!(
            rows[4][8],
            "Your UDP server did not build (`gcc, \"quoted\"` failed):\nline two"
        );
        assert_eq!(rows[4][2], "0");
    }

    #[test]
    fn the_class_markdown_has_a_row_and_a_line_per_submission() {
        let all = [perfect(), title_caser(), no_tcp_client()];
        let md = class_markdown(&all, &Rubric::default());
        assert!(md.contains(
            "| submission | language | UDP server (20) | UDP client (18) | TCP server (20) | TCP client (18) | total (76) |\n|---|---|---:|---:|---:|---:|---:|\n"
        ), "{md}");
        assert!(
            md.contains("| alice | Python 3 | 20 | 18 | 20 | 18 | 76 |\n"),
            "{md}"
        );
        assert!(
            md.contains("| bob | Python 3 | 3 | 18 | 3 | 18 | 42 |\n"),
            "{md}"
        );
        assert!(md.contains("- `alice`: every check passed.\n"), "{md}");
        assert!(md.contains("- `bob`: Your UDP server title-cased"), "{md}");
        assert!(md.contains("- `carol`: No TCP client found"), "{md}");
    }

    #[test]
    fn write_all_writes_every_file_and_refuses_bad_names() {
        let dir = tempfile::tempdir().unwrap();
        let all = [perfect(), title_caser(), no_tcp_client()];
        write_all(dir.path(), &all, &Rubric::default()).unwrap();
        for name in ["alice", "bob", "carol"] {
            let text = std::fs::read_to_string(dir.path().join(name).join("results.json")).unwrap();
            let v: Value = serde_json::from_str(&text).unwrap();
            validate_gradescope(&v).unwrap();
        }
        let csv = std::fs::read_to_string(dir.path().join("grades.csv")).unwrap();
        assert_eq!(parse_csv(&csv).len(), 4);
        assert!(dir.path().join("grades.md").is_file());

        let mut bad = perfect();
        bad.name = "../escape".into();
        let e = write_all(dir.path(), &[bad], &Rubric::default()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        let e = write_all(dir.path(), &[perfect(), perfect()], &Rubric::default()).unwrap_err();
        assert!(e.to_string().contains("two submissions are named `alice`"));
    }

    #[test]
    fn the_validator_rejects_what_gradescope_would() {
        let ok = json!({"score": 1.0, "tests": [{"name": "a", "score": 1, "max_score": 1, "status": "passed"}]});
        validate_gradescope(&ok).unwrap();
        for (bad, why) in [
            (json!([]), "object"),
            (
                json!({"score": 1, "max_score": 2}),
                "unknown field `max_score`",
            ),
            (json!({"score": "1"}), "`score` must be a number"),
            (json!({"tests": []}), "`score` is required"),
            (json!({"score": 1, "visibility": "secret"}), "`visibility`"),
            (
                json!({"score": 1, "stdout_visibility": "everyone"}),
                "`stdout_visibility`",
            ),
            (
                json!({"score": 1, "tests": [{"status": "ok"}]}),
                "tests[0]: `status`",
            ),
            (json!({"score": 1, "tests": [{"tags": [1]}]}), "`tags`"),
            (
                json!({"score": 1, "tests": [{"max_score": -1}]}),
                "`max_score`",
            ),
            (
                json!({"score": 1, "tests": [{"output_format": "rtf"}]}),
                "`output_format`",
            ),
            (
                json!({"score": 1, "leaderboard": [{"name": "t"}]}),
                "`value`",
            ),
        ] {
            let e = validate_gradescope(&bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn points_are_written_as_people_write_them() {
        assert_eq!(points_text(20.0), "20");
        assert_eq!(points_text(37.5), "37.5");
        assert_eq!(points_text(20.0 / 3.0), "6.67");
        assert_eq!(points_text(0.0), "0");
    }
}

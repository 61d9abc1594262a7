//! A check of Gradescope's documented `results.json` format, so that a file the
//! autograder writes is one Gradescope accepts.

use serde_json::{Map, Value};

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
    for (i, t) in tests.iter().enumerate() {
        validate_test(i, t)?;
    }
    if let Some(board) = top.get("leaderboard") {
        validate_leaderboard(board)?;
    }
    Ok(())
}

/// One entry of `tests`.
fn validate_test(i: usize, t: &Value) -> Result<(), String> {
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
    Ok(())
}

/// The `leaderboard` array.
fn validate_leaderboard(board: &Value) -> Result<(), String> {
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

//! One submission's feedback for its author's terminal (`shout check DIR`): the same
//! total, problems, notes and per-test sentences a Gradescope `results.json` carries,
//! as plain lines, with anything a program printed made visible (no control characters
//! reach the terminal).

use serde_json::Value;

use super::gradescope::gradescope;
use super::score::Graded;
use crate::grade::rubric::Rubric;
use crate::text::visible_str;

/// The feedback as the student reads it in a terminal: every test with its points, and
/// under each one not passed, what went wrong and how to rerun it.
pub fn student_text(g: &Graded, rubric: &Rubric) -> String {
    let v = gradescope(g, rubric);
    let mut out = String::new();
    for test in v["tests"].as_array().into_iter().flatten() {
        let passed = test["status"] == "passed";
        out.push_str(&format!(
            "{} {}: {} / {}\n",
            if passed { "✓" } else { "✗" },
            test["name"].as_str().unwrap_or_default(),
            points(&test["score"]),
            points(&test["max_score"]),
        ));
        if !passed {
            for line in test["output"].as_str().unwrap_or_default().lines() {
                out.push_str(&format!("    {}\n", visible_lines(line)));
            }
        }
    }
    out.push('\n');
    out.push_str(&visible_lines(v["output"].as_str().unwrap_or_default()));
    out
}

fn points(v: &Value) -> String {
    super::score::points_text(v.as_f64().unwrap_or(0.0))
}

/// `text` with control characters made visible, line breaks kept.
fn visible_lines(text: &str) -> String {
    text.split('\n')
        .map(visible_str)
        .collect::<Vec<_>>()
        .join("\n")
}

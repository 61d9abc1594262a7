//! The class's views: `grades.csv` and `grades.md` (`grades.html` is in
//! `class_html`), and writing every file of a grading run.

use std::io;
use std::path::Path;

use super::class_html::class_html;
use super::gradescope::gradescope;
use super::score::{buckets, first_problem, max_of, points_text, role_score, total, Graded};
use crate::grade::explain::role_words;
use crate::grade::rubric::Rubric;
use crate::registry::{valid_name, RoleKey};
use crate::text::{csv_inert, markdown_text};

/// One RFC 4180 field: made inert for spreadsheets ([`csv_inert`]: no cell starts a
/// formula), then quoted when it holds a comma, a quote or a line break, with quotes
/// doubled.
fn csv_field(s: &str) -> String {
    let s = csv_inert(s);
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// A role's cell: its points, or why this machine could not grade it.
fn role_cell(g: &Graded, bs: &[super::Bucket], role: RoleKey) -> String {
    match g.not_graded.get(&role) {
        Some(why) => format!("not graded: {why}"),
        None => points_text(role_score(bs, role)),
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
        row.extend(RoleKey::ALL.iter().map(|&r| role_cell(g, &bs, r)));
        row.push(points_text(total(&bs)));
        row.push(points_text(max_of(&bs)));
        row.push(first_problem(g, rubric).unwrap_or_default());
        line(row);
    }
    out
}

/// Student-originated text for a Markdown table cell or list item: one line, visible,
/// no markup ([`markdown_text`]).
fn md_cell(s: &str) -> String {
    markdown_text(&s.replace(['\n', '\r'], " "))
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
            out.push_str(&format!(" {} |", md_cell(&role_cell(g, &bs, r))));
        }
        let max = max_of(&bs);
        if max < rubric.max_total() {
            out.push_str(&format!(
                " {} of {} |\n",
                points_text(total(&bs)),
                points_text(max)
            ));
        } else {
            out.push_str(&format!(" {} |\n", points_text(total(&bs))));
        }
    }
    if let Some(taught) = super::taught::taught_otherwise(all) {
        let sentence = taught.sentence(super::taught::GENERIC_REGRADE);
        // Shout's own words and numbers only: nothing a student wrote.
        out.push_str(&format!("\n## The reference\n\n{sentence}\n"));
    }
    out.push_str("\n## First thing to fix\n\n");
    for g in all {
        let what = first_problem(g, rubric).unwrap_or_else(|| "every check passed.".into());
        out.push_str(&format!("- `{}`: {}\n", g.name, md_cell(&what)));
    }
    out
}

/// Writes `OUT/NAME/results.json` for every submission (with `isolation`, the layers of
/// isolation that were active, in its `extra_data`), then `OUT/grades.csv`,
/// `OUT/grades.md` and `OUT/grades.html`. A name that is not `[a-z0-9-]+`, or that two submissions share, is
/// an `InvalidInput` error before anything is written.
pub fn write_all(
    out_dir: &Path,
    all: &[Graded],
    rubric: &Rubric,
    isolation: &serde_json::Value,
) -> io::Result<()> {
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
        let mut json = gradescope(g, rubric);
        if let Some(extra) = json.get_mut("extra_data").and_then(|e| e.as_object_mut()) {
            extra.insert("isolation".into(), isolation.clone());
        }
        let mut text = serde_json::to_string_pretty(&json)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        text.push('\n');
        std::fs::write(dir.join("results.json"), text)?;
    }
    std::fs::write(out_dir.join("grades.csv"), class_csv(all, rubric))?;
    std::fs::write(out_dir.join("grades.md"), class_markdown(all, rubric))?;
    std::fs::write(out_dir.join("grades.html"), class_html(all, rubric))?;
    Ok(())
}

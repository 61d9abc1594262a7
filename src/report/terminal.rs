//! The terminal report: a matrix per transport, then every failure explained.

use std::collections::BTreeMap;
use std::io::{self, Write};

use super::causes::{causes, Cause, Listing};
use super::shared::Tally;
use crate::results::{Results, UnitResult};
use crate::verdict::Verdict;

/// Bytes escaped for one line, with spaces shown as `·` so runs of them stay visible.
fn escape(bytes: &[u8]) -> String {
    crate::text::escape(bytes).replace(' ', "·")
}

fn clip(s: &str, max: usize) -> String {
    crate::text::clip(s, max, crate::text::Rest::TotalChars)
}

/// Per (axis, transport): client rows × server columns → the verdicts counted.
type Grid = BTreeMap<(Option<String>, String), BTreeMap<(String, String), Tally>>;

/// The narrowest column of the matrix, in characters.
const COLUMN: usize = 14;

/// Counts each client × server cell's verdicts.
pub fn grid(results: &Results) -> Grid {
    let mut g: Grid = BTreeMap::new();
    for r in &results.results {
        g.entry((r.axis.clone(), r.transport.to_string()))
            .or_default()
            .entry((r.client.clone(), r.server.clone()))
            .or_default()
            .add(r.verdict);
    }
    g
}

/// One cell, as the Markdown report's: `✓`/`✗`, passed/judged (an `xfail` counts as
/// passed; `info` and `skip` are not judged), then the known failures it holds, so that
/// `✓ 33/33 · 2 xfail` is not mistaken for a clean pass. A cell with nothing judged and
/// something skipped is `skip`; an empty one `-`.
pub fn cell(tally: Option<&Tally>) -> String {
    let Some(t) = tally else {
        return "-".to_string();
    };
    if t.judged() == 0 && t.skip > 0 {
        return "skip".to_string();
    }
    let mark = if t.failures() > 0 { "✗" } else { "✓" };
    let mut text = format!("{mark} {}/{}", t.passed(), t.judged());
    for (n, what) in [(t.xpass, "xpass"), (t.xfail, "xfail")] {
        if n > 0 {
            text.push_str(&format!(" · {n} {what}"));
        }
    }
    text
}

/// Writes the matrices and the failures.
pub fn write(results: &Results, out: &mut dyn Write) -> io::Result<()> {
    for ((axis, transport), cells) in grid(results) {
        let clients: Vec<&String> = {
            let mut v: Vec<&String> = cells.keys().map(|(c, _)| c).collect();
            v.dedup();
            v
        };
        let mut servers: Vec<&String> = cells.keys().map(|(_, s)| s).collect();
        servers.sort();
        servers.dedup();
        let title = match &axis {
            Some(a) => format!("{a} {transport}"),
            None => transport.to_uppercase(),
        };
        writeln!(out, "\n{title}: client ↓ × server →  (passed/judged)")?;
        let width = clients.iter().map(|c| c.len()).max().unwrap_or(6).max(8) + 2;
        let text = |c: &String, s: &String| cell(cells.get(&(c.clone(), s.clone())));
        let columns: Vec<usize> = servers
            .iter()
            .map(|s| {
                clients
                    .iter()
                    .map(|c| text(c, s).chars().count() + 2)
                    .chain([s.chars().count() + 2, COLUMN])
                    .max()
                    .unwrap_or(COLUMN)
            })
            .collect();
        write!(out, "{:width$}", "")?;
        for (s, w) in servers.iter().zip(&columns) {
            write!(out, "{:>w$}", s)?;
        }
        writeln!(out)?;
        for c in clients {
            write!(out, "{:width$}", c)?;
            for (s, w) in servers.iter().zip(&columns) {
                write!(out, "{:>w$}", text(c, s))?;
            }
            writeln!(out)?;
        }
    }
    write_causes(results, out)?;
    write_not_run(results, out)?;
    let s = &results.summary;
    writeln!(
        out,
        "\n{} units: {} passed, {} failed, {} info, {} skipped{}{}{} in {:.1} s",
        s.total,
        s.passed,
        s.failed,
        s.info,
        s.skipped,
        match (s.non_strict, results.non_strict_ok) {
            (0, _) => String::new(),
            (n, true) => format!(", {n} non-strict (agreeing: --non-strict-ok)"),
            (n, false) => format!(", {n} non-strict (differences)"),
        },
        if s.xfail > 0 {
            format!(", {} xfail", s.xfail)
        } else {
            String::new()
        },
        if s.xpass > 0 {
            format!(", {} xpass", s.xpass)
        } else {
            String::new()
        },
        s.wall_seconds
    )?;
    if let Some(line) = cache_line(results) {
        writeln!(out, "{line}")?;
    }
    let incomplete = results.incomplete().count();
    if incomplete > 0 {
        writeln!(
            out,
            "incomplete: {incomplete} units could not run (see NOT RUN above): exit status 2"
        )?;
    }
    Ok(())
}

/// How many ids a cause lists beside its example.
const MORE_IDS: usize = 3;

/// Writes the failures grouped by cause, then the version differences (one line per
/// implementation).
fn write_causes(results: &Results, out: &mut dyn Write) -> io::Result<()> {
    let failures = causes(results, Listing::Failures);
    if !failures.is_empty() {
        let units: usize = failures.iter().map(|c| c.units.len()).sum();
        writeln!(
            out,
            "\nFAILURES ({units} unit{}, {} cause{})",
            if units == 1 { "" } else { "s" },
            failures.len(),
            if failures.len() == 1 { "" } else { "s" }
        )?;
    }
    for cause in &failures {
        write_cause(cause, out)?;
    }
    let notes = causes(results, Listing::VersionNotes);
    if !notes.is_empty() {
        writeln!(
            out,
            "\nUNICODE VERSIONS (info; --strict-unicode fails them)"
        )?;
    }
    for note in &notes {
        let chars = note.characters();
        writeln!(
            out,
            "  {}: {} — {} unit{} ({}); characters: {}{}",
            note.who,
            note.sentence(),
            note.units.len(),
            if note.units.len() == 1 { "" } else { "s" },
            note.per_transport(),
            clip(&crate::text::escape(chars.join(", ").as_bytes()), 80),
            if chars.is_empty() {
                "(none recorded)"
            } else {
                ""
            }
        )?;
    }
    Ok(())
}

/// One cause: who, how many units, the sentence; the example's bytes and reproduce
/// command; a few more ids.
fn write_cause(cause: &Cause, out: &mut dyn Write) -> io::Result<()> {
    let n = cause.units.len();
    writeln!(
        out,
        "\n✗ {} — {n} unit{} ({}): {}",
        cause.who,
        if n == 1 { "" } else { "s" },
        cause.per_transport(),
        clip(&cause.sentence(), 300)
    )?;
    let r = cause.example();
    writeln!(out, "  e.g. {}", unit_line(r))?;
    write_bytes(r, out)?;
    writeln!(out, "  reproduce: {}", r.reproduce)?;
    let others: Vec<&str> = cause
        .units
        .iter()
        .filter(|u| u.id != r.id)
        .map(|u| u.id.as_str())
        .collect();
    if !others.is_empty() {
        let shown = others.len().min(MORE_IDS);
        writeln!(
            out,
            "  also: {}{}",
            others[..shown].join(", "),
            if others.len() > shown {
                format!(
                    " … and {} more (--format json lists them)",
                    others.len() - shown
                )
            } else {
                String::new()
            }
        )?;
    }
    Ok(())
}

/// Writes why units were skipped, each reason once with its count.
fn write_not_run(results: &Results, out: &mut dyn Write) -> io::Result<()> {
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for r in results
        .results
        .iter()
        .filter(|r| r.verdict == Verdict::Skip)
    {
        *reasons
            .entry(
                r.diagnosis()
                    .unwrap_or_else(|| "no reason recorded".to_string()),
            )
            .or_default() += 1;
    }
    if reasons.is_empty() {
        return Ok(());
    }
    writeln!(out, "\nNOT RUN ({})", results.summary.skipped)?;
    for (why, count) in reasons {
        writeln!(
            out,
            "  {count} unit{}: {}",
            if count == 1 { "" } else { "s" },
            clip(&why, 300)
        )?;
    }
    Ok(())
}

/// Writes one failure: id, category, input, expected, actual, diagnosis, reproduce.
pub fn write_failure(r: &UnitResult, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "\n✗ {}", unit_line(r))?;
    if let Some(d) = &r.diagnosis() {
        writeln!(out, "  diagnosis: {d}")?;
    }
    write_bytes(r, out)?;
    writeln!(out, "  reproduce: {}", r.reproduce)
}

/// `id [category] — fault: side`.
fn unit_line(r: &UnitResult) -> String {
    format!(
        "{} [{}]{}",
        r.id,
        r.category.as_str(),
        r.fault
            .map(|f| format!(" — fault: {}", f.as_str()))
            .unwrap_or_default()
    )
}

/// A unit's input, expected and actual bytes (with where they first differ) and its
/// smallest input.
fn write_bytes(r: &UnitResult, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "  input:     {}", clip(&escape(&r.input), 120))?;
    if let (Some(e), Some(a)) = (&r.expected, &r.actual) {
        let at = e
            .iter()
            .zip(a.iter())
            .position(|(x, y)| x != y)
            .unwrap_or(e.len().min(a.len()));
        writeln!(out, "  expected:  {}", clip(&escape(e), 120))?;
        writeln!(out, "  actual:    {}", clip(&escape(a), 120))?;
        if e == a {
            // An xpass, or a failure in what was sent, the exit status or the time taken.
            writeln!(out, "             (the same bytes)")?;
        } else {
            let lead = escape(&a[..at.min(a.len())]).chars().count().min(120);
            writeln!(
                out,
                "             {}^ first difference at byte {at}",
                " ".repeat(lead)
            )?;
        }
    } else if let Some(e) = &r.expected {
        writeln!(out, "  expected:  {}", clip(&escape(e), 120))?;
        writeln!(out, "  actual:    (nothing)")?;
    }
    if let Some(m) = &r.minimal_input {
        writeln!(out, "  smallest input showing it: {}", escape(m.as_bytes()))?;
    }
    Ok(())
}
/// The units taken from the cache, said plainly: they did not run this time.
fn cache_line(results: &Results) -> Option<String> {
    let c = results.cache.as_ref().filter(|c| c.reused > 0)?;
    let shown = results.results.iter().filter(|r| r.cached).count();
    Some(format!(
        "cached: {} units between built-in programs (the reference, shout's own roles, the \
         probes) were taken from {}, not run ({shown} of them in this report); --no-cache \
         runs them",
        c.reused,
        c.dir.as_deref().unwrap_or("this run's cache")
    ))
}

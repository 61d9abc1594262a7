//! The Markdown report: compact, for `$GITHUB_STEP_SUMMARY` and pull-request comments.
//! A heading with the counts and exit status, one client × server table per transport,
//! then the failures explained, all within a byte budget whatever the input.
//!
//! This file also holds what the JUnit and HTML reports share with it: the per-cell
//! verdict [`Tally`] and [`Matrix`], and byte [`Excerpt`]s that show where two replies
//! first differ. It reads [`Results`] only and never prints.

use std::fmt::Write as _;

use super::causes::{causes, Cause, Listing};
use super::shared::{first_difference, matrices, Excerpt, Matrix, Shade, Tally};
use crate::results::{Results, UnitResult};
use crate::text::markdown_text as md_text;
pub use crate::text::{visible, visible_str};
use crate::verdict::Verdict;

/// The default budget: under GitHub's 65,536-character limit for a comment, and far under
/// the 1 MiB limit for a step summary.
pub const DEFAULT_LIMIT: usize = 60_000;

/// The most bytes of one field (input, expected, actual) a failure shows.
const FIELD_BYTES: usize = 240;

/// Room kept for the closing lines when the failures are cut short.
const TRAILER_BYTES: usize = 400;

/// Renders `results` within [`DEFAULT_LIMIT`] bytes.
pub fn render(results: &Results) -> String {
    render_with_limit(results, DEFAULT_LIMIT)
}

/// Renders `results` in at most `limit` bytes (at least 4 KiB is sensible): matrices that
/// would take more than half the budget are replaced by a note, and failures stop with
/// "… and N more failures" before the budget is reached.
pub fn render_with_limit(results: &Results, limit: usize) -> String {
    let mut out = String::new();
    heading(results, &mut out);

    let mut tables = String::new();
    for m in matrices(results) {
        let table = table(&m);
        if out.len() + tables.len() + table.len() > limit / 2 {
            let _ = writeln!(
                tables,
                "### {}\n\n_Table omitted: {} clients × {} servers is too large for this report; \
                 see the HTML or JSON report._\n",
                md_text(&m.title()),
                m.clients.len(),
                m.servers.len()
            );
        } else {
            tables.push_str(&table);
        }
    }
    out.push_str(&tables);

    let failures = causes(results, Listing::Failures);
    if !failures.is_empty() {
        let units: usize = failures.iter().map(|c| c.units.len()).sum();
        let _ = writeln!(
            out,
            "### Failures ({units} units, {} causes)\n",
            failures.len()
        );
    }
    for (i, cause) in failures.iter().enumerate() {
        let block = cause_block(cause);
        if out.len() + block.len() + TRAILER_BYTES > limit {
            let _ = writeln!(
                out,
                "… and {} more failures (see the HTML or JSON report).\n",
                failures.len() - i
            );
            break;
        }
        out.push_str(&block);
    }
    version_notes(results, &mut out);
    not_judged(results, limit, &mut out);
    if out.len() > limit {
        // Only reachable with a budget too small for the heading and notes themselves.
        let mut cut = limit.saturating_sub(4);
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push_str("\n…\n");
    }
    out
}

fn heading(results: &Results, out: &mut String) {
    let s = &results.summary;
    let failing = s.failed + s.xpass;
    let code = results.exit_code();
    let incomplete = results.incomplete().count();
    if incomplete > 0 {
        let _ = writeln!(
            out,
            "## ⚠️ shout: {incomplete} of {} units could not run (exit status {code})\n",
            s.total
        );
    } else if failing == 0 {
        let _ = writeln!(
            out,
            "## ✅ shout: all {} units conform (exit status {code})\n",
            s.total
        );
    } else {
        let _ = writeln!(
            out,
            "## ❌ shout: {failing} of {} units failed (exit status {code})\n",
            s.total
        );
    }
    let mut parts = vec![
        format!("{} passed", s.passed),
        format!("{} failed", s.failed),
    ];
    if s.xpass > 0 {
        parts.push(format!(
            "{} xpass (listed as known failures, but passed)",
            s.xpass
        ));
    }
    if s.xfail > 0 {
        parts.push(format!("{} xfail (known failures)", s.xfail));
    }
    parts.push(format!("{} info", s.info));
    parts.push(format!("{} skipped", s.skipped));
    if let Some(c) = results.cache.as_ref().filter(|c| c.reused > 0) {
        parts.push(format!("{} units from the cache", c.reused));
    }
    parts.push(format!("{:.1} s", s.wall_seconds));
    let _ = write!(
        out,
        "{} · shout {} · corpus `{}`",
        parts.join(" · "),
        md_text(&results.shout_version),
        md_text(&results.corpus)
    );
    if let Some(p) = &results.partition {
        let _ = write!(out, " · partition {}", md_text(&p.to_string()));
    }
    out.push_str("\n\n");
}

fn table(m: &Matrix) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "### {}\n", md_text(&m.title()));
    t.push_str("| client ↓ · server → |");
    for s in &m.servers {
        let _ = write!(t, " {} |", md_text(s));
    }
    t.push_str("\n|---|");
    for _ in &m.servers {
        t.push_str(":-:|");
    }
    t.push('\n');
    for c in &m.clients {
        let _ = write!(t, "| **{}** |", md_text(c));
        for s in &m.servers {
            match m.cells.get(&(c.clone(), s.clone())) {
                Some(cell) => {
                    let _ = write!(t, " {} |", cell_text(&cell.tally));
                }
                None => t.push_str(" · |"),
            }
        }
        t.push('\n');
    }
    t.push('\n');
    t
}

/// A cell: a mark, passed/judged (as in the terminal report: xfail counts as passed,
/// info and skip are not judged), then whatever else the cell holds.
fn cell_text(t: &Tally) -> String {
    let mark = match t.shade() {
        Shade::Fail => "❌",
        Shade::Known => "⚠️",
        Shade::Pass => "✅",
        Shade::Info => "ℹ️",
        Shade::Skip => "⏭️",
    };
    let mut s = if t.judged() > 0 {
        format!("{mark} {}/{}", t.passed(), t.judged())
    } else {
        mark.to_string()
    };
    for (n, what) in [
        (t.xpass, "xpass"),
        (t.xfail, "xfail"),
        (t.info, "info"),
        (t.skip, "skip"),
    ] {
        if n > 0 {
            let _ = write!(s, " · {n} {what}");
        }
    }
    s
}

/// How many ids a cause lists.
const CAUSE_IDS: usize = 50;

/// One cause: who and how many, the sentence, the plainest example's bytes and
/// reproduce command, and the ids behind it (collapsed).
fn cause_block(cause: &Cause) -> String {
    let r = cause.example();
    let n = cause.units.len();
    let mut b = format!(
        "#### ❌ {} — {n} unit{} ({})",
        md_text(&cause.who),
        if n == 1 { "" } else { "s" },
        cause.per_transport()
    );
    if r.verdict == Verdict::Xpass {
        b.push_str(" (xpass)");
    }
    let _ = write!(b, "\n\nExample: {}\n\n", code_span(&r.id));
    b.push_str(&failure(r));
    if n > 1 {
        let _ = write!(b, "<details><summary>The {n} units</summary>\n\n");
        for u in cause.units.iter().take(CAUSE_IDS) {
            let _ = writeln!(b, "- {}", code_span(&u.id));
        }
        if n > CAUSE_IDS {
            let _ = writeln!(b, "- … and {} more", n - CAUSE_IDS);
        }
        b.push_str("\n</details>\n\n");
    }
    b
}

/// The differences of Unicode version alone, one line per implementation.
fn version_notes(results: &Results, out: &mut String) {
    let notes = causes(results, Listing::VersionNotes);
    if notes.is_empty() {
        return;
    }
    out.push_str("### Unicode versions (info)\n\n");
    for note in &notes {
        let _ = writeln!(
            out,
            "- **{}**: {} — {} units; characters: {}",
            md_text(&note.who),
            md_text(&note.sentence()),
            note.units.len(),
            code_span(&clip_chars(&note.characters().join(" "), 200))
        );
    }
    out.push('\n');
}

/// The body of one failure: the diagnosis, the unit's bytes and its reproduce command.
fn failure(r: &UnitResult) -> String {
    let mut b = String::new();
    let diagnosis = match (r.verdict, &r.diagnosis()) {
        (_, Some(d)) => d.clone(),
        (Verdict::Xpass, None) => {
            "passed, but listed as a known failure: remove it from the expectations file".into()
        }
        (_, None) => "no diagnosis".into(),
    };
    // On one line and trimmed, or the bold would not render.
    let diagnosis = diagnosis.split_whitespace().collect::<Vec<_>>().join(" ");
    let _ = write!(b, "**{}**", md_text(&clip_chars(&diagnosis, 500)));
    if let Some(f) = r.fault {
        let _ = write!(b, " — fault: **{}**", f.as_str());
    }
    let _ = writeln!(b, " — {}\n", r.category.as_str());

    let mut text = String::new();
    let _ = writeln!(
        text,
        "input:     {}",
        Excerpt::of(&r.input, None, FIELD_BYTES)
    );
    match (&r.expected, &r.actual) {
        (Some(e), Some(a)) => {
            let at = first_difference(e, a);
            let _ = writeln!(text, "expected:  {}", Excerpt::of(e, at, FIELD_BYTES));
            let actual = Excerpt::of(a, at, FIELD_BYTES);
            let _ = writeln!(text, "actual:    {actual}");
            if let Some(at) = at {
                let lead = actual.lead_chars();
                let _ = writeln!(
                    text,
                    "           {}^ first difference at byte {at}",
                    " ".repeat(lead)
                );
            }
        }
        (Some(e), None) => {
            let _ = writeln!(text, "expected:  {}", Excerpt::of(e, None, FIELD_BYTES));
            text.push_str("actual:    (nothing)\n");
        }
        (None, Some(a)) => {
            text.push_str("expected:  (no defined answer)\n");
            let _ = writeln!(text, "actual:    {}", Excerpt::of(a, None, FIELD_BYTES));
        }
        (None, None) => {}
    }
    if let Some(m) = &r.minimal_input {
        let _ = writeln!(
            text,
            "smallest input showing it: {}",
            Excerpt::of(m.as_bytes(), None, FIELD_BYTES)
        );
    }
    b.push_str(&fenced(&text));
    let _ = writeln!(b, "Reproduce:\n");
    b.push_str(&fenced(&format!(
        "{}\n",
        clip_chars(&visible_str(&r.reproduce), 1000)
    )));
    b
}

/// A collapsed list of what was not judged a failure but deserves a look: xfail, info
/// and skip, each with its reason, within what is left of the budget.
fn not_judged(results: &Results, limit: usize, out: &mut String) {
    let rest: Vec<&UnitResult> = results
        .results
        .iter()
        .filter(|r| matches!(r.verdict, Verdict::Xfail | Verdict::Info | Verdict::Skip))
        .collect();
    if rest.is_empty() {
        return;
    }
    let open = format!(
        "<details><summary>{} units not judged as failures (xfail, info, skip)</summary>\n\n",
        rest.len()
    );
    let close = "\n</details>\n";
    if out.len() + open.len() + close.len() + 200 > limit {
        return;
    }
    out.push_str(&open);
    for (i, r) in rest.iter().enumerate() {
        let line = format!(
            "- {} {}: {}\n",
            r.verdict.as_str(),
            code_span(&r.id),
            md_text(&clip_chars(
                r.diagnosis().as_deref().unwrap_or("no reason given"),
                300
            ))
        );
        if out.len() + line.len() + close.len() + 100 > limit {
            let _ = writeln!(out, "- … and {} more", rest.len() - i);
            break;
        }
        out.push_str(&line);
    }
    out.push_str(close);
}

/// `s` in a fenced block whose fence is longer than any run of backticks inside.
fn fenced(s: &str) -> String {
    let fence = "`".repeat(longest_backtick_run(s).max(2) + 1);
    format!("{fence}text\n{s}{fence}\n\n")
}

/// `s` as an inline code span, safe against backticks inside; `|` is escaped so the span
/// also survives inside a table.
fn code_span(s: &str) -> String {
    let s = visible_str(s).replace('|', "\\|");
    let ticks = "`".repeat(longest_backtick_run(&s) + 1);
    format!("{ticks} {s} {ticks}")
}

fn longest_backtick_run(s: &str) -> usize {
    s.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// `s` cut after `max` characters, with a count of the bytes left out.
pub fn clip_chars(s: &str, max: usize) -> String {
    crate::text::clip(s, max, crate::text::Rest::MoreBytes)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::corpus::Category;
    use crate::proto::Transport;
    use crate::report::shared::differing_span;
    use crate::results::{KnownFailure, Summary, UnitResult, SCHEMA_VERSION};
    use crate::run::process::Exit;
    use crate::run::wire::{Peer, Transcript, WireEvent};
    use crate::verdict::{
        Fault, Mapping, ReferenceFinding, ReferenceServer, RunFinding, ServerFinding,
    };

    /// One unit with the given verdict; `expected`/`actual` as given.
    pub(crate) fn unit(
        transport: Transport,
        client: &str,
        server: &str,
        case: &str,
        verdict: Verdict,
        expected: Option<&[u8]>,
        actual: Option<&[u8]>,
    ) -> UnitResult {
        let id = format!("{transport}::{client}-client::{server}-server::{case}");
        let known = (verdict == Verdict::Xfail).then(|| KnownFailure {
            id: id.clone(),
            reason: "title case".into(),
        });
        UnitResult {
            reproduce: format!("shout matrix --id {id}"),
            id,
            axis: None,
            transport,
            client: client.into(),
            server: server.into(),
            kind: crate::plan::UnitKind::Pairing,
            case: case.into(),
            category: Category::Core,
            verdict,
            fault: verdict.is_failure().then_some(Fault::Server),
            input: b"hello world".to_vec(),
            expected: expected.map(<[u8]>::to_vec),
            actual: actual.map(<[u8]>::to_vec),
            wire: Transcript {
                events: vec![
                    WireEvent {
                        from: Peer::Client,
                        at_ms: 1,
                        bytes: b"hello world".to_vec(),
                        what: crate::run::wire::WireWhat::Data,
                    },
                    WireEvent {
                        from: Peer::Server,
                        at_ms: 2,
                        bytes: actual.unwrap_or_default().to_vec(),
                        what: crate::run::wire::WireWhat::Data,
                    },
                ],
            },
            finding: match verdict {
                Verdict::Pass | Verdict::Xpass => None,
                // Free text with markup and control characters, as a build prints it.
                Verdict::Fail => Some(
                    RunFinding::BuildFailed {
                        output: "the server keeps <script> and \x1b[31m | ` bytes".into(),
                    }
                    .into(),
                ),
                Verdict::Info => Some(
                    ReferenceFinding::ServerUndefined {
                        how: ReferenceServer::Dies {
                            exit: Exit::Code(1),
                        },
                        this_kept_answering: None,
                    }
                    .into(),
                ),
                Verdict::NonStrict => Some(
                    ServerFinding::BeyondReferenceBuffer {
                        answered: 2049,
                        reference: 2048,
                        pieces: false,
                    }
                    .into(),
                ),
                Verdict::Skip => Some(
                    RunFinding::NoReference {
                        kind: crate::plan::UnitKind::Pairing,
                    }
                    .into(),
                ),
                Verdict::Xfail => Some(
                    ServerFinding::CaseMapping {
                        mapping: Mapping::Title,
                    }
                    .into(),
                ),
            },
            known,
            minimal_input: None,
            duration_ms: 12,
            client_ms: Some(10),
            client_stderr: None,
            cached: false,
        }
    }

    /// Results from `units`, sorted and counted as the harness does.
    pub(crate) fn results_of(mut units: Vec<UnitResult>) -> Results {
        units.sort_by(|a, b| a.id.cmp(&b.id));
        Results {
            schema_version: SCHEMA_VERSION,
            shout_version: "0.1.0".into(),
            corpus: "0123456789abcdef".into(),
            partition: None,
            plan: None,
            reference: Vec::new(),
            reference_implementation: "python".into(),
            non_strict_ok: false,
            cache: None,
            summary: Summary::count(&units, 1.5),
            results: units,
        }
    }

    /// Every verdict over two transports; the failure carries invalid UTF-8, control
    /// characters, markup and a noncharacter.
    pub(crate) fn sample() -> Results {
        let bad_expected: &[u8] =
            b"HELLO <script>alert(1)</script> \x00\x07\x1b[0m \xef\xbf\xbe|``` WORLD\n";
        let bad_actual: &[u8] =
            b"HELLO <script>alert(1)</script> \x00\x07\x1b[0m \xff\xfe|``` world\n";
        results_of(vec![
            unit(
                Transport::Udp,
                "python",
                "rust",
                "hello",
                Verdict::Pass,
                Some(b"HI"),
                Some(b"HI"),
            ),
            unit(
                Transport::Udp,
                "python",
                "title-case",
                "hello",
                Verdict::Fail,
                Some(bad_expected),
                Some(bad_actual),
            ),
            unit(
                Transport::Udp,
                "python",
                "title-case",
                "korean",
                Verdict::Xfail,
                Some(b"A"),
                Some(b"a"),
            ),
            unit(
                Transport::Udp,
                "probe",
                "rust",
                "invalid-utf8",
                Verdict::Info,
                None,
                Some(b"\xff"),
            ),
            unit(
                Transport::Tcp,
                "python",
                "rust",
                "hello",
                Verdict::Skip,
                None,
                None,
            ),
            unit(
                Transport::Tcp,
                "rust",
                "python",
                "hello",
                Verdict::Xpass,
                Some(b"HI"),
                Some(b"HI"),
            ),
            unit(
                Transport::Tcp,
                "rust",
                "rust",
                "hello",
                Verdict::Pass,
                Some(b"HI"),
                Some(b"HI"),
            ),
        ])
    }

    #[test]
    fn heading_gives_counts_and_exit_status() {
        let md = render(&sample());
        assert!(
            md.starts_with("## ❌ shout: 2 of 7 units failed (exit status 1)"),
            "{md}"
        );
        assert!(md.contains("2 passed · 1 failed · 1 xpass"), "{md}");
    }

    #[test]
    fn tables_mark_each_cell_by_its_worst_verdict() {
        let md = render(&sample());
        assert!(md.contains("### UDP\n"), "{md}");
        assert!(md.contains("### TCP\n"), "{md}");
        let udp_python = md
            .lines()
            .find(|l| l.starts_with("| **python** |") && l.contains("xfail"))
            .expect("the UDP python row");
        // Columns: rust, title-case.
        assert_eq!(
            udp_python, "| **python** | ✅ 1/1 | ❌ 1/2 · 1 xfail |",
            "{md}"
        );
        assert!(md.contains("| **probe** | ℹ️ · 1 info | · |"), "{md}");
        assert!(md.contains("| **python** | · | ⏭️ · 1 skip |"), "{md}");
        assert!(
            md.contains("| **rust** | ❌ 0/1 · 1 xpass | ✅ 1/1 |"),
            "{md}"
        );
    }

    #[test]
    fn failures_are_explained_in_fences_longer_than_any_backtick_run() {
        let md = render(&sample());
        assert!(md.contains(
            "#### ❌ title-case server — 1 unit (udp 1)\n\nExample: ` udp::python-client::title-case-server::hello `"
        ), "{md}");
        assert!(md.contains(
            "#### ❌ python server — 1 unit (tcp 1) (xpass)\n\nExample: ` tcp::rust-client::python-server::hello `"
        ), "{md}");
        // The data holds ``` so the fence has four backticks.
        assert!(md.contains("````text\ninput:     hello world\n"), "{md}");
        assert!(md.contains("expected:  HELLO <script>alert(1)</script> \\u{0}\\u{7}\\u{1b}[0m \\u{fffe}|``` WORLD\\n"), "{md}");
        assert!(md.contains("actual:    HELLO <script>alert(1)</script> \\u{0}\\u{7}\\u{1b}[0m \\xff\\xfe|``` world\\n"), "{md}");
        assert!(md.contains("^ first difference at byte 39"), "{md}");
        // Free text is escaped: no raw markup or control characters leak out of fences.
        assert!(
            md.contains("**build failed: the server keeps &lt;script&gt; and \\\\u{1b}\\[31m \\| \\` bytes**"),
            "{md}"
        );
        assert!(!md.chars().any(|c| c.is_control() && c != '\n'));
        assert!(md.contains("shout matrix --id udp::python-client::title-case-server::hello"));
    }

    #[test]
    fn huge_input_stays_within_the_budget() {
        let big = vec![b'x'; 10_000];
        let mut wrong = big.clone();
        wrong[9_000] = b'y';
        let units: Vec<UnitResult> = (0..20_000)
            .map(|i| {
                let mut u = unit(
                    Transport::Udp,
                    &format!("c{}", i % 150),
                    &format!("s{}", i / 150),
                    "big",
                    Verdict::Fail,
                    Some(&big),
                    Some(&wrong),
                );
                u.wire = Transcript::default();
                u
            })
            .collect();
        let results = results_of(units);
        let md = render(&results);
        assert!(md.len() <= DEFAULT_LIMIT, "{} bytes", md.len());
        assert!(md.contains("more failures (see the HTML or JSON report)"));
        assert!(md.contains("_Table omitted: 150 clients × 134 servers"));
        let step_summary = render_with_limit(&results, 1 << 20);
        assert!(step_summary.len() <= 1 << 20);
        assert!(step_summary.len() > 1 << 19, "uses the budget it is given");
        // The difference at byte 9000 is inside the excerpt shown.
        assert!(
            md.contains("^ first difference at byte 9000"),
            "{}",
            &md[..3000]
        );
    }

    #[test]
    fn excerpts_keep_the_difference_in_view_and_count_what_they_leave_out() {
        let mut a = vec![b'a'; 1000];
        let e = a.clone();
        a[700] = b'b';
        let x = Excerpt::of(&a, first_difference(&e, &a), 100);
        assert!(x.omitted_before > 0 && x.omitted_after > 0);
        assert!(x.differing.starts_with('b'));
        assert_eq!(
            x.omitted_before + x.same.len() + x.differing.len() + x.omitted_after,
            1000
        );
        // Only the differing part is marked when a span is known.
        let (_, span) = differing_span(&e, &a).unwrap();
        assert_eq!(span, (700, 701));
        let x = Excerpt::between(&a, Some(span), 100);
        assert_eq!((x.differing.as_str(), x.after.len()), ("b", 74));
        assert_eq!(
            differing_span("HELLO WORLD\n".as_bytes(), "Hello World\n".as_bytes()),
            Some(((1, 11), (1, 11)))
        );
        assert_eq!(differing_span(b"ab", b"abab"), Some(((2, 2), (2, 4))));
        assert_eq!(differing_span(b"aXa", b"aa"), Some(((1, 2), (1, 1))));
        assert!(x.to_string().ends_with("more bytes)"));
        // A difference inside a multi-byte character starts at that character.
        let x = Excerpt::of(
            "aé".as_bytes(),
            first_difference("aé".as_bytes(), "aÉ".as_bytes()),
            100,
        );
        assert_eq!((x.same.as_str(), x.differing.as_str()), ("a", "é"));
        assert_eq!(first_difference(b"ab", b"ab"), None);
        assert_eq!(first_difference(b"ab", b"abc"), Some(2));
    }

    /// A real run's results (a subset with every verdict and markup in the data). Set
    /// `SHOUT_MARKDOWN_OUT=FILE` to keep the Markdown.
    #[test]
    fn renders_a_real_run() {
        let results: Results = serde_json::from_str(include_str!(
            "../../tests/fixtures/results/every-verdict.json"
        ))
        .expect("the fixture matches the results schema");
        let md = render(&results);
        if let Some(path) = std::env::var_os("SHOUT_MARKDOWN_OUT") {
            std::fs::write(path, &md).expect("write the Markdown");
        }
        assert!(md.starts_with("## ❌ shout: 19 of 65 units failed (exit status 1)"));
        assert!(md.contains("| **python** | ✅ 1/1 | ⏭️ · 1 skip |"), "{md}");
        // 19 failing units, one section per cause.
        assert!(md.contains("### Failures (19 units, 6 causes)"), "{md}");
        assert_eq!(md.matches("#### ❌ ").count(), 6);
        assert!(
            md.contains("#### ❌ title-case server — 7 units (udp 4, tcp 3)"),
            "{md}"
        );
        // Diagnoses are already escaped: their backslashes are not doubled again.
        assert!(md.contains("got \\`HELLO WORLD\\\\n\\`**"), "{md}");
        assert!(md.contains("<details><summary>6 units not judged as failures"));
    }
}

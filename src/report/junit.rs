//! The JUnit XML report, for CI test views (GitLab, Jenkins, and anything else that reads
//! JUnit): one test suite per transport and client × server pair, one test case per unit.
//!
//! - `fail` and `xpass` are failures: a one-line message (the diagnosis) and a body with
//!   the escaped input, expected and actual bytes, the first difference, the side at
//!   fault, the wire transcript and the reproduce command.
//! - `skip` is skipped with its reason; `xfail` is skipped with "expected failure: …",
//!   so CI views show it as not run, with the reason, never as a silent pass.
//! - `info` passes, with standard output saying why it was not judged.
//!
//! Every byte field is escaped to text first (no control character reaches the XML) and
//! cut at [`FIELD_BYTES`] with a "… (N more bytes)" marker. Test case names are made
//! unique within a suite, since GitLab drops cases that repeat a name and class name.
//! Reads [`Results`] only; never prints.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::causes::{causes, Listing};
use super::markdown::clip_chars;
use super::shared::{cell_key, first_difference, Excerpt};
use crate::results::{Results, UnitResult};
use crate::run::wire::Peer;
use crate::text::visible_str;
use crate::verdict::Verdict;

/// The most bytes of one field (input, expected, actual, one wire event) a case shows.
pub const FIELD_BYTES: usize = 4096;

/// The most wire events a case shows.
const WIRE_EVENTS: usize = 64;

/// The report's name (the `<testsuites name="…">` attribute).
const REPORT_NAME: &str = "shout";

/// Renders `results` as JUnit XML.
pub fn render(results: &Results) -> Result<String, quick_junit::SerializeError> {
    let mut report = Report::new(REPORT_NAME);
    // (axis, transport, client, server) → the suite's units, in id order.
    let mut suites: BTreeMap<(Option<&str>, String, &str, &str), Vec<&UnitResult>> =
        BTreeMap::new();
    for r in &results.results {
        suites
            .entry((
                r.axis.as_deref(),
                r.transport.to_string(),
                r.client.as_str(),
                r.server.as_str(),
            ))
            .or_default()
            .push(r);
    }
    for ((axis, transport, client, server), units) in suites {
        let mut name = format!("{transport} {client}-client × {server}-server");
        if let Some(a) = axis {
            let _ = write!(name, " ({a})");
        }
        let mut suite = TestSuite::new(visible_str(&name));
        let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
        let mut time = Duration::ZERO;
        for r in units {
            let case = test_case(r, &mut seen);
            time += Duration::from_millis(r.duration_ms);
            suite.add_test_case(case);
        }
        suite.set_time(time);
        report.add_test_suite(suite);
    }
    if let Some(summary) = causes_summary(results) {
        report.add_test_suite(summary);
    }
    report.set_time(Duration::from_secs_f64(
        results.summary.wall_seconds.max(0.0),
    ));
    report.to_string()
}

/// The failures grouped by cause, as the system-out of a suite with no test cases (so
/// CI views count each unit once, in its own suite): one line per cause with its count,
/// the plainest example and its reproduce command.
fn causes_summary(results: &Results) -> Option<TestSuite> {
    let failures = causes(results, Listing::Failures);
    let notes = causes(results, Listing::VersionNotes);
    if failures.is_empty() && notes.is_empty() {
        return None;
    }
    let mut text = String::new();
    for cause in &failures {
        let r = cause.example();
        let _ = writeln!(
            text,
            "{} — {} unit(s) ({}): {}\n  e.g. {}\n  reproduce: {}",
            visible_str(&cause.who),
            cause.units.len(),
            cause.per_transport(),
            one_line(&cause.sentence()),
            visible_str(&r.id),
            one_line(&r.reproduce)
        );
    }
    for note in &notes {
        let _ = writeln!(
            text,
            "info: {} — {} unit(s): {}",
            visible_str(&note.who),
            note.units.len(),
            one_line(&note.sentence())
        );
    }
    let mut suite = TestSuite::new("shout: failures by cause");
    suite.set_system_out(text);
    Some(suite)
}

/// The test case for `r`, named uniquely among `seen` (name, class name) pairs.
fn test_case(r: &UnitResult, seen: &mut BTreeSet<(String, String)>) -> TestCase {
    let classname = classname(&r.id);
    let base = visible_str(&r.case);
    let mut name = base.clone();
    let mut n = 1;
    while !seen.insert((name.clone(), classname.clone())) {
        n += 1;
        name = format!("{base} #{n}");
    }
    let status = match r.verdict {
        Verdict::Pass | Verdict::Info => TestCaseStatus::success(),
        Verdict::Fail | Verdict::NonStrict | Verdict::Xpass => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(message(r))
                .set_type(r.verdict.as_str())
                .set_description(details(r));
            s
        }
        Verdict::Skip => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(one_line(
                r.diagnosis()
                    .as_deref()
                    .unwrap_or("skipped (no reason given)"),
            ))
            .set_type("skip");
            s
        }
        Verdict::Xfail => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(format!(
                "expected failure: {}",
                one_line(
                    r.diagnosis()
                        .as_deref()
                        .unwrap_or("listed as a known failure")
                )
            ))
            .set_type("xfail")
            .set_description(details(r));
            s
        }
    };
    let mut case = TestCase::new(name, status);
    case.set_classname(classname)
        .set_time(Duration::from_millis(r.duration_ms));
    if r.verdict == Verdict::Info {
        case.set_system_out(format!(
            "info: the reference itself has no defined answer for this case, so it is \
             reported and not judged.\n{}",
            details(r)
        ));
    }
    case
}

/// The class name: the unit id without its case, `::` turned into dots and dots inside
/// a segment (a Python axis such as `py3.13`) into `_`, so tools that split class names
/// at dots see `[axis.]transport.client.server`: `udp.python-client.rust-server`.
fn classname(id: &str) -> String {
    cell_key(id)
        .split("::")
        .map(|segment| visible_str(segment).replace('.', "_"))
        .collect::<Vec<_>>()
        .join(".")
}

/// The failure message: the diagnosis on one line.
fn message(r: &UnitResult) -> String {
    match (r.verdict, &r.diagnosis()) {
        (Verdict::Xpass, d) => format!(
            "passed, but listed as a known failure: remove it from the expectations file{}",
            d.as_deref()
                .map(|d| format!(" ({})", one_line(d)))
                .unwrap_or_default()
        ),
        (_, Some(d)) => one_line(d),
        (_, None) => "differs from the reference".into(),
    }
}

/// Free text on one visible line, cut after [`FIELD_BYTES`] characters.
fn one_line(s: &str) -> String {
    clip_chars(&visible_str(s), FIELD_BYTES)
}

/// The failure body: everything needed to understand and rerun the unit.
fn details(r: &UnitResult) -> String {
    let mut d = String::new();
    let _ = writeln!(d, "id:        {}", visible_str(&r.id));
    if let Some(a) = &r.axis {
        let _ = writeln!(d, "python:    {}", visible_str(a));
    }
    let _ = writeln!(
        d,
        "verdict:   {} ({}, {})",
        r.verdict.as_str(),
        visible_str(r.kind.as_str()),
        r.category.as_str()
    );
    if let Some(f) = r.fault {
        let _ = writeln!(d, "fault:     {}", f.as_str());
    }
    if let Some(x) = &r.diagnosis() {
        let _ = writeln!(d, "diagnosis: {}", one_line(x));
    }
    let _ = writeln!(d, "input:     {}", Excerpt::of(&r.input, None, FIELD_BYTES));
    let at = match (&r.expected, &r.actual) {
        (Some(e), Some(a)) => first_difference(e, a),
        _ => None,
    };
    match &r.expected {
        Some(e) => {
            let _ = writeln!(d, "expected:  {}", Excerpt::of(e, at, FIELD_BYTES));
        }
        None => d.push_str("expected:  (no defined answer)\n"),
    }
    match &r.actual {
        Some(a) => {
            let x = Excerpt::of(a, at, FIELD_BYTES);
            let _ = writeln!(d, "actual:    {x}");
            if let Some(at) = at {
                let _ = writeln!(
                    d,
                    "           {}^ first difference at byte {at}",
                    " ".repeat(x.lead_chars())
                );
            }
        }
        None => d.push_str("actual:    (nothing)\n"),
    }
    if let Some(m) = &r.minimal_input {
        let _ = writeln!(d, "smallest input showing it: {}", one_line(m));
    }
    if !r.wire.events.is_empty() {
        d.push_str("wire:\n");
        for e in r.wire.events.iter().take(WIRE_EVENTS) {
            let from = match e.from {
                Peer::Client => "client",
                Peer::Server => "server",
            };
            let _ = writeln!(
                d,
                "  {:>6} ms  {from} {}  {}",
                e.at_ms,
                visible_str(e.what.as_str()),
                Excerpt::of(&e.bytes, None, FIELD_BYTES)
            );
        }
        if r.wire.events.len() > WIRE_EVENTS {
            let _ = writeln!(
                d,
                "  … and {} more events",
                r.wire.events.len() - WIRE_EVENTS
            );
        }
    }
    let _ = writeln!(d, "reproduce: {}", one_line(&r.reproduce));
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::Transport;
    use crate::report::markdown::tests::{results_of, sample, unit};

    /// Checks that `xml` is well-formed: every tag closed in order, attributes quoted,
    /// no character XML 1.0 forbids, no raw `<` or `&` outside markup and entities.
    fn assert_well_formed(xml: &str) {
        for c in xml.chars() {
            let allowed = matches!(c, '\t' | '\n' | '\r')
                || ('\u{20}'..='\u{d7ff}').contains(&c)
                || ('\u{e000}'..='\u{fffd}').contains(&c)
                || c >= '\u{10000}';
            assert!(
                allowed,
                "character U+{:04X} is not allowed in XML",
                c as u32
            );
        }
        let body = xml
            .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
            .expect("an XML declaration");
        let mut stack: Vec<&str> = Vec::new();
        let mut rest = body;
        while let Some(lt) = rest.find('<') {
            check_text(&rest[..lt]);
            let gt = rest[lt..].find('>').expect("an unterminated tag") + lt;
            let tag = &rest[lt + 1..gt];
            assert!(!tag.contains('<'), "`<` inside a tag: {tag}");
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop(), Some(name.trim()), "mismatched </{name}>");
            } else {
                let self_closing = tag.ends_with('/');
                let tag = tag.trim_end_matches('/');
                let name = tag.split_whitespace().next().expect("a tag name");
                check_attributes(&tag[name.len()..]);
                if !self_closing {
                    stack.push(name);
                }
            }
            rest = &rest[gt + 1..];
        }
        check_text(rest);
        assert!(stack.is_empty(), "unclosed: {stack:?}");
    }

    fn check_text(text: &str) {
        let mut rest = text;
        while let Some(amp) = rest.find('&') {
            let semi = rest[amp..].find(';').expect("an unterminated entity") + amp;
            let entity = &rest[amp + 1..semi];
            assert!(
                matches!(entity, "lt" | "gt" | "amp" | "quot" | "apos") || entity.starts_with('#'),
                "unknown entity &{entity};"
            );
            rest = &rest[semi + 1..];
        }
    }

    fn check_attributes(attrs: &str) {
        let mut rest = attrs.trim();
        while !rest.is_empty() {
            let eq = rest.find('=').expect("name=value");
            assert!(rest[..eq]
                .trim()
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '-'));
            let value = rest[eq + 1..].trim_start();
            let quote = value.chars().next().expect("a value");
            assert!(
                quote == '"' || quote == '\'',
                "unquoted attribute in {attrs}"
            );
            let end = value[1..].find(quote).expect("a closing quote") + 1;
            check_text(&value[1..end]);
            rest = value[end + 1..].trim_start();
        }
    }

    /// Every `<testcase>` opening tag's (name, classname) per suite.
    fn cases_by_suite(xml: &str) -> Vec<(String, Vec<(String, String)>)> {
        let attr = |tag: &str, key: &str| {
            let start = tag.find(&format!(" {key}=\"")).map(|i| i + key.len() + 3)?;
            let end = tag[start..].find('"')? + start;
            Some(tag[start..end].to_string())
        };
        let mut suites = Vec::new();
        for part in xml.split("<testsuite ").skip(1) {
            let head = &part[..part.find('>').unwrap()];
            let cases = part
                .split("<testcase ")
                .skip(1)
                .map(|c| {
                    let tag = &c[..c.find('>').unwrap()];
                    let tag = format!(" {tag}");
                    (
                        attr(&tag, "name").unwrap(),
                        attr(&tag, "classname").unwrap(),
                    )
                })
                .collect();
            suites.push((attr(&format!(" {head}"), "name").unwrap(), cases));
        }
        suites
    }

    #[test]
    fn every_verdict_maps_to_the_right_element_in_well_formed_xml() {
        let xml = render(&sample()).unwrap();
        assert_well_formed(&xml);
        // A suite per pair, and the failures by cause (no test cases of its own).
        assert_eq!(xml.matches("<testsuite ").count(), 7, "{xml}");
        assert_eq!(xml.matches("<testcase ").count(), 7, "{xml}");
        assert!(
            xml.contains("title-case server — 1 unit(s) (udp 1): build failed: the server keeps"),
            "{xml}"
        );
        assert_eq!(xml.matches("<failure").count(), 2, "fail and xpass: {xml}");
        assert_eq!(xml.matches("<skipped").count(), 2, "skip and xfail: {xml}");
        assert!(
            xml.contains(r#"name="udp python-client × title-case-server""#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<testcase name="hello" classname="udp.python-client.title-case-server" time="0.012">"#),
            "{xml}"
        );
        assert!(xml.contains(r#"message="expected failure: server title-cases (capitalises each word) instead of uppercasing everything (known failure: title case)" type="xfail""#), "{xml}");
        assert!(
            xml.contains(r#"message="no reference pair for this case (the reference implementation has no such role)" type="skip""#),
            "{xml}"
        );
        assert!(xml.contains(r#"type="xpass""#), "{xml}");
        assert!(
            xml.contains("info: the reference itself has no defined answer"),
            "{xml}"
        );
        // The bytes are escaped, then XML-escaped: no raw markup from the data.
        assert!(!xml.contains("<script>"));
        assert!(xml.contains("expected:  HELLO &lt;script&gt;alert(1)&lt;/script&gt; \\u{0}\\u{7}\\u{1b}[0m \\u{fffe}|``` WORLD\\n"), "{xml}");
        assert!(xml.contains("actual:    HELLO &lt;script&gt;alert(1)&lt;/script&gt; \\u{0}\\u{7}\\u{1b}[0m \\xff\\xfe|``` world\\n"));
        assert!(xml.contains("^ first difference at byte 39"));
        assert!(xml.contains("fault:     server"));
        assert!(xml
            .contains("reproduce: shout matrix --id udp::python-client::title-case-server::hello"));
        assert!(
            xml.contains("message=\"build failed: the server keeps &lt;script&gt; and \\u{1b}[31m | ` bytes\""),
            "{xml}"
        );
    }

    #[test]
    fn quick_junit_reads_back_what_it_wrote() {
        let xml = render(&sample()).unwrap();
        let report = Report::deserialize_from_str(&xml).expect("valid JUnit XML");
        assert_eq!(report.tests, 7);
        assert_eq!(report.failures, 2);
        assert_eq!(report.test_suites.len(), 7);
    }

    #[test]
    fn names_are_unique_within_each_suite_even_for_repeated_units() {
        let mut units = sample().results;
        units.extend(sample().results);
        let mut with_axis = unit(
            Transport::Udp,
            "python",
            "rust",
            "hello",
            Verdict::Pass,
            None,
            None,
        );
        with_axis.axis = Some("py3.13".into());
        with_axis.id = format!("py3.13::{}", with_axis.id);
        units.push(with_axis);
        let xml = render(&results_of(units)).unwrap();
        assert_well_formed(&xml);
        let suites = cases_by_suite(&xml);
        assert_eq!(suites.len(), 8);
        for (suite, cases) in &suites {
            let unique: BTreeSet<_> = cases.iter().collect();
            assert_eq!(
                unique.len(),
                cases.len(),
                "duplicates in {suite}: {cases:?}"
            );
        }
        assert!(
            xml.contains(r#"<testcase name="hello #2" classname="udp.python-client.rust-server""#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"name="udp python-client × rust-server (py3.13)""#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"classname="py3_13.udp.python-client.rust-server""#),
            "{xml}"
        );
    }

    #[test]
    fn long_fields_are_cut_with_a_count_of_what_is_left_out() {
        let big = vec![b'x'; 10_000];
        let mut wrong = big.clone();
        wrong[20] = b'\x01';
        let xml = render(&results_of(vec![unit(
            Transport::Tcp,
            "rust",
            "rust",
            "big",
            Verdict::Fail,
            Some(&big),
            Some(&wrong),
        )]))
        .unwrap();
        assert_well_formed(&xml);
        assert!(
            xml.contains(&format!("… ({} more bytes)", 10_000 - FIELD_BYTES)),
            "{xml}"
        );
        assert!(xml.len() < 4 * FIELD_BYTES + 4000, "{} bytes", xml.len());
    }

    /// A real run's results (a subset with every verdict and markup in the data). Set
    /// `SHOUT_JUNIT_OUT=FILE` to keep the XML.
    #[test]
    fn renders_a_real_run() {
        let results: Results = serde_json::from_str(include_str!(
            "../../tests/fixtures/results/every-verdict.json"
        ))
        .expect("the fixture matches the results schema");
        let xml = render(&results).unwrap();
        if let Some(path) = std::env::var_os("SHOUT_JUNIT_OUT") {
            std::fs::write(path, &xml).expect("write the XML");
        }
        assert_well_formed(&xml);
        let s = &results.summary;
        assert_eq!(xml.matches("<testcase ").count(), s.total);
        assert_eq!(xml.matches("<failure").count(), s.failed + s.xpass);
        assert_eq!(xml.matches("<skipped").count(), s.skipped + s.xfail);
        let report = Report::deserialize_from_str(&xml).expect("valid JUnit XML");
        assert_eq!(report.tests, s.total);
    }
}

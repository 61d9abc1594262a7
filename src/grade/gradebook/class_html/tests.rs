//! The class page on a small class: common mistakes, the sortable table, escaping.

use std::collections::BTreeMap;

use super::*;
use crate::corpus::Category;
use crate::plan::UnitKind;
use crate::proto::Transport;
use crate::results::{Results, Summary, SCHEMA_VERSION};
use crate::run::wire::Transcript;
use crate::verdict::{Added, Fault, Finding, ServerFinding, Verdict};

/// A failed probe of `name`'s server on `case`: the reply has a newline added.
fn newline(t: Transport, name: &str, case: &str, input: &[u8]) -> UnitResult {
    let expected = input.to_ascii_uppercase();
    let mut actual = expected.clone();
    actual.push(b'\n');
    UnitResult {
        id: format!("{t}::probe-client::{name}-server::{case}"),
        axis: None,
        transport: t,
        client: "probe".into(),
        server: name.into(),
        kind: UnitKind::ServerProbe,
        case: case.into(),
        category: Category::Core,
        verdict: Verdict::Fail,
        fault: Some(Fault::Server),
        input: input.to_vec(),
        expected: Some(expected.clone()),
        actual: Some(actual.clone()),
        wire: Transcript::default(),
        finding: Some(Finding::Server(ServerFinding::AddedAfter {
            added: Added::Newline,
            expected,
            actual,
        })),
        known: None,
        minimal_input: None,
        reproduce: format!("shout grade submissions/{name} --case {case}"),
        duration_ms: 1,
        client_ms: None,
        client_stderr: None,
        cached: false,
    }
}

fn graded(name: &str, units: Vec<UnitResult>) -> Graded {
    Graded {
        name: name.into(),
        language: Some("Python 3".into()),
        notes: Vec::new(),
        problems: BTreeMap::new(),
        not_graded: BTreeMap::new(),
        results: Some(Results {
            schema_version: SCHEMA_VERSION,
            shout_version: "0.1.0".into(),
            corpus: "0".into(),
            partition: None,
            plan: None,
            reference: Vec::new(),
            reference_implementation: "python".into(),
            non_strict_ok: false,
            cache: None,
            summary: Summary::count(&units, 1.0),
            results: units,
        }),
    }
}

fn class() -> Vec<Graded> {
    let mut missing = graded("missing-tcp", Vec::new());
    for key in [RoleKey::ALL[2], RoleKey::ALL[3]] {
        missing
            .problems
            .insert(key, format!("No {} found.", role_words(key)));
    }
    vec![
        graded(
            "ann",
            vec![newline(Transport::Udp, "ann", "hello", b"hello")],
        ),
        graded("bob", vec![newline(Transport::Udp, "bob", "hello", b"hi")]),
        graded("cy", Vec::new()),
        missing,
    ]
}

#[test]
fn common_mistakes_count_the_students_who_share_them_most_common_first() {
    let page = class_html(&class(), &Rubric::default());
    let common = &page[page.find("id=\"common\"").unwrap()..page.find("id=\"students\"").unwrap()];
    let newline = common.find("server-added-newline").expect(common);
    let row = &common[common[..newline].rfind("<tr").unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("<b>2</b> of 4"), "{row}");
    assert!(row.contains("UDP server"), "{row}");
    assert!(
        row.contains("<a href=\"#s-ann\">ann</a>, <a href=\"#s-bob\">bob</a>"),
        "{row}"
    );
    // The missing roles are their own rows, after the shared mistake.
    let missing = common.find("No TCP server found.").expect(common);
    assert!(missing > newline, "{common}");
    assert!(common.contains("<a href=\"#s-missing-tcp\">"), "{common}");
    // Each student has a section the links reach, with the rerun command.
    assert!(page.contains("<details class=\"student\" id=\"s-ann\">"));
    assert!(page.contains("shout grade submissions/ann --case hello"));
    assert!(page.contains("<code class=\"b\">HELLO\\n</code>"), "{page}");
}

#[test]
fn the_class_table_sorts_and_fetches_nothing() {
    let page = class_html(&class(), &Rubric::default());
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.trim_end().ends_with("</html>"));
    assert!(!page.contains("http://") && !page.contains("https://"));
    assert!(!page.contains("src=") && !page.contains("@import") && !page.contains("url("));
    assert_eq!(page.matches("<script").count(), 1);
    assert!(page.contains("<table id=\"class-table\""));
    assert_eq!(page.matches("<button type=\"button\">").count(), 8);
    assert!(page.contains("<td data-v=\"cy\"><a href=\"#s-cy\">cy</a></td>"));
}

#[test]
fn hostile_text_is_escaped_and_made_visible() {
    let evil = "</td><script>alert(1)</script>\x1b[31m\u{202e}";
    let mut g = graded(
        "eve",
        vec![newline(Transport::Udp, "eve", evil, evil.as_bytes())],
    );
    g.language = Some(evil.into());
    g.notes.push(evil.into());
    g.problems.insert(RoleKey::ALL[3], evil.into());
    let page = class_html(&[g], &Rubric::default());
    assert_eq!(page.matches("<script").count(), 1, "only the page's own");
    assert!(!page.contains("</td><script>alert"));
    assert!(
        page.contains("&lt;/td&gt;&lt;script&gt;alert(1)&lt;/script&gt;\\u{1b}[31m\\u{202e}"),
        "{page}"
    );
    assert!(!page.chars().any(|c| c.is_control() && c != '\n'));
    assert!(!page.contains('\u{202e}'));
}

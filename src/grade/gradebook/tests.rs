use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use serde_json::{json, Value};

use super::score::*;
use super::*;
use crate::corpus::Category;
use crate::grade::explain::{problem, Problem};
use crate::grade::rubric::Rubric;
use crate::grade::rubric::Visibility;
use crate::plan::UnitKind;
use crate::proto::Transport;
use crate::registry::RoleKey;
use crate::results::Summary;
use crate::results::{Results, UnitResult};
use crate::run::wire::Transcript;
use crate::verdict::{Fault, Finding, Verdict};

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
        client_stderr: None,
        cached: false,
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
        reference: Vec::new(),
        reference_implementation: "python".into(),
        non_strict_ok: false,
        cache: None,
        summary: Summary::count(&units, 12.4),
        results: units,
    }
}

/// How a test server answers an input: the verdict, the diagnosis and the reply.
type ServerBehaviour = dyn Fn(&str) -> (Verdict, Option<Finding>, String);

/// Every unit a grading run gives `name`'s four roles, judged by `server_verdict`
/// for its server units; its client units all pass.
pub(super) fn run_for(name: &str, server_verdict: &ServerBehaviour) -> Vec<UnitResult> {
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

pub(super) fn graded(name: &str, units: Vec<UnitResult>) -> Graded {
    Graded {
        name: name.into(),
        language: Some("Python 3".into()),
        notes: Vec::new(),
        problems: BTreeMap::new(),
        not_graded: BTreeMap::new(),
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
            not_graded: BTreeMap::new(),
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
        not_graded: BTreeMap::new(),
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
        not_graded: BTreeMap::new(),
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
    write_all(
        dir.path(),
        &all,
        &Rubric::default(),
        &serde_json::Value::Null,
    )
    .unwrap();
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
    let e = write_all(
        dir.path(),
        &[bad],
        &Rubric::default(),
        &serde_json::Value::Null,
    )
    .unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    let e = write_all(
        dir.path(),
        &[perfect(), perfect()],
        &Rubric::default(),
        &serde_json::Value::Null,
    )
    .unwrap_err();
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

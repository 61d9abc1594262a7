//! What a student wrote (a manifest field, build output, a forged results file) reaches
//! the class's reports and the grader's terminal as text: never as HTML, Markdown, a
//! spreadsheet formula or a terminal escape sequence.

use std::path::Path;
use std::time::Duration;

use crate::support::{root, shout_bin};

/// A submission whose manifest names its language with HTML and a formula, and whose
/// build prints a terminal escape, HTML, a formula and a Markdown link before failing.
fn write_forger(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::copy(
        root().join("tests/fixtures/submissions/with-manifest/server.py"),
        dir.join("server.py"),
    )
    .unwrap();
    std::fs::write(
        dir.join("shout.toml"),
        r#"[[implementation]]
name = "forger"
language = "=HYPERLINK(\"http://grades.example\",\"</td><script>alert(1)</script>\")"
build = "sh -c 'printf \"\\033]0;owned\\007@SUM(1)</td><script>alert(2)</script>\\033[2J [fix](http://x)\\n\"; exit 1'"
udp-server = "python3 server.py udp {port}"
tcp-server = "python3 server.py tcp {port}"
"#,
    )
    .unwrap();
}

fn has_escape(bytes: &[u8]) -> bool {
    bytes.iter().any(|&b| b == 0x1b || b == 0x07)
}

/// The cells of one CSV line (RFC 4180: quoted cells may hold commas and `""`).
fn csv_cells(line: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                cells.last_mut().unwrap().push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => cells.push(String::new()),
            (c, _) => cells.last_mut().unwrap().push(c),
        }
    }
    cells
}

#[test]
fn student_text_is_escaped_in_every_class_report_and_on_the_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let forger = tmp.path().join("forger");
    write_forger(&forger);
    let out = tmp.path().join("out");
    let result = assert_cmd::Command::new(shout_bin())
        .arg("grade")
        .arg(&forger)
        .arg("--out")
        .arg(&out)
        .timeout(Duration::from_secs(600))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(0), "{stderr}");
    assert!(!has_escape(&result.stdout), "stdout obeys escapes");
    assert!(!has_escape(&result.stderr), "stderr obeys escapes");

    let csv = std::fs::read_to_string(out.join("grades.csv")).unwrap();
    let row = csv_cells(csv.lines().nth(1).unwrap());
    assert!(row[1].contains("HYPERLINK"), "{row:?}");
    for cell in &row {
        assert!(
            !cell.starts_with(['=', '+', '@', '\t', '\r'])
                && (!cell.starts_with('-') || cell.parse::<f64>().is_ok()),
            "a spreadsheet would run {cell:?} as a formula"
        );
    }
    assert!(row[1].starts_with("'="), "{row:?}");

    let md = std::fs::read_to_string(out.join("grades.md")).unwrap();
    assert!(md.contains("HYPERLINK"), "{md}");
    for raw in ["<script", "</td>", "[fix](http", "\u{1b}"] {
        assert!(!md.contains(raw), "grades.md holds {raw:?} raw:\n{md}");
    }
    let html = std::fs::read_to_string(out.join("grades.html")).unwrap();
    assert!(html.contains("HYPERLINK"), "the language is shown");
    for raw in ["<script>alert", "</td><script", "\u{1b}"] {
        assert!(!html.contains(raw), "grades.html holds {raw:?} raw");
    }
}

#[test]
fn merge_shows_control_characters_from_a_results_file_instead_of_obeying_them() {
    let tmp = tempfile::tempdir().unwrap();
    let forger = tmp.path().join("forger");
    write_forger(&forger);
    let out = tmp.path().join("out");
    let graded = assert_cmd::Command::new(shout_bin())
        .arg("grade")
        .arg(&forger)
        .arg("--out")
        .arg(&out)
        .timeout(Duration::from_secs(600))
        .output()
        .unwrap();
    assert_eq!(graded.status.code(), Some(0));
    // A results file is data anyone can edit: put escapes in every text a unit holds.
    let path = out.join("forger/shout.json");
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let units = json["results"].as_array_mut().expect("results is a list");
    assert!(!units.is_empty());
    for unit in units.iter_mut() {
        for field in ["reproduce", "id"] {
            let text = unit[field].as_str().unwrap_or_default().to_string();
            unit[field] = format!("{text}\u{1b}]0;owned\u{7}\u{1b}[2J\r").into();
        }
    }
    std::fs::write(&path, serde_json::to_vec(&json).unwrap()).unwrap();
    let merged = assert_cmd::Command::new(shout_bin())
        .arg("merge")
        .arg(&path)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&merged.stdout);
    assert!(
        stdout.contains("\\u{1b}]0;owned"),
        "the escape is shown as text:\n{stdout}"
    );
    assert!(
        !has_escape(&merged.stdout),
        "stdout obeys escapes:\n{stdout}"
    );
    assert!(!has_escape(&merged.stderr), "stderr obeys escapes");
}

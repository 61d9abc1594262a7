//! `grades.html` on the fixture class: the common mistakes name each fixture bug with
//! its students, and the page renders in a real browser (headless Chromium, when
//! installed) at the top and at a student's section below the first screen.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use crate::support::root;
use crate::support::shout_bin;

/// How long one screenshot may take, browser start included, on a loaded machine.
const SHOT_LIMIT: Duration = Duration::from_secs(180);

/// The fixture class, plus a copy of `bug-newline` under another name so that one
/// mistake is shared by two students.
fn grade_the_class(out: &Path) -> String {
    let fixtures = root().join("tests/fixtures/submissions");
    let copies = tempfile::tempdir().unwrap();
    let twin = copies.path().join("twin-newline");
    copy_dir(&fixtures.join("bug-newline"), &twin);
    let result = assert_cmd::Command::new(shout_bin())
        .arg("grade")
        .args(
            [
                "py3-faithful",
                "bug-newline",
                "bug-title",
                "bug-upper-client",
                "bug-other-port",
                "missing-role",
            ]
            .map(|n| fixtures.join(n)),
        )
        .arg(&twin)
        .arg("--out")
        .arg(out)
        .timeout(Duration::from_secs(600))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(0), "{stderr}");
    std::fs::read_to_string(out.join("grades.html")).expect("grade writes grades.html")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The rows of the common-mistakes table.
fn common_rows(page: &str) -> Vec<&str> {
    let start = page
        .find("<section id=\"common\">")
        .expect("a common section");
    let end = start + page[start..].find("</section>").unwrap();
    page[start..end].split("<tr").skip(2).collect()
}

#[test]
fn the_class_page_lists_each_fixture_bug_with_its_students() {
    let out = tempfile::tempdir().unwrap();
    let page = grade_the_class(out.path());
    let rows = common_rows(&page);
    let row = |cause: &str, role: &str| -> &str {
        rows.iter()
            .copied()
            .find(|r| r.contains(cause) && r.contains(&format!("<td class=\"role\">{role}</td>")))
            .unwrap_or_else(|| panic!("no row for {role} {cause}:\n{}", rows.join("\n")))
    };
    let who = |r: &str| -> Vec<String> {
        r.split("<a href=\"#s-")
            .skip(1)
            .map(|s| s[..s.find('"').unwrap()].to_string())
            .collect()
    };
    for (cause, role, students) in [
        (
            "server-added-newline",
            "UDP server",
            &["bug-newline", "twin-newline"][..],
        ),
        (
            "server-added-newline",
            "TCP server",
            &["bug-newline", "twin-newline"],
        ),
        ("server-case-mapping-title", "UDP server", &["bug-title"]),
        ("server-case-mapping-title", "TCP server", &["bug-title"]),
        (
            "client-sent-uppercased",
            "UDP client",
            &["bug-upper-client"],
        ),
        (
            "client-sent-uppercased",
            "TCP client",
            &["bug-upper-client"],
        ),
        (
            "server-reply-from-other-port",
            "UDP server",
            &["bug-other-port"],
        ),
        ("no TCP server found", "TCP server", &["missing-role"]),
        ("no TCP client found", "TCP client", &["missing-role"]),
    ] {
        let r = row(cause, role);
        assert_eq!(who(r), students, "{r}");
        assert!(
            r.contains(&format!("<b>{}</b> of 7", students.len())),
            "{r}"
        );
    }
    // The shared mistake comes first; the faithful submission is in no row.
    assert!(rows[0].contains("server-added-newline"), "{}", rows[0]);
    assert!(rows.iter().all(|r| !r.contains("py3-faithful")));
    // Every student has a section the links reach, with the rerun command of a cause.
    for name in ["py3-faithful", "bug-title", "missing-role", "twin-newline"] {
        assert!(
            page.contains(&format!("<details class=\"student\" id=\"s-{name}\">")),
            "{name}"
        );
    }
    assert!(
        page.contains("<code class=\"rerun\">shout check . --case "),
        "{page}"
    );
    assert!(!page.contains("http://") && !page.contains("https://") && !page.contains("src="));
    screenshots(&out.path().join("grades.html"));
}

/// The browser to screenshot with: `CHROMIUM`, else the first one on the `PATH`.
fn chromium() -> Result<PathBuf, String> {
    if let Some(b) = std::env::var_os("CHROMIUM") {
        return Ok(PathBuf::from(b));
    }
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|b| which::which(b).ok())
        .ok_or_else(|| {
            "no chromium, chromium-browser or google-chrome on the PATH and CHROMIUM is not set \
             (Debian: apt-get install chromium)"
                .to_string()
        })
}

/// Says so on the terminal even though the test passes: libtest hides a passing
/// test's `eprintln!`, not what is written to the stderr handle itself.
fn say_skipped(what: &str, why: &str) {
    let _ = writeln!(std::io::stderr(), "\nSKIPPED {what}: {why}");
}

fn screenshot(page: &Path, png: &Path, fragment: Option<&str>, browser: &Path) -> Output {
    assert_cmd::Command::new(root().join("tools/screenshot-report.sh"))
        .arg(page)
        .arg(png)
        .args(fragment)
        .env("CHROMIUM", browser)
        .env("SCREENSHOT_SIZE", "1200,800")
        .env("SCREENSHOT_TIMEOUT", "120")
        .timeout(SHOT_LIMIT)
        .output()
        .unwrap()
}

/// The top of the page and the last student's section (below the first screen) in
/// headless Chromium: neither capture is blank, and they differ.
fn screenshots(page: &Path) {
    let browser = match chromium() {
        Ok(b) => b,
        Err(why) => return say_skipped("the screenshots of grades.html", &why),
    };
    let shots = tempfile::tempdir().unwrap();
    let top = shots.path().join("top.png");
    let student = shots.path().join("student.png");
    for (png, fragment) in [(&top, None), (&student, Some("s-twin-newline"))] {
        let result = screenshot(page, png, fragment, &browser);
        assert_eq!(
            result.status.code(),
            Some(0),
            "screenshot at {fragment:?}: {}",
            String::from_utf8_lossy(&result.stderr)
        );
    }
    assert_ne!(
        std::fs::read(&top).unwrap(),
        std::fs::read(&student).unwrap(),
        "the student's section is below the first screen, so its capture shows another part"
    );
    sorts_in_the_browser(page, &browser);
    if let Some(dir) = std::env::var_os("SHOUT_SCREENSHOT_OUT") {
        for png in [&top, &student] {
            std::fs::copy(png, Path::new(&dir).join(png.file_name().unwrap())).unwrap();
        }
    }
}

/// Clicking a column's header in Chromium sorts the class table by it, then the
/// other way.
fn sorts_in_the_browser(page: &Path, browser: &Path) {
    let order = "Array.from(document.querySelectorAll('#class-table tbody tr'), r => r.cells[0].textContent)";
    let click = |column: usize| {
        format!("document.querySelectorAll('#class-table th button')[{column}].click()")
    };
    let expression = format!(
        "[{click_total}, {order}, {click_total}, {order}, {click_name}, {order}].filter(x => x)",
        click_total = click(6),
        click_name = click(0),
    );
    let result = assert_cmd::Command::new("python3")
        .arg(root().join("tools/page-shot.py"))
        .arg("eval")
        .arg(browser)
        .arg(format!("file://{}", page.display()))
        .arg(&expression)
        .arg("120")
        .timeout(SHOT_LIMIT)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert_eq!(
        result.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let orders: Vec<Vec<String>> = serde_json::from_str(&stdout).expect(&stdout);
    let [up, down, by_name] = &orders[..] else {
        panic!("three orders: {stdout}")
    };
    assert_eq!(
        up.first().map(String::as_str),
        Some("missing-role"),
        "{up:?}"
    );
    assert_eq!(
        up.last().map(String::as_str),
        Some("py3-faithful"),
        "{up:?}"
    );
    let mut reversed = up.clone();
    reversed.reverse();
    // Ties (the two newline servers) keep their order, so compare the ends only.
    assert_eq!(down.first(), reversed.first(), "{down:?}");
    assert_eq!(down.last(), reversed.last(), "{down:?}");
    let mut sorted = by_name.clone();
    sorted.sort();
    assert_eq!(by_name, &sorted);
}

#[test]
fn a_blank_capture_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    // A 3 × 2 white PNG, written with the standard library.
    let png = dir.path().join("blank.png");
    let made = std::process::Command::new("python3")
        .arg("-c")
        .arg(
            "import struct, sys, zlib\n\
             def chunk(k, b): return struct.pack('>I', len(b)) + k + b + struct.pack('>I', zlib.crc32(k + b))\n\
             rows = b''.join(b'\\0' + b'\\xff' * 9 for _ in range(2))\n\
             open(sys.argv[1], 'wb').write(b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 3, 2, 8, 2, 0, 0, 0)) + chunk(b'IDAT', zlib.compress(rows)) + chunk(b'IEND', b''))",
        )
        .arg(&png)
        .status()
        .unwrap();
    assert!(made.success());
    let check = assert_cmd::Command::new("python3")
        .arg(root().join("tools/page-shot.py"))
        .arg("check")
        .arg(&png)
        .timeout(SHOT_LIMIT)
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&check.stderr).contains("blank: every pixel is #ffffff"));

    // An empty page in the browser is caught the same way.
    let browser = match chromium() {
        Ok(b) => b,
        Err(why) => return say_skipped("the blank-page screenshot", &why),
    };
    let page = dir.path().join("empty.html");
    std::fs::write(&page, "<!DOCTYPE html><html><body></body></html>").unwrap();
    let result = screenshot(&page, &dir.path().join("empty.png"), None, &browser);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is blank"), "{stderr}");
}

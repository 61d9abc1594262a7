//! The class's page, `grades.html`: one self-contained file (inline CSS and a small
//! script, nothing fetched) with the class table (sortable by any column), the class's
//! common mistakes (each kind of mistake × role with the students who make it, the most
//! common first, and the roles not graded, per reason), and each student's causes in a
//! collapsed section: the student's sentence, one example's bytes and the command that
//! reruns it.
//!
//! Failures are grouped as the Gradescope output groups them: per role, by the
//! finding's code ([`Finding::code`](crate::verdict::Finding::code)), leaving out the
//! failures the other side's tests already explain.
//!
//! Everything from a submission (names, languages, notes, problems, sentences quoting
//! bytes, the bytes themselves) has its control and direction characters made visible
//! and is HTML-escaped. Pure: reads grades, returns a string, never prints.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::gradescope::{by_kind, describe, told_by_other_side};
use super::score::{
    buckets, clarity, first_problem, points_text, role_score, total, Bucket, Graded,
};
use crate::grade::explain::{for_student, role_words};
use crate::grade::rubric::Rubric;
use crate::registry::RoleKey;
use crate::results::UnitResult;
use crate::text::{quote, visible_str};

/// How many characters of input, expected and actual bytes an example quotes.
const QUOTE_BYTES: usize = 200;

/// How many causes a student's role shows before summing up the rest.
const MAX_CAUSES: usize = 8;

/// What a cause of lost points is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// Failures whose findings share a code (`server-added-newline`); empty when the
    /// failures carry no finding.
    Mistake(String),
    /// The role was not graded, or nothing of it counted: the sentence saying why
    /// (missing role, build failure, missing toolchain, nothing ran).
    NotGraded(String),
}

/// One cause of lost points in one student's role.
struct Cause<'a> {
    /// The role that lost the points.
    role: RoleKey,
    /// The kind of mistake, or why the role was not graded.
    kind: Kind,
    /// The failures showing it, the most frequent kind first; empty for
    /// [`Kind::NotGraded`].
    units: Vec<&'a UnitResult>,
}

impl<'a> Cause<'a> {
    /// The failure that shows the cause most plainly.
    fn example(&self) -> Option<&'a UnitResult> {
        self.units.iter().copied().min_by_key(|u| clarity(u))
    }
}

/// The causes of `g`'s lost points, in role order: a role's problem, or its failures
/// grouped by kind (the most frequent first), or why nothing of it counted.
fn causes<'a>(g: &'a Graded, rubric: &Rubric) -> Vec<Cause<'a>> {
    let bs = buckets(g, rubric);
    let mut out = Vec::new();
    for role in RoleKey::ALL {
        if rubric.role_max(role) <= 0.0 {
            continue;
        }
        if let Some(p) = g.problems.get(&role) {
            out.push(Cause {
                role,
                kind: Kind::NotGraded(p.clone()),
                units: Vec::new(),
            });
            continue;
        }
        let mine = bs.iter().filter(|b| b.role == role);
        let failures: Vec<&UnitResult> = mine
            .clone()
            .flat_map(|b| b.failures.iter().copied())
            .filter(|r| !told_by_other_side(r, role.role))
            .collect();
        for (code, units) in by_kind(failures) {
            out.push(Cause {
                role,
                kind: Kind::Mistake(code),
                units,
            });
        }
        let mut reasons: Vec<&String> = Vec::new();
        for b in mine.filter(|b| !b.is_full() && b.failures.is_empty()) {
            if let Some(r) = b.reason.as_ref().filter(|r| !reasons.contains(r)) {
                reasons.push(r);
            }
        }
        out.extend(reasons.into_iter().map(|r| Cause {
            role,
            kind: Kind::NotGraded(r.clone()),
            units: Vec::new(),
        }));
    }
    out
}

/// One cause the class shares: the students who have it, each with their example.
struct Shared<'a> {
    role: RoleKey,
    kind: Kind,
    /// The students, in class order, with the failure that shows it plainest.
    students: Vec<(&'a str, Option<&'a UnitResult>)>,
}

/// Every cause in the class with the students who share it, the most common first;
/// among equals, mistakes before roles not graded, then in role order, then by kind.
fn shared<'a>(all: &'a [Graded], per_student: &[Vec<Cause<'a>>]) -> Vec<Shared<'a>> {
    let mut by_cause: BTreeMap<(usize, Kind), Shared<'a>> = BTreeMap::new();
    for (g, cs) in all.iter().zip(per_student) {
        for c in cs {
            let role_no = RoleKey::ALL.iter().position(|&r| r == c.role).unwrap_or(0);
            let entry = by_cause
                .entry((role_no, c.kind.clone()))
                .or_insert_with(|| Shared {
                    role: c.role,
                    kind: c.kind.clone(),
                    students: Vec::new(),
                });
            if !entry.students.iter().any(|(n, _)| *n == g.name) {
                entry.students.push((g.name.as_str(), c.example()));
            }
        }
    }
    let mut out: Vec<Shared> = by_cause.into_values().collect();
    // A stable sort keeps role, then kind order among equals.
    out.sort_by_key(|s| {
        (
            std::cmp::Reverse(s.students.len()),
            matches!(s.kind, Kind::NotGraded(_)),
        )
    });
    out
}

/// The class as one HTML page: the table, the common mistakes, each student's causes.
pub fn class_html(all: &[Graded], rubric: &Rubric) -> String {
    let per_student: Vec<Vec<Cause>> = all.iter().map(|g| causes(g, rubric)).collect();
    let mut out = String::with_capacity(64 * 1024);
    let title = format!(
        "Grades: {} submission{}",
        all.len(),
        if all.len() == 1 { "" } else { "s" }
    );
    let _ = writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>",
        html(&title)
    );
    header(all, rubric, &title, &mut out);
    out.push_str("<main>\n");
    if let Some(taught) = super::taught::taught_otherwise(all) {
        let sentence = taught.sentence(super::taught::GENERIC_REGRADE);
        let _ = writeln!(
            out,
            "<section id=\"reference\">\n<h2>The reference</h2>\n<p>{}</p>\n</section>",
            html(&sentence)
        );
    }
    class_table(all, rubric, &mut out);
    common(all.len(), &shared(all, &per_student), &mut out);
    out.push_str("<section id=\"students\">\n<h2>Each student</h2>\n");
    for (g, cs) in all.iter().zip(&per_student) {
        student(g, rubric, cs, &mut out);
    }
    out.push_str("</section>\n</main>\n");
    let _ = writeln!(out, "<script>{SCRIPT}</script>\n</body>\n</html>");
    out
}

fn header(all: &[Graded], rubric: &Rubric, title: &str, out: &mut String) {
    let max = rubric.max_total();
    let totals: Vec<f64> = all.iter().map(|g| total(&buckets(g, rubric))).collect();
    let full = totals.iter().filter(|&&t| t >= max).count();
    let mean = if totals.is_empty() {
        0.0
    } else {
        totals.iter().sum::<f64>() / totals.len() as f64
    };
    let _ = writeln!(
        out,
        "<header>\n<h1>{}</h1>\n<p class=\"counts\">mean {} of {} points · {} of {} with every point</p>\n\
         <nav><a href=\"#class\">the class</a> · <a href=\"#common\">common mistakes</a> · \
         <a href=\"#students\">each student</a></nav>\n</header>",
        html(title),
        points_text(mean),
        points_text(max),
        full,
        all.len()
    );
}

/// The class table: one row per submission, sortable by clicking a column's header.
fn class_table(all: &[Graded], rubric: &Rubric, out: &mut String) {
    out.push_str(
        "<section id=\"class\">\n<h2>The class</h2>\n<p class=\"hint\">Click a column's header to sort by it; click a name for the student's causes.</p>\n\
         <table id=\"class-table\" class=\"class\">\n<thead><tr>\
         <th data-sort=\"text\"><button type=\"button\">student</button></th>\
         <th data-sort=\"text\"><button type=\"button\">language</button></th>",
    );
    for r in RoleKey::ALL {
        let _ = write!(
            out,
            "<th data-sort=\"num\"><button type=\"button\">{} <small>/ {}</small></button></th>",
            html(&role_words(r)),
            points_text(rubric.role_max(r))
        );
    }
    let _ = writeln!(
        out,
        "<th data-sort=\"num\"><button type=\"button\">total <small>/ {}</small></button></th>\
         <th data-sort=\"text\"><button type=\"button\">first thing to fix</button></th></tr></thead>\n<tbody>",
        points_text(rubric.max_total())
    );
    for g in all {
        let bs = buckets(g, rubric);
        let _ = write!(
            out,
            "<tr><td data-v=\"{}\"><a href=\"#{}\">{}</a></td><td>{}</td>",
            attr(&g.name),
            attr(&anchor(&g.name)),
            html(&g.name),
            html(g.language.as_deref().unwrap_or("—"))
        );
        for r in RoleKey::ALL {
            points_cell(role_score(&bs, r), rubric.role_max(r), out);
        }
        points_cell(total(&bs), rubric.max_total(), out);
        let fix = first_problem(g, rubric);
        let _ = writeln!(
            out,
            "<td class=\"fix\">{}</td></tr>",
            fix.as_deref()
                .map_or_else(|| "<i>every check passed</i>".to_string(), html)
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

fn points_cell(score: f64, max: f64, out: &mut String) {
    let class = if score >= max {
        "full"
    } else if score <= 0.0 {
        "zero"
    } else {
        "part"
    };
    let _ = write!(
        out,
        "<td class=\"num {class}\" data-v=\"{score}\">{}</td>",
        points_text(score)
    );
}

/// The class's common mistakes: each cause with how many students share it and who.
fn common(class_size: usize, causes: &[Shared], out: &mut String) {
    out.push_str("<section id=\"common\">\n<h2>The class's common mistakes</h2>\n");
    if causes.is_empty() {
        out.push_str("<p>No one lost a point.</p>\n</section>\n");
        return;
    }
    out.push_str(
        "<table class=\"common\">\n<thead><tr><th>students</th><th>role</th><th>cause</th><th>who</th></tr></thead>\n<tbody>\n",
    );
    for c in causes {
        let (class, what) = match &c.kind {
            Kind::Mistake(code) => {
                let example = c
                    .students
                    .iter()
                    .find_map(|(name, u)| u.map(|u| for_student(u, name)));
                (
                    "mistake",
                    format!(
                        "<code class=\"kind\">{}</code>{}",
                        html(code_or_none(code)),
                        example
                            .map(|e| format!(" <span class=\"eg\">e.g. {}</span>", html(&e)))
                            .unwrap_or_default()
                    ),
                )
            }
            Kind::NotGraded(why) => (
                "not-graded",
                format!(
                    "<span class=\"tag\">not graded</span> <span class=\"eg\">{}</span>",
                    html(why)
                ),
            ),
        };
        let who: Vec<String> = c
            .students
            .iter()
            .map(|(name, _)| format!("<a href=\"#{}\">{}</a>", attr(&anchor(name)), html(name)))
            .collect();
        let _ = writeln!(
            out,
            "<tr class=\"{class}\"><td class=\"n\" data-v=\"{n}\"><b>{n}</b> of {class_size}</td><td class=\"role\">{}</td><td>{what}</td><td class=\"who\">{}</td></tr>",
            html(&role_words(c.role)),
            who.join(", "),
            n = c.students.len(),
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

/// One student's section: points per role and category, then each cause with its
/// sentence, an example's bytes and the rerun command.
fn student(g: &Graded, rubric: &Rubric, causes: &[Cause], out: &mut String) {
    let bs = buckets(g, rubric);
    let _ = writeln!(
        out,
        "<details class=\"student\" id=\"{}\">\n<summary><b>{}</b> <span class=\"pts\">{} / {}</span> <span class=\"fix\">{}</span></summary>\n<div class=\"body\">",
        attr(&anchor(&g.name)),
        html(&g.name),
        points_text(total(&bs)),
        points_text(rubric.max_total()),
        html(&first_problem(g, rubric).unwrap_or_else(|| "every check passed".into()))
    );
    let _ = writeln!(
        out,
        "<p class=\"facts\">language: {}</p>",
        html(g.language.as_deref().unwrap_or("unknown"))
    );
    if !g.notes.is_empty() {
        out.push_str("<ul class=\"notes\">\n");
        for n in &g.notes {
            let _ = writeln!(out, "<li>Note: {}</li>", html(n));
        }
        out.push_str("</ul>\n");
    }
    for role in RoleKey::ALL {
        if rubric.role_max(role) > 0.0 {
            role_section(g, role, rubric, &bs, causes, out);
        }
    }
    out.push_str("</div>\n</details>\n");
}

/// A role in a student's section: its points per category, then its causes.
fn role_section(
    g: &Graded,
    role: RoleKey,
    rubric: &Rubric,
    bs: &[Bucket],
    causes: &[Cause],
    out: &mut String,
) {
    let max = rubric.role_max(role);
    let _ = write!(
        out,
        "<h3>{} <span class=\"pts\">{} / {}</span></h3>\n<p class=\"buckets\">",
        html(&role_words(role)),
        points_text(role_score(bs, role)),
        points_text(max)
    );
    let parts: Vec<String> = bs
        .iter()
        .filter(|b| b.role == role)
        .map(|b| {
            format!(
                "{}: {} / {} ({} of {} checks passed)",
                b.category.as_str(),
                points_text(b.score),
                points_text(b.max),
                b.passed,
                b.counted
            )
        })
        .collect();
    let _ = writeln!(out, "{}</p>", html(&parts.join(" · ")));
    let mine: Vec<&Cause> = causes.iter().filter(|c| c.role == role).collect();
    for c in mine.iter().take(MAX_CAUSES) {
        cause(c, &g.name, out);
    }
    if mine.len() > MAX_CAUSES {
        let _ = writeln!(
            out,
            "<p class=\"more\">… and {} more kinds of failure.</p>",
            mine.len() - MAX_CAUSES
        );
    }
}

/// One cause in a student's section.
fn cause(c: &Cause, student: &str, out: &mut String) {
    let Some(r) = c.example() else {
        if let Kind::NotGraded(why) = &c.kind {
            let _ = writeln!(
                out,
                "<div class=\"cause not-graded\"><p class=\"say\"><span class=\"tag\">not graded</span> {}</p></div>",
                html(why)
            );
        }
        return;
    };
    let code = match &c.kind {
        Kind::Mistake(code) => code_or_none(code),
        Kind::NotGraded(_) => "",
    };
    let n = c.units.len();
    let _ = writeln!(
        out,
        "<div class=\"cause\"><p class=\"say\">{} <span class=\"count\">({n} {})</span> <code class=\"kind\">{}</code></p>\n<table class=\"bytes\">",
        html(&for_student(r, student)),
        if n == 1 { "check" } else { "checks" },
        html(code)
    );
    let row = |out: &mut String, label: &str, value: String| {
        let _ = writeln!(out, "<tr><th>{label}</th><td>{value}</td></tr>");
    };
    row(
        out,
        "case",
        format!("{}, {}", html(&r.case), html(&describe(r, student))),
    );
    row(out, "input", bytes(&r.input));
    match (&r.expected, &r.actual) {
        (Some(e), Some(a)) if e == a => row(
            out,
            "output",
            format!(
                "{} <i>as expected: the difference is in what was sent</i>",
                bytes(a)
            ),
        ),
        (e, a) => {
            if let Some(e) = e {
                row(out, "expected", bytes(e));
            }
            row(
                out,
                "got",
                a.as_deref()
                    .map_or_else(|| "<i>nothing</i>".to_string(), bytes),
            );
        }
    }
    if let Some(m) = &r.minimal_input {
        row(out, "smallest input", bytes(m.as_bytes()));
    }
    row(
        out,
        "rerun",
        format!("<code class=\"rerun\">{}</code>", html(&r.reproduce)),
    );
    out.push_str("</table></div>\n");
}

/// A finding's code, or words for failures that carry none.
fn code_or_none(code: &str) -> &str {
    if code.is_empty() {
        "no-diagnosis"
    } else {
        code
    }
}

/// Bytes as HTML: escaped (`\n`, `\xff`, …), cut after [`QUOTE_BYTES`] characters,
/// direction marks made visible.
fn bytes(b: &[u8]) -> String {
    if b.is_empty() {
        return "<code class=\"b\"><i>(empty)</i></code>".into();
    }
    format!("<code class=\"b\">{}</code>", html(&quote(b, QUOTE_BYTES)))
}

/// The id of a student's section (names are `[a-z0-9-]+`).
fn anchor(name: &str) -> String {
    format!("s-{name}")
}

/// Text made visible ([`visible_str`]), then HTML-escaped for element content and
/// double-quoted attributes.
fn html(s: &str) -> String {
    crate::text::html_escape(&visible_str(s))
}

/// [`html`] for attribute values (always double-quoted).
fn attr(s: &str) -> String {
    html(s)
}

const STYLE: &str = r#"
:root{--pass:#1a7f37;--pass-bg:#d6f5dd;--fail:#cf222e;--fail-bg:#ffd8d6;--known:#9a6700;--known-bg:#fff0c2;--line:#d0d7de;--ink:#1f2328;--dim:#656d76}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:#f6f8fa}
header{padding:14px 24px;background:#fff;border-bottom:4px solid #0969da}
h1{margin:0 0 6px;font-size:22px}
.counts{margin:4px 0;color:var(--dim)}
nav a{color:#0969da}
main{padding:8px 24px 40px}
section{background:#fff;border:1px solid var(--line);border-radius:6px;padding:4px 16px 12px;margin:14px 0}
h2{font-size:17px;margin:12px 0 6px}
h3{font-size:15px;margin:14px 0 2px}
.hint{color:var(--dim);font-size:12px;margin:0 0 6px}
table{border-collapse:collapse}
table.class,table.common{width:100%}
table.class th,table.common th{text-align:left;border-bottom:2px solid var(--line);padding:2px 6px;font-size:12px;vertical-align:bottom}
table.class th button{font:inherit;font-weight:600;background:none;border:0;padding:2px 0;cursor:pointer;color:var(--ink);text-align:left}
table.class th button small{font-weight:normal;color:var(--dim)}
table.class th[aria-sort=ascending] button::after{content:" ▲"}
table.class th[aria-sort=descending] button::after{content:" ▼"}
table.class td,table.common td{padding:4px 6px;border-bottom:1px solid var(--line);vertical-align:top}
table.class td.num{text-align:right;font-variant-numeric:tabular-nums;font-weight:600;white-space:nowrap}
td.full{color:var(--pass);background:var(--pass-bg)}td.part{color:var(--known);background:var(--known-bg)}td.zero{color:var(--fail);background:var(--fail-bg)}
td.fix{color:var(--ink);font-size:13px}
table.common td.n{white-space:nowrap}table.common td.n b{font-size:16px;color:var(--fail)}
table.common td.role{white-space:nowrap;font-weight:600}
table.common tr.not-graded td.n b{color:var(--dim)}
.eg{color:var(--ink)}.who a,td a{color:#0969da}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px;white-space:pre-wrap;word-break:break-all}
code.kind{color:var(--dim);font-size:11.5px;margin-right:6px}
.tag{display:inline-block;font-size:11px;font-weight:700;text-transform:uppercase;border-radius:3px;padding:0 5px;color:#fff;background:var(--dim)}
details.student{border:1px solid var(--line);border-left:5px solid #0969da;border-radius:4px;margin:6px 0;background:#fff}
details.student:target{box-shadow:0 0 0 3px #0969da55}
summary{cursor:pointer;padding:6px 10px}
summary .pts{font-weight:600;margin:0 8px}summary .fix{color:var(--dim)}
.body{padding:0 12px 10px 14px;border-top:1px solid var(--line)}
.facts,.buckets{color:var(--dim);font-size:12px;margin:4px 0}
.notes{font-size:12px;color:var(--known);margin:4px 0}
.cause{border-left:3px solid var(--fail);padding:2px 0 2px 10px;margin:8px 0}
.cause.not-graded{border-left-color:var(--dim)}
.say{margin:2px 0}.count{color:var(--dim)}
table.bytes{width:100%;margin:2px 0}
table.bytes th{width:110px;text-align:right;vertical-align:top;padding:2px 10px 2px 0;font-weight:600;color:var(--dim);white-space:nowrap;font-size:12px}
table.bytes td{padding:2px 6px;vertical-align:top;font-size:13px}
code.b{display:inline-block;background:#f6f8fa;border:1px solid var(--line);border-radius:4px;padding:1px 6px}
code.rerun{background:#1f2328;color:#f6f8fa;padding:3px 8px;border-radius:4px;display:inline-block;word-break:normal;overflow-wrap:anywhere}
.more{color:var(--dim)}
"#;

/// Sorts the class table by the clicked column (again: the other way), and opens the
/// student section a link or the page's fragment names.
const SCRIPT: &str = r#"
(function(){
  var table=document.getElementById('class-table');
  var heads=table.tHead.rows[0].cells;
  function sortBy(i){
    var th=heads[i],num=th.getAttribute('data-sort')==='num';
    var up=th.getAttribute('aria-sort')!=='ascending';
    for(var j=0;j<heads.length;j++)heads[j].removeAttribute('aria-sort');
    th.setAttribute('aria-sort',up?'ascending':'descending');
    var body=table.tBodies[0],rows=Array.prototype.slice.call(body.rows);
    function key(r){var c=r.cells[i],v=c.getAttribute('data-v');if(v===null)v=c.textContent;return num?parseFloat(v):v.toLowerCase();}
    rows.sort(function(a,b){var x=key(a),y=key(b),c=x<y?-1:x>y?1:0;return up?c:-c;});
    for(j=0;j<rows.length;j++)body.appendChild(rows[j]);
  }
  for(var i=0;i<heads.length;i++)(function(i){
    heads[i].querySelector('button').addEventListener('click',function(){sortBy(i);});
  })(i);
  function openNamed(){
    var id=location.hash?location.hash.slice(1):'';
    try{id=decodeURIComponent(id);}catch(e){}
    var el=id&&document.getElementById(id);
    if(el&&el.tagName==='DETAILS'){el.open=true;el.scrollIntoView({block:'start'});}
  }
  window.addEventListener('hashchange',openNamed);
  openNamed();
})();
"#;

#[cfg(test)]
mod tests;

//! The HTML report: one self-contained page (inline CSS and script, no fetches, no
//! external fonts) with a client × server grid per transport coloured by verdict. Clicking
//! a cell shows its cases; each failing case shows the escaped input, expected and actual
//! bytes with the differing part highlighted, the wire transcript, the diagnosis, the
//! side at fault and the reproduce command.
//!
//! A fragment or query selects what is shown, so links and scripts can open a cell or a
//! case: `report.html#udp::python-client::rust-server` (a cell),
//! `report.html#udp::python-client::rust-server::hello` (a case, expanded), or
//! `report.html?open=…`. Without the script every cell is shown.
//!
//! Everything from the results is HTML-escaped after its bytes are made visible.
//! Reads [`Results`] only; never prints.

use std::fmt::Write as _;

use super::causes::{causes, Cause, Listing};
use super::shared::{differing_span, matrices, Excerpt, Matrix, Shade, Tally};
use crate::results::{Results, UnitResult};
use crate::run::wire::Peer;
use crate::text::visible_str;
use crate::verdict::Verdict;

/// The most bytes of one field (input, expected, actual, one wire event) a case shows.
pub const FIELD_BYTES: usize = 4096;

/// The most wire events a case shows.
const WIRE_EVENTS: usize = 200;

/// Once the page is this large, further cases are listed without their bytes.
const DETAIL_BUDGET: usize = 64 << 20;

/// The most failures listed in the index shown before a cell is chosen.
const INDEX_FAILURES: usize = 500;

/// Renders `results` as one HTML page.
pub fn render(results: &Results) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let s = &results.summary;
    let failing = s.failed + s.xpass;
    let title = if failing == 0 {
        format!("shout: all {} units conform", s.total)
    } else {
        format!("shout: {failing} of {} units failed", s.total)
    };
    let _ = writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n\
         <noscript><style>.cell[hidden]{{display:block}} #hint{{display:none}}</style></noscript>\n\
         </head>\n<body>",
        html(&title)
    );
    header(results, &title, &mut out);
    let all = matrices(results);
    out.push_str("<main>\n<section id=\"grids\">\n");
    for m in &all {
        grid(m, &mut out);
    }
    out.push_str("</section>\n<section id=\"pane\">\n");
    index(results, &mut out);
    for m in &all {
        for ((client, server), cell) in &m.cells {
            let _ = writeln!(
                out,
                "<section class=\"cell\" data-key=\"{}\" hidden>\n<h2>{} · {}-client × {}-server</h2>\n<p class=\"tally\">{}</p>",
                attr(&cell.key),
                html(&m.title()),
                html(client),
                html(server),
                tally_text(&cell.tally)
            );
            for &i in &cell.units {
                let detailed = out.len() < DETAIL_BUDGET;
                case(&results.results[i], detailed, &mut out);
            }
            out.push_str("</section>\n");
        }
    }
    out.push_str("</section>\n</main>\n");
    let _ = writeln!(out, "<script>{SCRIPT}</script>\n</body>\n</html>");
    out
}

fn header(results: &Results, title: &str, out: &mut String) {
    let s = &results.summary;
    let code = results.exit_code();
    let _ = write!(
        out,
        "<header class=\"{}\">\n<h1>{} {} <span class=\"exit\">exit status {}{}</span></h1>\n<p class=\"counts\">",
        if code == 0 { "ok" } else { "bad" },
        if code == 0 { "✔" } else { "✘" },
        html(title),
        code,
        if results.incomplete().next().is_some() {
            ": incomplete, some units could not run"
        } else {
            ""
        }
    );
    for (n, label, class) in [
        (s.passed, "passed", "pass"),
        (s.failed, "failed", "fail"),
        (s.xpass, "xpass", "fail"),
        (s.xfail, "xfail", "known"),
        (s.info, "info", "info"),
        (s.non_strict, "non-strict", "info"),
        (s.skipped, "skipped", "skip"),
    ] {
        if n > 0 || matches!(label, "passed" | "failed") {
            let _ = write!(out, "<span class=\"badge {class}\">{n} {label}</span> ");
        }
    }
    let _ = writeln!(
        out,
        "<span class=\"meta\">{:.1} s{} · shout {} · corpus {}{}</span></p>",
        s.wall_seconds,
        results
            .cache
            .as_ref()
            .filter(|c| c.reused > 0)
            .map(|c| format!(" · {} units from the cache", c.reused))
            .unwrap_or_default(),
        html(&results.shout_version),
        html(&results.corpus),
        results
            .partition
            .map(|p| format!(" · partition {}", html(&p.to_string())))
            .unwrap_or_default()
    );
    out.push_str(
        "<p class=\"legend\"><span class=\"sw pass\"></span>all judged passed \
         <span class=\"sw fail\"></span>any failure (fail or xpass) \
         <span class=\"sw known\"></span>known failures (xfail) or only info \
         <span class=\"sw skip\"></span>skipped · numbers: passed/judged (xfail counts as \
         passed; info and skip are not judged)</p>\n</header>\n",
    );
}

fn shade_class(t: &Tally) -> &'static str {
    match t.shade() {
        Shade::Fail => "fail",
        Shade::Known | Shade::Info => "known",
        Shade::Pass => "pass",
        Shade::Skip => "skip",
    }
}

fn tally_text(t: &Tally) -> String {
    let mut parts = Vec::new();
    for (n, what) in [
        (t.pass, "pass"),
        (t.fail, "fail"),
        (t.xpass, "xpass"),
        (t.xfail, "xfail"),
        (t.info, "info"),
        (t.skip, "skip"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    parts.join(" · ")
}

fn grid(m: &Matrix, out: &mut String) {
    let _ = write!(
        out,
        "<div class=\"matrix\">\n<h2>{} <small>{}</small></h2>\n<table class=\"grid\">\n<thead><tr><th class=\"corner\">client ↓ · server →</th>",
        html(&m.title()),
        tally_text(&m.tally)
    );
    for s in &m.servers {
        let _ = write!(out, "<th class=\"col\"><span>{}</span></th>", html(s));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for c in &m.clients {
        let _ = write!(out, "<tr><th class=\"row\">{}</th>", html(c));
        for s in &m.servers {
            match m.cells.get(&(c.clone(), s.clone())) {
                Some(cell) => {
                    let t = &cell.tally;
                    let main = if t.judged() > 0 {
                        format!("{}/{}", t.passed(), t.judged())
                    } else if t.info > 0 {
                        "info".to_string()
                    } else {
                        "skip".to_string()
                    };
                    let mut notes = Vec::new();
                    for (n, what) in [
                        (t.xpass, "xpass"),
                        (t.xfail, "xfail"),
                        (t.info, "info"),
                        (t.skip, "skip"),
                    ] {
                        if n > 0 && t.judged() > 0 {
                            notes.push(format!("{n} {what}"));
                        }
                    }
                    let _ = write!(
                        out,
                        "<td class=\"{}\"><a href=\"#{}\" data-key=\"{}\" title=\"{} × {}: {}\">{}<small>{}</small></a></td>",
                        shade_class(t),
                        attr(&fragment(&cell.key)),
                        attr(&cell.key),
                        attr(c),
                        attr(s),
                        attr(&tally_text(t)),
                        html(&main),
                        html(&notes.join(" · "))
                    );
                }
                None => out.push_str("<td class=\"none\"></td>"),
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n</div>\n");
}

/// What the pane shows before a cell is chosen: a hint and the failures, as links.
/// The failures grouped by cause (each with its count, sentence, a link to its plainest
/// example and, collapsed, every unit), then the differences of Unicode version alone.
fn index(results: &Results, out: &mut String) {
    out.push_str("<div id=\"hint\">\n<p>Choose a cell to see its cases.</p>\n");
    let failures = causes(results, Listing::Failures);
    if !failures.is_empty() {
        let units: usize = failures.iter().map(|c| c.units.len()).sum();
        let _ = writeln!(
            out,
            "<h2>Failures ({units} units, {} causes)</h2>\n<ul class=\"index\">",
            failures.len()
        );
        for cause in &failures {
            cause_item(cause, out);
        }
        out.push_str("</ul>\n");
    }
    let notes = causes(results, Listing::VersionNotes);
    if !notes.is_empty() {
        out.push_str("<h2>Unicode versions (info)</h2>\n<ul class=\"index\">\n");
        for note in &notes {
            let _ = writeln!(
                out,
                "<li><b>{}</b>: {} — {} units; characters: <code>{}</code></li>",
                html(&note.who),
                html(&note.sentence()),
                note.units.len(),
                html(&note.characters().join(" "))
            );
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</div>\n");
}

/// One cause in the index.
fn cause_item(cause: &Cause, out: &mut String) {
    let r = cause.example();
    let n = cause.units.len();
    let _ = write!(
        out,
        "<li><b>{}</b> — {n} unit{} ({}): {} <a href=\"#{}\">e.g. {}</a>",
        html(&cause.who),
        if n == 1 { "" } else { "s" },
        cause.per_transport(),
        html(&cause.sentence()),
        attr(&fragment(&r.id)),
        html(&r.id)
    );
    if n > 1 {
        let _ = write!(out, "<details><summary>the {n} units</summary><ul>");
        for u in cause.units.iter().take(INDEX_FAILURES) {
            let _ = write!(
                out,
                "<li><a href=\"#{}\">{}</a></li>",
                attr(&fragment(&u.id)),
                html(&u.id)
            );
        }
        if n > INDEX_FAILURES {
            let _ = write!(
                out,
                "<li>… and {} more (see each cell)</li>",
                n - INDEX_FAILURES
            );
        }
        out.push_str("</ul></details>");
    }
    out.push_str("</li>\n");
}

fn case(r: &UnitResult, detailed: bool, out: &mut String) {
    let v = r.verdict.as_str();
    let _ = write!(
        out,
        "<details class=\"case {v}\" data-id=\"{}\"{}>\n<summary><span class=\"v {v}\">{v}</span> <b>{}</b>",
        attr(&r.id),
        if r.verdict.is_failure() { " open" } else { "" },
        html(&r.case)
    );
    if let Some(d) = &r.diagnosis() {
        let _ = write!(out, " <span class=\"diag\">{}</span>", html(d));
    } else if r.verdict == Verdict::Xpass {
        out.push_str(" <span class=\"diag\">passed, but listed as a known failure: remove it from the expectations file</span>");
    }
    let _ = writeln!(
        out,
        " <span class=\"ms\">{} ms</span></summary>\n<div class=\"body\">",
        r.duration_ms
    );
    let _ = write!(
        out,
        "<p class=\"facts\"><a class=\"self\" href=\"#{}\">{}</a> · {} · {}",
        attr(&fragment(&r.id)),
        html(&r.id),
        html(r.kind.as_str()),
        r.category.as_str()
    );
    if let Some(a) = &r.axis {
        let _ = write!(out, " · python {}", html(a));
    }
    if let Some(f) = r.fault {
        let _ = write!(out, " · fault: <b class=\"fault\">{}</b>", f.as_str());
    }
    out.push_str("</p>\n");
    if !detailed {
        out.push_str("<p class=\"note\">Bytes left out: this page reached its size limit; see the JSON report.</p>\n</div>\n</details>\n");
        return;
    }
    byte_table(r, out);
    wire_table(r, out);
    let _ = writeln!(
        out,
        "<p class=\"repro\">reproduce: <code>{}</code></p>\n</div>\n</details>",
        html(&r.reproduce)
    );
}

/// The unit's input, expected and actual bytes (the difference marked) and its
/// smallest input.
fn byte_table(r: &UnitResult, out: &mut String) {
    let span = match (&r.expected, &r.actual) {
        (Some(e), Some(a)) => differing_span(e, a),
        _ => None,
    };
    out.push_str("<table class=\"bytes\">\n");
    let _ = writeln!(
        out,
        "<tr><th>input</th><td>{}</td></tr>",
        bytes(&Excerpt::of(&r.input, None, FIELD_BYTES), false)
    );
    let _ = writeln!(
        out,
        "<tr><th>expected</th><td>{}</td></tr>",
        r.expected.as_deref().map_or_else(
            || "<i>no defined answer</i>".to_string(),
            |e| bytes(
                &Excerpt::between(e, span.map(|s| s.0), FIELD_BYTES),
                span.is_some()
            )
        )
    );
    let _ = writeln!(
        out,
        "<tr><th>actual</th><td>{}</td></tr>",
        r.actual.as_deref().map_or_else(
            || "<i>nothing</i>".to_string(),
            |a| bytes(
                &Excerpt::between(a, span.map(|s| s.1), FIELD_BYTES),
                span.is_some()
            )
        )
    );
    if let Some(((at, _), _)) = span {
        let _ = writeln!(
            out,
            "<tr><th></th><td class=\"at\">first difference at byte {at}</td></tr>"
        );
    }
    if let Some(m) = &r.minimal_input {
        let _ = writeln!(
            out,
            "<tr><th>smallest input</th><td>{}</td></tr>",
            bytes(&Excerpt::of(m.as_bytes(), None, FIELD_BYTES), false)
        );
    }
    out.push_str("</table>\n");
}

/// What crossed the wire, event by event (the first [`WIRE_EVENTS`]).
fn wire_table(r: &UnitResult, out: &mut String) {
    if !r.wire.events.is_empty() {
        out.push_str("<table class=\"wire\">\n<tr><th>ms</th><th>from</th><th>what</th><th>bytes</th></tr>\n");
        for e in r.wire.events.iter().take(WIRE_EVENTS) {
            let from = match e.from {
                Peer::Client => "client",
                Peer::Server => "server",
            };
            let _ = writeln!(
                out,
                "<tr class=\"{from}\"><td>{}</td><td>{from}</td><td>{}</td><td>{}</td></tr>",
                e.at_ms,
                html(e.what.as_str()),
                bytes(&Excerpt::of(&e.bytes, None, FIELD_BYTES), false)
            );
        }
        if r.wire.events.len() > WIRE_EVENTS {
            let _ = writeln!(
                out,
                "<tr><td colspan=\"4\">… and {} more events</td></tr>",
                r.wire.events.len() - WIRE_EVENTS
            );
        }
        out.push_str("</table>\n");
    }
}

/// An excerpt as HTML: the differing part marked (a thin mark where the other side has
/// extra bytes, when `marked`), spaces shown as a dim `·`, and what was left out counted.
fn bytes(x: &Excerpt, marked: bool) -> String {
    let mut s = String::from("<code>");
    if x.omitted_before > 0 {
        let _ = write!(
            s,
            "<span class=\"cut\">{}</span>",
            markup_escaped(&x.prefix())
        );
    }
    s.push_str(&spaces(&markup_escaped(&x.same)));
    if !x.differing.is_empty() {
        let _ = write!(s, "<mark>{}</mark>", spaces(&markup_escaped(&x.differing)));
    } else if marked {
        s.push_str("<mark class=\"gap\" title=\"the other side has bytes here\"></mark>");
    }
    s.push_str(&spaces(&markup_escaped(&x.after)));
    if x.omitted_after > 0 {
        let _ = write!(
            s,
            "<span class=\"cut\">{}</span>",
            markup_escaped(&x.suffix())
        );
    }
    if x.same.is_empty() && x.differing.is_empty() && x.after.is_empty() && x.omitted_before == 0 {
        s.push_str("<span class=\"cut\">(empty)</span>");
    }
    s.push_str("</code>");
    s
}

fn spaces(escaped_html: &str) -> String {
    escaped_html.replace(' ', "<span class=\"sp\">·</span>")
}

/// Text made visible ([`visible_str`]), then HTML-escaped for element content.
fn html(s: &str) -> String {
    markup_escaped(&visible_str(s))
}

/// Already visible text (an [`Excerpt`]'s), HTML-escaped.
fn markup_escaped(s: &str) -> String {
    crate::text::html_escape(s)
}

/// [`html`] for attribute values (always double-quoted).
fn attr(s: &str) -> String {
    html(s)
}

/// A fragment for `key`: percent-encoded where a URL needs it, `:` kept for readability.
fn fragment(key: &str) -> String {
    let mut out = String::new();
    for b in visible_str(key).bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:!$'()*+,;=@/?".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

const STYLE: &str = r#"
:root{--pass:#1a7f37;--pass-bg:#d6f5dd;--fail:#cf222e;--fail-bg:#ffd8d6;--known:#9a6700;--known-bg:#fff0c2;--skip:#6e7781;--skip-bg:#eaeef2;--line:#d0d7de;--ink:#1f2328;--dim:#656d76}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:#f6f8fa}
header{padding:14px 24px;background:#fff;border-bottom:4px solid var(--pass)}
header.bad{border-bottom-color:var(--fail)}
h1{margin:0 0 6px;font-size:22px}
header.ok h1{color:var(--pass)} header.bad h1{color:var(--fail)}
.exit{font-size:13px;font-weight:normal;color:var(--dim);margin-left:8px}
.counts{margin:4px 0}.meta{color:var(--dim);margin-left:6px}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:600;border:1px solid}
.badge.pass{color:var(--pass);background:var(--pass-bg)}.badge.fail{color:var(--fail);background:var(--fail-bg)}
.badge.known,.badge.info{color:var(--known);background:var(--known-bg)}.badge.skip{color:var(--skip);background:var(--skip-bg)}
.legend{margin:4px 0 0;color:var(--dim);font-size:12px}
.sw{display:inline-block;width:12px;height:12px;border-radius:2px;vertical-align:-1px;margin:0 3px 0 10px;border:1px solid}
.sw.pass{background:var(--pass-bg);border-color:var(--pass)}.sw.fail{background:var(--fail-bg);border-color:var(--fail)}
.sw.known{background:var(--known-bg);border-color:var(--known)}.sw.skip{background:var(--skip-bg);border-color:var(--skip)}
main{padding:8px 24px 40px}
#grids{display:flex;flex-wrap:wrap;gap:8px 40px;align-items:flex-start}
.matrix h2{font-size:17px;margin:10px 0 6px}.matrix h2 small{font-weight:normal;color:var(--dim);font-size:12px}
table.grid{border-collapse:separate;border-spacing:3px}
.grid th{font-weight:600;font-size:12px;color:var(--ink)}
.grid th.row{text-align:right;padding-right:6px;white-space:nowrap}
.grid th.corner{font-weight:normal;color:var(--dim);text-align:right;vertical-align:bottom;white-space:nowrap}
.grid th.col{vertical-align:bottom;height:1px}
.grid th.col span{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap;display:inline-block;padding:2px 0}
.grid td{width:58px;height:38px;padding:0;text-align:center;border-radius:4px;border:1px solid}
.grid td a{display:block;padding:3px 2px;color:inherit;text-decoration:none;font-weight:600;font-size:13px;line-height:1.2}
.grid td a small{display:block;font-weight:normal;font-size:10px;line-height:1.1}
.grid td.pass{background:var(--pass-bg);border-color:var(--pass);color:var(--pass)}
.grid td.fail{background:var(--fail);border-color:var(--fail);color:#fff}
.grid td.known{background:var(--known-bg);border-color:var(--known);color:var(--known)}
.grid td.skip{background:var(--skip-bg);border-color:var(--skip);color:var(--skip)}
.grid td.none{border:1px dashed var(--line)}
.grid td:hover{outline:2px solid var(--ink)}
.grid td.sel{outline:3px solid #0969da;outline-offset:1px}
#pane{margin-top:18px;background:#fff;border:1px solid var(--line);border-radius:6px;padding:4px 16px 12px}
#pane h2{font-size:17px;margin:12px 0 4px}
.tally{color:var(--dim);margin:0 0 8px}
.index{padding-left:18px}.index a{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
details.case{border:1px solid var(--line);border-left:5px solid var(--pass);border-radius:4px;margin:6px 0;background:#fff}
details.case.fail,details.case.xpass{border-left-color:var(--fail)}
details.case.xfail,details.case.info{border-left-color:var(--known)}
details.case.skip{border-left-color:var(--skip)}
details.case.focus{box-shadow:0 0 0 3px #0969da55}
summary{cursor:pointer;padding:5px 10px}
.v{display:inline-block;min-width:44px;text-align:center;font-size:11px;font-weight:700;text-transform:uppercase;border-radius:3px;padding:0 4px;color:#fff;background:var(--pass)}
.v.fail,.v.xpass{background:var(--fail)}.v.xfail,.v.info{background:var(--known)}.v.skip{background:var(--skip)}
.diag{color:var(--ink);margin-left:6px}.ms{color:var(--dim);font-size:12px;float:right}
.body{padding:0 12px 10px 14px;border-top:1px solid var(--line)}
.facts{color:var(--dim);font-size:12px;margin:6px 0}.facts .self{color:var(--dim)}
.fault{color:var(--fail)}
table.bytes,table.wire{border-collapse:collapse;margin:6px 0;width:100%}
table.bytes th{width:110px;text-align:right;vertical-align:top;padding:3px 10px 3px 0;font-weight:600;color:var(--dim);white-space:nowrap}
table.bytes td,table.wire td{padding:3px 6px;vertical-align:top}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px;white-space:pre-wrap;word-break:break-all}
table.bytes code{display:block;max-height:10.5em;overflow:auto;background:#f6f8fa;border:1px solid var(--line);border-radius:4px;padding:3px 6px}
mark{background:#ffb3ad;color:#82071e;border-radius:2px}
mark.gap{display:inline-block;width:3px;height:1.1em;vertical-align:text-bottom;background:#cf222e;margin:0 1px}
.sp{color:#b0b7bf}.cut{color:var(--dim);font-style:italic}
td.at{color:var(--fail);font-size:12px}
table.wire{font-size:12px}table.wire code{display:block;max-height:7.5em;overflow:auto}table.wire th{text-align:left;color:var(--dim);border-bottom:1px solid var(--line);padding:3px 6px}
table.wire tr.client td:nth-child(2){color:#0969da}table.wire tr.server td:nth-child(2){color:#8250df}
table.wire{table-layout:fixed}table.wire th:nth-child(1),table.wire td:nth-child(1){text-align:right;color:var(--dim);width:60px}
table.wire th:nth-child(2){width:70px}table.wire th:nth-child(3){width:150px}
.repro code{background:#1f2328;color:#f6f8fa;padding:3px 8px;border-radius:4px;display:inline-block;word-break:normal;overflow-wrap:anywhere}
.note{color:var(--known)}
"#;

/// Shows the cell or case named by the fragment (or `?open=`), without jumping away
/// from the grid: elements carry `data-key`/`data-id`, not ids, so the browser finds no
/// anchor and only the script scrolls: only when the element's top is out of view, so a
/// case opened below the grid leaves the grid on screen.
const SCRIPT: &str = r#"
(function(){
  function pick(){
    var h=location.hash?location.hash.slice(1):'';
    if(!h){var q=new URLSearchParams(location.search).get('open');if(q)return q;}
    try{return decodeURIComponent(h);}catch(e){return h;}
  }
  function show(){
    var key=pick(),cell=null,target=null,i;
    var cells=document.querySelectorAll('section.cell');
    var cases=document.querySelectorAll('details.case');
    for(i=0;i<cases.length;i++)cases[i].classList.remove('focus');
    for(i=0;i<cells.length;i++)if(cells[i].getAttribute('data-key')===key)cell=cells[i];
    if(!cell&&key){
      for(i=0;i<cases.length;i++)if(cases[i].getAttribute('data-id')===key){target=cases[i];break;}
      if(target){cell=target.closest('section.cell');target.open=true;target.classList.add('focus');}
    }
    for(i=0;i<cells.length;i++)cells[i].hidden=(cells[i]!==cell);
    document.getElementById('hint').hidden=!!cell;
    var links=document.querySelectorAll('.grid a[data-key]');
    for(i=0;i<links.length;i++)links[i].parentNode.classList.toggle('sel',!!cell&&links[i].getAttribute('data-key')===cell.getAttribute('data-key'));
    var el=target||cell;
    if(!el)return;
    var top=el.getBoundingClientRect().top;
    if(top<0||top>window.innerHeight-120)el.scrollIntoView({block:'start'});
  }
  window.addEventListener('hashchange',show);
  show();
})();
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::Transport;
    use crate::report::markdown::tests::{results_of, sample, unit};

    #[test]
    fn page_fetches_nothing() {
        let page = render(&sample());
        assert!(
            !page.contains("http://") && !page.contains("https://"),
            "a URL in the page"
        );
        assert!(!page.contains("src="), "an external resource");
        assert!(!page.contains("@import") && !page.contains("url("));
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.trim_end().ends_with("</html>"));
    }

    #[test]
    fn data_is_escaped_and_only_the_report_script_runs() {
        let page = render(&sample());
        assert_eq!(
            page.matches("<script").count(),
            1,
            "only the page's own script"
        );
        assert!(
            page.contains("HELLO<span class=\"sp\">·</span>&lt;script&gt;alert(1)&lt;/script&gt;")
        );
        assert!(page.contains("the server keeps &lt;script&gt; and \\u{1b}[31m | ` bytes"));
        assert!(!page.chars().any(|c| c.is_control() && c != '\n'));
        assert!(!page.contains('\u{fffe}'));
    }

    #[test]
    fn cells_are_coloured_by_their_worst_verdict_and_link_to_their_cases() {
        let page = render(&sample());
        assert!(page.contains("<td class=\"fail\"><a href=\"#udp::python-client::title-case-server\" data-key=\"udp::python-client::title-case-server\""), "{page}");
        assert!(page.contains("<td class=\"pass\"><a href=\"#udp::python-client::rust-server\""));
        assert!(page.contains("<td class=\"known\"><a href=\"#udp::probe-client::rust-server\""));
        assert!(page.contains("<td class=\"skip\"><a href=\"#tcp::python-client::rust-server\""));
        assert!(page.contains("<td class=\"fail\"><a href=\"#tcp::rust-client::python-server\""));
        assert_eq!(page.matches("<section class=\"cell\"").count(), 6);
        // Failing cases are open, others closed; each case is addressable by its id.
        assert!(page.contains("<details class=\"case fail\" data-id=\"udp::python-client::title-case-server::hello\" open>"));
        assert!(page.contains("<details class=\"case xfail\" data-id=\"udp::python-client::title-case-server::korean\">"));
        // No element id equals a fragment, so opening one never jumps past the grid.
        assert!(!page.contains(" id=\"udp::"));
    }

    #[test]
    fn the_differing_part_is_marked_and_the_wire_shown() {
        let page = render(&sample());
        assert!(
            page.contains("<mark>\\u{fffe}|```<span class=\"sp\">·</span>WORLD</mark>\\n"),
            "{page}"
        );
        assert!(page.contains("<mark>\\xff\\xfe|```<span class=\"sp\">·</span>world</mark>\\n"));
        assert!(page.contains("first difference at byte 39"));
        assert!(page.contains("<tr class=\"client\"><td>1</td><td>client</td><td>data</td><td><code>hello<span class=\"sp\">·</span>world</code></td></tr>"));
        assert!(page.contains("fault: <b class=\"fault\">server</b>"));
        assert!(page.contains("reproduce: <code>shout matrix --id udp::python-client::title-case-server::hello</code>"));
    }

    #[test]
    fn long_fields_are_cut() {
        let big = vec![b'<'; 10_000];
        let page = render(&results_of(vec![unit(
            Transport::Tcp,
            "rust",
            "rust",
            "big",
            Verdict::Fail,
            Some(&big),
            Some(b"x"),
        )]));
        assert!(page.contains(&format!("… ({} more bytes)", 10_000 - FIELD_BYTES)));
        assert!(!page.contains("<<"));
    }

    /// Results of real runs: `wrong-hello` (the deliberately wrong implementations on the
    /// `hello*` cases) and `every-verdict` (a subset with every verdict and markup in the
    /// data). Set `SHOUT_HTML_OUT=DIR` to keep the pages, e.g. for
    /// `tools/screenshot-report.sh`.
    #[test]
    fn renders_real_runs() {
        for (name, json) in [
            (
                "wrong-hello",
                include_str!("../../tests/fixtures/results/wrong-hello.json"),
            ),
            (
                "every-verdict",
                include_str!("../../tests/fixtures/results/every-verdict.json"),
            ),
        ] {
            let results: Results =
                serde_json::from_str(json).expect("the fixture matches the results schema");
            let page = render(&results);
            if let Some(dir) = std::env::var_os("SHOUT_HTML_OUT") {
                let path = std::path::Path::new(&dir).join(format!("{name}.html"));
                std::fs::write(path, &page).expect("write the page");
            }
            assert_eq!(page.matches("<div class=\"matrix\">").count(), 2);
            assert_eq!(
                page.matches("<details class=\"case ").count(),
                results.results.len()
            );
            assert!(page.contains("data-key=\"udp::python-client::title-case-server\""));
            assert!(!page.contains("http://") && !page.contains("https://"));
            assert_eq!(page.matches("<script").count(), 1, "{name}");
        }
    }
}

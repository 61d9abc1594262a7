//! What the Markdown, HTML and JUnit reports share: the matrix tally (a cell's counts
//! and shade), cell keys, and byte excerpts around the first difference. Pure.

use std::collections::BTreeMap;

use crate::results::Results;
use crate::text::visible;
use crate::verdict::Verdict;

/// Counts of each verdict in one group of units (a matrix cell, usually).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// `pass`.
    pub pass: usize,
    /// `fail`.
    pub fail: usize,
    /// `info`.
    pub info: usize,
    /// `skip`.
    pub skip: usize,
    /// `xfail`.
    pub xfail: usize,
    /// `xpass`.
    pub xpass: usize,
}

/// How a cell looks: the worst thing in it decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shade {
    /// Any `fail` or `xpass`: the run fails.
    Fail,
    /// No failure, but known failures (`xfail`).
    Known,
    /// Everything judged passed.
    Pass,
    /// Nothing judged; the reference has no defined answer (`info`).
    Info,
    /// Nothing judged or informative; everything skipped (or empty).
    Skip,
}

impl Tally {
    /// Counts one more verdict.
    pub fn add(&mut self, v: Verdict) {
        match v {
            Verdict::Pass => self.pass += 1,
            // A difference unless the run was told otherwise: shown as one.
            Verdict::Fail | Verdict::NonStrict => self.fail += 1,
            Verdict::Info => self.info += 1,
            Verdict::Skip => self.skip += 1,
            Verdict::Xfail => self.xfail += 1,
            Verdict::Xpass => self.xpass += 1,
        }
    }

    /// Units that make the run fail.
    pub fn failures(&self) -> usize {
        self.fail + self.xpass
    }

    /// Passed as the terminal report counts them: `pass` and `xfail`.
    pub fn passed(&self) -> usize {
        self.pass + self.xfail
    }

    /// Judged units: everything but `info` and `skip`.
    pub fn judged(&self) -> usize {
        self.pass + self.xfail + self.fail + self.xpass
    }

    /// The cell's shade.
    pub fn shade(&self) -> Shade {
        if self.failures() > 0 {
            Shade::Fail
        } else if self.xfail > 0 {
            Shade::Known
        } else if self.pass > 0 {
            Shade::Pass
        } else if self.info > 0 {
            Shade::Info
        } else {
            Shade::Skip
        }
    }
}

/// One matrix cell: a client × server pair.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cell {
    /// Its units' ids without the case: `[axis::]transport::client-client::server-server`.
    pub key: String,
    /// Counts by verdict.
    pub tally: Tally,
    /// Indexes into `Results::results`, in id order.
    pub units: Vec<usize>,
}

/// The client × server matrix of one transport (and Python axis, when several).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Matrix {
    /// The Python axis label, when several.
    pub axis: Option<String>,
    /// `udp` or `tcp`.
    pub transport: String,
    /// Row names, sorted.
    pub clients: Vec<String>,
    /// Column names, sorted.
    pub servers: Vec<String>,
    /// Cells by (client, server).
    pub cells: BTreeMap<(String, String), Cell>,
    /// Counts over the whole matrix.
    pub tally: Tally,
}

impl Matrix {
    /// `UDP`, or `py3.13 UDP` with an axis.
    pub fn title(&self) -> String {
        match &self.axis {
            Some(a) => format!("{a} {}", self.transport.to_uppercase()),
            None => self.transport.to_uppercase(),
        }
    }

    /// The id prefix shared by the matrix's units: `[axis::]transport`.
    pub fn key(&self) -> String {
        match &self.axis {
            Some(a) => format!("{a}::{}", self.transport),
            None => self.transport.clone(),
        }
    }
}

/// The matrices of a run, ordered by (axis, transport), rows and columns sorted.
pub fn matrices(results: &Results) -> Vec<Matrix> {
    let mut by: BTreeMap<(Option<String>, String), Matrix> = BTreeMap::new();
    for (i, r) in results.results.iter().enumerate() {
        let transport = r.transport.to_string();
        let m = by
            .entry((r.axis.clone(), transport.clone()))
            .or_insert_with(|| Matrix {
                axis: r.axis.clone(),
                transport,
                ..Matrix::default()
            });
        m.tally.add(r.verdict);
        let cell = m
            .cells
            .entry((r.client.clone(), r.server.clone()))
            .or_insert_with(|| Cell {
                key: cell_key(&r.id),
                ..Cell::default()
            });
        cell.tally.add(r.verdict);
        cell.units.push(i);
    }
    by.into_values()
        .map(|mut m| {
            m.clients = m.cells.keys().map(|(c, _)| c.clone()).collect();
            m.clients.dedup();
            m.servers = m.cells.keys().map(|(_, s)| s.clone()).collect();
            m.servers.sort();
            m.servers.dedup();
            m
        })
        .collect()
}

/// A unit id without its case: the cell it belongs to.
pub fn cell_key(id: &str) -> String {
    id.rsplit_once("::")
        .map_or(id, |(cell, _case)| cell)
        .to_string()
}

/// The byte offset where `expected` and `actual` first differ (the shorter one's length
/// when one is a prefix of the other), or `None` when they are equal.
pub fn first_difference(expected: &[u8], actual: &[u8]) -> Option<usize> {
    if expected == actual {
        return None;
    }
    Some(
        expected
            .iter()
            .zip(actual)
            .position(|(x, y)| x != y)
            .unwrap_or(expected.len().min(actual.len())),
    )
}

/// A window of at most `limit` bytes of a field, cut at character boundaries and placed
/// so that the start of the difference (when given) is inside it, split into the part
/// before the difference, the differing part and the part after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Excerpt {
    /// Bytes left out before the window.
    pub omitted_before: usize,
    /// Escaped bytes before the difference (the whole window when there is none).
    pub same: String,
    /// Escaped bytes of the difference, as far as the window reaches.
    pub differing: String,
    /// Escaped bytes after the difference, as far as the window reaches.
    pub after: String,
    /// Bytes left out after the window.
    pub omitted_after: usize,
}

impl Excerpt {
    /// Cuts `bytes` to at most `limit` bytes around `difference`, which runs to the end.
    pub fn of(bytes: &[u8], difference: Option<usize>, limit: usize) -> Excerpt {
        Excerpt::between(bytes, difference.map(|d| (d, bytes.len())), limit)
    }

    /// Cuts `bytes` to at most `limit` bytes around the difference `from..to`.
    pub fn between(bytes: &[u8], difference: Option<(usize, usize)>, limit: usize) -> Excerpt {
        let context = (limit / 4).min(64);
        let span = difference.map(|(from, to)| {
            let from = back_to_char_start(bytes, from.min(bytes.len()));
            (
                from,
                forward_to_char_start(bytes, to.clamp(from, bytes.len())),
            )
        });
        let start = match span {
            Some((d, _)) if d + context > limit => back_to_char_start(bytes, d - context.min(d)),
            _ => 0,
        };
        let mut end = bytes.len().min(start + limit);
        if end < bytes.len() {
            end = back_to_char_start(bytes, end);
        }
        let (from, to) = span.unwrap_or((end, end));
        let (from, to) = (from.clamp(start, end), to.clamp(start, end));
        Excerpt {
            omitted_before: start,
            same: visible(&bytes[start..from]),
            differing: visible(&bytes[from..to]),
            after: visible(&bytes[to..end]),
            omitted_after: bytes.len() - end,
        }
    }

    /// Characters of this excerpt's text before the difference (to place a caret).
    pub fn lead_chars(&self) -> usize {
        self.prefix().chars().count() + self.same.chars().count()
    }

    /// The marker for bytes left out before the window, or nothing.
    pub fn prefix(&self) -> String {
        if self.omitted_before > 0 {
            format!("({} bytes before) …", self.omitted_before)
        } else {
            String::new()
        }
    }

    /// The marker for bytes left out after the window, or nothing.
    pub fn suffix(&self) -> String {
        if self.omitted_after > 0 {
            format!("… ({} more bytes)", self.omitted_after)
        } else {
            String::new()
        }
    }
}

impl std::fmt::Display for Excerpt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}{}{}{}{}",
            self.prefix(),
            self.same,
            self.differing,
            self.after,
            self.suffix()
        )
    }
}

/// Moves `i` forward to the first byte of the next UTF-8 sequence (at most 3 bytes).
fn forward_to_char_start(bytes: &[u8], mut i: usize) -> usize {
    let ceiling = (i + 3).min(bytes.len());
    while i < ceiling && bytes[i] & 0xc0 == 0x80 {
        i += 1;
    }
    i
}

/// The bytes `expected` and `actual` differ in: from the first difference up to their
/// common suffix, as a range in each. `None` when they are equal.
pub fn differing_span(expected: &[u8], actual: &[u8]) -> Option<((usize, usize), (usize, usize))> {
    let from = first_difference(expected, actual)?;
    let room = expected.len().min(actual.len()) - from;
    let suffix = expected
        .iter()
        .rev()
        .zip(actual.iter().rev())
        .take(room)
        .take_while(|(x, y)| x == y)
        .count();
    Some((
        (from, expected.len() - suffix),
        (from, actual.len() - suffix),
    ))
}

/// Moves `i` back to the first byte of the UTF-8 sequence it falls in (at most 3 bytes).
fn back_to_char_start(bytes: &[u8], mut i: usize) -> usize {
    let floor = i.saturating_sub(3);
    while i > floor && i < bytes.len() && bytes[i] & 0xc0 == 0x80 {
        i -= 1;
    }
    i
}

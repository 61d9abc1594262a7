//! The JSON report: the results themselves, pretty-printed.

use std::io::{self, Write};

use crate::results::Results;

/// Writes `results` as JSON.
pub fn write(results: &Results, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, results).map_err(io::Error::other)?;
    writeln!(out)
}

//! The JSON documents the commands write (the analysis, the report, `ci --json`).

use std::io::Write;

use anyhow::Context as _;

/// A JSON document, pretty, with a final newline.
pub fn write_json(out: &mut impl Write, document: &serde_json::Value) -> anyhow::Result<()> {
    serde_json::to_writer_pretty(&mut *out, document).context("writing JSON")?;
    writeln!(out)?;
    Ok(())
}

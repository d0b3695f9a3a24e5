//! Text helpers every report shares: byte counts for people, Dockerfile steps as written,
//! cutting to a width, and untrusted text made safe for a terminal or Markdown.

use crate::escape::escape;

/// Bytes for people (`1.2 GB`, SI as `docker images` shows them), or exact with `exact`.
pub fn human_bytes(bytes: u64, exact: bool) -> String {
    if exact {
        bytes.to_string()
    } else {
        bytesize::ByteSize(bytes).display().si().to_string()
    }
}

// Dockerfile steps as written: a fact of the layer ([`LayerFacts::command`](crate::LayerFacts::command)).
pub(crate) use crate::analysis::clean_command;

/// `text` cut to `width` characters, the last one `…` when cut.
pub(crate) fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Untrusted text for a terminal (`md` false) or for Markdown, where its syntax is escaped too.
pub(crate) fn shown(text: &str, md: bool) -> String {
    if md {
        markdown_cell(text)
    } else {
        escape(text).into_owned()
    }
}

/// Text for Markdown (a table cell, a list item): terminal controls shown as escapes, then
/// inline markup and pipes escaped, so that it stays on its line and in its cell.
pub(crate) fn markdown_cell(text: &str) -> String {
    let text = escape(text);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '|' | '*' | '_' | '`' | '<' | '[' | ']' | '#' | '&' | '~'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Code for a Markdown table cell: a code span (terminal controls shown as escapes), pipes
/// escaped as tables require.
pub(crate) fn markdown_code_cell(text: &str) -> String {
    let text = escape(text).replace('|', "\\|");
    // A code span holding backticks is fenced with more of them than it holds in a row.
    let fence = "`".repeat(text.split(|c| c != '`').map(str::len).max().unwrap_or(0) + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

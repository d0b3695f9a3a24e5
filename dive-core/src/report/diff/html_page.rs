//! The pieces of a diff's HTML page: the page itself, tables of text cells and bars of the
//! largest deltas.

use std::fmt::Write as _;

use crate::report::html::{WIDTH, page, text};
use crate::report::text::{cut, human_bytes};

/// A diff's page: the same shell as the report, around the diff's tables.
pub(crate) fn diff_page(title: &str, body: &str) -> String {
    page(title, body, None)
}

/// A table of text cells (`right`: numeric columns, aligned right).
pub(crate) fn table(header: &[&str], right: &[bool], rows: &[Vec<String>]) -> String {
    let class = |i: usize| {
        if right.get(i).copied().unwrap_or(false) {
            " class=\"num\""
        } else {
            ""
        }
    };
    let mut out = String::from("<table>\n<thead><tr>");
    for (i, name) in header.iter().enumerate() {
        let _ = write!(out, "<th{}>{}</th>", class(i), text(name));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        out.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let _ = write!(out, "<td{}>{}</td>", class(i), text(cell));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

/// Old and new bytes of named things as pairs of bars, the change beside them.
pub(crate) fn delta_bars(deltas: &[super::compare::Delta], exact: bool) -> String {
    const ROW: f64 = 34.0;
    const LABEL: f64 = 230.0;
    let width = WIDTH - LABEL - 150.0;
    let max = deltas
        .iter()
        .map(|d| d.old.max(d.new))
        .max()
        .unwrap_or(0)
        .max(1);
    let scale = |b: u64| width * b as f64 / max as f64;
    let mut out = format!(
        "<svg class=\"bars\" viewBox=\"0 0 {} {:.0}\" role=\"img\" aria-label=\"Old and new bytes\">",
        WIDTH,
        ROW * deltas.len() as f64 + 4.0
    );
    for (row, delta) in deltas.iter().enumerate() {
        let y = row as f64 * ROW;
        let sign = match delta.delta.signum() {
            1 => "+",
            -1 => "-",
            _ => "±",
        };
        let change = format!("{sign}{}", human_bytes(delta.delta.unsigned_abs(), exact));
        let class = if delta.delta > 0 {
            "bar-grow"
        } else {
            "bar-shrink"
        };
        let _ = write!(
            out,
            "<g class=\"delta\"><title>{}: {} → {} ({change})</title><text x=\"0\" y=\"{:.1}\">{}</text>\
             <rect class=\"bar-old\" x=\"{LABEL}\" y=\"{:.1}\" width=\"{:.1}\" height=\"10\"/>\
             <rect class=\"{class}\" x=\"{LABEL}\" y=\"{:.1}\" width=\"{:.1}\" height=\"10\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\">{}</text></g>",
            text(&delta.name),
            text(&human_bytes(delta.old, exact)),
            text(&human_bytes(delta.new, exact)),
            y + 20.0,
            text(&cut(&delta.name, 34)),
            y + 6.0,
            scale(delta.old),
            y + 18.0,
            scale(delta.new),
            LABEL + scale(delta.old.max(delta.new)) + 8.0,
            y + 24.0,
            text(&change)
        );
    }
    out.push_str("</svg>\n<p class=\"note\">Grey: old; red: grown, green: shrunk (new).</p>\n");
    out
}

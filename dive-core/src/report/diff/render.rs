//! A diff for people: text for a terminal, Markdown for a pull request; JSON for tools.

use std::fmt::Write as _;

use super::compare::{
    DIFF_SCHEMA_VERSION, Delta, ImageDiff, PackageStatus, Presence, Side, signed,
};
use super::html_page::{delta_bars, diff_page, table};
use crate::attribution::WasteClass;
use crate::escape::escape;
use crate::report::html;
use crate::report::text::{clean_command, cut, human_bytes, markdown_cell};

/// How to write a diff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DiffFormat {
    /// For a terminal.
    Text,
    /// For a pull request.
    Markdown,
    /// A JSON document (`schema_version` 1).
    Json,
    /// One self-contained HTML page.
    Html,
}

/// The diff in `format`; `exact` prints exact byte counts.
pub fn render(diff: &ImageDiff, format: DiffFormat, exact: bool) -> String {
    match format {
        DiffFormat::Json => {
            let document = serde_json::json!({
                "schema_version": DIFF_SCHEMA_VERSION,
                "diff": diff,
            });
            let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
            text.push('\n');
            text
        }
        DiffFormat::Text => tables(diff, Style::Text, exact),
        DiffFormat::Markdown => tables(diff, Style::Markdown, exact),
        DiffFormat::Html => {
            let title = format!("dive-rs diff: {} → {}", name(&diff.old), name(&diff.new));
            diff_page(&title, &tables(diff, Style::Html, exact))
        }
    }
}

fn name(side: &Side) -> String {
    side.reference.clone().unwrap_or_else(|| side.input.clone())
}

fn signed_bytes(delta: i64, exact: bool) -> String {
    let size = human_bytes(delta.unsigned_abs(), exact);
    match delta.signum() {
        1 => format!("+{size}"),
        -1 => format!("-{size}"),
        _ => "±0".to_owned(),
    }
}

/// What a [`Writer`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Text,
    Markdown,
    Html,
}

/// Text, Markdown and HTML share one layout: a heading, then tables.
struct Writer {
    out: String,
    style: Style,
}

impl Writer {
    fn heading(&mut self, text: &str) {
        match self.style {
            Style::Markdown => {
                let _ = writeln!(self.out, "\n#### {text}\n");
            }
            Style::Text => {
                let _ = writeln!(self.out, "\n{text}");
            }
            Style::Html => {
                let _ = writeln!(self.out, "<h2>{}</h2>", html::text(text));
            }
        }
    }

    /// A table of named byte figures, old → new, with an optional last column.
    fn deltas(
        &mut self,
        heading: &str,
        label: &str,
        deltas: &[Delta],
        exact: bool,
        extra: impl Fn(&Delta) -> Option<String>,
    ) {
        if deltas.is_empty() {
            return;
        }
        self.heading(heading);
        if self.style == Style::Html {
            self.out.push_str(&delta_bars(deltas, exact));
        }
        let extras: Vec<Option<String>> = deltas.iter().map(extra).collect();
        let with_extra = extras.iter().any(Option::is_some);
        let rows: Vec<Vec<String>> = deltas
            .iter()
            .zip(extras)
            .map(|(d, extra)| {
                let mut row = vec![
                    d.name.clone(),
                    human_bytes(d.old, exact),
                    human_bytes(d.new, exact),
                    signed_bytes(d.delta, exact),
                ];
                if with_extra {
                    row.push(extra.unwrap_or_default());
                }
                row
            })
            .collect();
        let (header, right): (&[&str], &[bool]) = if with_extra {
            (
                &[label, "old", "new", "change", "fix"],
                &[false, true, true, true, false],
            )
        } else {
            (&[label, "old", "new", "change"], &[false, true, true, true])
        };
        self.table(header, right, &rows);
    }

    fn table(&mut self, header: &[&str], right: &[bool], rows: &[Vec<String>]) {
        if self.style == Style::Html {
            self.out.push_str(&table(header, right, rows));
            return;
        }
        if self.style == Style::Markdown {
            let cells = |row: &[String]| {
                row.iter()
                    .map(|c| markdown_cell(c))
                    .collect::<Vec<_>>()
                    .join(" | ")
            };
            let head: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
            let _ = writeln!(self.out, "| {} |", cells(&head));
            let rule: Vec<&str> = right
                .iter()
                .map(|&r| if r { "--:" } else { "---" })
                .collect();
            let _ = writeln!(self.out, "|{}|", rule.join("|"));
            for row in rows {
                let _ = writeln!(self.out, "| {} |", cells(row));
            }
            return;
        }
        // Names from the images, shown as a terminal may show them (markdown_cell does so too).
        let rows: Vec<Vec<String>> = rows
            .iter()
            .map(|row| row.iter().map(|c| escape(c).into_owned()).collect())
            .collect();
        let widths: Vec<usize> = (0..header.len())
            .map(|i| {
                rows.iter()
                    .map(|r| r[i].chars().count())
                    .chain([header[i].chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |row: &[String]| {
            let cells: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let last = i + 1 == row.len();
                    match (right[i], last) {
                        (true, _) => format!("{c:>w$}", w = widths[i]),
                        (false, true) => c.clone(),
                        (false, false) => format!("{c:<w$}", w = widths[i]),
                    }
                })
                .collect();
            format!("  {}", cells.join("  "))
        };
        let head: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
        let _ = writeln!(self.out, "{}", line(&head));
        for row in &rows {
            let _ = writeln!(self.out, "{}", line(row));
        }
    }
}

fn tables(diff: &ImageDiff, style: Style, exact: bool) -> String {
    let mut w = Writer {
        out: String::new(),
        style,
    };
    let title = format!("dive-rs diff: {} → {}", name(&diff.old), name(&diff.new));
    match style {
        Style::Markdown => {
            let _ = writeln!(w.out, "### {}", markdown_cell(&title));
        }
        Style::Text => {
            let _ = writeln!(w.out, "{}", escape(&title));
        }
        Style::Html => {
            let _ = writeln!(
                w.out,
                "<header>\n<h1>{}</h1>\n<p class=\"sub\">old: <code>{}</code> ({}) · new: <code>{}</code> ({})</p>\n</header>",
                html::text(&title),
                html::text(&diff.old.input),
                html::text(&cut(&diff.old.config_digest, 19)),
                html::text(&diff.new.input),
                html::text(&cut(&diff.new.config_digest, 19))
            );
        }
    }
    let bytes = |b: u64| human_bytes(b, exact);

    w.heading("Totals");
    let rows: Vec<Vec<String>> = diff
        .totals
        .iter()
        .map(|t| {
            let (old, new, delta) = if t.name == "efficiency" {
                (
                    format!("{:.1}%", t.old * 100.0),
                    format!("{:.1}%", t.new * 100.0),
                    format!("{:+.1} pt", (t.new - t.old) * 100.0),
                )
            } else if t.bytes {
                let (o, n) = (t.old as u64, t.new as u64);
                (bytes(o), bytes(n), signed_bytes(signed(n, o), exact))
            } else {
                (
                    format!("{}", t.old),
                    format!("{}", t.new),
                    format!("{:+}", t.new - t.old),
                )
            };
            vec![t.name.replace('_', " "), old, new, delta]
        })
        .collect();
    w.table(
        &["", "old", "new", "change"],
        &[false, true, true, true],
        &rows,
    );

    let shared = diff
        .layers
        .iter()
        .filter(|l| l.status == Presence::Shared)
        .count();
    w.heading(&format!(
        "Layers: {shared} shared, {} new, {} gone",
        diff.layers
            .iter()
            .filter(|l| l.status == Presence::Added)
            .count(),
        diff.layers
            .iter()
            .filter(|l| l.status == Presence::Removed)
            .count()
    ));
    let rows: Vec<Vec<String>> = diff
        .layers
        .iter()
        .map(|l| {
            let at = |i: Option<usize>| i.map_or_else(|| "-".to_owned(), |i| format!("L{i}"));
            vec![
                match l.status {
                    Presence::Shared => "shared",
                    Presence::Added => "new",
                    Presence::Removed => "gone",
                }
                .to_owned(),
                at(l.old_index),
                at(l.new_index),
                bytes(l.file_bytes),
                cut(
                    &l.created_by
                        .as_deref()
                        .map(clean_command)
                        .unwrap_or_default(),
                    70,
                ),
            ]
        })
        .collect();
    w.table(
        &["", "old", "new", "files", "command"],
        &[false, false, false, true, false],
        &rows,
    );

    w.deltas("Families", "family", &diff.families, exact, |_| None);

    if !diff.packages.is_empty() {
        w.heading("Packages");
        let rows: Vec<Vec<String>> = diff
            .packages
            .iter()
            .map(|p| {
                let version = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
                let what = match p.status {
                    PackageStatus::Added => format!("added {}", version(&p.new_version)),
                    PackageStatus::Removed => format!("removed {}", version(&p.old_version)),
                    PackageStatus::VersionChanged => {
                        format!("{} → {}", version(&p.old_version), version(&p.new_version))
                    }
                    PackageStatus::Resized => format!("resized {}", version(&p.new_version)),
                    PackageStatus::Moved => format!(
                        "moved {} → {}{}",
                        p.old_location.as_deref().unwrap_or("-"),
                        p.new_location.as_deref().unwrap_or("-"),
                        if p.old_version == p.new_version {
                            String::new()
                        } else {
                            format!(
                                ", {} → {}",
                                version(&p.old_version),
                                version(&p.new_version)
                            )
                        }
                    ),
                };
                let layers: Vec<String> = p.layers.iter().map(|l| format!("L{l}")).collect();
                vec![
                    format!("{} {}", p.ecosystem.name(), p.name),
                    what,
                    signed_bytes(p.delta, exact),
                    layers.join(","),
                ]
            })
            .collect();
        w.table(
            &["package", "change", "bytes", "layer"],
            &[false, false, true, false],
            &rows,
        );
    }

    if !diff.new_secrets.is_empty() || diff.secrets_gone > 0 {
        w.heading(&format!(
            "Secrets: {} new in the new image, {} gone",
            diff.new_secrets.len(),
            diff.secrets_gone
        ));
        let rows: Vec<Vec<String>> = (diff.new_secrets.iter())
            .map(|s| vec!["new".to_owned(), crate::report::secrets::describe(s)])
            .collect();
        w.table(&["change", "secret"], &[false, false], &rows);
    }

    // A class that grew gets its fix.
    w.deltas("Waste", "class", &diff.waste, exact, |d| {
        WasteClass::ALL
            .into_iter()
            .find(|c| c.name() == d.name && d.delta > 0)
            .map(|c| c.fix().to_owned())
    });

    if !diff.paths.is_empty() {
        w.heading(&format!(
            "Largest path changes ({} of {})",
            diff.paths.len(),
            diff.path_changes
        ));
        let rows: Vec<Vec<String>> = diff
            .paths
            .iter()
            .map(|p| {
                vec![
                    format!("{:?}", p.status).to_lowercase(),
                    signed_bytes(p.delta, exact),
                    format!("L{}", p.layer),
                    p.path.clone(),
                ]
            })
            .collect();
        w.table(
            &["change", "bytes", "layer", "path"],
            &[false, true, false, false],
            &rows,
        );
    }
    w.out
}

//! The optimisation report a platform engineer would write by hand: the size story, then
//! each finding with its evidence and saving, largest saving first. Savings come from the
//! ledger (waste classes, whose bytes are disjoint), never from estimates.

use std::fmt::Write as _;

use super::finding::{Finding, total_saving};
use super::findings::findings;
use super::text::{clean_command, human_bytes, shown};
use crate::analysis::Analysis;

/// How to write the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// For a terminal.
    Text,
    /// For a pull request or `$GITHUB_STEP_SUMMARY`.
    Markdown,
}

/// The report as a JSON document (`report --format json`): the same findings as the text.
pub fn report_json(analysis: &Analysis) -> serde_json::Value {
    let findings = findings(analysis);
    serde_json::json!({
        "schema_version": super::json::JSON_SCHEMA_VERSION,
        "reference": analysis.image.reference,
        "shipped_bytes": analysis.image.final_bytes + analysis.image.hidden_bytes,
        "total_saving": total_saving(&findings),
        "findings": findings,
    })
}

/// The report as text or Markdown.
pub fn optimisation_report(analysis: &Analysis, format: ReportFormat, exact_bytes: bool) -> String {
    let size = |b: u64| human_bytes(b, exact_bytes);
    let facts = &analysis.image;
    let shipped = facts.final_bytes + facts.hidden_bytes;
    let percent = |part: u64, whole: u64| {
        if whole == 0 {
            0.0
        } else {
            part as f64 * 100.0 / whole as f64
        }
    };
    let md = format == ReportFormat::Markdown;
    let mut out = String::new();
    let reference = facts.reference.as_deref().unwrap_or("<untagged>");
    let platform = shown(facts.platform.as_deref().unwrap_or("unknown platform"), md);
    if md {
        let reference = super::text::markdown_code_cell(reference);
        let _ = writeln!(out, "# Image size report: {reference} ({platform})\n");
        let _ = writeln!(out, "## Where the bytes are\n");
    } else {
        let _ = writeln!(
            out,
            "Image size report: {} ({platform})\n\nWhere the bytes are",
            shown(reference, md)
        );
    }
    let bullet = if md { "- " } else { "  " };
    let _ = writeln!(
        out,
        "{bullet}{} visible in {} files, plus {} shipped in layers but hidden: {} in {} layers ({} compressed).",
        size(facts.final_bytes),
        facts.final_files,
        size(facts.hidden_bytes),
        size(shipped),
        facts.layer_count,
        size(facts.size_compressed)
    );
    let families: Vec<String> = analysis
        .attribution
        .families
        .iter()
        .map(|f| {
            format!(
                "{} {} ({:.1}%)",
                shown(&f.name, md),
                size(f.bytes),
                percent(f.bytes, facts.final_bytes)
            )
        })
        .collect();
    if !families.is_empty() {
        let _ = writeln!(out, "{bullet}By family: {}.", families.join(", "));
    }
    for line in super::gpu_code::report_lines(analysis, &size) {
        let _ = writeln!(out, "{bullet}{}.", shown(&line, md));
    }
    if let Some(line) = super::summary::base_line(analysis, &size) {
        let line = if md { line.replace('|', "\\|") } else { line };
        let _ = writeln!(out, "{bullet}Base image: {line}.");
    }
    let unowned: Vec<String> = analysis
        .attribution
        .unowned
        .iter()
        .filter(|u| u.bytes > 0)
        .take(5)
        .map(|u| format!("{} {}", shown(&u.dir, md), size(u.bytes)))
        .collect();
    if !unowned.is_empty() {
        let _ = writeln!(out, "{bullet}Owned by no package: {}.", unowned.join(", "));
    }
    if md {
        let _ = writeln!(
            out,
            "\n| layer | file bytes | hidden later | command |\n|---:|---:|---:|---|"
        );
    } else {
        let _ = writeln!(out, "{bullet}By layer:");
    }
    for layer in &analysis.layers {
        let command = clean_command(layer.created_by.as_deref().unwrap_or(""));
        if md {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                if layer.from_base {
                    format!("{} (base)", layer.index)
                } else {
                    layer.index.to_string()
                },
                size(layer.file_bytes),
                size(layer.hidden_bytes),
                super::text::markdown_code_cell(&command)
            );
        } else {
            // Cut before escaping, so that an escape is never cut in half.
            let short = shown(&command.chars().take(70).collect::<String>(), md);
            let short = if layer.from_base {
                format!("[base] {short}")
            } else {
                short
            };
            let _ = writeln!(
                out,
                "    #{:<2} {:>10}  {:>10} hidden  {short}",
                layer.index,
                size(layer.file_bytes),
                size(layer.hidden_bytes)
            );
        }
    }

    write_secrets(&mut out, analysis, md);

    let all = findings(analysis);
    let total = total_saving(&all);
    let heading = format!(
        "Findings, largest saving first: {} avoidable ({:.1}% of the {} shipped)",
        size(total),
        percent(total, shipped),
        size(shipped)
    );
    let _ = writeln!(out, "\n{}{heading}\n", if md { "## " } else { "" });
    let mut number = 0;
    for (when, group) in grouped(&all) {
        if let Some(when) = when {
            let _ = writeln!(out, "{}{when}\n", if md { "## " } else { "" });
        }
        for finding in group {
            number += 1;
            write_finding(&mut out, number, finding, md, &size);
        }
    }
    out
}

/// The secrets the image ships, before any saving: a credential costs more than bytes.
fn write_secrets(out: &mut String, analysis: &Analysis, md: bool) {
    let Some(headline) = super::secrets::headline(analysis) else {
        return;
    };
    let _ = writeln!(
        out,
        "\n{}Secrets: {}\n",
        if md { "## " } else { "" },
        shown(&headline, md)
    );
    let bullet = if md { "- " } else { "  " };
    let listed = super::secrets::ordered(analysis);
    for secret in listed.iter().take(super::secrets::LISTED) {
        let line = shown(&super::secrets::describe(secret), md);
        let _ = writeln!(out, "{bullet}{line}");
    }
    if listed.len() > super::secrets::LISTED {
        let more = listed.len() - super::secrets::LISTED;
        let _ = writeln!(out, "{bullet}… {more} more in --json");
    }
    for fix in super::secrets::fixes(analysis) {
        let _ = writeln!(out, "{bullet}Fix: {fix}.");
    }
}

/// The findings as the report tells them: those that hold however the image is used, then
/// the conditional ones under their condition ("If the image runs without a GPU"), in order.
pub(crate) fn grouped(all: &[Finding]) -> Vec<(Option<&str>, Vec<&Finding>)> {
    let mut groups: Vec<(Option<&str>, Vec<&Finding>)> =
        vec![(None, all.iter().filter(|f| !f.conditional).collect())];
    for finding in all.iter().filter(|f| f.conditional) {
        let when = finding
            .when
            .as_deref()
            .unwrap_or("Depending on where the image runs");
        match groups.last_mut() {
            Some((Some(last), list)) if *last == when => list.push(finding),
            _ => groups.push((Some(when), vec![finding])),
        }
    }
    groups
}

fn write_finding(
    out: &mut String,
    number: usize,
    finding: &Finding,
    md: bool,
    size: &dyn Fn(u64) -> String,
) {
    let title = capitalised(&finding.title);
    if md {
        let _ = writeln!(out, "{number}. **{title}**: save {}", size(finding.saving));
        for line in &finding.evidence {
            let _ = writeln!(out, "   - {}", shown(line, md));
        }
        let _ = writeln!(out, "   - Fix: {}\n", finding.fix);
    } else {
        let _ = writeln!(out, "{number:>2}. {title}: save {}", size(finding.saving));
        for line in &finding.evidence {
            let _ = writeln!(out, "      {}", shown(line, md));
        }
        let _ = writeln!(out, "      fix: {}\n", finding.fix);
    }
}

/// A title as a sentence starts: its first letter upper case.
pub(crate) fn capitalised(title: &str) -> String {
    let mut chars = title.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

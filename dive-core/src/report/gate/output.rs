//! The gate for people (text), pull requests (Markdown), tools (JSON) and CI servers (`JUnit`).

use std::fmt::Write as _;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::verdict::{Gate, Section, Status};
use crate::escape::escape;
use crate::report::{cut, markdown_cell, markdown_code_cell};

/// Version of the gate's JSON document.
pub const GATE_SCHEMA_VERSION: u32 = 1;

/// How to write a gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum GateFormat {
    /// Aligned columns for a terminal or a CI log.
    Text,
    /// A table for a pull request or `$GITHUB_STEP_SUMMARY`.
    Markdown,
    /// A JSON document (`schema_version` 1).
    Json,
    /// `JUnit` XML for GitLab, Jenkins and other CI servers: one test case per rule.
    Junit,
}

/// The gate in `format`; `exact` prints bytes as exact counts.
pub fn render(gate: &Gate, format: GateFormat, exact: bool) -> String {
    match format {
        GateFormat::Text => text(gate, exact),
        GateFormat::Markdown => markdown(gate, exact),
        GateFormat::Json => json(gate),
        GateFormat::Junit => junit(gate, exact),
    }
}

fn result_word(gate: &Gate) -> &'static str {
    if gate.passed() { "PASS" } else { "FAIL" }
}

fn counts(gate: &Gate) -> String {
    format!(
        "[Total:{}] [Passed:{}] [Failed:{}] [Warn:0] [Skipped:{}]",
        gate.results.len(),
        gate.count(Status::Pass),
        gate.count(Status::Fail),
        gate.count(Status::Skip)
    )
}

fn text(gate: &Gate, exact: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "dive-rs ci: {}", escape(&gate.image));
    let _ = writeln!(out, "rules: {}", escape(&gate.rules_origin));
    let rows: Vec<[String; 4]> = gate
        .results
        .iter()
        .map(|r| {
            [
                r.status.word().to_owned(),
                escape(&r.rule).into_owned(),
                escape(&r.measured.text(exact)).into_owned(),
                escape(&r.limit).into_owned(),
            ]
        })
        .collect();
    let width = |i: usize| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0);
    let (w1, w2) = (width(1), width(2).min(40));
    for (row, result) in rows.iter().zip(&gate.results) {
        let _ = writeln!(
            out,
            "  {}  {:<w1$}  {:>w2$}  {}",
            row[0],
            row[1],
            cut(&row[2], 40),
            row[3]
        );
        if result.status != Status::Pass {
            let _ = writeln!(out, "        {}", escape(&result.detail));
        }
    }
    for warning in &gate.warnings {
        let _ = writeln!(out, "warning: {}", escape(warning));
    }
    // dive's own result line, so scripts that grep it keep working.
    let _ = writeln!(out, "Result:{} {}", result_word(gate), counts(gate));
    out
}

fn markdown(gate: &Gate, exact: bool) -> String {
    let mut out = String::new();
    let mark = if gate.passed() { "✅" } else { "❌" };
    let _ = writeln!(
        out,
        "### {mark} dive-rs ci: {} — {}\n",
        markdown_cell(&gate.image),
        result_word(gate)
    );
    let _ = writeln!(
        out,
        "{} · rules from {}\n",
        markdown_cell(&counts(gate)),
        markdown_code_cell(&gate.rules_origin)
    );
    out.push_str("| Status | Rule | Measured | Limit | Detail |\n");
    out.push_str("|---|---|--:|---|---|\n");
    for r in &gate.results {
        let status = match r.status {
            Status::Pass => "✅ PASS",
            Status::Fail => "❌ FAIL",
            Status::Skip => "⏭️ SKIP",
        };
        let _ = writeln!(
            out,
            "| {status} | {} | {} | {} | {} |",
            markdown_code_cell(&r.rule),
            markdown_cell(&r.measured.text(exact)),
            markdown_cell(&r.limit),
            markdown_cell(&r.detail)
        );
    }
    if !gate.warnings.is_empty() {
        out.push_str("\n**Warnings** (figures near them may be incomplete):\n\n");
        for warning in &gate.warnings {
            let _ = writeln!(out, "- {}", markdown_cell(warning));
        }
    }
    out
}

fn json(gate: &Gate) -> String {
    let document = serde_json::json!({
        "schema_version": GATE_SCHEMA_VERSION,
        "image": gate.image,
        "rules_origin": gate.rules_origin,
        "result": result_word(gate),
        "total": gate.results.len(),
        "passed": gate.count(Status::Pass),
        "failed": gate.count(Status::Fail),
        "skipped": gate.count(Status::Skip),
        "rules": gate.results,
        "warnings": gate.warnings,
    });
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
    text.push('\n');
    text
}

fn junit(gate: &Gate, exact: bool) -> String {
    // XML 1.0 cannot even hold most control characters: names are escaped as for a terminal.
    let mut suite = TestSuite::new(format!("dive-rs ci: {}", escape(&gate.image)));
    for r in &gate.results {
        let mut status = match r.status {
            Status::Pass => TestCaseStatus::success(),
            Status::Fail => TestCaseStatus::non_success(NonSuccessKind::Failure),
            Status::Skip => TestCaseStatus::skipped(),
        };
        let message = escape(&format!(
            "{} measured {}, limit {}",
            r.rule,
            r.measured.text(exact),
            r.limit
        ))
        .into_owned();
        let detail = escape(&r.detail).into_owned();
        if r.status != Status::Pass {
            status.set_message(message.clone());
            status.set_description(detail.clone());
        }
        if r.status == Status::Fail {
            status.set_type("size-rule");
        }
        let mut case = TestCase::new(escape(&r.rule).into_owned(), status);
        case.set_classname(match r.section {
            Section::Dive => "dive-rs.ci.dive",
            Section::DiveRs => "dive-rs.ci.dive-rs",
        });
        case.set_system_out(format!("{message}\n{detail}"));
        suite.add_test_case(case);
    }
    if !gate.warnings.is_empty() {
        let warnings: Vec<_> = gate.warnings.iter().map(|w| escape(w)).collect();
        suite.set_system_err(warnings.join("\n"));
    }
    let mut report = Report::new("dive-rs");
    report.add_test_suite(suite);
    report.to_string().unwrap_or_default()
}

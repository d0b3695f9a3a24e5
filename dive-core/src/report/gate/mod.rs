//! The CI gate: rules evaluated on an analysis, each with its measured value, limit and status.
//!
//! dive's three `.dive-ci` rules keep dive's names, defaults and comparisons but measure our
//! figures: efficiency is visible ÷ shipped file bytes, "wasted" is the hidden bytes (content
//! shipped in a layer and not visible at the end), and "user wasted" divides them by the
//! bytes above the base layer. dive's own figures are shown beside them (`detail`).

mod exit;
mod output;
mod own;
mod rules;
mod verdict;

pub use exit::{EXIT_GATE_FAILED, EXIT_UNREADABLE};
pub use output::{GateFormat, render};
unstable_use!(output::GATE_SCHEMA_VERSION);
pub use rules::{DiveOverrides, Rules};
pub use verdict::{Gate, Measured, RuleResult, Section, Status};

use crate::analysis::Analysis;
use crate::report::human_bytes;
use own::own_result;

/// Evaluates `rules` on `analysis`.
pub fn evaluate(analysis: &Analysis, rules: &Rules) -> Gate {
    let mut results = dive_results(analysis, rules);
    results.extend(
        rules
            .ours
            .iter()
            .map(|rule| own_result(analysis, rules, rule)),
    );
    Gate {
        image: analysis
            .image
            .reference
            .clone()
            .unwrap_or_else(|| analysis.input.clone()),
        rules_origin: rules.origin.clone(),
        results,
        warnings: analysis.warnings.iter().map(ToString::to_string).collect(),
    }
}

fn dive_results(analysis: &Analysis, rules: &Rules) -> Vec<RuleResult> {
    let image = &analysis.image;
    let dive = &image.dive;
    let base = analysis.layers.first().map_or(0, |l| l.file_bytes);
    let user_bytes = image.total_file_bytes.saturating_sub(base);
    let user_wasted = if user_bytes == 0 {
        0.0
    } else {
        image.hidden_bytes as f64 / user_bytes as f64
    };
    let status = |limit: Option<bool>| match limit {
        None => Status::Skip,
        Some(true) => Status::Pass,
        Some(false) => Status::Fail,
    };
    let shown = |limit: Option<String>| limit.unwrap_or_else(|| "disabled".to_owned());
    vec![
        RuleResult {
            rule: "lowestEfficiency".to_owned(),
            section: Section::Dive,
            status: status(rules.lowest_efficiency.map(|l| image.efficiency >= l)),
            measured: Measured::Ratio(image.efficiency),
            limit: shown(rules.lowest_efficiency.map(|l| format!(">= {l}"))),
            detail: format!(
                "{} visible of {} shipped in layers (dive's own score: {:.4})",
                human_bytes(image.final_bytes, false),
                human_bytes(image.total_file_bytes, false),
                dive.efficiency
            ),
        },
        RuleResult {
            rule: "highestWastedBytes".to_owned(),
            section: Section::Dive,
            status: status(rules.highest_wasted_bytes.map(|l| image.hidden_bytes <= l)),
            measured: Measured::Bytes(image.hidden_bytes),
            limit: shown(
                rules
                    .highest_wasted_bytes
                    .map(|l| format!("<= {}", human_bytes(l, false))),
            ),
            detail: format!(
                "bytes shipped but hidden by a later layer (dive counts {}: every copy of a \
                 path seen twice, survivor included, deletions of directories missed)",
                human_bytes(dive.wasted_bytes, false)
            ),
        },
        RuleResult {
            rule: "highestUserWastedPercent".to_owned(),
            section: Section::Dive,
            status: status(rules.highest_user_wasted.map(|l| user_wasted <= l)),
            measured: Measured::Ratio(user_wasted),
            limit: shown(rules.highest_user_wasted.map(|l| format!("<= {l}"))),
            detail: format!(
                "hidden bytes ÷ {} added above the base layer (dive's own: {:.4})",
                human_bytes(user_bytes, false),
                dive.user_wasted_fraction
            ),
        },
    ]
}

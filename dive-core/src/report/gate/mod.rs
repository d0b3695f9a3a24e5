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

use serde::Serialize;

pub use exit::{EXIT_GATE_FAILED, EXIT_UNREADABLE};
pub use output::{GATE_SCHEMA_VERSION, GateFormat, render};
pub use rules::{DiveOverrides, Rules, parse_size};

use crate::analysis::Analysis;
use crate::report::human_bytes;
use own::own_result;

/// Which section of the rules file a rule comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Section {
    /// dive's `rules:`.
    Dive,
    /// Our `dive-rs:`.
    DiveRs,
}

/// The outcome of one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    /// Within its limit.
    Pass,
    /// Over its limit.
    Fail,
    /// Disabled.
    Skip,
}

impl Status {
    /// `PASS`, `FAIL`, `SKIP`.
    pub fn word(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
        }
    }
}

/// What a rule measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Measured {
    /// Bytes.
    Bytes(u64),
    /// A count (layers).
    Count(u64),
    /// A ratio between 0 and 1.
    Ratio(f64),
    /// Names found (forbidden packages).
    Names(Vec<String>),
}

impl Measured {
    /// For people: `1.2 GB`, `12`, `0.794`, `gcc-12, cpp-12`.
    pub fn text(&self, exact: bool) -> String {
        match self {
            Measured::Bytes(b) => human_bytes(*b, exact),
            Measured::Count(n) => n.to_string(),
            Measured::Ratio(x) => format!("{x:.4}"),
            Measured::Names(names) if names.is_empty() => "none".to_owned(),
            Measured::Names(names) => names.join(", "),
        }
    }
}

/// One rule's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleResult {
    /// The rule's name as written in the file (`lowestEfficiency`, `packages.torch`).
    pub rule: String,
    /// dive's section or ours.
    pub section: Section,
    /// PASS, FAIL or SKIP.
    pub status: Status,
    /// The value measured on the image.
    pub measured: Measured,
    /// The limit, for people (`>= 0.9`, `<= 2.0 GB`, `none installed`, `disabled`).
    pub limit: String,
    /// What was measured and where it comes from (layers, packages, dive's own figure).
    pub detail: String,
}

/// All rules evaluated on one image.
#[derive(Debug, Clone, Serialize)]
pub struct Gate {
    /// The image's reference, else the input's name.
    pub image: String,
    /// Where the rules came from.
    pub rules_origin: String,
    /// Results in the order of the rules file (dive's three first).
    pub results: Vec<RuleResult>,
    /// The analysis's warnings: figures near them may be incomplete.
    pub warnings: Vec<String>,
}

impl Gate {
    /// Whether no rule failed.
    pub fn passed(&self) -> bool {
        !self.results.iter().any(|r| r.status == Status::Fail)
    }

    /// The exit status `dive-rs ci` gives: 0 when no rule failed, else [`EXIT_GATE_FAILED`].
    pub fn exit_code(&self) -> u8 {
        if self.passed() { 0 } else { EXIT_GATE_FAILED }
    }

    /// Results with this status.
    pub fn count(&self, status: Status) -> usize {
        self.results.iter().filter(|r| r.status == status).count()
    }
}

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

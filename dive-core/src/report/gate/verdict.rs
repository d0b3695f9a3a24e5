//! What the gate decided: each rule's result and the image's verdict.

use serde::Serialize;

use super::exit::EXIT_GATE_FAILED;
use crate::report::human_bytes;

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

//! One finding: what is wrong, its evidence, its fix and what it saves.

use serde::Serialize;

use crate::attribution::WasteClass;

/// One change that would shrink the image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What is wrong, in one line.
    pub title: String,
    /// The waste class it comes from; `None` for conditional findings.
    pub class: Option<WasteClass>,
    /// Bytes the fix removes from what the image ships.
    pub saving: u64,
    /// True when the saving depends on how the image is used (not in the total).
    pub conditional: bool,
    /// For a conditional finding, the condition as a heading: "If the image runs without a
    /// GPU".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// Facts that show it: paths, packages, layers and their commands.
    pub evidence: Vec<String>,
    /// The change to make.
    pub fix: String,
}

/// What the findings that hold however the image is used would save together (their waste
/// classes are disjoint, so their savings add up).
pub fn total_saving(findings: &[Finding]) -> u64 {
    findings
        .iter()
        .filter(|f| !f.conditional)
        .map(|f| f.saving)
        .sum()
}

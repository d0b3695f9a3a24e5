//! A secret as the outputs show it: its rule, where it was found, and its value redacted.

use serde::Serialize;

use super::rules::Confidence;

/// Where a secret was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SecretSource {
    /// The config's history: a build argument, an `ENV` or `ARG` step, or a command.
    History,
}

/// One secret the image ships, redacted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Secret {
    /// The rule that found it.
    pub rule: &'static str,
    /// What the rule finds.
    pub reason: &'static str,
    /// Where it was found.
    pub source: SecretSource,
    /// The build argument or variable that holds it, when one does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The history entry (0-based, empty-layer entries included) that records it.
    pub history_entry: usize,
    /// The layer that entry wrote, if it wrote one (`ENV` and `ARG` steps write none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<usize>,
    /// Whether every pull of the image still gets it (the config always ships).
    pub visible: bool,
    /// How sure the rule is.
    pub confidence: Confidence,
    /// The value as every output shows it: prefix, length and fingerprint only.
    pub redacted: String,
    /// The change to make.
    pub fix: &'static str,
}

/// The fix for a secret in a build argument or the history.
pub(super) const BUILD_SECRET_FIX: &str = "pass it as a build secret (`RUN --mount=type=secret,id=…` and \
     `docker build --secret id=…`) instead of an ARG or ENV; rotate it: every copy of this \
     image already holds it";

//! Secrets an image still ships, found where the analysis reads anyway, and never printed:
//! each value is replaced by a redacted form (its rule's public prefix, its length and a
//! short SHA-256 fingerprint, so two reports can be matched without the value) before any
//! output, saved scan or cache sees it.
//!
//! This first part reads the config's history, where BuildKit and buildah record build
//! arguments (`|1 HF_TOKEN=hf_… /bin/sh -c …`) and where `ENV` and `ARG` steps keep their
//! values: every `created_by` is redacted as the plan is read, and each value found is a
//! [`Secret`]. The rooms: `rules` (what a secret looks like), `history` (reading and
//! redacting a history line).
//!
//! Budget: each history line (within `--max-metadata`, as the config) is read once by the
//! rules' regex set, in time linear in its length; a finding per secret value.

mod history;
mod rules;

use serde::Serialize;

pub(crate) use history::redact_history;
pub use rules::Confidence;

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
const BUILD_SECRET_FIX: &str = "pass it as a build secret (`RUN --mount=type=secret,id=…` and \
     `docker build --secret id=…`) instead of an ARG or ENV; rotate it: every copy of this \
     image already holds it";

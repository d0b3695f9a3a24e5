//! A secret as the outputs show it: its rule, where it was found, and its value redacted.

use serde::{Deserialize, Serialize};

use super::rules::Confidence;

/// Where a secret was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SecretSource {
    /// The config's history: a build argument, an `ENV` or `ARG` step, or a command.
    History,
    /// A file in a layer, visible at the end or hidden by a later layer.
    File,
    /// The config's `Env`, which every container of the image starts with.
    Env,
    /// A label of the config.
    Label,
    /// An annotation of the manifest or the index.
    Annotation,
    /// A build argument BuildKit's provenance attestation records (`mode=max`).
    Provenance,
}

impl SecretSource {
    /// The source in words, as the JSON names it.
    pub fn name(self) -> &'static str {
        match self {
            Self::History => "history",
            Self::File => "file",
            Self::Env => "env",
            Self::Label => "label",
            Self::Annotation => "annotation",
            Self::Provenance => "provenance",
        }
    }
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
    /// The build argument, variable, label or annotation that holds it, when one does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The file that holds it (a path in the image).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Its line in that file, from 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// The history entry (0-based, empty-layer entries included) that records it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history_entry: Option<usize>,
    /// The layer that ships it: the layer a history entry wrote, or the file's layer
    /// (`ENV` and `ARG` steps and the config's fields write none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<usize>,
    /// Whether the final file system shows it (the config and history always ship).
    pub visible: bool,
    /// For a hidden file: the layer that deleted or replaced it (the layer in `layer`
    /// ships it all the same).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden_by_layer: Option<usize>,
    /// How sure the rule is.
    pub confidence: Confidence,
    /// Test data, documentation, an example file or a placeholder value (confidence low).
    pub example: bool,
    /// The value as every output shows it: prefix, length and fingerprint only.
    pub redacted: String,
    /// The change to make.
    pub fix: &'static str,
}

/// The fix for a secret in a file.
pub(crate) const FILE_SECRET_FIX: &str = "never COPY a credential into the build context: mount it for \
     the one step that needs it (`RUN --mount=type=secret,id=…`, `--mount=type=ssh`); \
     deleting it in a later step leaves it in the layer that added it; rotate it: every copy \
     of this image already holds it";

/// The fix for a secret in the config's `Env`, labels or annotations.
pub(crate) const CONFIG_SECRET_FIX: &str = "set it when the container starts (a secret store, \
     `docker run --env-file`, a Kubernetes Secret), not in ENV or LABEL; rotate it: every \
     copy of this image already holds it";

/// The fix for a secret in a build argument or the history.
pub(super) const BUILD_SECRET_FIX: &str = "pass it as a build secret (`RUN --mount=type=secret,id=…` and \
     `docker build --secret id=…`) instead of an ARG or ENV; rotate it: every copy of this \
     image already holds it";

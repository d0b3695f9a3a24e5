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

/// A secret of the config, the history or the attestation as a saved scan keeps it (file
/// secrets travel with their layer's walk).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SavedSecret {
    rule: String,
    source: SecretSource,
    name: Option<String>,
    history_entry: Option<u64>,
    layer: Option<u64>,
    example: bool,
    redacted: String,
}

impl Secret {
    /// What a saved scan keeps of it.
    pub(crate) fn saved(&self) -> SavedSecret {
        SavedSecret {
            rule: self.rule.to_owned(),
            source: self.source,
            name: self.name.clone(),
            history_entry: self.history_entry.map(|e| e as u64),
            layer: self.layer.map(|l| l as u64),
            example: self.example,
            redacted: self.redacted.clone(),
        }
    }
}

impl SavedSecret {
    /// The secret again, for an image of `layers` layers; `None` for a rule this build does
    /// not know or a layer past the image's.
    pub(crate) fn restore(self, layers: usize) -> Option<Secret> {
        let (rule, reason, confidence) = super::files::rule(&self.rule)?;
        let layer = match self.layer {
            Some(l) => Some(usize::try_from(l).ok().filter(|&l| l < layers)?),
            None => None,
        };
        Some(Secret {
            rule,
            reason,
            source: self.source,
            name: self.name,
            path: None,
            line: None,
            history_entry: self.history_entry.and_then(|e| usize::try_from(e).ok()),
            layer,
            visible: true,
            hidden_by_layer: None,
            confidence: if self.example {
                Confidence::Low
            } else {
                confidence
            },
            example: self.example,
            redacted: self.redacted,
            fix: match self.source {
                SecretSource::History | SecretSource::Provenance => BUILD_SECRET_FIX,
                SecretSource::File => FILE_SECRET_FIX,
                _ => CONFIG_SECRET_FIX,
            },
        })
    }
}

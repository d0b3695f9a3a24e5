//! A secret as a saved scan keeps it: the config's, the history's and the attestation's
//! (file secrets travel with their layer's walk), and the secret again from it.

use serde::{Deserialize, Serialize};

use super::files::rule;
use super::finding::{BUILD_SECRET_FIX, CONFIG_SECRET_FIX, FILE_SECRET_FIX, Secret, SecretSource};
use super::rules::Confidence;

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
        let (rule, reason, confidence) = rule(&self.rule)?;
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

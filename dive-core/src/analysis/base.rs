//! The image an image is built on: which of its layers are the base image's, and how many
//! bytes are the base's and how many are the image's own.

use serde::Serialize;

use super::Analysis;
use crate::error::{Location, Warning};

/// How the base image became known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BaseSource {
    /// The image manifest's `org.opencontainers.image.base.*` annotations (BuildKit).
    Annotation,
    /// Read from the image given with `--base` ([`Analysis::set_base`]).
    Given,
}

/// The base image, as far as it is known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct BaseImage {
    /// Its name: the annotation's, or the input given.
    pub name: Option<String>,
    /// Its manifest digest, when known.
    pub digest: Option<String>,
    /// Layers of this image that are the base's, from the bottom; `None` when only the
    /// annotation was read (its layers are not in this input).
    pub layers: Option<usize>,
    /// Where this came from.
    pub source: BaseSource,
}

/// A base image's layers as its config lists them, read with
/// [`Analyzer::base_layers`](crate::Analyzer::base_layers) (manifest and config only).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BaseLayers {
    /// The input as named.
    pub name: String,
    /// Its manifest digest, when the input has one.
    pub digest: Option<String>,
    /// Its layers' `diff_id`s, bottom first.
    pub diff_ids: Vec<String>,
}

impl Analysis {
    /// Marks the layers this image shares with `base`: the common prefix of the two
    /// configs' `diff_id`s, from the bottom (a rebuilt base shares none). Returns how many.
    pub fn set_base(&mut self, base: &BaseLayers) -> usize {
        let shared = self
            .layers
            .iter()
            .zip(&base.diff_ids)
            .take_while(|(layer, diff_id)| layer.diff_id.as_deref() == Some(diff_id.as_str()))
            .count();
        self.restore_base(Some(base.name.clone()), base.digest.clone(), shared);
        if shared == 0 {
            self.warnings.push(Warning::new(
                Location::input(&base.name),
                "the base image shares no layer with this image (by diff_id, from the \
                 bottom): it was rebuilt since, or is not this image's base",
            ));
        }
        shared
    }

    /// Marks the bottom `layers` layers as the given base image's (as a saved scan
    /// remembers them).
    pub(crate) fn restore_base(
        &mut self,
        name: Option<String>,
        digest: Option<String>,
        layers: usize,
    ) {
        for layer in &mut self.layers {
            layer.from_base = layer.index < layers;
        }
        self.image.base = Some(BaseImage {
            name,
            digest,
            layers: Some(layers),
            source: BaseSource::Given,
        });
        self.split_base_bytes();
    }

    /// `base_bytes` and `own_bytes` from the layers marked `from_base`.
    pub(crate) fn split_base_bytes(&mut self) {
        let base: u64 = self
            .layers
            .iter()
            .filter(|l| l.from_base)
            .fold(0, |sum, l| sum.saturating_add(l.file_bytes));
        self.image.base_bytes = base;
        self.image.own_bytes = self.image.total_file_bytes.saturating_sub(base);
    }

    /// How many bottom layers are the base image's (0 when unknown).
    pub fn base_layer_count(&self) -> usize {
        self.layers.iter().take_while(|l| l.from_base).count()
    }
}

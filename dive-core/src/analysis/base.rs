//! The image an image is built on: which of its layers are the base image's, and how many
//! bytes are the base's and how many are the image's own.

use serde::Serialize;

/// How the base image became known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BaseSource {
    /// The image manifest's `org.opencontainers.image.base.*` annotations (BuildKit).
    Annotation,
    /// Read from the image given with `--base` ([`Analysis::set_base`](crate::Analysis::set_base)).
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

//! What an analysis keeps of an image before the merge: its names and its layers' names,
//! from the manifest and config or from a saved scan. The engine turns a record and the
//! walked layers into an [`Analysis`](crate::Analysis).

use crate::error::Warning;
use crate::source::{BaseAnnotation, Layout};

/// What the analysis keeps of an image's metadata: identity, layer names, source warnings.
#[derive(Debug, Clone)]
pub(crate) struct ImageRecord {
    pub input: String,
    pub reference: Option<String>,
    pub platform: Option<String>,
    pub layout: Layout,
    pub manifest_digest: Option<String>,
    pub config_digest: String,
    pub layers: Vec<LayerRecord>,
    pub base: BaseAnnotation,
    pub provenance: Option<crate::source::Provenance>,
    /// Secrets the metadata records, redacted.
    pub secrets: Vec<crate::secrets::Secret>,
    pub warnings: Vec<Warning>,
}

/// One manifest layer's names.
#[derive(Debug, Clone)]
pub(crate) struct LayerRecord {
    pub digest: Option<String>,
    pub diff_id: Option<String>,
    pub media_type: Option<String>,
    pub created_by: Option<String>,
    pub blob: String,
}

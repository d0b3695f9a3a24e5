//! Secrets an image still ships, found where the analysis reads anyway, and never printed:
//! each value is replaced by a redacted form (its rule's public prefix, its length and a
//! short SHA-256 fingerprint, so two reports can be matched without the value) before any
//! output, saved scan or cache sees it.
//!
//! This first part reads the config's history, where BuildKit and buildah record build
//! arguments (`|1 HF_TOKEN=hf_… /bin/sh -c …`) and where `ENV` and `ARG` steps keep their
//! values: every `created_by` is redacted as the plan is read, and each value found is a
//! [`Secret`]. The rooms: `rules` (what a secret looks like), `finding` (a secret as the
//! outputs show it), `history` (reading and redacting a history line).
//!
//! Budget: each history line (within `--max-metadata`, as the config) is read by each rule's
//! regex (the `regex` crate never backtracks), its matches sorted once and merged in one
//! pass; at most 64 secrets are listed per line, every value redacted.

mod config;
mod files;
mod finding;
mod history;
mod rules;

pub use files::FileSecret;
pub(crate) use files::{
    Candidate, LISTED_PER_IMAGE as FILE_SECRETS_LISTED, PREFIX_BYTES, findings as file_findings,
    scan as scan_file, wanted as file_wanted,
};

pub(crate) use config::{env_pairs, named_values};
pub(crate) use finding::SavedSecret;
pub use finding::{Secret, SecretSource};
pub(crate) use history::redact_history;
pub use rules::Confidence;

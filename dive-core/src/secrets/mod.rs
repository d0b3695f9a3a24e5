//! Secrets an image still ships, found where the analysis reads anyway, and never printed:
//! each value is replaced by a redacted form (its rule's public prefix, its length and a
//! short SHA-256 fingerprint, so two reports can be matched without the value) before any
//! output, saved scan or cache sees it.
//!
//! Where they are looked for: the config's history, where BuildKit and buildah record build
//! arguments (`|1 HF_TOKEN=hf_… /bin/sh -c …`) and `ENV`/`ARG` steps keep values (every
//! `created_by` is redacted as the plan is read); the config's `Env` and labels, the
//! annotations and the provenance's build arguments; and every layer's files, visible or
//! hidden, whose heads the walk reads (a key deleted by a later step is still in the layer
//! that added it). The rooms: `rules` (what a value looks like), `files` (which files are
//! read, and what a head holds), `history` (reading and redacting a history line),
//! `config` (named values of the config and the attestation), `shipped` (the files' secrets
//! of an image, visible or hidden), `finding` (a secret as the outputs show it), `saved` (a
//! secret as a saved scan keeps it).
//!
//! Budget: each text (a history line, a value, a file's head of at most 64 KiB) is read by
//! one vectorised pass for the rules' anchors, then by each rule's regex (the `regex`
//! crate never backtracks); matches are sorted once and merged in one pass; what is kept
//! is capped per line, file, layer, source and image (docs/limits.md).

mod config;
mod files;
mod finding;
mod history;
mod rules;
mod saved;
mod shipped;

pub use files::FileSecret;
pub(crate) use files::{Candidate, PREFIX_BYTES, scan as scan_file, wanted as file_wanted};
pub(crate) use shipped::{LISTED_PER_IMAGE as FILE_SECRETS_LISTED, findings as file_findings};

pub(crate) use config::{env_pairs, named_values};
pub use finding::{Secret, SecretSource};
pub(crate) use history::redact_history;
pub use rules::Confidence;
pub(crate) use saved::SavedSecret;

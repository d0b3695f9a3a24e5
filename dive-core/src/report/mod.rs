//! Pure functions from an [`Analysis`](crate::Analysis) to what people read.

mod json;
mod optimize;
mod summary;

pub use json::{JSON_SCHEMA_VERSION, to_json};
pub use optimize::{Finding, ReportFormat, findings, optimisation_report};
pub use summary::{SummaryOptions, summary};

/// Bytes for people (`1.2 GB`, SI as `docker images` shows them), or exact with `exact`.
pub fn human_bytes(bytes: u64, exact: bool) -> String {
    if exact {
        bytes.to_string()
    } else {
        bytesize::ByteSize(bytes).display().si().to_string()
    }
}

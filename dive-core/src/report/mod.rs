//! Pure functions from an [`Analysis`](crate::Analysis) to what people read.

pub mod diff;
mod finding;
mod findings;
pub mod gate;
mod gpu_code;
mod sbom;
unstable_mod!(html);
mod json;
mod optimisation;
mod secrets;
mod summary;
mod text;

pub use finding::Finding;
pub use findings::findings;
pub use html::report_html;
pub use json::to_json;
pub use optimisation::{ReportFormat, optimisation_report, report_json};
pub use summary::{SummaryOptions, summary};
pub use text::human_bytes;
unstable_use!(finding::total_saving);
unstable_use!(json::JSON_SCHEMA_VERSION);
// The gate's files name these through the folder.
pub(crate) use text::{cut, markdown_cell, markdown_code_cell};

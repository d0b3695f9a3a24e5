//! Pure functions from an [`Analysis`](crate::Analysis) to what people read.

pub mod diff;
mod finding;
mod findings;
pub mod gate;
mod gpu_code;
pub mod html;
mod json;
mod optimisation;
mod summary;
mod text;

pub use finding::{Finding, total_saving};
pub use findings::findings;
pub use json::{JSON_SCHEMA_VERSION, to_json};
pub use optimisation::{ReportFormat, optimisation_report, report_json};
pub use summary::{SummaryOptions, summary};
pub use text::{clean_command, human_bytes};
// The gate's files name these through the folder.
pub(crate) use text::{cut, markdown_cell, markdown_code_cell};

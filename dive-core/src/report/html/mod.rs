//! The report as one self-contained HTML file: the size story, a treemap of every shipped
//! byte, the layers as bars, the findings and the hidden items. No network: the stylesheet
//! and the script are inline, allowed by their SHA-256 hashes in a Content-Security-Policy
//! that forbids everything else. Every name from the image passes through [`escape`](crate::escape::escape) and
//! is then written as HTML text; the script's data is JSON with `<`, `>` and `&` escaped, and
//! the script writes names only as text.

mod image_report;
mod page;
mod treemap;
mod treemap_build;
mod treemap_svg;

pub use image_report::report_html;
pub(crate) use page::{page, text};
pub(crate) use treemap::WIDTH;
pub use treemap::Treemap;
unstable_use!(treemap::{ITEM_BUDGET, Item, Kind});
unstable_use!(treemap_svg::{Rect, squarify});

use crate::analysis::Analysis;

/// The treemap the page draws: the largest [`ITEM_BUDGET`] items of family → package →
/// directory → file, hidden content beside its owner's files, the rest folded.
#[cfg_attr(not(feature = "unstable"), allow(dead_code))] // For the tests.
pub fn treemap_of(analysis: &Analysis) -> Treemap {
    treemap_build::build(analysis)
}

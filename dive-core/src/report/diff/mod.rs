//! What changed between two images: layers, totals, families, packages, waste, paths.
//!
//! Layers are matched by the digest of their uncompressed tar (`diff_id`), so the same layer
//! matches across forms (a `docker save` against a gzip OCI layout); without one, by blob digest.

mod compare;
mod html_page;
mod render;

pub use compare::{
    DIFF_SCHEMA_VERSION, Delta, ImageDiff, LayerChange, PackageChange, PackageStatus, PathChange,
    PathStatus, Presence, Side, Total, diff,
};
pub use render::{DiffFormat, render};

//! What changed between two images: layers, totals, families, packages, waste, paths.
//!
//! Layers are matched by the digest of their uncompressed tar (`diff_id`), so the same layer
//! matches across forms (a `docker save` against a gzip OCI layout); without one, by blob digest.

mod compare;
mod html_page;
mod render;

unstable_use!(compare::DIFF_SCHEMA_VERSION);
pub use compare::{ImageDiff, diff};
// The records an `ImageDiff` is made of: the renderer's representation, for the tests.
unstable_use!(compare::{
    Delta, LayerChange, PackageChange, PackageStatus, PathChange, PathStatus, Presence, Side,
    Total,
});
pub use render::{DiffFormat, render};

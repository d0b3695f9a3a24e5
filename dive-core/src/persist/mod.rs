//! What reading an image produced, kept on disk: saved scans (`--save`, opened later without
//! the image) and the layer cache (`--cache`). Saving and loading live side by side, below the
//! engine: loading hands records and layer indexes back, and the engine merges them.

pub(crate) mod cache;
mod framed;
mod index;
pub mod scan;

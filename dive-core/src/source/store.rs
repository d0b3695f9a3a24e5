//! What the resolver and analyzer need from any input: small metadata files and layer blobs.

use std::sync::Arc;

use super::blob::Blob;
use crate::error::{Error, Location, Result, Warning};
use crate::layer::LayerIndex;

/// Longest member name (GNU long name, PAX record) of an outer archive: its members are a
/// manifest and blobs named by digest, so a long name is never legitimate.
pub(crate) const OUTER_NAME_CAP: u64 = 64 * 1024;

/// A layer as the store has it: bytes to walk, or already walked while streaming.
#[derive(Debug, Clone)]
pub(crate) enum LayerInput {
    /// The blob's bytes, walked later (in parallel).
    Bytes(Blob),
    /// A streamed blob, walked as it went by.
    Walked(Arc<LayerIndex>),
    /// A blob fetched when its walk starts (from a registry).
    #[cfg_attr(not(feature = "registry"), allow(dead_code))]
    Fetch(Arc<dyn Fetch>),
}

/// A layer blob that arrives as a stream when asked for.
pub(crate) trait Fetch: Send + Sync + std::fmt::Debug {
    /// Length as stored, from the manifest.
    fn size(&self) -> u64;
    /// `sha256:…`, the manifest's layer digest.
    fn digest(&self) -> &str;
    /// Starts the transfer.
    fn open(&self) -> Fetched;
}

/// A transfer under way: the bytes, then whether all of them came and matched their digest.
pub(crate) struct Fetched {
    /// The blob's bytes; ends early when the transfer fails.
    pub reader: Box<dyn std::io::Read + Send>,
    /// Waits for the transfer's end; an error when the blob was cut, too long or not the
    /// one its digest names.
    pub finish: Box<dyn FnOnce() -> Result<()> + Send>,
}

/// One opened input: an archive file, a directory, or a scanned stream.
pub(crate) trait Store: Send + Sync {
    /// Reads a small file (JSON) by its normalised path; `None` when absent.
    fn read_meta(&self, path: &str) -> Result<Option<Vec<u8>>>;
    /// A layer blob by its normalised path; `None` when absent.
    fn layer(&self, path: &str) -> Result<Option<LayerInput>>;
    /// Problems met while opening (a damaged outer archive, skipped entries).
    fn warnings(&self) -> &[Warning];
    /// Whether the image comes from a registry rather than a local input.
    fn remote(&self) -> bool {
        false
    }
}

/// The error for an image metadata file (of `size` bytes, when known) larger than
/// `--max-metadata` allows.
pub(crate) fn metadata_over_cap(input: &str, path: &str, size: Option<u64>, cap: u64) -> Error {
    let size = size.map(|s| format!(" of {s} bytes")).unwrap_or_default();
    Error::format(
        Location::input(input).entry(path.as_bytes()),
        format!("metadata file{size} is over the {cap}-byte cap (--max-metadata)"),
    )
}

/// An error when `len` bytes of a metadata file are more than `--max-metadata` allows.
pub(crate) fn check_metadata_cap(input: &str, path: &str, len: usize, cap: u64) -> Result<()> {
    if len as u64 > cap {
        return Err(metadata_over_cap(input, path, Some(len as u64), cap));
    }
    Ok(())
}

/// Normalises a path found in a manifest; `None` when it climbs out of the input.
pub(crate) fn inner_path(raw: &str) -> Option<String> {
    crate::path::normalize(raw.as_bytes()).map(|p| String::from_utf8_lossy(&p).into_owned())
}

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
    /// Starts a transfer of the bytes from `offset` on (`len` of them, or to the end), for
    /// reading one file: it stops at the part's end or when the reader is dropped, so the
    /// digest is never checked.
    fn open_part(&self, offset: u64, len: Option<u64>) -> Result<Part>;
}

/// Part of a blob under way, and how it came.
pub(crate) struct Part {
    /// The bytes asked for; an error when the transfer fails.
    pub reader: Box<dyn std::io::Read + Send>,
    /// How the registry answered.
    pub note: PartNote,
}

/// How the bytes of a part came, said to whoever reads them: none is checked against the
/// blob's digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PartNote {
    /// By an HTTP range request, answered with `206 Partial Content`.
    Range,
    /// The registry ignored the range request and sent the whole blob (`200`), read up to
    /// the part.
    RangeIgnored,
    /// From the blob's start (a compressed layer), up to the part.
    FromStart,
}

impl std::fmt::Display for PartNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PartNote::Range => {
                "read from the registry by an HTTP range request (206); a part of a blob \
                 cannot be checked against the layer's digest"
            }
            PartNote::RangeIgnored => {
                "the registry ignored the range request and sent the whole blob (200); read \
                 up to the file, not checked against the layer's digest"
            }
            PartNote::FromStart => {
                "read from the start of the registry's blob up to the file, not checked \
                 against the layer's digest (the blob is not read to its end)"
            }
        })
    }
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

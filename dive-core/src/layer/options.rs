//! What a walk keeps besides metadata, and the caps it keeps to.

/// What a walk keeps besides metadata: the contents of the small files `capture` selects.
#[derive(Debug, Clone, Copy)]
pub struct WalkOptions {
    /// Whether to keep the content of the regular file at this normalised path.
    pub capture: fn(&[u8]) -> bool,
    /// Largest content kept; larger files are walked as usual and not kept.
    pub capture_limit: u64,
    /// Longest entry path, link target or extension header (GNU long name, PAX records)
    /// read; entries with longer ones are skipped with a warning.
    pub path_limit: u64,
    /// Most entries kept; the walk stops after one more, so that the caller can tell.
    pub entry_limit: u64,
    /// Compute the SHA-256 of the blob and of the uncompressed tar on the way
    /// ([`LayerIndex::digests`](super::LayerIndex::digests)). Plain tars walked by seeking are not read, so
    /// [`walk_seekable`](super::walk_seekable) leaves
    /// this to its caller.
    pub verify: bool,
    /// Read every ELF file of a plain layer whole for CUDA fat binaries kept outside the
    /// fat binary sections (`--cuda-deep`); streamed files are read whole anyway.
    pub cuda_deep: bool,
}

impl Default for WalkOptions {
    /// Keeps nothing.
    fn default() -> Self {
        Self {
            capture: |_| false,
            capture_limit: 16 * 1024 * 1024,
            path_limit: 4096,
            entry_limit: u64::MAX,
            verify: false,
            cuda_deep: false,
        }
    }
}

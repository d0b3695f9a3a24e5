//! Caps on what an untrusted image can make dive-rs hold or do. Every number an image
//! states (a size, a length, a count, a nesting) is checked against one of these before
//! memory is spent on it; the defaults are far above what real images need.

/// Caps for one analysis; each has a `--max-…` flag in the binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest metadata file read into memory: `manifest.json`, `index.json`, a config, a
    /// package database (`--max-metadata`). A larger image file is an error; a larger
    /// package database is not read (its packages stay unowned) and a warning says so.
    pub metadata_bytes: u64,
    /// Most tar entries over all layers (`--max-entries`); more is an error.
    pub entries: u64,
    /// Longest entry path, link target or tar extension header (`--max-path`); such an
    /// entry is skipped with a warning. The default is Linux's `PATH_MAX`, which no file
    /// that a container can open exceeds. A raised cap costs memory in proportion to path
    /// length (each directory of the merged tree keeps only its name), but time for dive's
    /// figures grows with the square of a path's depth (100,000 levels: a minute or more).
    pub path_bytes: u64,
    /// Deepest nesting of image indexes inside indexes (`--max-index-depth`); deeper is an
    /// error, as is a loop.
    pub index_depth: usize,
    /// Uncompressed ÷ compressed size above which a layer is reported as a likely
    /// decompression bomb (`--max-ratio`); a warning, since the walk already streamed it
    /// in bounded memory.
    pub ratio: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            metadata_bytes: 64 * 1024 * 1024,
            entries: 10_000_000,
            path_bytes: 4096,
            index_depth: 8,
            ratio: 1000,
        }
    }
}

impl Limits {
    /// A size as people write one for a cap or a rule: `2GB`, `1.5GiB`, `300MB`, `20 MB`,
    /// `1024`; SI for `KB`/`MB`/`GB`, binary for `KiB`/`MiB`/`GiB`.
    pub fn parse_size(text: &str) -> Option<u64> {
        parse_size(text)
    }

    /// With another metadata file cap.
    #[must_use]
    pub fn metadata_bytes(mut self, bytes: u64) -> Self {
        self.metadata_bytes = bytes;
        self
    }

    /// With another entry cap.
    #[must_use]
    pub fn entries(mut self, entries: u64) -> Self {
        self.entries = entries;
        self
    }

    /// With another path length cap.
    #[must_use]
    pub fn path_bytes(mut self, bytes: u64) -> Self {
        self.path_bytes = bytes;
        self
    }

    /// With another index nesting cap.
    #[must_use]
    pub fn index_depth(mut self, depth: usize) -> Self {
        self.index_depth = depth;
        self
    }

    /// With another compression ratio before a warning.
    #[must_use]
    pub fn ratio(mut self, ratio: u64) -> Self {
        self.ratio = ratio;
        self
    }
}

/// [`Limits::parse_size`], for the gate's rules too.
pub(crate) fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    if let Ok(n) = text.parse::<u64>() {
        return Some(n);
    }
    text.parse::<bytesize::ByteSize>().ok().map(|b| b.as_u64())
}

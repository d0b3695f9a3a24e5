//! Bytes of a blob held in memory by mmap, never copied.

use std::fs::File;
use std::io;
use std::ops::Range;
use std::sync::Arc;

use memmap2::Mmap;

/// A byte range of a mapped file; empty files need no mapping.
#[derive(Debug, Clone)]
pub(crate) enum Blob {
    /// A range of a mapped file.
    Mapped(Arc<Mmap>, Range<usize>),
    /// A zero-length blob.
    Empty,
}

impl Blob {
    /// Maps a whole file read-only.
    pub(crate) fn map_file(file: &File) -> io::Result<Blob> {
        let len = file.metadata()?.len();
        if len == 0 {
            return Ok(Blob::Empty);
        }
        #[allow(unsafe_code)]
        // SAFETY: the map is read-only and the image file is an input we never write. Another
        // process truncating it while we read would raise SIGBUS; that is the documented risk
        // of mmap and the reason the stdin path (`-`) exists for inputs that may change.
        let map = unsafe { Mmap::map(file)? };
        let end = map.len();
        Ok(Blob::Mapped(Arc::new(map), 0..end))
    }

    /// A sub-range of this blob; `None` when it does not fit.
    pub(crate) fn slice(&self, start: u64, len: u64) -> Option<Blob> {
        match self {
            Blob::Empty => (start == 0 && len == 0).then_some(Blob::Empty),
            Blob::Mapped(map, range) => {
                let start = range.start.checked_add(usize::try_from(start).ok()?)?;
                let end = start.checked_add(usize::try_from(len).ok()?)?;
                (end <= range.end).then(|| Blob::Mapped(Arc::clone(map), start..end))
            }
        }
    }

    /// The bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            Blob::Empty => &[],
            Blob::Mapped(map, range) => &map[range.clone()],
        }
    }
}

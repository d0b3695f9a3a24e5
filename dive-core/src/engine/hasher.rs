//! Content hashes the merge asks for, and the record of them that saved scans keep.

use std::io::{self, Read};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::analysis::Work;
use crate::layer::{ContentHash, LayerEntry, hash_content};
use crate::source::Blob;
use crate::stage::Checkpoint;
use crate::tree::ContentHasher;

/// A content hasher that remembers what it read, for [`finish`](super::facts::finish) to keep.
pub(crate) trait RecordingHasher: ContentHasher {
    /// `(layer, entry, hash)` of every content read so far, handed over once.
    fn read(&self) -> Vec<(usize, u32, ContentHash)>;

    /// What was read of contents so far (the reads of [`Work`]).
    fn reads(&self) -> Work;
}

/// A hasher that reads nothing once `checkpoint` says to stop: every content is then
/// unreadable, so that the stages that read files (duplicates) end within one file. What
/// they find then is incomplete, and dropped.
pub(super) struct Stopping<'a> {
    pub inner: &'a dyn ContentHasher,
    pub checkpoint: &'a Checkpoint<'a>,
}

impl ContentHasher for Stopping<'_> {
    fn hash(&self, layer: usize, index: u32, entry: &LayerEntry) -> Option<ContentHash> {
        if self.checkpoint.stop() {
            return None;
        }
        self.inner.hash(layer, index, entry)
    }

    fn ends_differ(&self, a: (usize, &LayerEntry), b: (usize, &LayerEntry)) -> bool {
        !self.checkpoint.stop() && self.inner.ends_differ(a, b)
    }

    fn head(&self, layer: usize, entry: &LayerEntry, n: usize) -> Option<u64> {
        if self.checkpoint.stop() {
            return None;
        }
        self.inner.head(layer, entry, n)
    }
}

/// Hashes the content of entries in plain layers held in memory.
pub(super) struct BlobHasher {
    pub blobs: Vec<Option<Blob>>,
    pub read: Mutex<Vec<(usize, u32, ContentHash)>>,
    /// Reads of contents, and their bytes: what the budget of comparing contents counts.
    pub reads: AtomicU64,
    pub bytes_read: AtomicU64,
}

impl ContentHasher for BlobHasher {
    fn ends_differ(&self, a: (usize, &LayerEntry), b: (usize, &LayerEntry)) -> bool {
        match (self.ends(a.0, a.1), self.ends(b.0, b.1)) {
            (Some(a), Some(b)) => a != b,
            _ => false,
        }
    }

    fn head(&self, layer: usize, entry: &LayerEntry, n: usize) -> Option<u64> {
        let head = self.piece(layer, entry, 0, n)?;
        Some(twox_hash::XxHash3_64::oneshot(&head))
    }

    fn hash(&self, layer: usize, index: u32, entry: &LayerEntry) -> Option<ContentHash> {
        let hash = hash_content(self.reader(layer, entry)?, entry.size).ok()?;
        if let Ok(mut read) = self.read.lock() {
            read.push((layer, index, hash));
        }
        Some(hash)
    }
}

impl BlobHasher {
    /// Reads an entry's content from its blob, when the blob is held in place.
    fn reader(&self, layer: usize, entry: &LayerEntry) -> Option<impl Read> {
        self.range(layer, entry, 0, entry.size)
    }

    /// Reads `len` bytes of an entry's content from `at` (within the content).
    fn range(&self, layer: usize, entry: &LayerEntry, at: u64, len: u64) -> Option<impl Read> {
        // A sparse file's data in the tar is not its content.
        if entry.sparse {
            return None;
        }
        let blob = self.blobs.get(layer)?.as_ref()?;
        let end = entry.data_offset().checked_add(entry.size)?;
        if end > blob.bytes().len() as u64 || at.checked_add(len)? > entry.size {
            return None;
        }
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.bytes_read.fetch_add(len, Ordering::Relaxed);
        Some(blob.reader_at(entry.data_offset() + at, len))
    }

    /// Up to `len` bytes of an entry's content from `at`, read with a positioned read: a
    /// look through the map would leave the pages around them in this process (the kernel
    /// maps up to 64 KiB per fault), 700 MiB for the heads of 47,000 small files.
    fn piece(&self, layer: usize, entry: &LayerEntry, at: u64, len: usize) -> Option<Vec<u8>> {
        let len = len.min(usize::try_from(entry.size.saturating_sub(at)).unwrap_or(usize::MAX));
        let mut bytes = vec![0; len];
        let read = read_full(&mut self.range(layer, entry, at, len as u64)?, &mut bytes).ok()?;
        (read == len).then_some(bytes)
    }

    /// The first and last few KiB of an entry's content in its blob.
    fn ends(&self, layer: usize, entry: &LayerEntry) -> Option<(Vec<u8>, Vec<u8>)> {
        const PROBE: u64 = 4096;
        let n = entry.size.min(PROBE);
        Some((
            self.piece(layer, entry, 0, n as usize)?,
            self.piece(layer, entry, entry.size - n, n as usize)?,
        ))
    }
}

/// Fills `buf` unless the reader ends first; how many bytes it holds.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(filled)
}

impl RecordingHasher for BlobHasher {
    fn read(&self) -> Vec<(usize, u32, ContentHash)> {
        self.read
            .lock()
            .map(|mut read| std::mem::take(&mut *read))
            .unwrap_or_default()
    }

    fn reads(&self) -> Work {
        Work {
            content_reads: self.reads.load(Ordering::Relaxed),
            content_bytes: self.bytes_read.load(Ordering::Relaxed),
            ..Work::default()
        }
    }
}

/// Saved scans keep the hashes the first merge read; nothing else can be read.
pub(super) struct NoHasher;

impl ContentHasher for NoHasher {
    fn hash(&self, _layer: usize, _index: u32, _entry: &LayerEntry) -> Option<ContentHash> {
        None
    }
}

impl RecordingHasher for NoHasher {
    fn read(&self) -> Vec<(usize, u32, ContentHash)> {
        Vec::new()
    }

    fn reads(&self) -> Work {
        Work::default()
    }
}

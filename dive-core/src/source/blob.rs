//! Bytes of a blob in a file: mapped for jumping between tar headers, read with positioned
//! reads (`pread`) for everything streamed, so file pages never pile up in our RSS.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use memmap2::{Advice, Mmap};

/// A byte range of a file; empty files need no mapping.
#[derive(Debug, Clone)]
pub(crate) enum Blob {
    /// A range of a file, also mapped read-only.
    Mapped {
        map: Arc<Mmap>,
        file: Arc<File>,
        range: Range<usize>,
    },
    /// A zero-length blob.
    Empty,
}

impl Blob {
    /// Maps a whole file read-only.
    pub(crate) fn map_file(file: File) -> io::Result<Blob> {
        let len = file.metadata()?.len();
        if len == 0 {
            return Ok(Blob::Empty);
        }
        #[allow(unsafe_code)]
        // SAFETY: the map is read-only and the image file is an input we never write. Another
        // process truncating it while we read would raise SIGBUS; that is the documented risk
        // of mmap and the reason the stdin path (`-`) exists for inputs that may change.
        let map = unsafe { Mmap::map(&file)? };
        // Header walks touch one page here and there: without this, each fault maps its
        // neighbours too and a walk over a cached 5 GB archive shows gigabytes of RSS.
        let _ = map.advise(Advice::Random);
        let end = map.len();
        Ok(Blob::Mapped {
            map: Arc::new(map),
            file: Arc::new(file),
            range: 0..end,
        })
    }

    /// A sub-range of this blob; `None` when it does not fit.
    pub(crate) fn slice(&self, start: u64, len: u64) -> Option<Blob> {
        match self {
            Blob::Empty => (start == 0 && len == 0).then_some(Blob::Empty),
            Blob::Mapped { map, file, range } => {
                let start = range.start.checked_add(usize::try_from(start).ok()?)?;
                let end = start.checked_add(usize::try_from(len).ok()?)?;
                (end <= range.end).then(|| Blob::Mapped {
                    map: Arc::clone(map),
                    file: Arc::clone(file),
                    range: start..end,
                })
            }
        }
    }

    /// The bytes, through the map (for header walks and small metadata).
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            Blob::Empty => &[],
            Blob::Mapped { map, range, .. } => &map[range.clone()],
        }
    }

    /// A reader over `len` bytes from `start`, with positioned reads (for streamed data).
    pub(crate) fn reader_at(&self, start: u64, len: u64) -> BlobReader {
        match self {
            Blob::Empty => BlobReader {
                file: None,
                start: 0,
                pos: 0,
                end: 0,
            },
            Blob::Mapped { file, range, .. } => {
                let base = range.start as u64;
                let pos = base.saturating_add(start).min(range.end as u64);
                let end = pos.saturating_add(len).min(range.end as u64);
                BlobReader {
                    file: Some(Arc::clone(file)),
                    start: pos,
                    pos,
                    end,
                }
            }
        }
    }

    /// A reader over the whole blob.
    pub(crate) fn reader(&self) -> BlobReader {
        self.reader_at(0, self.bytes().len() as u64)
    }
}

/// Reads a range of a file with `pread`, so several threads can read one file at once.
#[derive(Debug)]
pub(crate) struct BlobReader {
    file: Option<Arc<File>>,
    start: u64,
    pos: u64,
    end: u64,
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(file) = &self.file else { return Ok(0) };
        let want = usize::try_from(self.end.saturating_sub(self.pos))
            .unwrap_or(usize::MAX)
            .min(buf.len());
        if want == 0 {
            return Ok(0);
        }
        let n = file.read_at(&mut buf[..want], self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for BlobReader {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => self.start.checked_add(n),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
            SeekFrom::End(d) => self.end.checked_add_signed(d),
        };
        match target {
            Some(pos) if pos >= self.start => {
                // Past the end reads nothing, as for a file.
                self.pos = pos;
                Ok(pos - self.start)
            }
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the blob",
            )),
        }
    }
}

//! Where a tar walk reads from ([`Input`]): a seekable input that passes over file data
//! without reading it, a stream read through, or a buffered stream whose bytes are handed
//! out where the buffer holds them.

use std::io::{self, BufRead, Read, Seek, SeekFrom};

use crate::aligned::AlignedBuf;

/// Where a tar walk reads from: bytes in order, and a way to pass over file data.
pub(crate) trait Input: Read {
    /// Passes over `n` bytes; fails with `UnexpectedEof` when fewer remain.
    fn skip(&mut self, n: u64) -> io::Result<()>;

    /// Hands the next bytes, at most `max`, to `sink` and says how many (0 at the end). An
    /// input that already holds them in a buffer hands them over without a copy.
    fn read_with(&mut self, max: usize, sink: &mut dyn FnMut(&[u8])) -> io::Result<usize> {
        let mut buf = [0u8; 8192];
        let n = self.read(&mut buf[..max.min(8192)])?;
        sink(&buf[..n]);
        Ok(n)
    }
}

/// A seekable input of known length: data is passed over without being read.
///
/// Headers are read through a small window that grows while they come close together (a
/// layer of small files holds dozens per 64 KiB) and shrinks back to one block after a jump
/// over a large file, so a header costs a fraction of a read call and file data stays unread.
pub(crate) struct Seeking<R> {
    inner: R,
    pos: u64,
    len: u64,
    held: AlignedBuf,
    /// Offset and length of the bytes `held` holds.
    held_at: u64,
    held_len: usize,
    /// How much the next refill reads.
    window: usize,
}

/// The smallest and largest read-ahead window of [`Seeking`].
const WINDOW: (usize, usize) = (512, 64 * 1024);

impl<R: Seek> Seeking<R> {
    /// Reads `inner` from its start up to `len` bytes.
    pub(crate) fn new(mut inner: R, len: u64) -> io::Result<Self> {
        inner.seek(SeekFrom::Start(0))?;
        Ok(Self {
            inner,
            pos: 0,
            len,
            held: AlignedBuf::new(WINDOW.1),
            held_at: 0,
            held_len: 0,
            window: WINDOW.0,
        })
    }

    /// The reader, to read again at known offsets.
    pub(crate) fn into_inner(self) -> R {
        self.inner
    }

    /// Copies what the window holds at the current position; 0 when it holds nothing there.
    fn take_held(&mut self, buf: &mut [u8]) -> usize {
        let held_end = self.held_at + self.held_len as u64;
        if self.pos < self.held_at || self.pos >= held_end {
            return 0;
        }
        let at = usize::try_from(self.pos - self.held_at).unwrap_or(usize::MAX);
        let n = buf.len().min(self.held_len - at);
        buf[..n].copy_from_slice(&self.held[at..at + n]);
        self.pos += n as u64;
        n
    }
}

impl<R: Read + Seek> Read for Seeking<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = usize::try_from(self.len.saturating_sub(self.pos)).unwrap_or(usize::MAX);
        let want = buf.len().min(left);
        if want == 0 {
            return Ok(0);
        }
        let n = self.take_held(&mut buf[..want]);
        if n > 0 {
            return Ok(n);
        }
        let held_end = self.held_at + self.held_len as u64;
        let near =
            self.pos >= self.held_at && self.pos - held_end.min(self.pos) <= self.window as u64;
        self.window = if near {
            (self.window * 2).min(WINDOW.1)
        } else {
            WINDOW.0
        };
        self.inner.seek(SeekFrom::Start(self.pos))?;
        if want >= self.window {
            // A large read goes straight to the caller's buffer.
            let n = self.inner.read(&mut buf[..want])?;
            self.pos += n as u64;
            return Ok(n);
        }
        let fill = self.window.min(left);
        self.held_len = 0;
        self.held_at = self.pos;
        self.held_len = self.inner.read(&mut self.held[..fill])?;
        Ok(self.take_held(&mut buf[..want]))
    }
}

impl<R: Read + Seek> Input for Seeking<R> {
    fn skip(&mut self, n: u64) -> io::Result<()> {
        let target = self.pos.saturating_add(n);
        if target > self.len {
            self.pos = self.len;
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.pos = target;
        Ok(())
    }
}

/// A stream: passing over data means reading and discarding it.
pub(crate) struct Streaming<R>(pub R);

impl<R: Read> Read for Streaming<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<R: Read> Input for Streaming<R> {
    fn skip(&mut self, n: u64) -> io::Result<()> {
        let skipped = io::copy(&mut (&mut self.0).take(n), &mut io::sink())?;
        if skipped < n {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(())
    }
}

/// A buffered stream: file data is hashed where the stream's buffer holds it, and passing
/// over data drops it from the buffer, so decoded bytes are not copied a second time.
pub(crate) struct Buffered<R>(pub R);

impl<R: Read> Read for Buffered<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<R: BufRead> Input for Buffered<R> {
    fn skip(&mut self, mut n: u64) -> io::Result<()> {
        while n > 0 {
            let skipped = self.read_with(usize::try_from(n).unwrap_or(usize::MAX), &mut |_| {})?;
            if skipped == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            n -= skipped as u64;
        }
        Ok(())
    }

    fn read_with(&mut self, max: usize, sink: &mut dyn FnMut(&[u8])) -> io::Result<usize> {
        let held = loop {
            match self.0.fill_buf() {
                Ok(held) => break held,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        };
        let n = held.len().min(max);
        sink(&held[..n]);
        self.0.consume(n);
        Ok(n)
    }
}

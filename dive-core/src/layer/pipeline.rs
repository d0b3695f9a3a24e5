//! A compressed layer walked on three threads: one reads the blob (and hashes it with
//! `--verify`), one decompresses, one walks the tar (and hashes contents and the tar). When
//! one layer holds most of an image, the decoder is the critical path: it only decodes, as
//! `zstd -dc` and `pigz -dc` do with their own reading threads, and the walk costs no wall
//! time beyond the decoding.

use std::io::{self, BufRead, Read};
use std::ops::{Deref, Range};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use super::decompress::{Compression, decoder};
use super::index::{LayerDigests, LayerIndex};
use super::one_thread::{Counted, DECODED_READ, walk_tar_stream};
use super::options::WalkOptions;
use crate::aligned::{AlignedBuf, AlignedReader};
use crate::digest::finish_sha256;
use crate::error::{Location, Warning};

/// Decoded bytes travel in chunks of this size: each handover may wake the other thread,
/// and with reading on a thread of its own those wake-ups were 8 % of the decoder's time
/// at 256 KiB (alternating runs on the bench's OCI zstd, median: 583 ms at 256 KiB × 4,
/// 564 ms at 1 MiB × 4, 545 ms at 1 MiB × 2; the demo's peak RSS 14 → 18 MiB)…
const CHUNK: usize = 1 << 20;
/// …at most this many waiting at a time, so memory stays bounded (buffers are recycled).
const IN_FLIGHT: usize = 2;
/// Compressed bytes are read in blocks of this size, into page-aligned buffers (the kernel
/// fills those about four times faster than `malloc`'s; see `aligned.rs`).
pub(super) const READ_BLOCK: usize = 256 << 10;

/// Reads, decodes and walks a compressed blob on three threads.
pub(super) fn pipeline<R: Read + Send>(
    raw: AlignedReader<R>,
    compression: Compression,
    options: &WalkOptions,
) -> LayerIndex {
    let (read_tx, read_rx) = sync_channel::<io::Result<Block>>(IN_FLIGHT);
    let (reread_tx, reread_rx) = sync_channel::<Block>(IN_FLIGHT + 1);
    let (full_tx, full_rx) = sync_channel::<io::Result<Vec<u8>>>(IN_FLIGHT);
    let (free_tx, free_rx) = sync_channel::<Vec<u8>>(IN_FLIGHT + 1);
    let threads = std::thread::scope(|scope| {
        let verify = options.verify;
        // Named, so that profiles and debuggers tell the three apart.
        let thread = |name: &str| std::thread::Builder::new().name(name.to_owned());
        let reading = thread("dive-read")
            .spawn_scoped(scope, move || read_ahead(raw, verify, &read_tx, &reread_rx));
        let decoding = thread("dive-decode").spawn_scoped(scope, move || {
            produce(
                compression,
                Chunks::new(read_rx, reread_tx),
                &full_tx,
                &free_rx,
            )
        });
        // If one thread did not start, the other ends when it finds its channel closed.
        let (reading, decoding) = (reading?, decoding?);
        let walked = walk_tar_stream(
            Chunks::new(full_rx, free_tx),
            compression,
            options.verify,
            options,
        );
        let failed = || Some(io::Error::other("the decompressing thread failed"));
        let trailing = decoding.join().unwrap_or_else(|_| failed());
        let stored = reading.join().unwrap_or_default();
        Ok::<_, io::Error>((walked, trailing, stored))
    });
    let ((mut index, tar), trailing, stored) = match threads {
        Ok(done) => done,
        Err(err) => {
            let mut index = LayerIndex::default();
            index.warnings.push(Warning::new(
                Location::default().offset(0),
                format!("cannot start a thread to read the layer: {err}"),
            ));
            return index;
        }
    };
    if let Some(err) = trailing {
        index.warnings.push(Warning::new(
            Location::default(),
            format!("cannot read layer to its end: {err}"),
        ));
    }
    if let (Some(hash), Some(tar)) = (stored.hash, tar) {
        index.digests = Some(LayerDigests {
            blob: finish_sha256(hash),
            tar,
        });
    }
    index.compression = compression;
    index.size_compressed = stored.count;
    index
}

/// Part of a page-aligned buffer that holds bytes read from the blob.
struct Block {
    buf: AlignedBuf,
    held: Range<usize>,
}

impl Deref for Block {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.buf[self.held.clone()]
    }
}

/// The reading side: sends what sniffing buffered, then the rest of the blob in blocks, and
/// counts (and with `hash`, digests) what it sends; a read error ends the stream, where the
/// decoder meets it as it would on one thread.
fn read_ahead<R: Read>(
    reader: AlignedReader<R>,
    hash: bool,
    full: &SyncSender<io::Result<Block>>,
    free: &Receiver<Block>,
) -> Counted<()> {
    let (mut reader, buf, held) = reader.into_parts();
    let mut stored = Counted::new((), hash);
    let mut next = Some(Block { buf, held });
    loop {
        let block = if let Some(block) = next.take() {
            block
        } else {
            let mut buf = match free.try_recv() {
                Ok(block) => block.buf,
                Err(_) => AlignedBuf::new(READ_BLOCK),
            };
            let read = loop {
                match reader.read(&mut buf) {
                    Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                    read => break read,
                }
            };
            match read {
                Ok(0) => return stored,
                Ok(n) => Block { buf, held: 0..n },
                Err(err) => {
                    let _ = full.send(Err(err));
                    return stored;
                }
            }
        };
        if block.is_empty() {
            continue;
        }
        stored.record(&block);
        if full.send(Ok(block)).is_err() {
            // The decoder has stopped listening.
            return stored;
        }
    }
}

/// The decompressing side: fills recycled buffers and sends them; a decode error travels in
/// the stream, where the walk reports it at its offset. Returns any error reading the blob's
/// tail after the compressed stream.
fn produce(
    compression: Compression,
    mut raw: Chunks<Block>,
    full: &SyncSender<io::Result<Vec<u8>>>,
    free: &Receiver<Vec<u8>>,
) -> Option<io::Error> {
    let decoded = decoder(compression, &mut raw).and_then(|mut reader| {
        loop {
            let mut chunk = free.try_recv().unwrap_or_default();
            chunk.resize(CHUNK, 0);
            let (n, failed) = fill(&mut reader, &mut chunk);
            if n == 0 {
                return failed.map_or(Ok(()), Err);
            }
            chunk.truncate(n);
            if full.send(Ok(chunk)).is_err() {
                // The walk has stopped listening.
                return Ok(());
            }
            if let Some(err) = failed {
                return Err(err);
            }
        }
    });
    if let Err(err) = decoded {
        let _ = full.send(Err(err));
    }
    // Whatever follows the compressed stream inside the blob still belongs to the blob.
    io::copy(&mut raw, &mut io::sink()).err()
}

/// Reads until `buf` is full, the stream ends or fails; what was read before a failure is
/// delivered before it. Reads are small, as the one-thread walk's are, because a decoder
/// that meets damage drops what it decoded in that call.
fn fill(reader: &mut impl Read, buf: &mut [u8]) -> (usize, Option<io::Error>) {
    let mut filled = 0;
    while filled < buf.len() {
        let end = (filled + DECODED_READ).min(buf.len());
        match reader.read(&mut buf[filled..end]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return (filled, Some(err)),
        }
    }
    (filled, None)
}

/// The receiving side of a thread's stream of buffers: reads them in order and hands used
/// ones back for reuse.
struct Chunks<B> {
    full: Receiver<io::Result<B>>,
    free: SyncSender<B>,
    current: Option<B>,
    at: usize,
    /// A stream that failed fails again on every read, as a reader on one thread would.
    failed: Option<(io::ErrorKind, String)>,
}

impl<B> Chunks<B> {
    fn new(full: Receiver<io::Result<B>>, free: SyncSender<B>) -> Self {
        Self {
            full,
            free,
            current: None,
            at: 0,
            failed: None,
        }
    }
}

impl<B: Deref<Target = [u8]>> Chunks<B> {
    /// The whole buffer being read (empty before the first arrives).
    fn current(&self) -> &[u8] {
        self.current.as_deref().unwrap_or_default()
    }
}

impl<B: Deref<Target = [u8]>> Read for Chunks<B> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let held = self.fill_buf()?;
        let n = buf.len().min(held.len());
        buf[..n].copy_from_slice(&held[..n]);
        self.consume(n);
        Ok(n)
    }
}

/// Readers (the decoder, the walk hashing file data) work in the buffer the sending thread
/// filled: no second copy.
impl<B: Deref<Target = [u8]>> BufRead for Chunks<B> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if let Some((kind, message)) = &self.failed {
            return Err(io::Error::new(*kind, message.clone()));
        }
        if self.at == self.current().len() {
            match self.full.recv() {
                Ok(Ok(chunk)) => {
                    if let Some(used) = self.current.replace(chunk) {
                        let _ = self.free.try_send(used);
                    }
                    self.at = 0;
                }
                Ok(Err(err)) => {
                    self.failed = Some((err.kind(), err.to_string()));
                    return Err(err);
                }
                // The sender is done: the end of the stream.
                Err(_) => return Ok(&[]),
            }
        }
        Ok(&self.current()[self.at..])
    }

    fn consume(&mut self, n: usize) {
        self.at = (self.at + n).min(self.current().len());
    }
}

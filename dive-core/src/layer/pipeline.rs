//! A compressed layer walked on two threads: one reads and decompresses (and hashes the blob
//! with `--verify`), the other walks the tar (and hashes contents and the tar). When one layer
//! holds most of an image, the second core still works, and the walk costs no wall time
//! beyond the inflate.

use std::io::{self, BufRead, Read};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use super::decompress::{Compression, decoder};
use super::walk::{Counted, DECODED_READ, finish_sha256, sniff_stream, walk_tar_stream};
use super::{LayerDigests, LayerIndex, WalkOptions, walk_reader};
use crate::aligned::AlignedReader;
use crate::error::{Location, Warning};

/// Decoded bytes travel in chunks of this size (small enough to stay in L2 between the
/// threads; 1 MiB chunks cost two layers' pipelines 12 MiB of RSS and were no faster)…
const CHUNK: usize = 256 << 10;
/// …at most this many at a time, so memory stays bounded (buffers are recycled).
const IN_FLIGHT: usize = 4;

/// Walks a layer blob like [`walk_reader`], decompressing on a second thread.
pub fn walk_reader_threaded<R: Read + Send>(reader: R, options: &WalkOptions) -> LayerIndex {
    // The blob's size and, with `--verify`, digest, taken as the decoder consumes the buffer
    // it reads in place.
    let mut raw = Counted::new(
        AlignedReader::with_capacity(256 * 1024, reader),
        options.verify,
    );
    let compression = match sniff_stream(&mut raw) {
        Ok(compression) => compression,
        Err(index) => return *index,
    };
    if compression == Compression::None {
        // Nothing to decompress: one thread reads as fast as a second could. Sniffing
        // consumed nothing, so the walk starts at the first byte.
        return walk_reader(raw.inner, options);
    }
    let (full_tx, full_rx) = sync_channel::<io::Result<Vec<u8>>>(IN_FLIGHT);
    let (free_tx, free_rx) = sync_channel::<Vec<u8>>(IN_FLIGHT + 1);
    let ((mut index, tar), (stored, trailing)) = std::thread::scope(|scope| {
        let producer = scope.spawn(move || produce(compression, raw, &full_tx, &free_rx));
        let chunks = Chunks {
            full: full_rx,
            free: free_tx,
            current: Vec::new(),
            at: 0,
            failed: None,
        };
        let walked = walk_tar_stream(chunks, compression, options.verify, options);
        let produced = producer.join().unwrap_or_else(|_| {
            (
                Counted::default(),
                Some(io::Error::other("the decompressing thread failed")),
            )
        });
        (walked, produced)
    });
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

/// The decompressing side: fills recycled buffers and sends them; a decode error travels in
/// the stream, where the walk reports it at its offset. Returns what it read of the blob and
/// any error reading the blob's tail after the compressed stream.
fn produce<B: BufRead>(
    compression: Compression,
    mut raw: Counted<B>,
    full: &SyncSender<io::Result<Vec<u8>>>,
    free: &Receiver<Vec<u8>>,
) -> (Counted<()>, Option<io::Error>) {
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
    let trailing = io::copy(&mut raw, &mut io::sink()).err();
    (
        Counted {
            inner: (),
            count: raw.count,
            hash: raw.hash,
        },
        trailing,
    )
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

/// The walking side: reads the chunks in order and hands used buffers back.
struct Chunks {
    full: Receiver<io::Result<Vec<u8>>>,
    free: SyncSender<Vec<u8>>,
    current: Vec<u8>,
    at: usize,
    /// A decoder that failed fails again on every read, as it would on one thread.
    failed: Option<(io::ErrorKind, String)>,
}

impl Read for Chunks {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let held = self.fill_buf()?;
        let n = buf.len().min(held.len());
        buf[..n].copy_from_slice(&held[..n]);
        self.consume(n);
        Ok(n)
    }
}

/// The walk hashes file data in the chunk the decoding thread filled: no second copy.
impl BufRead for Chunks {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if let Some((kind, message)) = &self.failed {
            return Err(io::Error::new(*kind, message.clone()));
        }
        if self.at == self.current.len() {
            match self.full.recv() {
                Ok(Ok(chunk)) => {
                    let used = std::mem::replace(&mut self.current, chunk);
                    let _ = self.free.try_send(used);
                    self.at = 0;
                }
                Ok(Err(err)) => {
                    self.failed = Some((err.kind(), err.to_string()));
                    return Err(err);
                }
                // The producer is done: the end of the stream.
                Err(_) => return Ok(&[]),
            }
        }
        Ok(&self.current[self.at..])
    }

    fn consume(&mut self, n: usize) {
        self.at = (self.at + n).min(self.current.len());
    }
}

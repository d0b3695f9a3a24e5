//! A layer tar walked on one thread, entry by entry, keeping metadata and never file contents.
//!
//! Plain tars held in memory (mmap) are walked by seeking from header to header, so file
//! data is never touched. Compressed or streamed tars must be read through; there the walk
//! hashes each file's content on the way (xxh3, far cheaper than the inflate feeding it) so
//! that the merge can tell a metadata-only rewrite from a content change.

use std::io::{self, BufRead, Read, Seek, SeekFrom, Write};

use sha2::{Digest, Sha256};

use super::decompress::{Compression, decoder, sniff};
use super::entries::Walk;
use super::index::{LayerDigests, LayerIndex};
use super::options::WalkOptions;
use super::tar_input::{Buffered, Seeking};
use super::tar_reader::TarReader;
use crate::aligned::AlignedReader;
use crate::digest::finish_sha256;
use crate::error::{Location, Warning};

/// Walks a plain layer tar of `len` bytes by seeking from header to header: file data is
/// never read, so the cost follows the number of entries, not the bytes.
pub fn walk_seekable<R: Read + Seek>(reader: R, len: u64, options: &WalkOptions) -> LayerIndex {
    let mut walk = Walk::new(false, *options);
    let input = match Seeking::new(reader, len) {
        Ok(input) => input,
        Err(err) => {
            walk.warn_layer(
                Location::default().offset(0),
                format!("cannot read layer: {err}"),
            );
            return walk.finish(len);
        }
    };
    let mut tar = TarReader::new(input, options.path_limit);
    walk.run(&mut tar);
    let mut reader = tar.into_inner().into_inner();
    walk.resolve_elf(&mut reader);
    walk.resolve_secrets(&mut reader);
    let tail_start = walk.tail_start().min(len);
    let mut zeros = NonZeroCounter::default();
    let tail = reader
        .seek(SeekFrom::Start(tail_start))
        .and_then(|_| io::copy(&mut reader.take(len - tail_start), &mut zeros));
    if let Err(err) = tail {
        walk.warn_layer(
            Location::default().offset(tail_start),
            format!("cannot read the end of the layer: {err}"),
        );
    }
    walk.check_tail(len, zeros.nonzero);
    let mut index = walk.finish(len);
    index.size_compressed = len;
    index
}

/// Walks a layer blob from a stream (stdin, a pipe): never seeks, hashes file contents.
pub fn walk_reader<R: Read>(reader: R, options: &WalkOptions) -> LayerIndex {
    let mut raw = AlignedReader::with_capacity(256 * 1024, Counted::new(reader, options.verify));
    let compression = match sniff_stream(&mut raw) {
        Ok(compression) => compression,
        Err(index) => return *index,
    };
    let (mut index, tar) = walk_decoded(compression, &mut raw, options);
    // Whatever follows the compressed stream inside the blob still belongs to the blob.
    if let Err(err) = io::copy(&mut raw, &mut io::sink()) {
        index.warnings.push(Warning::new(
            Location::default(),
            format!("cannot read layer to its end: {err}"),
        ));
    }
    let raw = raw.into_inner();
    if let Some(hash) = raw.hash {
        let blob = finish_sha256(hash);
        // A plain tar is its own uncompressed stream: hashed once.
        let tar = tar.unwrap_or_else(|| blob.clone());
        index.digests = Some(LayerDigests { blob, tar });
    }
    index.compression = compression;
    index.size_compressed = raw.count;
    index
}

/// The compression of a blob read from a stream, or the index of a layer that cannot be read.
pub(super) fn sniff_stream<R: Read>(
    raw: &mut AlignedReader<R>,
) -> Result<Compression, Box<LayerIndex>> {
    // The longest magic number (zstd's) is four bytes.
    match raw.fill_at_least(4) {
        Ok(head) => Ok(sniff(head)),
        Err(err) => {
            let mut index = LayerIndex::default();
            index.warnings.push(Warning::new(
                Location::default().offset(0),
                format!("cannot read layer: {err}"),
            ));
            Err(Box::new(index))
        }
    }
}

/// How much a one-thread walk asks a decoder for at once (the pipeline's decoding thread
/// asks for as much).
pub(super) const DECODED_READ: usize = 64 << 10;

/// Walks a decoded stream; with `verify`, also returns the uncompressed tar's digest (not
/// for a plain tar, whose digest is the blob's).
pub(super) fn walk_decoded<R: BufRead>(
    compression: Compression,
    raw: R,
    options: &WalkOptions,
) -> (LayerIndex, Option<String>) {
    if compression == Compression::None {
        // Already buffered: the walk hashes file data where the buffer holds it.
        return walk_tar_stream(raw, compression, false, options);
    }
    match decoder(compression, raw) {
        Ok(reader) => walk_tar_stream(
            // Small reads: a decoder that meets damage drops what it decoded in that call.
            AlignedReader::with_capacity(DECODED_READ, reader),
            compression,
            options.verify,
            options,
        ),
        Err(err) => {
            let mut walk = Walk::new(true, *options);
            walk.warn_layer(
                Location::default().offset(0),
                format!("cannot start {} decoder: {err}", compression.name()),
            );
            (walk.finish(0), None)
        }
    }
}

/// Walks an uncompressed tar stream (`compression` names where it came from in messages);
/// with `hash_tar`, also returns its digest.
pub(super) fn walk_tar_stream<D: BufRead>(
    reader: D,
    compression: Compression,
    hash_tar: bool,
    options: &WalkOptions,
) -> (LayerIndex, Option<String>) {
    let mut walk = Walk::new(true, *options);
    let mut tar = TarReader::new(Buffered(Counted::new(reader, hash_tar)), options.path_limit);
    walk.run(&mut tar);
    // Read to the end: the uncompressed size includes the end blocks and any padding.
    let mut rest = tar.into_inner().0;
    let mut zeros = NonZeroCounter::default();
    // A walk that stopped at damage said so already: the decoder may fail again here, or
    // not, depending on how much it was asked for before.
    if let Err(err) = io::copy(&mut rest, &mut zeros)
        && !walk.damaged()
    {
        walk.warn_layer(
            Location::default().offset(rest.count),
            format!(
                "{} stream is damaged after the last entry: {err}",
                compression.name()
            ),
        );
    }
    walk.check_tail(rest.count, zeros.nonzero);
    let tar = rest.hash.take().map(finish_sha256);
    (walk.finish(rest.count), tar)
}

/// Counts (and with `--verify` hashes) the bytes read through it, so offsets in warnings
/// and sizes come out exact.
#[derive(Default)]
pub(super) struct Counted<R> {
    pub(super) inner: R,
    pub(super) count: u64,
    pub(super) hash: Option<Sha256>,
}

impl<R> Counted<R> {
    /// Counts `inner`'s bytes, and with `hash` takes their SHA-256.
    pub(super) fn new(inner: R, hash: bool) -> Self {
        Self {
            inner,
            count: 0,
            hash: hash.then(Sha256::new),
        }
    }

    /// Counts (and hashes) bytes that passed.
    pub(super) fn record(&mut self, bytes: &[u8]) {
        self.count += bytes.len() as u64;
        if let Some(hash) = &mut self.hash {
            hash.update(bytes);
        }
    }
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.record(&buf[..n]);
        Ok(n)
    }
}

/// Bytes taken from the buffer count (and hash) when consumed, as if read.
impl<R: BufRead> BufRead for Counted<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, n: usize) {
        if let Some(hash) = &mut self.hash
            && let Ok(held) = self.inner.fill_buf()
        {
            // The buffer still holds what the last fill_buf handed out: nothing is read here.
            hash.update(&held[..n.min(held.len())]);
        }
        self.count += n as u64;
        self.inner.consume(n);
    }
}

#[derive(Default)]
struct NonZeroCounter {
    nonzero: u64,
}

impl Write for NonZeroCounter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.nonzero += buf.iter().filter(|&&b| b != 0).count() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

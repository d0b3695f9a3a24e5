//! How a layer is read, chosen in one place: a plain tar with random access by seeking from
//! header to header, a compressed blob through the reading and decoding threads
//! (`pipeline.rs`), anything else on one thread (`one_thread.rs`). Callers hand a layer to
//! [`walk`], which tells them which way it went.

use std::io::{self, Cursor, Read, Seek};

use sha2::{Digest, Sha256};

use super::decompress::{Compression, sniff};
use super::index::{LayerDigests, LayerIndex};
use super::one_thread::{sniff_stream, walk_decoded, walk_reader, walk_seekable};
use super::options::WalkOptions;
use super::pipeline::{READ_BLOCK, pipeline};
use crate::aligned::{AlignedBuf, AlignedReader};
use crate::digest::{finish_sha256, sha256};
use crate::error::{Location, Warning};

/// How the walk read a layer (told in [`Event::LayerWalked`](crate::Event::LayerWalked)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Strategy {
    /// A plain tar with random access: jumped from header to header, file data never read.
    Seek,
    /// Read once from start to end on one thread (a plain tar that cannot seek).
    Stream,
    /// Read, decompressed and walked on three threads.
    Pipeline,
}

/// A reader that also seeks, as a trait object.
pub trait ReadSeek: Read + Seek {}

impl<T: Read + Seek> ReadSeek for T {}

/// A layer blob as its holder can read it; [`walk`] chooses how.
#[non_exhaustive]
pub enum WalkInput<'a> {
    /// The whole blob with random access (a mapped file, bytes in memory).
    RandomAccess {
        /// Reads the blob from its start, and seeks.
        reader: Box<dyn ReadSeek + Send + 'a>,
        /// The blob's length.
        len: u64,
        /// Told by the blob's first bytes (gzip and zstd by their magic numbers).
        compression: Compression,
        /// Reads the blob again from its start: under `verify`, the digest of a plain tar is
        /// taken through it on another core while the walk jumps between headers.
        second: Box<dyn Read + Send + 'a>,
    },
    /// A blob read once, from start to end (a download, a pipe).
    Stream(Box<dyn Read + Send + 'a>),
    /// A blob read once as it passes by inside a larger stream (a layer member of
    /// `docker save` on stdin): walked on this thread, where the stream is read.
    Passing(Box<dyn Read + 'a>),
}

impl std::fmt::Debug for WalkInput<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WalkInput::RandomAccess {
                len, compression, ..
            } => f
                .debug_struct("RandomAccess")
                .field("len", len)
                .field("compression", compression)
                .finish_non_exhaustive(),
            WalkInput::Stream(_) => f.debug_tuple("Stream").finish_non_exhaustive(),
            WalkInput::Passing(_) => f.debug_tuple("Passing").finish_non_exhaustive(),
        }
    }
}

/// Walks a layer blob, choosing how: a plain tar with random access by seeking from header
/// to header (reading it whole only for `verify`, beside the walk), anything compressed
/// through the reading and decoding threads, a plain stream on one thread, and a blob
/// passing inside a larger stream on the thread that reads that stream.
pub fn walk(input: WalkInput<'_>, options: &WalkOptions) -> (LayerIndex, Strategy) {
    match input {
        WalkInput::RandomAccess {
            reader,
            len,
            compression: Compression::None,
            second,
        } => {
            // Reads rather than the map, so that no file page stays in this process.
            let (mut walked, digest) = rayon::join(
                || walk_seekable(reader, len, options),
                || options.verify.then(|| sha256_of(second)).transpose(),
            );
            match digest {
                Ok(digest) => walked.digests = digest.map(LayerDigests::same),
                Err(err) => walked.warnings.push(Warning::new(
                    Location::default(),
                    format!("cannot read the layer to verify it: {err}"),
                )),
            }
            (walked, Strategy::Seek)
        }
        WalkInput::RandomAccess { reader, .. } => walk_threaded(reader, options),
        WalkInput::Stream(reader) => walk_threaded(reader, options),
        WalkInput::Passing(reader) => (walk_reader(reader, options), Strategy::Stream),
    }
}

/// Walks a layer blob held in memory: plain tars by seeking, compressed ones by streaming.
#[cfg_attr(not(feature = "unstable"), allow(dead_code))] // For the tests and benches.
pub fn walk_bytes(blob: &[u8], options: &WalkOptions) -> LayerIndex {
    let compression = sniff(blob);
    let mut index = if compression == Compression::None {
        let mut index = walk_seekable(Cursor::new(blob), blob.len() as u64, options);
        if options.verify {
            index.digests = Some(LayerDigests::same(sha256(blob)));
        }
        index
    } else {
        let (mut index, tar) = walk_decoded(compression, blob, options);
        if let Some(tar) = tar {
            index.digests = Some(LayerDigests {
                blob: sha256(blob),
                tar,
            });
        }
        index
    };
    index.compression = compression;
    index.size_compressed = blob.len() as u64;
    index
}

/// `sha256:<hex>` of everything `reader` yields.
fn sha256_of(mut reader: impl Read) -> io::Result<String> {
    let mut hash = Sha256::new();
    let mut buf = AlignedBuf::new(1 << 20);
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return Ok(finish_sha256(hash)),
            Ok(n) => hash.update(&buf[..n]),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
}

/// Walks a layer blob like [`walk_reader`], reading and decompressing on other threads.
#[cfg_attr(not(feature = "unstable"), allow(dead_code))] // For the tests and benches.
pub fn walk_reader_threaded<R: Read + Send>(reader: R, options: &WalkOptions) -> LayerIndex {
    walk_threaded(reader, options).0
}

/// [`walk_reader_threaded`], saying whether it took the threads ([`Strategy::Pipeline`]) or,
/// for a plain tar, one ([`Strategy::Stream`]).
fn walk_threaded<R: Read + Send>(reader: R, options: &WalkOptions) -> (LayerIndex, Strategy) {
    let mut raw = AlignedReader::with_capacity(READ_BLOCK, reader);
    let compression = match sniff_stream(&mut raw) {
        Ok(compression) => compression,
        Err(index) => return (*index, Strategy::Stream),
    };
    if compression == Compression::None {
        // Nothing to decompress: one thread reads as fast as more could. Sniffing consumed
        // nothing, so the walk starts at the first byte.
        return (walk_reader(raw, options), Strategy::Stream);
    }
    (pipeline(raw, compression, options), Strategy::Pipeline)
}

//! Walk a layer tar entry by entry, keeping metadata and never file contents.
//!
//! Plain tars held in memory (mmap) are walked by seeking from header to header, so file
//! data is never touched. Compressed or streamed tars must be read through; there the walk
//! hashes each file's content on the way (xxh3, far cheaper than the inflate feeding it) so
//! that the merge can tell a metadata-only rewrite from a content change.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::io::{self, BufRead, Cursor, Read, Seek, SeekFrom, Write};

use sha2::{Digest, Sha256};
use tar::EntryType;
use twox_hash::XxHash3_128;

use super::decompress::{Compression, decoder, sniff};
use super::elf;
use super::tar_reader::{BLOCK, Buffered, Data, Input, Member, Seeking, TarError, TarReader};
use super::{EntryKind, LayerDigests, LayerEntry, LayerIndex};
use crate::aligned::{AlignedBuf, AlignedReader};
use crate::digest::{finish_sha256, sha256};
use crate::error::{Location, Warning};
use crate::path::{EntryPath, classify, normalize};

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
    /// ([`LayerIndex::digests`]). Plain tars walked by seeking are not read, so
    /// [`walk_seekable`] leaves this to its caller.
    pub verify: bool,
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
        }
    }
}

/// Walks a layer blob held in memory: plain tars by seeking, compressed ones by streaming.
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
pub(crate) fn sha256_of(mut reader: impl Read) -> io::Result<String> {
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

/// Walks a plain layer tar of `len` bytes by seeking from header to header: file data is
/// never read, so the cost follows the number of entries, not the bytes.
pub fn walk_seekable<R: Read + Seek>(reader: R, len: u64, options: &WalkOptions) -> LayerIndex {
    let mut walk = Walk::new(false, *options);
    let input = match Seeking::new(reader, len) {
        Ok(input) => input,
        Err(err) => {
            walk.warn(
                Location::default().offset(0),
                format!("cannot read layer: {err}"),
            );
            return walk.finish(len);
        }
    };
    let mut tar = TarReader::new(input, options.path_limit);
    walk.run(&mut tar);
    let mut reader = tar.into_inner().into_inner();
    resolve_elf_debug(&mut reader, &mut walk.entries);
    let tail_start = walk.tail_start().min(len);
    let mut zeros = NonZeroCounter::default();
    let tail = reader
        .seek(SeekFrom::Start(tail_start))
        .and_then(|_| io::copy(&mut reader.take(len - tail_start), &mut zeros));
    if let Err(err) = tail {
        walk.warn(
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
fn walk_decoded<R: BufRead>(
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
            walk.warn(
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
    if let Err(err) = io::copy(&mut rest, &mut zeros) {
        walk.warn(
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

/// Walk state shared by the seeking and streaming modes.
struct Walk {
    hash_contents: bool,
    options: WalkOptions,
    captured: Vec<(u32, Box<[u8]>)>,
    entries: Vec<LayerEntry>,
    /// Latest regular-file entry at each path, for resolving hardlinks within the layer,
    /// keyed by a seeded 128-bit hash of the path rather than a copy of it (an image cannot
    /// choose colliding paths without the seed).
    files_by_path: HashMap<u128, u32>,
    path_seed: u64,
    warnings: Vec<Warning>,
    file_bytes: u64,
    /// End of the last complete entry (header + padded data).
    end_of_entries: u64,
    failed: bool,
}

impl Walk {
    fn path_key(&self, path: &[u8]) -> u128 {
        XxHash3_128::oneshot_with_seed(self.path_seed, path)
    }

    fn new(hash_contents: bool, options: WalkOptions) -> Self {
        Self {
            hash_contents,
            options,
            captured: Vec::new(),
            entries: Vec::new(),
            files_by_path: HashMap::new(),
            path_seed: RandomState::new().hash_one(0u8),
            warnings: Vec::new(),
            file_bytes: 0,
            end_of_entries: 0,
            failed: false,
        }
    }

    fn warn(&mut self, location: Location, message: impl Into<String>) {
        self.warnings.push(Warning::new(location, message));
    }

    fn run<I: Input>(&mut self, tar: &mut TarReader<I>) {
        loop {
            match tar.next_member() {
                Ok(Some(member)) => {
                    self.add(member, tar);
                    if self.failed {
                        break;
                    }
                }
                Ok(None) => break,
                Err(err) => {
                    self.fail(err);
                    break;
                }
            }
        }
    }

    fn fail(&mut self, err: TarError) {
        self.failed = true;
        let mut location = Location::default().offset(err.offset);
        let message = if err.in_data {
            // The input ended inside the data of the last entry read.
            if let Some(last) = self.entries.last() {
                location = location.entry(&last.path);
            }
            "layer tar is truncated inside this entry's data; later entries are missing".to_owned()
        } else if err.offset == 0 && !err.truncated {
            format!("layer is not a tar: {}", err.message)
        } else if err.truncated {
            format!("{}; later entries are missing", err.message)
        } else {
            format!(
                "layer tar is damaged, later entries are missing: {}",
                err.message
            )
        };
        self.warn(location, message);
    }

    fn add<I: Input>(&mut self, member: Member, tar: &mut TarReader<I>) {
        self.end_of_entries = member.end();
        if let Some(mut warning) = member.unusable_warning(Location::default()) {
            warning.message.push_str(" (--max-path)");
            self.warnings.push(warning);
            return;
        }
        let Member {
            header_offset,
            data_offset,
            entry_type: etype,
            path: raw_path,
            link,
            stored: _,
            size,
            mode,
            uid,
            gid,
            mtime,
            notes,
            unusable: _,
        } = member;
        let here = || Location::default().offset(header_offset).entry(&raw_path);
        for note in notes {
            let location = here();
            self.warn(location, note);
        }

        let kind = match etype {
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => EntryKind::File,
            EntryType::Directory => EntryKind::Dir,
            EntryType::Symlink => EntryKind::Symlink,
            EntryType::Link => EntryKind::Hardlink,
            EntryType::Char => EntryKind::CharDevice,
            EntryType::Block => EntryKind::BlockDevice,
            EntryType::Fifo => EntryKind::Fifo,
            // Volume labels describe the archive, not a file.
            other if other.as_byte() == b'V' => return,
            other => {
                let location = here();
                return self.warn(
                    location,
                    format!(
                        "entry type {:?} is not a file; skipped",
                        other.as_byte() as char
                    ),
                );
            }
        };
        let Some(path) = normalize(&raw_path) else {
            let location = here();
            return self.warn(location, "path climbs above / with `..`; entry skipped");
        };
        let (path, kind) = match classify(path) {
            EntryPath::Plain(path) if path.is_empty() => return, // the root directory itself
            EntryPath::Plain(path) => (path, kind),
            EntryPath::Whiteout(target) => (target, EntryKind::Whiteout),
            EntryPath::Opaque(dir) => (dir, EntryKind::Opaque),
            EntryPath::AufsMeta => return,
        };
        if etype == EntryType::GNUSparse {
            let location = here();
            self.warn(
                location,
                format!("GNU sparse file: counted at its real size of {size} bytes"),
            );
        }

        let mut record = LayerEntry {
            path: path.into_boxed_slice(),
            kind,
            size: if kind == EntryKind::File { size } else { 0 },
            mode,
            uid,
            gid,
            mtime,
            link: None,
            link_entry: None,
            header_offset,
            data_offset,
            content_hash: None,
            debug_bytes: 0,
        };
        match kind {
            EntryKind::Symlink => record.link = link.map(Vec::into_boxed_slice),
            EntryKind::Hardlink => match link.as_deref().and_then(normalize) {
                Some(target) => {
                    record.link_entry = self.files_by_path.get(&self.path_key(&target)).copied();
                    record.link = Some(target.into_boxed_slice());
                }
                None => {
                    let location = here();
                    self.warn(
                        location,
                        "hardlink target is missing or climbs above /; kept as an empty file",
                    );
                }
            },
            _ => {}
        }
        let index = u32::try_from(self.entries.len()).unwrap_or(u32::MAX);
        // Sparse data is a map and fragments, not the file: only real files are read.
        let readable = kind == EntryKind::File && etype != EntryType::GNUSparse;
        let wanted = readable && (self.options.capture)(&record.path);
        if wanted && size > self.options.capture_limit {
            let location = here();
            self.warn(
                location,
                format!(
                    "package database of {size} bytes is over the {}-byte cap \
                     (--max-metadata); not read, so its packages stay unowned",
                    self.options.capture_limit
                ),
            );
        }
        let capture = wanted && size <= self.options.capture_limit;
        if capture {
            // Small metadata files (package databases) are the only contents ever kept.
            let mut content = Vec::with_capacity(usize::try_from(size).unwrap_or(0).min(1 << 20));
            match tar.data().read_to_end(&mut content) {
                Ok(_) => {
                    if self.hash_contents {
                        record.content_hash = Some(XxHash3_128::oneshot(&content).into());
                    }
                    self.captured.push((index, content.into_boxed_slice()));
                }
                Err(err) => self.unreadable_data(here(), &err),
            }
        } else if readable && self.hash_contents {
            match hash_and_sample(tar.data(), size) {
                Ok((hash, sample)) => {
                    record.content_hash = Some(hash.into());
                    if let Some(sample) = sample {
                        record.debug_bytes =
                            elf::debug_bytes(size, &mut |o, l| sample.read_at(o, l)).unwrap_or(0);
                    }
                }
                Err(err) => self.unreadable_data(here(), &err),
            }
        }

        let key = self.path_key(&record.path);
        if kind == EntryKind::File {
            self.file_bytes = self.file_bytes.saturating_add(record.size);
            self.files_by_path.insert(key, index);
        } else if kind != EntryKind::Hardlink {
            self.files_by_path.remove(&key);
        } else if let Some(target) = record.link_entry {
            // A link to a link shares the first file's content.
            self.files_by_path.insert(key, target);
        }
        self.entries.push(record);
        if self.entries.len() as u64 > self.options.entry_limit {
            self.failed = true;
            let location = Location::default().offset(header_offset);
            self.warn(
                location,
                format!(
                    "more than {} entries (--max-entries); the rest of the layer is not read",
                    self.options.entry_limit
                ),
            );
        }
    }

    /// The walk cannot go past a file whose data ends early.
    fn unreadable_data(&mut self, location: Location, err: &io::Error) {
        self.failed = true;
        self.warn(
            location,
            format!("file data is truncated or unreadable: {err}"),
        );
    }

    fn tail_start(&self) -> u64 {
        self.end_of_entries
    }

    /// Warns when the tar lacks its end blocks or carries data after them.
    fn check_tail(&mut self, total: u64, nonzero_after: u64) {
        if self.failed {
            return;
        }
        let tail = total.saturating_sub(self.end_of_entries);
        if tail < 2 * BLOCK && total > 0 {
            self.warn(
                Location::default().offset(self.end_of_entries),
                "layer tar ends without its two zero end blocks (entries are complete)",
            );
        }
        if nonzero_after > 0 {
            self.warn(
                Location::default().offset(self.end_of_entries),
                format!("{nonzero_after} non-zero bytes follow the end of the layer tar; ignored"),
            );
        }
    }

    fn finish(mut self, size_uncompressed: u64) -> LayerIndex {
        // The layer is complete: give back what doubling the vector reserved.
        self.entries.shrink_to_fit();
        LayerIndex {
            entries: self.entries,
            compression: Compression::None,
            size_compressed: 0,
            size_uncompressed,
            file_bytes: self.file_bytes,
            warnings: self.warnings,
            captured: self.captured,
            digests: None,
        }
    }
}

/// Hashes a streamed file (xxh3-128, as the merge hashes files of mapped layers) and, when
/// it is an ELF file, keeps its header and tail.
fn hash_and_sample<I: Input>(
    mut content: Data<'_, I>,
    size: u64,
) -> io::Result<(u128, Option<elf::Sample>)> {
    let mut hasher = XxHash3_128::new();
    let tail_start = size.saturating_sub(elf::TAIL as u64);
    let mut sample = elf::Sample {
        tail_start,
        ..elf::Sample::default()
    };
    let (mut pos, mut elf) = (0u64, None);
    let mut take = |chunk: &[u8]| {
        let n = chunk.len();
        hasher.write(chunk);
        if sample.head.len() < elf::HEADER {
            let take = (elf::HEADER - sample.head.len()).min(n);
            sample.head.extend_from_slice(&chunk[..take]);
            if sample.head.len() >= 4 {
                elf.get_or_insert(elf::is_elf(&sample.head));
            }
        }
        let end = pos + n as u64;
        if elf == Some(true) && end > tail_start {
            let from = usize::try_from(tail_start.saturating_sub(pos)).unwrap_or(0);
            sample.tail.extend_from_slice(&chunk[from..]);
        }
        pos = end;
    };
    loop {
        match content.read_with(&mut take) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok((hasher.finish_128(), (elf == Some(true)).then_some(sample)))
}

/// Whether a file in a seekable layer may be ELF and is worth one 64-byte read to find out.
fn may_be_elf(path: &[u8], size: u64) -> bool {
    const TEXT: [&[u8]; 24] = [
        b"py", b"pyc", b"pyi", b"txt", b"h", b"hpp", b"json", b"md", b"html", b"js", b"ts", b"css",
        b"yaml", b"yml", b"toml", b"cfg", b"ini", b"rst", b"csv", b"xml", b"pem", b"mo", b"png",
        b"svg",
    ];
    let name = crate::path::split_last(path).1;
    let ext = name
        .iter()
        .rposition(|&b| b == b'.')
        .map(|i| &name[i + 1..]);
    size >= elf::HEADER as u64 && !ext.is_some_and(|e| TEXT.contains(&e))
}

/// Reads the debug bytes of possible ELF files of a seekable layer, a few KiB each.
fn resolve_elf_debug<R: Read + Seek>(reader: &mut R, entries: &mut [LayerEntry]) {
    for entry in entries
        .iter_mut()
        .filter(|e| e.kind == EntryKind::File && may_be_elf(&e.path, e.size))
    {
        let (base, size) = (entry.data_offset, entry.size);
        let mut read_at = |offset: u64, len: usize| -> Option<Vec<u8>> {
            if offset.checked_add(len as u64)? > size {
                return None;
            }
            reader.seek(SeekFrom::Start(base + offset)).ok()?;
            let mut bytes = vec![0; len];
            reader.read_exact(&mut bytes).ok()?;
            Some(bytes)
        };
        entry.debug_bytes = elf::debug_bytes(size, &mut read_at).unwrap_or(0);
    }
}

/// The 128-bit content hash the merge compares to tell metadata-only rewrites (xxh3), of a
/// file of `size` bytes read with positioned reads: large reads, few system calls, and no
/// file pages left in RSS as a map would leave them.
pub(crate) fn hash_content(mut content: impl Read, size: u64) -> io::Result<u128> {
    let mut hasher = XxHash3_128::new();
    let mut buf = AlignedBuf::new(usize::try_from(size).unwrap_or(usize::MAX).min(256 << 10));
    loop {
        match content.read(&mut buf) {
            Ok(0) => return Ok(hasher.finish_128()),
            Ok(n) => hasher.write(&buf[..n]),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
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

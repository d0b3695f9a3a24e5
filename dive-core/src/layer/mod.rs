//! One layer on its own: decompress, walk every tar entry, keep metadata only.
//!
//! A [`LayerIndex`] depends only on the layer's bytes, so layers are walked in parallel and
//! in whatever order they arrive; only the merge needs the manifest order. [`walk`] is the
//! one entry: it chooses how a layer is read (`strategy.rs`), above the walk on one thread
//! (`one_thread.rs`) and the walk on three (`pipeline.rs`).

mod decompress;
mod elf_sections;
mod entries;
mod fatbin;
mod fatbin_chain;
mod fatbin_scan;
mod index;
mod one_thread;
mod options;
mod pipeline;
mod positioned_elf;
mod recorded;
mod strategy;
pub(crate) mod tar_input;
pub(crate) mod tar_reader;

pub use decompress::Compression;
pub(crate) use decompress::{decoder, sniff};
pub(crate) use entries::hash_content;
pub use fatbin::{Arch, DeviceCode};
unstable_use!(fatbin::{ArchVariant, CodeKind, Scan});
pub use index::{Captured, ContentHash, EntryKind, LayerDigests, LayerEntry, LayerIndex};
pub use one_thread::walk_reader;
unstable_use!(one_thread::walk_seekable);
pub use options::WalkOptions;
pub use recorded::{BuildKind, Dependency, Recorded};
pub use strategy::{Strategy, WalkInput, walk, walk_bytes, walk_reader_threaded};
unstable_use!(strategy::ReadSeek);

/// Debug bytes of an ELF file held whole in memory.
pub(crate) fn elf_debug_bytes_of(bytes: &[u8]) -> Option<u64> {
    let size = bytes.len() as u64;
    elf_sections::sections(size, &mut slice_reader(bytes))
        .map(|s| elf_sections::debug_bytes(&s, size))
}

/// Device code of an ELF file held whole in memory, found both ways: by its sections and
/// by a deep scan fed in `chunk`-byte pieces. With warnings.
pub(crate) fn device_code_of(bytes: &[u8], chunk: usize) -> Option<[fatbin::Reading; 2]> {
    let size = bytes.len() as u64;
    let sections = elf_sections::sections(size, &mut slice_reader(bytes))?;
    let by_sections = fatbin_scan::scan_sections(&sections, &mut slice_reader(bytes));
    let mut scanner = fatbin_scan::Scanner::new(size);
    for piece in bytes.chunks(chunk.max(1)) {
        scanner.feed(piece);
    }
    Some([by_sections, scanner.finish(&sections)])
}

/// The CUDA device code of one ELF file read from `file` (`size` bytes): its fat binary
/// sections by positioned reads, or with `deep` the whole file, fat binaries in any section;
/// with warnings about fat binaries that lie. `None` when it is not an ELF file.
#[cfg_attr(not(feature = "unstable"), allow(dead_code))] // For the tests.
pub fn read_device_code<R: std::io::Read + std::io::Seek>(
    file: &mut R,
    size: u64,
    deep: bool,
) -> Option<(Option<DeviceCode>, Vec<String>)> {
    positioned_elf::device_code_at(file, 0, size, deep).map(|(_, code)| code)
}

/// What a file held whole in `bytes` records of its build, read every way the walk reads
/// one: as a Java archive, as an ELF file by positioned reads and as it streams past in
/// `chunk`-byte pieces, and as Go build info and cargo auditable data themselves. The
/// dependencies found, all readings together.
pub(crate) fn recorded_of(bytes: &[u8], chunk: usize) -> usize {
    let size = bytes.len() as u64;
    let mut budget = recorded::InflateBudget::new(64 << 20);
    let mut found = Vec::new();
    found.extend(
        recorded::jar::read_jar(b"fuzz.jar", size, &mut slice_reader(bytes), &mut budget)
            .map(|(r, _)| r),
    );
    if let Some(sections) = elf_sections::sections(size, &mut slice_reader(bytes)) {
        let read = recorded::of_elf(&sections, size, &mut slice_reader(bytes), None, &mut budget);
        found.extend(read.and_then(Result::ok));
    }
    let mut sample = elf_sections::Sample::new(size, recorded::SECTIONS);
    let mut scan = recorded::go::Scan::default();
    let mut pos = 0;
    for piece in bytes.chunks(chunk.max(1)) {
        sample.take(pos, piece);
        scan.feed(pos, piece);
        pos += piece.len() as u64;
    }
    let streamed = elf_sections::sections(size, &mut |o, l| sample.read_at(o, l));
    if let Some(sections) = streamed {
        let mut read_at = |o, l| sample.read_at(o, l);
        let read = recorded::of_elf(&sections, size, &mut read_at, scan.finish(), &mut budget);
        found.extend(read.and_then(Result::ok));
    }
    found.extend(recorded::go::parse(bytes).ok());
    found.extend(recorded::cargo::parse(bytes, &mut budget).ok());
    found.iter().map(|r| r.dependencies.len()).sum()
}

/// `read_at` over bytes in memory.
fn slice_reader(bytes: &[u8]) -> impl FnMut(u64, usize) -> Option<Vec<u8>> + '_ {
    |offset, len| {
        let start = usize::try_from(offset).ok()?;
        bytes
            .get(start..start.checked_add(len)?)
            .map(<[u8]>::to_vec)
    }
}

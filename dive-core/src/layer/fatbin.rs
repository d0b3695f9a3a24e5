//! CUDA device code inside ELF files, per GPU architecture (DESIGN §9).
//!
//! A `.nv_fatbin` section holds fat binaries; each is a 16-byte header and entries, each an
//! entry header and its payload. Only headers are read, payloads are never decompressed:
//! an entry counts header + padded payload, the rest of the section (fat binary headers,
//! padding) is container bytes. Plain layers read the section table and the headers by
//! positioned reads ([`Scan::Sections`]). A streamed file passes whole anyway: [`Scanner`]
//! notes every fat binary magic on the way and follows its headers while the bytes pass
//! (offsets and headers only, never payloads), and the section table read at the end says
//! which ones count ([`Scan::Deep`]); fat binaries kept in `.rodata`/`.data` (cuBLASLt,
//! cuFFT) are found that way too. Every size comes from the file and is checked against the
//! fat binary's and the section's end before it is believed.

use std::collections::BTreeMap;
use std::fmt;

use memchr::memmem;
use serde::{Deserialize, Serialize};

use super::elf_sections::Section;

/// The fat binary magic `0xBA55ED50`, as it lies in a little-endian file.
const MAGIC: [u8; 4] = 0xBA55_ED50_u32.to_le_bytes();
/// A fat binary header: magic, version, header size, size of the entries.
const FAT_HEADER: usize = 16;
/// The part of an entry header read (real headers may be longer: the payload follows them).
const ENTRY_HEADER: usize = 64;
/// Sections that hold nothing but fat binaries.
const FATBIN_SECTIONS: [&[u8]; 3] = [b".nv_fatbin", b"__nv_relfatbin", b"__nv_fatbin"];
/// Most entries kept per file, in fat binaries found and being read: a library has
/// thousands, never a million (24 MiB of records at most).
const ENTRY_CAP: usize = 1 << 20;
/// Most fat binaries followed at once in a stream; magic numbers inside payloads start
/// chains that die at their first header, so a few suffice.
const CHAIN_CAP: usize = 64;
/// Largest stretch read at a time while looking for the next magic in a section.
const WINDOW: usize = 64 * 1024;
/// The first stretch read for it.
const FIRST_WINDOW: usize = 256;
/// Warnings said per file; the rest are counted.
const WARNING_CAP: usize = 4;
/// Most fat binaries kept per file (a library built from a few thousand CUDA sources has a
/// few thousand): about 5 MiB with their entries' records, while the file is read.
const FATBIN_CAP: usize = 1 << 16;
/// Headers read per file by positioned reads: a real library reads each of its entries'
/// once (fewer than [`ENTRY_CAP`]); fat binaries nested in each other, each failing at its
/// last entry, would otherwise read the same entries once per magic number (quadratic).
const HEADERS_CAP: usize = 4 * ENTRY_CAP;
/// Failed fat binaries kept per file, with where they failed; the rest are counted.
const FAILED_KEPT: usize = 1024;
/// Most GPU architectures believed in one file: a real library has a few dozen (SASS for
/// each SM from 50 to 120, their `a`/`f` variants, PTX); more is not device code.
const ARCH_CAP: usize = 256;

/// A file's device code, when it has some, and what was wrong with its fat binaries.
pub(crate) type Reading = (Option<DeviceCode>, Vec<String>);

/// What an entry of a fat binary holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum CodeKind {
    /// Machine code for one GPU architecture (a cubin).
    Sass,
    /// PTX, compiled when loaded for the GPU at hand.
    Ptx,
    /// LTO-IR, linked by nvJitLink.
    LtoIr,
    /// A kind this version does not know, by its number.
    Other(u16),
}

impl CodeKind {
    fn of(kind: u16) -> Self {
        match kind {
            1 => Self::Ptx,
            2 => Self::Sass,
            8 => Self::LtoIr,
            other => Self::Other(other),
        }
    }

    /// `sass`, `ptx`, `ltoir` (as cuobjdump and cubloaty say), `kind0x5` for others.
    pub fn name(self) -> String {
        match self {
            Self::Sass => "sass".to_owned(),
            Self::Ptx => "ptx".to_owned(),
            Self::LtoIr => "ltoir".to_owned(),
            Self::Other(n) => format!("kind{n:#x}"),
        }
    }
}

/// How far code for one architecture reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ArchVariant {
    /// `sm_90`: the same major version, this minor or later.
    Generic,
    /// `sm_90a`: exactly this architecture.
    Specific,
    /// `sm_100f`: the same family.
    Family,
}

/// The GPU architecture an entry was built for, with its kind: `sm_90a`, `compute_90`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Arch {
    /// What the code is.
    pub kind: CodeKind,
    /// The SM number: 90 for `sm_90`, 100 for `sm_100`.
    pub sm: u32,
    /// `a`, `f` or neither.
    pub variant: ArchVariant,
}

impl Arch {
    /// Whether a GPU of SM number `gpu` (86 for `sm_86`) can run this code: SASS of the same
    /// major version and a minor no later; `a` only on exactly its GPU; `f` on its family
    /// (the same major); PTX and LTO-IR, compiled when loaded, on any GPU at least as new.
    pub fn runs_on(self, gpu: u32) -> bool {
        let same_major = gpu / 10 == self.sm / 10 && gpu >= self.sm;
        match (self.variant, self.kind) {
            (ArchVariant::Specific, _) => gpu == self.sm,
            (ArchVariant::Generic, CodeKind::Ptx | CodeKind::LtoIr) => gpu >= self.sm,
            (ArchVariant::Family | ArchVariant::Generic, _) => same_major,
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = match self.kind {
            CodeKind::Ptx => "compute",
            CodeKind::LtoIr => "lto",
            CodeKind::Sass | CodeKind::Other(_) => "sm",
        };
        let suffix = match self.variant {
            ArchVariant::Generic => "",
            ArchVariant::Specific => "a",
            ArchVariant::Family => "f",
        };
        write!(f, "{prefix}_{}{suffix}", self.sm)
    }
}

/// How a file's device code was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Scan {
    /// The fat binary sections only, by positioned reads of their headers.
    Sections,
    /// The whole file read, fat binaries in any section found by their magic.
    Deep,
}

impl Scan {
    /// `sections` or `deep`, as the JSON says.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sections => "sections",
            Self::Deep => "deep",
        }
    }
}

/// The CUDA device code of one ELF file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceCode {
    /// How it was found.
    pub scan: Scan,
    /// Bytes of the entries (header + padded payload) by architecture, in architecture order.
    pub by_arch: Vec<(Arch, u64)>,
    /// Bytes of fat binary sections outside entries: fat binary headers, padding; and the
    /// headers of fat binaries found in other sections.
    pub container_bytes: u64,
    /// Of the device and container bytes, those found outside the fat binary sections.
    pub embedded_bytes: u64,
}

impl DeviceCode {
    /// Bytes of the entries, every architecture.
    pub fn device_bytes(&self) -> u64 {
        self.by_arch.iter().map(|(_, b)| b).sum()
    }

    /// The newest PTX: the code that serves GPUs newer than any SASS here.
    pub fn newest_ptx(&self) -> Option<Arch> {
        self.by_arch
            .iter()
            .map(|&(arch, _)| arch)
            .filter(|a| a.kind == CodeKind::Ptx && a.variant == ArchVariant::Generic)
            .max_by_key(|a| a.sm)
    }
}

/// A u16/u32/u64 at `at` of little-endian bytes (fat binaries are little-endian).
fn le(bytes: &[u8], at: usize, len: usize) -> u64 {
    bytes[at..at + len]
        .iter()
        .rev()
        .fold(0, |value, &b| (value << 8) | u64::from(b))
}

/// One fat binary whose headers all held.
#[derive(Debug, Clone)]
struct Found {
    start: u64,
    end: u64,
    header_size: u64,
    /// Every header looked as the CUDA toolkit writes them (versions, sizes, entries that
    /// fill the fat binary exactly): required of fat binaries outside fat binary sections,
    /// where a magic number may be chance.
    strict: bool,
    entries: Vec<(Arch, u64)>,
}

/// What was wrong with a fat binary: numbers only, put in words for the few warnings said
/// (a crafted file fails once per magic number, millions of times).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    EntryPastEnd {
        at: u64,
        header_size: u64,
        padded: u64,
        end: u64,
    },
    BadHeader,
    PastLimit {
        entries_size: u64,
        limit: u64,
    },
    TooManyEntries,
    Unreadable {
        at: u64,
    },
    Unseen {
        at: u64,
    },
    Unfinished,
}

impl Fault {
    /// The warning for a fat binary at `start`.
    fn message(self, start: u64) -> String {
        match self {
            Self::EntryPastEnd {
                at,
                header_size,
                padded,
                end,
            } => format!(
                "entry at offset {at}: a header of {header_size} bytes and a payload of \
                 {padded} bytes run past the fat binary's end at {end}"
            ),
            Self::BadHeader => format!("bad fat binary header at offset {start}"),
            Self::PastLimit {
                entries_size,
                limit,
            } => format!(
                "fat binary at offset {start} says it holds {entries_size} bytes, past the \
                 end at {limit}"
            ),
            Self::TooManyEntries => {
                format!("fat binary at offset {start}: more than {ENTRY_CAP} entries in the file")
            }
            Self::Unreadable { at } => format!("cannot read the header at offset {at}"),
            Self::Unseen { at } => format!("header at offset {at} was not seen"),
            Self::Unfinished => {
                format!("the file ends inside the fat binary at offset {start}")
            }
        }
    }
}

/// Fat binaries that failed, by offset: every one below `beyond` is kept, at most
/// [`FAILED_KEPT`] of them; the rest are only counted. Classifying needs where the failures
/// lie (after one, a section believes only well-formed fat binaries), so past `beyond`
/// every fat binary section is read as if one had failed there.
#[derive(Debug)]
struct Failures {
    kept: Vec<(u64, Fault)>,
    beyond: u64,
    count: u64,
}

impl Default for Failures {
    fn default() -> Self {
        Self {
            kept: Vec::new(),
            beyond: u64::MAX,
            count: 0,
        }
    }
}

impl Failures {
    fn push(&mut self, at: u64, fault: Fault) {
        self.count += 1;
        if at < self.beyond {
            self.kept.push((at, fault));
            if self.kept.len() >= 2 * FAILED_KEPT {
                self.trim();
            }
        }
    }

    /// Sorts the kept failures and drops all but the first [`FAILED_KEPT`].
    fn trim(&mut self) {
        self.kept.sort_unstable_by_key(|f| f.0);
        if let Some(&(first_dropped, _)) = self.kept.get(FAILED_KEPT) {
            self.beyond = self.beyond.min(first_dropped);
            self.kept.truncate(FAILED_KEPT);
        }
    }
}

/// A fat binary being read, header after header.
#[derive(Debug)]
struct Chain {
    start: u64,
    /// Where its bytes must end: the section's end, or the file's.
    limit: u64,
    /// Its end, once its header is read; 0 before.
    end: u64,
    header_size: u64,
    /// Offset of the next header wanted.
    next: u64,
    /// The part of the next header met so far (streams cut headers in two): `filled`
    /// bytes of `buf`.
    buf: [u8; ENTRY_HEADER],
    filled: usize,
    strict: bool,
    entries: Vec<(Arch, u64)>,
    /// Most entries it may take (what [`ENTRY_CAP`] leaves).
    room: usize,
}

/// Where a chain stands after a header.
enum Step {
    More,
    Done(Found),
    Failed(u64, Fault),
}

impl Chain {
    fn new(start: u64, limit: u64) -> Self {
        Self {
            start,
            limit,
            end: 0,
            header_size: 0,
            next: start,
            buf: [0; ENTRY_HEADER],
            filled: 0,
            strict: true,
            entries: Vec::new(),
            room: ENTRY_CAP,
        }
    }

    /// The offset and length of the header it needs next.
    fn want(&self) -> (u64, usize) {
        let len = if self.end == 0 {
            FAT_HEADER
        } else {
            ENTRY_HEADER
        };
        (self.next, len)
    }

    fn fail(&self, fault: Fault) -> Step {
        Step::Failed(self.start, fault)
    }

    /// The offset of the next byte it needs.
    fn wanted_at(&self) -> u64 {
        self.next + self.filled as u64
    }

    /// Takes the header it wanted.
    fn give(&mut self, bytes: &[u8]) -> Step {
        if self.end == 0 {
            return self.fat_header(bytes);
        }
        let at = self.next;
        let kind = le(bytes, 0, 2) as u16;
        let version = le(bytes, 2, 2);
        let header_size = le(bytes, 4, 4);
        let padded = le(bytes, 8, 8);
        let compressed = le(bytes, 0x10, 4);
        let sm = le(bytes, 0x1c, 4) as u32;
        let flags = le(bytes, 0x28, 8);
        let uncompressed = le(bytes, 0x38, 8);
        let stored = if uncompressed != 0 && compressed != 0 {
            compressed
        } else {
            padded
        };
        let payload_end = |len: u64| at.checked_add(header_size)?.checked_add(len);
        let fits = |len| payload_end(len).is_some_and(|e| e <= self.end);
        if header_size < ENTRY_HEADER as u64 || !fits(padded) || !fits(stored) {
            return self.fail(Fault::EntryPastEnd {
                at,
                header_size,
                padded,
                end: self.end,
            });
        }
        self.strict &= version == 0x0101 && header_size <= 0x1_0000 && kind != 0;
        let variant = if flags & 0x10_0000 != 0 {
            ArchVariant::Specific
        } else if flags & 0x20_0000 != 0 {
            ArchVariant::Family
        } else {
            ArchVariant::Generic
        };
        let arch = Arch {
            kind: CodeKind::of(kind),
            sm,
            variant,
        };
        if self.entries.len() >= self.room {
            return self.fail(Fault::TooManyEntries);
        }
        self.entries.push((arch, header_size + padded));
        self.next = at + header_size + padded;
        self.after_entry()
    }

    fn fat_header(&mut self, bytes: &[u8]) -> Step {
        let version = le(bytes, 4, 2);
        let header_size = le(bytes, 6, 2);
        let entries_size = le(bytes, 8, 8);
        if bytes[..4] != MAGIC || header_size < FAT_HEADER as u64 {
            return self.fail(Fault::BadHeader);
        }
        let end = self
            .start
            .checked_add(header_size)
            .and_then(|e| e.checked_add(entries_size))
            .filter(|&e| e <= self.limit);
        let Some(end) = end else {
            return self.fail(Fault::PastLimit {
                entries_size,
                limit: self.limit,
            });
        };
        self.strict = version == 1 && header_size == FAT_HEADER as u64;
        self.header_size = header_size;
        self.end = end;
        self.next = self.start + header_size;
        self.after_entry()
    }

    fn after_entry(&mut self) -> Step {
        if self.next + ENTRY_HEADER as u64 <= self.end {
            return Step::More;
        }
        self.strict &= self.next == self.end && !self.entries.is_empty();
        Step::Done(Found {
            start: self.start,
            end: self.end,
            header_size: self.header_size,
            strict: self.strict,
            entries: std::mem::take(&mut self.entries),
        })
    }

    /// Takes what it needs of `data`, the file's bytes from `at`; `None` while it needs
    /// bytes past them.
    fn offer(&mut self, at: u64, data: &[u8]) -> Option<Step> {
        loop {
            let (want, len) = self.want();
            let from = want + self.filled as u64;
            let stop = at + data.len() as u64;
            if from < at {
                return Some(self.fail(Fault::Unseen { at: want }));
            }
            if from >= stop {
                return None;
            }
            let i = (from - at) as usize;
            let take = (len - self.filled).min(data.len() - i);
            self.buf[self.filled..self.filled + take].copy_from_slice(&data[i..i + take]);
            self.filled += take;
            if self.filled < len {
                return None;
            }
            self.filled = 0;
            let header = self.buf;
            match self.give(&header[..len]) {
                Step::More => {}
                done => return Some(done),
            }
        }
    }
}

/// A stretch of a file that holds fat binaries: one section, or sections that overlap read
/// as one (real files never overlap them; a crafted one would otherwise be read, and its
/// device code counted, once per section).
#[derive(Debug)]
struct Span<'a> {
    name: &'a [u8],
    start: u64,
    end: u64,
    /// A fat binary section, or overlaps one.
    dedicated: bool,
}

/// The stretches to read among `sections`, in file order: the fat binary sections, and with
/// `all` every other section with bytes too. Whether any overlapped.
fn spans(sections: &[Section], all: bool) -> (Vec<Span<'_>>, bool) {
    let mut wanted: Vec<&Section> = sections
        .iter()
        .filter(|s| s.size > 0 && (all || is_fatbin_section(s)))
        .collect();
    wanted.sort_by_key(|s| (s.offset, std::cmp::Reverse(s.end())));
    let mut spans: Vec<Span<'_>> = Vec::with_capacity(wanted.len());
    let mut overlapped = false;
    for section in wanted {
        let dedicated = is_fatbin_section(section);
        match spans.last_mut() {
            Some(last) if section.offset < last.end => {
                overlapped = true;
                last.end = last.end.max(section.end());
                if dedicated && !last.dedicated {
                    last.dedicated = true;
                    last.name = &section.name;
                }
            }
            _ => spans.push(Span {
                name: &section.name,
                start: section.offset,
                end: section.end(),
                dedicated,
            }),
        }
    }
    (spans, overlapped)
}

/// Device code of an ELF file in a plain layer: the fat binary sections among `sections`,
/// read by `read_at(offset, len)`. Returns the code (when there is any) and warnings.
///
/// The sections are searched for magic numbers a window at a time (sections that overlap
/// are read as one), and at most [`HEADERS_CAP`] headers are read: time linear in the
/// sections' bytes plus that cap, memory one window of at most [`WINDOW`] bytes, at most
/// [`FATBIN_CAP`] fat binaries and [`FAILED_KEPT`] failures.
pub(crate) fn scan_sections(
    sections: &[Section],
    read_at: &mut dyn FnMut(u64, usize) -> Option<Vec<u8>>,
) -> Reading {
    let mut window = Window::new(read_at);
    let mut found: Vec<Found> = Vec::new();
    let mut failed = Failures::default();
    let mut capped = false;
    let mut entries = 0usize;
    let mut headers = 0usize;
    let (spans, _) = spans(sections, false);
    'spans: for span in &spans {
        let mut from = span.start;
        let mut strict = false;
        while let Some(start) = find_magic(&mut window, from, span.end) {
            if found.len() >= FATBIN_CAP {
                capped = true;
                break 'spans;
            }
            let mut chain = Chain::new(start, span.end);
            chain.room = ENTRY_CAP.saturating_sub(entries);
            let step = loop {
                let (at, len) = chain.want();
                headers += 1;
                if headers > HEADERS_CAP {
                    capped = true;
                    break 'spans;
                }
                let Some(bytes) = window.get(at, len) else {
                    break chain.fail(Fault::Unreadable { at });
                };
                match chain.give(bytes) {
                    Step::More => {}
                    done => break done,
                }
            };
            match step {
                Step::Done(fatbin) if fatbin.strict || !strict => {
                    from = fatbin.end;
                    entries += fatbin.entries.len();
                    found.push(fatbin);
                }
                Step::Done(_) | Step::More => from = start + 1,
                Step::Failed(at, fault) => {
                    // As cuobjdump-like readers do: after one bad fat binary, only
                    // well-formed ones are believed.
                    failed.push(at, fault);
                    strict = true;
                    from = start + 1;
                }
            }
        }
    }
    failed.trim();
    let (code, mut warnings) = classify(&found, &failed, sections, Scan::Sections);
    if capped {
        warnings.push(format!(
            "more than {FATBIN_CAP} fat binaries or {HEADERS_CAP} headers; the rest were not \
             read and device code may be missing"
        ));
    }
    (code, warnings)
}

/// Positioned reads through one buffer that the next read replaces: a read that goes on
/// from the last one reads twice as much (up to [`WINDOW`]), so that a run of magic numbers
/// is read a window at a time rather than once per number; a read elsewhere (an entry
/// header after a payload) reads [`FIRST_WINDOW`] bytes, since a fat binary's header and
/// first entry header come together and the next fat binary follows a few bytes after.
struct Window<'a> {
    read_at: &'a mut dyn FnMut(u64, usize) -> Option<Vec<u8>>,
    start: u64,
    bytes: Vec<u8>,
}

impl<'a> Window<'a> {
    fn new(read_at: &'a mut dyn FnMut(u64, usize) -> Option<Vec<u8>>) -> Self {
        Self {
            read_at,
            start: 0,
            bytes: Vec::new(),
        }
    }

    /// How many bytes the window holds from `offset`.
    fn held(&self, offset: u64) -> u64 {
        let end = self.start + self.bytes.len() as u64;
        if offset >= self.start {
            end.saturating_sub(offset)
        } else {
            0
        }
    }

    /// Reads the window anew at `offset`: `want` bytes, or only `len` where the file ends
    /// before `want`.
    fn fill(&mut self, offset: u64, len: usize, want: usize) -> Option<()> {
        let bytes = (self.read_at)(offset, want.max(len))
            .or_else(|| (self.read_at)(offset, len))
            .filter(|b| b.len() >= len)?;
        self.start = offset;
        self.bytes = bytes;
        Some(())
    }

    /// How much a read at `offset` takes: twice the last when it goes on from it.
    fn next_size(&self, offset: u64) -> usize {
        let going_on = offset >= self.start && offset <= self.start + self.bytes.len() as u64;
        if going_on && !self.bytes.is_empty() {
            (self.bytes.len() * 2).clamp(FIRST_WINDOW, WINDOW)
        } else {
            FIRST_WINDOW
        }
    }

    /// The `len` bytes at `offset`.
    fn get(&mut self, offset: u64, len: usize) -> Option<&[u8]> {
        if self.held(offset) < len as u64 {
            self.fill(offset, len, self.next_size(offset))?;
        }
        let at = usize::try_from(offset - self.start).ok()?;
        self.bytes.get(at..at.checked_add(len)?)
    }

    /// Up to `max` bytes from `offset`, at least a magic number's length (when `max` is).
    fn from(&mut self, offset: u64, max: usize) -> Option<&[u8]> {
        let least = max.min(MAGIC.len());
        if self.held(offset) < least as u64 {
            let want = self.next_size(offset).min(max);
            self.fill(offset, least, want)?;
        }
        let at = usize::try_from(offset - self.start).ok()?;
        let end = self.bytes.len().min(at.saturating_add(max));
        self.bytes.get(at..end)
    }
}

/// The first fat binary magic in `[from, end)`, searched in the window's bytes.
fn find_magic(window: &mut Window<'_>, mut from: u64, end: u64) -> Option<u64> {
    while from + MAGIC.len() as u64 <= end {
        let max = usize::try_from(end - from).unwrap_or(usize::MAX);
        let bytes = window.from(from, max)?;
        if let Some(i) = memmem::find(bytes, &MAGIC) {
            return Some(from + i as u64);
        }
        if bytes.len() < MAGIC.len() {
            return None;
        }
        from += (bytes.len() - (MAGIC.len() - 1)) as u64;
    }
    None
}

fn is_fatbin_section(section: &Section) -> bool {
    FATBIN_SECTIONS.contains(&section.name.as_slice())
}

/// Follows fat binaries in a file while its bytes pass, holding headers only.
///
/// Time is linear in the file's bytes: a magic number costs a comparison with the end of the
/// fat binaries followed and, when it starts one, its header; the [`CHAIN_CAP`] chains
/// followed at once are looked at only when one of them wants the bytes that pass (each
/// reads each of its headers once). Memory is at most [`CHAIN_CAP`] chains, [`FATBIN_CAP`]
/// fat binaries with [`ENTRY_CAP`] entries in all, and [`FAILED_KEPT`] failures, whatever
/// the file holds.
#[derive(Debug)]
pub(crate) struct Scanner {
    size: u64,
    pos: u64,
    /// The last bytes seen, for a magic number cut by a chunk's end.
    carry: Vec<u8>,
    chains: Vec<Chain>,
    found: Vec<Found>,
    failed: Failures,
    /// Magic numbers not followed: too many chains at once, or fat binaries in all.
    dropped: u64,
    entries: usize,
    /// The first offset any chain needs (`u64::MAX` when none does): bytes before it pass
    /// without a look at the chains.
    wanted: u64,
    /// The end of the furthest fat binary being followed whose first entry held: a magic
    /// number before it lies inside (every chain started before it).
    covered_end: u64,
    /// Times a chain was offered bytes: the work of following, which tests hold.
    looks: u64,
}

impl Scanner {
    /// A scanner for a file of `size` bytes, fed from its first byte.
    pub(crate) fn new(size: u64) -> Self {
        Self {
            size,
            pos: 0,
            carry: Vec::new(),
            chains: Vec::new(),
            found: Vec::new(),
            failed: Failures::default(),
            dropped: 0,
            entries: 0,
            wanted: u64::MAX,
            covered_end: 0,
            looks: 0,
        }
    }

    /// Takes the file's next bytes. Chains read the stream up to each magic number before
    /// it is judged, and the last bytes of a chunk (where a magic number may begin) wait for
    /// the next one, so that however the stream is cut the same fat binaries are followed.
    pub(crate) fn feed(&mut self, chunk: &[u8]) {
        let at = self.pos;
        let held = std::mem::take(&mut self.carry);
        let held_at = at - held.len() as u64;
        if !held.is_empty() {
            let mut seam = held.clone();
            seam.extend_from_slice(&chunk[..chunk.len().min(MAGIC.len() - 1)]);
            for i in memmem::find_iter(&seam, &MAGIC).filter(|&i| i < held.len()) {
                self.advance(held_at, &held[..i]);
                self.consider(held_at + i as u64, &[]);
            }
            self.advance(held_at, &held);
        }
        for i in memmem::find_iter(chunk, &MAGIC) {
            self.advance(at, &chunk[..i]);
            self.consider(at + i as u64, &chunk[i..]);
        }
        let keep = chunk.len().min(MAGIC.len() - 1);
        self.advance(at, &chunk[..chunk.len() - keep]);
        self.pos = at + chunk.len() as u64;
        // The last bytes of the stream, even across chunks shorter than a magic number.
        let mut tail = if keep == MAGIC.len() - 1 {
            Vec::new()
        } else {
            held
        };
        tail.extend_from_slice(&chunk[chunk.len() - keep..]);
        let cut = tail.len().saturating_sub(MAGIC.len() - 1);
        self.carry = tail.split_off(cut);
    }

    /// A magic number at `start`, with the bytes of the chunk from it: followed, unless it
    /// lies inside a fat binary followed. A fat binary header at hand is read at once, so
    /// that a run of magic numbers whose headers fail (a crafted file) costs no chain each.
    fn consider(&mut self, start: u64, ahead: &[u8]) {
        if start < self.covered_end {
            return;
        }
        if !self.has_room() {
            self.dropped += 1;
            return;
        }
        let mut chain = Chain::new(start, self.size);
        if let Some(header) = ahead.get(..FAT_HEADER) {
            match chain.give(header) {
                Step::More => {}
                done => return self.settle(done),
            }
        }
        self.wanted = self.wanted.min(chain.wanted_at());
        self.chains.push(chain);
    }

    /// Whether another chain may be followed.
    fn has_room(&self) -> bool {
        self.chains.len() < CHAIN_CAP
            && self.entries < ENTRY_CAP
            && self.found.len() + self.chains.len() < FATBIN_CAP
    }

    /// Gives every chain the bytes of `data` (the file's from `at`) it needs. The entries
    /// of the chains still being read count against [`ENTRY_CAP`] with those found: chains
    /// that overlap could otherwise each hold as many. Bytes no chain wants pass at once,
    /// so that a magic number costs no look at the chains waiting further on.
    fn advance(&mut self, at: u64, data: &[u8]) {
        if at + (data.len() as u64) <= self.wanted {
            return;
        }
        let mut in_flight = self.in_flight();
        let mut i = 0;
        while i < self.chains.len() {
            let before = self.chains[i].entries.len();
            self.looks += 1;
            match self.chains[i].offer(at, data) {
                None => {
                    in_flight += self.chains[i].entries.len() - before;
                    if self.entries + in_flight <= ENTRY_CAP {
                        i += 1;
                    } else {
                        let chain = self.chains.swap_remove(i);
                        in_flight -= chain.entries.len();
                        self.settle(chain.fail(Fault::TooManyEntries));
                    }
                }
                Some(step) => {
                    in_flight -= before;
                    self.chains.swap_remove(i);
                    self.settle(step);
                }
            }
        }
        self.wanted = self
            .chains
            .iter()
            .map(Chain::wanted_at)
            .min()
            .unwrap_or(u64::MAX);
        self.covered_end = self
            .chains
            .iter()
            .filter(|c| !c.entries.is_empty())
            .map(|c| c.end)
            .max()
            .unwrap_or(0);
    }

    /// Entries of the chains being read.
    fn in_flight(&self) -> usize {
        self.chains.iter().map(|c| c.entries.len()).sum()
    }

    fn settle(&mut self, step: Step) {
        match step {
            Step::Done(found) => {
                self.entries += found.entries.len();
                self.found.push(found);
            }
            Step::Failed(at, fault) => self.failed.push(at, fault),
            Step::More => {}
        }
    }

    /// The device code among `sections`, once the whole file has passed.
    pub(crate) fn finish(mut self, sections: &[Section]) -> Reading {
        let held = std::mem::take(&mut self.carry);
        self.advance(self.pos - held.len() as u64, &held);
        for chain in std::mem::take(&mut self.chains) {
            self.failed.push(chain.start, Fault::Unfinished);
        }
        self.found.sort_by_key(|f| f.start);
        self.failed.trim();
        let (code, mut warnings) = classify(&self.found, &self.failed, sections, Scan::Deep);
        if self.dropped > 0 && code.is_some() {
            warnings.push(format!(
                "{} fat binary magic numbers were not followed (more than {CHAIN_CAP} at \
                 once, or {FATBIN_CAP} fat binaries in all); device code may be missing",
                self.dropped
            ));
        }
        (code, warnings)
    }
}

/// Which fat binaries count: in a fat binary section, those read one after another from its
/// start (after a bad one, only well-formed ones); in other sections (deep scans only),
/// well-formed ones at 8-byte offsets. Bad ones in fat binary sections are warnings.
///
/// `found` and `failed.kept` are in file order: each span finds its own by binary search,
/// so the time is `O((spans + found) log found)` however many sections the file claims.
fn classify(found: &[Found], failed: &Failures, sections: &[Section], scan: Scan) -> Reading {
    let mut by_arch: BTreeMap<Arch, u64> = BTreeMap::new();
    let (mut container, mut embedded, mut any) = (0u64, 0u64, false);
    let mut warnings = Vec::new();
    let mut unsaid = 0u64;
    let mut say = |span: &Span<'_>, message: String| {
        if warnings.len() < WARNING_CAP {
            warnings.push(format!("{}: {message}", lossy(span.name)));
        } else {
            unsaid += 1;
        }
    };
    let (spans, overlapped) = spans(sections, scan == Scan::Deep);
    let mut unknown_failures = false;
    let mut too_many_archs = false;
    'spans: for span in &spans {
        let dedicated = span.dedicated;
        let lo = found.partition_point(|f| f.start < span.start);
        let hi = found.partition_point(|f| f.start < span.end);
        let bad_lo = failed.kept.partition_point(|f| f.0 < span.start);
        let bad_hi = failed.kept.partition_point(|f| f.0 < span.end);
        let mut cursor = span.start;
        let mut strict = !dedicated;
        let mut bad = failed.kept[bad_lo..bad_hi].iter().peekable();
        let mut entry_bytes = 0u64;
        // Failures past `beyond` were counted, not kept: a fat binary section reaching past
        // it believes only well-formed fat binaries from there.
        let beyond = failed.beyond.max(span.start);
        for fatbin in &found[lo..hi] {
            while let Some(&(at, fault)) = bad.next_if(|(at, _)| *at < fatbin.start) {
                if dedicated && at >= cursor {
                    strict = true;
                    say(span, fault.message(at));
                }
            }
            if dedicated && beyond < fatbin.start {
                strict = true;
                unknown_failures = true;
            }
            let aligned = dedicated || fatbin.start % 8 == 0;
            if fatbin.start < cursor
                || fatbin.end > span.end
                || (strict && !fatbin.strict)
                || !aligned
            {
                continue;
            }
            cursor = fatbin.end;
            any = true;
            for &(arch, bytes) in &fatbin.entries {
                entry_bytes += bytes;
                *by_arch.entry(arch).or_default() += bytes;
                if by_arch.len() > ARCH_CAP {
                    too_many_archs = true;
                    break 'spans;
                }
            }
            if !dedicated {
                container += fatbin.header_size;
                embedded += fatbin.end - fatbin.start;
            }
        }
        for &(at, fault) in bad {
            if dedicated && at >= cursor {
                say(span, fault.message(at));
            }
        }
        if dedicated {
            container += (span.end - span.start).saturating_sub(entry_bytes);
        }
    }
    let dropped = failed.count - failed.kept.len() as u64;
    let unsaid = unsaid + if unknown_failures { dropped } else { 0 };
    if unsaid > 0 {
        warnings.push(format!("and {unsaid} more bad fat binaries"));
    }
    if unknown_failures {
        warnings.push(format!(
            "past offset {} only well-formed fat binaries were believed: more than \
             {FAILED_KEPT} bad ones before it",
            failed.beyond
        ));
    }
    if overlapped {
        warnings.push("sections overlap; their bytes were read once".to_owned());
    }
    if !any {
        return (None, warnings);
    }
    if too_many_archs {
        warnings.push(format!(
            "more than {ARCH_CAP} GPU architectures in one file (a real library has a few \
             dozen); not believed as device code"
        ));
        return (None, warnings);
    }
    let code = DeviceCode {
        scan,
        by_arch: by_arch.into_iter().collect(),
        container_bytes: container,
        embedded_bytes: embedded,
    };
    (Some(code), warnings)
}

/// A section name for a warning (warnings are escaped when shown).
fn lossy(name: &[u8]) -> String {
    String::from_utf8_lossy(name).into_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::cell::Cell;

    use dive_testdata::crafted::{
        elf_over, empty_fatbins, magic_run, many_archs, nested_fatbins, waiting_chains,
    };
    use dive_testdata::{arch_sweep, fatbin};

    use super::*;
    use crate::layer::elf_sections;

    /// Reads of `bytes` that count how many bytes and calls they cost.
    fn counting<'a>(
        bytes: &'a [u8],
        read: &'a Cell<u64>,
        calls: &'a Cell<u64>,
    ) -> impl FnMut(u64, usize) -> Option<Vec<u8>> + 'a {
        move |offset, len| {
            let start = usize::try_from(offset).ok()?;
            let piece = bytes.get(start..start.checked_add(len)?)?.to_vec();
            read.set(read.get() + len as u64);
            calls.set(calls.get() + 1);
            Some(piece)
        }
    }

    fn sections_of(file: &[u8]) -> Vec<Section> {
        elf_sections::sections(file.len() as u64, &mut |o, l| {
            let o = usize::try_from(o).ok()?;
            file.get(o..o + l).map(<[u8]>::to_vec)
        })
        .unwrap()
    }

    /// Both readings of `file`, and what they cost.
    struct Both {
        by_sections: Reading,
        /// Bytes and calls the positioned reads took.
        read: u64,
        calls: u64,
        deep: Reading,
        /// Most failures and fat binaries the scanner held at once.
        held_failures: usize,
        held_found: usize,
    }

    /// Reads `file` by positioned reads of its sections, and by a scanner fed 64 KiB at a
    /// time.
    fn read_both(file: &[u8]) -> Both {
        let sections = sections_of(file);
        let (read, calls) = (Cell::new(0), Cell::new(0));
        let by_sections = scan_sections(&sections, &mut counting(file, &read, &calls));
        let mut scanner = Scanner::new(file.len() as u64);
        let (mut held_failures, mut held_found) = (0, 0);
        for chunk in file.chunks(64 << 10) {
            scanner.feed(chunk);
            held_failures = held_failures.max(scanner.failed.kept.len());
            held_found = held_found.max(scanner.found.len());
        }
        Both {
            by_sections,
            read: read.get(),
            calls: calls.get(),
            deep: scanner.finish(&sections),
            held_failures,
            held_found,
        }
    }

    #[test]
    fn a_section_of_magic_numbers_is_read_once_and_keeps_a_bounded_record() {
        let data = magic_run(8 << 20);
        let file = elf_over(&data, &[(".nv_fatbin", 0, data.len() as u64)]);
        let both = read_both(&file);
        // Every magic number starts a chain that fails at its first header: two million of
        // them, counted; a thousand or two kept at a time, a few said.
        assert!(both.by_sections.0.is_none() && both.deep.0.is_none());
        assert!(
            both.held_failures < 2 * FAILED_KEPT,
            "{}",
            both.held_failures
        );
        for warnings in [&both.by_sections.1, &both.deep.1] {
            assert!(warnings.len() <= WARNING_CAP + 3, "{warnings:?}");
            assert!(
                warnings.iter().any(|w| w.contains("more bad fat binaries")),
                "{warnings:?}"
            );
        }
        // Windows grow to 64 KiB while the search goes on: the section is read about once,
        // in a few hundred reads, not one read per magic number.
        assert!(
            both.read < 2 * file.len() as u64,
            "{} bytes read",
            both.read
        );
        assert!(both.calls < 2_000, "{} reads", both.calls);
    }

    #[test]
    fn empty_fat_binaries_stop_at_the_cap_with_a_warning() {
        let data = empty_fatbins(4 << 20);
        let file = elf_over(&data, &[(".nv_fatbin", 0, data.len() as u64)]);
        let both = read_both(&file);
        assert!(both.held_found <= FATBIN_CAP, "{}", both.held_found);
        assert!(both.calls < 4_000, "{} reads", both.calls);
        let said = |warnings: &[String], what: &str| warnings.iter().any(|w| w.contains(what));
        assert!(
            said(&both.by_sections.1, "more than 65536 fat binaries"),
            "{:?}",
            both.by_sections.1
        );
        assert!(said(&both.deep.1, "were not followed"), "{:?}", both.deep.1);
    }

    #[test]
    fn overlapping_sections_are_read_once_and_counted_once() {
        let mut data = fatbin(&arch_sweep(&[80, 90], 64 << 10), 3);
        let fatbin_len = data.len() as u64;
        data.resize(data.len() + (256 << 10), 0);
        let len = data.len() as u64;
        let one = elf_over(&data, &[(".nv_fatbin", 0, len)]);
        // Sections starting 8 bytes apart, all running to the end: each but the first
        // starts inside the fat binary and would search the rest for a magic number.
        let many: Vec<(&str, u64, u64)> = (0..5_000u64)
            .map(|i| (".nv_fatbin", (i * 8) % len, len - (i * 8) % len))
            .collect();
        let crowded = elf_over(&data, &many);
        let alone = read_both(&one).by_sections.0.unwrap();
        let both = read_both(&crowded);
        assert!(
            both.by_sections.1.iter().any(|w| w.contains("overlap")),
            "{:?}",
            both.by_sections.1
        );
        for code in [both.by_sections.0.unwrap(), both.deep.0.unwrap()] {
            assert_eq!(code.by_arch, alone.by_arch);
            assert_eq!(code.device_bytes() + code.container_bytes, len);
        }
        assert!(alone.device_bytes() < fatbin_len);
        assert!(
            both.read < 2 * crowded.len() as u64,
            "{} bytes read",
            both.read
        );
    }

    #[test]
    fn more_architectures_than_any_library_holds_are_not_device_code() {
        for (n, believed) in [(ARCH_CAP as u64, true), (ARCH_CAP as u64 + 1, false)] {
            let data = many_archs(n);
            let file = elf_over(&data, &[(".nv_fatbin", 0, data.len() as u64)]);
            let both = read_both(&file);
            for (code, warnings) in [both.by_sections, both.deep] {
                assert_eq!(code.is_some(), believed, "{n} architectures: {warnings:?}");
                if let Some(code) = code {
                    assert_eq!(code.by_arch.len() as u64, n);
                } else {
                    assert!(warnings.iter().any(|w| w.contains("GPU architectures")));
                }
            }
        }
    }

    #[test]
    fn chains_being_read_share_the_entry_cap() {
        // A fat binary of more entries than the cap: it fails, and nothing holds more
        // than the cap's records while it is read.
        let data = many_archs(ENTRY_CAP as u64 + 8);
        let file = elf_over(&data, &[(".nv_fatbin", 0, data.len() as u64)]);
        let mut scanner = Scanner::new(file.len() as u64);
        for chunk in file.chunks(1 << 20) {
            scanner.feed(chunk);
            assert!(scanner.in_flight() + scanner.entries <= ENTRY_CAP);
        }
        let (code, warnings) = scanner.finish(&sections_of(&file));
        assert!(code.is_none());
        assert!(
            warnings.iter().any(|w| w.contains("entries in the file")),
            "{warnings:?}"
        );
    }

    #[test]
    fn nested_fat_binaries_stop_at_the_header_cap() {
        // 8,192 fat binaries nested in each other, each failing at its last entry: read
        // again from each magic number they would cost 33 million headers.
        let data = nested_fatbins(8_192);
        let file = elf_over(&data, &[(".nv_fatbin", 0, data.len() as u64)]);
        let both = read_both(&file);
        assert!(
            both.by_sections.1.iter().any(|w| w.contains("headers")),
            "{:?}",
            both.by_sections.1
        );
        // The headers read stop at the cap: their bytes, read a window at a time (each
        // chain from its own start), stay within twice the cap's.
        assert!(
            both.read <= 2 * 64 * HEADERS_CAP as u64,
            "{} bytes read",
            both.read
        );
    }

    #[test]
    fn chains_waiting_further_on_are_not_looked_at_per_magic_number() {
        // 64 fat binaries followed at once, each waiting 60 KB on, over a million magic
        // numbers: a look at every chain per magic number was 67 million looks.
        let data = waiting_chains(4 << 20);
        let file = elf_over(&data, &[(".nv_fatbin", 0, data.len() as u64)]);
        let mut scanner = Scanner::new(file.len() as u64);
        for chunk in file.chunks(64 << 10) {
            scanner.feed(chunk);
        }
        assert!(scanner.looks < 20_000, "{} looks", scanner.looks);
        let (code, _) = scanner.finish(&sections_of(&file));
        assert!(code.is_some());
    }
}

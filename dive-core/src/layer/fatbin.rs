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

use std::fmt;

use memchr::memmem;
use serde::{Deserialize, Serialize};

use super::elf::Section;

/// The fat binary magic `0xBA55ED50`, as it lies in a little-endian file.
const MAGIC: [u8; 4] = 0xBA55_ED50_u32.to_le_bytes();
/// A fat binary header: magic, version, header size, size of the entries.
const FAT_HEADER: usize = 16;
/// The part of an entry header read (real headers may be longer: the payload follows them).
const ENTRY_HEADER: usize = 64;
/// Sections that hold nothing but fat binaries.
const FATBIN_SECTIONS: [&[u8]; 3] = [b".nv_fatbin", b"__nv_relfatbin", b"__nv_fatbin"];
/// Most entries kept per file: a library has thousands, never a million.
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
    /// The part of the next header met so far (streams cut headers in two).
    buf: Vec<u8>,
    strict: bool,
    entries: Vec<(Arch, u64)>,
}

/// Where a chain stands after a header.
enum Step {
    More,
    Done(Found),
    Failed(u64, String),
}

impl Chain {
    fn new(start: u64, limit: u64) -> Self {
        Self {
            start,
            limit,
            end: 0,
            header_size: 0,
            next: start,
            buf: Vec::new(),
            strict: true,
            entries: Vec::new(),
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

    fn fail(&self, message: String) -> Step {
        Step::Failed(self.start, message)
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
            return self.fail(format!(
                "entry at offset {at}: a header of {header_size} bytes and a payload of \
                 {padded} bytes run past the fat binary's end at {}",
                self.end
            ));
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
        if self.entries.len() >= ENTRY_CAP {
            return self.fail(format!("more than {ENTRY_CAP} entries"));
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
            return self.fail(format!("bad fat binary header at offset {}", self.start));
        }
        let end = self
            .start
            .checked_add(header_size)
            .and_then(|e| e.checked_add(entries_size))
            .filter(|&e| e <= self.limit);
        let Some(end) = end else {
            return self.fail(format!(
                "fat binary at offset {} says it holds {entries_size} bytes, past the end \
                 at {}",
                self.start, self.limit
            ));
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
            let from = want + self.buf.len() as u64;
            let stop = at + data.len() as u64;
            if from < at {
                return Some(self.fail(format!("header at offset {want} was not seen")));
            }
            if from >= stop {
                return None;
            }
            let i = (from - at) as usize;
            let take = (len - self.buf.len()).min(data.len() - i);
            self.buf.extend_from_slice(&data[i..i + take]);
            if self.buf.len() < len {
                return None;
            }
            let header = std::mem::take(&mut self.buf);
            match self.give(&header) {
                Step::More => {}
                done => return Some(done),
            }
        }
    }
}

/// Device code of an ELF file in a plain layer: the fat binary sections among `sections`,
/// read by `read_at(offset, len)`. Returns the code (when there is any) and warnings.
pub(crate) fn scan_sections(
    sections: &[Section],
    read_at: &mut dyn FnMut(u64, usize) -> Option<Vec<u8>>,
) -> Reading {
    let mut ahead = ReadAhead {
        read_at,
        start: 0,
        bytes: Vec::new(),
    };
    let read_at = &mut |offset, len| ahead.read(offset, len);
    let mut found = Vec::new();
    let mut failed = Vec::new();
    for section in sections.iter().filter(|s| is_fatbin_section(s)) {
        let end = section.end();
        let mut from = section.offset;
        let mut strict = false;
        while let Some(start) = find_magic(read_at, from, end) {
            let mut chain = Chain::new(start, end);
            let step = loop {
                let (at, len) = chain.want();
                let Some(bytes) = read_at(at, len).filter(|b| b.len() == len) else {
                    break chain.fail(format!("cannot read the header at offset {at}"));
                };
                match chain.give(&bytes) {
                    Step::More => {}
                    done => break done,
                }
            };
            match step {
                Step::Done(fatbin) if fatbin.strict || !strict => {
                    from = fatbin.end;
                    found.push(fatbin);
                }
                Step::Done(_) | Step::More => from = start + 1,
                Step::Failed(at, message) => {
                    // As cuobjdump-like readers do: after one bad fat binary, only
                    // well-formed ones are believed.
                    failed.push((at, message));
                    strict = true;
                    from = start + 1;
                }
            }
        }
    }
    classify(&found, &failed, sections, Scan::Sections)
}

/// Positioned reads of at least [`FIRST_WINDOW`] bytes, the last one kept: a fat binary's
/// header and first entry header come with the read that found its magic, and an entry
/// with a small payload brings the next header along.
struct ReadAhead<'a> {
    read_at: &'a mut dyn FnMut(u64, usize) -> Option<Vec<u8>>,
    start: u64,
    bytes: Vec<u8>,
}

impl ReadAhead<'_> {
    fn read(&mut self, offset: u64, len: usize) -> Option<Vec<u8>> {
        let end = offset.checked_add(len as u64)?;
        if offset >= self.start && end <= self.start + self.bytes.len() as u64 {
            let at = usize::try_from(offset - self.start).ok()?;
            return Some(self.bytes[at..at + len].to_vec());
        }
        // Past the end of the file the longer read fails: then only what was asked.
        let bytes = (self.read_at)(offset, len.max(FIRST_WINDOW))
            .or_else(|| (self.read_at)(offset, len))?;
        let asked = bytes.get(..len)?.to_vec();
        self.start = offset;
        self.bytes = bytes;
        Some(asked)
    }
}

/// The first fat binary magic in `[from, end)`, read a window at a time: small at first,
/// since the next fat binary in a section follows a few bytes of padding.
fn find_magic(
    read_at: &mut dyn FnMut(u64, usize) -> Option<Vec<u8>>,
    mut from: u64,
    end: u64,
) -> Option<u64> {
    let mut window = FIRST_WINDOW;
    while from + MAGIC.len() as u64 <= end {
        let len = usize::try_from(end - from).map_or(window, |l| l.min(window));
        let bytes = read_at(from, len)?;
        if let Some(i) = memmem::find(&bytes, &MAGIC) {
            return Some(from + i as u64);
        }
        if bytes.len() < MAGIC.len() {
            return None;
        }
        from += (bytes.len() - (MAGIC.len() - 1)) as u64;
        window = (window * 4).min(WINDOW);
    }
    None
}

fn is_fatbin_section(section: &Section) -> bool {
    FATBIN_SECTIONS.contains(&section.name.as_slice())
}

/// Follows fat binaries in a file while its bytes pass, holding headers only.
#[derive(Debug)]
pub(crate) struct Scanner {
    size: u64,
    pos: u64,
    /// The last bytes seen, for a magic number cut by a chunk's end.
    carry: Vec<u8>,
    chains: Vec<Chain>,
    found: Vec<Found>,
    failed: Vec<(u64, String)>,
    /// Magic numbers not followed: too many chains at once.
    dropped: u64,
    entries: usize,
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
            failed: Vec::new(),
            dropped: 0,
            entries: 0,
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
                self.consider(held_at + i as u64);
            }
            self.advance(held_at, &held);
        }
        for i in memmem::find_iter(chunk, &MAGIC) {
            self.advance(at, &chunk[..i]);
            self.consider(at + i as u64);
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

    /// A magic number at `start`: followed, unless it lies inside a fat binary followed.
    fn consider(&mut self, start: u64) {
        if !self.covered(start) {
            self.start(Chain::new(start, self.size));
        }
    }

    /// Gives every chain the bytes of `data` (the file's from `at`) it needs.
    fn advance(&mut self, at: u64, data: &[u8]) {
        let mut i = 0;
        while i < self.chains.len() {
            match self.chains[i].offer(at, data) {
                None => i += 1,
                Some(step) => {
                    self.chains.swap_remove(i);
                    self.settle(step);
                }
            }
        }
    }

    /// Whether `at` lies inside a fat binary being followed whose first entry held.
    fn covered(&self, at: u64) -> bool {
        self.chains
            .iter()
            .any(|c| c.start < at && at < c.end && !c.entries.is_empty())
    }

    fn start(&mut self, chain: Chain) {
        if self.chains.len() < CHAIN_CAP && self.entries < ENTRY_CAP {
            self.chains.push(chain);
        } else {
            self.dropped += 1;
        }
    }

    fn settle(&mut self, step: Step) {
        match step {
            Step::Done(found) => {
                self.entries += found.entries.len();
                self.found.push(found);
            }
            Step::Failed(at, message) => self.failed.push((at, message)),
            Step::More => {}
        }
    }

    /// The device code among `sections`, once the whole file has passed.
    pub(crate) fn finish(mut self, sections: &[Section]) -> Reading {
        let held = std::mem::take(&mut self.carry);
        self.advance(self.pos - held.len() as u64, &held);
        for chain in std::mem::take(&mut self.chains) {
            let message = format!(
                "the file ends inside the fat binary at offset {}",
                chain.start
            );
            self.failed.push((chain.start, message));
        }
        self.found.sort_by_key(|f| f.start);
        self.failed.sort_by_key(|f| f.0);
        let (code, mut warnings) = classify(&self.found, &self.failed, sections, Scan::Deep);
        if self.dropped > 0 && code.is_some() {
            warnings.push(format!(
                "{} fat binary magic numbers were not followed (more than {CHAIN_CAP} at \
                 once); device code may be missing",
                self.dropped
            ));
        }
        (code, warnings)
    }
}

/// Which fat binaries count: in a fat binary section, those read one after another from its
/// start (after a bad one, only well-formed ones); in other sections (deep scans only),
/// well-formed ones at 8-byte offsets. Bad ones in fat binary sections are warnings.
fn classify(
    found: &[Found],
    failed: &[(u64, String)],
    sections: &[Section],
    scan: Scan,
) -> Reading {
    let mut by_arch: Vec<(Arch, u64)> = Vec::new();
    let (mut container, mut embedded, mut any) = (0u64, 0u64, false);
    let mut warnings = Vec::new();
    let mut unsaid = 0usize;
    let mut say = |section: &[u8], message: &str| {
        if warnings.len() < WARNING_CAP {
            warnings.push(format!("{}: {message}", lossy(section)));
        } else {
            unsaid += 1;
        }
    };
    for section in sections.iter().filter(|s| s.size > 0) {
        let (start, end) = (section.offset, section.end());
        let dedicated = is_fatbin_section(section);
        if !dedicated && scan == Scan::Sections {
            continue;
        }
        let inside = |at: u64| at >= start && at < end;
        let mut cursor = start;
        let mut strict = !dedicated;
        let mut bad = failed.iter().filter(|(at, _)| inside(*at)).peekable();
        let mut entry_bytes = 0u64;
        for fatbin in found.iter().filter(|f| inside(f.start)) {
            while let Some((at, message)) = bad.next_if(|(at, _)| *at < fatbin.start) {
                if dedicated && *at >= cursor {
                    strict = true;
                    say(&section.name, message);
                }
            }
            let aligned = dedicated || fatbin.start % 8 == 0;
            if fatbin.start < cursor || fatbin.end > end || (strict && !fatbin.strict) || !aligned {
                continue;
            }
            cursor = fatbin.end;
            any = true;
            for &(arch, bytes) in &fatbin.entries {
                entry_bytes += bytes;
                match by_arch.iter_mut().find(|(a, _)| *a == arch) {
                    Some((_, total)) => *total += bytes,
                    None => by_arch.push((arch, bytes)),
                }
            }
            if !dedicated {
                container += fatbin.header_size;
                embedded += fatbin.end - fatbin.start;
            }
        }
        for (at, message) in bad {
            if dedicated && *at >= cursor {
                say(&section.name, message);
            }
        }
        if dedicated {
            container += section.size.saturating_sub(entry_bytes);
        }
    }
    if unsaid > 0 {
        warnings.push(format!("and {unsaid} more bad fat binaries"));
    }
    if !any {
        return (None, warnings);
    }
    by_arch.sort();
    let code = DeviceCode {
        scan,
        by_arch,
        container_bytes: container,
        embedded_bytes: embedded,
    };
    (Some(code), warnings)
}

/// A section name for a warning (warnings are escaped when shown).
fn lossy(name: &[u8]) -> String {
    String::from_utf8_lossy(name).into_owned()
}

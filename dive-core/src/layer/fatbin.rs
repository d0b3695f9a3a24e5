//! CUDA device code inside ELF files, per GPU architecture: what it is, and how fat binaries
//! are told apart from bytes that only look like them.
//!
//! The format, as the CUDA toolkit writes it (no public specification; `cuobjdump` and
//! `cubloaty` read it the same way): a fat binary is a 16-byte header (u32 magic
//! `0xBA55ED50`, u16 version, u16 header size, u64 size of the entries that follow) and its
//! entries, each an entry header then its payload: u16 kind at 0x00 (1 PTX, 2 ELF/SASS
//! cubin, 8 LTO-IR), u32 header size at 0x04, u64 padded payload size at 0x08, u32
//! compressed size at 0x10 (0 = stored plain), u32 SM number at 0x1c (90, 100, …), u64 flags
//! at 0x28 (0x100000 = arch-specific `sm_90a`, 0x200000 = family `sm_100f`), u64
//! uncompressed size at 0x38. The next entry starts after header size + padded payload size.
//!
//! A `.nv_fatbin` section holds fat binaries; each is a 16-byte header and entries, each an
//! entry header and its payload. Only headers are read, payloads are never decompressed:
//! an entry counts header + padded payload, the rest of the section (fat binary headers,
//! padding) is container bytes. Plain layers read the section table and the headers by
//! positioned reads ([`Scan::Sections`]). A streamed file passes whole anyway: `Scanner`
//! notes every fat binary magic on the way and follows its headers while the bytes pass
//! (offsets and headers only, never payloads), and the section table read at the end says
//! which ones count ([`Scan::Deep`]); fat binaries kept in `.rodata`/`.data` (cuBLASLt,
//! cuFFT) are found that way too. Every size comes from the file and is checked against the
//! fat binary's and the section's end before it is believed.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The fat binary magic `0xBA55ED50`, as it lies in a little-endian file.
pub(super) const MAGIC: [u8; 4] = 0xBA55_ED50_u32.to_le_bytes();
/// A fat binary header: magic, version, header size, size of the entries.
pub(super) const FAT_HEADER: usize = 16;
/// The part of an entry header read (real headers may be longer: the payload follows them).
pub(super) const ENTRY_HEADER: usize = 64;
/// Sections that hold nothing but fat binaries.
pub(super) const FATBIN_SECTIONS: [&[u8]; 3] = [b".nv_fatbin", b"__nv_relfatbin", b"__nv_fatbin"];
/// Most entries kept per file, in fat binaries found and being read: a library has
/// thousands, never a million (24 MiB of records at most).
pub(super) const ENTRY_CAP: usize = 1 << 20;
/// Most fat binaries followed at once in a stream; magic numbers inside payloads start
/// chains that die at their first header, so a few suffice.
pub(super) const CHAIN_CAP: usize = 64;
/// Largest stretch read at a time while looking for the next magic in a section.
pub(super) const WINDOW: usize = 64 * 1024;
/// The first stretch read for it.
pub(super) const FIRST_WINDOW: usize = 256;
/// Warnings said per file; the rest are counted.
pub(super) const WARNING_CAP: usize = 4;
/// Most fat binaries kept per file (a library built from a few thousand CUDA sources has a
/// few thousand): about 5 MiB with their entries' records, while the file is read.
pub(super) const FATBIN_CAP: usize = 1 << 16;
/// Headers read per file by positioned reads: a real library reads each of its entries'
/// once (fewer than [`ENTRY_CAP`]); fat binaries nested in each other, each failing at its
/// last entry, would otherwise read the same entries once per magic number (quadratic).
pub(super) const HEADERS_CAP: usize = 4 * ENTRY_CAP;
/// Failed fat binaries kept per file, with where they failed; the rest are counted.
pub(super) const FAILED_KEPT: usize = 1024;
/// Most GPU architectures believed in one file: a real library has a few dozen (SASS for
/// each SM from 50 to 120, their `a`/`f` variants, PTX); more is not device code.
pub(super) const ARCH_CAP: usize = 256;

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
    pub(super) fn of(kind: u16) -> Self {
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
    #[doc(hidden)]
    pub kind: CodeKind,
    /// The SM number: 90 for `sm_90`, 100 for `sm_100`.
    pub sm: u32,
    /// `a`, `f` or neither.
    #[doc(hidden)]
    pub variant: ArchVariant,
}

impl Arch {
    /// The SM number: 90 for `sm_90`, 100 for `sm_100`.
    pub fn sm(self) -> u32 {
        self.sm
    }

    /// What the code is: `sass`, `ptx`, `ltoir` (as cuobjdump and cubloaty say), `kind0x5`
    /// for others.
    pub fn kind_name(self) -> String {
        self.kind.name()
    }

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
    /// How it was found ([`DeviceCode::scan_name`]).
    #[doc(hidden)]
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
    /// How the code was found: `sections` (the fat binary sections only) or `deep` (the
    /// whole file read), as the JSON says.
    pub fn scan_name(&self) -> &'static str {
        self.scan.name()
    }

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
pub(super) fn le(bytes: &[u8], at: usize, len: usize) -> u64 {
    bytes[at..at + len]
        .iter()
        .rev()
        .fold(0, |value, &b| (value << 8) | u64::from(b))
}

/// One fat binary whose headers all held.
#[derive(Debug, Clone)]
pub(super) struct Found {
    pub(super) start: u64,
    pub(super) end: u64,
    pub(super) header_size: u64,
    /// Every header looked as the CUDA toolkit writes them (versions, sizes, entries that
    /// fill the fat binary exactly): required of fat binaries outside fat binary sections,
    /// where a magic number may be chance.
    pub(super) strict: bool,
    pub(super) entries: Vec<(Arch, u64)>,
}

/// What was wrong with a fat binary: numbers only, put in words for the few warnings said
/// (a crafted file fails once per magic number, millions of times).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fault {
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
    pub(super) fn message(self, start: u64) -> String {
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
pub(super) struct Failures {
    pub(super) kept: Vec<(u64, Fault)>,
    pub(super) beyond: u64,
    pub(super) count: u64,
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
    pub(super) fn push(&mut self, at: u64, fault: Fault) {
        self.count += 1;
        if at < self.beyond {
            self.kept.push((at, fault));
            if self.kept.len() >= 2 * FAILED_KEPT {
                self.trim();
            }
        }
    }

    /// Sorts the kept failures and drops all but the first [`FAILED_KEPT`].
    pub(super) fn trim(&mut self) {
        self.kept.sort_unstable_by_key(|f| f.0);
        if let Some(&(first_dropped, _)) = self.kept.get(FAILED_KEPT) {
            self.beyond = self.beyond.min(first_dropped);
            self.kept.truncate(FAILED_KEPT);
        }
    }
}

/// A section name for a warning (warnings are escaped when shown).
pub(super) fn lossy(name: &[u8]) -> String {
    String::from_utf8_lossy(name).into_owned()
}

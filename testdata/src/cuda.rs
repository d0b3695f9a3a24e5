//! ELF files that carry CUDA device code, laid out as the CUDA toolkit lays out fat binaries,
//! each with the generator's own account of the bytes per architecture.
//!
//! The layout, as `dive-core/src/layer/fatbin.rs` reads it: a `.nv_fatbin` section holds
//! fat binaries, each a 16-byte header (u32 magic `0xBA55ED50`, u16 version, u16 header
//! size, u64 size of the entries that follow) and entries, each an entry header then its
//! payload: u16 kind at 0x00 (1 PTX, 2 SASS, 8 LTO-IR), u32 header size at 0x04, u64 padded
//! payload size at 0x08, u32 compressed size at 0x10 (0 = stored plain), u32 SM number at
//! 0x1c, u64 flags at 0x28 (0x100000 `sm_90a`, 0x200000 `sm_100f`), u64 uncompressed size at
//! 0x38; the next entry starts after header size + padded payload size.

use std::collections::BTreeMap;

use crate::content::Content;

/// The fat binary magic, as stored (little-endian).
const MAGIC: u32 = 0xBA55_ED50;

/// One entry of a fat binary: its kind (1 PTX, 2 SASS, 8 LTO-IR), SM number, flags and the
/// length of its stored payload.
#[derive(Debug, Clone, Copy)]
pub struct FatEntry {
    /// 1 PTX, 2 SASS, 8 LTO-IR.
    pub kind: u16,
    /// 90 for `sm_90`.
    pub sm: u32,
    /// 0x100000 for `a`, 0x200000 for `f`.
    pub flags: u64,
    /// Payload bytes as stored, before padding to 8.
    pub payload: u64,
    /// Stored compressed: the compressed size is `payload`, the uncompressed twice that.
    pub compressed: bool,
    /// Entry header bytes (64 is the least; the toolkit writes 64–80).
    pub header: u32,
}

impl FatEntry {
    /// SASS for `sm_XY`.
    pub fn sass(sm: u32, payload: u64) -> Self {
        Self {
            kind: 2,
            sm,
            flags: 0,
            payload,
            compressed: false,
            header: 64,
        }
    }

    /// PTX for `compute_XY`.
    pub fn ptx(sm: u32, payload: u64) -> Self {
        Self {
            kind: 1,
            header: 72,
            ..Self::sass(sm, payload)
        }
    }

    /// LTO-IR for `lto_XY`.
    pub fn ltoir(sm: u32, payload: u64) -> Self {
        Self {
            kind: 8,
            ..Self::sass(sm, payload)
        }
    }

    /// The arch-specific variant (`sm_90a`).
    #[must_use]
    pub fn specific(self) -> Self {
        Self {
            flags: 0x10_0000,
            ..self
        }
    }

    /// The family variant (`sm_100f`).
    #[must_use]
    pub fn family(self) -> Self {
        Self {
            flags: 0x20_0000,
            ..self
        }
    }

    /// Stored compressed.
    #[must_use]
    pub fn compressed(self) -> Self {
        Self {
            compressed: true,
            ..self
        }
    }

    /// The payload padded to 8 bytes, as the entry header records it.
    pub fn padded(&self) -> u64 {
        self.payload.div_ceil(8) * 8
    }

    /// Bytes the entry takes in the file: header and padded payload.
    pub fn file_bytes(&self) -> u64 {
        u64::from(self.header) + self.padded()
    }

    /// `sm_90a`, `compute_90`, `lto_90`: the generator's own naming of what it wrote.
    pub fn arch(&self) -> String {
        let prefix = match self.kind {
            1 => "compute",
            8 => "lto",
            _ => "sm",
        };
        let suffix = match self.flags {
            0x10_0000 => "a",
            0x20_0000 => "f",
            _ => "",
        };
        format!("{prefix}_{}{suffix}", self.sm)
    }

    /// `sass`, `ptx`, `ltoir`.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            1 => "ptx",
            8 => "ltoir",
            _ => "sass",
        }
    }
}

/// One fat binary: header, then each entry's header and payload.
pub fn fatbin(entries: &[FatEntry], seed: u64) -> Vec<u8> {
    let mut body = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let mut header = vec![0u8; entry.header as usize];
        header[0..2].copy_from_slice(&entry.kind.to_le_bytes());
        header[2..4].copy_from_slice(&0x0101u16.to_le_bytes());
        header[4..8].copy_from_slice(&entry.header.to_le_bytes());
        header[8..16].copy_from_slice(&entry.padded().to_le_bytes());
        if entry.compressed {
            header[0x10..0x14].copy_from_slice(&(entry.payload as u32).to_le_bytes());
            header[0x38..0x40].copy_from_slice(&(entry.payload * 2).to_le_bytes());
        }
        header[0x1c..0x20].copy_from_slice(&entry.sm.to_le_bytes());
        header[0x28..0x30].copy_from_slice(&entry.flags.to_le_bytes());
        body.extend_from_slice(&header);
        body.extend(Content::to_vec(seed * 1000 + i as u64, entry.payload));
        body.resize(body.len() + (entry.padded() - entry.payload) as usize, 0);
    }
    let mut out = Vec::with_capacity(16 + body.len());
    out.extend_from_slice(&MAGIC.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend(body);
    out
}

/// A section of an ELF file to build: name, type (1 PROGBITS, 8 NOBITS) and bytes.
#[derive(Debug, Clone)]
pub struct ElfSection {
    /// `.text`, `.nv_fatbin`…
    pub name: String,
    /// `SHT_*`.
    pub kind: u32,
    /// Its bytes (none for NOBITS).
    pub bytes: Vec<u8>,
    /// The size its header claims, when not its bytes' (NOBITS sections claim memory).
    pub claims: Option<u64>,
}

impl ElfSection {
    /// A PROGBITS section.
    pub fn new(name: &str, bytes: Vec<u8>) -> Self {
        Self {
            name: name.to_owned(),
            kind: 1,
            bytes,
            claims: None,
        }
    }

    /// A section of type `kind`.
    pub fn of_kind(name: &str, kind: u32, bytes: Vec<u8>) -> Self {
        Self {
            kind,
            ..Self::new(name, bytes)
        }
    }
}

/// An ELF64 little-endian file of type `e_type` (2 executable, 3 shared object) holding
/// `sections` at `align`-byte offsets, then `.shstrtab`, then the section table at the end,
/// as linkers put it.
pub fn elf_of(e_type: u16, align: usize, sections: &[ElfSection]) -> Vec<u8> {
    let mut names = b"\0".to_vec();
    let mut out = vec![0u8; 64];
    let mut table: Vec<(u32, u32, u64, u64)> = vec![(0, 0, 0, 0)];
    let name_of = |names: &mut Vec<u8>, name: &str| {
        let at = names.len() as u32;
        names.extend_from_slice(name.as_bytes());
        names.push(0);
        at
    };
    for section in sections {
        while !out.len().is_multiple_of(align) {
            out.push(0);
        }
        let name = name_of(&mut names, &section.name);
        let size = section.claims.unwrap_or(section.bytes.len() as u64);
        table.push((name, section.kind, out.len() as u64, size));
        out.extend_from_slice(&section.bytes);
    }
    let shstrndx = table.len();
    let name = name_of(&mut names, ".shstrtab");
    table.push((name, 3, out.len() as u64, names.len() as u64));
    out.extend_from_slice(&names);
    while !out.len().is_multiple_of(8) {
        out.push(0);
    }
    let shoff = out.len() as u64;
    section_table(&table, &mut out);
    out[..64].copy_from_slice(&elf_header(e_type, shoff, table.len(), shstrndx));
    out
}

/// A section table of `(name offset, type, file offset, size)` rows, appended to `out`.
pub(crate) fn section_table(table: &[(u32, u32, u64, u64)], out: &mut Vec<u8>) {
    for (name, kind, offset, size) in table {
        let mut header = [0u8; 64];
        header[0..4].copy_from_slice(&name.to_le_bytes());
        header[4..8].copy_from_slice(&kind.to_le_bytes());
        header[24..32].copy_from_slice(&offset.to_le_bytes());
        header[32..40].copy_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&header);
    }
}

/// The header of an ELF64 little-endian x86-64 file of type `e_type` whose section table
/// of `sections` rows lies at `shoff`, the names' section at row `shstrndx`.
pub(crate) fn elf_header(e_type: u16, shoff: u64, sections: usize, shstrndx: usize) -> [u8; 64] {
    let mut head = [0u8; 64];
    head[0..7].copy_from_slice(b"\x7fELF\x02\x01\x01");
    head[16..18].copy_from_slice(&e_type.to_le_bytes());
    head[18..20].copy_from_slice(&62u16.to_le_bytes()); // x86-64
    head[20..24].copy_from_slice(&1u32.to_le_bytes());
    head[40..48].copy_from_slice(&shoff.to_le_bytes());
    head[52..54].copy_from_slice(&64u16.to_le_bytes());
    head[58..60].copy_from_slice(&64u16.to_le_bytes());
    head[60..62].copy_from_slice(&(sections as u16).to_le_bytes());
    head[62..64].copy_from_slice(&(shstrndx as u16).to_le_bytes());
    head
}

/// A CUDA library the generator built, with what it holds.
#[derive(Debug, Clone)]
pub struct CudaFile {
    /// The file.
    pub bytes: Vec<u8>,
    /// Entry bytes (header + padded payload) by architecture name, in fat binary sections.
    pub sections: BTreeMap<String, u64>,
    /// Entry bytes by architecture name, in fat binaries kept in `.rodata`.
    pub embedded: BTreeMap<String, u64>,
    /// `.nv_fatbin` bytes outside entries (fat binary headers, padding between them) and the
    /// headers of the fat binaries in `.rodata`.
    pub container: u64,
    /// `kind` of each architecture name.
    pub kinds: BTreeMap<String, &'static str>,
    /// Fat binaries in `.rodata`.
    pub embedded_fatbins: u64,
}

impl CudaFile {
    /// Entry bytes by architecture, wherever they are.
    pub fn by_arch(&self) -> BTreeMap<String, u64> {
        let mut all = self.sections.clone();
        for (arch, bytes) in &self.embedded {
            *all.entry(arch.clone()).or_default() += bytes;
        }
        all
    }

    /// Entry bytes, every architecture.
    pub fn device_bytes(&self) -> u64 {
        self.by_arch().values().sum()
    }
}

/// A shared library (or, with `e_type` 2, an executable) with `.text` of `text` bytes, a
/// `.nv_fatbin` of `fatbins` (16 zero bytes of padding between them) and, in `.rodata`
/// between other bytes, the `embedded` fat binaries.
pub fn cuda_library(
    e_type: u16,
    text: u64,
    fatbins: &[Vec<FatEntry>],
    embedded: &[Vec<FatEntry>],
    seed: u64,
) -> CudaFile {
    let mut file = CudaFile {
        bytes: Vec::new(),
        sections: BTreeMap::new(),
        embedded: BTreeMap::new(),
        container: 0,
        kinds: BTreeMap::new(),
        embedded_fatbins: embedded.len() as u64,
    };
    let count = |into: &mut BTreeMap<String, u64>,
                 kinds: &mut BTreeMap<String, &'static str>,
                 entries: &[FatEntry]| {
        for entry in entries {
            *into.entry(entry.arch()).or_default() += entry.file_bytes();
            kinds.insert(entry.arch(), entry.kind_name());
        }
    };
    let mut section = Vec::new();
    for (i, entries) in fatbins.iter().enumerate() {
        if i > 0 {
            section.extend_from_slice(&[0; 16]);
            file.container += 16;
        }
        section.extend(fatbin(entries, seed + i as u64));
        file.container += 16;
        count(&mut file.sections, &mut file.kinds, entries);
    }
    let mut rodata = Content::to_vec(seed + 100, 1000);
    for (i, entries) in embedded.iter().enumerate() {
        rodata.extend(fatbin(entries, seed + 200 + i as u64));
        rodata.extend(Content::to_vec(seed + 300 + i as u64, 1000));
        file.container += 16;
        count(&mut file.embedded, &mut file.kinds, entries);
    }
    let mut sections = vec![ElfSection::new(".text", Content::to_vec(seed + 400, text))];
    if !embedded.is_empty() {
        sections.push(ElfSection::new(".rodata", rodata));
    }
    if !fatbins.is_empty() {
        sections.push(ElfSection::new(".nv_fatbin", section));
    }
    file.bytes = elf_of(e_type, 16, &sections);
    file
}

/// Every entry kind, variant and storage at once: SASS for `sms`, the newest as PTX too.
pub fn arch_sweep(sms: &[u32], payload: u64) -> Vec<FatEntry> {
    let mut entries: Vec<FatEntry> = sms.iter().map(|&sm| FatEntry::sass(sm, payload)).collect();
    if let Some(&newest) = sms.iter().max() {
        entries.push(FatEntry::ptx(newest, payload / 4 + 3));
    }
    entries
}

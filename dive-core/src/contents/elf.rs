//! What an ELF file is, for people: class, machine, type, `SONAME`, `DT_NEEDED`, build-id,
//! sections with their sizes and the bytes of debug info and symbols. Read with the `object`
//! crate over positioned reads of the file, so only its headers, the section table and the
//! few sections named are read, however large the file.

use std::io::{self, Read, Seek, SeekFrom};

use object::elf::{
    DT_NEEDED, DT_SONAME, EM_386, EM_AARCH64, EM_ARM, EM_CUDA, EM_PPC64, EM_RISCV, EM_S390,
    EM_X86_64, ET_CORE, ET_DYN, ET_EXEC, ET_REL, NT_GNU_BUILD_ID, SHT_NOBITS,
};
use object::read::elf::{Dyn as _, FileHeader, SectionHeader as _};
use object::{ReadCache, ReadRef};

use super::{Contents, EntryReader};
use crate::analysis::Analysis;
use crate::error::Result;

/// An ELF file's summary ([`Contents::elf_summary`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ElfSummary {
    /// `ELF64 little-endian`.
    pub class: String,
    /// `x86-64`, `AArch64`…
    pub machine: String,
    /// `shared object`, `executable`, `relocatable`, `core`.
    pub kind: String,
    /// `DT_SONAME`, for a shared library.
    pub soname: Option<String>,
    /// `DT_NEEDED`: the libraries it loads.
    pub needed: Vec<String>,
    /// The GNU build-id, in hex.
    pub build_id: Option<String>,
    /// Sections in file order, with the bytes each takes in the file (0 for `.bss`).
    pub sections: Vec<(String, u64)>,
    /// Bytes of `.debug_*`/`.zdebug_*` sections.
    pub debug_bytes: u64,
    /// Bytes of `.symtab` and `.strtab` (what `strip` removes besides debug info).
    pub symbol_bytes: u64,
}

impl Contents {
    /// The summary of entry `entry` of layer `layer` when it is an ELF file; `None` when it
    /// is not one or its headers do not parse (the reason is the error's text then).
    pub fn elf_summary(
        &self,
        analysis: &Analysis,
        layer: usize,
        entry: usize,
    ) -> Result<std::result::Result<ElfSummary, String>> {
        let size = analysis.entry(layer, entry).map_or(0, |e| e.size);
        let seeker = Seeker {
            contents: self,
            analysis,
            layer,
            entry,
            size,
            pos: 0,
            reader: None,
        };
        let cache = ReadCache::new(seeker);
        let summary = match object::FileKind::parse(&cache) {
            Ok(object::FileKind::Elf32) => {
                summary::<object::elf::FileHeader32<object::Endianness>, _>(&cache)
            }
            Ok(object::FileKind::Elf64) => {
                summary::<object::elf::FileHeader64<object::Endianness>, _>(&cache)
            }
            Ok(_) => Err("not an ELF file".to_owned()),
            Err(e) => Err(e.to_string()),
        };
        Ok(summary)
    }
}

/// The summary from the file header, the section table, the dynamic section and the notes;
/// symbol tables are only measured, never parsed (a broken one does not hide the rest).
fn summary<'data, Elf, R>(data: R) -> std::result::Result<ElfSummary, String>
where
    Elf: FileHeader<Endian = object::Endianness>,
    R: ReadRef<'data>,
{
    let text = |e: object::Error| e.to_string();
    let header = Elf::parse(data).map_err(text)?;
    let endian = header.endian().map_err(text)?;
    let sections = header.sections(endian, data).map_err(text)?;
    let (mut soname, mut needed) = (None, Vec::new());
    if let Some((dynamic, link)) = sections.dynamic(endian, data).map_err(text)? {
        let strings = sections.strings(endian, data, link).map_err(text)?;
        for entry in dynamic {
            let tag: u64 = entry.d_tag(endian).into();
            // `Dyn::string` takes a table of bytes in memory; this one reads on demand.
            let name = || {
                entry
                    .val32(endian)
                    .and_then(|at| strings.get(at).ok())
                    .map(|s| String::from_utf8_lossy(s).into_owned())
            };
            if tag == u64::from(DT_NEEDED) {
                needed.extend(name());
            } else if tag == u64::from(DT_SONAME) {
                soname = name();
            }
        }
    }
    let mut summary = ElfSummary {
        class: format!(
            "ELF{} {}-endian",
            if header.is_type_64() { 64 } else { 32 },
            if header.is_little_endian() {
                "little"
            } else {
                "big"
            }
        ),
        machine: machine(header.e_machine(endian)),
        kind: match header.e_type(endian) {
            ET_DYN => "shared object".to_owned(),
            ET_EXEC => "executable".to_owned(),
            ET_REL => "relocatable".to_owned(),
            ET_CORE => "core".to_owned(),
            other => format!("type {other}"),
        },
        soname,
        needed,
        build_id: None,
        sections: Vec::new(),
        debug_bytes: 0,
        symbol_bytes: 0,
    };
    for section in sections.iter() {
        let name = sections
            .section_name(endian, section)
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default();
        let stored = if section.sh_type(endian) == SHT_NOBITS {
            0
        } else {
            section.sh_size(endian).into()
        };
        if let Ok(Some(mut notes)) = section.notes(endian, data) {
            while let Ok(Some(note)) = notes.next() {
                if note.name() == b"GNU" && note.n_type(endian) == NT_GNU_BUILD_ID {
                    summary.build_id =
                        Some(note.desc().iter().map(|b| format!("{b:02x}")).collect());
                }
            }
        }
        if name.starts_with(".debug_") || name.starts_with(".zdebug_") {
            summary.debug_bytes += stored;
        } else if name == ".symtab" || name == ".strtab" {
            summary.symbol_bytes += stored;
        }
        if !name.is_empty() {
            summary.sections.push((name, stored));
        }
    }
    Ok(summary)
}

/// The machine in words, for the common ones (`e_machine`).
fn machine(code: u16) -> String {
    match code {
        EM_X86_64 => "x86-64".to_owned(),
        EM_AARCH64 => "AArch64".to_owned(),
        EM_386 => "x86".to_owned(),
        EM_ARM => "ARM".to_owned(),
        EM_PPC64 => "PowerPC64".to_owned(),
        EM_S390 => "s390x".to_owned(),
        EM_RISCV => "RISC-V".to_owned(),
        EM_CUDA => "NVIDIA CUDA".to_owned(),
        other => format!("machine {other}"),
    }
}

/// The file as `Read + Seek`: a read at another place than the last one ended opens the
/// entry there again (a positioned read in a plain layer).
struct Seeker<'a> {
    contents: &'a Contents,
    analysis: &'a Analysis,
    layer: usize,
    entry: usize,
    size: u64,
    pos: u64,
    /// The open reader and where it stands.
    reader: Option<(u64, EntryReader<'static>)>,
}

impl Read for Seeker<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.size {
            return Ok(0);
        }
        if self.reader.as_ref().is_none_or(|(at, _)| *at != self.pos) {
            let reader = self
                .contents
                .open_at(self.analysis, self.layer, self.entry, self.pos)
                .map_err(io::Error::other)?;
            self.reader = Some((self.pos, reader));
        }
        let Some((at, reader)) = self.reader.as_mut() else {
            return Ok(0);
        };
        let n = reader.read(buf)?;
        *at += n as u64;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Seeker<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let pos = match to {
            SeekFrom::Start(at) => Some(at),
            SeekFrom::End(delta) => self.size.checked_add_signed(delta),
            SeekFrom::Current(delta) => self.pos.checked_add_signed(delta),
        };
        self.pos = pos
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        Ok(self.pos)
    }
}

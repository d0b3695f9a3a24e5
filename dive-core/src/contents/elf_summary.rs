//! What an ELF file is, for people: class, machine, type, `SONAME`, `DT_NEEDED`, build-id,
//! sections with their sizes and the bytes of debug info and symbols. Parsed with the
//! `object` crate from a few regions of the file read in bounded rounds (`elf_read`): the
//! head, the section table, then the section names, the dynamic section with its strings
//! and the notes; however large or crafted the file, at most [`SUMMARY_CAP`] bytes are held,
//! and the read stops when the watcher says so.

use std::ops::Range;
use std::sync::Arc;

use object::elf::{
    DT_NEEDED, DT_SONAME, EM_386, EM_AARCH64, EM_ARM, EM_CUDA, EM_PPC64, EM_RISCV, EM_S390,
    EM_X86_64, ET_CORE, ET_DYN, ET_EXEC, ET_REL, NT_GNU_BUILD_ID, SHT_DYNAMIC, SHT_NOBITS,
    SHT_NOTE,
};
use object::read::elf::{Dyn as _, FileHeader, SectionHeader as _};

use super::elf_read::{ElfReadCount, Forward, Regions, SUMMARY_CAP};
use super::reread::Contents;
use crate::analysis::Analysis;
use crate::error::Result;
use crate::source::Watch;

/// Bytes read from the file's start first: the ELF header, the program headers and, in
/// most files, the small sections that follow them (notes, dynamic strings).
const HEAD: u64 = 64 << 10;
/// Bytes before the section table read with it: linkers put the section names there.
const TAIL: u64 = 64 << 10;
/// Sections listed by name at most; the rest are counted (objects built with
/// `-ffunction-sections` have tens of thousands).
const LISTED: usize = 1024;
/// `DT_NEEDED` names kept at most; the rest are counted.
const NEEDED: usize = 1024;

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
    /// `DT_NEEDED`: the libraries it loads (the first 1024).
    pub needed: Vec<String>,
    /// `DT_NEEDED` entries past those kept.
    pub more_needed: u64,
    /// The GNU build-id, in hex.
    pub build_id: Option<String>,
    /// Sections in file order, with the bytes each takes in the file (0 for `.bss`); the
    /// first 1024 of them.
    pub sections: Vec<(String, u64)>,
    /// Sections past those listed, and the bytes they take.
    pub more_sections: (u64, u64),
    /// Bytes of `.debug_*`/`.zdebug_*` sections.
    pub debug_bytes: u64,
    /// Bytes of `.symtab` and `.strtab` (what `strip` removes besides debug info).
    pub symbol_bytes: u64,
    /// Parts not read because the cap was reached (`the section table: 9 MB`), in words.
    pub left_out: Vec<String>,
    /// What was read to make the summary.
    #[doc(hidden)]
    pub read: ElfReadCount,
}

impl ElfSummary {
    /// Bytes of headers and tables read at most for one summary; past it the summary says
    /// what it left out.
    pub const CAP: u64 = super::elf_read::SUMMARY_CAP;
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
        self.elf_summary_watched(analysis, layer, entry, &(Arc::new(|_, _| true) as Watch))
    }

    /// [`Contents::elf_summary`], telling `watch` how far it is (bytes of the layer decoded
    /// up to the file, then bytes of the file, at least every 64 KiB); when
    /// `watch` answers `false` the read stops with [`crate::Error::Cancelled`].
    pub fn elf_summary_watched(
        &self,
        analysis: &Analysis,
        layer: usize,
        entry: usize,
        watch: &Watch,
    ) -> Result<std::result::Result<ElfSummary, String>> {
        let mut reader = Forward::new(self, analysis, (layer, entry), watch);
        let mut regions = Regions::new(reader.size());
        reader.fetch(&mut regions, std::slice::from_ref(&(0..HEAD)))?;
        match object::FileKind::parse(&regions) {
            Ok(object::FileKind::Elf32) => {
                summary::<object::elf::FileHeader32<object::Endianness>>(&mut reader, regions)
            }
            Ok(object::FileKind::Elf64) => {
                summary::<object::elf::FileHeader64<object::Endianness>>(&mut reader, regions)
            }
            Ok(_) => Ok(Err("not an ELF file".to_owned())),
            Err(e) => Ok(Err(e.to_string())),
        }
    }
}

/// The range `offset .. offset + size` of the file, when it does not overflow.
fn span(offset: u64, size: u64) -> Option<Range<u64>> {
    Some(offset..offset.checked_add(size)?)
}

/// In words, for [`ElfSummary::left_out`].
fn said(what: &str, range: &Range<u64>) -> String {
    format!(
        "{what}: {}",
        crate::report::human_bytes(range.end - range.start, false)
    )
}

/// The summary from the file header, the section table, the dynamic section and the notes;
/// symbol tables are only measured, never parsed (a broken one does not hide the rest).
/// The outer error is a failed or stopped read; the inner one a file that does not parse.
fn summary<Elf>(
    reader: &mut Forward<'_>,
    mut regions: Regions,
) -> Result<std::result::Result<ElfSummary, String>>
where
    Elf: FileHeader<Endian = object::Endianness>,
{
    let text = |e: object::Error| e.to_string();
    let mut left_out = Vec::new();
    // Round two: the section table (its first entry first when it holds the count).
    let (table, endian) = {
        let header = match Elf::parse(&regions) {
            Ok(header) => header,
            Err(e) => return Ok(Err(text(e))),
        };
        let endian = match header.endian() {
            Ok(endian) => endian,
            Err(e) => return Ok(Err(text(e))),
        };
        let shoff: u64 = header.e_shoff(endian).into();
        let entsize = u64::from(header.e_shentsize(endian));
        let count = u64::from(header.e_shnum(endian));
        ((shoff != 0).then_some((shoff, entsize, count)), endian)
    };
    if let Some((shoff, entsize, mut count)) = table {
        if count == 0 {
            let first = span(shoff, entsize).unwrap_or(shoff..shoff);
            reader.fetch(&mut regions, &[first])?;
            count = Elf::parse(&regions)
                .and_then(|h| h.shnum(endian, &regions))
                .map_or(0, |n| n as u64);
        }
        let table = span(shoff, entsize.saturating_mul(count)).unwrap_or(shoff..shoff);
        let tail = shoff.saturating_sub(TAIL)..shoff;
        let skipped = reader.fetch(&mut regions, &[table.clone(), tail])?;
        if skipped.contains(&0) {
            left_out.push(said("the section table", &table));
        }
    }
    // Round three: what the sections name.
    let (wants, mut notes_left) = {
        let header = Elf::parse(&regions).map_err(text);
        let sections = header.and_then(|h| h.sections(endian, &regions).map_err(text));
        match sections {
            Ok(sections) => wanted_sections::<Elf>(endian, &sections, &regions),
            Err(_) => (Vec::new(), 0),
        }
    };
    let ranges: Vec<Range<u64>> = wants.iter().map(|(_, r)| r.clone()).collect();
    let skipped = reader.fetch(&mut regions, &ranges)?;
    for (i, (what, range)) in wants.iter().enumerate() {
        if skipped.contains(&i) {
            if *what == "a note section" {
                notes_left += 1;
            } else {
                left_out.push(said(what, range));
            }
        }
    }
    if notes_left > 0 {
        left_out.push(format!("{notes_left} note sections"));
    }
    let mut summary = match parse::<Elf>(&regions) {
        Ok(summary) => summary,
        Err(e) => return Ok(Err(e)),
    };
    summary.left_out = left_out;
    summary.read = reader.count;
    Ok(Ok(summary))
}

/// The regions the sections point at that the summary reads, most wanted first: the
/// section names, the first dynamic section and its strings, the notes; and how many note
/// sections are not asked for (their sizes, all told, pass the cap).
fn wanted_sections<'a, Elf>(
    endian: Elf::Endian,
    sections: &object::read::elf::SectionTable<'a, Elf, &'a Regions>,
    regions: &'a Regions,
) -> (Vec<(&'static str, Range<u64>)>, u64)
where
    Elf: FileHeader,
{
    let range = |section: &Elf::SectionHeader| {
        let offset: u64 = section.sh_offset(endian).into();
        let size: u64 = section.sh_size(endian).into();
        span(offset, size).filter(|_| section.sh_type(endian) != SHT_NOBITS)
    };
    let mut wants = Vec::new();
    let header = Elf::parse(regions).ok();
    let names = header
        .and_then(|h| h.shstrndx(endian, regions).ok())
        .and_then(|i| sections.section(object::SectionIndex(i as usize)).ok());
    if let Some(range) = names.and_then(range) {
        wants.push(("the section names", range));
    }
    if let Some(dynamic) = sections.iter().find(|s| s.sh_type(endian) == SHT_DYNAMIC) {
        if let Some(range) = range(dynamic) {
            wants.push(("the dynamic section", range));
        }
        let link = object::SectionIndex(dynamic.sh_link(endian) as usize);
        if let Some(range) = sections.section(link).ok().and_then(range) {
            wants.push(("the dynamic strings", range));
        }
    }
    // Each note section's bytes count against the cap once, overlapping or not: each is
    // parsed on its own.
    let (mut notes, mut beyond) = (0u64, 0u64);
    for section in sections.iter().filter(|s| s.sh_type(endian) == SHT_NOTE) {
        let Some(range) = range(section) else {
            continue;
        };
        notes = notes.saturating_add(range.end - range.start);
        if notes > SUMMARY_CAP {
            beyond += 1;
        } else {
            wants.push(("a note section", range));
        }
    }
    (wants, beyond)
}

/// The summary from what `regions` hold: what is not held reads as missing.
fn parse<Elf>(regions: &Regions) -> std::result::Result<ElfSummary, String>
where
    Elf: FileHeader<Endian = object::Endianness>,
{
    let text = |e: object::Error| e.to_string();
    let header = Elf::parse(regions).map_err(text)?;
    let endian = header.endian().map_err(text)?;
    // A table not read (over the cap) leaves the sections out, not the rest.
    let sections = header.sections(endian, regions).unwrap_or_default();
    let (mut soname, mut needed, mut more_needed) = (None, Vec::new(), 0);
    let dynamic = sections
        .iter()
        .find(|s| s.sh_type(endian) == SHT_DYNAMIC)
        .and_then(|s| s.dynamic(endian, regions).ok().flatten());
    if let Some((dynamic, link)) = dynamic {
        let strings = sections.strings(endian, regions, link).unwrap_or_default();
        for entry in dynamic {
            let tag: u64 = entry.d_tag(endian).into();
            // `Dyn::string` takes a table of bytes in memory; this one reads what is held.
            let name = || {
                entry
                    .val32(endian)
                    .and_then(|at| strings.get(at).ok())
                    .map(|s| String::from_utf8_lossy(s).into_owned())
            };
            if tag == u64::from(DT_NEEDED) {
                if needed.len() < NEEDED {
                    needed.extend(name());
                } else {
                    more_needed += 1;
                }
            } else if tag == u64::from(DT_SONAME) && soname.is_none() {
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
        more_needed,
        build_id: None,
        sections: Vec::new(),
        more_sections: (0, 0),
        debug_bytes: 0,
        symbol_bytes: 0,
        left_out: Vec::new(),
        read: ElfReadCount::default(),
    };
    // Note bytes parsed, all sections told: overlapping note sections share held bytes,
    // and each is parsed on its own.
    let mut notes_left = SUMMARY_CAP;
    for section in sections.iter() {
        let name = sections.section_name(endian, section).unwrap_or_default();
        let stored = if section.sh_type(endian) == SHT_NOBITS {
            0
        } else {
            section.sh_size(endian).into()
        };
        // The first build-id note; only note sections read are parsed (`notes` reads the
        // section whole from what is held).
        let note_bytes: u64 = section.sh_size(endian).into();
        if summary.build_id.is_none()
            && section.sh_type(endian) == SHT_NOTE
            && note_bytes <= notes_left
            && let Ok(Some(mut notes)) = section.notes(endian, regions)
        {
            notes_left -= note_bytes;
            while let Ok(Some(note)) = notes.next() {
                if note.name() == b"GNU" && note.n_type(endian) == NT_GNU_BUILD_ID {
                    summary.build_id =
                        Some(note.desc().iter().map(|b| format!("{b:02x}")).collect());
                    break;
                }
            }
        }
        if name.starts_with(b".debug_") || name.starts_with(b".zdebug_") {
            summary.debug_bytes += stored;
        } else if name == b".symtab" || name == b".strtab" {
            summary.symbol_bytes += stored;
        }
        if name.is_empty() {
            continue;
        }
        if summary.sections.len() < LISTED {
            summary
                .sections
                .push((String::from_utf8_lossy(name).into_owned(), stored));
        } else {
            summary.more_sections.0 += 1;
            summary.more_sections.1 = summary.more_sections.1.saturating_add(stored);
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

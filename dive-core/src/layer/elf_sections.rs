//! The section table of ELF files (ELF spec, 32/64-bit, LE/BE), and the debug bytes it tells.
//!
//! Only the header, the section header table and the section-name table are read: a few KiB
//! of a file however large. Counted as debug bytes: `.debug_*`, `.zdebug_*`, `.symtab` and
//! `.strtab`, the sections `strip --strip-unneeded` removes (`--strip-debug` keeps the
//! symbol tables).

/// Bytes of the ELF header that tell everything else.
pub(crate) const HEADER: usize = 64;
/// Bytes kept from the end of a streamed ELF file: the section table and names live there.
pub(crate) const TAIL: usize = 64 * 1024;
/// Largest section table or name table read.
const TABLE_CAP: u64 = 4 * 1024 * 1024;
/// `SHT_NOBITS`: a section that takes no bytes in the file (`.bss`).
const NOBITS: u32 = 8;

/// Whether these first bytes start an ELF file.
pub(crate) fn is_elf(head: &[u8]) -> bool {
    head.starts_with(b"\x7fELF")
}

/// One section of an ELF file, as its header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Section {
    /// The name, without its NUL.
    pub name: Vec<u8>,
    /// Where its bytes start in the file.
    pub offset: u64,
    /// Its bytes in the file: 0 for `SHT_NOBITS`.
    pub size: u64,
}

impl Section {
    /// One past its last byte in the file.
    pub(crate) fn end(&self) -> u64 {
        self.offset.saturating_add(self.size)
    }
}

/// What the ELF header says of the section table.
struct Header {
    wide: bool,
    big: bool,
    shoff: u64,
    shentsize: u64,
    shnum: u64,
    shstrndx: u64,
}

impl Header {
    /// The header, when `head` (the file's first bytes) starts an ELF file.
    fn parse(head: &[u8]) -> Option<Self> {
        if !is_elf(head) || head.len() < HEADER {
            return None;
        }
        let wide = match head[4] {
            1 => false,
            2 => true,
            _ => return None,
        };
        let big = match head[5] {
            1 => false,
            2 => true,
            _ => return None,
        };
        let at = |at: usize, len: usize| number(head, at, len, big);
        let (shoff, shentsize, shnum, shstrndx) = if wide {
            (at(0x28, 8)?, at(0x3A, 2)?, at(0x3C, 2)?, at(0x3E, 2)?)
        } else {
            (at(0x20, 4)?, at(0x2E, 2)?, at(0x30, 2)?, at(0x32, 2)?)
        };
        Some(Self {
            wide,
            big,
            shoff,
            shentsize,
            shnum,
            shstrndx,
        })
    }
}

/// An unsigned number of `len` bytes at `at`, in the file's byte order.
fn number(bytes: &[u8], at: usize, len: usize, big: bool) -> Option<u64> {
    let field = bytes.get(at..at + len)?;
    let mut value = 0u64;
    for i in 0..len {
        let byte = if big { field[i] } else { field[len - 1 - i] };
        value = (value << 8) | u64::from(byte);
    }
    Some(value)
}

/// The sections of an ELF file of `size` bytes; `read_at(offset, len)` gives its bytes, or
/// `None` when they are not available (then so is the answer). Not ELF: `None`; a table
/// that points outside the file: no sections.
pub(crate) fn sections(
    size: u64,
    read_at: &mut dyn FnMut(u64, usize) -> Option<Vec<u8>>,
) -> Option<Vec<Section>> {
    let header = Header::parse(&read_at(0, HEADER)?)?;
    let (wide, big) = (header.wide, header.big);
    let (shoff, shentsize, shnum) = (header.shoff, header.shentsize, header.shnum);
    let num = |bytes: &[u8], at: usize, len: usize| number(bytes, at, len, big);
    let entry = if wide { 64 } else { 40 };
    let table_len = shentsize.checked_mul(shnum)?;
    if shoff == 0
        || shnum == 0
        || shentsize < entry
        || table_len > TABLE_CAP
        || shoff.checked_add(table_len)? > size
    {
        return Some(Vec::new());
    }
    let table = read_at(shoff, usize::try_from(table_len).ok()?)?;
    // (name offset, type, file offset, size) of each section.
    let section = |i: u64| -> Option<(u64, u64, u64, u64)> {
        let at = usize::try_from(i * shentsize).ok()?;
        if wide {
            Some((
                num(&table, at, 4)?,
                num(&table, at + 4, 4)?,
                num(&table, at + 24, 8)?,
                num(&table, at + 32, 8)?,
            ))
        } else {
            Some((
                num(&table, at, 4)?,
                num(&table, at + 4, 4)?,
                num(&table, at + 16, 4)?,
                num(&table, at + 20, 4)?,
            ))
        }
    };
    let (_, _, names_offset, names_size) = section(header.shstrndx)?;
    if names_size > TABLE_CAP || names_offset.checked_add(names_size)? > size {
        return Some(Vec::new());
    }
    let names = read_at(names_offset, usize::try_from(names_size).ok()?)?;
    let mut out = Vec::new();
    for i in 0..shnum {
        let Some((name, kind, offset, bytes)) = section(i) else {
            continue;
        };
        let name = usize::try_from(name)
            .ok()
            .and_then(|n| names.get(n..))
            .unwrap_or_default();
        let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
        // A section that says it runs past the file holds only the file's bytes.
        let bytes = bytes.min(size.saturating_sub(offset));
        out.push(Section {
            name: name.to_vec(),
            offset,
            size: if kind == u64::from(NOBITS) { 0 } else { bytes },
        });
    }
    Some(out)
}

/// Debug and symbol bytes among `sections` of a file of `size` bytes.
pub(crate) fn debug_bytes(sections: &[Section], size: u64) -> u64 {
    let total = sections
        .iter()
        .filter(|s| {
            s.name.starts_with(b".debug_")
                || s.name.starts_with(b".zdebug_")
                || s.name == b".symtab"
                || s.name == b".strtab"
        })
        .fold(0u64, |sum, s| sum.saturating_add(s.size));
    total.min(size)
}

/// Bytes kept before a streamed ELF file's section table: the section names usually lie
/// just before it (or after it, in the tail), also in libraries `patchelf` rewrote.
const BEFORE_TABLE: u64 = 4 * 1024 * 1024;

/// A stretch `[start, end)` of a streamed file, filled as its bytes pass.
#[derive(Debug)]
struct Window {
    start: u64,
    end: u64,
    bytes: Vec<u8>,
}

/// What a streamed file keeps to read its section table at the end: its header, the section
/// table (where the header says it is) with the bytes before it, and its tail; and when the
/// table comes early (Go's linker writes it after the program headers), the section names
/// and the `wanted` sections that lie ahead, as soon as the table tells where they are.
#[derive(Debug)]
pub(crate) struct Sample {
    head: Vec<u8>,
    windows: Vec<Window>,
    size: u64,
    /// Sections to keep by name, with the bytes to keep from each one's start.
    wanted: &'static [(&'static [u8], u64)],
    /// The window of the section table, once the header told where it is.
    table: Option<usize>,
    /// Where the section names lie, once the table told.
    names: Option<(u64, u64)>,
    /// Whether the wanted sections were looked for (or cannot be).
    wanted_sought: bool,
}

impl Sample {
    /// A sample of a file of `size` bytes, fed from its first byte, that keeps the
    /// `wanted` sections (name, bytes from its start) it can still see when it learns where
    /// they are.
    pub(crate) fn new(size: u64, wanted: &'static [(&'static [u8], u64)]) -> Self {
        Self {
            head: Vec::with_capacity(HEADER),
            windows: vec![Window {
                start: size.saturating_sub(TAIL as u64),
                end: size,
                bytes: Vec::new(),
            }],
            size,
            wanted,
            table: None,
            names: None,
            wanted_sought: false,
        }
    }

    /// Whether every byte of `[start, end)` is at hand.
    fn holds(&self, start: u64, end: u64) -> bool {
        end <= self.head.len() as u64
            || self
                .windows
                .iter()
                .any(|w| start >= w.start && end <= w.start + w.bytes.len() as u64)
    }

    /// Adds a window for `[start, start + len)` when its bytes have not passed yet (from
    /// `pos`, the current chunk's start, on) and are not held already.
    fn keep_ahead(&mut self, start: u64, len: u64, pos: u64) {
        let end = start.saturating_add(len).min(self.size);
        let known = self.windows.iter().any(|w| w.start == start);
        if start >= pos && end > start && !known && !self.holds(start, end) {
            self.windows.push(Window {
                start,
                end,
                bytes: Vec::new(),
            });
        }
    }

    /// Once the table is at hand, keeps the section names that have not passed (`pos` is the
    /// current chunk's start); once they are at hand, the wanted sections. Whether it took a
    /// step (then the current chunk is offered to the new windows, and it is asked again).
    fn look_ahead(&mut self, pos: u64) -> bool {
        let Some(table) = self.table else {
            return false;
        };
        let w = &self.windows[table];
        if (w.start + w.bytes.len() as u64) < w.end {
            return false;
        }
        if self.names.is_none() {
            // Asked once: a table that names no readable section gives up here.
            let Some(names) = self.names_at() else {
                self.wanted_sought = true;
                return false;
            };
            self.names = Some(names);
            self.keep_ahead(names.0, names.1, pos);
            return true;
        }
        let Some((offset, len)) = self.names else {
            return false;
        };
        if !self.holds(offset, offset.saturating_add(len)) {
            // Still to come, or passed unseen (then the wanted sections are not found here).
            let kept = self.windows.iter().any(|w| w.start == offset);
            self.wanted_sought = !kept;
            return false;
        }
        self.wanted_sought = true;
        if self.wanted.is_empty() {
            return false;
        }
        let size = self.size;
        let Some(found) = sections(size, &mut |o, l| self.read_at(o, l)) else {
            return false;
        };
        // The first section of each name, as the readers take it: one window each, however
        // many sections a table names alike.
        for &(name, len) in self.wanted {
            if let Some(section) = found.iter().find(|s| s.name == name) {
                self.keep_ahead(section.offset, len, pos);
            }
        }
        true
    }

    /// Where the section names lie, as the header and the table (both at hand) say.
    fn names_at(&self) -> Option<(u64, u64)> {
        let header = Header::parse(&self.head)?;
        let entry = header.shoff.checked_add(header.shstrndx.checked_mul(header.shentsize)?)?;
        let len = if header.wide { 64 } else { 40 };
        let bytes = self.read_at(entry, len)?;
        let num = |at: usize, n: usize| number(&bytes, at, n, header.big);
        let (offset, size) = if header.wide {
            (num(24, 8)?, num(32, 8)?)
        } else {
            (num(16, 4)?, num(20, 4)?)
        };
        (size <= TABLE_CAP).then_some((offset, size))
    }

    /// Whether the file is ELF, once its first bytes are known.
    pub(crate) fn is_elf(&self) -> Option<bool> {
        (self.head.len() >= 4).then(|| is_elf(&self.head))
    }

    /// Keeps what it needs of the file's bytes `chunk`, which start at `pos`.
    pub(crate) fn take(&mut self, pos: u64, chunk: &[u8]) {
        if self.head.len() < HEADER {
            let take = (HEADER - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
            if self.head.len() == HEADER {
                self.find_table(pos);
            }
        }
        self.fill(0, pos, chunk);
        // Windows added now may begin inside this chunk: they take their part of it too.
        while self.table.is_some() && !self.wanted_sought {
            let before = self.windows.len();
            if !self.look_ahead(pos) {
                break;
            }
            self.fill(before, pos, chunk);
        }
    }

    /// Copies the parts of `chunk` (at `pos`) that windows from the `first` on want.
    fn fill(&mut self, first: usize, pos: u64, chunk: &[u8]) {
        let end = pos + chunk.len() as u64;
        for window in self.windows.iter_mut().skip(first) {
            let from = window.start + window.bytes.len() as u64;
            if from >= pos && from < end && from < window.end {
                let i = usize::try_from(from - pos).unwrap_or(usize::MAX);
                let j = usize::try_from(window.end.min(end) - pos).unwrap_or(usize::MAX);
                if let Some(bytes) = chunk.get(i..j) {
                    window.bytes.extend_from_slice(bytes);
                }
            }
        }
    }

    /// Adds the window of the section table, now that the header says where it is; its
    /// bytes before `pos` (the current chunk) are in the head.
    fn find_table(&mut self, pos: u64) {
        let Some(header) = Header::parse(&self.head) else {
            return;
        };
        let len = header.shentsize.saturating_mul(header.shnum);
        let end = header.shoff.saturating_add(len);
        if len == 0 || len > TABLE_CAP || end > self.size {
            return;
        }
        let start = header.shoff.saturating_sub(BEFORE_TABLE);
        let seed = usize::try_from(start)
            .ok()
            .zip(usize::try_from(pos).ok())
            .and_then(|(s, p)| self.head.get(s..p.max(s)))
            .unwrap_or_default()
            .to_vec();
        self.table = Some(self.windows.len());
        self.windows.push(Window {
            start,
            end,
            bytes: seed,
        });
    }

    /// Serves `read_at` from the head and the windows kept.
    pub(crate) fn read_at(&self, offset: u64, len: usize) -> Option<Vec<u8>> {
        let end = offset.checked_add(len as u64)?;
        if end <= self.head.len() as u64 {
            let start = usize::try_from(offset).ok()?;
            return Some(self.head[start..start + len].to_vec());
        }
        self.windows.iter().find_map(|w| {
            let kept = w.start + w.bytes.len() as u64;
            if offset < w.start || end > kept {
                return None;
            }
            let start = usize::try_from(offset - w.start).ok()?;
            Some(w.bytes[start..start + len].to_vec())
        })
    }
}

//! Debug bytes inside ELF files, read from the section table (ELF spec, 32/64-bit, LE/BE).
//!
//! Only the header, the section header table and the section-name table are read: a few KiB
//! of a file however large. Counted: `.debug_*`, `.zdebug_*`, `.symtab` and `.strtab`, the
//! sections `strip --strip-unneeded` removes (`--strip-debug` keeps the symbol tables).

/// Bytes of the ELF header that tell everything else.
pub(crate) const HEADER: usize = 64;
/// Bytes kept from the end of a streamed ELF file: the section table and names live there.
pub(crate) const TAIL: usize = 64 * 1024;
/// Largest section table or name table read.
const TABLE_CAP: u64 = 4 * 1024 * 1024;

/// Whether these first bytes start an ELF file.
pub(crate) fn is_elf(head: &[u8]) -> bool {
    head.starts_with(b"\x7fELF")
}

/// Debug bytes of an ELF file of `size` bytes; `read_at(offset, len)` gives its bytes, or
/// `None` when they are not available (then so is the answer).
pub(crate) fn debug_bytes(
    size: u64,
    read_at: &mut dyn FnMut(u64, usize) -> Option<Vec<u8>>,
) -> Option<u64> {
    let header = read_at(0, HEADER)?;
    if !is_elf(&header) {
        return None;
    }
    let wide = match header[4] {
        1 => false,
        2 => true,
        _ => return None,
    };
    let big = match header[5] {
        1 => false,
        2 => true,
        _ => return None,
    };
    let num = |bytes: &[u8], at: usize, len: usize| -> Option<u64> {
        let field = bytes.get(at..at + len)?;
        let mut value = 0u64;
        for i in 0..len {
            let byte = if big { field[i] } else { field[len - 1 - i] };
            value = (value << 8) | u64::from(byte);
        }
        Some(value)
    };
    let (shoff, shentsize, shnum, shstrndx) = if wide {
        (
            num(&header, 0x28, 8)?,
            num(&header, 0x3A, 2)?,
            num(&header, 0x3C, 2)?,
            num(&header, 0x3E, 2)?,
        )
    } else {
        (
            num(&header, 0x20, 4)?,
            num(&header, 0x2E, 2)?,
            num(&header, 0x30, 2)?,
            num(&header, 0x32, 2)?,
        )
    };
    let entry = if wide { 64 } else { 40 };
    let table_len = shentsize.checked_mul(shnum)?;
    if shoff == 0
        || shnum == 0
        || shentsize < entry
        || table_len > TABLE_CAP
        || shoff.checked_add(table_len)? > size
    {
        return Some(0);
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
    let (_, _, names_offset, names_size) = section(shstrndx)?;
    if names_size > TABLE_CAP || names_offset.checked_add(names_size)? > size {
        return Some(0);
    }
    let names = read_at(names_offset, usize::try_from(names_size).ok()?)?;
    const NOBITS: u64 = 8;
    let mut total = 0u64;
    for i in 0..shnum {
        let Some((name, kind, _, bytes)) = section(i) else {
            continue;
        };
        if kind == NOBITS {
            continue;
        }
        let name = usize::try_from(name)
            .ok()
            .and_then(|n| names.get(n..))
            .unwrap_or_default();
        let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
        if name.starts_with(b".debug_")
            || name.starts_with(b".zdebug_")
            || name == b".symtab"
            || name == b".strtab"
        {
            total = total.saturating_add(bytes);
        }
    }
    Some(total.min(size))
}

/// The head and tail of a streamed file, enough to read its ELF section table.
#[derive(Debug, Default)]
pub(crate) struct Sample {
    pub head: Vec<u8>,
    pub tail: Vec<u8>,
    pub tail_start: u64,
}

impl Sample {
    /// Serves `read_at` from the head and tail kept.
    pub(crate) fn read_at(&self, offset: u64, len: usize) -> Option<Vec<u8>> {
        let end = offset.checked_add(len as u64)?;
        if end <= self.head.len() as u64 {
            let start = usize::try_from(offset).ok()?;
            return Some(self.head[start..start + len].to_vec());
        }
        if offset >= self.tail_start && end <= self.tail_start + self.tail.len() as u64 {
            let start = usize::try_from(offset - self.tail_start).ok()?;
            return Some(self.tail[start..start + len].to_vec());
        }
        None
    }
}

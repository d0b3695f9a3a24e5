//! An ELF file read where it lies in a seekable layer: its fat binary sections by
//! positioned reads, or the whole file for a deep scan (`--cuda-deep`).

use std::io::{self, Read, Seek, SeekFrom};

use super::elf_sections;
use super::fatbin::Reading;
use super::fatbin_scan::{Scanner, scan_sections};
use crate::aligned::AlignedBuf;

/// `read_at` for the file of `size` bytes at `base` in `reader`.
pub(super) fn positioned<R: Read + Seek>(
    reader: &mut R,
    base: u64,
    size: u64,
) -> impl FnMut(u64, usize) -> Option<Vec<u8>> + '_ {
    move |offset, len| {
        if offset.checked_add(len as u64)? > size {
            return None;
        }
        reader
            .seek(SeekFrom::Start(base.checked_add(offset)?))
            .ok()?;
        let mut bytes = vec![0; len];
        reader.read_exact(&mut bytes).ok()?;
        Some(bytes)
    }
}

/// The sections and the device code (with warnings) of the ELF file of `size` bytes at
/// `base` in `reader`: fat binary sections by positioned reads, or with `deep` the whole
/// file through a [`Scanner`]. `None` when it is not an ELF file.
pub(super) fn device_code_at<R: Read + Seek>(
    reader: &mut R,
    base: u64,
    size: u64,
    deep: bool,
) -> Option<(Vec<elf_sections::Section>, Reading)> {
    let sections = elf_sections::sections(size, &mut positioned(reader, base, size))?;
    let code = if deep {
        match scan_whole(reader, base, size) {
            Ok(scanner) => scanner.finish(&sections),
            Err(err) => (None, vec![format!("cannot read the file: {err}")]),
        }
    } else {
        scan_sections(&sections, &mut positioned(reader, base, size))
    };
    Some((sections, code))
}

/// Feeds a whole file of a seekable layer, at `base`, through a [`Scanner`].
fn scan_whole<R: Read + Seek>(reader: &mut R, base: u64, size: u64) -> io::Result<Scanner> {
    let mut scanner = Scanner::new(size);
    reader.seek(SeekFrom::Start(base))?;
    let mut content = reader.take(size);
    let mut buf = AlignedBuf::new(
        usize::try_from(size)
            .unwrap_or(usize::MAX)
            .clamp(1, 1 << 20),
    );
    loop {
        match content.read(&mut buf) {
            Ok(0) => return Ok(scanner),
            Ok(n) => scanner.feed(&buf[..n]),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
}

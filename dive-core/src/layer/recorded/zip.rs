//! The central directory of a zip archive (PKWARE APPNOTE, with ZIP64) and the entries it
//! names, read with positioned reads through a callback.
//!
//! Every offset and length comes from the archive's author: each is checked against the
//! archive's size before it is read, and all reads together are held to a few times that
//! size, so entries that overlap or repeat cannot make a small archive cost much.

use std::io::{self, Read};

use flate2::read::DeflateDecoder;

/// Largest central directory read.
pub(crate) const CENTRAL_MAX: u64 = 16 << 20;
/// Most central-directory records read.
pub(crate) const ENTRIES_MAX: u64 = 1 << 20;
/// Most compressed bytes read for one entry (deflate never grows data much, so a nested jar
/// within its inflated cap needs far less).
pub(crate) const COMPRESSED_MAX: u64 = 32 << 20;
/// `method` of an entry kept as is.
pub(crate) const STORED: u16 = 0;
/// `method` of a raw deflate entry.
pub(crate) const DEFLATED: u16 = 8;
/// Bytes at the end searched for the end record: the record itself and the longest comment.
const END_SEARCH: u64 = 22 + 0xFFFF;
/// Smaller tails tried when that one is not available (a streamed layer keeps 64 KiB).
const END_FALLBACKS: [u64; 2] = [64 << 10, 22];
/// Reads allowed beyond three times an archive's size (the tail of a tiny one, retried).
const ALLOWANCE_EXTRA: u64 = 64 << 10;
/// Compressed bytes fetched at a time while inflating.
const CHUNK: u64 = 32 << 10;

/// Fixed part of the end of central directory record.
const END_LEN: usize = 22;
/// Fixed part of a central-directory record.
const RECORD_LEN: usize = 46;
/// Fixed part of a local file header.
const LOCAL_LEN: u64 = 30;
/// Fixed part of the ZIP64 end of central directory record.
const END64_LEN: u64 = 56;
/// The ZIP64 end of central directory locator, just before the end record.
const LOCATOR_LEN: u64 = 20;
/// A 32-bit field that defers to the ZIP64 extra field.
const SATURATED: u64 = 0xFFFF_FFFF;

/// The bytes of one archive, read through a callback, inside its size and a read allowance.
pub(crate) struct Source<'a> {
    /// Gives `len` bytes at an offset, or `None` when they are not available.
    read_at: &'a mut dyn FnMut(u64, usize) -> Option<Vec<u8>>,
    /// The archive's length in bytes.
    size: u64,
    /// Bytes that reads may still be given.
    allowance: u64,
    /// Set once a read was refused because the allowance ran out.
    pub(crate) exhausted: bool,
}

impl<'a> Source<'a> {
    /// An archive of `size` bytes, allowed reads of three times that (plus 64 KiB).
    pub(crate) fn new(
        read_at: &'a mut dyn FnMut(u64, usize) -> Option<Vec<u8>>,
        size: u64,
    ) -> Self {
        // An honest archive reads its tail, its central directory and its entries: at most
        // twice its size. More means entries that overlap on purpose.
        let allowance = size.saturating_mul(3).saturating_add(ALLOWANCE_EXTRA);
        Self {
            read_at,
            size,
            allowance,
            exhausted: false,
        }
    }

    /// Whether `len` bytes at `offset` lie inside the archive.
    pub(crate) fn contains(&self, offset: u64, len: u64) -> bool {
        offset.checked_add(len).is_some_and(|end| end <= self.size)
    }

    /// `len` bytes at `offset`: `None` when outside the archive, over the allowance or not
    /// available.
    pub(crate) fn read(&mut self, offset: u64, len: u64) -> Option<Vec<u8>> {
        if !self.contains(offset, len) {
            return None;
        }
        if len == 0 {
            return Some(Vec::new());
        }
        if len > self.allowance {
            self.exhausted = true;
            return None;
        }
        let want = usize::try_from(len).ok()?;
        let mut bytes = (self.read_at)(offset, want)?;
        // A callback that gives fewer bytes than asked did not give them.
        if bytes.len() < want {
            return None;
        }
        bytes.truncate(want);
        // Only bytes given count: a refused read (outside a streamed window) costs nothing.
        self.allowance -= len;
        Some(bytes)
    }
}

/// Why the central directory was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// No end of central directory record in the tail.
    NotFound,
    /// The tail or the directory is not among the bytes available.
    Unavailable,
    /// The end record places the directory outside the archive.
    Outside,
    /// The directory is larger than [`CENTRAL_MAX`].
    TooLarge,
    /// The end record counts more than [`ENTRIES_MAX`] records.
    TooMany,
}

/// Why one entry's data was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryFault {
    /// Its bytes are not among those available.
    Unavailable,
    /// Its header, offsets or deflate stream are wrong.
    Corrupt,
}

/// Where the central directory is, as the end record (or its ZIP64 form) says.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Central {
    /// Where its first record starts in the archive.
    pub(crate) offset: u64,
    /// Its length in bytes.
    pub(crate) len: u64,
    /// How many records it holds.
    pub(crate) count: u64,
    /// Bytes before the zip proper (a launch script), added to every local header offset.
    pub(crate) base: u64,
}

/// One central-directory record: what is needed to find and decode an entry's data.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    /// General purpose flag bit 0: the data is encrypted.
    pub(crate) encrypted: bool,
    /// Compression method (0 stored, 8 deflate).
    pub(crate) method: u16,
    /// Bytes of data in the archive.
    pub(crate) compressed: u64,
    /// Bytes once decompressed, as recorded.
    pub(crate) uncompressed: u64,
    /// Where its local header starts in the archive.
    pub(crate) local: u64,
}

/// `N` bytes at `at`, when there.
fn array<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// Little-endian `u16` at `at`, widened.
fn le16(bytes: &[u8], at: usize) -> Option<u64> {
    array(bytes, at).map(|b| u64::from(u16::from_le_bytes(b)))
}

/// Little-endian `u32` at `at`, widened.
fn le32(bytes: &[u8], at: usize) -> Option<u64> {
    array(bytes, at).map(|b| u64::from(u32::from_le_bytes(b)))
}

/// Little-endian `u64` at `at`.
fn le64(bytes: &[u8], at: usize) -> Option<u64> {
    array(bytes, at).map(u64::from_le_bytes)
}

/// `len` bytes at `offset`, from `tail` (read from `tail_start`) when it holds them.
fn read_near(
    src: &mut Source,
    tail: &[u8],
    tail_start: u64,
    offset: u64,
    len: u64,
) -> Option<Vec<u8>> {
    let from = usize::try_from(offset.checked_sub(tail_start)?).ok();
    let kept = from.and_then(|from| tail.get(from..from.checked_add(usize::try_from(len).ok()?)?));
    match kept {
        Some(bytes) => Some(bytes.to_vec()),
        None => src.read(offset, len),
    }
}

/// The archive's last bytes and where they start: the longest tail that can be read.
fn read_tail(src: &mut Source) -> Option<(u64, Vec<u8>)> {
    let size = src.size;
    let mut tried = 0;
    for want in std::iter::once(END_SEARCH).chain(END_FALLBACKS) {
        let len = want.min(size);
        if len == tried {
            continue;
        }
        tried = len;
        let start = size - len;
        if let Some(tail) = src.read(start, len) {
            return Some((start, tail));
        }
    }
    None
}

/// Where the end record starts in `tail`: the last one whose comment reaches the end
/// exactly, else the last one at all.
fn find_end(tail: &[u8]) -> Option<usize> {
    let last = tail.len().checked_sub(END_LEN)?;
    let mut fallback = None;
    for at in (0..=last).rev() {
        if array(tail, at) != Some(*b"PK\x05\x06") {
            continue;
        }
        let comment = le16(tail, at + 20).and_then(|c| usize::try_from(c).ok());
        if comment.and_then(|c| (at + END_LEN).checked_add(c)) == Some(tail.len()) {
            return Some(at);
        }
        fallback.get_or_insert(at);
    }
    fallback
}

/// Count, length, offset and position of the ZIP64 end record, when the locator before the
/// end record at `end` points to a valid one.
fn zip64(src: &mut Source, tail: &[u8], tail_start: u64, end: u64) -> Option<(u64, u64, u64, u64)> {
    let locator = read_near(
        src,
        tail,
        tail_start,
        end.checked_sub(LOCATOR_LEN)?,
        LOCATOR_LEN,
    )?;
    if array(&locator, 0) != Some(*b"PK\x06\x07") {
        return None;
    }
    let at = le64(&locator, 8)?;
    if at.checked_add(END64_LEN)? > end {
        return None;
    }
    let record = read_near(src, tail, tail_start, at, END64_LEN)?;
    if array(&record, 0) != Some(*b"PK\x06\x06") {
        return None;
    }
    Some((
        le64(&record, 32)?,
        le64(&record, 40)?,
        le64(&record, 48)?,
        at,
    ))
}

/// Where the central directory is, from the end record in the archive's tail.
pub(crate) fn find_central(src: &mut Source) -> Result<Central, Fault> {
    let (tail_start, tail) = read_tail(src).ok_or(Fault::Unavailable)?;
    let at = find_end(&tail).ok_or(Fault::NotFound)?;
    let field = |f: fn(&[u8], usize) -> Option<u64>, offset: usize| {
        f(&tail, at + offset).ok_or(Fault::NotFound)
    };
    let mut count = field(le16, 10)?;
    let mut len = field(le32, 12)?;
    let mut offset = field(le32, 16)?;
    let mut end = tail_start + at as u64;
    if let Some(wide) = zip64(src, &tail, tail_start, end) {
        (count, len, offset, end) = wide;
    }
    // As Java does: the directory ends where the end record starts, and whatever its stated
    // offset falls short of that is a prefix (a launch script) that shifts every offset.
    let start = end.checked_sub(len).ok_or(Fault::Outside)?;
    let base = start.checked_sub(offset).ok_or(Fault::Outside)?;
    if len > CENTRAL_MAX {
        return Err(Fault::TooLarge);
    }
    if count > ENTRIES_MAX {
        return Err(Fault::TooMany);
    }
    Ok(Central {
        offset: start,
        len,
        count,
        base,
    })
}

/// Applies a ZIP64 extended information field (0x0001) to the fields that defer to it.
fn widen(entry: &mut Entry, extra: &[u8]) {
    let mut at = 0;
    while let (Some(id), Some(len)) = (le16(extra, at), le16(extra, at + 2)) {
        let Some(data) = extra
            .get(at + 4..)
            .and_then(|rest| rest.get(..len as usize))
        else {
            return;
        };
        if id == 1 {
            // The values follow in this order, each present only when its field is saturated.
            let mut values = data.chunks_exact(8).filter_map(|v| le64(v, 0));
            for field in [
                &mut entry.uncompressed,
                &mut entry.compressed,
                &mut entry.local,
            ] {
                if *field == SATURATED {
                    match values.next() {
                        Some(value) => *field = value,
                        None => return,
                    }
                }
            }
            return;
        }
        at += 4 + data.len();
    }
}

/// The record at `at` in `directory`: its name, its entry and where the next one starts.
fn record(directory: &[u8], at: usize, base: u64) -> Option<(&[u8], Entry, usize)> {
    if array(directory, at) != Some(*b"PK\x01\x02") {
        return None;
    }
    let fixed = directory.get(at..at.checked_add(RECORD_LEN)?)?;
    let name_len = le16(fixed, 28)? as usize;
    let extra_len = le16(fixed, 30)? as usize;
    let comment_len = le16(fixed, 32)? as usize;
    let name_start = at + RECORD_LEN;
    let extra_start = name_start + name_len;
    let next = extra_start + extra_len + comment_len;
    let name = directory.get(name_start..extra_start)?;
    let extra = directory.get(extra_start..extra_start + extra_len)?;
    if next > directory.len() {
        return None;
    }
    let mut entry = Entry {
        encrypted: le16(fixed, 8)? & 1 == 1,
        method: u16::try_from(le16(fixed, 10)?).ok()?,
        compressed: le32(fixed, 20)?,
        uncompressed: le32(fixed, 24)?,
        local: le32(fixed, 42)?,
    };
    widen(&mut entry, extra);
    entry.local = entry.local.saturating_add(base);
    Some((name, entry, next))
}

/// Calls `visit` with each record's name and entry, in order; `false` when the directory
/// ends (or breaks) before `count` records.
pub(crate) fn records(
    directory: &[u8],
    central: &Central,
    mut visit: impl FnMut(&[u8], Entry),
) -> bool {
    let mut at = 0;
    for _ in 0..central.count {
        let Some((name, entry, next)) = record(directory, at, central.base) else {
            return false;
        };
        visit(name, entry);
        at = next;
    }
    true
}

/// Where `entry`'s data starts, from its local header; its data lies inside the archive.
pub(crate) fn data_start(src: &mut Source, entry: &Entry) -> Result<u64, EntryFault> {
    if !src.contains(entry.local, LOCAL_LEN) {
        return Err(EntryFault::Corrupt);
    }
    let header = src
        .read(entry.local, LOCAL_LEN)
        .ok_or(EntryFault::Unavailable)?;
    if array(&header, 0) != Some(*b"PK\x03\x04") {
        return Err(EntryFault::Corrupt);
    }
    // The local name and extra may differ from the central ones: only their lengths count.
    let skip = le16(&header, 26).zip(le16(&header, 28)).map(|(n, e)| n + e);
    let start = skip.and_then(|skip| (entry.local + LOCAL_LEN).checked_add(skip));
    match start {
        Some(start) if src.contains(start, entry.compressed) => Ok(start),
        _ => Err(EntryFault::Corrupt),
    }
}

/// An entry's compressed bytes as a reader, fetched a chunk at a time.
struct Compressed<'s, 'a> {
    /// The archive.
    src: &'s mut Source<'a>,
    /// The next byte to give.
    at: u64,
    /// One past the entry's last byte.
    end: u64,
    /// Set when a chunk was not available (as opposed to a bad stream).
    missing: bool,
}

impl Read for Compressed<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = self
            .end
            .saturating_sub(self.at)
            .min(buf.len() as u64)
            .min(CHUNK);
        if want == 0 {
            return Ok(0);
        }
        let chunk = self.src.read(self.at, want);
        let Some((chunk, dst)) = chunk.as_deref().zip(buf.get_mut(..want as usize)) else {
            self.missing = true;
            return Err(io::ErrorKind::UnexpectedEof.into());
        };
        dst.copy_from_slice(chunk);
        self.at += want;
        Ok(want as usize)
    }
}

/// `entry`'s deflated data at `start` inflated, at most `cap + 1` bytes of it (so that a
/// longer result shows itself). Compressed bytes are read only as far as inflating needs,
/// and never past [`COMPRESSED_MAX`] (empty deflate blocks give nothing for what they cost).
pub(crate) fn inflate(
    src: &mut Source,
    start: u64,
    entry: &Entry,
    cap: u64,
) -> Result<Vec<u8>, EntryFault> {
    let end = start.saturating_add(entry.compressed.min(COMPRESSED_MAX));
    let mut compressed = Compressed {
        src,
        at: start,
        end,
        missing: false,
    };
    let mut out = Vec::new();
    let read = DeflateDecoder::new(&mut compressed)
        .take(cap.saturating_add(1))
        .read_to_end(&mut out);
    match read {
        Ok(_) => Ok(out),
        Err(_) if compressed.missing => Err(EntryFault::Unavailable),
        Err(_) => Err(EntryFault::Corrupt),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A central-directory record named `n` whose fields all defer to a ZIP64 extra field.
    fn wide_record() -> Vec<u8> {
        let mut record = b"PK\x01\x02".to_vec();
        record.extend_from_slice(&[0; 4]); // versions
        record.extend_from_slice(&[0, 0, 8, 0]); // flags, method
        record.extend_from_slice(&[0; 8]); // time, date, crc
        record.extend_from_slice(&[0xFF; 8]); // compressed, uncompressed
        record.extend_from_slice(&[1, 0, 32, 0, 0, 0]); // name, extra, comment lengths
        record.extend_from_slice(&[0; 8]); // disk, attributes
        record.extend_from_slice(&[0xFF; 4]); // local header offset
        record.push(b'n');
        record.extend_from_slice(&[9, 0, 0, 0]); // an unknown empty extra field first
        record.extend_from_slice(&[1, 0, 24, 0]);
        for value in [5_000_000_000_u64, 6_000_000_000, 7_000_000_000] {
            record.extend_from_slice(&value.to_le_bytes());
        }
        record
    }

    #[test]
    fn zip64_extra_field_widens_sizes_and_offset() {
        let directory = wide_record();
        let central = Central {
            offset: 0,
            len: directory.len() as u64,
            count: 1,
            base: 10,
        };
        let mut seen = Vec::new();
        assert!(records(&directory, &central, |name, entry| seen
            .push((name.to_vec(), entry))));
        let (name, entry) = &seen[0];
        assert_eq!(name, b"n");
        assert_eq!(
            (entry.uncompressed, entry.compressed),
            (5_000_000_000, 6_000_000_000)
        );
        assert_eq!(
            (entry.local, entry.method, entry.encrypted),
            (7_000_000_010, 8, false)
        );
        // Cut anywhere, the record is refused, never misread.
        for cut in 0..directory.len() {
            assert!(!records(&directory[..cut], &central, |_, _| {}));
        }
    }
}

//! The bytes of a streamed Java archive a walk keeps to read it at its end, as if by
//! positioned reads: all of a small one; of a large one its head, its tail (the central
//! directory) and the entries its local headers show as they pass (the `pom.properties` and
//! manifests anywhere, nested archives stored in the clear included, and the header and tail
//! of each nested archive, its own central directory).
//!
//! Budget: the whole file up to [`Kept::WHOLE_MAX`]; else 5 MiB of head and tail and at most
//! [`ENTRIES_KEPT_MAX`] bytes of entries in [`WINDOWS_MAX`] windows; the search for local
//! headers looks at each byte once and carries at most one header between chunks.

use std::collections::BTreeMap;

use super::jar::{is_pom, nested_file};

/// Bytes of entries a large archive keeps, all windows together.
const ENTRIES_KEPT_MAX: u64 = 64 << 20;
/// Windows a large archive keeps.
const WINDOWS_MAX: usize = 16_384;
/// Bytes kept of a `pom.properties` or manifest: what the reader inflates of one at most.
const SMALL_KEPT: u64 = 64 << 10;
/// Bytes kept of a nested archive's end: its end record and central directory.
const NESTED_TAIL: u64 = 256 << 10;
/// The longest window: a nested archive's header (its name and extra field) or tail.
const WINDOW_MAX: u64 = NESTED_TAIL + (LOCAL + NAME_MAX + 65_535) as u64;
/// A local header's fixed part.
const LOCAL: usize = 30;
/// Longest entry name looked at (longer ones are none of the entries wanted).
const NAME_MAX: usize = 1024;

/// What is kept of a streamed archive.
#[derive(Debug)]
pub(crate) struct Kept {
    head: Vec<u8>,
    head_len: u64,
    tail: Vec<u8>,
    tail_start: u64,
    /// Windows by start: (end, bytes so far).
    windows: BTreeMap<u64, (u64, Vec<u8>)>,
    /// Starts of the windows still filling.
    open: Vec<u64>,
    /// Bytes the windows may still take.
    room: u64,
    /// The bytes before the current chunk that may start a local header.
    carry: Vec<u8>,
    /// Whether the whole file is kept (no search needed).
    whole: bool,
}

impl Kept {
    /// An archive this large or smaller is kept whole.
    pub(crate) const WHOLE_MAX: u64 = 16 << 20;
    /// Bytes kept of a larger one's start, where Maven writes `META-INF`.
    const HEAD: u64 = 1 << 20;
    /// Bytes kept of its end, where its central directory lies.
    const TAIL: u64 = 4 << 20;

    /// What to keep of a file of `size` bytes.
    pub(crate) fn new(size: u64) -> Self {
        let whole = size <= Self::WHOLE_MAX;
        let (head_len, tail_start) = if whole {
            (size, size)
        } else {
            (Self::HEAD, size - Self::TAIL)
        };
        Self {
            head: Vec::new(),
            head_len,
            tail: Vec::new(),
            tail_start,
            windows: BTreeMap::new(),
            open: Vec::new(),
            room: ENTRIES_KEPT_MAX,
            carry: Vec::new(),
            whole,
        }
    }

    /// Keeps what it needs of the file's bytes `chunk`, which start at `pos`.
    pub(crate) fn take(&mut self, pos: u64, chunk: &[u8]) {
        let end = pos + chunk.len() as u64;
        if pos < self.head_len {
            let n = usize::try_from(self.head_len.min(end) - pos).unwrap_or(chunk.len());
            self.head.extend_from_slice(&chunk[..n.min(chunk.len())]);
        }
        if end > self.tail_start {
            let from = usize::try_from(self.tail_start.saturating_sub(pos)).unwrap_or(0);
            self.tail.extend_from_slice(chunk.get(from..).unwrap_or_default());
        }
        if self.whole {
            return;
        }
        self.fill(pos, chunk);
        self.search(pos, chunk);
    }

    /// Copies into the open windows what `chunk` (at `pos`) holds of them, and closes the
    /// ones filled (or passed unseen).
    fn fill(&mut self, pos: u64, chunk: &[u8]) {
        let end = pos + chunk.len() as u64;
        let windows = &mut self.windows;
        self.open.retain(|start| {
            let Some((stop, bytes)) = windows.get_mut(start) else {
                return false;
            };
            let from = start + bytes.len() as u64;
            if from < pos {
                return false;
            }
            if from < end {
                let i = usize::try_from(from - pos).unwrap_or(usize::MAX);
                let j = usize::try_from((*stop).min(end) - pos).unwrap_or(usize::MAX);
                if let Some(part) = chunk.get(i..j) {
                    bytes.extend_from_slice(part);
                }
            }
            start + (bytes.len() as u64) < *stop
        });
    }

    /// Looks for local headers in the bytes carried and `chunk` (at `pos`), keeping windows
    /// for the entries wanted.
    fn search(&mut self, pos: u64, chunk: &[u8]) {
        let start = pos - self.carry.len() as u64;
        let mut joined = std::mem::take(&mut self.carry);
        joined.extend_from_slice(chunk);
        let mut resume = joined.len().saturating_sub(3);
        for at in memchr::memmem::find_iter(&joined, b"PK\x03\x04") {
            match local_header(&joined[at..]) {
                Header::Short => {
                    // Cut by the chunk's end: looked at again with the next chunk.
                    resume = resume.min(at);
                    break;
                }
                Header::None => {}
                Header::Entry {
                    name_end,
                    data,
                    stored,
                    size,
                } => {
                    let name = &joined[at + LOCAL..at + name_end];
                    let at = start + at as u64;
                    let data = at + data as u64;
                    self.want(name, at, data, stored, size, (start, &joined));
                }
            }
        }
        // Keep at most one cut header: a longer carry would mean a name past NAME_MAX.
        let keep = (joined.len() - resume).min(LOCAL + NAME_MAX + 3);
        self.carry = joined[joined.len() - keep..].to_vec();
    }

    /// Keeps the windows an entry named `name` (its header at `at`, its data at `data`)
    /// needs, seeding them from `seen` (bytes already passed, from its offset).
    fn want(
        &mut self,
        name: &[u8],
        at: u64,
        data: u64,
        stored: bool,
        size: Option<u64>,
        seen: (u64, &[u8]),
    ) {
        let mut windows = Vec::new();
        let manifest = name.len() >= 20 && name[name.len() - 20..].eq_ignore_ascii_case(b"META-INF/MANIFEST.MF");
        if is_pom(name) || manifest {
            windows.push((at, data + size.unwrap_or(SMALL_KEPT).min(SMALL_KEPT)));
        } else if nested_file(name).is_some() && stored {
            let Some(size) = size else { return };
            windows.push((at, data));
            windows.push((data + size - size.min(NESTED_TAIL), data + size));
        }
        for (start, end) in windows {
            let len = end.saturating_sub(start);
            if len == 0 || len > self.room || self.windows.len() >= WINDOWS_MAX {
                continue;
            }
            self.room -= len;
            // What has passed already, from the bytes looked at.
            let (base, bytes) = seen;
            let from = usize::try_from(start.saturating_sub(base)).unwrap_or(usize::MAX);
            let to = usize::try_from(end.saturating_sub(base)).unwrap_or(usize::MAX);
            let have = bytes.get(from.min(bytes.len())..to.min(bytes.len()));
            if start < base || self.windows.contains_key(&start) || self.covered(start, end) {
                continue;
            }
            let seeded = have.unwrap_or_default().to_vec();
            if start + (seeded.len() as u64) < end {
                self.open.push(start);
            }
            self.windows.insert(start, (end, seeded));
        }
    }

    /// The window that covers `[start, end)`, if one does (filled or still filling): any
    /// window holding a byte starts at most [`WINDOW_MAX`] before it.
    fn covered(&self, start: u64, end: u64) -> bool {
        self.windows
            .range(start.saturating_sub(WINDOW_MAX)..=start)
            .any(|(_, (stop, _))| *stop >= end)
    }

    /// The first bytes kept (to tell a zip).
    pub(crate) fn head(&self) -> &[u8] {
        &self.head
    }

    /// `read_at` over the bytes kept: `None` for bytes not kept.
    pub(crate) fn read_at(&self, offset: u64, len: usize) -> Option<Vec<u8>> {
        let end = offset.checked_add(len as u64)?;
        let slice = |bytes: &[u8], start: u64| {
            let from = usize::try_from(offset - start).ok()?;
            bytes.get(from..from.checked_add(len)?).map(<[u8]>::to_vec)
        };
        if end <= self.head.len() as u64 {
            return slice(&self.head, 0);
        }
        if offset >= self.tail_start {
            return slice(&self.tail, self.tail_start);
        }
        // A window covered by another is never kept, so few start in the span that may hold
        // `offset`.
        self.windows
            .range(offset.saturating_sub(WINDOW_MAX)..=offset)
            .rev()
            .find(|(start, (_, bytes))| end <= **start + bytes.len() as u64)
            .and_then(|(start, (_, bytes))| slice(bytes, *start))
    }
}

/// What the bytes at a local header's signature are.
enum Header {
    /// Not all of it is here yet.
    Short,
    /// Not a local header of an entry worth a look.
    None,
    /// An entry: where its name ends and its data starts (from the signature), whether it
    /// is stored, its size in the archive when the header tells it.
    Entry {
        name_end: usize,
        data: usize,
        stored: bool,
        size: Option<u64>,
    },
}

/// Reads the local header at the start of `bytes`.
fn local_header(bytes: &[u8]) -> Header {
    let Some(fixed) = bytes.get(..LOCAL) else {
        return Header::Short;
    };
    let u16_at = |i: usize| u16::from_le_bytes([fixed[i], fixed[i + 1]]);
    let u32_at = |i: usize| u32::from_le_bytes([fixed[i], fixed[i + 1], fixed[i + 2], fixed[i + 3]]);
    let (flags, method) = (u16_at(6), u16_at(8));
    let (compressed, name_len, extra_len) = (u32_at(18), usize::from(u16_at(26)), usize::from(u16_at(28)));
    if name_len == 0 || name_len > NAME_MAX || flags & 1 != 0 {
        return Header::None;
    }
    if bytes.len() < LOCAL + name_len {
        return Header::Short;
    }
    // A size in a data descriptor (flag 3) or a ZIP64 field is not told here.
    let size = (flags & 8 == 0 && compressed != u32::MAX).then_some(u64::from(compressed));
    Header::Entry {
        name_end: LOCAL + name_len,
        data: LOCAL + name_len + extra_len,
        stored: method == 0,
        size,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_cut_by_a_chunk_is_read_with_the_next() {
        let mut zip = vec![0u8; 100];
        let mut header = b"PK\x03\x04".to_vec();
        header.extend([0u8; 14]);
        header.extend(5u32.to_le_bytes()); // compressed
        header.extend(5u32.to_le_bytes()); // uncompressed
        let name = b"META-INF/MANIFEST.MF";
        header.extend((name.len() as u16).to_le_bytes());
        header.extend(0u16.to_le_bytes());
        header.extend(name);
        header.extend(b"hello");
        zip.extend(&header);
        zip.resize(Kept::WHOLE_MAX as usize + (8 << 20), 0);
        for chunk in [7usize, 33, 4096] {
            let mut kept = Kept::new(zip.len() as u64);
            let mut pos = 0;
            // Only the first megabytes matter: a chunk this small over 24 MiB is slow.
            for piece in zip.chunks(chunk).take(200_000 / chunk) {
                kept.take(pos, piece);
                pos += piece.len() as u64;
            }
            assert!(kept.windows.contains_key(&100), "chunks of {chunk}");
        }
    }
}

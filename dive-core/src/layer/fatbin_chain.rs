//! One fat binary followed header by header while its bytes pass: a chain of entries whose
//! sizes are checked against the fat binary's end before they are believed.

use super::fatbin::{
    Arch, ArchVariant, CodeKind, ENTRY_CAP, ENTRY_HEADER, FAT_HEADER, Fault, Found, MAGIC, le,
};

/// A fat binary being read, header after header.
#[derive(Debug)]
pub(super) struct Chain {
    pub(super) start: u64,
    /// Where its bytes must end: the section's end, or the file's.
    pub(super) limit: u64,
    /// Its end, once its header is read; 0 before.
    pub(super) end: u64,
    pub(super) header_size: u64,
    /// Offset of the next header wanted.
    pub(super) next: u64,
    /// The part of the next header met so far (streams cut headers in two): `filled`
    /// bytes of `buf`.
    pub(super) buf: [u8; ENTRY_HEADER],
    pub(super) filled: usize,
    pub(super) strict: bool,
    pub(super) entries: Vec<(Arch, u64)>,
    /// Most entries it may take (what [`ENTRY_CAP`] leaves).
    pub(super) room: usize,
}

/// Where a chain stands after a header.
pub(super) enum Step {
    More,
    Done(Found),
    Failed(u64, Fault),
}

impl Chain {
    pub(super) fn new(start: u64, limit: u64) -> Self {
        Self {
            start,
            limit,
            end: 0,
            header_size: 0,
            next: start,
            buf: [0; ENTRY_HEADER],
            filled: 0,
            strict: true,
            entries: Vec::new(),
            room: ENTRY_CAP,
        }
    }

    /// The offset and length of the header it needs next.
    pub(super) fn want(&self) -> (u64, usize) {
        let len = if self.end == 0 {
            FAT_HEADER
        } else {
            ENTRY_HEADER
        };
        (self.next, len)
    }

    pub(super) fn fail(&self, fault: Fault) -> Step {
        Step::Failed(self.start, fault)
    }

    /// The offset of the next byte it needs.
    pub(super) fn wanted_at(&self) -> u64 {
        self.next + self.filled as u64
    }

    /// Takes the header it wanted.
    pub(super) fn give(&mut self, bytes: &[u8]) -> Step {
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
            return self.fail(Fault::EntryPastEnd {
                at,
                header_size,
                padded,
                end: self.end,
            });
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
        if self.entries.len() >= self.room {
            return self.fail(Fault::TooManyEntries);
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
            return self.fail(Fault::BadHeader);
        }
        let end = self
            .start
            .checked_add(header_size)
            .and_then(|e| e.checked_add(entries_size))
            .filter(|&e| e <= self.limit);
        let Some(end) = end else {
            return self.fail(Fault::PastLimit {
                entries_size,
                limit: self.limit,
            });
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
    pub(super) fn offer(&mut self, at: u64, data: &[u8]) -> Option<Step> {
        loop {
            let (want, len) = self.want();
            let from = want + self.filled as u64;
            let stop = at + data.len() as u64;
            if from < at {
                return Some(self.fail(Fault::Unseen { at: want }));
            }
            if from >= stop {
                return None;
            }
            let i = (from - at) as usize;
            let take = (len - self.filled).min(data.len() - i);
            self.buf[self.filled..self.filled + take].copy_from_slice(&data[i..i + take]);
            self.filled += take;
            if self.filled < len {
                return None;
            }
            self.filled = 0;
            let header = self.buf;
            match self.give(&header[..len]) {
                Step::More => {}
                done => return Some(done),
            }
        }
    }
}

//! rpm's Berkeley DB hash `Packages` database (RHEL 7 and 8 and their rebuilds, UBI 8, Amazon
//! Linux 2), read from its bytes without libdb.
//!
//! # Format (libdb `db_page.h`; rpm `lib/backend/bdb_ro.cc`)
//!
//! The file is a sequence of pages of one size. Page 0 is the hash meta page: magic at 12
//! (its byte order is the file's: s390x images are big-endian), hash version at 16, page size
//! at 20, encryption at 24, page type 8 at 25, flags at 26 (bit 0: checksums), last page at 32.
//! Every other page starts with a 26-byte header: its own number at 8, `next` at 16, an entry
//! count at 20, `hf_offset` at 22 and its type at 25.
//!
//! A hash page (type 13, or 2 before hash version 9) holds `entries` u16 offsets after its
//! header, in pairs (key, value). Items are packed down from the end of the page in index
//! order, so an item ends where the previous one starts (the first at the page end). An item's
//! first byte is its kind: 1 = the bytes follow inline; 3 = off-page, `{kind, 3 pad, u32 first
//! page, u32 total length}`, whose bytes are the first `hf_offset` bytes after the header of each
//! page (type 7) of a chain linked by `next`.
//!
//! rpm keys each header by its 4-byte instance number in the file's byte order; key 0 holds the
//! largest instance number and is not a header. A value of more than a quarter of a page (1,024
//! bytes at the usual 4,096) goes off-page; smaller headers stay inline and must be read too.
//!
//! # Reading
//!
//! Pages are scanned in file order instead of walking the buckets: every hash page whose stored
//! number matches its position is read, and a key seen twice is delivered once. This finds what
//! rpm finds in a sound file and stays linear in a hostile one.
//!
//! # Budget (the whole input is untrusted)
//!
//! - Memory: one overflow value at a time (at most the file's length; inline values are
//!   borrowed from the input), a bitset of one bit per page, and the set of keys delivered.
//! - Time: linear in the file's bytes. The scan looks at each page once, and an overflow chain
//!   may only use pages no chain has used before, so each page is read at most twice.
//! - Output: the bytes passed to `each` never exceed the file's length: inline items of a page
//!   must not overlap, and chain pages are never reused.
//!
//! Damage in the meta page stops the read at once. Damage in one record skips that record and
//! the scan goes on; the first such damage is returned at the end, after every readable header
//! was delivered.

// This scratch crate has no caller of the pub(crate) items; dive-core's rpm/mod.rs is one.

use std::collections::HashSet;


use super::{Damage, Problems, damage, wide};

/// The meta page's fields end before 512 bytes, the smallest page.
const MIN_PAGE_SIZE: usize = 512;
const MAX_PAGE_SIZE: usize = 65536;
const PAGE_HEADER: usize = 26;

const PAGE_HASH_UNSORTED: u8 = 2;
const PAGE_OVERFLOW: u8 = 7;
const PAGE_HASH_META: u8 = 8;
const PAGE_HASH: u8 = 13;

const ITEM_INLINE: u8 = 1;
const ITEM_OFF_PAGE: u8 = 3;
const OFF_PAGE_ITEM_SIZE: usize = 12;

const META_FLAG_CHECKSUM: u8 = 0x01;
const RPM_KEY_SIZE: usize = 4;

/// Whether `content` is a Berkeley DB hash database (magic at 12, either byte order).
pub(crate) fn is_bdb_hash(content: &[u8]) -> bool {
    byte_order(content).is_some()
}

/// Calls `each` with every header blob stored in the hash database (key 0, rpm's instance
/// counter, skipped; keys must be 4 bytes; a key seen twice delivered once), `each` returns
/// false to stop.
///
/// # Errors
///
/// A meta page this reader cannot use (not a hash db, unknown version, bad page size,
/// encryption, checksums, shorter than a page) fails before any blob is delivered. Otherwise
/// every readable blob is delivered, and the first damaged record, if any, is returned at the
/// end with the count of further problems.
pub(crate) fn blobs(db: &[u8], each: &mut dyn FnMut(&[u8]) -> bool) -> Result<(), Damage> {
    let file = File::open(db)?;
    let mut scan = Scan {
        file,
        chain_pages: PageSet::new(file.pages),
        delivered: HashSet::new(),
        value: Vec::new(),
        problems: Problems::default(),
    };
    if let Some(damage) = file.truncation() {
        scan.problems.note(damage);
    }
    for pgno in 1..file.pages {
        if scan.hash_page(pgno, each) == Flow::Stop {
            break;
        }
    }
    scan.problems.finish()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ByteOrder {
    Little,
    Big,
}

fn byte_order(content: &[u8]) -> Option<ByteOrder> {
    match content.get(12..16)? {
        [0x61, 0x15, 0x06, 0x00] => Some(ByteOrder::Little),
        [0x00, 0x06, 0x15, 0x61] => Some(ByteOrder::Big),
        _ => None,
    }
}

/// The validated meta page: where the pages are and how to read their numbers.
#[derive(Clone, Copy)]
struct File<'a> {
    bytes: &'a [u8],
    order: ByteOrder,
    page_size: usize,
    /// Pages that both the meta page declares and the file holds.
    pages: u32,
    /// `last_pgno + 1` as the meta page declares it.
    declared_pages: u64,
}

impl<'a> File<'a> {
    fn open(bytes: &'a [u8]) -> Result<Self, Damage> {
        if bytes.len() < MIN_PAGE_SIZE {
            return Err(damage(
                0,
                format!(
                    "file is {} bytes, shorter than a 512-byte meta page",
                    bytes.len()
                ),
            ));
        }
        let Some(order) = byte_order(bytes) else {
            let btree = matches!(
                bytes.get(12..16),
                Some([0x62, 0x31, 0x05, 0] | [0, 0x05, 0x31, 0x62])
            );
            let what = if btree {
                "a Berkeley DB btree, which rpm uses only for indexes"
            } else {
                "no Berkeley DB hash magic (0x00061561)"
            };
            return Err(damage(12, what.to_owned()));
        };
        let meta = Self {
            bytes,
            order,
            page_size: MIN_PAGE_SIZE,
            pages: 0,
            declared_pages: 0,
        };
        let field = |at: usize| meta.u32_at(at).unwrap_or(0);
        let version = field(16);
        if !(8..=10).contains(&version) {
            return Err(damage(
                16,
                format!("hash version {version} is not one of 8, 9, 10"),
            ));
        }
        let page_size = usize::try_from(field(20)).unwrap_or(0);
        if !(MIN_PAGE_SIZE..=MAX_PAGE_SIZE).contains(&page_size) || !page_size.is_power_of_two() {
            return Err(damage(
                20,
                format!("page size {page_size} is not a power of two in 512..=65536"),
            ));
        }
        let [encryption, kind, flags] = [24, 25, 26].map(|at| bytes.get(at).copied().unwrap_or(0));
        if encryption != 0 {
            return Err(damage(
                24,
                format!("encrypted (algorithm {encryption}); not supported"),
            ));
        }
        if kind != PAGE_HASH_META {
            return Err(damage(
                25,
                format!("meta page type {kind}, expected 8 (hash meta)"),
            ));
        }
        if flags & META_FLAG_CHECKSUM != 0 {
            return Err(damage(
                26,
                "pages carry checksums (meta flag 0x01), which move the page layout; not supported"
                    .to_owned(),
            ));
        }
        let declared_pages = u64::from(field(32)) + 1;
        let held_pages = wide(bytes.len() / page_size);
        let pages = u32::try_from(declared_pages.min(held_pages)).unwrap_or(u32::MAX);
        Ok(Self {
            bytes,
            order,
            page_size,
            pages,
            declared_pages,
        })
    }

    /// The damage of a file shorter than its meta page says, if it is.
    fn truncation(&self) -> Option<Damage> {
        let held = wide(self.bytes.len() / self.page_size);
        (held < self.declared_pages).then(|| {
            damage(
                held * wide(self.page_size),
                format!(
                    "file is truncated: it holds {held} whole pages of {} bytes, the meta page \
                     declares {}",
                    self.page_size, self.declared_pages
                ),
            )
        })
    }

    fn page(&self, pgno: u32) -> Option<Page<'a>> {
        let start = usize::try_from(pgno).ok()?.checked_mul(self.page_size)?;
        let bytes = self.bytes.get(start..start.checked_add(self.page_size)?)?;
        Some(Page {
            bytes,
            pgno,
            start: wide(start),
            order: self.order,
        })
    }

    fn u32_at(&self, at: usize) -> Option<u32> {
        read_u32(self.bytes, at, self.order)
    }

    /// The most bytes an overflow chain of this file can hold.
    fn chain_capacity(&self) -> u64 {
        u64::from(self.pages) * wide(self.page_size - PAGE_HEADER)
    }
}

fn read_u16(bytes: &[u8], at: usize, order: ByteOrder) -> Option<u16> {
    let raw: [u8; 2] = bytes.get(at..at.checked_add(2)?)?.try_into().ok()?;
    Some(match order {
        ByteOrder::Little => u16::from_le_bytes(raw),
        ByteOrder::Big => u16::from_be_bytes(raw),
    })
}

fn read_u32(bytes: &[u8], at: usize, order: ByteOrder) -> Option<u32> {
    let raw: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(match order {
        ByteOrder::Little => u32::from_le_bytes(raw),
        ByteOrder::Big => u32::from_be_bytes(raw),
    })
}

/// One whole page of the file.
#[derive(Clone, Copy)]
struct Page<'a> {
    bytes: &'a [u8],
    pgno: u32,
    /// File offset of the page's first byte.
    start: u64,
    order: ByteOrder,
}

impl Page<'_> {
    /// A header field; the header lies inside every page, so a miss reads as 0.
    fn u16(&self, at: usize) -> u16 {
        read_u16(self.bytes, at, self.order).unwrap_or(0)
    }

    fn u32(&self, at: usize) -> u32 {
        read_u32(self.bytes, at, self.order).unwrap_or(0)
    }

    fn kind(&self) -> u8 {
        self.bytes.get(25).copied().unwrap_or(0)
    }

    fn stored_pgno(&self) -> u32 {
        self.u32(8)
    }

    fn next(&self) -> u32 {
        self.u32(16)
    }

    fn entries(&self) -> u16 {
        self.u16(20)
    }

    fn hf_offset(&self) -> u16 {
        self.u16(22)
    }

    fn at(&self, offset: usize) -> u64 {
        self.start + wide(offset)
    }

    /// The item offsets of a hash page, checked so that items are packed downwards in index
    /// order, each non-empty and above the offset array.
    fn item_offsets(&self) -> Result<Vec<usize>, Damage> {
        let entries = usize::from(self.entries());
        let most = (self.bytes.len() - PAGE_HEADER) / 2;
        if entries > most || entries % 2 != 0 {
            return Err(damage(
                self.at(20),
                format!(
                    "hash page {} has {entries} entries; expected an even count of at most {most}",
                    self.pgno
                ),
            ));
        }
        let lowest = PAGE_HEADER + 2 * entries;
        let mut end = self.bytes.len();
        let mut offsets = Vec::with_capacity(entries);
        for index in 0..entries {
            let slot = PAGE_HEADER + 2 * index;
            let offset = usize::from(self.u16(slot));
            if offset < lowest || offset >= end {
                return Err(damage(
                    self.at(slot),
                    format!(
                        "entry {index} of hash page {} is at {offset}, outside {lowest}..{end}",
                        self.pgno
                    ),
                ));
            }
            offsets.push(offset);
            end = offset;
        }
        Ok(offsets)
    }
}

/// One bit per page.
struct PageSet(Vec<u64>);

impl PageSet {
    fn new(pages: u32) -> Self {
        Self(vec![0; usize::try_from(pages.div_ceil(64)).unwrap_or(0)])
    }

    /// Adds `pgno`; false if it was already there (or out of range).
    fn insert(&mut self, pgno: u32) -> bool {
        let Ok(word) = usize::try_from(pgno / 64) else {
            return false;
        };
        let bit = 1u64 << (pgno % 64);
        match self.0.get_mut(word) {
            Some(bits) if *bits & bit == 0 => {
                *bits |= bit;
                true
            }
            _ => false,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    Stop,
}

struct Scan<'a> {
    file: File<'a>,
    /// Pages already used by an overflow chain.
    chain_pages: PageSet,
    delivered: HashSet<[u8; RPM_KEY_SIZE]>,
    /// The overflow value being assembled; reused.
    value: Vec<u8>,
    problems: Problems,
}

/// Where a record's value lies.
enum Value {
    Inline { start: usize, end: usize },
    OffPage,
}

impl Scan<'_> {
    /// Delivers the records of page `pgno` if it is a hash page.
    fn hash_page(&mut self, pgno: u32, each: &mut dyn FnMut(&[u8]) -> bool) -> Flow {
        let Some(page) = self.file.page(pgno) else {
            return Flow::Continue;
        };
        // A page at the wrong place is free space or a stale copy, not part of the table.
        if !matches!(page.kind(), PAGE_HASH | PAGE_HASH_UNSORTED) || page.stored_pgno() != pgno {
            return Flow::Continue;
        }
        let offsets = match page.item_offsets() {
            Ok(offsets) => offsets,
            Err(damage) => {
                self.problems.note(damage);
                return Flow::Continue;
            }
        };
        let mut item_end = page.bytes.len();
        for pair in offsets.chunks_exact(2) {
            let &[key_start, value_start] = pair else {
                break;
            };
            let key_end = item_end;
            item_end = value_start;
            match self.record(page, (key_start, key_end), (value_start, key_start)) {
                Ok(Some(value)) => {
                    let bytes = match value {
                        Value::Inline { start, end } => page.bytes.get(start..end).unwrap_or(&[]),
                        Value::OffPage => &self.value,
                    };
                    if !each(bytes) {
                        return Flow::Stop;
                    }
                }
                Ok(None) => {}
                Err(damage) => self.problems.note(damage),
            }
        }
        Flow::Continue
    }

    /// Reads one key/value pair, given each item's byte range in the page; `None` for a pair
    /// that is not a header (key 0) or was already delivered.
    fn record(
        &mut self,
        page: Page<'_>,
        (key_start, key_end): (usize, usize),
        (value_start, value_end): (usize, usize),
    ) -> Result<Option<Value>, Damage> {
        let key_item = page.bytes.get(key_start..key_end).unwrap_or(&[]);
        let Some((&ITEM_INLINE, key)) = key_item.split_first() else {
            let kind = key_item.first().copied().unwrap_or(0);
            return Err(damage(
                page.at(key_start),
                format!(
                    "key on hash page {} has item type {kind}, not 1 (inline)",
                    page.pgno
                ),
            ));
        };
        let key: [u8; RPM_KEY_SIZE] = key.try_into().map_err(|_| {
            damage(
                page.at(key_start),
                format!(
                    "key on hash page {} is {} bytes, not 4",
                    page.pgno,
                    key.len()
                ),
            )
        })?;
        if key == [0; RPM_KEY_SIZE] || self.delivered.contains(&key) {
            return Ok(None);
        }
        let value_item = page.bytes.get(value_start..value_end).unwrap_or(&[]);
        let value = match value_item.first().copied() {
            Some(ITEM_INLINE) => Value::Inline {
                start: value_start + 1,
                end: value_end,
            },
            Some(ITEM_OFF_PAGE) if value_item.len() == OFF_PAGE_ITEM_SIZE => {
                let first = read_u32(value_item, 4, page.order).unwrap_or(0);
                let total = read_u32(value_item, 8, page.order).unwrap_or(0);
                self.overflow(page.at(value_start), first, total)?;
                Value::OffPage
            }
            kind => {
                return Err(damage(
                    page.at(value_start),
                    format!(
                        "value on hash page {} is an item of type {} and {} bytes; expected type 1 \
                         or a 12-byte type 3",
                        page.pgno,
                        kind.unwrap_or(0),
                        value_item.len()
                    ),
                ));
            }
        };
        self.delivered.insert(key);
        Ok(Some(value))
    }

    /// Collects the `total` bytes of the overflow chain starting at page `first` into
    /// `self.value`; `item` is the file offset of the off-page item pointing at it.
    fn overflow(&mut self, item: u64, first: u32, total: u32) -> Result<(), Damage> {
        let total_len = u64::from(total);
        if total == 0 || total_len > self.file.chain_capacity() {
            return Err(damage(
                item + 8,
                format!(
                    "overflow value of {total} bytes; a chain in this file holds 1..={} bytes",
                    self.file.chain_capacity()
                ),
            ));
        }
        let want = usize::try_from(total).unwrap_or(usize::MAX);
        self.value.clear();
        self.value.reserve(want);
        let mut pgno = first;
        let mut pointer = item + 4;
        while self.value.len() < want {
            let page = match self.file.page(pgno) {
                Some(page) if pgno != 0 => page,
                _ => {
                    return Err(damage(
                        pointer,
                        format!(
                            "overflow chain points at page {pgno}, outside 1..{}",
                            self.file.pages
                        ),
                    ));
                }
            };
            if !self.chain_pages.insert(pgno) {
                return Err(damage(
                    pointer,
                    format!("overflow chain reuses page {pgno} (a loop, or two chains sharing it)"),
                ));
            }
            if page.stored_pgno() != pgno {
                return Err(damage(
                    page.at(8),
                    format!(
                        "overflow page {pgno} says it is page {}",
                        page.stored_pgno()
                    ),
                ));
            }
            if page.kind() != PAGE_OVERFLOW {
                return Err(damage(
                    page.at(25),
                    format!(
                        "page {pgno} in an overflow chain has type {}, not 7",
                        page.kind()
                    ),
                ));
            }
            let len = usize::from(page.hf_offset());
            let left = want - self.value.len();
            let data = page
                .bytes
                .get(PAGE_HEADER..PAGE_HEADER + len)
                .filter(|_| len <= left);
            let Some(data) = data else {
                return Err(damage(
                    page.at(22),
                    format!(
                        "overflow page {pgno} holds {len} bytes; at most {} fit and {left} remain",
                        page.bytes.len() - PAGE_HEADER
                    ),
                ));
            };
            self.value.extend_from_slice(data);
            pgno = page.next();
            pointer = page.at(16);
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::process::Command;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::{Duration, Instant};


    use super::*;

    // ---- shared helpers -------------------------------------------------------------------

    /// Every blob `blobs` delivers, and its result.
    fn read_all(db: &[u8]) -> (Vec<Vec<u8>>, Result<(), Damage>) {
        crate::attribution::rpm::every_blob(|each| blobs(db, each))
    }

    fn sorted(mut blobs: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
        blobs.sort();
        blobs
    }

    fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    /// Bytes shaped like an rpm header blob of exactly `len` bytes: `il`, `dl` big-endian with
    /// `8 + 16*il + dl == len`, then index entries and data, unique per `seed`.
    fn header_like(seed: u64, len: usize) -> Vec<u8> {
        assert!(len >= 8);
        let il = ((len - 8) / 16).min(3);
        let dl = len - 8 - 16 * il;
        let mut blob = Vec::with_capacity(len);
        blob.extend_from_slice(&u32::try_from(il).unwrap().to_be_bytes());
        blob.extend_from_slice(&u32::try_from(dl).unwrap().to_be_bytes());
        let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        while blob.len() < len {
            blob.push(xorshift(&mut state) as u8);
        }
        blob
    }

    fn key(n: u32, order: ByteOrder) -> [u8; 4] {
        match order {
            ByteOrder::Little => n.to_le_bytes(),
            ByteOrder::Big => n.to_be_bytes(),
        }
    }

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> Self {
            static NEXT: AtomicU32 = AtomicU32::new(0);
            let unique = NEXT.fetch_add(1, Ordering::Relaxed);
            let path = std::env::temp_dir().join(format!(
                "rpm-bdb-test-{}-{name}-{unique}",
                std::process::id()
            ));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(&path).unwrap();
            Self(path)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Whether `tool` runs; when it does not, prints the skip line, or panics under CI=true.
    fn have(tool: &str, version_flag: &str) -> bool {
        let runs = Command::new(tool)
            .arg(version_flag)
            .output()
            .is_ok_and(|o| o.status.success());
        if !runs {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{tool} is required under CI=true"
            );
            println!("skipped: {tool} not installed");
        }
        runs
    }

    fn run(command: &mut Command) -> Vec<u8> {
        let out = command.output().unwrap();
        assert!(
            out.status.success(),
            "{command:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// Writes `records` as a `db_load` text dump and loads it into a hash database with
    /// `db5.3_load`; returns the file's bytes.
    fn db_load(
        dir: &Path,
        page_size: usize,
        order: ByteOrder,
        records: &[([u8; 4], &[u8])],
    ) -> Vec<u8> {
        use std::fmt::Write as _;
        let mut text = String::from("VERSION=3\nformat=bytevalue\ntype=hash\nHEADER=END\n");
        for (key, value) in records {
            for bytes in [&key[..], value] {
                text.push(' ');
                for byte in bytes {
                    write!(text, "{byte:02x}").unwrap();
                }
                text.push('\n');
            }
        }
        text.push_str("DATA=END\n");
        let dump = dir.join(format!("dump-{page_size}-{order:?}.txt"));
        let db = dir.join(format!("Packages-{page_size}-{order:?}"));
        std::fs::write(&dump, text).unwrap();
        let _ = std::fs::remove_file(&db);
        let mut load = Command::new("db5.3_load");
        load.arg("-c").arg(format!("db_pagesize={page_size}"));
        if order == ByteOrder::Big {
            load.args(["-c", "db_lorder=4321"]);
        }
        run(load.arg("-f").arg(&dump).arg(&db));
        std::fs::read(&db).unwrap()
    }

    /// rpm's records for `values` keyed 1..: the key-0 instance counter first.
    fn rpm_records(order: ByteOrder, values: &[Vec<u8>]) -> Vec<([u8; 4], Vec<u8>)> {
        let count = u32::try_from(values.len()).unwrap();
        let mut records = vec![(key(0, order), key(count, order).to_vec())];
        for (n, value) in (1..).zip(values) {
            records.push((key(n, order), value.clone()));
        }
        records
    }

    fn as_refs(records: &[([u8; 4], Vec<u8>)]) -> Vec<([u8; 4], &[u8])> {
        records.iter().map(|(k, v)| (*k, v.as_slice())).collect()
    }

    /// 2,000 header-like values: many small inline ones, some over a page, one of 200 KB.
    fn many_values() -> Vec<Vec<u8>> {
        let mut state = 0x1234_5678_9abc_def1;
        (0..2000u64)
            .map(|i| {
                let r = usize::try_from(xorshift(&mut state) % 100_000).unwrap();
                let len = match i {
                    0 => 200_000,
                    1..=9 => 10 + r % 20,
                    _ if i % 97 == 0 => 5_000 + r % 60_000,
                    _ if i % 3 == 0 => 10 + r % 120,
                    _ => 10 + r % 3_000,
                };
                header_like(i, len)
            })
            .collect()
    }

    // ---- real Berkeley DB files written by db5.3_load --------------------------------------

    #[test]
    fn reads_every_record_db_load_wrote_at_each_page_size_and_byte_order() {
        if !have("db5.3_load", "-V") {
            return;
        }
        let dir = TempDir::new("sizes");
        let values = many_values();
        let want = sorted(values.clone());
        for order in [ByteOrder::Little, ByteOrder::Big] {
            let records = rpm_records(order, &values);
            for page_size in [512, 4096, 65536] {
                let db = db_load(&dir.0, page_size, order, &as_refs(&records));
                assert!(is_bdb_hash(&db));
                let file = File::open(&db).unwrap();
                assert_eq!(file.order, order);
                assert_eq!(file.page_size, page_size);
                assert!(
                    file.u32_at(72).unwrap() > 1,
                    "several buckets at {page_size}"
                );
                let [inline, off_page] = value_kinds(&db);
                assert!(
                    inline > 100 && off_page > 0,
                    "{page_size}: {inline} {off_page}"
                );
                let (got, result) = read_all(&db);
                assert_eq!(result, Ok(()), "{page_size} {order:?}");
                assert_eq!(got.len(), values.len(), "{page_size} {order:?}");
                assert_eq!(sorted(got), want, "{page_size} {order:?}");
            }
        }
    }

    /// How many values of the file's hash pages are inline, and how many off-page.
    fn value_kinds(db: &[u8]) -> [usize; 2] {
        let file = File::open(db).unwrap();
        let mut kinds = [0; 2];
        for pgno in 1..file.pages {
            let page = file.page(pgno).unwrap();
            if page.kind() != PAGE_HASH {
                continue;
            }
            for value in page.item_offsets().unwrap().iter().skip(1).step_by(2) {
                match page.bytes[*value] {
                    ITEM_INLINE => kinds[0] += 1,
                    ITEM_OFF_PAGE => kinds[1] += 1,
                    other => panic!("item type {other}"),
                }
            }
        }
        kinds
    }

    #[test]
    fn small_headers_stored_inline_are_read() {
        if !have("db5.3_load", "-V") {
            return;
        }
        let dir = TempDir::new("inline");
        // At 4096 a value up to 1,024 bytes stays on the hash page; 1,025 goes off-page.
        let values: Vec<Vec<u8>> = [10, 500, 1_024, 1_025, 4_070, 4_071, 9_000]
            .iter()
            .map(|&n| header_like(n as u64, n))
            .collect();
        let records = rpm_records(ByteOrder::Little, &values);
        let db = db_load(&dir.0, 4096, ByteOrder::Little, &as_refs(&records));
        let (got, result) = read_all(&db);
        assert_eq!(result, Ok(()));
        assert_eq!(sorted(got), sorted(values));
    }

    #[test]
    fn agrees_with_rpm_on_a_package_it_installed() {
        if !have("db5.3_load", "-V") || !have("rpm", "--version") || !have("rpmbuild", "--version")
        {
            return;
        }
        let dir = TempDir::new("rpm");
        let top = dir.0.join("top");
        let sqlite = dir.0.join("sqlite");
        std::fs::create_dir_all(top.join("SPECS")).unwrap();
        std::fs::create_dir_all(&sqlite).unwrap();
        let spec = top.join("SPECS/tiny.spec");
        std::fs::write(
            &spec,
            "Name: tiny\nVersion: 1.0\nRelease: 1\nSummary: tiny test package\nLicense: MIT\n\
             BuildArch: noarch\n\n%description\nA tiny package for reader tests.\n\n\
             %install\nmkdir -p %{buildroot}/usr/share/tiny %{buildroot}/etc\n\
             echo hello > %{buildroot}/usr/share/tiny/hello.txt\n\
             echo 'a = 1' > %{buildroot}/etc/tiny.conf\n\n\
             %files\n/usr/share/tiny/hello.txt\n%config(noreplace) /etc/tiny.conf\n",
        )
        .unwrap();
        run(Command::new("rpmbuild")
            .arg("--define")
            .arg(format!("_topdir {}", top.display()))
            .arg("-bb")
            .arg(&spec));
        let package = top.join("RPMS/noarch/tiny-1.0-1.noarch.rpm");
        run(Command::new("rpm")
            .arg("--dbpath")
            .arg(&sqlite)
            .arg("--initdb"));
        run(Command::new("rpm")
            .arg("--dbpath")
            .arg(&sqlite)
            .args(["-i", "--justdb", "--nodeps", "--nosignature", "--noscripts"])
            .arg(&package));
        let export = run(Command::new("rpmdb")
            .arg("--dbpath")
            .arg(&sqlite)
            .arg("--exportdb"));
        let exported = split_export(&export);
        assert_eq!(exported.len(), 1);

        for order in [ByteOrder::Little, ByteOrder::Big] {
            let bdb = dir.0.join(format!("bdb-{order:?}"));
            std::fs::create_dir_all(&bdb).unwrap();
            let records = rpm_records(order, &exported);
            let db = db_load(&dir.0, 4096, order, &as_refs(&records));
            std::fs::write(bdb.join("Packages"), &db).unwrap();
            let (got, result) = read_all(&db);
            assert_eq!(result, Ok(()));
            assert_eq!(got, exported, "{order:?}");
            let listed = run(Command::new("rpm").arg("--dbpath").arg(&bdb).args([
                "--define",
                "_db_backend bdb_ro",
                "-qa",
            ]));
            let listed = String::from_utf8_lossy(&listed);
            assert!(
                listed.lines().any(|l| l == "tiny-1.0-1.noarch"),
                "{order:?}: {listed}"
            );
        }
    }

    /// Splits `rpmdb --exportdb` output: the header magic, then a blob of `8 + 16*il + dl`.
    fn split_export(mut export: &[u8]) -> Vec<Vec<u8>> {
        const MAGIC: [u8; 8] = [0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0];
        let mut blobs = Vec::new();
        while !export.is_empty() {
            assert_eq!(export[..8], MAGIC);
            let il = u32::from_be_bytes(export[8..12].try_into().unwrap()) as usize;
            let dl = u32::from_be_bytes(export[12..16].try_into().unwrap()) as usize;
            let len = 8 + 16 * il + dl;
            blobs.push(export[8..8 + len].to_vec());
            export = &export[8 + len..];
        }
        blobs
    }

    // ---- hand-built files: every field under the test's control ----------------------------

    /// A hash database laid out like libdb's: meta page, hash pages filled in key order, values
    /// over a quarter page in overflow chains. Buckets are not modelled; the reader does not
    /// use them.
    struct Builder {
        page_size: usize,
        order: ByteOrder,
        version: u32,
        hash_type: u8,
        pages: Vec<Vec<u8>>,
        current: Option<usize>,
        /// Next item offset (items grow down) on the current hash page.
        low: usize,
    }

    impl Builder {
        fn new(page_size: usize, order: ByteOrder) -> Self {
            let mut builder = Self {
                page_size,
                order,
                version: 9,
                hash_type: PAGE_HASH,
                pages: vec![vec![0; page_size]],
                current: None,
                low: 0,
            };
            builder.meta();
            builder
        }

        fn put16(&mut self, pgno: usize, at: usize, v: u16) {
            let b = match self.order {
                ByteOrder::Little => v.to_le_bytes(),
                ByteOrder::Big => v.to_be_bytes(),
            };
            self.pages[pgno][at..at + 2].copy_from_slice(&b);
        }

        fn put32(&mut self, pgno: usize, at: usize, v: u32) {
            let b = match self.order {
                ByteOrder::Little => v.to_le_bytes(),
                ByteOrder::Big => v.to_be_bytes(),
            };
            self.pages[pgno][at..at + 4].copy_from_slice(&b);
        }

        fn meta(&mut self) {
            self.put32(0, 12, 0x0006_1561);
            self.put32(0, 16, self.version);
            self.put32(0, 20, u32::try_from(self.page_size).unwrap());
            self.pages[0][25] = PAGE_HASH_META;
        }

        fn new_page(&mut self, kind: u8) -> usize {
            let pgno = self.pages.len();
            self.pages.push(vec![0; self.page_size]);
            self.put32(pgno, 8, u32::try_from(pgno).unwrap());
            self.pages[pgno][25] = kind;
            pgno
        }

        /// Stores `value` in an overflow chain; returns its first page.
        fn chain(&mut self, value: &[u8]) -> u32 {
            let room = self.page_size - PAGE_HEADER;
            let mut previous: Option<usize> = None;
            let mut first = 0;
            for piece in value.chunks(room) {
                let pgno = self.new_page(PAGE_OVERFLOW);
                self.put16(pgno, 20, 1);
                self.put16(pgno, 22, u16::try_from(piece.len()).unwrap());
                self.pages[pgno][PAGE_HEADER..PAGE_HEADER + piece.len()].copy_from_slice(piece);
                match previous {
                    Some(p) => {
                        self.put32(p, 16, u32::try_from(pgno).unwrap());
                        self.put32(pgno, 12, u32::try_from(p).unwrap());
                    }
                    None => first = u32::try_from(pgno).unwrap(),
                }
                previous = Some(pgno);
            }
            first
        }

        fn add(&mut self, rpm_key: [u8; 4], value: &[u8]) -> &mut Self {
            let value_item = if value.len() > self.page_size / 4 {
                let first = self.chain(value);
                let total = u32::try_from(value.len()).unwrap();
                let mut item = vec![ITEM_OFF_PAGE, 0, 0, 0];
                item.extend_from_slice(&key(first, self.order));
                item.extend_from_slice(&key(total, self.order));
                item
            } else {
                let mut item = vec![ITEM_INLINE];
                item.extend_from_slice(value);
                item
            };
            let mut key_item = vec![ITEM_INLINE];
            key_item.extend_from_slice(&rpm_key);
            self.add_items(&key_item, &value_item);
            self
        }

        fn add_items(&mut self, key_item: &[u8], value_item: &[u8]) {
            let need = key_item.len() + value_item.len() + 4;
            let fits = self.current.is_some_and(|pgno| {
                let entries = usize::from(read_u16(&self.pages[pgno], 20, self.order).unwrap());
                PAGE_HEADER + 2 * entries + need <= self.low
            });
            if !fits {
                let pgno = self.new_page(self.hash_type);
                self.current = Some(pgno);
                self.low = self.page_size;
            }
            let pgno = self.current.unwrap();
            let entries = usize::from(read_u16(&self.pages[pgno], 20, self.order).unwrap());
            for (index, item) in [key_item, value_item].into_iter().enumerate() {
                self.low -= item.len();
                let low = self.low;
                self.pages[pgno][low..low + item.len()].copy_from_slice(item);
                let slot = PAGE_HEADER + 2 * (entries + index);
                self.put16(pgno, slot, u16::try_from(low).unwrap());
            }
            self.put16(pgno, 20, u16::try_from(entries + 2).unwrap());
        }

        fn bytes(&mut self) -> Vec<u8> {
            let last = u32::try_from(self.pages.len() - 1).unwrap();
            self.put32(0, 32, last);
            self.pages.concat()
        }
    }

    /// A small file with inline and off-page values in `order`; and the values.
    fn sample(page_size: usize, order: ByteOrder) -> (Vec<u8>, Vec<Vec<u8>>) {
        let values: Vec<Vec<u8>> = [10, 40, 100, 600, 2_000, 9, 300, 5_000]
            .iter()
            .enumerate()
            .map(|(i, &len)| header_like(i as u64 + 100, len))
            .collect();
        let mut builder = Builder::new(page_size, order);
        builder.add(key(0, order), &key(8, order));
        for (n, value) in (1..).zip(&values) {
            builder.add(key(n, order), value);
        }
        (builder.bytes(), values)
    }

    /// File offset of the first page of `kind` after the meta page.
    fn first_page_of(db: &[u8], page_size: usize, kind: u8) -> usize {
        (1..db.len() / page_size)
            .map(|p| p * page_size)
            .find(|&at| db[at + 25] == kind)
            .unwrap()
    }

    fn set32(db: &mut [u8], at: usize, v: u32, order: ByteOrder) {
        let b = match order {
            ByteOrder::Little => v.to_le_bytes(),
            ByteOrder::Big => v.to_be_bytes(),
        };
        db[at..at + 4].copy_from_slice(&b);
    }

    fn set16(db: &mut [u8], at: usize, v: u16, order: ByteOrder) {
        let b = match order {
            ByteOrder::Little => v.to_le_bytes(),
            ByteOrder::Big => v.to_be_bytes(),
        };
        db[at..at + 2].copy_from_slice(&b);
    }

    #[test]
    fn hand_built_files_read_in_both_byte_orders() {
        for order in [ByteOrder::Little, ByteOrder::Big] {
            for page_size in [512, 1024, 4096] {
                let (db, values) = sample(page_size, order);
                let (got, result) = read_all(&db);
                assert_eq!(result, Ok(()), "{page_size} {order:?}");
                assert_eq!(got, values, "{page_size} {order:?}");
            }
        }
    }

    #[test]
    fn hash_version_8_with_unsorted_pages_reads() {
        let order = ByteOrder::Big;
        let mut builder = Builder::new(512, order);
        builder.version = 8;
        builder.hash_type = PAGE_HASH_UNSORTED;
        builder.meta();
        builder
            .add(key(1, order), b"first header")
            .add(key(2, order), &[7; 300]);
        let (got, result) = read_all(&builder.bytes());
        assert_eq!(result, Ok(()));
        assert_eq!(got, vec![b"first header".to_vec(), vec![7; 300]]);
    }

    #[test]
    fn a_key_seen_twice_is_delivered_once_and_key_zero_never() {
        let order = ByteOrder::Little;
        let mut builder = Builder::new(512, order);
        builder.add(key(0, order), &key(2, order));
        builder
            .add(key(1, order), b"one")
            .add(key(2, order), b"two");
        builder.add(key(1, order), b"one again, a stale copy");
        let (got, result) = read_all(&builder.bytes());
        assert_eq!(result, Ok(()));
        assert_eq!(got, vec![b"one".to_vec(), b"two".to_vec()]);
    }

    #[test]
    fn a_key_that_is_not_four_bytes_is_skipped_and_reported() {
        let order = ByteOrder::Little;
        let mut builder = Builder::new(512, order);
        builder.add_items(&[ITEM_INLINE, 1, 2, 3, 4, 5, 6, 7, 8], &[ITEM_INLINE, 9, 9]);
        builder.add(key(1, order), b"good");
        let (got, result) = read_all(&builder.bytes());
        assert_eq!(got, vec![b"good".to_vec()]);
        let damage = result.unwrap_err();
        assert!(damage.message.contains("8 bytes, not 4"), "{damage:?}");
        assert_eq!(damage.offset, 512 + 512 - 9);
    }

    #[test]
    fn stopping_early_stops() {
        let (db, values) = sample(512, ByteOrder::Little);
        let mut seen = 0;
        let result = blobs(&db, &mut |_| {
            seen += 1;
            seen < 3
        });
        assert_eq!(result, Ok(()));
        assert_eq!(seen, 3);
        assert!(values.len() > 3);
    }

    #[test]
    fn meta_pages_it_cannot_read_fail_before_any_blob() {
        let order = ByteOrder::Little;
        let (db, _) = sample(512, order);
        let mut btree = db.clone();
        btree[12..16].copy_from_slice(&0x0005_3162u32.to_le_bytes());
        assert!(read_all(&btree).1.unwrap_err().message.contains("btree"));
        let cases: [(usize, u8, &str); 6] = [
            (12, 0x62, "magic"),
            (16, 7, "hash version 7"),
            (20, 1, "page size 513"),
            (24, 1, "encrypted"),
            (25, 9, "meta page type 9"),
            (26, 1, "checksums"),
        ];
        for (at, byte, words) in cases {
            let mut bad = db.clone();
            bad[at] = byte;
            let (got, result) = read_all(&bad);
            assert!(got.is_empty(), "{words}");
            let damage = result.unwrap_err();
            assert_eq!(damage.offset, at as u64, "{words}");
            assert!(damage.message.contains(words), "{words}: {damage:?}");
        }
        let mut odd_size = db.clone();
        set32(&mut odd_size, 20, 768, order);
        assert!(read_all(&odd_size).1.unwrap_err().message.contains("768"));
        assert!(!is_bdb_hash(&db[..15]));
        assert!(is_bdb_hash(&db[..16]));
        assert_eq!(read_all(&db[..511]).1.unwrap_err().offset, 0);
    }

    #[test]
    fn chain_page_of_another_type_skips_only_that_record() {
        let order = ByteOrder::Little;
        let (mut db, values) = sample(512, order);
        let chain = first_page_of(&db, 512, PAGE_OVERFLOW);
        db[chain + 25] = 5;
        let (got, result) = read_all(&db);
        let damage = result.unwrap_err();
        assert_eq!(damage.offset, chain as u64 + 25);
        assert!(damage.message.contains("type 5, not 7"), "{damage:?}");
        assert_eq!(got.len(), values.len() - 1);
    }

    #[test]
    fn self_loop_in_a_chain_ends() {
        for order in [ByteOrder::Little, ByteOrder::Big] {
            let mut builder = Builder::new(512, order);
            builder
                .add(key(1, order), &[1; 1_000])
                .add(key(2, order), b"after");
            let mut db = builder.bytes();
            let chain = first_page_of(&db, 512, PAGE_OVERFLOW);
            let pgno = (chain / 512) as u32;
            set32(&mut db, chain + 16, pgno, order);
            let (got, result) = read_all(&db);
            assert_eq!(got, vec![b"after".to_vec()]);
            assert!(result.unwrap_err().message.contains("reuses page"));
        }
    }

    #[test]
    fn two_items_sharing_one_chain_deliver_it_once() {
        let order = ByteOrder::Little;
        let mut builder = Builder::new(512, order);
        builder.add(key(1, order), &[1; 1_000]);
        let first = builder
            .pages
            .iter()
            .position(|p| p[25] == PAGE_OVERFLOW)
            .unwrap() as u32;
        let mut item = vec![ITEM_OFF_PAGE, 0, 0, 0];
        item.extend_from_slice(&first.to_le_bytes());
        item.extend_from_slice(&1_000u32.to_le_bytes());
        for n in 2..40 {
            builder.add_items(&[&[ITEM_INLINE][..], &key(n, order)].concat(), &item);
        }
        let db = builder.bytes();
        let (got, result) = read_all(&db);
        assert_eq!(got.len(), 1);
        assert!(result.unwrap_err().message.contains("37 more problems"));
    }

    #[test]
    fn huge_overflow_length_is_refused_without_allocating() {
        let order = ByteOrder::Big;
        let (mut db, values) = sample(512, order);
        let hash = first_page_of(&db, 512, PAGE_HASH);
        // Find an off-page item on that page and give it a length of 2^32-1.
        let entries = usize::from(read_u16(&db[hash..], 20, order).unwrap());
        let item = (0..entries)
            .map(|i| hash + usize::from(read_u16(&db[hash..], 26 + 2 * i, order).unwrap()))
            .find(|&at| db[at] == ITEM_OFF_PAGE)
            .unwrap();
        set32(&mut db, item + 8, u32::MAX, order);
        let (got, result) = read_all(&db);
        let damage = result.unwrap_err();
        assert_eq!(damage.offset, item as u64 + 8);
        assert!(damage.message.contains("4294967295"), "{damage:?}");
        assert_eq!(got.len(), values.len() - 1);
    }

    #[test]
    fn odd_or_huge_entry_counts_skip_the_page() {
        let order = ByteOrder::Little;
        for entries in [3u16, 0xffff, 244] {
            let (mut db, _) = sample(512, order);
            let hash = first_page_of(&db, 512, PAGE_HASH);
            set16(&mut db, hash + 20, entries, order);
            let (got, result) = read_all(&db);
            let damage = result.unwrap_err();
            assert!(got.len() < 8);
            assert!(
                damage.offset == hash as u64 + 20 || damage.message.contains("outside"),
                "{entries}: {damage:?}"
            );
        }
    }

    #[test]
    fn item_offsets_out_of_range_or_out_of_order_are_damage() {
        let order = ByteOrder::Little;
        for bad in [0u16, 20, 511, 512, 0xffff] {
            let (mut db, _) = sample(512, order);
            let hash = first_page_of(&db, 512, PAGE_HASH);
            set16(&mut db, hash + 26 + 2, bad, order);
            let (_, result) = read_all(&db);
            let damage = result.unwrap_err();
            assert_eq!(damage.offset, hash as u64 + 28, "{bad}");
            assert!(damage.message.contains("outside"), "{damage:?}");
        }
    }

    #[test]
    fn huge_last_page_or_a_cut_file_reads_what_is_there() {
        let order = ByteOrder::Little;
        let (mut db, values) = sample(512, order);
        set32(&mut db, 32, u32::MAX, order);
        let (got, result) = read_all(&db);
        assert_eq!(got, values);
        assert!(result.unwrap_err().message.contains("truncated"));

        let (db, _) = sample(512, order);
        for len in 0..db.len() {
            let (got, result) = read_all(&db[..len]);
            assert!(got.len() <= values.len());
            assert!(result.is_err(), "cut at {len}");
        }
    }

    /// Flips bytes of `db` 2,000 times (half of them in page headers and offset arrays, where
    /// a flip does the most harm) and checks every read ends quickly within its budget.
    fn mutate(db: &[u8], page_size: usize, seed: u64) {
        let mut state = seed;
        let started = Instant::now();
        let mut copy = db.to_vec();
        for round in 0..2000 {
            copy.copy_from_slice(db);
            for _ in 0..=xorshift(&mut state) % 4 {
                let r = xorshift(&mut state) as usize;
                let at = if round % 2 == 0 {
                    r % db.len()
                } else {
                    (r % (db.len() / page_size)) * page_size + (r >> 32) % 48
                };
                copy[at] ^= (xorshift(&mut state) % 255 + 1) as u8;
            }
            let mut total = 0;
            let _ = blobs(&copy, &mut |blob| {
                total += blob.len();
                true
            });
            assert!(
                total <= copy.len(),
                "round {round}: {total} bytes from {}",
                copy.len()
            );
        }
        assert!(
            started.elapsed() < Duration::from_mins(1),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn byte_flips_never_panic_nor_exceed_the_budget() {
        for order in [ByteOrder::Little, ByteOrder::Big] {
            let (db, _) = sample(512, order);
            mutate(&db, 512, 0x9e37_79b9_7f4a_7c15);
        }
        if !have("db5.3_load", "-V") {
            return;
        }
        let dir = TempDir::new("mutate");
        // 120 records, small enough to flip 2,000 times, with inline and off-page values.
        let values: Vec<Vec<u8>> = many_values()
            .into_iter()
            .filter(|v| v.len() < 3_000)
            .take(120)
            .collect();
        for order in [ByteOrder::Little, ByteOrder::Big] {
            let records = rpm_records(order, &values);
            let db = db_load(&dir.0, 512, order, &as_refs(&records));
            mutate(&db, 512, 0x2545_f491_4f6c_dd1d);
        }
    }

    #[test]
    fn overlapping_items_cannot_repeat_bytes() {
        // Every value offset points at the same large inline item: only the first pair is
        // well formed, the rest are out of order.
        let order = ByteOrder::Little;
        let mut builder = Builder::new(4096, order);
        builder.add(key(1, order), &[5; 900]);
        let mut db = builder.bytes();
        let hash = 4096;
        let value_at = read_u16(&db[hash..], 28, order).unwrap();
        set16(&mut db, hash + 20, 200, order);
        for i in 1..100 {
            set16(&mut db, hash + 26 + 4 * i, 4096 - 5, order);
            set16(&mut db, hash + 28 + 4 * i, value_at, order);
        }
        let (got, result) = read_all(&db);
        assert!(got.iter().map(Vec::len).sum::<usize>() <= db.len());
        assert!(result.is_err());
    }
}

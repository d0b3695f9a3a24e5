//! rpm's ndb `Packages.db` (SUSE, openSUSE), read from its bytes, and written for tests.
//!
//! # Format (rpm `lib/backend/ndb/rpmpkg.c`)
//!
//! Everything is little-endian; the file is made of 16-byte blocks.
//!
//! - Header, 32 bytes: `"RpmP"`, version 0, generation, `slotnpages`, `nextpkgidx`.
//! - Slot pages: `slotnpages` pages of 4,096 bytes, each a table of 16-byte slots
//!   `{"Slot", pkgidx, blkoff, blkcnt}`; page 0's slots start after the header. A slot with
//!   `blkoff` 0 is free.
//! - Blobs, after the slot pages, at block `blkoff`: head `{"BlbS", pkgidx, generation,
//!   bloblen}`, the header blob, zero padding, and tail `{adler32, bloblen, "BlbE"}` ending at
//!   block `blkoff + blkcnt`, where `blkcnt = (16 + bloblen + 12 + 15) / 16`. The Adler-32
//!   (RFC 1950) covers the head, blob and padding.
//!
//! # Reading
//!
//! Like rpm, blobs are delivered in the order of their offsets. A bad slot *magic* means the
//! slot table itself is damaged and nothing is read. A used slot that points outside the file,
//! overlaps an earlier blob, or whose blob fails any check (magic, pkgidx, length, block count,
//! tail, Adler-32) is skipped, and the scan goes on; the first such damage is returned at the
//! end, after every good blob was delivered.
//!
//! # Budget (the whole input is untrusted)
//!
//! - Memory: the list of used slots, 16 bytes each, at most the size of the slot pages, which
//!   must lie inside the file. Blobs are borrowed from the input, never copied.
//! - Time: linear in the file's bytes, plus sorting the slots. Blobs may not overlap, so each
//!   byte is checksummed at most once.
//! - Output: the bytes passed to `each` never exceed the file's length.

// This scratch crate has no caller of the pub(crate) items; dive-core's rpm/mod.rs is one.


use super::{Damage, Problems, damage, wide};

const MAGIC: &[u8; 4] = b"RpmP";
const VERSION: u32 = 0;
const HEADER_SIZE: usize = 32;
const PAGE_SIZE: usize = 4096;
const SLOT_SIZE: usize = 16;
const BLOCK_SIZE: usize = 16;
const SLOT_MAGIC: &[u8; 4] = b"Slot";
const BLOB_HEAD_MAGIC: &[u8; 4] = b"BlbS";
const BLOB_TAIL_MAGIC: &[u8; 4] = b"BlbE";
const BLOB_HEAD_SIZE: usize = 16;
const BLOB_TAIL_SIZE: usize = 12;
const BLOCKS_PER_PAGE: u64 = (PAGE_SIZE / BLOCK_SIZE) as u64;
/// rpm's `PKGDB_MAX_SLOTNPAGES`: slot and block numbers must fit in 32 bits.
const MAX_SLOT_PAGES: u32 = u32::MAX / 256;

/// Whether `content` starts like an ndb `Packages.db` (magic `RpmP`, version 0).
pub(crate) fn is_ndb(content: &[u8]) -> bool {
    content.starts_with(MAGIC) && le32(content, 4) == Some(VERSION)
}

/// Calls `each` with every header blob stored in the ndb database, in the order of their
/// offsets; `each` returns false to stop.
///
/// # Errors
///
/// A bad file header, slot pages past the end of the file, or a slot without its magic fail
/// before any blob is delivered. Otherwise every good blob is delivered, and the first
/// skipped slot or blob, if any, is returned at the end with the count of further problems.
pub(crate) fn blobs(db: &[u8], each: &mut dyn FnMut(&[u8]) -> bool) -> Result<(), Damage> {
    let slot_pages = slot_pages(db)?;
    let mut problems = Problems::default();
    if !db.len().is_multiple_of(BLOCK_SIZE) {
        problems.note(damage(
            wide(db.len() - db.len() % BLOCK_SIZE),
            format!("file length {} is not a multiple of 16", db.len()),
        ));
    }
    let file_blocks = wide(db.len() / BLOCK_SIZE);
    let first_block = u64::from(slot_pages) * BLOCKS_PER_PAGE;
    let mut slots = used_slots(db, slot_pages)?;
    // rpm lists packages in blob order; blobs must not overlap, which keeps the work linear.
    slots.sort_unstable_by_key(|slot| (slot.blkoff, slot.slotno));
    let mut end_of_previous = first_block;
    for slot in slots {
        let (start, count) = (u64::from(slot.blkoff), u64::from(slot.blkcnt));
        let end = start + count;
        let problem = if slot.pkgidx == 0 || count == 0 {
            Some(format!(
                "slot {} is used but has pkgidx {} and blkcnt {count}",
                slot.slotno, slot.pkgidx
            ))
        } else if start < first_block || end > file_blocks {
            Some(format!(
                "slot {} points at blocks {start}..{end}, outside the blob area {first_block}..{file_blocks}",
                slot.slotno
            ))
        } else if start < end_of_previous {
            Some(format!(
                "slot {} points at block {start}, inside the previous blob (ends at block {end_of_previous})",
                slot.slotno
            ))
        } else {
            None
        };
        if let Some(message) = problem {
            problems.note(damage(slot.offset(), message));
            continue;
        }
        end_of_previous = end;
        match blob(db, &slot) {
            Ok(blob) => {
                if !each(blob) {
                    break;
                }
            }
            Err(damage) => problems.note(damage),
        }
    }
    problems.finish()
}

/// Writes an ndb Packages.db holding `blobs` (for tests and the fixture generator): rpm's
/// layout, slots, BlbS/BlbE, adler32.
///
/// Blobs get pkgidx 1, 2, … and slots 2, 3, … in order, and lie back to back right after as
/// few slot pages as hold a slot for each. rpm reaches the same layout, except that when it
/// grows the slot area it moves the blobs in the way to the end.
///
/// # Panics
///
/// If the database would not fit rpm's 32-bit block numbers (about 64 GiB).
#[cfg(test)]
#[must_use]
pub(crate) fn write(blobs: &[&[u8]]) -> Vec<u8> {
    let slots_per_page = PAGE_SIZE / SLOT_SIZE;
    let first_slot = HEADER_SIZE / SLOT_SIZE;
    let slot_pages = (first_slot + blobs.len()).div_ceil(slots_per_page).max(1);
    let blocks = slot_pages * PAGE_SIZE / BLOCK_SIZE
        + blobs
            .iter()
            .map(|blob| blob_blocks(blob.len()))
            .sum::<usize>();
    assert!(
        blocks < u32::MAX as usize,
        "ndb databases are limited to 2^32 blocks"
    );
    let as_u32 = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let words = |db: &mut Vec<u8>, words: &[u32]| {
        for word in words {
            db.extend_from_slice(&word.to_le_bytes());
        }
    };
    // rpm bumps the generation once per slot page and once per slot written; a blob's head
    // records the generation before its slot was written.
    let generation = |index: usize| as_u32(slot_pages + index);

    let mut db = Vec::with_capacity(blocks * BLOCK_SIZE);
    db.extend_from_slice(MAGIC);
    words(
        &mut db,
        &[
            VERSION,
            generation(blobs.len()),
            as_u32(slot_pages),
            as_u32(blobs.len() + 1),
        ],
    );
    db.resize(HEADER_SIZE, 0);
    let mut blkoff = slot_pages * PAGE_SIZE / BLOCK_SIZE;
    for (index, blob) in blobs.iter().enumerate() {
        let blkcnt = blob_blocks(blob.len());
        db.extend_from_slice(SLOT_MAGIC);
        words(
            &mut db,
            &[as_u32(index + 1), as_u32(blkoff), as_u32(blkcnt)],
        );
        blkoff += blkcnt;
    }
    while db.len() < slot_pages * PAGE_SIZE {
        db.extend_from_slice(SLOT_MAGIC);
        db.resize(db.len() + SLOT_SIZE - SLOT_MAGIC.len(), 0);
    }
    for (index, blob) in blobs.iter().enumerate() {
        let start = db.len();
        db.extend_from_slice(BLOB_HEAD_MAGIC);
        words(
            &mut db,
            &[as_u32(index + 1), generation(index), as_u32(blob.len())],
        );
        db.extend_from_slice(blob);
        db.resize(
            start + blob_blocks(blob.len()) * BLOCK_SIZE - BLOB_TAIL_SIZE,
            0,
        );
        let checksum = adler32(db.get(start..).unwrap_or(&[]));
        words(&mut db, &[checksum, as_u32(blob.len())]);
        db.extend_from_slice(BLOB_TAIL_MAGIC);
    }
    db
}

/// Blocks taken by a blob of `len` bytes with its head and tail: rpm's one formula.
#[cfg(test)]
fn blob_blocks(len: usize) -> usize {
    (BLOB_HEAD_SIZE + len + BLOB_TAIL_SIZE).div_ceil(BLOCK_SIZE)
}

fn le32(bytes: &[u8], at: usize) -> Option<u32> {
    let raw: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(raw))
}

/// The header's slot page count, checked against the file.
fn slot_pages(db: &[u8]) -> Result<u32, Damage> {
    if db.len() < HEADER_SIZE {
        return Err(damage(
            0,
            format!(
                "file is {} bytes, shorter than the 32-byte header",
                db.len()
            ),
        ));
    }
    if !db.starts_with(MAGIC) {
        return Err(damage(0, "no ndb magic \"RpmP\"".to_owned()));
    }
    let version = le32(db, 4).unwrap_or(0);
    if version != VERSION {
        return Err(damage(4, format!("ndb version {version}, expected 0")));
    }
    let slot_pages = le32(db, 12).unwrap_or(0);
    if slot_pages > MAX_SLOT_PAGES || u64::from(slot_pages) * wide(PAGE_SIZE) > wide(db.len()) {
        return Err(damage(
            12,
            format!(
                "{slot_pages} slot pages of 4096 bytes do not fit in a file of {} bytes",
                db.len()
            ),
        ));
    }
    Ok(slot_pages)
}

/// A used slot, as stored.
struct Slot {
    slotno: u32,
    pkgidx: u32,
    blkoff: u32,
    blkcnt: u32,
}

impl Slot {
    fn offset(&self) -> u64 {
        u64::from(self.slotno) * wide(SLOT_SIZE)
    }
}

/// Every slot with a non-zero `blkoff`; fails on a slot without its magic, as rpm does.
fn used_slots(db: &[u8], slot_pages: u32) -> Result<Vec<Slot>, Damage> {
    let table_end = usize::try_from(slot_pages)
        .unwrap_or(usize::MAX)
        .saturating_mul(PAGE_SIZE);
    let table = db.get(HEADER_SIZE..table_end).unwrap_or(&[]);
    // Counted first so the list takes no more than the used slots' own 16 bytes each.
    let used = table
        .chunks_exact(SLOT_SIZE)
        .filter(|slot| le32(slot, 8).is_some_and(|blkoff| blkoff != 0))
        .count();
    let mut slots = Vec::with_capacity(used);
    for (slotno, slot) in (HEADER_SIZE / SLOT_SIZE..).zip(table.chunks_exact(SLOT_SIZE)) {
        let slotno = u32::try_from(slotno).unwrap_or(u32::MAX);
        let field = |at| le32(slot, at).unwrap_or(0);
        if !slot.starts_with(SLOT_MAGIC) {
            return Err(damage(
                u64::from(slotno) * wide(SLOT_SIZE),
                format!("slot {slotno} lacks its magic \"Slot\"; the slot table is damaged"),
            ));
        }
        let blkoff = field(8);
        if blkoff != 0 {
            slots.push(Slot {
                slotno,
                pkgidx: field(4),
                blkoff,
                blkcnt: field(12),
            });
        }
    }
    Ok(slots)
}

/// The blob of `slot`, whose blocks lie inside the file, after every check rpm makes, and the
/// Adler-32 that rpm only checks when verifying.
fn blob<'a>(db: &'a [u8], slot: &Slot) -> Result<&'a [u8], Damage> {
    let start = usize::try_from(slot.blkoff)
        .unwrap_or(usize::MAX)
        .saturating_mul(BLOCK_SIZE);
    let count = usize::try_from(slot.blkcnt)
        .unwrap_or(usize::MAX)
        .saturating_mul(BLOCK_SIZE);
    let at = |offset: usize| wide(start) + wide(offset);
    let bad = |offset: usize, what: String| {
        Err(damage(
            at(offset),
            format!("blob of slot {} at {}: {what}", slot.slotno, at(0)),
        ))
    };
    let Some(bytes) = db.get(start..start.saturating_add(count)) else {
        return bad(0, "lies past the end of the file".to_owned());
    };
    if bytes.len() < BLOB_HEAD_SIZE + BLOB_TAIL_SIZE {
        return bad(
            0,
            format!("{} blocks cannot hold a head and a tail", slot.blkcnt),
        );
    }
    if !bytes.starts_with(BLOB_HEAD_MAGIC) {
        return bad(0, "no head magic \"BlbS\"".to_owned());
    }
    let head_pkgidx = le32(bytes, 4).unwrap_or(0);
    if head_pkgidx != slot.pkgidx {
        return bad(
            4,
            format!("head says pkgidx {head_pkgidx}, the slot {}", slot.pkgidx),
        );
    }
    let len = le32(bytes, 12).unwrap_or(0);
    let len_bytes = usize::try_from(len).unwrap_or(usize::MAX);
    let expected = wide(BLOB_HEAD_SIZE + BLOB_TAIL_SIZE + BLOCK_SIZE - 1)
        .saturating_add(u64::from(len))
        / wide(BLOCK_SIZE);
    if expected != u64::from(slot.blkcnt) {
        return bad(
            12,
            format!(
                "length {len} needs {expected} blocks, the slot has {}",
                slot.blkcnt
            ),
        );
    }
    let tail = bytes.len() - BLOB_TAIL_SIZE;
    if bytes.get(tail + 8..) != Some(&BLOB_TAIL_MAGIC[..]) {
        return bad(tail + 8, "no tail magic \"BlbE\"".to_owned());
    }
    let tail_len = le32(bytes, tail + 4).unwrap_or(0);
    if tail_len != len {
        return bad(
            tail + 4,
            format!("tail says length {tail_len}, the head {len}"),
        );
    }
    let stored = le32(bytes, tail).unwrap_or(0);
    let computed = adler32(bytes.get(..tail).unwrap_or(&[]));
    if stored != computed {
        return bad(
            tail,
            format!("Adler-32 is {computed:#010x}, the tail says {stored:#010x}"),
        );
    }
    match bytes.get(BLOB_HEAD_SIZE..BLOB_HEAD_SIZE.saturating_add(len_bytes)) {
        Some(blob) => Ok(blob),
        None => bad(12, format!("length {len} does not fit its blocks")),
    }
}

/// Adler-32 (RFC 1950) with rpm's initial value 1.
fn adler32(bytes: &[u8]) -> u32 {
    const MOD: u32 = 65521;
    // The most bytes summed before s2 could overflow a u32 (zlib's NMAX).
    const RUN: usize = 5552;
    let (mut s1, mut s2) = (1u32, 0u32);
    for run in bytes.chunks(RUN) {
        for &byte in run {
            s1 += u32::from(byte);
            s2 += s1;
        }
        s1 %= MOD;
        s2 %= MOD;
    }
    (s2 << 16) | s1
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
    use std::time::{Duration, Instant};

    use super::*;

    fn read_all(db: &[u8]) -> (Vec<Vec<u8>>, Result<(), Damage>) {
        crate::attribution::rpm::every_blob(|each| blobs(db, each))
    }

    fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    /// `count` blobs shaped like rpm headers (`il`, `dl`, then bytes), 1 B to 70 KB.
    fn headers(count: usize) -> Vec<Vec<u8>> {
        let mut state = 0x0123_4567_89ab_cdef;
        (0..count)
            .map(|i| {
                let len = match i % 50 {
                    0 => 70_000,
                    1 => 1,
                    _ => 8 + usize::try_from(xorshift(&mut state) % 3_000).unwrap(),
                };
                let mut blob: Vec<u8> = (0..len).map(|_| xorshift(&mut state) as u8).collect();
                if len >= 8 {
                    blob[..4].copy_from_slice(&0u32.to_be_bytes());
                    blob[4..8].copy_from_slice(&u32::try_from(len - 8).unwrap().to_be_bytes());
                }
                blob
            })
            .collect()
    }

    fn refs(blobs: &[Vec<u8>]) -> Vec<&[u8]> {
        blobs.iter().map(Vec::as_slice).collect()
    }

    /// The slot number of the `n`th blob `write` laid out (0-based), and its file offsets.
    fn slot_at(n: usize) -> usize {
        HEADER_SIZE + n * SLOT_SIZE
    }

    fn blob_start(db: &[u8], n: usize) -> usize {
        le32(db, slot_at(n) + 8).unwrap() as usize * BLOCK_SIZE
    }

    fn blob_end(db: &[u8], n: usize) -> usize {
        blob_start(db, n) + le32(db, slot_at(n) + 12).unwrap() as usize * BLOCK_SIZE
    }

    #[test]
    fn round_trips_0_1_35_and_3000_blobs() {
        for count in [0, 1, 35, 3_000] {
            let want = headers(count);
            let db = write(&refs(&want));
            assert!(is_ndb(&db));
            assert_eq!(db.len() % 16, 0);
            let slot_pages = le32(&db, 12).unwrap() as usize;
            assert_eq!(slot_pages, (2 + count).div_ceil(256).max(1), "{count}");
            let (got, result) = read_all(&db);
            assert_eq!(result, Ok(()), "{count}");
            assert_eq!(got, want, "{count}");
        }
    }

    #[test]
    fn written_layout_is_rpms() {
        let db = write(&[b"abc", b"0123456789abcdef"]);
        assert_eq!(&db[..4], b"RpmP");
        assert_eq!(le32(&db, 12), Some(1));
        assert_eq!(le32(&db, 16), Some(3));
        // First blob right after the slot page: 16 + 3 + 12 bytes round up to 2 blocks.
        assert_eq!(&db[32..36], b"Slot");
        assert_eq!(
            [le32(&db, 36), le32(&db, 40), le32(&db, 44)],
            [Some(1), Some(256), Some(2)]
        );
        assert_eq!(
            [le32(&db, 52), le32(&db, 56), le32(&db, 60)],
            [Some(2), Some(258), Some(3)]
        );
        assert_eq!(&db[4096..4100], b"BlbS");
        assert_eq!(&db[4096 + 32 - 4..4096 + 32], b"BlbE");
        let stored = le32(&db, 4096 + 32 - 12).unwrap();
        assert_eq!(stored, adler32(&db[4096..4096 + 32 - 12]));
        assert_eq!(db.len(), 4096 + 32 + 48);
        // Every unused slot keeps its magic.
        assert!(
            db[..4096]
                .chunks(16)
                .skip(2)
                .all(|slot| &slot[..4] == b"Slot")
        );
    }

    #[test]
    fn adler32_matches_rfc_1950() {
        assert_eq!(adler32(b""), 1);
        assert_eq!(adler32(b"Wikipedia"), 0x11e6_0398);
        // Long runs of 0xff exercise the reduction.
        let ones = vec![0xff; 100_000];
        let (mut a, mut b) = (1u64, 0u64);
        for &x in &ones {
            a = (a + u64::from(x)) % 65521;
            b = (b + a) % 65521;
        }
        assert_eq!(u64::from(adler32(&ones)), (b << 16) | a);
    }

    #[test]
    fn a_bad_blob_is_skipped_and_the_rest_are_read() {
        let want = headers(35);
        let clean = write(&refs(&want));
        // A wrong checksum on blob 3; a wrong tail magic on blob 10; a wrong head pkgidx on 20.
        let mut db = clean.clone();
        let sum = blob_end(&db, 3) - 12;
        db[sum] ^= 1;
        let tail = blob_end(&db, 10) - 1;
        db[tail] = b'X';
        let head = blob_start(&db, 20) + 4;
        db[head] ^= 0x40;
        let (got, result) = read_all(&db);
        let mut expected = want.clone();
        for n in [20, 10, 3] {
            expected.remove(n);
        }
        assert_eq!(got, expected);
        let damage = result.unwrap_err();
        assert_eq!(damage.offset, sum as u64);
        assert!(damage.message.contains("Adler-32"), "{damage:?}");
        assert!(damage.message.contains("2 more problems"), "{damage:?}");

        // A changed blob byte is also caught by the checksum.
        let mut db = clean;
        let inside = blob_start(&db, 0) + 20;
        db[inside] ^= 0x80;
        let (got, result) = read_all(&db);
        assert_eq!(got.len(), 34);
        assert!(result.unwrap_err().message.contains("Adler-32"));
    }

    #[test]
    fn a_bad_slot_magic_rejects_the_database() {
        let mut db = write(&refs(&headers(3)));
        db[slot_at(200)] = b's';
        let (got, result) = read_all(&db);
        assert!(got.is_empty());
        let damage = result.unwrap_err();
        assert_eq!(damage.offset, slot_at(200) as u64);
        assert!(damage.message.contains("magic"), "{damage:?}");
    }

    #[test]
    fn bad_file_headers_are_damage() {
        let db = write(&refs(&headers(2)));
        assert_eq!(read_all(&db[..31]).1.unwrap_err().offset, 0);
        let mut bad = db.clone();
        bad[0] = b'r';
        assert!(!is_ndb(&bad));
        assert_eq!(read_all(&bad).1.unwrap_err().offset, 0);
        let mut bad = db.clone();
        bad[4] = 1;
        assert!(!is_ndb(&bad));
        assert_eq!(read_all(&bad).1.unwrap_err().offset, 4);
        let past_end = u32::try_from(db.len() / 4096 + 1).unwrap();
        for pages in [past_end, 0x00ff_ffff, 0x0100_0000, u32::MAX] {
            let mut bad = db.clone();
            bad[12..16].copy_from_slice(&pages.to_le_bytes());
            let (got, result) = read_all(&bad);
            assert!(got.is_empty());
            assert_eq!(result.unwrap_err().offset, 12, "{pages}");
        }
        // A second slot page that holds blob bytes is a damaged slot table.
        let mut bad = db.clone();
        bad[12..16].copy_from_slice(&2u32.to_le_bytes());
        assert_eq!(
            read_all(&bad),
            (
                vec![],
                Err(damage(
                    4096,
                    "slot 256 lacks its magic \"Slot\"; the slot table is damaged".to_owned()
                ))
            )
        );
        // No slot pages: nothing to read, nothing wrong.
        let mut none = db;
        none[12..16].copy_from_slice(&0u32.to_le_bytes());
        assert_eq!(read_all(&none), (vec![], Ok(())));
    }

    #[test]
    fn huge_blob_length_is_refused_without_allocating() {
        let want = headers(3);
        let mut db = write(&refs(&want));
        let head = blob_start(&db, 1);
        db[head + 12..head + 16].copy_from_slice(&u32::MAX.to_le_bytes());
        let (got, result) = read_all(&db);
        assert_eq!(got, vec![want[0].clone(), want[2].clone()]);
        let damage = result.unwrap_err();
        assert_eq!(damage.offset, head as u64 + 12);
        assert!(damage.message.contains("4294967295"), "{damage:?}");
    }

    #[test]
    fn slots_pointing_outside_or_overlapping_are_skipped() {
        let want = headers(4);
        let clean = write(&refs(&want));
        let set = |db: &mut Vec<u8>, slot: usize, field: usize, value: u32| {
            let at = slot_at(slot) + field;
            db[at..at + 4].copy_from_slice(&value.to_le_bytes());
        };
        let cases: [(usize, usize, u32, &str); 7] = [
            (1, 8, u32::MAX, "outside"),
            (1, 8, u32::MAX - 1, "outside"),
            (1, 12, u32::MAX, "outside"),
            (1, 8, 255, "outside"),
            (1, 8, u32::try_from(clean.len() / 16).unwrap(), "outside"),
            (1, 4, 0, "pkgidx 0"),
            (1, 12, 0, "blkcnt 0"),
        ];
        for (slot, field, value, words) in cases {
            let mut db = clean.clone();
            set(&mut db, slot, field, value);
            let (got, result) = read_all(&db);
            assert_eq!(got.len(), 3, "{words}");
            let damage = result.unwrap_err();
            assert!(damage.message.contains(words), "{words}: {damage:?}");
            assert_eq!(damage.offset, slot_at(slot) as u64, "{words}");
        }
        // Every slot pointing at blob 0: delivered once.
        let mut db = clean.clone();
        for slot in 1..4 {
            set(&mut db, slot, 8, le32(&clean, slot_at(0) + 8).unwrap());
            set(&mut db, slot, 12, le32(&clean, slot_at(0) + 12).unwrap());
        }
        let (got, result) = read_all(&db);
        assert_eq!(got, vec![want[0].clone()]);
        assert!(
            result
                .unwrap_err()
                .message
                .contains("inside the previous blob")
        );
    }

    #[test]
    fn a_cut_file_reads_the_blobs_before_the_cut() {
        let want = headers(20);
        let db = write(&refs(&want));
        for len in (0..db.len()).step_by(7) {
            let (got, result) = read_all(&db[..len]);
            assert!(result.is_err(), "{len}");
            assert_eq!(got[..], want[..got.len()], "{len}");
            let whole = (0..want.len()).filter(|&n| blob_end(&db, n) <= len).count();
            assert_eq!(got.len(), whole, "{len}");
        }
    }

    #[test]
    fn blobs_come_in_offset_order_and_stopping_stops() {
        let want = headers(5);
        let mut db = write(&refs(&want));
        // Swap slots 0 and 4: rpm still lists by offset.
        let (a, b) = (slot_at(0), slot_at(4));
        let first: Vec<u8> = db[a..a + 16].to_vec();
        db.copy_within(b..b + 16, a);
        db[b..b + 16].copy_from_slice(&first);
        assert_eq!(read_all(&db), (want.clone(), Ok(())));
        let mut seen = 0;
        assert_eq!(
            blobs(&db, &mut |_| {
                seen += 1;
                false
            }),
            Ok(())
        );
        assert_eq!(seen, 1);
    }

    #[test]
    fn nested_blobs_with_valid_heads_and_tails_stay_linear() {
        // Slot n points at a blob starting n blocks in and ending n blocks before the end, each
        // with a good head and tail but a bad checksum: without the overlap rule this would
        // checksum the middle of the file once per slot.
        let n = 250usize;
        let inner = 16 * 2 * n + 64;
        let mut db = write(&[&vec![0u8; inner]]);
        let start = blob_start(&db, 0) / 16;
        let end = blob_end(&db, 0) / 16;
        for k in 1..n {
            let (off, cnt) = (start + k, end - k - (start + k));
            let len = u32::try_from(cnt * 16 - 28).unwrap();
            let head = off * 16;
            db[head..head + 4].copy_from_slice(b"BlbS");
            db[head + 4..head + 8].copy_from_slice(&u32::try_from(k + 1).unwrap().to_le_bytes());
            db[head + 12..head + 16].copy_from_slice(&len.to_le_bytes());
            let tail = (off + cnt) * 16 - 12;
            db[tail + 4..tail + 8].copy_from_slice(&len.to_le_bytes());
            db[tail + 8..tail + 12].copy_from_slice(b"BlbE");
            let slot = slot_at(k);
            db[slot + 4..slot + 8].copy_from_slice(&u32::try_from(k + 1).unwrap().to_le_bytes());
            db[slot + 8..slot + 12].copy_from_slice(&u32::try_from(off).unwrap().to_le_bytes());
            db[slot + 12..slot + 16].copy_from_slice(&u32::try_from(cnt).unwrap().to_le_bytes());
        }
        let (got, result) = read_all(&db);
        assert!(got.is_empty());
        assert!(
            result
                .unwrap_err()
                .message
                .contains(&format!("{} more problems", n - 1))
        );
    }

    #[test]
    fn byte_flips_never_panic_nor_exceed_the_budget() {
        // 300 small blobs: two slot pages, and a file small enough to flip 2,000 times.
        let small: Vec<Vec<u8>> = headers(300)
            .into_iter()
            .map(|b| b[..b.len().min(100)].to_vec())
            .collect();
        let db = write(&refs(&small));
        let mut state = 0x2545_f491_4f6c_dd1d;
        let started = Instant::now();
        let mut copy = db.clone();
        for round in 0..2000 {
            copy.copy_from_slice(&db);
            for _ in 0..=xorshift(&mut state) % 4 {
                let r = xorshift(&mut state) as usize;
                // Half the flips hit the header and slot table, where they do the most harm.
                let at = if round % 2 == 0 {
                    r % db.len()
                } else {
                    r % (32 + 16 * 302)
                };
                copy[at] ^= (xorshift(&mut state) % 255 + 1) as u8;
            }
            let mut total = 0;
            let _ = blobs(&copy, &mut |blob| {
                total += blob.len();
                true
            });
            assert!(total <= copy.len(), "round {round}");
        }
        assert!(
            started.elapsed() < Duration::from_mins(1),
            "{:?}",
            started.elapsed()
        );
    }
}

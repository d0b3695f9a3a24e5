//! Reads the header blobs of table `Packages` from rpm's `rpmdb.sqlite`, with the
//! write-ahead log applied, without linking `SQLite`.
//!
//! rpm ≥ 4.16 keeps one row per installed package in `Packages (hnum INTEGER PRIMARY KEY
//! AUTOINCREMENT, blob BLOB NOT NULL)`. Only the blobs are needed, so this is a read-only walk
//! of one table b-tree (format facts: docs/design/rpm-databases.md §2, after sqlite's
//! `btreeInt.h` and `wal.c`). Images keep the database in WAL mode, and a build killed before
//! rpm's closing checkpoint leaves committed transactions in the `-wal` file only, so the WAL
//! is applied the way sqlite applies it on open.
//!
//! Every byte is untrusted: each offset, count and size is checked before use; nothing here
//! panics, loops without bound, or allocates beyond the input.
//!
//! # Budget
//!
//! - **Memory:** one row's payload at a time (a reused buffer, never larger than the page
//!   images it is copied from, so at most `db.len() + wal.len()`); during each walk a bitset
//!   with one bit per page image (main-file pages and committed WAL frames); a map from page
//!   number to its newest committed WAL frame; and a stack of at most 20 b-tree pages.
//! - **Time:** linear in `db.len() + wal.len()`: the WAL is checksummed once, and each of the
//!   two walks (the schema on page 1, then `Packages`) reads every page image at most once.
//! - **Output:** the bytes passed to `each` total at most `db.len() + wal.len()`, because every
//!   blob byte is copied from a page image that the walk reads once, and the in-cell parts of
//!   the payloads on one page may not add up to more than that page.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt::Display;

use super::{Damage, damage};

/// The first 16 bytes of every `SQLite` database file.
const MAGIC: &[u8; 16] = b"SQLite format 3\0";
/// Length of the database header that opens page 1 (its b-tree header follows it).
const DB_HEADER_LEN: usize = 100;
/// Length of the WAL file header.
const WAL_HEADER_LEN: usize = 32;
/// Length of the header in front of each page image in the WAL.
const FRAME_HEADER_LEN: usize = 24;
/// WAL magic whose checksums read little-endian words; magic + 1 means big-endian words.
const WAL_MAGIC: u32 = 0x377f_0682;
/// The only WAL format version sqlite writes or reads.
const WAL_VERSION: u32 = 3_007_000;
/// Page-type flag of a table b-tree leaf, whose cells hold rows.
const TABLE_LEAF: u8 = 0x0d;
/// Page-type flag of a table b-tree interior page, whose cells hold child pointers.
const TABLE_INTERIOR: u8 = 0x05;
/// Page-type flag of an index b-tree leaf (a WITHOUT ROWID table's root would be one).
const INDEX_LEAF: u8 = 0x0a;
/// Page-type flag of an index b-tree interior page.
const INDEX_INTERIOR: u8 = 0x02;
/// sqlite calls a deeper b-tree corrupt (`BTCURSOR_MAX_DEPTH`); it also bounds our stack.
const MAX_DEPTH: usize = 20;
/// The smallest usable page size sqlite allows; the local-payload formula relies on it.
const MIN_USABLE: usize = 480;

/// Whether `content` starts with the sqlite magic.
pub(crate) fn is_sqlite(content: &[u8]) -> bool {
    content.starts_with(MAGIC)
}

/// Calls `each` with the header blob of every row of table `Packages` (rowid order), as the
/// database reads with its write-ahead log applied (`wal` is the `-wal` file's content, if any;
/// a missing, empty, or invalid WAL means the main file alone; frames are valid up to the first
/// bad one, and only frames up to the last valid commit frame count, per sqlite's rules).
/// `each` returns false to stop early.
///
/// A row whose second column is not a blob is skipped. Blobs delivered before a damaged page
/// is met stay delivered; the damage is then returned.
pub(crate) fn blobs(
    db: &[u8],
    wal: Option<&[u8]>,
    each: &mut dyn FnMut(&[u8]) -> bool,
) -> Result<(), Damage> {
    let page_size = page_size(db)?;
    let wal = wal.unwrap_or_default();
    let overlay = Overlay::read(wal, page_size);
    let pages = Pages::open(db, wal, page_size, overlay)?;
    let root = packages_root(&pages)?;
    Walk::new(&pages).table(root, &mut |payload| {
        Ok(match blob_column(payload)? {
            Some(blob) if !each(blob) => Flow::Stop,
            _ => Flow::Continue,
        })
    })?;
    Ok(())
}

/// The page size from the main file's header, the one fact needed before the WAL can be read
/// (sqlite, too, ignores the WAL of an empty main file: pager.c `pagerOpenWalIfPresent`).
fn page_size(db: &[u8]) -> Result<usize, Damage> {
    if !is_sqlite(db) {
        return Err(damage(0, "not an SQLite database (no magic)"));
    }
    let raw = be16(db, 16).ok_or_else(|| damage(16, "the header is cut short"))?;
    // 65536 does not fit the 16-bit field, so the format stores it as 1.
    let size = if raw == 1 { 65_536 } else { usize::from(raw) };
    if size.is_power_of_two() && (512..=65_536).contains(&size) {
        Ok(size)
    } else {
        Err(damage(
            16,
            format!("page size {raw} is not a power of two from 512 to 65536"),
        ))
    }
}

/// A `Damage` at a file offset outside any particular page.
/// Where a page image was read from; also its index in the walk's visited bitset.
#[derive(Clone, Copy, Debug)]
enum Slot {
    /// From the main file, at page index `0` = page 1.
    File(usize),
    /// From committed WAL frame number `frame`, whose header starts at byte `offset`.
    Wal { frame: usize, offset: usize },
}

/// One page image as the database reads it: only its usable bytes (reserved bytes cut off).
#[derive(Clone, Copy, Debug)]
struct Page<'a> {
    /// Page number, from 1.
    number: u32,
    /// The usable part of the page.
    bytes: &'a [u8],
    /// Where the image came from.
    slot: Slot,
}

/// The header of a write-ahead log that passed its own checks.
struct WalHeader {
    /// Whether checksums read the data as big-endian words (magic 0x377f0683).
    big_endian: bool,
    /// Salt-1 and salt-2 as stored; every valid frame repeats them.
    salts: [u8; 8],
    /// The header's checksum, which seeds the running checksum of the frames.
    checksum: (u32, u32),
}

/// The committed part of a write-ahead log: which frame holds the newest image of each page.
#[derive(Debug, Default)]
struct Overlay {
    /// Page number → index of its last frame at or before the last commit frame.
    frames: HashMap<u32, usize>,
    /// How many frames count: those up to and including the last valid commit frame.
    committed: usize,
    /// The database size in pages recorded by the last commit frame, if there is one.
    db_size: Option<u32>,
}

impl Overlay {
    /// Reads the committed frames of `wal`; anything invalid leaves an empty overlay, the way
    /// sqlite's recovery treats a WAL it cannot trust as holding nothing.
    fn read(wal: &[u8], page_size: usize) -> Overlay {
        let Some(header) = wal_header(wal, page_size) else {
            return Overlay::default();
        };
        let frames = wal
            .get(WAL_HEADER_LEN..)
            .unwrap_or_default()
            .chunks_exact(FRAME_HEADER_LEN + page_size);
        // First pass: the checksum chain decides how far the log is valid, and the last commit
        // frame in that stretch decides how much of it counts.
        let mut sum = header.checksum;
        let mut last_commit = None;
        for (index, frame) in frames.clone().enumerate() {
            let Some((db_size, next)) = check_frame(&header, frame, sum) else {
                break;
            };
            sum = next;
            if db_size != 0 {
                last_commit = Some((index + 1, db_size));
            }
        }
        let Some((committed, db_size)) = last_commit else {
            return Overlay::default();
        };
        // Second pass: later frames of the same page replace earlier ones.
        let mut map = HashMap::new();
        for (index, frame) in frames.take(committed).enumerate() {
            if let Some(page) = be32(frame, 0) {
                map.insert(page, index);
            }
        }
        Overlay {
            frames: map,
            committed,
            db_size: Some(db_size),
        }
    }
}

/// The WAL header, if it is one sqlite would use with a database of `page_size`.
fn wal_header(wal: &[u8], page_size: usize) -> Option<WalHeader> {
    let header = wal.get(..WAL_HEADER_LEN)?;
    let magic = be32(header, 0)?;
    let wal_page_size = usize::try_from(be32(header, 8)?).ok()?;
    if magic & !1 != WAL_MAGIC || be32(header, 4)? != WAL_VERSION || wal_page_size != page_size {
        return None;
    }
    let big_endian = magic & 1 == 1;
    let checksum = checksum(big_endian, header.get(..24)?, (0, 0));
    if checksum != (be32(header, 24)?, be32(header, 28)?) {
        return None;
    }
    let salts = header.get(16..24)?.try_into().ok()?;
    Some(WalHeader {
        big_endian,
        salts,
        checksum,
    })
}

/// Checks one frame against the running checksum `sum` (wal.c `walDecodeFrame`): gives the
/// frame's commit size (0 unless it ends a transaction) and the checksum to carry on with.
fn check_frame(header: &WalHeader, frame: &[u8], sum: (u32, u32)) -> Option<(u32, (u32, u32))> {
    let head = frame.get(..FRAME_HEADER_LEN)?;
    if head.get(8..16)? != header.salts || be32(head, 0)? == 0 {
        return None;
    }
    let sum = checksum(header.big_endian, head.get(..8)?, sum);
    let sum = checksum(header.big_endian, frame.get(FRAME_HEADER_LEN..)?, sum);
    (sum == (be32(head, 16)?, be32(head, 20)?)).then_some((be32(head, 4)?, sum))
}

/// sqlite's WAL checksum (wal.c `walChecksumBytes`) over `data`, continuing from `(s0, s1)`.
/// Every caller passes a multiple of 8 bytes (the 24-byte header, a frame's first 8 bytes, a
/// page of at least 512), so no tail is left over.
fn checksum(big_endian: bool, data: &[u8], (mut s0, mut s1): (u32, u32)) -> (u32, u32) {
    let word = |bytes: [u8; 4]| {
        if big_endian {
            u32::from_be_bytes(bytes)
        } else {
            u32::from_le_bytes(bytes)
        }
    };
    for pair in data.chunks_exact(8) {
        let &[a0, a1, a2, a3, b0, b1, b2, b3] = pair else {
            continue;
        };
        s0 = s0.wrapping_add(word([a0, a1, a2, a3])).wrapping_add(s1);
        s1 = s1.wrapping_add(word([b0, b1, b2, b3])).wrapping_add(s0);
    }
    (s0, s1)
}

/// The database's pages as sqlite reads them: WAL images over main-file pages.
struct Pages<'a> {
    /// The main file.
    db: &'a [u8],
    /// The `-wal` file (possibly empty).
    wal: &'a [u8],
    /// Bytes per page, in both files.
    page_size: usize,
    /// Bytes per page that the b-tree uses (page size minus reserved bytes); at least 480.
    usable: usize,
    /// Pages in the database; page numbers above it do not exist.
    count: u32,
    /// Whole pages in the main file.
    file_pages: usize,
    /// The committed WAL frames.
    overlay: Overlay,
}

impl<'a> Pages<'a> {
    /// Sets up page access and checks the database header on page 1 (read through the WAL,
    /// since a transaction rewrites it there).
    fn open(
        db: &'a [u8],
        wal: &'a [u8],
        page_size: usize,
        overlay: Overlay,
    ) -> Result<Self, Damage> {
        let file_pages = db.len() / page_size;
        // In WAL mode the last commit decides the size, else the length of the main file.
        let stored = overlay
            .db_size
            .unwrap_or_else(|| u32::try_from(file_pages).unwrap_or(u32::MAX));
        let mut pages = Pages {
            db,
            wal,
            page_size,
            usable: page_size,
            count: stored,
            file_pages,
            overlay,
        };
        let first = pages
            .get(1)
            .ok_or_else(|| damage(0, "the file is shorter than one page"))?;
        pages.usable = pages.check_header(&first)?;
        // The header's own page count is trusted only when it is marked current (@92 = @24),
        // as in sqlite's `lockBtree`; it may shorten the database but never lengthen it.
        pages.count = header_page_count(first.bytes).map_or(stored, |n| n.min(stored));
        Ok(pages)
    }

    /// Checks the header fields sqlite insists on and gives the usable page size.
    fn check_header(&self, first: &Page<'_>) -> Result<usize, Damage> {
        let bytes = first.bytes;
        if !bytes.starts_with(MAGIC) {
            return Err(self.damage(first, 0, "page 1 lacks the SQLite magic"));
        }
        let raw = be16(bytes, 16).unwrap_or(0);
        let size = if raw == 1 { 65_536 } else { usize::from(raw) };
        if size != self.page_size {
            return Err(self.damage(
                first,
                16,
                format!("page size {size} differs from the main file's"),
            ));
        }
        if bytes.get(19).is_none_or(|&version| version > 2) {
            return Err(self.damage(first, 19, "the file format's read version is newer than 2"));
        }
        if bytes.get(21..24) != Some(&[64, 32, 32]) {
            return Err(self.damage(first, 21, "payload fractions are not 64/32/32"));
        }
        let encoding = be32(bytes, 56).unwrap_or(0);
        if encoding != 1 {
            return Err(self.damage(first, 56, format!("text encoding {encoding} is not UTF-8")));
        }
        let reserved = usize::from(bytes.get(20).copied().unwrap_or(0));
        let usable = self.page_size.saturating_sub(reserved);
        if usable < MIN_USABLE {
            return Err(self.damage(first, 20, format!("usable page size {usable} is below 480")));
        }
        Ok(usable)
    }

    /// The image of page `number`: its newest committed WAL frame, else the main file's page.
    fn get(&self, number: u32) -> Option<Page<'a>> {
        if number == 0 || number > self.count {
            return None;
        }
        if let Some(&frame) = self.overlay.frames.get(&number) {
            let offset = frame
                .checked_mul(FRAME_HEADER_LEN + self.page_size)?
                .checked_add(WAL_HEADER_LEN)?;
            let start = offset.checked_add(FRAME_HEADER_LEN)?;
            let bytes = self.wal.get(start..start.checked_add(self.usable)?)?;
            return Some(Page {
                number,
                bytes,
                slot: Slot::Wal { frame, offset },
            });
        }
        let index = usize::try_from(number - 1)
            .ok()
            .filter(|&i| i < self.file_pages)?;
        let start = index.checked_mul(self.page_size)?;
        let bytes = self.db.get(start..start.checked_add(self.usable)?)?;
        Some(Page {
            number,
            bytes,
            slot: Slot::File(index),
        })
    }

    /// The most payload bytes that the page images present could hold; a cell claiming more
    /// is damaged, and checking this first keeps the payload buffer within the input's size.
    fn capacity(&self) -> usize {
        (self.file_pages + self.overlay.committed).saturating_mul(self.usable)
    }

    /// A `Damage` at byte `within` of `page`: its offset is where the byte sits (or would sit,
    /// for a WAL image) in the main file, and the message names the page and WAL frame.
    fn damage(&self, page: &Page<'_>, within: usize, what: impl Display) -> Damage {
        let start = u64::from(page.number.saturating_sub(1)) * self.page_size as u64;
        let message = match page.slot {
            Slot::File(_) => format!("page {}: {what}", page.number),
            Slot::Wal { offset, .. } => {
                format!(
                    "page {} (in the WAL frame at offset {offset}): {what}",
                    page.number
                )
            }
        };
        Damage {
            offset: start + within as u64,
            message,
        }
    }
}

/// The page count in a database header, when it is marked as current.
fn header_page_count(first: &[u8]) -> Option<u32> {
    let count = be32(first, 28)?;
    (count != 0 && be32(first, 24)? == be32(first, 92)?).then_some(count)
}

/// Which page images one walk has read: one bit per main-file page and per committed frame.
/// Indexing by image rather than by page number keeps the bitset within the input's size
/// whatever page numbers the file claims.
struct Visited {
    /// One bit per main-file page.
    file: Vec<u64>,
    /// One bit per committed WAL frame.
    wal: Vec<u64>,
}

impl Visited {
    /// An empty set sized for `pages`.
    fn new(pages: &Pages<'_>) -> Self {
        Visited {
            file: vec![0; pages.file_pages.div_ceil(64)],
            wal: vec![0; pages.overlay.committed.div_ceil(64)],
        }
    }

    /// Marks the image as read; false if it already was.
    fn claim(&mut self, slot: Slot) -> bool {
        let (bits, index) = match slot {
            Slot::File(index) => (&mut self.file, index),
            Slot::Wal { frame, .. } => (&mut self.wal, frame),
        };
        let Some(word) = bits.get_mut(index / 64) else {
            return false;
        };
        let bit = 1u64 << (index % 64);
        let fresh = *word & bit == 0;
        *word |= bit;
        fresh
    }
}

/// Whether a walk goes on after a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    /// Read the next row.
    Continue,
    /// Stop the walk; not an error.
    Stop,
}

/// What a walk calls with each row's payload: an error message makes it damage at that cell.
type RowFn<'f> = dyn FnMut(&[u8]) -> Result<Flow, &'static str> + 'f;

/// One in-order walk over a table b-tree, reading each page image at most once.
struct Walk<'p, 'a> {
    /// The pages walked.
    pages: &'p Pages<'a>,
    /// The images read so far, which stops cycles and shared pages.
    visited: Visited,
    /// The current row's payload, reused from row to row.
    payload: Vec<u8>,
}

impl<'p, 'a> Walk<'p, 'a> {
    /// A walk that has read nothing yet.
    fn new(pages: &'p Pages<'a>) -> Self {
        Walk {
            pages,
            visited: Visited::new(pages),
            payload: Vec::new(),
        }
    }

    /// Calls `row` with the payload of every row of the table rooted at page `root`, in rowid
    /// order. An explicit stack rather than recursion, so that depth cannot overflow ours.
    fn table(&mut self, root: u32, row: &mut RowFn<'_>) -> Result<Flow, Damage> {
        let pages = self.pages;
        let first = self
            .enter(root)
            .map_err(|why| damage(0, format!("the table's root {why}")))?;
        let mut stack = vec![(first, 0usize)];
        while let Some(&(page, next)) = stack.last() {
            let node = Node::read(pages, &page)?;
            if node.leaf {
                if self.leaf(&page, &node, row)? == Flow::Stop {
                    return Ok(Flow::Stop);
                }
                stack.pop();
                continue;
            }
            let Some((child, at)) = node.child(pages, &page, next)? else {
                stack.pop();
                continue;
            };
            if stack.len() >= MAX_DEPTH {
                return Err(pages.damage(&page, at, "the b-tree is deeper than 20 levels"));
            }
            let child = self
                .enter(child)
                .map_err(|why| pages.damage(&page, at, why))?;
            if let Some(top) = stack.last_mut() {
                top.1 += 1;
            }
            stack.push((child, 0));
        }
        Ok(Flow::Continue)
    }

    /// Fetches page `number` for this walk, refusing a page it has already read.
    fn enter(&mut self, number: u32) -> Result<Page<'a>, String> {
        let page = self.pages.get(number).ok_or_else(|| {
            format!(
                "refers to page {number}, which the database does not hold ({} pages)",
                self.pages.count
            )
        })?;
        if self.visited.claim(page.slot) {
            Ok(page)
        } else {
            Err(format!(
                "refers to page {number} a second time (a loop or a shared page)"
            ))
        }
    }

    /// Calls `row` with each row of a leaf page.
    fn leaf(&mut self, page: &Page<'a>, node: &Node, row: &mut RowFn<'_>) -> Result<Flow, Damage> {
        let pages = self.pages;
        // Cells must not overlap; bounding the sum of their in-page parts by the page is what
        // stops thousands of pointers to one big cell from multiplying the output.
        let mut local_total = 0usize;
        for index in 0..node.cells {
            let at = node.cell_offset(pages, page, index)?;
            let cell = LeafCell::read(pages, page, at)?;
            local_total += cell.local.len();
            if local_total > pages.usable {
                return Err(pages.damage(
                    page,
                    at,
                    "cells overlap: their contents exceed the page",
                ));
            }
            self.gather(page, &cell)?;
            match row(&self.payload) {
                Ok(Flow::Continue) => {}
                Ok(Flow::Stop) => return Ok(Flow::Stop),
                Err(why) => return Err(pages.damage(page, at, why)),
            }
        }
        Ok(Flow::Continue)
    }

    /// Copies a cell's whole payload, its in-cell part then its overflow chain, into the buffer.
    fn gather(&mut self, page: &Page<'a>, cell: &LeafCell<'a>) -> Result<(), Damage> {
        let pages = self.pages;
        self.payload.clear();
        // A cell may claim more than its chain holds: the buffer grows as pages come.
        self.payload.reserve(cell.size.min(1 << 20));
        self.payload.extend_from_slice(cell.local);
        let (mut from, mut at, mut next) = (*page, cell.overflow_at, cell.overflow);
        while self.payload.len() < cell.size {
            let over = self
                .enter(next)
                .map_err(|why| pages.damage(&from, at, format!("an overflow pointer {why}")))?;
            // An overflow page is a 4-byte next pointer, then payload.
            let want = (cell.size - self.payload.len()).min(pages.usable - 4);
            let chunk = over.bytes.get(4..4 + want).unwrap_or_default();
            self.payload.extend_from_slice(chunk);
            next = be32(over.bytes, 0).unwrap_or(0);
            (from, at) = (over, 0);
        }
        Ok(())
    }
}

/// The header of a table b-tree page.
struct Node {
    /// A leaf (rows) rather than an interior page (children).
    leaf: bool,
    /// Where the b-tree header starts: 100 on page 1, after the database header, else 0.
    start: usize,
    /// Number of cells.
    cells: usize,
    /// Offset of the cell-pointer array.
    pointers: usize,
    /// The right-most child (interior pages only).
    right: u32,
}

impl Node {
    /// Reads and checks the b-tree header of `page`.
    fn read(pages: &Pages<'_>, page: &Page<'_>) -> Result<Node, Damage> {
        let start = if page.number == 1 { DB_HEADER_LEN } else { 0 };
        let bytes = page.bytes;
        let short = || pages.damage(page, start, "the b-tree page header is cut short");
        let (leaf, header_len) = match bytes.get(start).copied().ok_or_else(short)? {
            TABLE_LEAF => (true, 8),
            TABLE_INTERIOR => (false, 12),
            INDEX_LEAF | INDEX_INTERIOR => {
                let what = "is an index b-tree page, not a table's (a WITHOUT ROWID table?)";
                return Err(pages.damage(page, start, what));
            }
            flag => {
                return Err(pages.damage(
                    page,
                    start,
                    format!("page type {flag:#04x} is not a table b-tree"),
                ));
            }
        };
        let cells = usize::from(be16(bytes, start + 3).ok_or_else(short)?);
        let pointers = start + header_len;
        // Every cell needs a 2-byte pointer and at least 4 bytes of content (sqlite's MX_CELL).
        if cells > (pages.usable - 8) / 6 || pointers + 2 * cells > pages.usable {
            return Err(pages.damage(
                page,
                start + 3,
                format!("{cells} cells cannot fit the page"),
            ));
        }
        let right = if leaf {
            0
        } else {
            be32(bytes, start + 8).ok_or_else(short)?
        };
        Ok(Node {
            leaf,
            start,
            cells,
            pointers,
            right,
        })
    }

    /// The offset of cell `index`, checked to lie in the cell-content area.
    fn cell_offset(
        &self,
        pages: &Pages<'_>,
        page: &Page<'_>,
        index: usize,
    ) -> Result<usize, Damage> {
        let at = self.pointers + 2 * index;
        let offset = be16(page.bytes, at).map_or(0, usize::from);
        if offset < self.pointers + 2 * self.cells || offset >= pages.usable {
            return Err(pages.damage(
                page,
                at,
                format!("cell pointer {offset} lies outside the cell area"),
            ));
        }
        Ok(offset)
    }

    /// The `next`-th child of an interior page (the right-most one last) and where its pointer
    /// sits, or None once all children have been taken.
    fn child(
        &self,
        pages: &Pages<'_>,
        page: &Page<'_>,
        next: usize,
    ) -> Result<Option<(u32, usize)>, Damage> {
        match next.cmp(&self.cells) {
            Ordering::Less => {
                let at = self.cell_offset(pages, page, next)?;
                let child = be32(page.bytes, at)
                    .ok_or_else(|| pages.damage(page, at, "the cell is cut short"))?;
                Ok(Some((child, at)))
            }
            Ordering::Equal => Ok(Some((self.right, self.start + 8))),
            Ordering::Greater => Ok(None),
        }
    }
}

/// A table-leaf cell: payload size, rowid, the in-cell part, and the first overflow page.
struct LeafCell<'a> {
    /// The whole payload's size, checked against what the database could hold.
    size: usize,
    /// The part of the payload stored in the cell.
    local: &'a [u8],
    /// First overflow page, if the payload is bigger than `local`.
    overflow: u32,
    /// Where the overflow pointer sits in the page (for error offsets).
    overflow_at: usize,
}

impl<'a> LeafCell<'a> {
    /// Reads and checks the cell at offset `at` of a leaf page.
    fn read(pages: &Pages<'_>, page: &Page<'a>, at: usize) -> Result<Self, Damage> {
        let bytes = page.bytes;
        let short = || pages.damage(page, at, "the cell runs past the page");
        let (size, size_len) = varint(bytes, at).ok_or_else(short)?;
        let (_rowid, rowid_len) = varint(bytes, at + size_len).ok_or_else(short)?;
        let size = usize::try_from(size)
            .ok()
            .filter(|&s| s <= pages.capacity())
            .ok_or_else(|| {
                pages.damage(
                    page,
                    at,
                    format!("a payload of {size} bytes exceeds the database"),
                )
            })?;
        let start = at + size_len + rowid_len;
        let local_len = local_payload(size, pages.usable);
        let local = bytes.get(start..start + local_len).ok_or_else(short)?;
        let overflow_at = start + local_len;
        let overflow = if local_len < size {
            be32(bytes, overflow_at).ok_or_else(short)?
        } else {
            0
        };
        Ok(LeafCell {
            size,
            local,
            overflow,
            overflow_at,
        })
    }
}

/// How much of a table-leaf payload of `size` bytes is stored in the cell itself (btreeInt.h:
/// maxLocal = U-35, minLocal = (U-12)*32/255-23, the rest in whole overflow pages of U-4).
/// Needs `usable` ≥ 480, which the header check ensures.
fn local_payload(size: usize, usable: usize) -> usize {
    let max_local = usable - 35;
    let min_local = (usable - 12) * 32 / 255 - 23;
    if size <= max_local {
        return size;
    }
    let k = min_local + (size - min_local) % (usable - 4);
    if k <= max_local { k } else { min_local }
}

/// A value in a record, as far as this reader needs to tell them apart.
#[derive(Debug, PartialEq)]
enum Value<'p> {
    /// SQL NULL.
    Null,
    /// An integer (serial types 1–6, 8, 9).
    Int(i64),
    /// A float, whose value is never needed.
    Real,
    /// Text bytes (UTF-8, by the header check).
    Text(&'p [u8]),
    /// A blob.
    Blob(&'p [u8]),
}

/// A record being read column by column: a header of serial types, then the values.
struct Record<'p> {
    /// The whole payload.
    payload: &'p [u8],
    /// Offset of the next serial type in the header.
    next_type: usize,
    /// End of the header, where the values begin.
    header_end: usize,
    /// Offset of the next value.
    body: usize,
}

impl<'p> Record<'p> {
    /// Starts reading the record in `payload`.
    fn new(payload: &'p [u8]) -> Result<Self, &'static str> {
        let (len, len_len) = varint(payload, 0).ok_or("the record header is cut short")?;
        let header_end = usize::try_from(len)
            .ok()
            .filter(|&l| l >= len_len && l <= payload.len())
            .ok_or("the record header length is out of range")?;
        Ok(Record {
            payload,
            next_type: len_len,
            header_end,
            body: header_end,
        })
    }

    /// The next column, or None past the last one (a missing column reads as NULL in sqlite).
    fn column(&mut self) -> Result<Option<Value<'p>>, &'static str> {
        if self.next_type >= self.header_end {
            return Ok(None);
        }
        let header = self.payload.get(..self.header_end).unwrap_or_default();
        let (serial, len) =
            varint(header, self.next_type).ok_or("a serial type runs past the record header")?;
        self.next_type += len;
        let size = serial_size(serial).ok_or("a column has reserved serial type 10 or 11")?;
        let value = usize::try_from(size)
            .ok()
            .and_then(|size| self.payload.get(self.body..self.body.checked_add(size)?))
            .ok_or("a value runs past the end of its record")?;
        self.body += value.len();
        Ok(Some(match serial {
            0 => Value::Null,
            1..=6 => Value::Int(be_int(value)),
            7 => Value::Real,
            8 => Value::Int(0),
            9 => Value::Int(1),
            even if even % 2 == 0 => Value::Blob(value),
            _ => Value::Text(value),
        }))
    }
}

/// The size in bytes of a value of serial type `serial`; None for the reserved types 10, 11.
fn serial_size(serial: u64) -> Option<u64> {
    match serial {
        0 | 8 | 9 => Some(0),
        1..=4 => Some(serial),
        5 => Some(6),
        6 | 7 => Some(8),
        10 | 11 => None,
        // Blobs (even) and texts (odd) alike: (N-12)/2 and (N-13)/2 round to the same.
        _ => Some((serial - 12) / 2),
    }
}

/// A big-endian two's-complement integer of 1 to 8 bytes.
fn be_int(bytes: &[u8]) -> i64 {
    let negative = bytes.first().is_some_and(|&b| b & 0x80 != 0);
    bytes.iter().fold(if negative { -1 } else { 0 }, |n, &b| {
        (n << 8) | i64::from(b)
    })
}

/// The blob in column 1 of a `Packages` record; column 0, `hnum`, is NULL there because it
/// aliases the rowid. None when that column is not a blob.
fn blob_column(payload: &[u8]) -> Result<Option<&[u8]>, &'static str> {
    let mut record = Record::new(payload)?;
    record.column()?;
    Ok(match record.column()? {
        Some(Value::Blob(blob)) => Some(blob),
        _ => None,
    })
}

/// The root page of table `Packages`, from the schema table rooted at page 1.
fn packages_root(pages: &Pages<'_>) -> Result<u32, Damage> {
    let mut root = None;
    Walk::new(pages).table(1, &mut |payload| {
        Ok(match schema_root(payload)? {
            Some(found) => {
                root = Some(found);
                Flow::Stop
            }
            None => Flow::Continue,
        })
    })?;
    root.ok_or_else(|| damage(0, "the schema has no table named Packages"))
}

/// The root page in a schema row `(type, name, tbl_name, rootpage, sql)` if the row is table
/// `Packages` (names compare case-insensitively, as in SQL); a view or index of that name is
/// not it.
fn schema_root(payload: &[u8]) -> Result<Option<u32>, &'static str> {
    let mut record = Record::new(payload)?;
    let kind = record.column()?;
    let name = record.column()?;
    record.column()?;
    let root = record.column()?;
    let is_packages = kind == Some(Value::Text(b"table"))
        && matches!(name, Some(Value::Text(name)) if name.eq_ignore_ascii_case(b"Packages"));
    if !is_packages {
        return Ok(None);
    }
    match root {
        Some(Value::Int(root)) => u32::try_from(root)
            .ok()
            .filter(|&root| root != 0)
            .map(Some)
            .ok_or("table Packages has no valid root page"),
        _ => Err("table Packages has a root page that is not an integer"),
    }
}

/// A big-endian u16 at `at`, if the bytes are there.
fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(
        bytes.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

/// A big-endian u32 at `at`, if the bytes are there.
fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(
        bytes.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

/// The sqlite varint at `at` and its length: 1 to 9 bytes, big-endian groups of 7 bits, the
/// ninth byte contributing all 8 of its bits.
fn varint(bytes: &[u8], at: usize) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for len in 1..=9 {
        let byte = *bytes.get(at.checked_add(len - 1)?)?;
        if len == 9 {
            return Some(((value << 8) | u64::from(byte), 9));
        }
        value = (value << 7) | u64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            return Some((value, len));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::path::PathBuf;
    use std::process::Command;
    use std::time::{Duration, Instant};

    /// Runs each argument as a dedented Python snippet, all in one namespace.
    const DRIVER: &str =
        "import sys, textwrap\ng = {}\nfor s in sys.argv[1:]:\n    exec(textwrap.dedent(s), g)\n";

    /// Python helpers for every fixture: rpm's schema, deterministic rows, sqlite's own answer.
    const PRELUDE: &str = r#"
        import ctypes, ctypes.util, os, random, shutil, sqlite3, struct
        def schema(c):
            c.execute("CREATE TABLE IF NOT EXISTS 'Packages' (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)")
            c.execute("CREATE TABLE IF NOT EXISTS 'Name' (key TEXT NOT NULL, hnum INTEGER NOT NULL, idx INTEGER NOT NULL, FOREIGN KEY (hnum) REFERENCES 'Packages'(hnum))")
            c.execute("CREATE INDEX IF NOT EXISTS 'Name_key_idx' ON 'Name' (key ASC)")
        def fill(c, sizes, seed=1):
            r = random.Random(seed)
            for n in sizes:
                hnum = c.execute("INSERT INTO Packages (blob) VALUES (?)", (r.randbytes(n),)).lastrowid
                c.execute("INSERT INTO Name VALUES (?, ?, 0)", ("pkg%d" % hnum, hnum))
        def make(path, page_size, sizes, after=""):
            c = sqlite3.connect(path)
            c.execute("PRAGMA page_size=%d" % page_size)
            schema(c)
            fill(c, sizes)
            c.commit()
            if after:
                c.executescript(after)
            c.commit()
            c.close()
        def make_reserved(path, page_size, reserve, sizes):
            # Python cannot set reserved bytes; sqlite's file control can, before the first write.
            lib = ctypes.CDLL(ctypes.util.find_library("sqlite3"))
            h = ctypes.c_void_p()
            assert lib.sqlite3_open(path.encode(), ctypes.byref(h)) == 0
            assert lib.sqlite3_exec(h, b"PRAGMA page_size=%d" % page_size, None, None, None) == 0
            n = ctypes.c_int(reserve)
            assert lib.sqlite3_file_control(h, b"main", 38, ctypes.byref(n)) == 0  # RESERVE_BYTES
            assert lib.sqlite3_exec(h, b"CREATE TABLE seed (x)", None, None, None) == 0
            assert lib.sqlite3_close(h) == 0
            c = sqlite3.connect(path)
            schema(c)
            fill(c, sizes)
            c.commit()
            c.close()
        def dump(path, out, immutable=False):
            c = sqlite3.connect("file:%s%s" % (path, "?immutable=1" if immutable else ""), uri=True)
            with open(out, "wb") as f:
                for hnum, blob in c.execute("SELECT hnum, blob FROM Packages ORDER BY hnum"):
                    f.write(struct.pack("<I", len(blob)) + blob)
            c.close()
    "#;

    /// Leaves sqlite copies of a database in WAL mode mid-life: 40 rows in the main file, six
    /// committed transactions (inserts, deletes, updates) only in the WAL, then an open
    /// transaction whose pages spilled into the WAL uncommitted.
    const LIVE_WAL: &str = r#"
        c = sqlite3.connect("live.db", isolation_level=None)
        c.execute("PRAGMA page_size=1024")
        c.execute("BEGIN")
        schema(c)
        fill(c, [300] * 40)
        c.execute("COMMIT")
        c.execute("PRAGMA journal_mode=WAL")
        c.execute("PRAGMA wal_autocheckpoint=0")
        for t in range(6):
            c.execute("BEGIN")
            fill(c, [100 + 700 * i for i in range(12)], seed=10 + t)
            c.execute("DELETE FROM Packages WHERE hnum % 9 = ?", (t,))
            c.execute("UPDATE Packages SET blob = zeroblob(?) WHERE hnum = ?", (10 * t, 50 + t))
            c.execute("COMMIT")
        c.execute("PRAGMA cache_size=10")
        c.execute("BEGIN")
        fill(c, [30000] * 20, seed=99)
        for suffix in ("", "-wal"):
            shutil.copy("live.db" + suffix, "snap.db" + suffix)
        os._exit(0)
    "#;

    /// A scratch directory under the system temp dir, removed when dropped.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("rpm-sqlite-{}-{name}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).expect("create scratch dir");
            Scratch(dir)
        }

        fn path(&self, file: &str) -> PathBuf {
            self.0.join(file)
        }

        fn read(&self, file: &str) -> Vec<u8> {
            fs::read(self.path(file)).expect("read scratch file")
        }

        fn write(&self, file: &str, bytes: &[u8]) {
            fs::write(self.path(file), bytes).expect("write scratch file");
        }

        fn python(&self, body: &str) {
            let out = Command::new("python3")
                .args(["-c", DRIVER, PRELUDE, body])
                .current_dir(&self.0)
                .output()
                .expect("run python3");
            assert!(
                out.status.success(),
                "python failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }

        /// The blobs sqlite itself reads from `db` (with `wal` as its `-wal`, if any).
        fn reference(&self, name: &str, db: &[u8], wal: Option<&[u8]>) -> Vec<Vec<u8>> {
            let file = format!("{name}.db");
            self.write(&file, db);
            let wal_file = format!("{file}-wal");
            let _ = fs::remove_file(self.path(&wal_file));
            if let Some(wal) = wal {
                self.write(&wal_file, wal);
            }
            let immutable = if wal.is_none() { "True" } else { "False" };
            self.python(&format!(
                "dump({file:?}, {:?}, immutable={immutable})",
                format!("{name}.out")
            ));
            parse_dump(&self.read(&format!("{name}.out")))
        }

        /// A database made by sqlite with rpm's schema and rows of the given Python sizes.
        fn make(&self, name: &str, page_size: usize, sizes: &str, after: &str) -> Vec<u8> {
            let file = format!("{name}.db");
            self.python(&format!("make({file:?}, {page_size}, {sizes}, {after:?})"));
            self.read(&file)
        }

        /// The main file and WAL of the `LIVE_WAL` scenario.
        fn live_wal(&self) -> (Vec<u8>, Vec<u8>) {
            self.python(LIVE_WAL);
            (self.read("snap.db"), self.read("snap.db-wal"))
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// Splits `dump`'s output (u32 little-endian length, then bytes) into blobs.
    fn parse_dump(mut bytes: &[u8]) -> Vec<Vec<u8>> {
        let mut rows = Vec::new();
        while let Some((len, rest)) = bytes.split_first_chunk::<4>() {
            let len = u32::from_le_bytes(*len) as usize;
            rows.push(rest[..len].to_vec());
            bytes = &rest[len..];
        }
        rows
    }

    /// Our reading of every blob.
    fn ours(db: &[u8], wal: Option<&[u8]>) -> Result<Vec<Vec<u8>>, Damage> {
        let mut rows = Vec::new();
        blobs(db, wal, &mut |blob| {
            rows.push(blob.to_vec());
            true
        })?;
        Ok(rows)
    }

    /// Runs `f`, failing if it takes more than a few seconds (a hostile input must not stall).
    fn quick<T>(f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let result = f();
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "took {:?}",
            start.elapsed()
        );
        result
    }

    /// Asserts that reading fails quickly, and gives the damage.
    fn refused(db: &[u8], wal: Option<&[u8]>) -> Damage {
        quick(|| ours(db, wal)).expect_err("hostile input was accepted")
    }

    /// Levels of the `Packages` b-tree, following first children.
    fn depth(db: &[u8]) -> usize {
        let pages = Pages::open(db, &[], page_size(db).unwrap(), Overlay::default()).unwrap();
        let mut number = packages_root(&pages).unwrap();
        for level in 1.. {
            let page = pages.get(number).unwrap();
            let node = Node::read(&pages, &page).unwrap();
            if node.leaf {
                return level;
            }
            number = node.child(&pages, &page, 0).unwrap().unwrap().0;
        }
        unreachable!()
    }

    /// Byte offsets of the full frames of `wal`.
    fn frame_offsets(wal: &[u8], page_size: usize) -> Vec<usize> {
        let frame = FRAME_HEADER_LEN + page_size;
        (0..(wal.len() - WAL_HEADER_LEN) / frame)
            .map(|i| WAL_HEADER_LEN + i * frame)
            .collect()
    }

    /// Rewrites every checksum of `wal` (header and all full frames, valid or not) in the
    /// chosen byte order, as sqlite would have written them.
    fn resign(wal: &mut [u8], page_size: usize, big_endian: bool) {
        wal[..4].copy_from_slice(&(WAL_MAGIC | u32::from(big_endian)).to_be_bytes());
        let mut sum = checksum(big_endian, &wal[..24], (0, 0));
        wal[24..28].copy_from_slice(&sum.0.to_be_bytes());
        wal[28..32].copy_from_slice(&sum.1.to_be_bytes());
        for at in frame_offsets(wal, page_size) {
            sum = checksum(big_endian, &wal[at..at + 8], sum);
            sum = checksum(big_endian, &wal[at + 24..at + 24 + page_size], sum);
            wal[at + 16..at + 20].copy_from_slice(&sum.0.to_be_bytes());
            wal[at + 20..at + 24].copy_from_slice(&sum.1.to_be_bytes());
        }
    }

    /// A WAL for `page_size` holding `frames` of (page number, commit size, image), signed.
    fn wal_with(page_size: usize, frames: &[(u32, u32, Vec<u8>)]) -> Vec<u8> {
        let mut wal = vec![0u8; WAL_HEADER_LEN];
        wal[4..8].copy_from_slice(&WAL_VERSION.to_be_bytes());
        wal[8..12].copy_from_slice(&(page_size as u32).to_be_bytes());
        wal[16..24].copy_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        for (page, commit, image) in frames {
            wal.extend_from_slice(&page.to_be_bytes());
            wal.extend_from_slice(&commit.to_be_bytes());
            wal.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0]);
            wal.extend_from_slice(image);
        }
        resign(&mut wal, page_size, false);
        wal
    }

    /// An sqlite varint.
    fn put_varint(value: u64) -> Vec<u8> {
        if value >> 56 != 0 {
            let mut out = vec![0u8; 9];
            out[8] = value as u8;
            let mut rest = value >> 8;
            for byte in out[..8].iter_mut().rev() {
                *byte = (rest & 0x7f) as u8 | 0x80;
                rest >>= 7;
            }
            return out;
        }
        let mut out = vec![(value & 0x7f) as u8];
        let mut rest = value >> 7;
        while rest != 0 {
            out.push((rest & 0x7f) as u8 | 0x80);
            rest >>= 7;
        }
        out.reverse();
        out
    }

    /// A column for `record`.
    enum Col<'a> {
        Null,
        Int(u32),
        Text(&'a str),
        Blob(&'a [u8]),
    }

    /// An sqlite record of `cols`.
    fn record(cols: &[Col<'_>]) -> Vec<u8> {
        let (mut types, mut body) = (Vec::new(), Vec::new());
        for col in cols {
            match col {
                Col::Null => types.push(0),
                Col::Int(n) => {
                    types.push(4);
                    body.extend_from_slice(&n.to_be_bytes());
                }
                Col::Text(text) => {
                    types.extend(put_varint(13 + 2 * text.len() as u64));
                    body.extend_from_slice(text.as_bytes());
                }
                Col::Blob(blob) => {
                    types.extend(put_varint(12 + 2 * blob.len() as u64));
                    body.extend_from_slice(blob);
                }
            }
        }
        assert!(types.len() < 127);
        let mut out = vec![types.len() as u8 + 1];
        out.extend(types);
        out.extend(body);
        out
    }

    /// A table-leaf cell whose payload is all local.
    fn leaf_cell(rowid: u64, payload: &[u8]) -> Vec<u8> {
        [
            put_varint(payload.len() as u64),
            put_varint(rowid),
            payload.to_vec(),
        ]
        .concat()
    }

    /// A b-tree page holding `cells` (packed from the end), page 1's after the database header.
    fn btree_page(
        page_size: usize,
        first: bool,
        flag: u8,
        cells: &[Vec<u8>],
        right: u32,
    ) -> Vec<u8> {
        let mut page = vec![0u8; page_size];
        let start = if first { DB_HEADER_LEN } else { 0 };
        let header_len = if flag == TABLE_LEAF || flag == INDEX_LEAF {
            8
        } else {
            12
        };
        page[start] = flag;
        page[start + 3..start + 5].copy_from_slice(&(cells.len() as u16).to_be_bytes());
        if header_len == 12 {
            page[start + 8..start + 12].copy_from_slice(&right.to_be_bytes());
        }
        let mut end = page_size;
        for (i, cell) in cells.iter().enumerate() {
            end -= cell.len();
            page[end..end + cell.len()].copy_from_slice(cell);
            let at = start + header_len + 2 * i;
            page[at..at + 2].copy_from_slice(&(end as u16).to_be_bytes());
        }
        page[start + 5..start + 7].copy_from_slice(&(end as u16).to_be_bytes());
        page
    }

    /// Page 1: the schema, with one row for table `Packages` at `root`.
    fn schema_page(page_size: usize, root: u32) -> Vec<u8> {
        let sql = "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, blob BLOB NOT NULL)";
        let row = record(&[
            Col::Text("table"),
            Col::Text("Packages"),
            Col::Text("Packages"),
            Col::Int(root),
            Col::Text(sql),
        ]);
        btree_page(page_size, true, TABLE_LEAF, &[leaf_cell(1, &row)], 0)
    }

    /// A leaf page of `Packages` rows with these blobs, rowids from 1.
    fn blob_leaf(page_size: usize, blobs: &[&[u8]]) -> Vec<u8> {
        let cells: Vec<_> = blobs
            .iter()
            .enumerate()
            .map(|(i, blob)| leaf_cell(i as u64 + 1, &record(&[Col::Null, Col::Blob(blob)])))
            .collect();
        btree_page(page_size, false, TABLE_LEAF, &cells, 0)
    }

    /// A database file of `pages` (the first made by `schema_page`) with a valid header.
    fn hand_db(page_size: usize, pages: &[Vec<u8>]) -> Vec<u8> {
        let mut db = pages.concat();
        db[..16].copy_from_slice(MAGIC);
        let raw = if page_size == 65_536 {
            1
        } else {
            page_size as u16
        };
        db[16..18].copy_from_slice(&raw.to_be_bytes());
        db[18..24].copy_from_slice(&[1, 1, 0, 64, 32, 32]);
        db[24..28].copy_from_slice(&1u32.to_be_bytes());
        db[28..32].copy_from_slice(&(pages.len() as u32).to_be_bytes());
        db[40..44].copy_from_slice(&1u32.to_be_bytes());
        db[44..48].copy_from_slice(&4u32.to_be_bytes());
        db[56..60].copy_from_slice(&1u32.to_be_bytes());
        db[92..96].copy_from_slice(&1u32.to_be_bytes());
        db[96..100].copy_from_slice(&3_040_001u32.to_be_bytes());
        db
    }

    /// A row with a `Packages` record of `payload_len` bytes, stored as a cell with overflow
    /// pages numbered from `first_overflow` in a chain; gives the cell, the overflow pages and
    /// the blob.
    fn overflow_row(
        page_size: usize,
        payload_len: usize,
        first_overflow: u32,
    ) -> (Vec<u8>, Vec<Vec<u8>>, Vec<u8>) {
        let blob: Vec<u8> = (0..payload_len - 4).map(|i| (i * 7 % 251) as u8).collect();
        let payload = record(&[Col::Null, Col::Blob(&blob)]);
        assert_eq!(payload.len(), payload_len);
        let local = local_payload(payload_len, page_size);
        let cell = [
            put_varint(payload_len as u64),
            put_varint(1),
            payload[..local].to_vec(),
            first_overflow.to_be_bytes().to_vec(),
        ]
        .concat();
        let chunks: Vec<_> = payload[local..].chunks(page_size - 4).collect();
        let overflow = chunks
            .iter()
            .enumerate()
            .map(|(i, chunk)| {
                let next = if i + 1 == chunks.len() {
                    0
                } else {
                    first_overflow + i as u32 + 1
                };
                let mut page = vec![0u8; page_size];
                page[..4].copy_from_slice(&next.to_be_bytes());
                page[4..4 + chunk.len()].copy_from_slice(chunk);
                page
            })
            .collect();
        (cell, overflow, blob)
    }

    #[test]
    fn matches_sqlite_at_every_page_size() {
        let s = Scratch::new("page-sizes");
        let sizes = "[0, 1, 2, 10, 100] + list(range(470, 490)) + list(range(980, 1000)) \
                     + list(range(4050, 4070)) + [5000, 20000, 65500, 70000, 300000] + [37] * 50";
        for page_size in [512, 1024, 4096, 65_536] {
            let db = s.make(&format!("ps{page_size}"), page_size, sizes, "");
            assert_eq!(page_size_of(&db), page_size);
            let expected = s.reference(&format!("ps{page_size}-ref"), &db, None);
            assert_eq!(expected.len(), 120);
            assert_eq!(ours(&db, None).unwrap(), expected, "page size {page_size}");
        }
    }

    /// The page size a file declares (for checking fixtures).
    fn page_size_of(db: &[u8]) -> usize {
        page_size(db).unwrap()
    }

    #[test]
    fn matches_sqlite_on_a_three_level_tree() {
        let s = Scratch::new("deep");
        let db = s.make(
            "deep",
            512,
            "[20 + (i * 37) % 100 for i in range(5000)]",
            "",
        );
        assert!(depth(&db) >= 3, "depth {}", depth(&db));
        let expected = s.reference("deep-ref", &db, None);
        assert_eq!(expected.len(), 5000);
        assert_eq!(ours(&db, None).unwrap(), expected);
    }

    #[test]
    fn matches_sqlite_after_deletes() {
        let s = Scratch::new("deletes");
        let after = "DELETE FROM Packages WHERE hnum % 3 = 0; DELETE FROM Packages WHERE hnum BETWEEN 500 AND 1500;";
        let db = s.make(
            "del",
            1024,
            "[(i * 53) % 3000 for i in range(3000)] + [200000]",
            after,
        );
        let freelist = u32::from_be_bytes(db[36..40].try_into().unwrap());
        assert!(freelist > 0, "no freelist pages");
        let expected = s.reference("del-ref", &db, None);
        assert!(expected.len() < 3001);
        assert_eq!(ours(&db, None).unwrap(), expected);
    }

    #[test]
    fn matches_sqlite_with_reserved_bytes() {
        let s = Scratch::new("reserved");
        for (page_size, reserve) in [(512, 32), (1024, 100), (4096, 12)] {
            let file = format!("res{page_size}.db");
            let sizes = "[0, 50, 400, 447, 448, 449, 460, 1000, 5000, 40000] + [90] * 100";
            s.python(&format!(
                "make_reserved({file:?}, {page_size}, {reserve}, {sizes})"
            ));
            let db = s.read(&file);
            assert_eq!(usize::from(db[20]), reserve);
            let expected = s.reference(&format!("res{page_size}-ref"), &db, None);
            assert_eq!(expected.len(), 110);
            assert_eq!(
                ours(&db, None).unwrap(),
                expected,
                "page size {page_size}, reserve {reserve}"
            );
        }
    }

    #[test]
    fn applies_a_live_wal() {
        let s = Scratch::new("live-wal");
        let (db, wal) = s.live_wal();
        let with_wal = ours(&db, Some(&wal)).unwrap();
        assert_eq!(with_wal, s.reference("full", &db, Some(&wal)));
        let alone = ours(&db, None).unwrap();
        assert_eq!(alone, s.reference("alone", &db, None));
        assert_eq!(alone.len(), 40);
        assert!(alone.len() < with_wal.len());
        assert_eq!(ours(&db, Some(&[])).unwrap(), alone);
        // The open transaction's spilled frames are in the file but do not count.
        let overlay = Overlay::read(&wal, 1024);
        assert!(overlay.committed < frame_offsets(&wal, 1024).len());
    }

    #[test]
    fn torn_wal_keeps_the_commits_before_the_tear() {
        let s = Scratch::new("torn-wal");
        let (db, wal) = s.live_wal();
        let full = ours(&db, Some(&wal)).unwrap();
        let last_commit = frame_offsets(&wal, 1024)
            .into_iter()
            .rev()
            .find(|&at| be32(&wal, at + 4) != Some(0))
            .unwrap();
        let torn = &wal[..last_commit + FRAME_HEADER_LEN + 100];
        let rows = ours(&db, Some(torn)).unwrap();
        assert_eq!(rows, s.reference("torn", &db, Some(torn)));
        assert_ne!(rows, full);
    }

    #[test]
    fn bad_checksum_ends_the_wal() {
        let s = Scratch::new("bad-checksum");
        let (db, wal) = s.live_wal();
        let full = ours(&db, Some(&wal)).unwrap();
        let committed = Overlay::read(&wal, 1024).committed;
        let mut bad = wal.clone();
        bad[frame_offsets(&wal, 1024)[committed / 2] + FRAME_HEADER_LEN + 500] ^= 0xff;
        let rows = ours(&db, Some(&bad)).unwrap();
        assert_eq!(rows, s.reference("bad", &db, Some(&bad)));
        assert_ne!(rows, full);
        assert!(Overlay::read(&bad, 1024).committed < committed);
    }

    #[test]
    fn wal_with_other_salts_is_ignored() {
        let s = Scratch::new("salts");
        let (db, wal) = s.live_wal();
        let alone = ours(&db, None).unwrap();
        let mut salted = wal.clone();
        salted[16] ^= 1;
        // Unsigned, the header's own checksum fails.
        assert_eq!(ours(&db, Some(&salted)).unwrap(), alone);
        assert_eq!(s.reference("unsigned", &db, Some(&salted)), alone);
        // Re-signed, the header is valid but no frame carries its salts.
        let sum = checksum(false, &salted[..24], (0, 0));
        salted[24..28].copy_from_slice(&sum.0.to_be_bytes());
        salted[28..32].copy_from_slice(&sum.1.to_be_bytes());
        assert!(wal_header(&salted, 1024).is_some());
        assert_eq!(ours(&db, Some(&salted)).unwrap(), alone);
        assert_eq!(s.reference("resalted", &db, Some(&salted)), alone);
    }

    #[test]
    fn big_endian_checksums_read_the_same() {
        let s = Scratch::new("big-endian");
        let (db, wal) = s.live_wal();
        let full = ours(&db, Some(&wal)).unwrap();
        let mut big = wal.clone();
        resign(&mut big, 1024, true);
        assert_eq!(ours(&db, Some(&big)).unwrap(), full);
        assert_eq!(s.reference("big", &db, Some(&big)), full);
    }

    #[test]
    fn wal_with_another_page_size_is_ignored() {
        let s = Scratch::new("wal-page-size");
        let (_, wal) = s.live_wal();
        let other = s.make("other", 4096, "[10] * 5", "");
        assert_eq!(
            ours(&other, Some(&wal)).unwrap(),
            ours(&other, None).unwrap()
        );
        assert!(Overlay::read(&wal, 4096).frames.is_empty());
    }

    #[test]
    fn hand_built_database_reads_like_sqlite() {
        let s = Scratch::new("hand-built");
        let big = vec![7u8; 300];
        let db = hand_db(
            512,
            &[schema_page(512, 2), blob_leaf(512, &[b"first", b"", &big])],
        );
        let rows = ours(&db, None).unwrap();
        assert_eq!(rows, vec![b"first".to_vec(), Vec::new(), big]);
        assert_eq!(s.reference("hand", &db, None), rows);
    }

    #[test]
    fn hand_built_overflow_chain_reads_like_sqlite() {
        let s = Scratch::new("hand-overflow");
        let (cell, overflow, blob) = overflow_row(512, 2000, 3);
        assert_eq!(overflow.len(), 3);
        let mut pages = vec![
            schema_page(512, 2),
            btree_page(512, false, TABLE_LEAF, &[cell], 0),
        ];
        pages.extend(overflow);
        let db = hand_db(512, &pages);
        assert_eq!(ours(&db, None).unwrap(), vec![blob.clone()]);
        assert_eq!(s.reference("hand", &db, None), vec![blob]);
    }

    #[test]
    fn later_committed_frames_win_and_uncommitted_ones_do_not_count() {
        let s = Scratch::new("frames");
        let mut db = hand_db(512, &[schema_page(512, 2), blob_leaf(512, &[b"main"])]);
        db[18..20].copy_from_slice(&[2, 2]);
        let wal = wal_with(
            512,
            &[
                (2, 0, blob_leaf(512, &[b"old"])),
                (2, 2, blob_leaf(512, &[b"new"])),
                (2, 0, blob_leaf(512, &[b"uncommitted"])),
            ],
        );
        assert_eq!(ours(&db, Some(&wal)).unwrap(), vec![b"new".to_vec()]);
        assert_eq!(
            s.reference("frames", &db, Some(&wal)),
            vec![b"new".to_vec()]
        );
    }

    #[test]
    fn wal_pages_past_the_main_file_are_read() {
        let s = Scratch::new("wal-growth");
        let mut db = hand_db(512, &[schema_page(512, 3), blob_leaf(512, &[b"unused"])]);
        db[18..20].copy_from_slice(&[2, 2]);
        let mut first = db[..512].to_vec();
        first[28..32].copy_from_slice(&3u32.to_be_bytes());
        let wal = wal_with(
            512,
            &[(1, 0, first), (3, 3, blob_leaf(512, &[b"grown", b"rows"]))],
        );
        let rows = ours(&db, Some(&wal)).unwrap();
        assert_eq!(rows, vec![b"grown".to_vec(), b"rows".to_vec()]);
        assert_eq!(s.reference("growth", &db, Some(&wal)), rows);
        // Without the WAL, page 3 does not exist.
        assert!(ours(&db, None).is_err());
    }

    #[test]
    fn damage_in_a_wal_page_names_the_frame() {
        let db = hand_db(512, &[schema_page(512, 2), blob_leaf(512, &[b"main"])]);
        let mut broken = blob_leaf(512, &[b"x"]);
        broken[0] = 0x42;
        let wal = wal_with(512, &[(2, 2, broken)]);
        let damage = refused(&db, Some(&wal));
        assert_eq!(damage.offset, 512);
        assert!(
            damage.message.contains("in the WAL frame at offset 32"),
            "{}",
            damage.message
        );
    }

    #[test]
    fn rows_without_a_blob_are_skipped() {
        let rows = [
            leaf_cell(1, &record(&[Col::Null, Col::Blob(b"a")])),
            leaf_cell(2, &record(&[Col::Null, Col::Text("not a blob")])),
            leaf_cell(3, &record(&[Col::Null])),
            leaf_cell(4, &record(&[Col::Null, Col::Int(7)])),
            leaf_cell(5, &record(&[Col::Null, Col::Blob(b"b")])),
        ];
        let db = hand_db(
            512,
            &[
                schema_page(512, 2),
                btree_page(512, false, TABLE_LEAF, &rows, 0),
            ],
        );
        assert_eq!(ours(&db, None).unwrap(), vec![b"a".to_vec(), b"b".to_vec()]);
    }

    #[test]
    fn stops_when_asked() {
        let db = hand_db(
            512,
            &[
                schema_page(512, 2),
                blob_leaf(512, &[b"1", b"2", b"3", b"4"]),
            ],
        );
        let mut seen = 0;
        blobs(&db, None, &mut |_| {
            seen += 1;
            seen < 2
        })
        .unwrap();
        assert_eq!(seen, 2);
    }

    #[test]
    fn is_sqlite_checks_the_magic() {
        assert!(is_sqlite(b"SQLite format 3\0rest"));
        assert!(!is_sqlite(b"SQLite format 3"));
        assert!(!is_sqlite(b""));
        assert!(!is_sqlite(&[0u8; 100]));
    }

    #[test]
    fn varints_round_trip() {
        for value in [
            0,
            1,
            127,
            128,
            16_383,
            16_384,
            1 << 32,
            (1 << 56) - 1,
            1 << 56,
            1 << 60,
            u64::MAX,
        ] {
            let bytes = put_varint(value);
            assert_eq!(varint(&bytes, 0), Some((value, bytes.len())), "{value}");
            assert_eq!(varint(&bytes[..bytes.len() - 1], 0), None);
        }
    }

    #[test]
    fn local_payload_matches_the_format_examples() {
        // Usable 512: X = 477, M = 39; a 2000-byte payload keeps 39 + 1961 % 508 = 476 local.
        assert_eq!(local_payload(477, 512), 477);
        assert_eq!(local_payload(2000, 512), 476);
        // Just over X: K = 39 + 439 = 478 > X, so only the minimum stays local.
        assert_eq!(local_payload(478, 512), 39);
        assert_eq!(local_payload(540, 512), 39);
    }

    #[test]
    fn interior_page_that_is_its_own_child() {
        let right = hand_db(
            512,
            &[
                schema_page(512, 2),
                btree_page(512, false, TABLE_INTERIOR, &[], 2),
            ],
        );
        assert!(refused(&right, None).message.contains("second time"));
        let cell = vec![0, 0, 0, 2, 5];
        let left = hand_db(
            512,
            &[
                schema_page(512, 2),
                btree_page(512, false, TABLE_INTERIOR, &[cell], 3),
            ],
        );
        assert!(refused(&left, None).message.contains("second time"));
    }

    #[test]
    fn overflow_chain_that_loops() {
        let (cell, mut overflow, _) = overflow_row(512, 2000, 3);
        // Page 4, the second link, points back to page 3 before the payload is complete.
        overflow[1][..4].copy_from_slice(&3u32.to_be_bytes());
        let mut pages = vec![
            schema_page(512, 2),
            btree_page(512, false, TABLE_LEAF, &[cell], 0),
        ];
        pages.extend(overflow);
        let damage = refused(&hand_db(512, &pages), None);
        assert!(damage.message.contains("second time"), "{}", damage.message);
        assert_eq!(damage.offset, 3 * 512);
    }

    #[test]
    fn overflow_chain_into_a_tree_page_is_refused() {
        let (cell, mut overflow, _) = overflow_row(512, 2000, 3);
        overflow[0][..4].copy_from_slice(&2u32.to_be_bytes());
        let mut pages = vec![
            schema_page(512, 2),
            btree_page(512, false, TABLE_LEAF, &[cell], 0),
        ];
        pages.extend(overflow);
        refused(&hand_db(512, &pages), None);
    }

    #[test]
    fn payload_size_of_two_to_the_sixty() {
        let cell = [
            put_varint(1 << 60),
            put_varint(1),
            vec![3, 0, 14, 0, 0, 0, 0, 0],
        ]
        .concat();
        let db = hand_db(
            512,
            &[
                schema_page(512, 2),
                btree_page(512, false, TABLE_LEAF, &[cell], 0),
            ],
        );
        assert!(refused(&db, None).message.contains("exceeds the database"));
    }

    #[test]
    fn cell_pointers_outside_the_cell_area() {
        for pointer in [0xfff0u16, 512, 2, 9] {
            let mut leaf = blob_leaf(512, &[b"x"]);
            leaf[8..10].copy_from_slice(&pointer.to_be_bytes());
            let damage = refused(&hand_db(512, &[schema_page(512, 2), leaf]), None);
            assert_eq!(damage.offset, 512 + 8, "{damage:?}");
        }
    }

    #[test]
    fn cell_count_65535() {
        let mut leaf = blob_leaf(512, &[b"x"]);
        leaf[3..5].copy_from_slice(&[0xff, 0xff]);
        refused(&hand_db(512, &[schema_page(512, 2), leaf]), None);
        let mut db = hand_db(512, &[schema_page(512, 2), blob_leaf(512, &[b"x"])]);
        db[103..105].copy_from_slice(&[0xff, 0xff]);
        refused(&db, None);
    }

    #[test]
    fn overlapping_cells_cannot_multiply_output() {
        // 10,000 pointers to one 40 KB cell would deliver 400 MB without the overlap check.
        let blob = vec![9u8; 39_980];
        let mut leaf = blob_leaf(65_536, &[&blob]);
        let cell_at = [leaf[8], leaf[9]];
        leaf[3..5].copy_from_slice(&10_000u16.to_be_bytes());
        for i in 0..10_000 {
            leaf[8 + 2 * i..10 + 2 * i].copy_from_slice(&cell_at);
        }
        let db = hand_db(65_536, &[schema_page(65_536, 2), leaf]);
        let mut delivered = 0;
        let result = quick(|| {
            blobs(&db, None, &mut |blob| {
                delivered += blob.len();
                true
            })
        });
        assert!(result.unwrap_err().message.contains("overlap"));
        assert!(delivered <= db.len());
    }

    #[test]
    fn bad_page_sizes_are_refused() {
        let good = hand_db(512, &[schema_page(512, 2), blob_leaf(512, &[b"x"])]);
        for raw in [3u16, 0, 256, 511, 513, 0x8001] {
            let mut db = good.clone();
            db[16..18].copy_from_slice(&raw.to_be_bytes());
            assert_eq!(refused(&db, None).offset, 16, "page size field {raw}");
        }
    }

    #[test]
    fn small_usable_size_and_other_headers_are_refused() {
        let good = hand_db(512, &[schema_page(512, 2), blob_leaf(512, &[b"x"])]);
        for (at, value) in [(20, 33u8), (19, 3), (21, 65), (59, 2)] {
            let mut db = good.clone();
            db[at] = value;
            assert!(refused(&db, None).offset >= 19, "byte {at} = {value}");
        }
    }

    #[test]
    fn schema_root_zero_or_past_the_end() {
        for root in [0, 3, 99, u32::MAX] {
            let db = hand_db(512, &[schema_page(512, root), blob_leaf(512, &[b"x"])]);
            refused(&db, None);
        }
        // Root 1 walks the schema itself, whose rows hold no blob in column 1.
        let db = hand_db(512, &[schema_page(512, 1), blob_leaf(512, &[b"x"])]);
        assert_eq!(ours(&db, None).unwrap(), Vec::<Vec<u8>>::new());
    }

    #[test]
    fn missing_packages_table_is_damage() {
        let mut db = hand_db(512, &[schema_page(512, 2), blob_leaf(512, &[b"x"])]);
        let at = db[100 + 8] as usize * 256 + db[100 + 9] as usize;
        let name = db[at..at + 120]
            .windows(8)
            .position(|w| w == b"Packages")
            .unwrap()
            + at;
        db[name] = b'X';
        assert!(
            refused(&db, None)
                .message
                .contains("no table named Packages")
        );
    }

    #[test]
    fn refuses_without_rowid_and_utf16() {
        let s = Scratch::new("refusals");
        s.python(
            r#"
            c = sqlite3.connect("norowid.db")
            c.execute("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, blob BLOB NOT NULL) WITHOUT ROWID")
            c.execute("INSERT INTO Packages VALUES (1, x'00')")
            c.commit()
            c.close()
            c = sqlite3.connect("utf16.db")
            c.execute("PRAGMA encoding='UTF-16le'")
            schema(c)
            fill(c, [10])
            c.commit()
            c.close()
            "#,
        );
        assert!(
            refused(&s.read("norowid.db"), None)
                .message
                .contains("WITHOUT ROWID")
        );
        assert_eq!(refused(&s.read("utf16.db"), None).offset, 56);
    }

    #[test]
    fn huge_page_numbers_in_the_wal_stay_cheap() {
        let db = hand_db(512, &[schema_page(512, 2), blob_leaf(512, &[b"x"])]);
        let wal = wal_with(512, &[(u32::MAX, u32::MAX, vec![0; 512])]);
        let overlay = Overlay::read(&wal, 512);
        assert_eq!(overlay.db_size, Some(u32::MAX));
        assert_eq!(
            quick(|| ours(&db, Some(&wal))).unwrap(),
            vec![b"x".to_vec()]
        );
    }

    #[test]
    fn truncated_files() {
        let s = Scratch::new("truncated");
        let db = s.make(
            "t",
            512,
            "[(i * 131) % 2500 for i in range(120)] + [20000]",
            "",
        );
        let full = ours(&db, None).unwrap();
        for len in (0..db.len()).step_by(97).chain([db.len() - 1]) {
            if let Ok(rows) = quick(|| ours(&db[..len], None)) {
                assert!(rows.len() <= full.len());
            }
        }
    }

    /// The next state of a xorshift64 generator.
    fn xorshift(mut x: u64) -> u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }

    /// Reads everything, checking the bytes `each` receives against the budget.
    fn delivered_within_budget(db: &[u8], wal: Option<&[u8]>) -> Result<(), Damage> {
        let mut delivered = 0usize;
        let result = blobs(db, wal, &mut |blob| {
            delivered += blob.len();
            true
        });
        assert!(delivered <= db.len() + wal.map_or(0, <[u8]>::len));
        result
    }

    #[test]
    fn flipped_bytes_never_panic_or_exceed_the_budget() {
        let s = Scratch::new("flips");
        let after = "DELETE FROM Packages WHERE hnum % 5 = 0;";
        // Mostly small rows, so that most flips land in b-tree structure rather than blob bytes.
        let sizes = "[(i * 7) % 40 for i in range(1500)] + [3000, 20000]";
        let mut db = s.make("f", 512, sizes, after);
        let mut damaged = 0;
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        quick(|| {
            for _ in 0..2000 {
                state = xorshift(state);
                let at = (state % db.len() as u64) as usize;
                let mask = (state >> 32) as u8 | 1;
                db[at] ^= mask;
                damaged += usize::from(delivered_within_budget(&db, None).is_err());
                db[at] ^= mask;
            }
        });
        assert!(damaged > 20, "only {damaged} flips were noticed");
    }

    #[test]
    fn flipped_wal_pages_never_panic_or_exceed_the_budget() {
        // Re-signing after each flip makes sqlite's checksums accept the damage, so the
        // b-tree code meets hostile pages that come from the WAL.
        let s = Scratch::new("wal-flips");
        let (db, mut wal) = s.live_wal();
        let committed = Overlay::read(&wal, 1024).committed;
        let span = WAL_HEADER_LEN + committed * (FRAME_HEADER_LEN + 1024);
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut damaged = 0;
        for _ in 0..300 {
            state = xorshift(state);
            let at = (state % span as u64) as usize;
            let mask = (state >> 32) as u8 | 1;
            let saved = wal.clone();
            wal[at] ^= mask;
            resign(&mut wal, 1024, false);
            damaged += usize::from(quick(|| delivered_within_budget(&db, Some(&wal))).is_err());
            wal = saved;
        }
        assert!(damaged > 0, "no flip was noticed");
    }
}

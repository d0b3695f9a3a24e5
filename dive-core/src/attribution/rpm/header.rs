//! One rpm header as a database stores it (without its 8-byte magic): an index of tagged
//! entries over a data area, checked as rpm checks it (lib/header.c) before any entry is
//! read, so that every later read is in bounds.
//!
//! Budget: the index is read in place (16 bytes an entry, at most 65,535 entries); the
//! checks scan each entry's data once, and entries may not overlap, so a header costs time
//! linear in its length and no memory but the directory list of its files (a slice per
//! directory name).

/// rpm's tags, from include/rpm/rpmtag.h.
pub(super) mod tag {
    pub const NAME: u32 = 1000;
    pub const VERSION: u32 = 1001;
    pub const RELEASE: u32 = 1002;
    pub const EPOCH: u32 = 1003;
    pub const SIZE: u32 = 1009;
    pub const LICENSE: u32 = 1014;
    pub const ARCH: u32 = 1022;
    pub const OLDFILENAMES: u32 = 1027;
    pub const FILESTATES: u32 = 1029;
    pub const FILEFLAGS: u32 = 1037;
    pub const DIRINDEXES: u32 = 1116;
    pub const BASENAMES: u32 = 1117;
    pub const DIRNAMES: u32 = 1118;
    pub const LONGSIZE: u32 = 5009;
}

/// Entry types (`rpmTagType_e`).
mod kind {
    pub const CHAR: u32 = 1;
    pub const INT8: u32 = 2;
    pub const INT16: u32 = 3;
    pub const INT32: u32 = 4;
    pub const INT64: u32 = 5;
    pub const STRING: u32 = 6;
    pub const BIN: u32 = 7;
    pub const STRING_ARRAY: u32 = 8;
    pub const I18NSTRING: u32 = 9;
}

/// rpm's caps (`lib/header_internal.h`): index entries, data bytes, elements of an array.
const TAGS_MAX: u32 = 0xffff;
const DATA_MAX: u32 = 0x0fff_ffff;
const ARRAY_MAX: u32 = 0xf_ffff;
/// Region tags: `HEADER_IMAGE`, `HEADER_SIGNATURES`, `HEADER_IMMUTABLE`.
const REGIONS: std::ops::RangeInclusive<u32> = 61..=63;
/// File flags and states that mean the file is not on disk because of this package
/// (`rpmfiles.h`).
const FILE_GHOST: u64 = 1 << 6;
const STATE_REPLACED: u64 = 1;
const STATE_NOT_INSTALLED: u64 = 2;
const STATE_WRONG_COLOR: u64 = 4;

/// One index entry.
#[derive(Debug, Clone, Copy)]
struct Entry {
    tag: u32,
    kind: u32,
    offset: usize,
    count: usize,
}

/// A header whose index and data passed rpm's checks.
#[derive(Debug)]
pub(super) struct Header<'a> {
    index: &'a [u8],
    data: &'a [u8],
    /// Entries of the immutable region (from 1); those past it were added at install time
    /// and take precedence.
    region: usize,
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

impl<'a> Header<'a> {
    /// Checks `blob` as rpm does and reads its index; the error says what is wrong.
    pub(super) fn parse(blob: &'a [u8]) -> Result<Self, String> {
        let (Some(il), Some(dl)) = (be32(blob, 0), be32(blob, 4)) else {
            return Err(format!("a header of {} bytes is too short", blob.len()));
        };
        if il == 0 || il > TAGS_MAX || dl > DATA_MAX {
            return Err(format!("header counts {il} entries and {dl} data bytes"));
        }
        let data_start = 8 + 16 * il as usize;
        let end = data_start + dl as usize;
        if end > blob.len() {
            return Err(format!(
                "header of {il} entries and {dl} data bytes needs {end} bytes, has {}",
                blob.len()
            ));
        }
        let header = Self {
            index: &blob[8..data_start],
            data: &blob[data_start..end],
            region: il as usize,
        };
        header.check()
    }

    fn entries(&self) -> usize {
        self.index.len() / 16
    }

    fn entry(&self, i: usize) -> Entry {
        let field = |k: usize| be32(self.index, i * 16 + k * 4).unwrap_or(0);
        Entry {
            tag: field(0),
            kind: field(1),
            // A negative offset (a region trailer's) reads as past the data.
            offset: field(2) as usize,
            count: field(3) as usize,
        }
    }

    /// rpm's checks of every entry: tag, type, count, alignment, range, and data lying in
    /// index order without overlap; then the region's trailer, which says where the entries
    /// added at install time begin.
    fn check(mut self) -> Result<Self, String> {
        let first = self.entry(0);
        let has_region = REGIONS.contains(&first.tag);
        // The region's trailer: no entry's data may cover it.
        let trailer = if has_region {
            self.region = self.region_entries(first)?;
            first.offset..first.offset + 16
        } else {
            0..0
        };
        let dl = self.data.len();
        let mut end = 0;
        for i in usize::from(has_region)..self.entries() {
            let e = self.entry(i);
            let bad = |what: &str| Err(format!("entry {i} (tag {}): {what}", e.tag));
            if e.tag < 100 {
                return bad("a tag below 100 outside a region");
            }
            if !(kind::CHAR..=kind::I18NSTRING).contains(&e.kind) {
                return bad("unknown type");
            }
            if e.count == 0 || e.count > dl || (e.kind != kind::BIN && e.count > ARRAY_MAX as usize)
            {
                return bad("count out of range");
            }
            let align = match e.kind {
                kind::INT16 => 2,
                kind::INT32 => 4,
                kind::INT64 => 8,
                _ => 1,
            };
            if e.offset > dl || !e.offset.is_multiple_of(align) {
                return bad("offset out of range or misaligned");
            }
            if e.offset < end {
                return bad("data overlaps the previous entry's");
            }
            let Some(len) = self.data_len(e) else {
                return bad("data runs past the header");
            };
            end = e.offset + len;
            if e.offset < trailer.end && end > trailer.start {
                return bad("data overlaps the region's trailer");
            }
        }
        Ok(self)
    }

    /// Bytes of an entry's data, if it lies within the data area.
    fn data_len(&self, e: Entry) -> Option<usize> {
        let rest = self.data.get(e.offset..)?;
        let len = match e.kind {
            kind::STRING if e.count != 1 => return None,
            kind::STRING | kind::STRING_ARRAY | kind::I18NSTRING => {
                let mut at = 0;
                for _ in 0..e.count {
                    at += memchr::memchr(0, rest.get(at..)?)? + 1;
                }
                at
            }
            kind::INT16 => e.count * 2,
            kind::INT32 => e.count * 4,
            kind::INT64 => e.count * 8,
            _ => e.count,
        };
        (len <= rest.len()).then_some(len)
    }

    /// The entries the immutable region covers, from its trailer (rpm's
    /// `hdrblobVerifyRegion`): a BIN entry of 16 bytes at the region's offset, whose own
    /// offset is minus 16 times that count.
    fn region_entries(&self, first: Entry) -> Result<usize, String> {
        let bad = |what: &str| Err(format!("region (tag {}): {what}", first.tag));
        if first.kind != kind::BIN || first.count != 16 {
            return bad("not a 16-byte trailer");
        }
        let Some(trailer) = first
            .offset
            .checked_add(16)
            .and_then(|end| self.data.get(first.offset..end))
        else {
            return bad("trailer past the data");
        };
        let (Some(t), Some(k), Some(o), Some(c)) = (
            be32(trailer, 0),
            be32(trailer, 4),
            be32(trailer, 8),
            be32(trailer, 12),
        ) else {
            return bad("trailer past the data");
        };
        let back = (o as i32).unsigned_abs() as usize;
        if t != first.tag || k != kind::BIN || c != 16 || (o as i32) >= 0 || !back.is_multiple_of(16) {
            return bad("trailer does not match the region");
        }
        let entries = back / 16;
        if entries == 0 || entries > self.entries() {
            return bad("trailer counts more entries than the header has");
        }
        Ok(entries)
    }

    /// The entry for `tag`: one added at install time first, as rpm reads it.
    fn find(&self, tag: u32) -> Option<Entry> {
        // Without a region, `region` is every entry and nothing was added.
        let first = usize::from(REGIONS.contains(&self.entry(0).tag));
        (self.region..self.entries())
            .chain(first..self.region)
            .map(|i| self.entry(i))
            .find(|e| e.tag == tag)
    }

    /// The strings of a string entry (its one string, or every element of an array).
    pub(super) fn strings(&self, tag: u32) -> Option<Strings<'a>> {
        let e = self.find(tag)?;
        if !matches!(
            e.kind,
            kind::STRING | kind::STRING_ARRAY | kind::I18NSTRING
        ) {
            return None;
        }
        Some(Strings {
            rest: self.data.get(e.offset..)?,
            left: e.count,
        })
    }

    /// The first string of a string entry, if it is valid UTF-8 (rpm writes UTF-8).
    pub(super) fn string(&self, tag: u32) -> Option<&'a str> {
        std::str::from_utf8(self.strings(tag)?.next()?).ok()
    }

    /// The elements of an integer entry, widened (CHAR and INT8 as bytes).
    pub(super) fn ints(&self, tag: u32) -> Option<Ints<'a>> {
        let e = self.find(tag)?;
        let width = match e.kind {
            kind::CHAR | kind::INT8 => 1,
            kind::INT16 => 2,
            kind::INT32 => 4,
            kind::INT64 => 8,
            _ => return None,
        };
        let bytes = self.data.get(e.offset..e.offset + e.count * width)?;
        Some(Ints { bytes, width })
    }

    /// The first element of an integer entry.
    pub(super) fn int(&self, tag: u32) -> Option<u64> {
        self.ints(tag)?.next()
    }

    /// Every file the package put on disk, as rpm lists it: the directory and base name
    /// (`DIRNAMES[DIRINDEXES[i]]`, `BASENAMES[i]`), or an empty directory and the full path
    /// in a very old header. Not `%ghost` files, which the package owns but never wrote,
    /// nor files rpm did not install (`--nodocs`, the other architecture of a multilib
    /// pair). A list rpm would refuse (indexes of another count, past the directories)
    /// ends where it goes wrong.
    pub(super) fn files(&self) -> Files<'a> {
        let count = self.file_count();
        // A per-file array of another length describes other files: unused, as rpm does.
        let per_file = |tag| self.ints(tag).filter(|a| a.len() == count);
        let mut files = Files {
            flags: per_file(tag::FILEFLAGS),
            states: per_file(tag::FILESTATES),
            dirs: Vec::new(),
            indexes: None,
            names: None,
            at: 0,
        };
        if let (Some(bases), Some(dirs), Some(indexes)) = (
            self.strings(tag::BASENAMES),
            self.strings(tag::DIRNAMES),
            self.ints(tag::DIRINDEXES),
        ) {
            // At most one directory per file, every index naming one: else rpm refuses the
            // list whole.
            let named = |mut indexes: Ints<'_>| indexes.all(|d| d < dirs.left as u64);
            if indexes.len() == count && dirs.left <= count && named(indexes.clone()) {
                files.dirs = dirs.collect();
                files.indexes = Some(indexes);
                files.names = Some(bases);
            }
        } else {
            files.names = self.strings(tag::OLDFILENAMES);
        }
        files
    }

    fn file_count(&self) -> usize {
        self.find(tag::BASENAMES)
            .or_else(|| self.find(tag::OLDFILENAMES))
            .map_or(0, |e| e.count)
    }
}

/// The NUL-terminated strings of an entry, checked to lie in the data.
#[derive(Debug, Clone)]
pub(super) struct Strings<'a> {
    rest: &'a [u8],
    left: usize,
}

impl<'a> Iterator for Strings<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.left == 0 {
            return None;
        }
        let nul = memchr::memchr(0, self.rest)?;
        let (s, rest) = (&self.rest[..nul], &self.rest[nul + 1..]);
        self.rest = rest;
        self.left -= 1;
        Some(s)
    }
}

/// The files of a header ([`Header::files`]): (directory, base name) pairs.
#[derive(Debug)]
pub(super) struct Files<'a> {
    flags: Option<Ints<'a>>,
    states: Option<Ints<'a>>,
    dirs: Vec<&'a [u8]>,
    indexes: Option<Ints<'a>>,
    names: Option<Strings<'a>>,
    at: usize,
}

impl<'a> Iterator for Files<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let name = self.names.as_mut()?.next()?;
            let dir = match &mut self.indexes {
                Some(indexes) => *self.dirs.get(usize::try_from(indexes.next()?).ok()?)?,
                None => &[][..],
            };
            let i = self.at;
            self.at += 1;
            let ghost = self
                .flags
                .as_ref()
                .and_then(|f| f.at(i))
                .is_some_and(|f| f & FILE_GHOST != 0);
            let state = self.states.as_ref().and_then(|s| s.at(i));
            // Replaced: another package's copy is on disk, and that package lists it too.
            let installed = !matches!(
                state,
                Some(STATE_REPLACED | STATE_NOT_INSTALLED | STATE_WRONG_COLOR)
            );
            if !ghost && installed {
                return Some((dir, name));
            }
        }
    }
}

/// The big-endian integers of an entry.
#[derive(Debug, Clone)]
pub(super) struct Ints<'a> {
    bytes: &'a [u8],
    width: usize,
}

impl Ints<'_> {
    fn len(&self) -> usize {
        self.bytes.len() / self.width
    }

    /// Element `i` counted from the start of the entry, read without consuming.
    fn at(&self, i: usize) -> Option<u64> {
        let at = i.checked_mul(self.width)?;
        self.bytes.get(at..at + self.width).map(read_be)
    }
}

impl Iterator for Ints<'_> {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        let (head, rest) = self.bytes.split_at_checked(self.width)?;
        self.bytes = rest;
        Some(read_be(head))
    }
}

fn read_be(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |n, &b| (n << 8) | u64::from(b))
}

#[cfg(test)]
mod tests {
    use dive_testdata::rpm::{Value, header_blob, package_header};

    use super::*;

    fn files(blob: &[u8]) -> Vec<String> {
        Header::parse(blob)
            .unwrap()
            .files()
            .map(|(d, b)| String::from_utf8_lossy(&[d, b].concat()).into_owned())
            .collect()
    }

    #[test]
    fn a_package_header_gives_its_name_sizes_and_files() {
        let listed = [("/usr/bin/a".to_owned(), 10), ("/usr/lib/b.so".to_owned(), 20)];
        let blob = package_header("pkg", "1.0", &listed);
        let header = Header::parse(&blob).unwrap();
        assert_eq!(header.string(tag::NAME), Some("pkg"));
        assert_eq!(header.string(tag::VERSION), Some("1.0"));
        assert_eq!(header.int(tag::SIZE), Some(30));
        assert_eq!(header.int(tag::EPOCH), None);
        assert_eq!(files(&blob), ["/usr/bin/a", "/usr/lib/b.so"]);
    }

    #[test]
    fn ghosts_and_files_not_installed_are_not_listed() {
        let blob = header_blob(&[
            (tag::NAME, Value::Str("p")),
            (tag::FILESTATES, Value::Chars(vec![0, 2, 0, 4, 0])),
            (tag::FILEFLAGS, Value::I32(vec![17, 2, 64, 0, 128])),
            (tag::DIRINDEXES, Value::I32(vec![0; 5])),
            (
                tag::BASENAMES,
                Value::Strs(["conf", "doc", "ghost", "other-arch", "license"].map(|s| s.as_bytes().to_vec()).to_vec()),
            ),
            (tag::DIRNAMES, Value::Strs(vec![b"/d/".to_vec()])),
        ]);
        assert_eq!(files(&blob), ["/d/conf", "/d/license"]);
    }

    #[test]
    fn long_sizes_and_an_epoch_are_read() {
        let blob = header_blob(&[
            (tag::NAME, Value::Str("big")),
            (tag::EPOCH, Value::I32(vec![3])),
            (tag::SIZE, Value::I32(vec![7])),
            (tag::LONGSIZE, Value::I64(vec![5 << 32])),
        ]);
        let header = Header::parse(&blob).unwrap();
        assert_eq!(header.int(tag::LONGSIZE), Some(5 << 32));
        assert_eq!(header.int(tag::EPOCH), Some(3));
    }

    #[test]
    fn old_headers_list_full_paths() {
        let blob = header_blob(&[
            (tag::NAME, Value::Str("old")),
            (tag::OLDFILENAMES, Value::Strs(vec![b"/bin/x".to_vec(), b"/bin/y".to_vec()])),
        ]);
        assert_eq!(files(&blob), ["/bin/x", "/bin/y"]);
    }

    #[test]
    fn an_entry_added_at_install_time_overrides_the_regions() {
        // A dribble: one more entry after the region, its data after the trailer.
        let mut blob = header_blob(&[(tag::NAME, Value::Str("old-name"))]);
        let il = u32::from_be_bytes(blob[0..4].try_into().unwrap());
        let dl = u32::from_be_bytes(blob[4..8].try_into().unwrap());
        let data_start = 8 + 16 * il as usize;
        let mut entry = Vec::new();
        for word in [tag::NAME, 6, dl, 1] {
            entry.extend_from_slice(&word.to_be_bytes());
        }
        blob.splice(data_start..data_start, entry);
        blob.extend_from_slice(b"new-name\0");
        blob[0..4].copy_from_slice(&(il + 1).to_be_bytes());
        blob[4..8].copy_from_slice(&(dl + 9).to_be_bytes());
        let header = Header::parse(&blob).unwrap();
        assert_eq!(header.string(tag::NAME), Some("new-name"));
    }

    #[test]
    fn hostile_headers_are_refused_before_any_read() {
        let good = package_header("p", "1", &[("/a/b".to_owned(), 1)]);
        let set = |at: usize, word: u32| {
            let mut blob = good.clone();
            blob[at..at + 4].copy_from_slice(&word.to_be_bytes());
            blob
        };
        let entry = |i: usize, field: usize| 8 + 16 * i + 4 * field;
        let cases = [
            ("no entries", set(0, 0)),
            ("65,536 entries", set(0, 0x1_0000)),
            ("more entries than bytes", set(0, 4000)),
            ("data past the blob", set(4, 1 << 20)),
            ("a count past the data", set(entry(3, 3), 1 << 30)),
            ("an array over rpm's cap", set(entry(8, 3), 0x10_0000)),
            ("an offset past the data", set(entry(2, 2), 1 << 20)),
            ("a misaligned offset", set(entry(4, 2), 1 + u32::from_be_bytes(good[entry(4, 2)..entry(4, 2) + 4].try_into().unwrap()))),
            ("an unknown type", set(entry(1, 1), 10)),
            ("a tag below 100", set(entry(1, 0), 99)),
            ("a trailer counting too many", {
                let dl = u32::from_be_bytes(good[4..8].try_into().unwrap()) as usize;
                let at = good.len() - dl + u32::from_be_bytes(good[entry(0, 2)..entry(0, 2) + 4].try_into().unwrap()) as usize + 8;
                set(at, (-(16 * 1000i32)) as u32)
            }),
        ];
        for (what, blob) in cases {
            assert!(Header::parse(&blob).is_err(), "{what}");
        }
        assert!(Header::parse(&good[..good.len() - 1]).is_err());
        assert!(Header::parse(&[]).is_err());
    }

    #[test]
    fn a_directory_index_past_the_directories_refuses_the_list() {
        let blob = header_blob(&[
            (tag::NAME, Value::Str("p")),
            (tag::DIRINDEXES, Value::I32(vec![0, 9, 0])),
            (tag::BASENAMES, Value::Strs(vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()])),
            (tag::DIRNAMES, Value::Strs(vec![b"/d/".to_vec()])),
        ]);
        assert!(files(&blob).is_empty());
    }
}

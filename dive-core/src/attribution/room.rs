//! What the package databases of an image may make attribution hold and do.
//!
//! A database is the image's own text: a line of it may name a path of megabytes, a short
//! line may name a long path (an apk `R:` under a long `F:`, a conda `""` under a long
//! prefix), and its count of lines says nothing of the files the image holds. So every
//! parser asks this room before it keeps anything, and stops adding once it is spent:
//! nothing is built whole and then cut. The room is the image's, shared by its databases,
//! newest layer first; it has three parts.
//!
//! - **Paths** (the files databases list, and the directories a dist claims below its site
//!   directory): a count of twice the image's entries and 65,536 more, and their bytes as
//!   listed (before normalising: the work of joining, normalising and hashing them) up to
//!   twice those of the image's entry paths and 16 MiB more. Twice: a file listed by its
//!   database in two layers (a reinstalled dist), and its directory; the rest is room for
//!   what databases list that the image no longer holds (docs an apt step deleted) and for
//!   the 24 control files a dpkg `status` names per package (about 40 bytes each: 3,000
//!   packages take 3 MiB). Each path kept costs a claim (a hash in a map, about 50 bytes)
//!   while attributing, and its bytes while one database is read. Once spent, databases
//!   still name their packages, without files.
//! - **Packages**: a quarter of the image's entries and 4,096 more, each a record of about
//!   a KiB while attributing. Every package reported owns at least one entry, and a real
//!   one owns several (a dist-info holds four files, an npm package its directory, its
//!   manifest and its code); the 4,096 are for those whose files are all gone. A package a
//!   database lists again that another already listed (dpkg's `status`, rewritten by every
//!   layer that installs anything) takes nothing more. Once spent, the databases left are
//!   not read.
//! - **Names**: the bytes of packages' names and versions, up to half those of the image's
//!   entry paths and 4 MiB more (a real name and version take a few dozen bytes).
//!
//! A listed path (or a name) longer than any path a file of the image can have (Linux's
//! `PATH_MAX`, the walk's default `--max-path`, or the longest entry path of the image
//! when a raised `--max-path` let longer ones in) names nothing the image holds: it is
//! skipped without being built, and counted.

use std::hash::{BuildHasher, RandomState};

use hashbrown::HashMap;

/// Paths listed per tar entry of the image.
const PATHS_PER_ENTRY: usize = 2;
/// Paths listed beyond those of the entries.
const PATHS_BASE: usize = 1 << 16;
/// Bytes of listed paths per byte of the image's entry paths.
const PATH_BYTES_PER_PATH_BYTE: usize = 2;
/// Bytes of listed paths beyond those.
const PATH_BYTES_BASE: usize = 16 << 20;
/// Entries of the image per package.
const ENTRIES_PER_PACKAGE: usize = 4;
/// Packages beyond those of the entries.
const PACKAGES_BASE: usize = 4096;
/// Bytes of the image's entry paths per byte of names.
const PATH_BYTES_PER_NAME_BYTE: usize = 2;
/// Bytes of names beyond those.
const NAME_BYTES_BASE: usize = 4 << 20;
/// Linux's `PATH_MAX`: no file a container opens has a longer path.
const PATH_MAX: usize = 4096;

/// A count and a byte budget.
#[derive(Debug, Clone, Copy)]
struct Budget {
    count: usize,
    bytes: usize,
}

impl Budget {
    fn take(&mut self, count: usize, bytes: usize) -> bool {
        if self.count < count || self.bytes < bytes {
            return false;
        }
        self.count -= count;
        self.bytes -= bytes;
        true
    }
}

/// What the databases may still list, and what they listed past it.
#[derive(Debug, Clone)]
pub(crate) struct Room {
    paths: Budget,
    /// Packages (count) and their names (bytes).
    packages: Budget,
    /// What the image gave, to say in a warning.
    given: (Budget, Budget),
    /// Longest path (or name) kept.
    max_path: usize,
    /// Packages taken, by a hash of their database's path and their name: the database
    /// (its number) that last listed each.
    seen: HashMap<u64, u32>,
    hasher: RandomState,
    /// The number of the database being read.
    database: u32,
    /// Whether the database being read wanted more than the room ([`Room::take_cut`]).
    cut: bool,
    /// Whether it was refused a package: it should stop.
    no_packages: bool,
    /// Listed paths and names skipped for their length.
    long: u64,
    /// Bytes given out for paths and names.
    bytes_given: u64,
}

impl Room {
    /// The room of an image of `entries` tar entries whose paths take `path_bytes` bytes,
    /// the longest `longest_path`.
    pub(crate) fn new(entries: usize, path_bytes: usize, longest_path: usize) -> Self {
        let paths = Budget {
            count: PATHS_PER_ENTRY
                .saturating_mul(entries)
                .saturating_add(PATHS_BASE),
            bytes: PATH_BYTES_PER_PATH_BYTE
                .saturating_mul(path_bytes)
                .saturating_add(PATH_BYTES_BASE),
        };
        let packages = Budget {
            count: (entries / ENTRIES_PER_PACKAGE).saturating_add(PACKAGES_BASE),
            bytes: (path_bytes / PATH_BYTES_PER_NAME_BYTE).saturating_add(NAME_BYTES_BASE),
        };
        Self {
            paths,
            packages,
            given: (paths, packages),
            max_path: longest_path.max(PATH_MAX),
            seen: HashMap::new(),
            hasher: RandomState::new(),
            database: 0,
            cut: false,
            no_packages: false,
            long: 0,
            bytes_given: 0,
        }
    }

    /// Keeps in `files` the path `make` builds, of `len` bytes as listed (joined, not yet
    /// normalised, which only shortens it): unless it is too long (skipped, counted) or the
    /// room for paths is spent. `make` may find there is no path (`None`: a line climbing
    /// above `/`); that takes no claim, but its bytes were worked on. False once the room
    /// for paths is spent, for the parser to list no more files.
    pub(crate) fn list(
        &mut self,
        files: &mut Vec<Vec<u8>>,
        len: usize,
        make: impl FnOnce() -> Option<Vec<u8>>,
    ) -> bool {
        if self.too_long(len) {
            return true;
        }
        if !self.path(len) {
            return false;
        }
        match make() {
            Some(path) => files.push(path),
            // Nothing kept: the claim is given back.
            None => self.paths.count += 1,
        }
        true
    }

    /// Room for a path (or what takes as much: a directory claimed, a diversion) of `bytes`
    /// bytes, `claims` times; false (and the database is cut) when spent.
    pub(crate) fn take(&mut self, claims: usize, bytes: usize) -> bool {
        if !self.paths.take(claims, bytes) {
            self.cut = true;
            return false;
        }
        self.bytes_given += bytes as u64;
        true
    }

    fn path(&mut self, bytes: usize) -> bool {
        self.take(1, bytes)
    }

    /// Room for one more directory claimed; false when spent.
    pub(crate) fn directory(&mut self) -> bool {
        self.take(1, 0)
    }

    /// Room for the package `name` of `version` that the database at `database` lists:
    /// none needed when another database listed it before. False when the name is too
    /// long, or when the room is spent (then the database is cut and should stop).
    pub(crate) fn package(&mut self, database: &[u8], name: &str, version: Option<&str>) -> bool {
        let text = name.len() + version.map_or(0, str::len);
        if self.too_long(text) {
            return false;
        }
        let key = self.hasher.hash_one((database, name));
        if let Some(by) = self.seen.get_mut(&key)
            && *by != self.database
        {
            // Listed again: its record and claims already exist.
            *by = self.database;
            return true;
        }
        if !self.packages.take(1, text) {
            self.cut = true;
            self.no_packages = true;
            return false;
        }
        self.bytes_given += text as u64;
        self.seen.insert(key, self.database);
        true
    }

    /// Whether a path (or a name) of `len` bytes is longer than any the image can hold
    /// (then counted).
    pub(crate) fn too_long(&mut self, len: usize) -> bool {
        let long = len > self.max_path;
        self.long += u64::from(long);
        long
    }

    /// Whether the database being read was refused a package: it should stop.
    pub(crate) fn refused(&self) -> bool {
        self.no_packages
    }

    /// Whether the database read since the last call wanted more than the room; the next
    /// is another database.
    pub(crate) fn take_cut(&mut self) -> bool {
        self.database = self.database.wrapping_add(1);
        self.no_packages = false;
        std::mem::take(&mut self.cut)
    }

    /// Bytes given out: what the parsers built.
    pub(crate) fn given(&self) -> u64 {
        self.bytes_given
    }

    /// What the databases of the image wanted more than the room gave, said once each.
    pub(crate) fn warnings(&self, databases_cut: u64) -> Vec<crate::error::Warning> {
        let mut warnings = Vec::new();
        if databases_cut > 0 {
            let (paths, packages) = self.given;
            let size = |bytes: usize| bytesize::ByteSize(bytes as u64).display().iec();
            warnings.push(crate::error::Warning::new(
                crate::error::Location::default(),
                format!(
                    "{databases_cut} package databases list more paths than the image holds \
                     entries (more than {} paths and directories or {} of them, or {} \
                     packages or {} of their names, in all); the rest were not read, so some \
                     files may show as unowned",
                    paths.count,
                    size(paths.bytes),
                    packages.count,
                    size(packages.bytes),
                ),
            ));
        }
        if self.long > 0 {
            warnings.push(crate::error::Warning::new(
                crate::error::Location::default(),
                format!(
                    "{} paths or names listed by package databases are longer than {} bytes, \
                     longer than any file of the image can have; they were skipped",
                    self.long, self.max_path
                ),
            ));
        }
        warnings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_count_and_the_bytes_each_stop_a_listing() {
        // One entry: 65,538 paths; 16 MiB and 200 bytes of them.
        let mut room = Room::new(1, 100, 10);
        let mut files = Vec::new();
        let mut kept = 0;
        while room.list(&mut files, 1, || Some(b"a".to_vec())) {
            kept += 1;
        }
        assert_eq!(kept, 2 + (1 << 16));
        assert_eq!(files.len(), kept);
        assert!(room.take_cut());
        assert!(!room.take_cut(), "said once");

        let mut room = Room::new(1, 100, 10);
        let mut files = Vec::new();
        while room.list(&mut files, 4096, || Some(Vec::new())) {}
        assert_eq!(files.len(), ((16 << 20) + 200) / 4096);
        assert!(room.take_cut());
    }

    #[test]
    fn a_path_longer_than_path_max_is_skipped_unbuilt() {
        let mut room = Room::new(1, 100, 10);
        let mut files = Vec::new();
        assert!(room.list(&mut files, 4097, || unreachable!("not built")));
        assert!(room.list(&mut files, 4096, || Some(b"x".to_vec())));
        assert_eq!(files.len(), 1);
        assert!(!room.take_cut());
        assert_eq!(room.long, 1);
        // An image holding a longer path (a raised --max-path) keeps paths as long.
        let mut room = Room::new(1, 100, 5000);
        assert!(room.list(&mut files, 5000, || Some(b"y".to_vec())));
        assert_eq!(files.len(), 2);
    }

    #[test]
    fn a_line_that_names_no_path_takes_no_claim() {
        let mut room = Room::new(0, 0, 0);
        let mut files = Vec::new();
        for _ in 0..(1 << 17) {
            assert!(room.list(&mut files, 0, || None));
        }
        assert!(files.is_empty());
        assert!(!room.take_cut());
    }

    #[test]
    fn a_package_listed_again_by_another_database_takes_nothing() {
        // 4,096 + 1 packages for an image of 4 entries.
        let mut room = Room::new(4, 0, 0);
        let names: Vec<String> = (0..4097).map(|i| format!("p{i}")).collect();
        for _layer in 0..10 {
            assert!(names.iter().all(|n| room.package(b"status", n, Some("1"))));
            assert!(!room.take_cut());
        }
        // Another database, or the same name twice in one, takes more.
        assert!(!room.package(b"status.d/x", "p0", None));
        assert!(room.refused());
        assert!(room.take_cut());
        assert!(!room.refused());
        assert!(room.package(b"status", "p0", None));
        assert!(!room.package(b"status", "p0", None));
    }

    #[test]
    fn names_have_a_byte_budget_of_their_own() {
        // 4 MiB of names: 1,024 of 4 KiB.
        let mut room = Room::new(0, 0, 0);
        let name = "n".repeat(4095);
        let kept = (0..2000)
            .take_while(|i| room.package(format!("{i}").as_bytes(), &name, Some("1")))
            .count();
        assert_eq!(kept, 1024);
        // A path still has room.
        assert!(room.list(&mut Vec::new(), 10, || Some(b"x".to_vec())));
        assert!(!room.package(b"db", &"n".repeat(4097), None));
    }
}

//! Red Hat family and SUSE: rpm's package database in the three forms rpm has written,
//! `rpmdb.sqlite` (rpm ≥ 4.16, with its write-ahead log), Berkeley DB `Packages` (up to
//! RHEL 8) and ndb `Packages.db` (SUSE), each a store of the same header blobs.
//!
//! Budget: a database is at most `--max-metadata` bytes (the walk keeps no larger one);
//! reading it holds one header at a time, and each form's reader touches every byte of
//! the file at most once. What the headers list is charged to the [`Room`].

mod bdb;
mod header;
mod history;
mod ndb;
mod sqlite;

pub(crate) use history::{DbRead, reads};

use super::package::{DbPackage, Ecosystem};
use super::room::Room;
use crate::path::split_last;
use header::{Header, tag};

/// Where rpm keeps its database: its default `%_dbpath`, Fedora's since 36 (and
/// openSUSE's), rpm-ostree's.
const DIRS: [&[u8]; 3] = [b"var/lib/rpm/", b"usr/lib/sysimage/rpm/", b"usr/share/rpm/"];
/// The three forms' files, in the order rpm looks for them; the write-ahead log of the
/// sqlite one.
const SQLITE: &[u8] = b"rpmdb.sqlite";
const NDB: &[u8] = b"Packages.db";
const BDB: &[u8] = b"Packages";
const FORMS: [&[u8]; 3] = [SQLITE, NDB, BDB];
const SQLITE_WAL: &[u8] = b"rpmdb.sqlite-wal";

/// The longest architecture or license kept (Fedora's longest licenses are a few hundred
/// bytes).
const MAX_DETAIL: usize = 1024;

/// Where and why a database could not be read further.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Damage {
    /// Byte offset in the file.
    pub offset: u64,
    /// What is wrong there.
    pub message: String,
}

/// A damage at `offset` of the file.
pub(crate) fn damage(offset: u64, message: impl std::fmt::Display) -> Damage {
    Damage {
        offset,
        message: message.to_string(),
    }
}

/// `usize` to `u64`, for file offsets; lossless on every target Rust supports.
pub(crate) fn wide(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// The first damage a reader met, and how many more followed it: a reader that skips a bad
/// record reads on, and says so once.
#[derive(Debug, Default)]
pub(crate) struct Problems {
    first: Option<Damage>,
    more: u64,
}

impl Problems {
    /// Keeps the first; counts the rest.
    pub(crate) fn note(&mut self, damage: Damage) {
        if self.first.is_none() {
            self.first = Some(damage);
        } else {
            self.more += 1;
        }
    }

    /// The first damage, with how many followed, if any.
    pub(crate) fn finish(self) -> Result<(), Damage> {
        match self.first {
            None => Ok(()),
            Some(mut first) => {
                if self.more > 0 {
                    first.message = format!("{}; {} more problems after it", first.message, self.more);
                }
                Err(first)
            }
        }
    }
}

/// Every blob a reader delivers, copied, and its result (for the readers' tests).
#[cfg(test)]
pub(crate) fn every_blob(
    read: impl FnOnce(&mut dyn FnMut(&[u8]) -> bool) -> Result<(), Damage>,
) -> (Vec<Vec<u8>>, Result<(), Damage>) {
    let mut got = Vec::new();
    let result = read(&mut |blob| {
        got.push(blob.to_vec());
        true
    });
    (got, result)
}

/// Whether the walk should keep this file: a database of rpm or its write-ahead log.
pub(super) fn is_database(path: &[u8]) -> bool {
    let (dir, name) = split_last(path);
    [SQLITE, SQLITE_WAL, NDB, BDB].contains(&name)
        && DIRS.iter().any(|d| &d[..d.len() - 1] == dir)
}

/// The packages a database lists with the files each put on disk, as far as `room`
/// allows; a damaged header is skipped (as rpm skips it) and a damaged database ends where
/// the damage is, with what was read before it kept. `wal` is the content of a sqlite
/// database's write-ahead log.
pub(super) fn parse(
    path: &[u8],
    content: &[u8],
    wal: Option<&[u8]>,
    room: &mut Room,
) -> (Vec<DbPackage>, Vec<String>) {
    let mut packages = Vec::new();
    let mut problems = Vec::new();
    let mut skipped = 0u64;
    let mut each = |blob: &[u8]| match Header::parse(blob) {
        Ok(header) => {
            packages.extend(package(&header, path, room));
            !room.refused()
        }
        Err(problem) => {
            if skipped == 0 {
                problems.push(format!("a package header is damaged ({problem}); skipped"));
            }
            skipped += 1;
            true
        }
    };
    let read = if sqlite::is_sqlite(content) {
        sqlite::blobs(content, wal, &mut each)
    } else if ndb::is_ndb(content) {
        ndb::blobs(content, &mut each)
    } else if bdb::is_bdb_hash(content) {
        bdb::blobs(content, &mut each)
    } else if content.is_empty() {
        Ok(())
    } else {
        Err(Damage {
            offset: 0,
            message: "not a database rpm writes (sqlite, ndb or Berkeley DB hash)".to_owned(),
        })
    };
    if skipped > 1 {
        problems.push(format!("{skipped} package headers were damaged and skipped"));
    }
    if let Err(damage) = read {
        problems.push(format!(
            "damaged at byte {}: {}; the packages it could read are kept",
            damage.offset, damage.message
        ));
    }
    (packages, problems)
}

/// What one header says of its package, with its files as far as `room` allows; `None`
/// for the public keys rpm stores as packages and for a package the room refuses.
fn package(header: &Header<'_>, database: &[u8], room: &mut Room) -> Option<DbPackage> {
    let name = header.string(tag::NAME)?;
    if name == "gpg-pubkey" || name.is_empty() {
        return None;
    }
    let version = evr(header);
    if !room.package(database, name, version.as_deref()) {
        return None;
    }
    let mut package = DbPackage::named(Ecosystem::Rpm, name.to_owned());
    package.version = version;
    package.declared_bytes = header
        .int(tag::LONGSIZE)
        .or_else(|| header.int(tag::SIZE));
    package.arch = short(header.string(tag::ARCH));
    package.license = short(header.string(tag::LICENSE));
    for (dir, base) in header.files() {
        let listed = room.list(&mut package.files, dir.len() + base.len(), || {
            crate::path::normalize(&[dir, base].concat())
        });
        if !listed {
            break;
        }
    }
    Some(package)
}

/// A text kept per package only when short: a header's strings may be as long as its data.
fn short(text: Option<&str>) -> Option<String> {
    text.filter(|t| !t.is_empty() && t.len() <= MAX_DETAIL)
        .map(str::to_owned)
}

/// `[epoch:]version-release`, as rpm prints it.
fn evr(header: &Header<'_>) -> Option<String> {
    let version = header.string(tag::VERSION)?;
    let release = header.string(tag::RELEASE);
    let epoch = header.int(tag::EPOCH);
    let mut evr = String::new();
    if let Some(epoch) = epoch {
        evr.push_str(&format!("{epoch}:"));
    }
    evr.push_str(version);
    if let Some(release) = release {
        evr.push('-');
        evr.push_str(release);
    }
    Some(evr)
}

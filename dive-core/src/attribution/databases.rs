//! The package databases attribution reads: which files they are, and the packages each
//! lists with where they are installed.

use super::package::{DbPackage, Ecosystem};
use super::room::Room;
use super::{apk, conda, dpkg, npm, python, rpm};

/// The files that say which operating system an image is (kept with the databases, for an
/// SBOM's package URLs).
pub(crate) const OS_RELEASE: [&[u8]; 2] = [b"etc/os-release", b"usr/lib/os-release"];

/// Whether the walk should keep this file's content for attribution.
pub(crate) fn is_database(path: &[u8]) -> bool {
    OS_RELEASE.contains(&path)
        || python::is_database(path)
        || dpkg::is_database(path)
        || apk::is_database(path)
        || conda::is_database(path)
        || npm::is_database(path)
        || rpm::is_database(path)
}

/// Whether a database file lists every package of its manager (dpkg's `status`, apk's
/// `installed`, rpm's database): a layer that installs anything rewrites it, so it says
/// nothing of which packages that layer installed.
pub(super) fn lists_every_package(path: &[u8]) -> bool {
    path == dpkg::STATUS || apk::is_database(path) || rpm::is_database(path)
}

/// The rpm databases to read, layer by layer, and how many were left unread
/// ([`rpm::reads`]); the walk keeps their files like any database's, and attribution
/// reads them from here, not file by file.
pub(crate) fn rpm_reads(layers: &[&crate::layer::LayerIndex]) -> (Vec<rpm::DbRead>, u64) {
    rpm::reads(layers)
}

/// Whether a database file is read through [`rpm_reads`].
pub(crate) fn is_rpm(path: &[u8]) -> bool {
    rpm::is_database(path)
}

/// What a database file says: the packages it lists, each with its location, as far as
/// `room` allows, and what was wrong with it.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    /// Its packages.
    pub packages: Vec<DbPackage>,
    /// Damage met, one sentence each, for a warning.
    pub problems: Vec<String>,
}

/// The packages a database file lists, each with its location, as far as `room` allows;
/// `companion` is the content of the file read beside it (rpm's sqlite write-ahead log).
pub(crate) fn parse_database(
    path: &[u8],
    content: &[u8],
    companion: Option<&[u8]>,
    room: &mut Room,
) -> Parsed {
    let mut parsed = if rpm::is_database(path) {
        let (packages, problems) = rpm::parse(path, content, companion, room);
        Parsed { packages, problems }
    } else {
        Parsed {
            packages: parse_by_kind(path, content, room),
            problems: Vec::new(),
        }
    };
    for package in &mut parsed.packages {
        package.location = location_of(package, path);
    }
    parsed
}

/// Where a package is installed: a Python dist's site directory, a conda environment's
/// prefix, the `node_modules` directory holding an npm package, the database file of a
/// dpkg or apk package, the database directory of an rpm one.
fn location_of(package: &DbPackage, database: &[u8]) -> Vec<u8> {
    use crate::path::split_last;
    match package.ecosystem {
        Ecosystem::Pip => package.site.clone().unwrap_or_default(),
        // `<prefix>/conda-meta/<name>.json`.
        Ecosystem::Conda => split_last(split_last(database).0).0.to_vec(),
        // One database however it is split (status, info/*.list); distroless keeps its own.
        Ecosystem::Dpkg if database.starts_with(dpkg::STATUS_D) => {
            dpkg::STATUS_D[..dpkg::STATUS_D.len() - 1].to_vec()
        }
        Ecosystem::Dpkg => dpkg::STATUS.to_vec(),
        // An apk package's database; a binary or archive itself.
        Ecosystem::Apk | Ecosystem::Go | Ecosystem::Cargo | Ecosystem::Maven => {
            database.to_vec()
        }
        // Its directory: one database whichever form rpm wrote it in.
        Ecosystem::Rpm => split_last(database).0.to_vec(),
        Ecosystem::Npm => {
            let dir = package.dirs.first().map_or(&[][..], |d| d.as_slice());
            let (parent, parent_name) = split_last(split_last(dir).0);
            if parent_name.starts_with(b"@") {
                parent.to_vec()
            } else {
                split_last(dir).0.to_vec()
            }
        }
    }
}

fn parse_by_kind(path: &[u8], content: &[u8], room: &mut Room) -> Vec<DbPackage> {
    if python::is_database(path) {
        python::parse(path, content, room).into_iter().collect()
    } else if dpkg::is_database(path) {
        dpkg::parse(path, content, room)
    } else if apk::is_database(path) {
        apk::parse(content, room)
    } else if conda::is_database(path) {
        conda::parse(path, content, room).into_iter().collect()
    } else if npm::is_database(path) {
        npm::parse(path, content, room).into_iter().collect()
    } else {
        Vec::new()
    }
}

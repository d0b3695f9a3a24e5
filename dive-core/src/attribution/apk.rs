//! Alpine: `lib/apk/db/installed` (`P:` name, `V:` version, `I:` size, `F:` dir, `R:` file).

use super::package::{DbPackage, Ecosystem};
use super::room::Room;
use crate::path::{join, normalize};

const INSTALLED: &[u8] = b"lib/apk/db/installed";

pub(super) fn is_database(path: &[u8]) -> bool {
    path == INSTALLED
}

fn empty() -> DbPackage {
    DbPackage::named(Ecosystem::Apk, String::new())
}

/// The packages of the database, read line by line (a blank line ends a package's record),
/// as far as `room` allows: a file is `F:` joined with `R:`, measured before it is built,
/// as an `F:` line may be as long as the database and be followed by any number of `R:`.
/// Once the room for paths is spent, packages are still named, without their files.
pub(super) fn parse(content: &[u8], room: &mut Room) -> Vec<DbPackage> {
    let mut packages = Vec::new();
    let mut package = empty();
    let mut dir: &[u8] = &[];
    // One more, empty line ends the last record.
    for line in content.split(|&b| b == b'\n').chain([&b""[..]]) {
        if line.is_empty() {
            finish(
                std::mem::replace(&mut package, empty()),
                &mut packages,
                room,
            );
            dir = &[];
            if room.refused() {
                break;
            }
            continue;
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = memchr::memchr(b':', line) else {
            continue;
        };
        let value = &line[colon + 1..];
        match &line[..colon] {
            // A name or version is copied only when as short as a path.
            b"P" if !room.too_long(value.len()) => {
                package.name = String::from_utf8_lossy(value).into_owned();
            }
            b"V" if !room.too_long(value.len()) => {
                package.version = Some(String::from_utf8_lossy(value).into_owned());
            }
            b"A" if value.len() <= 64 => {
                package.arch = Some(String::from_utf8_lossy(value).into_owned());
            }
            b"L" if value.len() <= 1024 => {
                package.license = Some(String::from_utf8_lossy(value).into_owned());
            }
            b"I" => {
                package.declared_bytes =
                    std::str::from_utf8(value).ok().and_then(|v| v.parse().ok());
            }
            b"F" => dir = value,
            b"R" => {
                let len = if dir.is_empty() {
                    value.len()
                } else {
                    dir.len() + 1 + value.len()
                };
                room.list(&mut package.files, len, || normalize(&join(dir, value)));
            }
            _ => {}
        }
    }
    packages
}

/// Keeps a record that names its package, if the room has one more.
fn finish(package: DbPackage, packages: &mut Vec<DbPackage>, room: &mut Room) {
    if !package.name.is_empty()
        && room.package(INSTALLED, &package.name, package.version.as_deref())
    {
        packages.push(package);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_join_their_directory_within_a_record() {
        let db = b"P:musl\nV:1.2.5-r0\nI:1000\nF:lib\nR:ld-musl.so.1\nR:libc.so\n\nP:busybox\r\nF:bin\r\nR:busybox\r\n";
        let packages = parse(db, &mut Room::new(0, 0, 0));
        let files: Vec<(&str, Vec<&[u8]>)> = packages
            .iter()
            .map(|p| (p.name.as_str(), p.files.iter().map(Vec::as_slice).collect()))
            .collect();
        assert_eq!(
            files,
            [
                ("musl", vec![&b"lib/ld-musl.so.1"[..], b"lib/libc.so"]),
                ("busybox", vec![&b"bin/busybox"[..]])
            ]
        );
        assert_eq!(packages[0].declared_bytes, Some(1000));
        assert_eq!(packages[0].version.as_deref(), Some("1.2.5-r0"));
    }

    #[test]
    fn files_under_a_directory_longer_than_a_path_are_not_built() {
        // One `F:` of 64 KiB, 40,000 `R:` under it: each file would be a copy of it.
        let mut db = b"P:x\nV:1\nF:".to_vec();
        db.extend(std::iter::repeat_n(b'd', 1 << 16));
        db.push(b'\n');
        db.extend(b"R:a\n".repeat(40_000));
        db.extend(b"F:ok\nR:kept\n");
        let mut room = Room::new(0, 0, 0);
        let packages = parse(&db, &mut room);
        assert_eq!(packages.len(), 1);
        assert_eq!(packages[0].files, [b"ok/kept".to_vec()]);
        assert!(!room.take_cut());
    }

    #[test]
    fn packages_past_the_room_for_paths_are_named_without_files() {
        // 65,536 paths: the first package's.
        let mut db = b"P:many\nF:d\n".to_vec();
        for i in 0..100_000 {
            db.extend(format!("R:f{i}\n").as_bytes());
        }
        db.extend(b"\nP:next\nF:d\nR:g\n");
        let mut room = Room::new(0, 0, 0);
        let packages = parse(&db, &mut room);
        let seen: Vec<_> = packages
            .iter()
            .map(|p| (p.name.as_str(), p.files.len()))
            .collect();
        assert_eq!(seen, [("many", 1 << 16), ("next", 0)]);
        assert!(room.take_cut());
    }

    #[test]
    fn records_past_the_room_for_packages_are_not_read() {
        // 4,096 packages for an image of no entries.
        let db = (0..10_000)
            .map(|i| format!("P:p{i}\n\n"))
            .collect::<String>();
        let mut room = Room::new(0, 0, 0);
        assert_eq!(parse(db.as_bytes(), &mut room).len(), 4096);
        assert!(room.take_cut());
    }
}

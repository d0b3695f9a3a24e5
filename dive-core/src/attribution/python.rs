//! pip and setuptools: `*.dist-info/RECORD` and `*.egg-info/installed-files.txt`.
//!
//! RECORD paths are relative to the site directory (the dist-info's parent) and may climb
//! out of it (`../../../bin/tool`); installed-files.txt paths are relative to the egg-info.

use super::package::{DbPackage, Ecosystem};
use super::room::Room;
use crate::path::{join, normalize, split_last};

const RECORD: &[u8] = b".dist-info/RECORD";
const INSTALLED_FILES: &[u8] = b".egg-info/installed-files.txt";

pub(super) fn is_database(path: &[u8]) -> bool {
    path.ends_with(RECORD) || path.ends_with(INSTALLED_FILES)
}

pub(super) fn parse(path: &[u8], content: &[u8], room: &mut Room) -> Option<DbPackage> {
    let (info_dir, _) = split_last(path);
    let (site, info_name) = split_last(info_dir);
    let info_name = String::from_utf8_lossy(info_name);
    let (stem, base) = if let Some(stem) = info_name.strip_suffix(".dist-info") {
        (stem, site)
    } else {
        (info_name.strip_suffix(".egg-info")?, info_dir)
    };
    // `name-version[-pyX.Y]`: wheels spell names with `_`, so the first `-` ends the name.
    let (name, rest) = stem.split_once('-').unwrap_or((stem, ""));
    let version = rest
        .split("-py")
        .next()
        .filter(|v| !v.is_empty())
        .map(str::to_owned);
    if !room.package(path, name, version.as_deref()) {
        return None;
    }
    let mut files = Vec::new();
    for line in content.split(|&b| b == b'\n') {
        let Some(relative) = first_csv_field(line) else {
            continue;
        };
        // Measured before anything is built: a field may be megabytes long.
        let absolute = relative.starts_with(b"/");
        let len = if absolute || base.is_empty() {
            relative.len()
        } else {
            base.len() + 1 + relative.len()
        };
        let kept = room.list(&mut files, len, || {
            let relative = relative.unquoted();
            if absolute {
                normalize(&relative)
            } else {
                normalize(&join(base, &relative))
            }
        });
        if !kept {
            break;
        }
    }
    Some(DbPackage {
        ecosystem: Ecosystem::Pip,
        name: name.to_owned(),
        version,
        declared_bytes: None,
        files,
        dirs: vec![info_dir.to_vec()],
        site: Some(site.to_vec()),
        location: Vec::new(),
        arch: None,
        license: None,
        dependencies: Vec::new(),
        toolchain: None,
    })
}

/// The first field of a RECORD line, as it lies in the line.
#[derive(Debug, Clone, Copy)]
struct Field<'a> {
    /// Its bytes between the quotes, inner quotes still doubled, or the whole unquoted.
    raw: &'a [u8],
    quoted: bool,
}

impl Field<'_> {
    /// Its length once unquoted.
    fn len(self) -> usize {
        if self.quoted {
            self.raw.len() - memchr::memmem::find_iter(self.raw, b"\"\"").count()
        } else {
            self.raw.len()
        }
    }

    fn starts_with(self, prefix: &[u8]) -> bool {
        self.raw.starts_with(prefix)
    }

    /// Its bytes, inner quotes undoubled.
    fn unquoted(self) -> Vec<u8> {
        if !self.quoted {
            return self.raw.to_vec();
        }
        let mut out = Vec::with_capacity(self.raw.len());
        let mut i = 0;
        while i < self.raw.len() {
            out.push(self.raw[i]);
            // Inside the quotes, a quote only comes doubled.
            i += if self.raw[i] == b'"' { 2 } else { 1 };
        }
        out
    }
}

/// The first field of a CSV line (RECORD quotes paths holding commas, doubling inner
/// quotes), found without copying it.
fn first_csv_field(line: &[u8]) -> Option<Field<'_>> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.is_empty() {
        return None;
    }
    if let Some(rest) = line.strip_prefix(b"\"") {
        let mut i = 0;
        while i < rest.len() {
            match (rest[i], rest.get(i + 1)) {
                (b'"', Some(b'"')) => i += 2,
                (b'"', _) => break,
                _ => i += 1,
            }
        }
        return Some(Field {
            raw: &rest[..i],
            quoted: true,
        });
    }
    let end = memchr::memchr(b',', line).unwrap_or(line.len());
    (end > 0).then(|| Field {
        raw: &line[..end],
        quoted: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_paths_resolve_against_the_site_dir_and_may_climb() {
        let record = b"torch/__init__.py,sha256=abc,10\n\"odd,name.py\",sha256=x,1\n../../../bin/torchrun,sha256=y,5\ntorch-2.3.0.dist-info/RECORD,,\n";
        let package = parse(
            b"usr/lib/python3.11/site-packages/torch-2.3.0.dist-info/RECORD",
            record,
            &mut Room::new(0, 0, 0),
        )
        .unwrap();
        assert_eq!(package.name, "torch");
        assert_eq!(package.version.as_deref(), Some("2.3.0"));
        let files: Vec<String> = package
            .files
            .iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect();
        assert_eq!(
            files,
            [
                "usr/lib/python3.11/site-packages/torch/__init__.py",
                "usr/lib/python3.11/site-packages/odd,name.py",
                "usr/bin/torchrun",
                "usr/lib/python3.11/site-packages/torch-2.3.0.dist-info/RECORD"
            ]
        );
    }

    #[test]
    fn quoted_fields_are_measured_unquoted_and_long_lines_skipped_unbuilt() {
        const INFO: &[u8] = b"s/x-1.dist-info/RECORD";
        // One line of 32,000 components (64 KB) between two real ones.
        let mut record = b"\"a\"\"b,c.py\",sha256=x,1\n".to_vec();
        record.extend("a/".repeat(32_000).as_bytes());
        record.extend(b"x.py,sha256=y,1\nok.py,,\n");
        let mut room = Room::new(0, 0, 0);
        let package = parse(INFO, &record, &mut room).unwrap();
        assert_eq!(
            package.files,
            [b"s/a\"b,c.py".to_vec(), b"s/ok.py".to_vec()]
        );
        assert!(!room.take_cut());
        // A field of 4,094 bytes under `s/` is a path of 4,096: kept, one more is not.
        for (len, kept) in [(4094, 1), (4095, 0)] {
            let quoted = format!("\"{}\"\"\",,\n", "q".repeat(len - 1));
            let package = parse(INFO, quoted.as_bytes(), &mut room).unwrap();
            assert_eq!(package.files.len(), kept, "{len}");
        }
    }

    #[test]
    fn a_record_stops_where_the_room_does() {
        let record = "m.py,,\n".repeat(100_000);
        let mut room = Room::new(0, 0, 0);
        let package = parse(b"s/x-1.dist-info/RECORD", record.as_bytes(), &mut room).unwrap();
        assert_eq!(package.files.len(), 1 << 16);
        assert!(room.take_cut());
    }

    #[test]
    fn egg_info_paths_are_relative_to_the_egg_info() {
        let listing = b"../six.py\n../__pycache__/six.cpython-311.pyc\nPKG-INFO\n";
        let package = parse(
            b"usr/lib/python3/dist-packages/six-1.16.0-py3.11.egg-info/installed-files.txt",
            listing,
            &mut Room::new(0, 0, 0),
        )
        .unwrap();
        assert_eq!(
            (package.name.as_str(), package.version.as_deref()),
            ("six", Some("1.16.0"))
        );
        assert_eq!(package.files[0], b"usr/lib/python3/dist-packages/six.py");
        assert_eq!(
            package.files[2],
            b"usr/lib/python3/dist-packages/six-1.16.0-py3.11.egg-info/PKG-INFO"
        );
    }
}

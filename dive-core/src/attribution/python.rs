//! pip and setuptools: `*.dist-info/RECORD` and `*.egg-info/installed-files.txt`.
//!
//! RECORD paths are relative to the site directory (the dist-info's parent) and may climb
//! out of it (`../../../bin/tool`); installed-files.txt paths are relative to the egg-info.

use super::{DbPackage, Ecosystem};
use crate::path::{join, normalize, split_last};

const RECORD: &[u8] = b".dist-info/RECORD";
const INSTALLED_FILES: &[u8] = b".egg-info/installed-files.txt";

pub(super) fn is_database(path: &[u8]) -> bool {
    path.ends_with(RECORD) || path.ends_with(INSTALLED_FILES)
}

pub(super) fn parse(path: &[u8], content: &[u8]) -> Option<DbPackage> {
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
    let mut files = Vec::new();
    for line in content.split(|&b| b == b'\n') {
        let Some(relative) = first_csv_field(line) else {
            continue;
        };
        let joined = if relative.starts_with(b"/") {
            relative.clone()
        } else {
            join(base, &relative)
        };
        if let Some(normal) = normalize(&joined) {
            files.push(normal);
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
    })
}

/// The first field of a CSV line (RECORD quotes paths holding commas, doubling inner quotes).
fn first_csv_field(line: &[u8]) -> Option<Vec<u8>> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.is_empty() {
        return None;
    }
    if let Some(rest) = line.strip_prefix(b"\"") {
        let mut out = Vec::new();
        let mut i = 0;
        while i < rest.len() {
            match (rest[i], rest.get(i + 1)) {
                (b'"', Some(b'"')) => {
                    out.push(b'"');
                    i += 2;
                }
                (b'"', _) => return Some(out),
                (b, _) => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        return Some(out);
    }
    let end = line.iter().position(|&b| b == b',').unwrap_or(line.len());
    (end > 0).then(|| line[..end].to_vec())
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
    fn egg_info_paths_are_relative_to_the_egg_info() {
        let listing = b"../six.py\n../__pycache__/six.cpython-311.pyc\nPKG-INFO\n";
        let package = parse(
            b"usr/lib/python3/dist-packages/six-1.16.0-py3.11.egg-info/installed-files.txt",
            listing,
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

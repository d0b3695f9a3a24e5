//! npm: `node_modules/<name>/package.json` (or `@scope/name`) owns its directory.

use serde::Deserialize;

use super::package::{DbPackage, Ecosystem};
use super::room::Room;
use crate::path::split_last;

pub(super) fn is_database(path: &[u8]) -> bool {
    package_dir(path).is_some()
}

/// The package directory of a `package.json` that sits at a package's root.
fn package_dir(path: &[u8]) -> Option<&[u8]> {
    let (dir, file) = split_last(path);
    if file != b"package.json" {
        return None;
    }
    let (parent, name) = split_last(dir);
    let (grand, parent_name) = split_last(parent);
    let direct = parent_name == b"node_modules";
    let scoped = parent_name.starts_with(b"@") && split_last(grand).1 == b"node_modules";
    ((direct || scoped) && !name.is_empty()).then_some(dir)
}

/// The fields used (a manifest is one file within --max-metadata: its name and version
/// are read whole, then kept only when as short as a path).
#[derive(Deserialize)]
struct Manifest {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: Option<String>,
}

pub(super) fn parse(path: &[u8], content: &[u8], room: &mut Room) -> Option<DbPackage> {
    let dir = package_dir(path)?;
    let manifest: Manifest = serde_json::from_slice(content).unwrap_or(Manifest {
        name: None,
        version: None,
    });
    let name = manifest
        .name
        .unwrap_or_else(|| String::from_utf8_lossy(split_last(dir).1).into_owned());
    if !room.package(path, &name, manifest.version.as_deref()) {
        return None;
    }
    Some(DbPackage {
        ecosystem: Ecosystem::Npm,
        name,
        version: manifest.version,
        declared_bytes: None,
        files: Vec::new(),
        dirs: vec![dir.to_vec()],
        site: None,
        location: Vec::new(),
        arch: None,
        license: None,
        dependencies: Vec::new(),
        toolchain: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_package_roots_count() {
        assert!(is_database(b"app/node_modules/left-pad/package.json"));
        assert!(is_database(b"app/node_modules/@babel/core/package.json"));
        assert!(is_database(
            b"app/node_modules/a/node_modules/b/package.json"
        ));
        assert!(!is_database(b"app/node_modules/left-pad/lib/package.json"));
        assert!(!is_database(b"app/package.json"));
    }
}

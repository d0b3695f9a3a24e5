//! conda: `<prefix>/conda-meta/<name>-<version>-<build>.json` lists files relative to prefix.

use serde::Deserialize;

use super::{DbPackage, Ecosystem};
use crate::path::{join, normalize, split_last};

pub(super) fn is_database(path: &[u8]) -> bool {
    let (dir, name) = split_last(path);
    split_last(dir).1 == b"conda-meta" && name.ends_with(b".json")
}

#[derive(Deserialize)]
struct Meta {
    name: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    files: Vec<String>,
}

pub(super) fn parse(path: &[u8], content: &[u8]) -> Option<DbPackage> {
    let meta: Meta = serde_json::from_slice(content).ok()?;
    let prefix = split_last(split_last(path).0).0;
    let mut files: Vec<Vec<u8>> = meta
        .files
        .iter()
        .filter_map(|f| normalize(&join(prefix, f.as_bytes())))
        .collect();
    files.push(path.to_vec());
    Some(DbPackage {
        ecosystem: Ecosystem::Conda,
        name: meta.name,
        version: meta.version,
        declared_bytes: None,
        files,
        dirs: Vec::new(),
        site: None,
        location: Vec::new(),
    })
}

//! An image packed in a tar file (`docker save`, oci-archive): mapped, indexed by seeking.

use std::collections::HashMap;
use std::io::Cursor;

use tar::EntryType;

use super::blob::Blob;
use super::store::{LayerInput, META_CAP, Store, inner_path};
use crate::error::{Error, Location, Result, Warning};
use crate::path::{join, normalize, split_last};

/// Symlink hops followed inside an archive before giving up.
const MAX_LINK_HOPS: usize = 16;

#[derive(Debug)]
enum Member {
    File { offset: u64, size: u64 },
    Link(String),
}

/// The members of an outer tar, found by jumping from header to header.
#[derive(Debug)]
pub(crate) struct ArchiveStore {
    input: String,
    blob: Blob,
    members: HashMap<String, Member>,
    warnings: Vec<Warning>,
}

impl ArchiveStore {
    pub(crate) fn open(input: &str, blob: Blob) -> Result<Self> {
        let mut store = ArchiveStore {
            input: input.to_owned(),
            blob,
            members: HashMap::new(),
            warnings: Vec::new(),
        };
        let bytes = store.blob.bytes();
        let mut archive = tar::Archive::new(Cursor::new(bytes));
        let entries = archive.entries_with_seek().map_err(|e| {
            Error::format(
                Location::input(input).offset(0),
                format!("not a tar archive: {e}"),
            )
        })?;
        let mut members = HashMap::new();
        let mut warnings = Vec::new();
        let mut last_end = 0u64;
        for item in entries {
            let entry = match item {
                Ok(entry) => entry,
                Err(err) => {
                    warnings.push(Warning::new(
                        Location::input(input).offset(last_end),
                        format!("archive is damaged or truncated after this point: {err}"),
                    ));
                    break;
                }
            };
            let raw = entry.path_bytes().into_owned();
            let (offset, size) = (entry.raw_file_position(), entry.size());
            last_end = offset.saturating_add(size);
            let Some(path) = normalize(&raw) else {
                warnings.push(Warning::new(
                    Location::input(input)
                        .offset(entry.raw_header_position())
                        .entry(&raw),
                    "member path climbs above the archive root; ignored",
                ));
                continue;
            };
            let member = match entry.header().entry_type() {
                EntryType::Regular | EntryType::Continuous => {
                    if last_end > bytes.len() as u64 {
                        warnings.push(Warning::new(
                            Location::input(input).offset(offset).entry(&raw),
                            format!("member claims {size} bytes but the archive ends first"),
                        ));
                        continue;
                    }
                    Member::File { offset, size }
                }
                EntryType::Symlink => {
                    let target = entry.link_name_bytes().unwrap_or_default();
                    let joined = if target.starts_with(b"/") {
                        target.to_vec()
                    } else {
                        join(split_last(&path).0, &target)
                    };
                    let Some(target) = normalize(&joined) else {
                        continue;
                    };
                    Member::Link(String::from_utf8_lossy(&target).into_owned())
                }
                EntryType::Link => {
                    let Some(target) = entry.link_name_bytes().and_then(|t| normalize(&t)) else {
                        continue;
                    };
                    Member::Link(String::from_utf8_lossy(&target).into_owned())
                }
                _ => continue,
            };
            members.insert(String::from_utf8_lossy(&path).into_owned(), member);
        }
        store.members = members;
        store.warnings = warnings;
        Ok(store)
    }

    fn find(&self, path: &str) -> Result<Option<Blob>> {
        let Some(mut path) = inner_path(path) else {
            return Ok(None);
        };
        for _ in 0..MAX_LINK_HOPS {
            match self.members.get(&path) {
                None => return Ok(None),
                Some(Member::Link(target)) => path.clone_from(target),
                Some(&Member::File { offset, size }) => return Ok(self.blob.slice(offset, size)),
            }
        }
        Err(Error::format(
            Location::input(&self.input).entry(path.as_bytes()),
            "symlinks inside the archive loop",
        ))
    }
}

impl Store for ArchiveStore {
    fn read_meta(&self, path: &str) -> Result<Option<Vec<u8>>> {
        let Some(blob) = self.find(path)? else {
            return Ok(None);
        };
        let bytes = blob.bytes();
        if bytes.len() as u64 > META_CAP {
            return Err(Error::format(
                Location::input(&self.input).entry(path.as_bytes()),
                format!(
                    "metadata file of {} bytes exceeds the {META_CAP}-byte cap",
                    bytes.len()
                ),
            ));
        }
        Ok(Some(bytes.to_vec()))
    }

    fn layer(&self, path: &str) -> Result<Option<LayerInput>> {
        Ok(self.find(path)?.map(LayerInput::Bytes))
    }

    fn warnings(&self) -> &[Warning] {
        &self.warnings
    }
}

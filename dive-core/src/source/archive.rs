//! An image packed in a tar file (`docker save`, oci-archive): mapped, indexed by seeking.

use std::collections::HashMap;
use std::io::Cursor;

use tar::EntryType;

use super::blob::Blob;
use super::store::{LayerInput, OUTER_NAME_CAP, Store, check_metadata_cap, inner_path};
use crate::error::{Error, Location, Result, Warning};
use crate::layer::tar_input::Seeking;
use crate::layer::tar_reader::TarReader;
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
    /// Largest metadata file read.
    meta_cap: u64,
}

impl ArchiveStore {
    pub(crate) fn open(input: &str, blob: Blob, meta_cap: u64) -> Result<Self> {
        let mut store = ArchiveStore {
            input: input.to_owned(),
            blob,
            members: HashMap::new(),
            warnings: Vec::new(),
            meta_cap,
        };
        let bytes = store.blob.bytes();
        let len = bytes.len() as u64;
        let input_error = |e| Error::io(Location::input(input), e);
        let mut tar = TarReader::new(
            Seeking::new(Cursor::new(bytes), len).map_err(input_error)?,
            OUTER_NAME_CAP,
        );
        let mut members = HashMap::new();
        let mut warnings = Vec::new();
        loop {
            let entry = match tar.next_member() {
                Ok(Some(entry)) => entry,
                Ok(None) => break,
                Err(err) => {
                    warnings.push(Warning::new(
                        Location::input(input).offset(err.offset),
                        format!(
                            "archive is damaged or truncated after this point: {}",
                            err.message
                        ),
                    ));
                    break;
                }
            };
            let raw = &entry.path;
            let (offset, size) = (entry.data_offset, entry.stored);
            if let Some(warning) = entry.unusable_warning(Location::input(input)) {
                warnings.push(warning);
                continue;
            }
            let Some(path) = normalize(raw) else {
                warnings.push(Warning::new(
                    Location::input(input)
                        .offset(entry.header_offset)
                        .entry(raw),
                    "member path climbs above the archive root; ignored",
                ));
                continue;
            };
            let member = match entry.entry_type {
                EntryType::Regular | EntryType::Continuous => {
                    if offset.saturating_add(size) > len {
                        warnings.push(Warning::new(
                            Location::input(input).offset(offset).entry(raw),
                            format!("member claims {size} bytes but the archive ends first"),
                        ));
                        continue;
                    }
                    Member::File { offset, size }
                }
                EntryType::Symlink => {
                    let target = entry.link.as_deref().unwrap_or_default();
                    let joined = if target.starts_with(b"/") {
                        target.to_vec()
                    } else {
                        join(split_last(&path).0, target)
                    };
                    let Some(target) = normalize(&joined) else {
                        continue;
                    };
                    Member::Link(String::from_utf8_lossy(&target).into_owned())
                }
                EntryType::Link => {
                    let Some(target) = entry.link.as_deref().and_then(normalize) else {
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
        check_metadata_cap(&self.input, path, bytes.len(), self.meta_cap)?;
        Ok(Some(bytes.to_vec()))
    }

    fn layer(&self, path: &str) -> Result<Option<LayerInput>> {
        Ok(self.find(path)?.map(LayerInput::Bytes))
    }

    fn warnings(&self) -> &[Warning] {
        &self.warnings
    }
}

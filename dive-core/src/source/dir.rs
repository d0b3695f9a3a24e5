//! An image as a directory: an OCI image layout, or an unpacked `docker save`.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::blob::Blob;
use super::store::{LayerInput, Store, inner_path, metadata_over_cap};
use crate::error::{Error, Location, Result, Warning};

/// Files under a root directory; paths are checked never to leave it.
#[derive(Debug)]
pub(crate) struct DirStore {
    input: String,
    root: PathBuf,
    /// Largest metadata file read.
    meta_cap: u64,
}

impl DirStore {
    pub(crate) fn open(input: &str, root: &Path, meta_cap: u64) -> Result<Self> {
        let root = root
            .canonicalize()
            .map_err(|e| Error::io(Location::input(input), e))?;
        Ok(DirStore {
            input: input.to_owned(),
            root,
            meta_cap,
        })
    }

    fn open_file(&self, path: &str) -> Result<Option<File>> {
        let Some(inner) = inner_path(path) else {
            return Ok(None);
        };
        let location = || Location::input(&self.input).entry(inner.as_bytes());
        let full = match self.root.join(&inner).canonicalize() {
            Ok(full) => full,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(location(), e)),
        };
        if !full.starts_with(&self.root) {
            return Err(Error::format(
                location(),
                "links to a file outside the image directory",
            ));
        }
        if !full.is_file() {
            return Ok(None);
        }
        File::open(&full)
            .map(Some)
            .map_err(|e| Error::io(location(), e))
    }
}

impl Store for DirStore {
    fn read_meta(&self, path: &str) -> Result<Option<Vec<u8>>> {
        let Some(file) = self.open_file(path)? else {
            return Ok(None);
        };
        let mut bytes = Vec::new();
        file.take(self.meta_cap.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io(Location::input(&self.input).entry(path.as_bytes()), e))?;
        if bytes.len() as u64 > self.meta_cap {
            return Err(metadata_over_cap(&self.input, path, None, self.meta_cap));
        }
        Ok(Some(bytes))
    }

    fn layer(&self, path: &str) -> Result<Option<LayerInput>> {
        let Some(file) = self.open_file(path)? else {
            return Ok(None);
        };
        let blob = Blob::map_file(file)
            .map_err(|e| Error::io(Location::input(&self.input).entry(path.as_bytes()), e))?;
        Ok(Some(LayerInput::Bytes(blob)))
    }

    fn warnings(&self) -> &[Warning] {
        &[]
    }
}

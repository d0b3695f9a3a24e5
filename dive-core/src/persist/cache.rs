//! Layer analyses kept on disk by blob digest (`--cache DIR`), so a second image that shares
//! a base layer fetches only its own layers.
//!
//! A cached layer is the walk's result (entries, captured package databases, warnings), never
//! the blob. It is used only when the walk would be the same: same dive-rs version, same caps,
//! and digests present when `--verify` asks for them. Anything unreadable is a miss.

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::framed::{read_framed, write_framed};
use super::index::SavedIndex;
use crate::error::{Location, Warning};
use crate::layer::{LayerDigests, LayerIndex, WalkOptions};

/// First bytes of every cached layer.
const MAGIC: &[u8; 14] = b"dive-rs layer\0";
/// The format this build writes and reads (3: content hashes are BLAKE3, 32 bytes).
const FORMAT: u32 = 3;
/// A cached layer decodes to at most this many bytes.
const MAX_BYTES: u64 = 4 << 30;

/// A directory of layer analyses.
#[derive(Debug, Clone)]
pub(crate) struct LayerCache {
    dir: PathBuf,
}

/// What must match for a cached walk to stand for a new one.
#[derive(Serialize, Deserialize, PartialEq, Eq)]
struct Key {
    tool: String,
    capture_limit: u64,
    path_limit: u64,
    entry_limit: u64,
    cuda_deep: bool,
}

#[derive(Serialize, Deserialize)]
struct Cached {
    key: Key,
    index: SavedIndex,
    /// (offset, entry, message) of each walk warning.
    warnings: Vec<(Option<u64>, Option<String>, String)>,
    /// (blob, tar) SHA-256 when the walk computed them.
    digests: Option<(String, String)>,
}

impl LayerCache {
    /// A cache in `dir`, created when missing.
    pub(crate) fn open(dir: &Path) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        Ok(Self {
            dir: dir.to_owned(),
        })
    }

    /// The file for a digest; `None` for anything but `sha256:` and 64 hex digits, so a
    /// digest from an image never names a path of its choosing.
    fn file(&self, digest: &str) -> Option<PathBuf> {
        let hex = digest.strip_prefix("sha256:")?;
        crate::digest::is_sha256_hex(hex).then(|| {
            self.dir
                .join(format!("sha256-{}.layer", hex.to_ascii_lowercase()))
        })
    }

    /// The cached walk of `digest`, when there is one made with the same options.
    pub(crate) fn load(&self, digest: &str, options: &WalkOptions) -> Option<LayerIndex> {
        let file = File::open(self.file(digest)?).ok()?;
        let cached: Cached = read_framed(BufReader::new(file), MAGIC, FORMAT, MAX_BYTES).ok()?;
        if cached.key != key(options) || (options.verify && cached.digests.is_none()) {
            return None;
        }
        cached.index.check().ok()?;
        let mut index = cached.index.into_index();
        index.warnings = cached
            .warnings
            .into_iter()
            .map(|(offset, entry, message)| Warning {
                location: Location {
                    offset,
                    entry,
                    ..Location::default()
                },
                message,
            })
            .collect();
        index.digests = cached.digests.map(|(blob, tar)| LayerDigests { blob, tar });
        Some(index)
    }

    /// Keeps the walk of `digest`; written to a temporary name and renamed, so a reader
    /// never sees half a file.
    pub(crate) fn store(
        &self,
        digest: &str,
        options: &WalkOptions,
        index: &LayerIndex,
    ) -> io::Result<()> {
        let Some(path) = self.file(digest) else {
            return Ok(());
        };
        let cached = Cached {
            key: key(options),
            index: SavedIndex::of(index),
            warnings: index
                .warnings
                .iter()
                .map(|w| {
                    (
                        w.location.offset,
                        w.location.entry.clone(),
                        w.message.clone(),
                    )
                })
                .collect(),
            digests: index
                .digests
                .as_ref()
                .map(|d| (d.blob.clone(), d.tar.clone())),
        };
        let temp = tempfile::NamedTempFile::new_in(&self.dir)?;
        write_framed(BufWriter::new(temp.as_file()), MAGIC, FORMAT, &cached)?;
        temp.persist(&path).map_err(|e| e.error)?;
        Ok(())
    }

    /// The directory, for messages.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }
}

fn key(options: &WalkOptions) -> Key {
    Key {
        tool: format!("dive-rs {}", env!("CARGO_PKG_VERSION")),
        capture_limit: options.capture_limit,
        path_limit: options.path_limit,
        entry_limit: options.entry_limit,
        cuda_deep: options.cuda_deep,
    }
}

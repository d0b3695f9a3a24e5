//! One walked layer as saved, in a scan and in the layer cache alike.

use serde::{Deserialize, Serialize};

use crate::layer::{Compression, ContentHash, DeviceCode, EntryKind, LayerEntry, LayerIndex};

/// A walked layer without its warnings or digests (they travel apart).
#[derive(Serialize, Deserialize)]
pub(crate) struct SavedIndex {
    entries: Vec<SavedEntry>,
    compression: Compression,
    size_compressed: u64,
    size_uncompressed: u64,
    file_bytes: u64,
    captured: Vec<(u32, crate::layer::Captured)>,
    device: Vec<(u32, DeviceCode)>,
    /// Secrets the walk found in files (values redacted as the walk read them).
    secrets: Vec<(u32, crate::secrets::FileSecret)>,
    /// Secrets found past the layer's count.
    secret_unkept: u64,
    /// What binaries and Java archives record of their builds.
    recorded: Vec<(u32, crate::layer::Recorded)>,
}

impl SavedIndex {
    /// What is saved of a walked layer (its warnings travel separately).
    pub(crate) fn of(index: &LayerIndex) -> Self {
        SavedIndex {
            entries: (index.entries.iter().enumerate())
                .map(|(i, e)| SavedEntry::of(index, i, e))
                .collect(),
            compression: index.compression,
            size_compressed: index.size_compressed,
            size_uncompressed: index.size_uncompressed,
            file_bytes: index.file_bytes,
            captured: index.captured.clone(),
            device: index.device.clone(),
            secrets: index.secrets.clone(),
            secret_unkept: index.secret_unkept,
            recorded: index.recorded.clone(),
        }
    }

    /// The layer again, without warnings or digests; [`SavedIndex::check`] first (an entry
    /// it would refuse is left out).
    pub(crate) fn into_index(self) -> LayerIndex {
        let streamed = self.entries.iter().any(|e| e.content_hash.is_some());
        let mut hashes = Vec::with_capacity(if streamed { self.entries.len() } else { 0 });
        let mut debug = Vec::new();
        let mut entries = Vec::with_capacity(self.entries.len());
        for saved in self.entries {
            let (content_hash, debug_bytes) = (saved.content_hash, saved.debug_bytes);
            let Some(entry) = saved.into_entry() else {
                continue;
            };
            if streamed {
                hashes.push(content_hash);
            }
            if debug_bytes > 0 {
                debug.push((
                    u32::try_from(entries.len()).unwrap_or(u32::MAX),
                    debug_bytes,
                ));
            }
            entries.push(entry);
        }
        LayerIndex {
            entries,
            hashes,
            debug,
            compression: self.compression,
            size_compressed: self.size_compressed,
            size_uncompressed: self.size_uncompressed,
            file_bytes: self.file_bytes,
            warnings: Vec::new(),
            captured: self.captured,
            digests: None,
            device: self.device,
            secrets: self.secrets,
            secret_bytes: 0,
            secret_unkept: self.secret_unkept,
            recorded: self.recorded,
        }
    }

    /// Refuses numbers that point outside the layer and paths the merge would not expect.
    pub(crate) fn check(&self) -> std::result::Result<(), String> {
        let len = self.entries.len();
        for entry in &self.entries {
            let normal = crate::path::normalize(&entry.path);
            if normal.as_deref() != Some(&*entry.path) {
                return Err(format!(
                    "entry {} is not a normalised path",
                    String::from_utf8_lossy(&entry.path)
                ));
            }
            if !entry.offsets_fit() {
                return Err(format!(
                    "entry {} has its data before its header",
                    String::from_utf8_lossy(&entry.path)
                ));
            }
            if entry.link_entry.is_some_and(|e| e as usize >= len) {
                return Err(format!(
                    "hardlink {} points past the layer's {len} entries",
                    String::from_utf8_lossy(&entry.path)
                ));
            }
        }
        if let Some((e, _)) = self.captured.iter().find(|(e, _)| *e as usize >= len) {
            return Err(format!(
                "captured file {e} is past the layer's {len} entries"
            ));
        }
        if let Some((e, _)) = self.device.iter().find(|(e, _)| *e as usize >= len) {
            return Err(format!(
                "device code of entry {e} is past the layer's {len} entries"
            ));
        }
        if !self.device.is_sorted_by_key(|(e, _)| *e) {
            return Err("device code is not in entry order".to_owned());
        }
        if let Some((e, _)) = self.secrets.iter().find(|(e, _)| *e as usize >= len) {
            return Err(format!(
                "secret of entry {e} is past the layer's {len} entries"
            ));
        }
        if let Some((e, _)) = self.recorded.iter().find(|(e, _)| *e as usize >= len) {
            return Err(format!(
                "build record of entry {e} is past the layer's {len} entries"
            ));
        }
        if !self.recorded.is_sorted_by_key(|(e, _)| *e) {
            return Err("build records are not in entry order".to_owned());
        }
        Ok(())
    }
}

/// One entry as saved: the fields [`LayerEntry`] had when the format was set (postcard
/// writes fields in order and integers as varints, so this shape is the format).
#[derive(Serialize, Deserialize)]
struct SavedEntry {
    path: Box<[u8]>,
    kind: EntryKind,
    size: u64,
    mode: u32,
    uid: u64,
    gid: u64,
    mtime: u64,
    link: Option<Box<[u8]>>,
    link_entry: Option<u32>,
    header_offset: u64,
    data_offset: u64,
    content_hash: Option<ContentHash>,
    debug_bytes: u64,
    sparse: bool,
}

impl SavedEntry {
    /// Entry `i` of `index` as saved.
    fn of(index: &LayerIndex, i: usize, e: &LayerEntry) -> Self {
        SavedEntry {
            path: e.path.clone(),
            kind: e.kind,
            size: e.size,
            mode: e.mode,
            uid: e.uid.into(),
            gid: e.gid.into(),
            mtime: e.mtime,
            link: e.link.clone(),
            link_entry: e.link_entry(),
            header_offset: e.header_offset,
            data_offset: e.data_offset(),
            content_hash: index.content_hash(i),
            debug_bytes: index.debug_bytes(i),
            sparse: e.sparse,
        }
    }

    /// Whether [`LayerEntry::new`] takes its offsets: the data starts after the header, and
    /// within 4 GiB of it.
    fn offsets_fit(&self) -> bool {
        self.data_offset
            .checked_sub(self.header_offset)
            .is_some_and(|gap| u32::try_from(gap).is_ok())
    }

    /// The entry again (its path and link moved, not copied); `None` when its offsets do not
    /// fit.
    fn into_entry(self) -> Option<LayerEntry> {
        let mut entry =
            LayerEntry::new(self.path, self.kind, self.header_offset, self.data_offset)?;
        entry.link = self.link;
        entry.size = self.size;
        entry.mode = self.mode;
        entry.uid = u32::try_from(self.uid).unwrap_or(u32::MAX);
        entry.gid = u32::try_from(self.gid).unwrap_or(u32::MAX);
        entry.mtime = self.mtime;
        entry.sparse = self.sparse;
        entry.set_link_entry(self.link_entry);
        Some(entry)
    }
}

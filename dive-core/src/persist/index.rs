//! One walked layer as saved, in a scan and in the layer cache alike.

use serde::{Deserialize, Serialize};

use crate::layer::{Compression, DeviceCode, LayerEntry, LayerIndex};

/// A walked layer without its warnings or digests (they travel apart).
#[derive(Serialize, Deserialize)]
pub(crate) struct SavedIndex {
    entries: Vec<LayerEntry>,
    compression: Compression,
    size_compressed: u64,
    size_uncompressed: u64,
    file_bytes: u64,
    captured: Vec<(u32, Box<[u8]>)>,
    device: Vec<(u32, DeviceCode)>,
}

impl SavedIndex {
    /// What is saved of a walked layer (its warnings travel separately).
    pub(crate) fn of(index: &LayerIndex) -> Self {
        SavedIndex {
            entries: index.entries.clone(),
            compression: index.compression,
            size_compressed: index.size_compressed,
            size_uncompressed: index.size_uncompressed,
            file_bytes: index.file_bytes,
            captured: index.captured.clone(),
            device: index.device.clone(),
        }
    }

    /// The layer again, without warnings or digests.
    pub(crate) fn into_index(self) -> LayerIndex {
        LayerIndex {
            entries: self.entries,
            compression: self.compression,
            size_compressed: self.size_compressed,
            size_uncompressed: self.size_uncompressed,
            file_bytes: self.file_bytes,
            warnings: Vec::new(),
            captured: self.captured,
            digests: None,
            device: self.device,
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
        Ok(())
    }
}

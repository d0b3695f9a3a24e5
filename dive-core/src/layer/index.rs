//! What a walk keeps of one layer: its entries' metadata, the small files attribution
//! reads, content hashes, device code and debug bytes.

use std::num::NonZeroU32;

use serde::{Deserialize, Serialize};

use super::decompress::Compression;
use super::fatbin::DeviceCode;
use crate::error::Warning;

/// What a tar entry is, after whiteouts are recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A regular file (its bytes count).
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
    /// A hard link to another entry (its bytes count once, at the target).
    Hardlink,
    /// A character device.
    CharDevice,
    /// A block device.
    BlockDevice,
    /// A named pipe.
    Fifo,
    /// `.wh.name`: deletes a lower path.
    Whiteout,
    /// `.wh..wh..opq`: hides every lower child of its directory.
    Opaque,
}

impl EntryKind {
    /// One letter, as `ls -l` shows it.
    pub fn letter(self) -> char {
        match self {
            Self::File => '-',
            Self::Dir => 'd',
            Self::Symlink => 'l',
            Self::Hardlink => 'h',
            Self::CharDevice => 'c',
            Self::BlockDevice => 'b',
            Self::Fifo => 'p',
            Self::Whiteout | Self::Opaque => 'w',
        }
    }

    /// The kind in words, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::File => "file",
            Self::Dir => "directory",
            Self::Symlink => "symlink",
            Self::Hardlink => "hard link",
            Self::CharDevice => "character device",
            Self::BlockDevice => "block device",
            Self::Fifo => "FIFO",
            Self::Whiteout => "whiteout",
            Self::Opaque => "opaque-directory marker",
        }
    }
}

/// Metadata of one tar entry; file contents are never kept.
///
/// There is one per tar entry, so the record stays narrow (80 bytes): facts few entries have
/// (a content hash, ELF debug bytes) live beside the entries, in the walk's own tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerEntry {
    /// Normalised path (`usr/lib/x.so`); for whiteouts the path they delete.
    pub path: Box<[u8]>,
    /// Symlink target (raw) or hardlink target (normalised).
    pub link: Option<Box<[u8]>>,
    /// Content length of a regular file (the PAX size when present); 0 otherwise.
    pub size: u64,
    /// Modification time, seconds since the epoch.
    pub mtime: u64,
    /// Offset of the entry's header in the uncompressed layer.
    pub header_offset: u64,
    /// Permission bits and file type bits as stored.
    pub mode: u32,
    /// Owner (Linux ids are 32 bits; a larger PAX value is kept as `u32::MAX`).
    pub uid: u32,
    /// Group (as `uid`).
    pub gid: u32,
    /// Bytes from the header to the data: the header and its extension headers.
    data_start: u32,
    /// For a hardlink, one more than the index of the file it shares content with (a zero
    /// niche keeps the option four bytes wide).
    link_entry: Option<NonZeroU32>,
    /// What the entry is.
    pub kind: EntryKind,
    /// A GNU sparse file: its data in the tar is a map and fragments, not its content, so
    /// its content is never read in place (hashed, compared, searched for ELF sections).
    pub sparse: bool,
}

impl LayerEntry {
    /// An entry with no link, whose data starts at `data_offset`; `None` when its headers
    /// span more than 4 GiB (no reader makes such a tar).
    pub fn new(
        path: Box<[u8]>,
        kind: EntryKind,
        header_offset: u64,
        data_offset: u64,
    ) -> Option<Self> {
        let data_start = u32::try_from(data_offset.checked_sub(header_offset)?).ok()?;
        Some(Self {
            path,
            link: None,
            size: 0,
            mtime: 0,
            header_offset,
            mode: 0,
            uid: 0,
            gid: 0,
            data_start,
            link_entry: None,
            kind,
            sparse: false,
        })
    }

    /// Offset of the entry's data in the uncompressed layer.
    pub fn data_offset(&self) -> u64 {
        self.header_offset + u64::from(self.data_start)
    }

    /// For a hardlink, the index of the regular file it shares content with in this layer.
    pub fn link_entry(&self) -> Option<u32> {
        self.link_entry.map(|i| i.get() - 1)
    }

    /// Sets (or clears) [`LayerEntry::link_entry`]; an index of `u32::MAX` cannot be kept.
    pub fn set_link_entry(&mut self, entry: Option<u32>) {
        self.link_entry = entry.and_then(|i| NonZeroU32::new(i.checked_add(1)?));
    }
}

/// The BLAKE3 hash of a file's content: equal hashes prove equal bytes (it is
/// collision-resistant, so an image cannot craft two contents that compare equal), which is
/// what duplicates and same-content rewrites are reported on when the bytes are gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ContentHash([u8; 32]);

impl ContentHash {
    /// The hash of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(*blake3::hash(bytes).as_bytes())
    }

    /// The hash a hasher fed a whole content holds.
    pub(crate) fn finish(hasher: &blake3::Hasher) -> Self {
        Self(*hasher.finalize().as_bytes())
    }

    /// The 32 bytes of the hash.
    #[cfg_attr(not(feature = "unstable"), allow(dead_code))] // For the tests.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// A package database a walk kept, compressed (zstd, its fastest level): what an image's
/// databases hold in memory is then about what they take in the image itself, however
/// many layers repeat one (a crafted image can repeat a 64 MiB one in every layer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Captured {
    /// Its length as read.
    len: u64,
    zstd: Box<[u8]>,
}

impl Captured {
    /// Keeps `content`.
    pub fn new(content: &[u8]) -> std::io::Result<Self> {
        Ok(Self {
            len: content.len() as u64,
            zstd: zstd::bulk::compress(content, 1)?.into_boxed_slice(),
        })
    }

    /// Its length as read.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether it is empty.
    #[cfg_attr(not(feature = "unstable"), allow(dead_code))] // For the tests.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes it takes in memory.
    #[cfg_attr(not(feature = "unstable"), allow(dead_code))] // For the tests.
    pub fn held(&self) -> usize {
        self.zstd.len()
    }

    /// Its bytes, as read (`None` when what was kept is damaged: a saved scan's).
    pub fn content(&self) -> Option<Vec<u8>> {
        let bytes = zstd::bulk::decompress(&self.zstd, usize::try_from(self.len).ok()?).ok()?;
        (bytes.len() as u64 == self.len).then_some(bytes)
    }
}

/// Everything dive-rs keeps of one layer.
#[derive(Debug, Clone, Default)]
pub struct LayerIndex {
    /// Entries in tar order.
    pub entries: Vec<LayerEntry>,
    /// How the blob was compressed.
    pub compression: Compression,
    /// Length of the blob as stored.
    pub size_compressed: u64,
    /// Length of the layer tar after decompression.
    pub size_uncompressed: u64,
    /// Σ regular-file sizes; hardlinks count once.
    pub file_bytes: u64,
    /// Problems met while walking; locations name the entry and offset, not yet the layer.
    pub warnings: Vec<Warning>,
    /// Contents of the files [`WalkOptions::capture`](super::WalkOptions::capture) selected, by entry index, in tar order.
    pub captured: Vec<(u32, Captured)>,
    /// SHA-256 of the blob and of the tar, when [`WalkOptions::verify`](super::WalkOptions::verify) asked for them.
    pub digests: Option<LayerDigests>,
    /// CUDA device code of the ELF files that hold some, by entry index, in tar order.
    pub device: Vec<(u32, DeviceCode)>,
    /// Content hashes by entry index ([`LayerIndex::content_hash`]): one per entry in a
    /// streamed layer, empty in a plain one walked by seeking.
    pub hashes: Vec<Option<ContentHash>>,
    /// Debug bytes of the ELF files that have some, by entry index, in tar order
    /// ([`LayerIndex::debug_bytes`]).
    pub debug: Vec<(u32, u64)>,
    /// Secrets the heads of candidate files hold, by entry index, in tar order.
    pub secrets: Vec<(u32, crate::secrets::FileSecret)>,
    /// Bytes of candidate files read for secrets (the heads only).
    pub secret_bytes: u64,
    /// Secrets found past the layer's count and not kept (test data aside).
    pub secret_unkept: u64,
    /// What binaries and Java archives record of their builds, by entry index, in tar order.
    pub recorded: Vec<(u32, super::recorded::Recorded)>,
}

impl LayerIndex {
    /// The device code of entry `entry`, when it is an ELF file that holds some.
    pub fn device_code(&self, entry: u32) -> Option<&DeviceCode> {
        self.device
            .binary_search_by_key(&entry, |(e, _)| *e)
            .ok()
            .map(|i| &self.device[i].1)
    }

    /// The content hash of entry `entry`, when the walk or a comparison read its content.
    pub fn content_hash(&self, entry: usize) -> Option<ContentHash> {
        self.hashes.get(entry).copied().flatten()
    }

    /// Records the content hash of entry `entry` (read after the walk, for a saved scan).
    pub fn set_content_hash(&mut self, entry: usize, hash: ContentHash) {
        if entry >= self.entries.len() {
            return;
        }
        if self.hashes.len() <= entry {
            self.hashes.resize(self.entries.len(), None);
        }
        self.hashes[entry] = Some(hash);
    }

    /// Bytes of entry `entry`'s ELF debug and symbol sections (0 when none or not ELF).
    pub fn debug_bytes(&self, entry: usize) -> u64 {
        let Ok(entry) = u32::try_from(entry) else {
            return 0;
        };
        self.debug
            .binary_search_by_key(&entry, |(e, _)| *e)
            .map_or(0, |i| self.debug[i].1)
    }
}

/// A layer's digests as computed from its bytes, to compare with what the image claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerDigests {
    /// `sha256:…` of the blob as stored (the manifest's layer digest).
    pub blob: String,
    /// `sha256:…` of the uncompressed tar (the config's `diff_id`).
    pub tar: String,
}

impl LayerDigests {
    /// Digests of a plain tar, which is its own uncompressed stream.
    pub fn same(digest: String) -> Self {
        Self {
            blob: digest.clone(),
            tar: digest,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_content_hash_is_blake3_and_round_trips_through_a_saved_scan() {
        // The reference value of BLAKE3 for "abc" (from its specification's test vectors).
        let hash = ContentHash::of(b"abc");
        let hex: String = hash.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"
        );
        let saved = postcard::to_stdvec(&Some(hash)).unwrap();
        let back: Option<ContentHash> = postcard::from_bytes(&saved).unwrap();
        assert_eq!(back, Some(hash));
    }

    #[test]
    fn an_entry_record_stays_small_since_there_is_one_per_tar_entry() {
        // 144 bytes while the hash was an `Option<u128>`, 120 while it and the debug bytes
        // sat in every record; 1M entries pay 8 MB per 8 bytes.
        assert!(
            std::mem::size_of::<LayerEntry>() <= 80,
            "{}",
            std::mem::size_of::<LayerEntry>()
        );
    }
}

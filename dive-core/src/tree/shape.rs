//! What the merge and dive's figures take of each layer: its entries within the image's
//! allowance of directories, and which of them are leaves of the layer's own tree.
//!
//! A tar entry may name a path whose directories no entry lists: the merge makes a node
//! for each, and dive's figures a key. Real layers list their directories, or imply a few
//! per file; a crafted one can imply 2,000 per entry (a fresh chain of nested directories
//! in each 4 KiB path), 2,000 nodes of about 180 bytes for one entry. So the directories
//! the layers' paths pass through, counted per layer in tar order (listed or implied, each
//! once per layer), may number one per entry of the image plus [`DIRECTORIES_BEYOND_ENTRIES`];
//! an entry that would pass the allowance is skipped, by the merge and dive's figures
//! alike, with a warning, and its bytes are in no figure (as an entry the walk skips). The
//! tree then holds at most `1 + entries + allowance` = `2 × entries + 65,537` nodes.

use hashbrown::HashSet;

use super::key::{KeyChain, PathKeys};
use crate::error::{EntryWarnings, LayerRef, Location, Warning};
use crate::layer::{EntryKind, LayerEntry, LayerIndex};
use crate::stage::Checkpoint;

/// Directories an image's paths may pass through beyond one per entry: enough for any
/// small image whose layers list no directories (a few per file), 11 MiB of nodes at most.
pub(crate) const DIRECTORIES_BEYOND_ENTRIES: u64 = 65_536;

/// A bit per entry.
#[derive(Debug, Clone, Default)]
struct Bits(Vec<u64>);

impl Bits {
    fn with_len(len: usize) -> Self {
        Self(vec![0; len.div_ceil(64)])
    }

    fn set(&mut self, i: usize) {
        if let Some(word) = self.0.get_mut(i / 64) {
            *word |= 1 << (i % 64);
        }
    }

    fn get(&self, i: usize) -> bool {
        self.0
            .get(i / 64)
            .is_some_and(|word| word & (1 << (i % 64)) != 0)
    }
}

/// One layer as the merge and dive's figures take it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Shape {
    /// Entries past the allowance; empty when there are none (nearly always).
    skipped: Bits,
    /// Entries that are leaves of the layer's own tree (dive's figures visit these).
    leaves: Bits,
    /// Bytes of the regular files skipped.
    skipped_bytes: u64,
}

impl Shape {
    /// Whether entry `index` is left out.
    pub(crate) fn skipped(&self, index: usize) -> bool {
        self.skipped.get(index)
    }

    /// Whether entry `index` is a leaf of the layer's own tree: not skipped, not an opaque
    /// marker, and not a directory that another entry of the layer lies in.
    pub(crate) fn leaf(&self, index: usize) -> bool {
        self.leaves.get(index)
    }

    /// Bytes of the regular files left out.
    pub(crate) fn skipped_bytes(&self) -> u64 {
        self.skipped_bytes
    }
}

/// The image's allowance of directories, spent layer by layer in manifest order.
#[derive(Debug)]
pub(crate) struct EntryBudget {
    allowance: u64,
    left: u64,
    /// Skipped entries, a hundred said.
    warnings: EntryWarnings,
}

impl EntryBudget {
    /// The allowance of an image of these layers: one directory per entry, and
    /// [`DIRECTORIES_BEYOND_ENTRIES`].
    pub(crate) fn new(layers: &[&LayerIndex]) -> Self {
        let entries: u64 = layers.iter().map(|l| l.entries.len() as u64).sum();
        let allowance = entries.saturating_add(DIRECTORIES_BEYOND_ENTRIES);
        Self {
            allowance,
            left: allowance,
            warnings: EntryWarnings::default(),
        }
    }

    /// The shape of layer `index`, spending the allowance on its directories; `leaf` is
    /// given each leaf with its path's key. Once `checkpoint` says to stop, the entries
    /// left are neither leaves nor skipped (the merge is dropped).
    pub(crate) fn shape(
        &mut self,
        index: usize,
        layer: &LayerIndex,
        keys: &PathKeys,
        checkpoint: &Checkpoint<'_>,
        mut leaf: impl FnMut(&LayerEntry, u128),
    ) -> Shape {
        let mut shape = Shape {
            leaves: Bits::with_len(layer.entries.len()),
            ..Shape::default()
        };
        // The directories of the layer's tree so far: every one's ancestors are in it too.
        let mut inner: HashSet<u128> = HashSet::new();
        // Each entry's key, for the leaves found once every directory is known.
        let mut own: Vec<u128> = Vec::with_capacity(layer.entries.len());
        let mut chain = KeyChain::default();
        for (i, entry) in layer.entries.iter().enumerate() {
            if checkpoint.stop_at(i) {
                break;
            }
            chain.set(keys, &entry.path);
            own.push(chain.key());
            // The directories of the layer's tree the entry needs: its ancestors, and an
            // opaque marker's own directory.
            let dirs = if entry.kind == EntryKind::Opaque {
                chain.len()
            } else {
                chain.len().saturating_sub(1)
            };
            // Those not yet known are the innermost: climb until one is.
            let known = (0..dirs)
                .rev()
                .find(|&at| inner.contains(&chain.key_at(at)))
                .map_or(0, |at| at + 1);
            let new = (dirs - known) as u64;
            if new > self.left {
                self.skip(&mut shape, index, i, entry, new);
                continue;
            }
            self.left -= new;
            inner.extend((known..dirs).map(|at| chain.key_at(at)));
        }
        for (i, (entry, key)) in layer.entries.iter().zip(&own).enumerate() {
            if entry.kind != EntryKind::Opaque && !shape.skipped(i) && !inner.contains(key) {
                shape.leaves.set(i);
                leaf(entry, *key);
            }
        }
        shape
    }

    fn skip(&mut self, shape: &mut Shape, layer: usize, i: usize, entry: &LayerEntry, new: u64) {
        if shape.skipped.0.is_empty() {
            shape.skipped = Bits::with_len(shape.leaves.0.len() * 64);
        }
        shape.skipped.set(i);
        if entry.kind == EntryKind::File {
            shape.skipped_bytes = shape.skipped_bytes.saturating_add(entry.size);
        }
        self.warnings.push(Warning::new(
            Location::default()
                .layer(LayerRef::index(layer))
                .offset(entry.header_offset)
                .entry(&entry.path),
            format!(
                "entry skipped, its {} bytes counted nowhere: its path passes through {new} \
                 directories new to the layer, more than the {} left of the image's \
                 allowance of {} (one per entry and {DIRECTORIES_BEYOND_ENTRIES}), which \
                 bounds the tree's memory",
                entry.size, self.left, self.allowance
            ),
        ));
    }

    /// The warnings about skipped entries.
    pub(crate) fn finish(self) -> Vec<Warning> {
        self.warnings.finish(Location::default())
    }
}

//! Reading contents the walk did not hash: the hasher the merge asks, and the comparison
//! that tells a metadata-only rewrite from a content change ([`prove`]).

use super::arena::{FileTree, InodeId};
use super::merged::{HiddenReason, Unproven};
use crate::layer::{ContentHash, LayerEntry, LayerIndex};
use crate::stage::Checkpoint;

/// Files from this size on are hashed on two threads when a rewrite is checked.
const PARALLEL_HASH: u64 = 1 << 20;

/// Gives the content hash of a file entry whose walk did not read its data.
pub(crate) trait ContentHasher: Sync {
    /// The content hash of entry `index` of `layer`, if it can be read.
    fn hash(&self, layer: usize, index: u32, entry: &LayerEntry) -> Option<ContentHash>;

    /// Whether two files of one size surely differ, from a look at a few KiB at each end;
    /// `false` when that cannot tell.
    fn ends_differ(&self, _a: (usize, &LayerEntry), _b: (usize, &LayerEntry)) -> bool {
        false
    }

    /// A 64-bit hash of the first `n` bytes of an entry's content, when it can be read in
    /// place (a plain layer): the cheap second stage of finding duplicates.
    fn head(&self, _layer: usize, _entry: &LayerEntry, _n: usize) -> Option<u64> {
        None
    }
}

/// Why each [`Unproven`] rewrite hid its content: its bytes are read (plain layers in place,
/// large files on two cores) and compared with the rewrite's. Once `checkpoint` says to
/// stop, the rest are left overwritten unread.
pub(crate) fn prove(
    unproven: &[Unproven],
    tree: &FileTree,
    layers: &[&LayerIndex],
    hasher: &dyn ContentHasher,
    checkpoint: &Checkpoint<'_>,
) -> Vec<(InodeId, HiddenReason)> {
    use rayon::prelude::*;
    let hash = |layer: u32, index: u32| {
        let walked = layers.get(layer as usize)?;
        let entry = walked.entries.get(index as usize)?;
        walked
            .content_hash(index as usize)
            .or_else(|| hasher.hash(layer as usize, index, entry))
    };
    unproven
        .par_iter()
        .map(|u| {
            // Each item reads two files: asked every time.
            if checkpoint.stop() {
                return (u.inode, HiddenReason::Overwritten);
            }
            let old = tree.inode(u.inode);
            let (a, b) = if old.size >= PARALLEL_HASH {
                rayon::join(|| hash(old.layer, old.entry), || hash(u.layer, u.entry))
            } else {
                (hash(old.layer, old.entry), hash(u.layer, u.entry))
            };
            let reason = match (a, b) {
                (Some(a), Some(b)) if a == b => HiddenReason::MetadataOnly,
                _ => HiddenReason::Overwritten,
            };
            (u.inode, reason)
        })
        .collect()
}

//! What a merge yields: the final tree, the hidden content and why it is hidden, what each
//! entry changed, and the same-size rewrites still to compare.

use serde::Serialize;

use super::arena::{FileTree, InodeId, NodeId};
use super::dive::DiveFigures;
use crate::error::Warning;

/// Why bytes shipped in a layer are not visible in the final image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HiddenReason {
    /// A later layer wrote the path again with different content.
    Overwritten,
    /// A later layer wrote the path again with the same content (mode, owner or time changed).
    MetadataOnly,
    /// A whiteout deleted the file.
    Deleted,
    /// A whiteout deleted a directory holding the file.
    DeletedWithDirectory,
    /// An opaque whiteout hid every lower child of a directory holding the file.
    OpaqueDirectory,
    /// A later layer put a non-directory where a directory holding the file was.
    DirectoryReplaced,
}

impl HiddenReason {
    /// The `snake_case` name used in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Self::Overwritten => "overwritten",
            Self::MetadataOnly => "metadata_only",
            Self::Deleted => "deleted",
            Self::DeletedWithDirectory => "deleted_with_directory",
            Self::OpaqueDirectory => "opaque_directory",
            Self::DirectoryReplaced => "directory_replaced",
        }
    }
}

/// What one tar entry did to the image as it stood below its layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryChange {
    /// The path did not exist below.
    Added,
    /// The path existed below and this entry set it again.
    Modified,
    /// A whiteout (or opaque marker) that removed something below.
    Removed,
    /// A whiteout of a path that did not exist below: it removes nothing.
    RemovedNothing,
}

impl EntryChange {
    /// One letter for listings: `A`, `M`, `D`, or `d` for a whiteout that removed nothing.
    pub fn letter(self) -> char {
        match self {
            Self::Added => 'A',
            Self::Modified => 'M',
            Self::Removed => 'D',
            Self::RemovedNothing => 'd',
        }
    }
}

/// File content shipped in a layer but not visible in the final image, with its evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HiddenItem {
    /// The last path that showed the content.
    pub path: Vec<u8>,
    /// Bytes of content.
    pub bytes: u64,
    /// Layer that added the content.
    pub added_in_layer: usize,
    /// Layer whose change removed its last visible path.
    pub hidden_by_layer: usize,
    /// What that change was.
    pub reason: HiddenReason,
    /// The content.
    pub inode: InodeId,
}

/// The result of merging: the final tree, hidden content and dive's own figures.
#[derive(Debug, Clone)]
pub struct Merged {
    /// The final file system.
    pub tree: FileTree,
    /// Hidden content, largest first.
    pub hidden: Vec<HiddenItem>,
    /// Efficiency and waste as dive computes them.
    pub dive: DiveFigures,
    /// Problems met while merging (`location.layer` holds only the index).
    pub warnings: Vec<Warning>,
    /// Per layer, per entry: what the entry changed.
    pub changes: Vec<Vec<EntryChange>>,
    /// Same-size rewrites whose reason waits for [`prove`](super::prove::prove).
    pub(crate) unproven: Vec<Unproven>,
    /// Per layer, bytes of the files skipped as past the image's allowance of directories
    /// (in no figure: a layer's file bytes leave them out, as the walk's skipped entries).
    pub skipped_bytes: Vec<u64>,
    /// Path bytes hashed for keys (dive's figures, the allowance, whiteouts): a few passes
    /// over each path, however deep.
    pub path_bytes_hashed: u64,
}

/// A file rewritten by a later layer at the same size, whose contents the merge did not
/// compare: hidden as overwritten until [`prove`](super::prove::prove) says whether only metadata changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unproven {
    /// The content hidden.
    pub inode: InodeId,
    /// Its path, rewritten.
    pub node: NodeId,
    /// The layer that rewrote it, and the rewriting entry.
    pub layer: u32,
    pub entry: u32,
}

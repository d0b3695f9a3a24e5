//! The merged file tree: an arena of nodes, built by merging layers in manifest order.

mod arena;
mod dive;
mod key;
mod merge;
mod shape;

pub use arena::{FileTree, Inode, InodeId, Node, NodeId};
pub use dive::DiveFigures;
pub(crate) use key::KeySeed;
pub(crate) use merge::{ContentHasher, Unproven, merge, prove};
pub use merge::{EntryChange, HiddenItem, HiddenReason, Merged};

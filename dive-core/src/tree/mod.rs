//! The merged file tree: an arena of nodes, built by merging layers in manifest order.

mod arena;
mod dive;
mod key;
mod merge;
mod merged;
mod prove;
mod shape;

pub use arena::{FileTree, Inode, InodeId, Node, NodeId};
pub use dive::DiveFigures;
pub(crate) use key::KeySeed;
pub(crate) use merge::merge;
pub(crate) use merged::Unproven;
pub use merged::{EntryChange, HiddenItem, HiddenReason};
unstable_use!(merged::Merged);
pub(crate) use prove::{ContentHasher, prove};

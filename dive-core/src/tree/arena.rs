//! The arena the merged tree lives in: nodes and inodes by index, children found by a hash
//! of parent and name.

use std::hash::BuildHasher;
use std::ops::Range;

use hashbrown::{DefaultHashBuilder, HashTable};
use serde::Serialize;
use thin_vec::ThinVec;

use crate::layer::EntryKind;
use crate::stage::Checkpoint;

/// Index of a node in a [`FileTree`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct NodeId(pub u32);

impl NodeId {
    /// The root directory.
    pub const ROOT: NodeId = NodeId(0);

    fn at(self) -> usize {
        self.0 as usize
    }
}

/// Index of a piece of file content (what a regular file and its hardlinks share).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct InodeId(pub u32);

/// File content: added once by one layer, visible under any number of paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inode {
    /// Layer whose regular-file entry brought this content (`u32`: one per file).
    pub layer: u32,
    /// That entry's index in its layer.
    pub entry: u32,
    /// Bytes of content.
    pub size: u64,
    /// Visible paths that show this content.
    pub refs: u32,
    /// The node that the content was added under.
    pub origin: NodeId,
}

/// One path of the merged image: its last component and its parent, so that a path's bytes
/// are held once however deep it is ([`FileTree::path`] spells the whole path).
#[derive(Debug, Clone)]
pub struct Node {
    /// Last path component: where it starts in the tree's name bytes, and its length (a
    /// `Box` per name would cost an allocation per node).
    name_start: u64,
    name_len: u32,
    /// Parent directory; `None` for the root.
    pub parent: Option<NodeId>,
    /// Children, sorted by name once the merge is done ([`Node::children`]). A `ThinVec` is
    /// one pointer and allocates nothing when empty, as it is for every file.
    pub(crate) children: ThinVec<NodeId>,
    /// What the path is now.
    pub kind: EntryKind,
    /// The last layer that set this path (for implicit directories, the one that made them);
    /// a `u32`, as there is one per path.
    pub layer: u32,
    /// Entry index in that layer; `None` for a directory implied by a deeper path.
    pub entry: Option<u32>,
    /// Content shown by this path, for files and hardlinks.
    pub inode: Option<InodeId>,
    /// Permission bits as stored by the last layer.
    pub mode: u32,
    /// Still present in the merged image.
    pub alive: bool,
    /// Bytes counted under this path: a file's size (once per content), a directory's total.
    pub bytes: u64,
    /// Regular files counted under this path (a hardlink is not a second file).
    pub files: u64,
}

impl Node {
    /// Its children, sorted by name.
    pub fn children(&self) -> &[NodeId] {
        &self.children
    }
}

/// The merged file system of an image.
#[derive(Debug, Clone)]
pub struct FileTree {
    nodes: Vec<Node>,
    /// Every node's name, end to end.
    names: Vec<u8>,
    /// Visible nodes, found by (parent, name); the table holds only ids.
    children: HashTable<NodeId>,
    /// Seeded per tree, so names an image chooses cannot be made to collide.
    hasher: DefaultHashBuilder,
    inodes: Vec<Inode>,
    /// [`FileTree::walk`]'s order, kept by [`FileTree::finish`]: every later pass over a
    /// million nodes reads this array instead of chasing each directory's children.
    order: Vec<NodeId>,
}

impl FileTree {
    /// An empty tree with room for `inodes` contents and `nodes` paths.
    pub(crate) fn with_capacity(inodes: usize, nodes: usize) -> Self {
        let mut tree = Self::new();
        tree.inodes.reserve_exact(inodes);
        tree.nodes.reserve(nodes);
        tree.children.reserve(nodes, |_| 0);
        tree
    }

    pub(crate) fn new() -> Self {
        let root = Node {
            name_start: 0,
            name_len: 0,
            parent: None,
            children: ThinVec::new(),
            kind: EntryKind::Dir,
            layer: 0,
            entry: None,
            inode: None,
            mode: 0o755,
            alive: true,
            bytes: 0,
            files: 0,
        };
        Self {
            nodes: vec![root],
            names: Vec::new(),
            children: HashTable::new(),
            hasher: DefaultHashBuilder::default(),
            inodes: Vec::new(),
            order: Vec::new(),
        }
    }

    /// The node with this id.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.at()]
    }

    /// The last path component of a node; empty for the root.
    pub fn name(&self, id: NodeId) -> &[u8] {
        name_of(&self.names, &self.nodes[id.at()])
    }

    pub(crate) fn node_mut(&mut self, id: NodeId) -> &mut Node {
        &mut self.nodes[id.at()]
    }

    /// The visible node at a normalised path (`usr/lib`), if any.
    pub fn lookup(&self, path: &[u8]) -> Option<NodeId> {
        if path.is_empty() {
            return Some(NodeId::ROOT);
        }
        path.split(|&b| b == b'/')
            .try_fold(NodeId::ROOT, |parent, name| self.child(parent, name))
    }

    /// The visible child of `parent` called `name`, if any.
    pub fn child(&self, parent: NodeId, name: &[u8]) -> Option<NodeId> {
        let hash = self.hash(parent, name);
        self.children
            .find(hash, |&id| {
                let node = &self.nodes[id.at()];
                node.parent == Some(parent) && name_of(&self.names, node) == name
            })
            .copied()
    }

    /// The normalised path of a node (`usr/lib/x.so`; empty for the root).
    pub fn path(&self, id: NodeId) -> Vec<u8> {
        let mut names = Vec::new();
        let mut at = id;
        while let Some(parent) = self.nodes[at.at()].parent {
            names.push(self.name(at));
            at = parent;
        }
        let mut path = Vec::with_capacity(names.iter().map(|n| n.len() + 1).sum());
        for name in names.iter().rev() {
            if !path.is_empty() {
                path.push(b'/');
            }
            path.extend_from_slice(name);
        }
        path
    }

    fn hash(&self, parent: NodeId, name: &[u8]) -> u64 {
        hash_child(&self.hasher, parent, name)
    }

    /// Every piece of file content ever added, visible or hidden.
    pub fn inodes(&self) -> &[Inode] {
        &self.inodes
    }

    /// The content with this id.
    pub fn inode(&self, id: InodeId) -> &Inode {
        &self.inodes[id.0 as usize]
    }

    /// Visible nodes in depth-first order, children sorted by name.
    pub fn walk(&self) -> impl Iterator<Item = NodeId> + '_ {
        let mut kept = self.order.iter().copied();
        // Before `finish` (in the merge) there is no kept order: the children are followed.
        let mut stack = if self.order.is_empty() {
            vec![NodeId::ROOT]
        } else {
            Vec::new()
        };
        std::iter::from_fn(move || {
            if let Some(id) = kept.next() {
                return Some(id);
            }
            let id = stack.pop()?;
            stack.extend(self.node(id).children.iter().rev().copied());
            Some(id)
        })
    }

    /// Every node that shows a content once (a file; not a hard link's second path), in walk
    /// order, with its path and what `f` makes of them. `f` runs on all cores, a block of
    /// files at a time, so that a million files never hold a million results at once; `take`
    /// runs in order. Paths are built as the walk goes (a directory's path once for all its
    /// files), not by climbing each file's ancestors. `checkpoint` is asked before each
    /// block: once it says to stop, the files left are not visited.
    pub(crate) fn map_files<T: Send>(
        &self,
        checkpoint: &Checkpoint<'_>,
        f: impl Fn(NodeId, InodeId, &[u8]) -> T + Sync,
        mut take: impl FnMut(NodeId, InodeId, T),
    ) {
        use rayon::prelude::*;
        const BLOCK: usize = 16 * 1024;
        let mut paths = WalkPaths::default();
        let mut nodes = self.walk();
        let mut block: Vec<(NodeId, InodeId, Range<usize>)> = Vec::with_capacity(BLOCK);
        let mut bytes: Vec<u8> = Vec::new();
        loop {
            if checkpoint.stop() {
                return;
            }
            block.clear();
            bytes.clear();
            for id in nodes.by_ref() {
                let path = paths.enter(self, id);
                let node = self.node(id);
                if let Some(inode) = node.inode.filter(|_| node.files == 1) {
                    let start = bytes.len();
                    bytes.extend_from_slice(path);
                    block.push((id, inode, start..bytes.len()));
                    if block.len() == BLOCK {
                        break;
                    }
                }
            }
            if block.is_empty() {
                return;
            }
            let made: Vec<T> = block
                .par_iter()
                .map(|(id, inode, at)| f(*id, *inode, &bytes[at.clone()]))
                .collect();
            for ((id, inode, _), made) in block.iter().zip(made) {
                take(*id, *inode, made);
            }
        }
    }

    /// How many nodes the arena holds, visible or not.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    pub(crate) fn add_inode(&mut self, inode: Inode) -> InodeId {
        let id = InodeId(u32::try_from(self.inodes.len()).unwrap_or(u32::MAX));
        self.inodes.push(inode);
        id
    }

    pub(crate) fn inode_mut(&mut self, id: InodeId) -> &mut Inode {
        &mut self.inodes[id.0 as usize]
    }

    /// Adds `name` under `parent`; the caller has checked that no visible child has it.
    pub(crate) fn add_node(
        &mut self,
        parent: NodeId,
        name: &[u8],
        kind: EntryKind,
        layer: u32,
    ) -> NodeId {
        self.order.clear();
        let id = NodeId(u32::try_from(self.nodes.len()).unwrap_or(u32::MAX));
        let hash = self.hash(parent, name);
        let (nodes, names, hasher) = (&self.nodes, &self.names, &self.hasher);
        self.children.insert_unique(hash, id, |&other| {
            let node = &nodes[other.at()];
            hash_child(
                hasher,
                node.parent.unwrap_or(NodeId::ROOT),
                name_of(names, node),
            )
        });
        let name_start = self.names.len() as u64;
        self.names.extend_from_slice(name);
        self.nodes.push(Node {
            name_start,
            name_len: u32::try_from(name.len()).unwrap_or(u32::MAX),
            parent: Some(parent),
            children: ThinVec::new(),
            kind,
            layer,
            entry: None,
            inode: None,
            mode: 0,
            alive: true,
            bytes: 0,
            files: 0,
        });
        self.nodes[parent.at()].children.push(id);
        id
    }

    /// Marks a node gone; its parent drops it from `children` when the merge finishes.
    pub(crate) fn kill(&mut self, id: NodeId) {
        // The kept walk order no longer holds (the merge never kills after `finish`).
        self.order.clear();
        let node = &self.nodes[id.at()];
        if let Some(parent) = node.parent {
            let hash = self.hash(parent, name_of(&self.names, node));
            if let Ok(found) = self.children.find_entry(hash, |&other| other == id) {
                found.remove();
            }
        }
        self.nodes[id.at()].alive = false;
    }

    /// Drops dead children, sorts by name and sums sizes bottom-up; each content counts once.
    pub(crate) fn finish(&mut self) {
        for i in 0..self.nodes.len() {
            let mut children = std::mem::take(&mut self.nodes[i].children);
            children.retain(|c| self.nodes[c.at()].alive);
            children.sort_by(|&a, &b| self.name(a).cmp(self.name(b)));
            children.shrink_to_fit();
            self.nodes[i].children = children;
        }
        // The tree is complete: give back what doubling the vectors reserved.
        self.nodes.shrink_to_fit();
        self.names.shrink_to_fit();
        self.inodes.shrink_to_fit();
        // Content counts at the path it was added under while that still shows it,
        // otherwise at the first path (in tree order) that does.
        let mut counted = vec![false; self.inodes.len()];
        self.order.clear();
        let order: Vec<NodeId> = self.walk().collect();
        for pass in 0..2 {
            for &id in &order {
                let Some(inode) = self.nodes[id.at()].inode else {
                    continue;
                };
                let i = inode.0 as usize;
                if counted[i] || (pass == 0 && self.inodes[i].origin != id) {
                    continue;
                }
                counted[i] = true;
                let node = &mut self.nodes[id.at()];
                node.bytes = self.inodes[i].size;
                node.files = 1;
            }
        }
        self.order = order;
        // A parent is always created before its children, so its id is smaller.
        for i in (1..self.nodes.len()).rev() {
            let node = &self.nodes[i];
            if !node.alive {
                continue;
            }
            let (bytes, files) = (node.bytes, node.files);
            if let Some(parent) = node.parent {
                // Saturating: a crafted image's sizes may sum past 2^64 (sparse files
                // claim up to 16 TiB each).
                let parent = &mut self.nodes[parent.at()];
                parent.bytes = parent.bytes.saturating_add(bytes);
                parent.files = parent.files.saturating_add(files);
            }
        }
    }
}

/// The path of each node of a depth-first walk, from its parent's: the directories on the
/// way down, with where each one's path ends.
#[derive(Default)]
struct WalkPaths {
    path: Vec<u8>,
    open: Vec<(NodeId, usize)>,
}

impl WalkPaths {
    /// The path of `id`, the next node of [`FileTree::walk`] (its parent came before it).
    fn enter(&mut self, tree: &FileTree, id: NodeId) -> &[u8] {
        let node = tree.node(id);
        let Some(parent) = node.parent else {
            self.path.clear();
            self.open.clear();
            self.open.push((id, 0));
            return &self.path;
        };
        while self.open.last().is_some_and(|&(open, _)| open != parent) {
            self.open.pop();
        }
        let Some(&(_, end)) = self.open.last() else {
            // Not below the walk so far (never in a walk's order): climb, and go on from here.
            self.path = tree.path(id);
            self.open.push((id, self.path.len()));
            return &self.path;
        };
        self.path.truncate(end);
        if end > 0 {
            self.path.push(b'/');
        }
        self.path.extend_from_slice(tree.name(id));
        self.open.push((id, self.path.len()));
        &self.path
    }
}

/// A node's name in the tree's name bytes.
fn name_of<'a>(names: &'a [u8], node: &Node) -> &'a [u8] {
    let start = usize::try_from(node.name_start).unwrap_or(usize::MAX);
    names
        .get(start..)
        .and_then(|rest| rest.get(..node.name_len as usize))
        .unwrap_or_default()
}

/// Where a child sits in the (parent, name) table; the root is never in it.
fn hash_child(hasher: &DefaultHashBuilder, parent: NodeId, name: &[u8]) -> u64 {
    hasher.hash_one((parent.0, name))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::layer::{LayerEntry, LayerIndex, WalkOptions, walk_bytes};
    use crate::tree::{ContentHasher, merge};

    struct Unread;

    impl ContentHasher for Unread {
        fn hash(&self, _: usize, _: u32, _: &LayerEntry) -> Option<crate::layer::ContentHash> {
            None
        }
    }

    /// A layer tar made by the `tar` crate: each path a file, or a directory when it ends
    /// in `/`.
    fn layer(paths: &[String]) -> LayerIndex {
        let mut builder = tar::Builder::new(Vec::new());
        for path in paths {
            let mut header = tar::Header::new_gnu();
            let dir = path.ends_with('/');
            header.set_entry_type(if dir {
                tar::EntryType::Directory
            } else {
                tar::EntryType::Regular
            });
            header.set_size(if dir { 0 } else { 3 });
            header.set_mode(0o644);
            let data: &[u8] = if dir { b"" } else { b"abc" };
            builder.append_data(&mut header, path, data).unwrap();
        }
        walk_bytes(&builder.into_inner().unwrap(), &WalkOptions::default())
    }

    proptest::proptest! {
        #[test]
        fn the_paths_of_a_walk_are_the_paths_of_the_nodes(
            lower in proptest::collection::vec("[ab]{1,2}(/[abc]{1,2}){0,3}/?", 1..40),
            upper in proptest::collection::vec("\\.?[ab]{1,2}(/(\\.wh\\.)?[abc]{1,2}){0,3}/?", 0..20),
        ) {
            let (lower, upper) = (layer(&lower), layer(&upper));
            let tree = merge(&[&lower, &upper], &Unread, &Checkpoint::never()).unwrap().tree;
            let mut seen = 0;
            tree.map_files(
                &Checkpoint::never(),
                |id, _, path| (tree.path(id) == path, path.to_vec()),
                |_, _, (same, path)| {
                    seen += 1;
                    assert!(same, "{}", String::from_utf8_lossy(&path));
                },
            );
            let files = tree.walk().filter(|&id| {
                let node = tree.node(id);
                node.inode.is_some() && node.files == 1
            });
            proptest::prop_assert_eq!(seen, files.count());
        }
    }

    #[test]
    fn a_node_and_a_content_record_stay_small_since_there_is_one_per_path() {
        // 96 and 32 bytes with a boxed name, a `Vec` of children and `usize` layers; at a
        // million paths every 8 bytes is 8 MB of peak memory.
        assert!(
            std::mem::size_of::<Node>() <= 72,
            "{}",
            std::mem::size_of::<Node>()
        );
        assert!(
            std::mem::size_of::<Inode>() <= 24,
            "{}",
            std::mem::size_of::<Inode>()
        );
    }
}

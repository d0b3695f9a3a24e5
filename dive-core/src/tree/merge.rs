//! Merge layer indexes in manifest order into one tree, accounting for every byte.
//!
//! Each regular-file entry becomes a piece of content (an inode) that visible paths refer
//! to; hardlinks of the same layer share it. A byte is hidden exactly when its content ends
//! with no visible path, so `Σ layer.file_bytes = final_bytes + hidden_bytes` by
//! construction, and every hidden piece remembers the path, layer and reason that hid it.

use std::cmp::Ordering;

use hashbrown::HashSet;

use super::arena::{FileTree, Inode, InodeId, NodeId};
use super::dive::DiveTally;
use super::key::{KeyChain, PathKeys, common_prefix, names_at};
use super::merged::{EntryChange, HiddenItem, HiddenReason, Merged, Unproven};
use super::prove::ContentHasher;
use super::shape::{EntryBudget, Shape};
use crate::error::{EntryWarnings, LayerRef, Location, Warning};
use crate::layer::{EntryKind, LayerEntry, LayerIndex};
use crate::stage::Checkpoint;

/// Merges `layers` (in manifest order) into the final tree; `None` when `checkpoint` said to
/// stop.
pub(crate) fn merge(
    layers: &[&LayerIndex],
    hasher: &dyn ContentHasher,
    checkpoint: &Checkpoint<'_>,
) -> Option<Merged> {
    // Every file entry becomes one content: reserving them spares the vector's doubling (and
    // its moment at twice the size). The tree has at least as many paths as the layer with
    // most entries; directories implied by deeper paths add an unknown number.
    let files = layers
        .iter()
        .flat_map(|l| &l.entries)
        .filter(|e| e.kind == EntryKind::File)
        .count();
    let widest = layers.iter().map(|l| l.entries.len()).max().unwrap_or(0);
    let mut merger = Merger {
        tree: FileTree::with_capacity(files, widest + 1),
        layers,
        hasher,
        checkpoint,
        layer: 0,
        last_hidden: Vec::with_capacity(files),
        warnings: EntryWarnings::default(),
        changes: Vec::with_capacity(layers.len()),
        keys: PathKeys::new(),
        chain: KeyChain::default(),
        removed: HashSet::new(),
        last_parent: (Vec::new(), NodeId::ROOT),
        walked: (Vec::new(), Vec::new()),
        parents: hashbrown::HashMap::new(),
        parents_bytes: 0,
        unproven: Vec::new(),
    };
    // Each layer's shape (the entries within the allowance of directories, and the leaves
    // of its own tree) is found in manifest order; dive's tally keys every leaf of every
    // layer as it goes. The bottom layer's first, then the others on another core, beside
    // the merge of the bottom layer, which the tally sees as an empty tree whenever it counts.
    let mut budget = EntryBudget::new(layers);
    let mut dive = DiveTally::new(layers.len());
    let mut shapes: Vec<Shape> = Vec::with_capacity(layers.len());
    if let Some(bottom) = layers.first() {
        shapes.push(dive.add_layer(0, bottom, &mut budget, checkpoint));
    }
    let (upper, ()) = rayon::join(
        || {
            let mut upper = Vec::with_capacity(layers.len().saturating_sub(1));
            for (index, layer) in layers.iter().enumerate().skip(1) {
                if checkpoint.stop() {
                    break;
                }
                upper.push(dive.add_layer(index, layer, &mut budget, checkpoint));
            }
            dive.find_shared();
            upper
        },
        || {
            if let (Some(bottom), Some(shape)) = (layers.first(), shapes.first()) {
                merger.apply(bottom, shape);
            }
        },
    );
    shapes.extend(upper);
    if let Some(shape) = shapes.first() {
        dive.observe_layer(0, &FileTree::new(), layers, shape, checkpoint);
    }
    for (index, layer) in layers.iter().enumerate().skip(1) {
        let shape = shapes.get(index).filter(|_| !checkpoint.stop())?;
        merger.layer = u32::try_from(index).unwrap_or(u32::MAX);
        dive.observe_layer(index, &merger.tree, layers, shape, checkpoint);
        merger.apply(layer, shape);
    }
    // A stopped layer or tally is incomplete: nothing of it is kept.
    if checkpoint.stop() {
        return None;
    }
    let path_bytes_hashed = dive.hashed().saturating_add(merger.keys.hashed());
    let dive = dive.finish(layers, &shapes);
    let Merger {
        mut tree,
        last_hidden,
        warnings,
        changes,
        unproven,
        ..
    } = merger;
    let mut warnings = warnings.finish(Location::default());
    warnings.extend(budget.finish());
    // Only rewrites that hid their content for good, as the last change to it, name it.
    let unproven: Vec<Unproven> = unproven
        .into_iter()
        .filter(|u| {
            tree.inode(u.inode).refs == 0
                && last_hidden.get(u.inode.0 as usize).copied().flatten()
                    == Some((u.node, u.layer, HiddenReason::Overwritten))
        })
        .collect();
    tree.finish();
    let mut hidden: Vec<HiddenItem> = last_hidden
        .into_iter()
        .enumerate()
        .filter_map(|(i, event)| {
            let inode = InodeId(u32::try_from(i).ok()?);
            let content = tree.inode(inode);
            if content.refs > 0 {
                return None;
            }
            let (node, hidden_by_layer, reason) = event?;
            Some(HiddenItem {
                path: tree.path(node),
                bytes: content.size,
                added_in_layer: content.layer as usize,
                hidden_by_layer: hidden_by_layer as usize,
                reason,
                inode,
            })
        })
        .collect();
    hidden.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.path.cmp(&b.path)));
    Some(Merged {
        tree,
        hidden,
        dive,
        warnings,
        changes,
        unproven,
        skipped_bytes: shapes.iter().map(Shape::skipped_bytes).collect(),
        path_bytes_hashed,
    })
}

/// Most directory paths [`Merger::ensure_parents`] keeps, and most bytes of them: deep
/// paths (up to `--max-path` each) would otherwise make 64k of them 256 MiB.
const PARENTS_KEPT: usize = 64 * 1024;
const PARENTS_BYTES: usize = 8 << 20;

struct Merger<'a> {
    tree: FileTree,
    layers: &'a [&'a LayerIndex],
    hasher: &'a dyn ContentHasher,
    /// Asked every few thousand entries; a stopped layer is left half applied.
    checkpoint: &'a Checkpoint<'a>,
    layer: u32,
    /// Per inode: the path (a node keeps its name and parent when killed), layer and reason
    /// of the change that last dropped a reference.
    last_hidden: Vec<Option<(NodeId, u32, HiddenReason)>>,
    /// Warnings about entries (dangling hard links), a hundred kept.
    warnings: EntryWarnings,
    changes: Vec<Vec<EntryChange>>,
    /// Keys the paths the current layer's whiteouts removed.
    keys: PathKeys,
    /// The key of the entry path looked up last among them.
    chain: KeyChain,
    /// The keys of the paths the current layer's whiteouts removed: an entry of the layer
    /// that sets one again modifies it. A key per node rather than its path: a whiteout of
    /// a directory holding 65,536 nested ones would otherwise copy 65,536 paths of up to
    /// 4 KiB.
    removed: HashSet<u128>,
    /// The directory path [`Merger::ensure_parents`] found last, and its node: a tar lists a
    /// directory's files one after another, so most entries share their parent with the one
    /// before.
    last_parent: (Vec<u8>, NodeId),
    /// The directory path [`Merger::find_parents`] walked last, with the end of each of its
    /// names and the node it found there.
    walked: (Vec<u8>, Vec<(usize, NodeId)>),
    /// Directories found before, by path: files spread over many directories (a tar in
    /// inode order, a generated tree) would otherwise look up every ancestor per entry.
    /// Bounded: cleared when it reaches [`PARENTS_KEPT`] paths or [`PARENTS_BYTES`].
    parents: hashbrown::HashMap<Box<[u8]>, NodeId>,
    parents_bytes: usize,
    /// Same-size rewrites whose contents are still to be compared.
    unproven: Vec<Unproven>,
}

impl Merger<'_> {
    /// Applies a layer's entries, those its `shape` skips left out.
    fn apply(&mut self, layer: &LayerIndex, shape: &Shape) {
        let mut changes = vec![EntryChange::Added; layer.entries.len()];
        // A layer's whiteouts act on the layers below it only, so apply them first:
        // entries of the same layer survive whatever order the tar lists them in.
        self.removed.clear();
        for (index, entry) in layer.entries.iter().enumerate() {
            if self.checkpoint.stop_at(index) {
                return;
            }
            let applies = !shape.skipped(index);
            let did_remove = match entry.kind {
                EntryKind::Whiteout => {
                    let found =
                        (self.tree.lookup(&entry.path)).filter(|&id| id != NodeId::ROOT && applies);
                    if let Some(id) = found {
                        let key = self.keys.of(&entry.path);
                        self.remove(
                            id,
                            key,
                            HiddenReason::Deleted,
                            HiddenReason::DeletedWithDirectory,
                        );
                    }
                    found.is_some()
                }
                EntryKind::Opaque => match self.tree.lookup(&entry.path) {
                    Some(id) if applies && self.tree.node(id).kind == EntryKind::Dir => {
                        // Children deleted earlier stay listed until the merge finishes.
                        let tree = &self.tree;
                        let had_children =
                            tree.node(id).children.iter().any(|&c| tree.node(c).alive);
                        let key = self.keys.of(&entry.path);
                        self.remove_children(id, Some(key), HiddenReason::OpaqueDirectory);
                        had_children
                    }
                    _ => false,
                },
                _ => continue,
            };
            changes[index] = if did_remove {
                EntryChange::Removed
            } else {
                EntryChange::RemovedNothing
            };
        }
        // Nodes made by this layer have ids from here on.
        let first_new = self.tree.node_count();
        let mut entry_inodes: Vec<Option<InodeId>> = vec![None; layer.entries.len()];
        for (index, entry) in layer.entries.iter().enumerate() {
            if self.checkpoint.stop_at(index) {
                return;
            }
            if matches!(entry.kind, EntryKind::Whiteout | EntryKind::Opaque) || shape.skipped(index)
            {
                continue;
            }
            let (inode, existed) = self.add(index, entry, &entry_inodes, first_new, shape);
            // Paths this layer's whiteouts removed existed below: setting one again
            // modifies it.
            if existed || self.was_removed(&entry.path) {
                changes[index] = EntryChange::Modified;
            }
            entry_inodes[index] = inode;
        }
        self.changes.push(changes);
    }

    /// Whether the current layer's whiteouts removed `path`.
    fn was_removed(&mut self, path: &[u8]) -> bool {
        if self.removed.is_empty() {
            return false;
        }
        self.chain.set(&self.keys, path);
        self.removed.contains(&self.chain.key())
    }

    /// Puts one entry into the tree; returns the content it shows, and whether its path was
    /// there before this layer (a node older than `first_new`).
    fn add(
        &mut self,
        index: usize,
        entry: &LayerEntry,
        entry_inodes: &[Option<InodeId>],
        first_new: usize,
        shape: &Shape,
    ) -> (Option<InodeId>, bool) {
        let parent = self.ensure_parents(&entry.path);
        let name = crate::path::split_last(&entry.path).1;
        let found = self.tree.child(parent, name);
        let existed = found.is_some_and(|id| (id.0 as usize) < first_new);
        let id = match found {
            Some(id) => {
                let old = self.tree.node(id);
                if old.kind == EntryKind::Dir {
                    if entry.kind != EntryKind::Dir {
                        self.remove_children(id, None, HiddenReason::DirectoryReplaced);
                    }
                } else {
                    let reason = self.overwrite_reason(id, index, entry);
                    self.drop_content(id, reason);
                }
                id
            }
            None => self.tree.add_node(parent, name, entry.kind, self.layer),
        };
        let entry_index = u32::try_from(index).unwrap_or(u32::MAX);
        let inode = match entry.kind {
            EntryKind::File => Some(self.tree.add_inode(Inode {
                layer: self.layer,
                entry: entry_index,
                size: entry.size,
                refs: 1,
                origin: id,
            })),
            EntryKind::Hardlink => self.link_target(entry, entry_inodes, shape),
            _ => None,
        };
        if let Some(inode) = inode {
            if entry.kind == EntryKind::File {
                self.last_hidden.push(None);
            } else {
                self.tree.inode_mut(inode).refs += 1;
            }
        }
        let node = self.tree.node_mut(id);
        node.kind = entry.kind;
        node.layer = self.layer;
        node.entry = Some(entry_index);
        node.mode = entry.mode;
        node.inode = inode;
        (inode, existed)
    }

    /// The content a hardlink shares: the earlier file of its layer, else the merged path.
    fn link_target(
        &mut self,
        entry: &LayerEntry,
        entry_inodes: &[Option<InodeId>],
        shape: &Shape,
    ) -> Option<InodeId> {
        // A link to a file the allowance skipped shows nothing (the file's own warning
        // says why); the merged path is some other file's.
        if entry
            .link_entry()
            .is_some_and(|i| shape.skipped(i as usize))
        {
            return None;
        }
        let same_layer = entry
            .link_entry()
            .and_then(|i| entry_inodes.get(i as usize).copied().flatten());
        let merged = || {
            let target = entry.link.as_deref()?;
            self.tree.node(self.tree.lookup(target)?).inode
        };
        let found = same_layer.or_else(merged);
        if found.is_none() {
            self.warnings.push(Warning::new(
                Location::default()
                    .layer(LayerRef::index(self.layer as usize))
                    .offset(entry.header_offset)
                    .entry(&entry.path),
                format!(
                    "hardlink target {} is not a file in this or a lower layer; counted as empty",
                    String::from_utf8_lossy(entry.link.as_deref().unwrap_or_default())
                ),
            ));
        }
        found
    }

    /// Overwriting a file with one of the same size and content only changes metadata. What
    /// is told without reading the contents is told here; a rewrite that needs them read is
    /// [`Unproven`] and `Overwritten` until [`prove`](super::prove::prove) compares them.
    fn overwrite_reason(&mut self, id: NodeId, index: usize, entry: &LayerEntry) -> HiddenReason {
        let Some(inode) = self.tree.node(id).inode else {
            return HiddenReason::Overwritten;
        };
        let old = self.tree.inode(inode);
        if entry.kind != EntryKind::File || old.size != entry.size {
            return HiddenReason::Overwritten;
        }
        let old_layer = self.layers[old.layer as usize];
        let old_entry = &old_layer.entries[old.entry as usize];
        let new_hash = self.layers[self.layer as usize].content_hash(index);
        match (old_layer.content_hash(old.entry as usize), new_hash) {
            (Some(a), Some(b)) if a == b => return HiddenReason::MetadataOnly,
            (Some(_), Some(_)) => return HiddenReason::Overwritten,
            _ => {}
        }
        if self.hasher.ends_differ(
            (old.layer as usize, old_entry),
            (self.layer as usize, entry),
        ) {
            return HiddenReason::Overwritten;
        }
        self.unproven.push(Unproven {
            inode,
            node: id,
            layer: self.layer,
            entry: u32::try_from(index).unwrap_or(u32::MAX),
        });
        HiddenReason::Overwritten
    }

    /// Makes every ancestor of `path` a directory; returns the parent's id.
    fn ensure_parents(&mut self, path: &[u8]) -> NodeId {
        let dirs = crate::path::split_last(path).0;
        // Still the directory at that path: a node removed or replaced since is dead or no
        // longer a directory (nodes never move, and removing a directory kills all below).
        let still = |id: NodeId| {
            let node = self.tree.node(id);
            node.alive && node.kind == EntryKind::Dir
        };
        let (last, id) = &self.last_parent;
        if last.as_slice() == dirs && still(*id) {
            return *id;
        }
        let parent = match self.parents.get(dirs) {
            Some(&id) if still(id) => id,
            _ => {
                let parent = self.find_parents(dirs);
                if self.parents.len() >= PARENTS_KEPT || self.parents_bytes >= PARENTS_BYTES {
                    self.parents.clear();
                    self.parents_bytes = 0;
                }
                self.parents_bytes += dirs.len();
                self.parents.insert(dirs.into(), parent);
                parent
            }
        };
        self.last_parent.0.clear();
        self.last_parent.0.extend_from_slice(dirs);
        self.last_parent.1 = parent;
        parent
    }

    /// [`Merger::ensure_parents`] for the directory path `dirs`, one name at a time from
    /// the deepest directory it shares with the path walked before: a tar lists a chain of
    /// nested directories one level after another, and climbing each from the root would
    /// look up O(depth²) names.
    fn find_parents(&mut self, dirs: &[u8]) -> NodeId {
        let (walked, mut nodes) = std::mem::take(&mut self.walked);
        let same = common_prefix(&walked, dirs);
        // As in a `KeyChain`: the names ending before the paths differ are shared.
        let mut kept = nodes.partition_point(|&(end, _)| end < same);
        if nodes.get(kept).is_some_and(|&(end, _)| {
            end == same && (end == dirs.len() || dirs.get(end) == Some(&b'/'))
        }) {
            kept += 1;
        }
        nodes.truncate(kept);
        // Still a live directory, so are all above it (nodes never move, and removing or
        // replacing a directory kills everything below it).
        if let Some(&(_, id)) = nodes.last() {
            let node = self.tree.node(id);
            if !node.alive || node.kind != EntryKind::Dir {
                nodes.clear();
            }
        }
        let (mut parent, from) = nodes
            .last()
            .map_or((NodeId::ROOT, 0), |&(end, id)| (id, end));
        for (start, dir) in names_at(dirs.get(from..).unwrap_or_default()) {
            parent = match self.tree.child(parent, dir) {
                Some(id) if self.tree.node(id).kind == EntryKind::Dir => id,
                Some(id) => {
                    // A lower file or symlink became a directory.
                    self.drop_content(id, HiddenReason::Overwritten);
                    let node = self.tree.node_mut(id);
                    node.kind = EntryKind::Dir;
                    node.layer = self.layer;
                    node.entry = None;
                    id
                }
                None => self.tree.add_node(parent, dir, EntryKind::Dir, self.layer),
            };
            nodes.push((from + start + dir.len(), parent));
        }
        let mut walked = walked;
        walked.clear();
        walked.extend_from_slice(dirs);
        self.walked = (walked, nodes);
        parent
    }

    fn drop_content(&mut self, id: NodeId, reason: HiddenReason) {
        let node = self.tree.node_mut(id);
        let Some(inode) = node.inode.take() else {
            return;
        };
        let content = self.tree.inode_mut(inode);
        content.refs = content.refs.saturating_sub(1);
        if content.refs == 0 {
            self.last_hidden[inode.0 as usize] = Some((id, self.layer, reason));
        }
    }

    /// Removes a node, whose path has `key`, and everything below it.
    fn remove(&mut self, id: NodeId, key: u128, reason: HiddenReason, below: HiddenReason) {
        self.remove_children(id, Some(key), below);
        self.drop_content(id, reason);
        self.tree.kill(id);
        self.removed.insert(key);
    }

    /// Removes everything below `id`; with the key of `id`'s path, the keys of the paths
    /// removed go into [`Merger::removed`]. Nodes go in the order of their paths, so that
    /// content shown under several of them is reported hidden at the last, whatever order
    /// the layers created them in; without a path per node: a node's paths are ordered by
    /// its name among its siblings', the paths below it as its name and a `/`.
    fn remove_children(&mut self, id: NodeId, key: Option<u128>, reason: HiddenReason) {
        let mut pending: Vec<Pending> = Vec::new();
        self.push_children(&mut pending, id, key);
        while let Some(item) = pending.pop() {
            if item.below {
                self.push_children(&mut pending, item.node, item.key);
                continue;
            }
            self.drop_content(item.node, reason);
            self.tree.kill(item.node);
            if let Some(key) = item.key {
                self.removed.insert(key);
            }
        }
        self.tree.node_mut(id).children.clear();
    }

    /// Puts the live children of `id` on `pending`, each itself and (when it has children)
    /// what lies below it, the first in path order on top.
    fn push_children(&self, pending: &mut Vec<Pending>, id: NodeId, key: Option<u128>) {
        let start = pending.len();
        for &child in &self.tree.node(id).children {
            let node = self.tree.node(child);
            if !node.alive {
                continue;
            }
            let key = key.map(|key| self.keys.child(key, self.tree.name(child)));
            pending.push(Pending {
                node: child,
                key,
                below: false,
            });
            if !node.children.is_empty() {
                pending.push(Pending {
                    node: child,
                    key,
                    below: true,
                });
            }
        }
        let tree = &self.tree;
        pending[start..].sort_unstable_by(|a, b| path_order(tree, b, a));
    }
}

/// A node [`Merger::remove_children`] is still to remove: itself, or what lies below it.
#[derive(Debug, Clone, Copy)]
struct Pending {
    node: NodeId,
    /// The key of the node's path, when the removed paths are being kept.
    key: Option<u128>,
    below: bool,
}

/// How the paths of two siblings' items sort: a node's own path ends with its name, the
/// paths below it continue with a `/` (no name holds one), so `a` < `a.b` < `a.b/…` < `a/…`.
fn path_order(tree: &FileTree, a: &Pending, b: &Pending) -> Ordering {
    let slash = |item: &Pending| if item.below { &b"/"[..] } else { &b""[..] };
    let a_key = tree.name(a.node).iter().chain(slash(a));
    a_key.cmp(tree.name(b.node).iter().chain(slash(b)))
}

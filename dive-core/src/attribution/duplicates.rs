//! Duplicate contents: regular files visible in the final image at different paths with the
//! same bytes. Found in stages, as `fdupes` does: equal size, then a hash of the first 4 KiB
//! (plain layers, read in place), then the BLAKE3 hash of the whole content (the one a
//! streamed layer's walk took, its bytes being gone), which proves the bytes equal: an
//! image cannot craft two contents with one BLAKE3 hash. A hard link is one content, never
//! its own duplicate.
//!
//! Every stage groups by a key in a map: the time is linear in the candidates plus the
//! bytes they hold (each read at most once whole), whatever the image repeats.

use hashbrown::HashMap;

use rayon::prelude::*;
use serde::Serialize;

use super::package::Package;
use crate::layer::{ContentHash, LayerEntry, LayerIndex};
use crate::tree::{ContentHasher, FileTree, InodeId, NodeId};

/// Smallest file counted by default: smaller copies are many and worth little.
pub const MIN_DUPLICATE_SIZE: u64 = 4096;

/// Bytes hashed for the second stage.
const HEAD: usize = 4096;

/// How the copies of a group were proven equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Evidence {
    /// Equal BLAKE3 hashes of the whole content: read in place, taken as a streamed layer
    /// went by, or kept in a saved scan.
    Blake3,
}

/// Why the same bytes ship twice, which says what to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DuplicateCause {
    /// One package installed in two environments (a venv and `~/.local`).
    TwoEnvironments,
    /// One library shipped by several packages (vendored).
    Vendored,
    /// Identical copies inside one package.
    WithinPackage,
    /// Anything else (unowned files, copies made by hand).
    Other,
}

impl DuplicateCause {
    /// The fix, in one line.
    pub fn fix(self) -> &'static str {
        match self {
            Self::TwoEnvironments => {
                "install each package once: into one environment (drop pip install --user, or the second venv)"
            }
            Self::Vendored => {
                "keep one copy: drop the vendored one, or replace it with a symlink to the other package's file"
            }
            Self::WithinPackage => {
                "replace the extra copies with symlinks (or hard links) in the same RUN as the install"
            }
            Self::Other => {
                "copy each file once: symlink or hard-link identical files, or drop the extras"
            }
        }
    }
}

/// Files with the same bytes at different paths of the final image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DuplicateGroup {
    /// Bytes of one copy.
    pub size: u64,
    /// Copies stored: hard links to one copy count once.
    pub count: usize,
    /// `(count − 1) × size`.
    pub reclaimable_bytes: u64,
    /// How the copies were proven equal: today always equal BLAKE3 hashes of the whole
    /// content, so not part of the API (the JSON says it as `evidence`).
    #[doc(hidden)]
    pub evidence: Evidence,
    /// Why, by who owns the copies.
    pub cause: DuplicateCause,
    /// Every path that shows one of the copies, `/`-prefixed, sorted.
    pub paths: Vec<String>,
    /// The package (index into the packages) owning each path, or `None`.
    pub owners: Vec<Option<u32>>,
    /// The tree node of each path.
    #[serde(skip)]
    pub nodes: Vec<NodeId>,
    /// The first path of each copy, the kept copy (holding the group's first path) first:
    /// the others are what the waste class counts.
    #[serde(skip)]
    pub copies: Vec<NodeId>,
    /// Of `reclaimable_bytes`, those the waste class `duplicate` counts (a copy another
    /// class holds, such as a `__pycache__` file, stays there).
    #[serde(skip)]
    pub counted_bytes: u64,
}

/// Finds the duplicate groups of the final image: copies of at least `min_size` bytes,
/// largest saving first; and the steps it took (paths and contents looked at).
pub(crate) fn find(
    tree: &FileTree,
    layers: &[&LayerIndex],
    hasher: &dyn ContentHasher,
    min_size: u64,
    inode_owner: &[Option<u32>],
    packages: &[Package],
) -> (Vec<DuplicateGroup>, u64) {
    let min_size = min_size.max(1);
    // Contents shown at some path, by size (a content with hard links is listed once).
    let mut seen = vec![false; tree.inodes().len()];
    let mut by_size: HashMap<u64, Vec<InodeId>> = HashMap::new();
    for id in tree.walk() {
        let node = tree.node(id);
        let Some(inode) = node.inode.filter(|_| node.files == 1) else {
            continue;
        };
        let size = tree.inode(inode).size;
        if size < min_size || std::mem::replace(&mut seen[inode.0 as usize], true) {
            continue;
        }
        by_size.entry(size).or_default().push(inode);
    }
    let entry = |inode: InodeId| -> Option<(usize, u32, &LayerEntry)> {
        let content = tree.inode(inode);
        let layer = layers.get(content.layer as usize)?;
        let e = layer.entries.get(content.entry as usize)?;
        Some((content.layer as usize, content.entry, e))
    };
    // The hash a streamed walk took of a content's bytes, or the one read before.
    let walked_hash = |inode: InodeId| {
        let content = tree.inode(inode);
        layers
            .get(content.layer as usize)?
            .content_hash(content.entry as usize)
    };
    let whole = |inode: InodeId| {
        walked_hash(inode).or_else(|| {
            let (layer, index, e) = entry(inode)?;
            hasher.hash(layer, index, e)
        })
    };
    // Sizes shared by several contents; each content's key (its whole hash when known or
    // when a copy beside it is known only so, else a hash of its head) taken on all cores:
    // reading heads means a page of each file.
    let mut candidates: Vec<(u64, bool, InodeId)> = Vec::new();
    for (size, inodes) in by_size.into_iter().filter(|(_, i)| i.len() > 1) {
        let streamed = inodes.iter().any(|&i| walked_hash(i).is_some());
        candidates.extend(inodes.into_iter().map(|i| (size, streamed, i)));
    }
    let keyed: Vec<(u64, Key, InodeId)> = candidates
        .par_iter()
        .filter_map(|&(size, streamed, inode)| {
            let key = match walked_hash(inode) {
                Some(hash) => Key::Whole(hash),
                None if streamed => Key::Whole(whole(inode)?),
                None => {
                    let (layer, _, e) = entry(inode)?;
                    Key::Head(hasher.head(layer, e, HEAD)?)
                }
            };
            Some((size, key, inode))
        })
        .collect();
    // Contents whose heads match are hashed whole (each read once), then grouped again.
    let shared_heads = groups_of(keyed);
    let rehashed: Vec<(u64, Key, InodeId)> = shared_heads
        .par_iter()
        .flat_map_iter(|((size, key), members)| members.iter().map(move |&i| (*size, *key, i)))
        .filter_map(|(size, key, inode)| match key {
            Key::Whole(_) => Some((size, key, inode)),
            Key::Head(_) => Some((size, Key::Whole(whole(inode)?), inode)),
        })
        .collect();
    let rehashed_len = rehashed.len();
    let sets: Vec<(Vec<InodeId>, Evidence)> = groups_of(rehashed)
        .into_iter()
        .map(|(_, members)| (members, Evidence::Blake3))
        .collect();
    // The paths of the contents in groups only: a second walk, when there are any.
    let mut nodes_of: HashMap<InodeId, Vec<NodeId>> = HashMap::new();
    if !sets.is_empty() {
        for (inodes, _) in &sets {
            for &inode in inodes {
                nodes_of.insert(inode, Vec::new());
            }
        }
        for id in tree.walk() {
            let node = tree.node(id);
            if let Some(nodes) = node
                .inode
                .filter(|_| node.files == 1)
                .and_then(|inode| nodes_of.get_mut(&inode))
            {
                nodes.push(id);
            }
        }
    }
    // One step per candidate keyed and per content hashed whole, then each group's own.
    let mut steps = (candidates.len() + rehashed_len) as u64;
    let mut groups: Vec<DuplicateGroup> = sets
        .into_iter()
        .map(|(inodes, evidence)| {
            let (group, taken) = group(tree, &nodes_of, inodes, evidence, inode_owner, packages);
            steps += taken;
            group
        })
        .collect();
    groups.sort_by(|a, b| {
        b.reclaimable_bytes
            .cmp(&a.reclaimable_bytes)
            .then(b.size.cmp(&a.size))
            .then_with(|| a.paths.cmp(&b.paths))
    });
    (groups, steps)
}

/// What is known of one content's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Key {
    Whole(ContentHash),
    Head(u64),
}

/// The members of each `(size, key)` shared by two or more contents, in key order (so that
/// the groups come out the same on every run).
fn groups_of(keyed: Vec<(u64, Key, InodeId)>) -> Vec<((u64, Key), Vec<InodeId>)> {
    let mut by_key: HashMap<(u64, Key), Vec<InodeId>> = HashMap::new();
    for (size, key, inode) in keyed {
        by_key.entry((size, key)).or_default().push(inode);
    }
    let mut groups: Vec<((u64, Key), Vec<InodeId>)> =
        by_key.into_iter().filter(|(_, m)| m.len() > 1).collect();
    groups.sort_unstable_by_key(|(key, _)| *key);
    groups
}

fn group(
    tree: &FileTree,
    nodes_of: &HashMap<InodeId, Vec<NodeId>>,
    mut inodes: Vec<InodeId>,
    evidence: Evidence,
    inode_owner: &[Option<u32>],
    packages: &[Package],
) -> (DuplicateGroup, u64) {
    let size = tree.inode(inodes[0]).size;
    let owner = |inode: InodeId| inode_owner.get(inode.0 as usize).copied().flatten();
    let mut rows: Vec<(Vec<u8>, NodeId, Option<u32>, InodeId)> = inodes
        .iter()
        .flat_map(|&inode| {
            nodes_of
                .get(&inode)
                .into_iter()
                .flatten()
                .map(move |&node| (tree.path(node), node, owner(inode), inode))
        })
        .collect();
    rows.sort();
    // The copy that holds the first path is the one kept.
    if let Some(first) = rows.first() {
        let kept = first.3;
        inodes.sort_by_key(|&i| (i != kept, i.0));
    }
    let owners: Vec<Option<u32>> = inodes.iter().map(|&i| owner(i)).collect();
    let cause = cause(&owners, packages);
    // The first path of each copy, found in one pass over the rows (sorted by path) and one
    // lookup per copy: the steps this group takes.
    let mut steps = 0u64;
    let mut first_node: HashMap<InodeId, NodeId> = HashMap::with_capacity(inodes.len());
    for row in &rows {
        steps += 1;
        first_node.entry(row.3).or_insert(row.1);
    }
    let copies = inodes
        .iter()
        .filter_map(|i| {
            steps += 1;
            first_node.get(i).copied()
        })
        .collect();
    let group = DuplicateGroup {
        size,
        count: inodes.len(),
        reclaimable_bytes: size * (inodes.len() as u64 - 1),
        evidence,
        cause,
        paths: rows
            .iter()
            .map(|r| format!("/{}", String::from_utf8_lossy(&r.0)))
            .collect(),
        owners: rows.iter().map(|r| r.2).collect(),
        nodes: rows.iter().map(|r| r.1).collect(),
        copies,
        counted_bytes: 0,
    };
    (group, steps)
}

/// Why a group's copies exist, from the owners of its copies.
fn cause(owners: &[Option<u32>], packages: &[Package]) -> DuplicateCause {
    let owned: Vec<&Package> = owners
        .iter()
        .filter_map(|o| packages.get((*o)? as usize))
        .collect();
    if owned.len() < owners.len() {
        return DuplicateCause::Other;
    }
    let same_package = owned.windows(2).all(|w| std::ptr::eq(w[0], w[1]));
    // Names as packages are keyed by (PEP 503 for Python).
    let key = |p: &Package| (p.ecosystem, super::families::normalise(&p.name));
    let same_name = owned.windows(2).all(|w| key(w[0]) == key(w[1]));
    if same_package {
        DuplicateCause::WithinPackage
    } else if same_name {
        DuplicateCause::TwoEnvironments
    } else {
        DuplicateCause::Vendored
    }
}

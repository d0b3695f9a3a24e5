//! dive's own efficiency and waste figures, reproduced for people migrating from dive.
//!
//! dive visits the leaves of each layer's own tree. A leaf counts its tar header size; a
//! whiteout counts 0 when it deletes a file and the lower subtree's size when it deletes a
//! directory that a tar entry created (a directory only implied by deeper paths has no file
//! info in dive and counts 0, as a file); opaque whiteouts count nothing. A whiteout of a
//! path that does not exist below ends dive's visit of that layer (dive logs the error and
//! moves on), so leaves after it in dive's visit order are not counted. Per path it keeps the sum and the minimum.
//! efficiency = Σ min ÷ Σ sum; wasted bytes = Σ sum over paths seen in two or more layers
//! (the surviving copy included); user wasted = wasted ÷ (Σ layer sizes − layer 0's size).

use std::hash::BuildHasher as _;

use hashbrown::{HashMap, HashSet};
use serde::Serialize;
use twox_hash::XxHash3_128;

use super::{FileTree, NodeId};
use crate::layer::{EntryKind, LayerEntry, LayerIndex};
use crate::stage::Checkpoint;

/// Efficiency and waste as dive 0.13 computes them (see the module doc for the formulas).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DiveFigures {
    /// dive's efficiency score, 0..=1.
    pub efficiency: f64,
    /// dive's "potential wasted space".
    pub wasted_bytes: u64,
    /// dive's "user wasted percent", as the fraction dive's `.dive-ci` compares (0.2 = 20 %).
    pub user_wasted_fraction: f64,
}

#[derive(Debug, Default)]
struct PathTally {
    layers: u32,
    sum: u64,
    min: u64,
}

/// Accumulates dive's per-path figures layer by layer, before each layer is merged.
#[derive(Debug)]
pub(crate) struct DiveTally {
    /// Paths that are leaves in two or more layers, by their 128-bit hash: only these need
    /// a tally of their own (a copy of every path would double the merge's memory).
    shared: HashSet<u128>,
    /// Tallies of the shared paths, and of paths left in dive's table without a size.
    paths: HashMap<u128, PathTally>,
    /// Σ min and Σ sum of the paths counted in one layer only, where both are the size.
    single: (i128, u64),
    /// Per layer, Σ of its leaves' sizes when none of its leaves needs a look of its own (no
    /// path shared with another layer or listed twice, no whiteout): then each leaf counts
    /// its size once, in whatever order, and the layer is counted without a table.
    plain: Vec<Option<u64>>,
    /// Seeds that hash per run, so an image cannot choose paths that collide.
    seed: u64,
}

impl DiveTally {
    /// A tally for these layers: finds the paths that more than one layer counts. Once
    /// `checkpoint` says to stop, the layers left are not looked at (the tally is dropped).
    pub(crate) fn new(layers: &[&LayerIndex], checkpoint: &Checkpoint<'_>) -> Self {
        let seed = std::hash::RandomState::new().hash_one(0u8);
        let mut all: Vec<(u128, u32)> = Vec::new();
        let mut plain = Vec::with_capacity(layers.len());
        for (index, layer) in layers.iter().enumerate() {
            if checkpoint.stop() {
                break;
            }
            let index = u32::try_from(index).unwrap_or(u32::MAX);
            let (mut bytes, mut whiteouts) = (0u64, false);
            let mut own: Vec<u128> = leaves(layer)
                .map(|e| {
                    bytes = bytes.saturating_add(e.size);
                    whiteouts |= e.kind == EntryKind::Whiteout;
                    XxHash3_128::oneshot_with_seed(seed, &e.path)
                })
                .collect();
            let listed = own.len();
            own.sort_unstable();
            own.dedup();
            plain.push((!whiteouts && own.len() == listed).then_some(bytes));
            all.extend(own.into_iter().map(|hash| (hash, index)));
        }
        all.sort_unstable();
        let mut shared = HashSet::new();
        for pair in all.windows(2).filter(|pair| pair[0].0 == pair[1].0) {
            shared.insert(pair[0].0);
            for (_, layer) in pair {
                plain[*layer as usize] = None;
            }
        }
        Self {
            shared,
            paths: HashMap::new(),
            single: (0, 0),
            plain,
            seed,
        }
    }

    /// Counts the leaves of layer `index`; `below` is the tree of the layers under it. Once
    /// `checkpoint` says to stop, the rest of the layer is not counted.
    pub(crate) fn observe_layer(
        &mut self,
        index: usize,
        below: &FileTree,
        layers: &[&LayerIndex],
        checkpoint: &Checkpoint<'_>,
    ) {
        if let Some(bytes) = self.plain.get(index).copied().flatten() {
            self.single.0 += i128::from(bytes);
            self.single.1 += bytes;
            return;
        }
        let Some(layer) = layers.get(index) else {
            return;
        };
        // A path listed twice in one layer is one node of dive's layer tree; the last wins.
        let mut leaves_here: HashMap<&[u8], (u64, bool, bool)> =
            HashMap::with_capacity(layer.entries.len());
        for (i, entry) in leaves(layer).enumerate() {
            if checkpoint.stop_at(i) {
                return;
            }
            let lower = below.lookup(&entry.path);
            let (size, fails) = if entry.kind == EntryKind::Whiteout {
                // dive sizes a deleted directory only when a tar entry made it (its file
                // info says "dir"); one implied by deeper paths counts 0, like a file.
                match lower {
                    Some(id)
                        if below.node(id).kind == EntryKind::Dir
                            && below.node(id).entry.is_some() =>
                    {
                        (subtree_header_bytes(below, id, layers), false)
                    }
                    Some(_) => (0, false),
                    None => (0, true),
                }
            } else {
                (entry.size, false)
            };
            let whiteout = entry.kind == EntryKind::Whiteout;
            leaves_here.insert(&entry.path, (size, fails, whiteout));
        }
        // dive visits a layer's leaves depth first, names sorted (a whiteout by its `.wh.`
        // name). A whiteout of a path that does not exist below is an error that ends the
        // visit of that layer: the leaves after it are not counted, and the path is left in
        // dive's table with its "no size yet" minimum of -1.
        // Without such an error the order changes nothing, so only then is it computed.
        if !leaves_here.values().any(|&(_, fails, _)| fails) {
            for (path, (size, _, _)) in leaves_here {
                self.count(path, size);
            }
            return;
        }
        let mut ordered: Vec<(Vec<u8>, &[u8], u64, bool)> = leaves_here
            .into_iter()
            .map(|(path, (size, fails, whiteout))| (dive_order(path, whiteout), path, size, fails))
            .collect();
        ordered.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for (_, path, size, fails) in ordered {
            if fails {
                // Left in dive's table with its "no size yet" minimum of -1.
                self.paths
                    .entry(XxHash3_128::oneshot_with_seed(self.seed, path))
                    .or_default();
                break;
            }
            self.count(path, size);
        }
    }

    fn count(&mut self, path: &[u8], size: u64) {
        let key = XxHash3_128::oneshot_with_seed(self.seed, path);
        if !self.shared.contains(&key) && !self.paths.contains_key(&key) {
            self.single.0 += i128::from(size);
            self.single.1 += size;
            return;
        }
        let tally = self.paths.entry(key).or_default();
        tally.min = if tally.layers == 0 {
            size
        } else {
            tally.min.min(size)
        };
        tally.sum += size;
        tally.layers += 1;
    }

    pub(crate) fn finish(self, layers: &[&LayerIndex]) -> DiveFigures {
        let (mut min, mut sum, mut wasted) = (self.single.0, self.single.1, 0u64);
        for tally in self.paths.values() {
            min += if tally.layers == 0 {
                -1
            } else {
                i128::from(tally.min)
            };
            sum += tally.sum;
            if tally.layers >= 2 {
                wasted += tally.sum;
            }
        }
        let layer_size = |l: &LayerIndex| l.entries.iter().map(|e| e.size).sum::<u64>();
        let total: u64 = layers.iter().map(|l| layer_size(l)).sum();
        let user = total - layers.first().map_or(0, |l| layer_size(l));
        DiveFigures {
            efficiency: if sum == 0 {
                1.0
            } else {
                min as f64 / sum as f64
            },
            wasted_bytes: wasted,
            // As dive divides: +inf (or NaN) when nothing is above layer 0.
            user_wasted_fraction: wasted as f64 / user as f64,
        }
    }
}

/// The entries that are leaves of a layer's own tree: not an ancestor of another entry of
/// the layer, not an opaque marker (whose directory is a node of the layer's tree).
fn leaves(layer: &LayerIndex) -> impl Iterator<Item = &LayerEntry> {
    let mut inner: HashSet<&[u8]> = HashSet::new();
    for entry in &layer.entries {
        if entry.kind != EntryKind::Opaque || inner.insert(&entry.path) {
            mark_ancestors(&mut inner, &entry.path);
        }
    }
    layer
        .entries
        .iter()
        .filter(move |e| e.kind != EntryKind::Opaque && !inner.contains(&*e.path))
}

/// Adds the ancestors of `path` to `inner`, innermost first. Every path in `inner` has its
/// ancestors there too, so the climb stops at the first one already present: one lookup
/// per entry instead of one per ancestor.
fn mark_ancestors<'a>(inner: &mut HashSet<&'a [u8]>, path: &'a [u8]) {
    let mut rest = path;
    while let Some(cut) = rest.iter().rposition(|&b| b == b'/') {
        rest = &rest[..cut];
        if !inner.insert(rest) {
            return;
        }
    }
}

/// The key dive sorts a leaf by: names compared one by one (a NUL separator sorts below
/// every byte of a name), the last name with its `.wh.` prefix for a whiteout.
fn dive_order(path: &[u8], whiteout: bool) -> Vec<u8> {
    let mut key = Vec::with_capacity(path.len() + 4);
    let last = path.iter().rposition(|&c| c == b'/').map_or(0, |i| i + 1);
    for (i, &c) in path.iter().enumerate() {
        if i == last && whiteout {
            key.extend_from_slice(b".wh.");
        }
        key.push(if c == b'/' { 0 } else { c });
    }
    if whiteout && last == path.len() {
        key.extend_from_slice(b".wh.");
    }
    key
}

/// Σ tar header sizes of a directory and everything visible below it.
fn subtree_header_bytes(tree: &FileTree, id: NodeId, layers: &[&LayerIndex]) -> u64 {
    let mut total = 0;
    let mut stack = vec![id];
    while let Some(id) = stack.pop() {
        let node = tree.node(id);
        if !node.alive {
            continue;
        }
        if let Some(entry) = node.entry {
            total += layers[node.layer as usize].entries[entry as usize].size;
        }
        stack.extend_from_slice(&node.children);
    }
    total
}

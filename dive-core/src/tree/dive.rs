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

use hashbrown::{HashMap, HashSet};
use serde::Serialize;

use super::arena::{FileTree, NodeId};
use super::key::{KeyChain, PathKeys};
use super::shape::{EntryBudget, Shape};
use crate::layer::{EntryKind, LayerIndex};
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
    /// Paths that are leaves in two or more layers, by their 128-bit key: only these need
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
    /// Every layer's leaves, by key, until [`DiveTally::find_shared`] finds those of two
    /// layers.
    all: Vec<(u128, u32)>,
    /// Keys paths under a seed per run, so that an image cannot choose paths that collide.
    keys: PathKeys,
    /// The key of the path counted last, and of its directories.
    chain: KeyChain,
}

impl DiveTally {
    pub(crate) fn new(layers: usize) -> Self {
        Self {
            shared: HashSet::new(),
            paths: HashMap::new(),
            single: (0, 0),
            plain: Vec::with_capacity(layers),
            all: Vec::new(),
            keys: PathKeys::new(),
            chain: KeyChain::default(),
        }
    }

    /// Takes layer `index` (layers come in order), spending `budget` on its directories;
    /// returns its shape, which the merge and [`DiveTally::observe_layer`] follow.
    pub(crate) fn add_layer(
        &mut self,
        index: usize,
        layer: &LayerIndex,
        budget: &mut EntryBudget,
        checkpoint: &Checkpoint<'_>,
    ) -> Shape {
        let at = u32::try_from(index).unwrap_or(u32::MAX);
        let (mut bytes, mut whiteouts) = (0u64, false);
        let start = self.all.len();
        let shape = budget.shape(index, layer, &self.keys, checkpoint, |entry, key| {
            bytes = bytes.saturating_add(entry.size);
            whiteouts |= entry.kind == EntryKind::Whiteout;
            self.all.push((key, at));
        });
        let own = &mut self.all[start..];
        let listed = own.len();
        own.sort_unstable();
        let mut kept = start;
        for i in start..self.all.len() {
            if i == start || self.all[i].0 != self.all[kept - 1].0 {
                self.all[kept] = self.all[i];
                kept += 1;
            }
        }
        self.all.truncate(kept);
        self.plain
            .push((!whiteouts && kept - start == listed).then_some(bytes));
        shape
    }

    /// Once every layer is taken: finds the paths that more than one layer counts.
    pub(crate) fn find_shared(&mut self) {
        let mut all = std::mem::take(&mut self.all);
        all.sort_unstable();
        for pair in all.windows(2).filter(|pair| pair[0].0 == pair[1].0) {
            self.shared.insert(pair[0].0);
            for (_, layer) in pair {
                if let Some(plain) = self.plain.get_mut(*layer as usize) {
                    *plain = None;
                }
            }
        }
    }

    /// Path bytes hashed for keys so far.
    pub(crate) fn hashed(&self) -> u64 {
        self.keys.hashed()
    }

    /// Counts the leaves of layer `index` (of this `shape`); `below` is the tree of the
    /// layers under it. Once `checkpoint` says to stop, the rest of the layer is not counted.
    pub(crate) fn observe_layer(
        &mut self,
        index: usize,
        below: &FileTree,
        layers: &[&LayerIndex],
        shape: &Shape,
        checkpoint: &Checkpoint<'_>,
    ) {
        if let Some(bytes) = self.plain.get(index).copied().flatten() {
            self.single.0 += i128::from(bytes);
            self.single.1 = self.single.1.saturating_add(bytes);
            return;
        }
        let Some(layer) = layers.get(index) else {
            return;
        };
        // A path listed twice in one layer is one node of dive's layer tree; the last wins
        // (the entry it came from is kept, so that paths are counted in tar order, where
        // each shares most of its directories with the one before).
        let mut leaves_here: HashMap<&[u8], (u64, bool, bool, usize)> =
            HashMap::with_capacity(layer.entries.len());
        let leaves = (layer.entries.iter().enumerate()).filter(|&(i, _)| shape.leaf(i));
        for (i, entry) in leaves.clone() {
            if checkpoint.stop_at(i) {
                return;
            }
            let (size, fails) = if entry.kind == EntryKind::Whiteout {
                // dive sizes a deleted directory only when a tar entry made it (its file
                // info says "dir"); one implied by deeper paths counts 0, like a file.
                match below.lookup(&entry.path) {
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
            leaves_here.insert(&entry.path, (size, fails, whiteout, i));
        }
        // dive visits a layer's leaves depth first, names sorted (a whiteout by its `.wh.`
        // name). A whiteout of a path that does not exist below is an error that ends the
        // visit of that layer: the leaves after it are not counted, and the path is left in
        // dive's table with its "no size yet" minimum of -1.
        // Without such an error the order changes nothing, so only then is it computed.
        if !leaves_here.values().any(|&(_, fails, _, _)| fails) {
            for (i, entry) in leaves {
                match leaves_here.get(&*entry.path) {
                    Some(&(size, _, _, last)) if last == i => self.count(&entry.path, size),
                    _ => {}
                }
            }
            return;
        }
        let mut ordered: Vec<(Vec<u8>, &[u8], u64, bool)> = leaves_here
            .into_iter()
            .map(|(path, (size, fails, whiteout, _))| {
                (dive_order(path, whiteout), path, size, fails)
            })
            .collect();
        ordered.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for (_, path, size, fails) in ordered {
            if fails {
                // Left in dive's table with its "no size yet" minimum of -1.
                self.chain.set(&self.keys, path);
                self.paths.entry(self.chain.key()).or_default();
                break;
            }
            self.count(path, size);
        }
    }

    fn count(&mut self, path: &[u8], size: u64) {
        self.chain.set(&self.keys, path);
        let key = self.chain.key();
        if !self.shared.contains(&key) && !self.paths.contains_key(&key) {
            self.single.0 += i128::from(size);
            self.single.1 = self.single.1.saturating_add(size);
            return;
        }
        let tally = self.paths.entry(key).or_default();
        tally.min = if tally.layers == 0 {
            size
        } else {
            tally.min.min(size)
        };
        tally.sum = tally.sum.saturating_add(size);
        tally.layers += 1;
    }

    /// The figures; sizes are summed saturating (a crafted sparse file claims up to 16 TiB,
    /// and a million of them would pass 2^64).
    pub(crate) fn finish(self, layers: &[&LayerIndex], shapes: &[Shape]) -> DiveFigures {
        let (mut min, mut sum, mut wasted) = (self.single.0, self.single.1, 0u64);
        for tally in self.paths.values() {
            min += if tally.layers == 0 {
                -1
            } else {
                i128::from(tally.min)
            };
            sum = sum.saturating_add(tally.sum);
            if tally.layers >= 2 {
                wasted = wasted.saturating_add(tally.sum);
            }
        }
        // dive's layer size: Σ of its entries' sizes, those skipped left out.
        let layer_size = |index: usize| {
            let Some(layer) = layers.get(index) else {
                return 0;
            };
            let shape = shapes.get(index);
            (layer.entries.iter().enumerate())
                .filter(|&(i, _)| !shape.is_some_and(|s| s.skipped(i)))
                .fold(0u64, |total, (_, e)| total.saturating_add(e.size))
        };
        let total = (0..layers.len()).fold(0u64, |total, i| total.saturating_add(layer_size(i)));
        let user = total.saturating_sub(layer_size(0));
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
            total = u64::saturating_add(
                total,
                layers[node.layer as usize].entries[entry as usize].size,
            );
        }
        stack.extend_from_slice(&node.children);
    }
    total
}

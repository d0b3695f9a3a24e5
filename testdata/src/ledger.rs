//! The facts a generated image holds, computed by a deliberately naive model.
//!
//! The model keeps the merged file system as a sorted map of full paths and deletes
//! subtrees by prefix scans; content identity comes from (seed, size), or a text's own bytes,
//! not from hashing.
//! It shares no code with dive-core, so agreement between the two means something.

use std::collections::{BTreeMap, HashMap};

use crate::spec::{ImageSpec, Op};

/// What is visible at a path in the final image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinalEntry {
    /// `-` file, `h` hardlink, `d` dir, `l` symlink.
    pub kind: char,
    /// Content bytes for files and hardlinks.
    pub size: u64,
    /// Permission bits (`None` for directories implied by deeper paths).
    pub mode: Option<u32>,
}

/// Content hidden in the final image, with the evidence the model expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HiddenFact {
    /// Last path that showed it.
    pub path: Vec<u8>,
    /// Bytes.
    pub bytes: u64,
    /// Layer that added it.
    pub added_in_layer: usize,
    /// Layer that hid it.
    pub hidden_by_layer: usize,
    /// dive-core's `snake_case` reason name.
    pub reason: &'static str,
}

/// Every figure a test compares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    /// Σ regular-file bytes per layer (hardlinks once).
    pub layer_file_bytes: Vec<u64>,
    /// Tar entries per layer, as `tar -t` lists them (PAX/long-name headers folded in).
    pub layer_entries: Vec<usize>,
    /// Σ over layers.
    pub total_file_bytes: u64,
    /// Visible bytes.
    pub final_bytes: u64,
    /// Visible distinct contents.
    pub final_files: u64,
    /// Hidden bytes.
    pub hidden_bytes: u64,
    /// The final tree.
    pub final_paths: BTreeMap<Vec<u8>, FinalEntry>,
    /// Hidden contents, sorted by (path, added layer).
    pub hidden: Vec<HiddenFact>,
    /// Per layer, per entry: `A` new path, `M` path that existed below, `D` whiteout that
    /// removed something, `d` whiteout that removed nothing.
    pub layer_changes: Vec<Vec<char>>,
}

#[derive(Debug, Clone)]
struct Slot {
    kind: char,
    content: Option<usize>,
    mode: Option<u32>,
}

/// What makes two contents the same.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Identity {
    /// A generated file: (seed, size).
    Seeded(u64, u64),
    /// A text: its bytes.
    Text(Vec<u8>),
}

impl Identity {
    /// A generated file's identity; every empty file is the same (empty) content.
    fn seeded(seed: u64, size: u64) -> Self {
        if size == 0 {
            Identity::Text(Vec::new())
        } else {
            Identity::Seeded(seed, size)
        }
    }
}

struct ContentFact {
    size: u64,
    identity: Option<Identity>,
    layer: usize,
    refs: usize,
    last_drop: Option<(Vec<u8>, usize, &'static str)>,
}

struct Model {
    paths: BTreeMap<Vec<u8>, Slot>,
    contents: Vec<ContentFact>,
    layer: usize,
}

impl Model {
    fn drop_slot(&mut self, path: &[u8], slot: &Slot, reason: &'static str) {
        if let Some(c) = slot.content {
            let fact = &mut self.contents[c];
            fact.refs -= 1;
            if fact.refs == 0 {
                fact.last_drop = Some((path.to_vec(), self.layer, reason));
            }
        }
    }

    /// Removes everything strictly below `dir`.
    fn remove_below(&mut self, dir: &[u8], reason: &'static str) {
        let mut prefix = dir.to_vec();
        prefix.push(b'/');
        let doomed: Vec<Vec<u8>> = self
            .paths
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| k.clone())
            .collect();
        for path in doomed {
            if let Some(slot) = self.paths.remove(&path) {
                self.drop_slot(&path, &slot, reason);
            }
        }
    }

    fn remove_path(&mut self, path: &[u8], reason: &'static str) {
        if let Some(slot) = self.paths.remove(path) {
            self.drop_slot(path, &slot, reason);
        }
    }
}

/// Computes the ledger of `spec`.
pub fn ledger(spec: &ImageSpec) -> Ledger {
    let mut model = Model {
        paths: BTreeMap::new(),
        contents: Vec::new(),
        layer: 0,
    };
    let mut out = Ledger::default();
    for (layer_index, layer) in spec.layers.iter().enumerate() {
        model.layer = layer_index;
        let mut bytes = 0;
        let below: std::collections::BTreeSet<Vec<u8>> = model.paths.keys().cloned().collect();
        let mut changes = Vec::new();
        for op in layer.ops.iter().map(Op::unstamped) {
            changes.push(match op {
                Op::Whiteout { path } if model.paths.contains_key(path) => {
                    model.remove_below(path, "deleted_with_directory");
                    model.remove_path(path, "deleted");
                    'D'
                }
                Op::Opaque { dir } if model.paths.get(dir).is_some_and(|s| s.kind == 'd') => {
                    let mut prefix = dir.clone();
                    prefix.push(b'/');
                    let had_children = model
                        .paths
                        .range(prefix.clone()..)
                        .next()
                        .is_some_and(|(k, _)| k.starts_with(&prefix));
                    model.remove_below(dir, "opaque_directory");
                    if had_children { 'D' } else { 'd' }
                }
                Op::Whiteout { .. } | Op::Opaque { .. } => 'd',
                op if below.contains(op.path()) => 'M',
                _ => 'A',
            });
        }
        out.layer_changes.push(changes);
        let mut layer_files: HashMap<Vec<u8>, usize> = HashMap::new();
        for stamped in &layer.ops {
            let op = stamped.unstamped();
            let path = op.path().to_vec();
            let (kind, size, identity, mode) = match op {
                // `unstamped` took every stamp off.
                Op::Whiteout { .. } | Op::Opaque { .. } | Op::Stamped { .. } => continue,
                Op::Dir { mode, .. } => ('d', 0, None, Some(*mode)),
                Op::File {
                    size, seed, mode, ..
                } => (
                    '-',
                    *size,
                    Some(Identity::seeded(*seed, *size)),
                    Some(*mode),
                ),
                Op::PaxFile { size, seed, .. } => (
                    '-',
                    *size,
                    Some(Identity::seeded(*seed, *size)),
                    Some(0o644),
                ),
                // A database written again as it was (dpkg's `.list` on a reinstall) is the
                // same content.
                Op::Text { content, .. } => (
                    '-',
                    content.len() as u64,
                    Some(Identity::Text(content.clone())),
                    Some(0o644),
                ),
                Op::Symlink { .. } => ('l', 0, None, Some(0o777)),
                Op::Hardlink { .. } => ('h', 0, None, Some(0o644)),
            };
            // `chmod` sets the mode; owner and time are not in the ledger.
            let mode = mode.map(|own| stamped.stamp().mode.unwrap_or(own));
            // Every ancestor becomes a directory.
            for (i, _) in path.iter().enumerate().filter(|&(_, &b)| b == b'/') {
                let dir = path[..i].to_vec();
                let existing = model.paths.get(&dir).cloned();
                if let Some(slot) = existing.filter(|s| s.kind != 'd') {
                    model.drop_slot(&dir, &slot, "overwritten");
                }
                if model.paths.get(&dir).is_none_or(|s| s.kind != 'd') {
                    model.paths.insert(
                        dir,
                        Slot {
                            kind: 'd',
                            content: None,
                            mode: None,
                        },
                    );
                }
            }
            if let Some(old) = model.paths.get(&path).cloned() {
                if old.kind == 'd' {
                    if kind != 'd' {
                        model.remove_below(&path, "directory_replaced");
                    }
                } else {
                    let same = old
                        .content
                        .and_then(|c| model.contents[c].identity.as_ref())
                        .is_some_and(|id| Some(id) == identity.as_ref());
                    model.drop_slot(
                        &path,
                        &old,
                        if same { "metadata_only" } else { "overwritten" },
                    );
                }
            }
            let content = match op {
                Op::File { .. } | Op::PaxFile { .. } | Op::Text { .. } => {
                    bytes += size;
                    model.contents.push(ContentFact {
                        size,
                        identity,
                        layer: layer_index,
                        refs: 1,
                        last_drop: None,
                    });
                    let c = model.contents.len() - 1;
                    layer_files.insert(path.clone(), c);
                    Some(c)
                }
                Op::Hardlink { target, .. } => {
                    let c = layer_files
                        .get(target)
                        .copied()
                        .or_else(|| model.paths.get(target).and_then(|s| s.content));
                    if let Some(c) = c {
                        model.contents[c].refs += 1;
                        layer_files.insert(path.clone(), c);
                    }
                    c
                }
                _ => {
                    layer_files.remove(&path);
                    None
                }
            };
            model.paths.insert(
                path,
                Slot {
                    kind,
                    content,
                    mode,
                },
            );
        }
        out.layer_file_bytes.push(bytes);
        out.layer_entries.push(layer.ops.len());
    }
    out.total_file_bytes = out.layer_file_bytes.iter().sum();
    let mut seen = vec![false; model.contents.len()];
    for (path, slot) in &model.paths {
        let size = slot.content.map_or(0, |c| model.contents[c].size);
        if let Some(c) = slot.content.filter(|&c| !seen[c]) {
            seen[c] = true;
            out.final_bytes += size;
            out.final_files += 1;
        }
        out.final_paths.insert(
            path.clone(),
            FinalEntry {
                kind: slot.kind,
                size,
                mode: slot.mode,
            },
        );
    }
    for fact in &model.contents {
        if fact.refs == 0 {
            out.hidden_bytes += fact.size;
            if let Some((path, by, reason)) = &fact.last_drop {
                out.hidden.push(HiddenFact {
                    path: path.clone(),
                    bytes: fact.size,
                    added_in_layer: fact.layer,
                    hidden_by_layer: *by,
                    reason,
                });
            }
        }
    }
    out.hidden
        .sort_by(|a, b| (&a.path, a.added_in_layer).cmp(&(&b.path, b.added_in_layer)));
    out
}

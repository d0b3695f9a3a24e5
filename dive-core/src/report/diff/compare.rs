//! Two analyses compared: the changes of layers, totals, families, packages, waste and
//! paths ([`ImageDiff`]).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::Serialize;

use crate::analysis::Analysis;
use crate::attribution::Ecosystem;

/// Version of the diff's JSON document.
pub const DIFF_SCHEMA_VERSION: u32 = 3;

/// One image of the two.
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    /// The input as named.
    pub input: String,
    /// Its reference, when known.
    pub reference: Option<String>,
    /// Config digest (image ID).
    pub config_digest: String,
}

/// A layer of either image and whether the other has it.
#[derive(Debug, Clone, Serialize)]
pub struct LayerChange {
    /// `shared`, `added` (only in the new image) or `removed` (only in the old one).
    pub status: Presence,
    /// Position in the old image.
    pub old_index: Option<usize>,
    /// Position in the new image.
    pub new_index: Option<usize>,
    /// `diff_id`, else blob digest.
    pub key: Option<String>,
    /// Σ file bytes.
    pub file_bytes: u64,
    /// Blob size as stored.
    pub size_compressed: u64,
    /// The Dockerfile step.
    pub created_by: Option<String>,
}

/// On which side something exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    /// In both.
    Shared,
    /// Only in the new image.
    Added,
    /// Only in the old image.
    Removed,
}

/// A named figure in both images.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Total {
    /// `final_bytes`, `hidden_bytes`…
    pub name: &'static str,
    /// Old value.
    pub old: f64,
    /// New value.
    pub new: f64,
    /// Whether the figure is bytes (else a count or a ratio).
    pub bytes: bool,
}

/// Bytes of something named in both images.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delta {
    /// Family or waste class name.
    pub name: String,
    /// Old bytes.
    pub old: u64,
    /// New bytes.
    pub new: u64,
    /// `new − old`.
    pub delta: i64,
}

/// How a package changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PackageStatus {
    /// Only in the new image.
    Added,
    /// Only in the old image.
    Removed,
    /// In both, another version.
    VersionChanged,
    /// In both, same version, other bytes.
    Resized,
    /// Only in another location of the new image (a venv moved, `--user` to a venv): one
    /// package that moved, not one removed and one added.
    Moved,
}

/// One package that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageChange {
    /// Package manager.
    pub ecosystem: Ecosystem,
    /// Name.
    pub name: String,
    /// Family.
    pub family: Option<String>,
    /// What changed.
    pub status: PackageStatus,
    /// Where it lived in the old image.
    pub old_location: Option<String>,
    /// Where it lives in the new image.
    pub new_location: Option<String>,
    /// Old version.
    pub old_version: Option<String>,
    /// New version.
    pub new_version: Option<String>,
    /// Old shipped bytes (visible + hidden).
    pub old_bytes: u64,
    /// New shipped bytes.
    pub new_bytes: u64,
    /// `new − old`.
    pub delta: i64,
    /// Layers carrying it: in the new image, else (removed) in the old.
    pub layers: Vec<usize>,
}

/// How a visible file changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PathStatus {
    /// Only in the new image.
    Added,
    /// Only in the old image.
    Removed,
    /// Bigger.
    Grown,
    /// Smaller.
    Shrunk,
    /// Same size, written by a layer the old image does not share.
    Rewritten,
}

/// One visible file that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathChange {
    /// `/`-prefixed path, shown lossily.
    pub path: String,
    /// What changed.
    pub status: PathStatus,
    /// Old bytes (0 when added).
    pub old_bytes: u64,
    /// New bytes (0 when removed).
    pub new_bytes: u64,
    /// `new − old`.
    pub delta: i64,
    /// The layer carrying it: in the new image, else (removed) in the old.
    pub layer: usize,
}

/// Everything that differs between two analyses: show it with
/// [`render`](super::render) (text, Markdown, HTML or JSON). Its records are the renderer's
/// to change.
#[derive(Debug, Clone, Serialize)]
pub struct ImageDiff {
    /// The old image.
    #[doc(hidden)]
    pub old: Side,
    /// The new image.
    #[doc(hidden)]
    pub new: Side,
    /// New layers in order with what they share, then old layers that are gone.
    #[doc(hidden)]
    pub layers: Vec<LayerChange>,
    /// Totals side by side.
    #[doc(hidden)]
    pub totals: Vec<Total>,
    /// Families whose bytes changed, largest change first.
    #[doc(hidden)]
    pub families: Vec<Delta>,
    /// Packages that changed, largest change first.
    #[doc(hidden)]
    pub packages: Vec<PackageChange>,
    /// Waste classes whose bytes changed, largest change first.
    #[doc(hidden)]
    pub waste: Vec<Delta>,
    /// The largest path-level changes, largest first.
    #[doc(hidden)]
    pub paths: Vec<PathChange>,
    /// Path-level changes in all (`paths` keeps the largest).
    #[doc(hidden)]
    pub path_changes: usize,
    /// Secrets the new image ships that the old one does not, redacted.
    #[doc(hidden)]
    pub new_secrets: Vec<crate::secrets::Secret>,
    /// Secrets of the old image the new one no longer ships.
    #[doc(hidden)]
    pub secrets_gone: usize,
}

fn side(analysis: &Analysis) -> Side {
    Side {
        input: analysis.input.clone(),
        reference: analysis.image.reference.clone(),
        config_digest: analysis.image.config_digest.clone(),
    }
}

pub(super) fn signed(new: u64, old: u64) -> i64 {
    i64::try_from(i128::from(new) - i128::from(old)).unwrap_or(i64::MAX)
}

/// Compares two analyses; `top` caps the path-level list.
pub fn diff(old: &Analysis, new: &Analysis, top: usize) -> ImageDiff {
    let layers = layer_changes(old, new);
    let mut paths = path_changes(old, new, &layers);
    let path_count = paths.len();
    paths.truncate(top);
    ImageDiff {
        old: side(old),
        new: side(new),
        layers,
        totals: totals(old, new),
        families: deltas(
            old.attribution
                .families
                .iter()
                .map(|f| (f.name.clone(), f.bytes + f.hidden_bytes)),
            new.attribution
                .families
                .iter()
                .map(|f| (f.name.clone(), f.bytes + f.hidden_bytes)),
        ),
        packages: package_changes(old, new),
        waste: deltas(
            old.attribution
                .waste
                .iter()
                .map(|w| (w.class.name().to_owned(), w.bytes)),
            new.attribution
                .waste
                .iter()
                .map(|w| (w.class.name().to_owned(), w.bytes)),
        ),
        paths,
        path_changes: path_count,
        new_secrets: new_secrets(old, new),
        secrets_gone: new_secrets(new, old).len(),
    }
}

/// The secrets of `new` that `old` does not ship: the same rule, source, place and
/// redacted value (fingerprints match a value without showing it), whatever its layer.
fn new_secrets(old: &Analysis, new: &Analysis) -> Vec<crate::secrets::Secret> {
    fn key(s: &crate::secrets::Secret) -> (&str, &str, Option<&str>, Option<&str>, &str) {
        (
            s.rule,
            s.source.name(),
            s.path.as_deref(),
            s.name.as_deref(),
            &s.redacted,
        )
    }
    let before: std::collections::HashSet<_> = old.secrets.iter().map(key).collect();
    new.secrets
        .iter()
        .filter(|s| !before.contains(&key(s)))
        .cloned()
        .collect()
}

fn layer_key(analysis: &Analysis, index: usize) -> Option<String> {
    let layer = analysis.layers.get(index)?;
    layer.diff_id.clone().or_else(|| layer.digest.clone())
}

fn layer_changes(old: &Analysis, new: &Analysis) -> Vec<LayerChange> {
    let mut old_by_key: HashMap<String, Vec<usize>> = HashMap::new();
    for i in 0..old.layers.len() {
        if let Some(key) = layer_key(old, i) {
            old_by_key.entry(key).or_default().push(i);
        }
    }
    let mut used = HashSet::new();
    let mut changes: Vec<LayerChange> = new
        .layers
        .iter()
        .map(|layer| {
            let key = layer_key(new, layer.index);
            // The first old layer with this content that is not matched yet.
            let old_index = key
                .as_ref()
                .and_then(|k| old_by_key.get(k))
                .and_then(|list| list.iter().copied().find(|i| !used.contains(i)));
            if let Some(i) = old_index {
                used.insert(i);
            }
            LayerChange {
                status: if old_index.is_some() {
                    Presence::Shared
                } else {
                    Presence::Added
                },
                old_index,
                new_index: Some(layer.index),
                key,
                file_bytes: layer.file_bytes,
                size_compressed: layer.size_compressed,
                created_by: layer.created_by.clone(),
            }
        })
        .collect();
    changes.extend(
        old.layers
            .iter()
            .filter(|l| !used.contains(&l.index))
            .map(|layer| LayerChange {
                status: Presence::Removed,
                old_index: Some(layer.index),
                new_index: None,
                key: layer_key(old, layer.index),
                file_bytes: layer.file_bytes,
                size_compressed: layer.size_compressed,
                created_by: layer.created_by.clone(),
            }),
    );
    changes
}

fn totals(old: &Analysis, new: &Analysis) -> Vec<Total> {
    let (a, b) = (&old.image, &new.image);
    let total = |name, old: u64, new: u64, bytes| Total {
        name,
        old: old as f64,
        new: new as f64,
        bytes,
    };
    vec![
        total("final_bytes", a.final_bytes, b.final_bytes, true),
        total("hidden_bytes", a.hidden_bytes, b.hidden_bytes, true),
        total(
            "shipped_file_bytes",
            a.total_file_bytes,
            b.total_file_bytes,
            true,
        ),
        total(
            "size_compressed",
            a.size_compressed,
            b.size_compressed,
            true,
        ),
        total(
            "size_uncompressed",
            a.size_uncompressed,
            b.size_uncompressed,
            true,
        ),
        total("final_files", a.final_files, b.final_files, false),
        total("layers", a.layer_count as u64, b.layer_count as u64, false),
        Total {
            name: "efficiency",
            old: a.efficiency,
            new: b.efficiency,
            bytes: false,
        },
    ]
}

/// Names in either list whose bytes differ, largest |delta| first.
fn deltas(
    old: impl Iterator<Item = (String, u64)>,
    new: impl Iterator<Item = (String, u64)>,
) -> Vec<Delta> {
    let mut both: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for (name, bytes) in old {
        both.entry(name).or_default().0 += bytes;
    }
    for (name, bytes) in new {
        both.entry(name).or_default().1 += bytes;
    }
    let mut out: Vec<Delta> = both
        .into_iter()
        .filter(|(_, (a, b))| a != b)
        .map(|(name, (old, new))| Delta {
            name,
            old,
            new,
            delta: signed(new, old),
        })
        .collect();
    largest_change_first(&mut out, |d| (d.delta, &d.name));
    out
}

/// Sorts by |delta|, largest first, then by name.
fn largest_change_first<T>(items: &mut [T], key: impl Fn(&T) -> (i64, &str)) {
    items.sort_by(|a, b| {
        let ((da, na), (db, nb)) = (key(a), key(b));
        db.unsigned_abs()
            .cmp(&da.unsigned_abs())
            .then_with(|| na.cmp(nb))
    });
}

fn package_changes(old: &Analysis, new: &Analysis) -> Vec<PackageChange> {
    type Key = (Ecosystem, String, String);
    let index = |analysis: &Analysis| -> BTreeMap<Key, usize> {
        analysis
            .attribution
            .packages
            .iter()
            .enumerate()
            .map(|(i, p)| ((p.ecosystem, p.name.clone(), p.location.clone()), i))
            .collect()
    };
    let (old_index, new_index) = (index(old), index(new));
    let keys: BTreeSet<&Key> = old_index.keys().chain(new_index.keys()).collect();
    // A name only removed from one place and only added in one other has moved.
    let mut gone: BTreeMap<(Ecosystem, &str), Vec<&Key>> = BTreeMap::new();
    let mut came: BTreeMap<(Ecosystem, &str), Vec<&Key>> = BTreeMap::new();
    for &key in &keys {
        match (old_index.contains_key(key), new_index.contains_key(key)) {
            (true, false) => gone.entry((key.0, &key.1)).or_default().push(key),
            (false, true) => came.entry((key.0, &key.1)).or_default().push(key),
            _ => {}
        }
    }
    let mut pairs: Vec<(Option<&Key>, Option<&Key>)> = Vec::new();
    let mut paired: BTreeSet<&Key> = BTreeSet::new();
    for (name, from) in &gone {
        if let (&[from], Some(&[to])) = (from.as_slice(), came.get(name).map(Vec::as_slice)) {
            pairs.push((Some(from), Some(to)));
            paired.extend([from, to]);
        }
    }
    for &key in keys.iter().filter(|k| !paired.contains(*k)) {
        pairs.push((
            old_index.contains_key(key).then_some(key),
            new_index.contains_key(key).then_some(key),
        ));
    }
    let mut out = Vec::new();
    for (old_key, new_key) in pairs {
        let a = old_key
            .and_then(|k| old_index.get(k))
            .map(|&i| &old.attribution.packages[i]);
        let b = new_key
            .and_then(|k| new_index.get(k))
            .map(|&i| &new.attribution.packages[i]);
        let bytes =
            |p: Option<&crate::attribution::Package>| p.map_or(0, |p| p.bytes + p.hidden_bytes);
        let (old_bytes, new_bytes) = (bytes(a), bytes(b));
        let status = match (a, b) {
            (None, Some(_)) => PackageStatus::Added,
            (Some(_), None) => PackageStatus::Removed,
            (Some(a), Some(b)) if a.location != b.location => PackageStatus::Moved,
            (Some(a), Some(b)) if a.version != b.version => PackageStatus::VersionChanged,
            (Some(_), Some(_)) if old_bytes != new_bytes => PackageStatus::Resized,
            _ => continue,
        };
        let Some(any) = b.or(a) else { continue };
        out.push(PackageChange {
            ecosystem: any.ecosystem,
            name: any.name.clone(),
            family: any.family.clone(),
            status,
            old_location: a.map(|p| p.location.clone()),
            new_location: b.map(|p| p.location.clone()),
            old_version: a.and_then(|p| p.version.clone()),
            new_version: b.and_then(|p| p.version.clone()),
            old_bytes,
            new_bytes,
            delta: signed(new_bytes, old_bytes),
            layers: any.layers.clone(),
        });
    }
    largest_change_first(&mut out, |p| (p.delta, &p.name));
    out
}

/// Visible files: path → (bytes, layer that added the content).
fn visible_files(analysis: &Analysis) -> HashMap<Vec<u8>, (u64, usize)> {
    let tree = &analysis.tree;
    tree.walk()
        .filter_map(|id| {
            let node = tree.node(id);
            let inode = tree.inode(node.inode?);
            Some((tree.path(id), (inode.size, inode.layer as usize)))
        })
        .collect()
}

fn path_changes(old: &Analysis, new: &Analysis, layers: &[LayerChange]) -> Vec<PathChange> {
    // New layer → the old layer with the same content.
    let shared: HashMap<usize, usize> = layers
        .iter()
        .filter_map(|c| Some((c.new_index?, c.old_index?)))
        .collect();
    let (a, b) = (visible_files(old), visible_files(new));
    let mut out = Vec::new();
    let shown = |p: &[u8]| format!("/{}", String::from_utf8_lossy(p));
    for (path, &(new_bytes, layer)) in &b {
        let status = match a.get(path) {
            None => PathStatus::Added,
            Some(&(old_bytes, _)) if new_bytes > old_bytes => PathStatus::Grown,
            Some(&(old_bytes, _)) if new_bytes < old_bytes => PathStatus::Shrunk,
            Some(&(_, old_layer)) if shared.get(&layer) != Some(&old_layer) => {
                PathStatus::Rewritten
            }
            Some(_) => continue,
        };
        let old_bytes = a.get(path).map_or(0, |&(bytes, _)| bytes);
        out.push(PathChange {
            path: shown(path),
            status,
            old_bytes,
            new_bytes,
            delta: signed(new_bytes, old_bytes),
            layer,
        });
    }
    for (path, &(old_bytes, layer)) in &a {
        if !b.contains_key(path) {
            out.push(PathChange {
                path: shown(path),
                status: PathStatus::Removed,
                old_bytes,
                new_bytes: 0,
                delta: signed(0, old_bytes),
                layer,
            });
        }
    }
    // Size changes first by how much; rewrites of equal size after them, by size.
    out.sort_by(|x, y| {
        y.delta
            .unsigned_abs()
            .cmp(&x.delta.unsigned_abs())
            .then_with(|| y.new_bytes.cmp(&x.new_bytes))
            .then_with(|| x.path.cmp(&y.path))
    });
    out
}

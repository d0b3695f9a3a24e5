//! Packages installed again by a later layer (`pip install torch==2.10.0` over 2.9.0,
//! `pip install --force-reinstall`, `apt-get install --reinstall`): the earlier copy's files
//! are hidden but still ship.
//!
//! The rule ([`RULE`]): package p's hidden bytes that layer A added and a later layer R hid
//! are a reinstall when
//! - p's database already listed it at or before A (there was an earlier install),
//! - R wrote at least one of those files again at the same path (overwrote it, rewrote it
//!   with the same bytes, or deleted its directory and filled it again, as pip does under
//!   overlayfs),
//! - and R says that it installed p: its database gives p another version than the one
//!   before R (an upgrade), or it holds p's own database record, one a package manager
//!   writes only when it installs that package (dpkg `info/<p>.list`, distroless
//!   `status.d/<p>`, a dist-info or egg-info, a `conda-meta/*.json`, an npm
//!   `package.json`), written anew: with another modification time or other bytes than
//!   the copy of it below R, or with none below.
//!
//! Why the record must be new: `chown -R app /opt/venv` and `chmod -R g=u /usr` rewrite
//! every file they reach, records included, with the same bytes and modification time
//! (only owner or mode change; overlayfs's copy-up keeps the time), and they are among the
//! commonest steps. An installer writes the record at install time, so its time differs:
//! pip writes every file at install time, dpkg gives a package's files and `.md5sums` the
//! times in the `.deb` (the same on a same-version reinstall) but writes `.list` when it
//! installs. The package's other files are no sign: a `sed -i` in the chown step gives one
//! of them a new time. A build that sets every time to one value (BuildKit's
//! `rewrite-timestamp` with `SOURCE_DATE_EPOCH`, Bazel, ko) makes a same-version reinstall
//! look like a chown: it is left untold in its hidden class rather than a chown told as a
//! reinstall. apk keeps every package in one database, so an upgrade is the only sign it
//! leaves: `apk fix --reinstall` at the same version is not told apart from a trigger or
//! `sed -i` rewriting the package's files, and is left in its hidden class too.
//!
//! Then every hidden byte of that copy counts, deleted ones too (a pip upgrade deletes the
//! old dist-info rather than overwriting it). Anything else stays in its hidden class: an
//! `apt-get install x && rm -rf /usr/share/doc/*` layer rewrites `var/lib/dpkg/status`,
//! which lists every package, and deletes their docs, but installs none of them again.
//!
//! Cost: one map entry per (package, adding layer, hiding layer) that could qualify; a
//! hidden file costs a few map lookups and, until its copy has a witness, one path lookup
//! in the final tree. Telling a record written anew costs a map entry per database the walk
//! kept, and a read back of two records of one length whose kept bytes differ.

use hashbrown::{HashMap, HashSet};
use serde::Serialize;

use super::package::{Building, Ecosystem};
use super::waste::WasteClass;
use crate::layer::{Captured, ContentHash, EntryKind, LayerIndex};
use crate::tree::{FileTree, HiddenItem, HiddenReason};

/// The rule, as the report states it beside the reinstalls it found.
pub(crate) const RULE: &str = "a package counts as installed again only where the later layer \
    wrote its own files again with a new version of it, or with its own record (dpkg \
    info/<name>.list, a dist-info) written anew: another modification time or other bytes \
    than the copy it hides, as an installer writes it and chown -R or chmod -R never do (so \
    where a build gives every file one time, as SOURCE_DATE_EPOCH does, a reinstall of the \
    same version goes untold); not where it rewrote a database listing every package (dpkg \
    status, apk installed). The old copy's deleted files then count too";

/// A package a later layer installed again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Reinstall {
    /// Package manager.
    pub ecosystem: Ecosystem,
    /// Name.
    pub name: String,
    /// Where it is installed.
    pub location: String,
    /// The version the earlier layer installed.
    pub old_version: Option<String>,
    /// The version the later layer installed.
    pub new_version: Option<String>,
    /// The layer that installed the earlier copy.
    pub added_in_layer: usize,
    /// The layer that installed it again.
    pub replaced_in_layer: usize,
    /// Bytes of the earlier copy that ship hidden.
    pub hidden_bytes: u64,
    /// Those bytes by the hidden class they are counted in.
    #[serde(skip)]
    pub by_class: Vec<(WasteClass, u64)>,
}

/// The hidden bytes of one earlier copy of a package, hidden by one layer.
#[derive(Debug, Default)]
struct EarlierCopy {
    /// By hidden class (at most three).
    by_class: Vec<(WasteClass, u64)>,
    /// Files the hiding layer wrote again at the same path.
    written_again: u64,
}

/// Hidden bytes of packages, by (package, adding layer, hiding layer).
#[derive(Debug, Default)]
pub(super) struct Tally {
    copies: HashMap<(usize, usize, usize), EarlierCopy>,
}

impl Tally {
    /// Counts a hidden item owned by package `p`; `tree` is the final tree, to see whether
    /// the hiding layer wrote a deleted path again.
    pub(super) fn hidden(
        &mut self,
        p: usize,
        package: &Building,
        item: &HiddenItem,
        tree: &FileTree,
    ) {
        let (added, hider) = (item.added_in_layer, item.hidden_by_layer);
        // Copies that can never qualify are not kept: this keeps the map to candidates. A
        // layer that lists a path twice (two wheels sharing `nvidia/__init__.py`) hides its
        // own file, which is no reinstall.
        if hider <= added
            || !installed_by(package, hider)
            || package.versions.range(..=added).next().is_none()
        {
            return;
        }
        let copy = self.copies.entry((p, added, hider)).or_default();
        let class = super::waste::hidden_class(item.reason);
        match copy.by_class.iter_mut().find(|(c, _)| *c == class) {
            Some((_, bytes)) => *bytes += item.bytes,
            None => copy.by_class.push((class, item.bytes)),
        }
        let rewritten = matches!(
            item.reason,
            HiddenReason::Overwritten | HiddenReason::MetadataOnly
        );
        // One witness is enough: a deleted path is looked up only until one is found.
        if rewritten || copy.written_again == 0 && written_by(tree, &item.path, hider) {
            copy.written_again += 1;
        }
    }

    /// The reinstalls among the counted bytes (the old version is the latest database at or
    /// before the adding layer, the new one the hiding layer's). Largest first.
    pub(super) fn reinstalls(self, packages: &[Building]) -> Vec<Reinstall> {
        let mut out: Vec<Reinstall> = Vec::new();
        for ((p, added, replaced), copy) in self.copies {
            let Some(package) = packages.get(p) else {
                continue;
            };
            let Some(new_version) = package.versions.get(&replaced) else {
                continue;
            };
            let Some((_, old_version)) = package.versions.range(..=added).next_back() else {
                continue;
            };
            // Empty files shipped twice cost nothing: not worth a finding.
            if copy.written_again == 0 || copy.by_class.iter().all(|&(_, bytes)| bytes == 0) {
                continue;
            }
            let mut by_class = copy.by_class;
            by_class.sort_unstable();
            out.push(Reinstall {
                ecosystem: package.ecosystem,
                name: package.name.clone(),
                location: package.location.clone(),
                old_version: old_version.clone(),
                new_version: new_version.clone(),
                added_in_layer: added,
                replaced_in_layer: replaced,
                hidden_bytes: by_class.iter().map(|(_, b)| b).sum(),
                by_class,
            });
        }
        out.sort_by(|a, b| {
            b.hidden_bytes
                .cmp(&a.hidden_bytes)
                .then_with(|| a.name.cmp(&b.name))
                .then_with(|| a.location.cmp(&b.location))
                .then(a.added_in_layer.cmp(&b.added_in_layer))
                .then(a.replaced_in_layer.cmp(&b.replaced_in_layer))
        });
        out
    }
}

/// Whether `layer` says that it installed the package: it holds the package's own record
/// written anew, or its database gives another version than the one in effect below it.
fn installed_by(package: &Building, layer: usize) -> bool {
    if package.records.contains(&layer) {
        return true;
    }
    let below = package.versions.range(..layer).next_back();
    matches!(
        (package.versions.get(&layer), below),
        (Some(Some(new)), Some((_, Some(old)))) if new != old
    )
}

/// Whether `layer` wrote `path` again after deleting it (a directory deleted or made opaque,
/// then filled again): the file there now is that layer's. A file a still later layer
/// changed again is not seen here.
fn written_by(tree: &FileTree, path: &[u8], layer: usize) -> bool {
    tree.lookup(path).is_some_and(|id| {
        let node = tree.node(id);
        node.layer as usize == layer && matches!(node.kind, EntryKind::File | EntryKind::Hardlink)
    })
}

/// The databases the walk kept that a layer wrote again as they were, by (layer, entry):
/// the same bytes and modification time as the copy at the same path in the nearest layer
/// below that kept one. That is what `chown -R` and `chmod -R` write; an installer writes
/// its record at install time. A layer that lists a path twice is compared with the layers
/// below, as the merge hides only their copies; a copy deleted in between is not seen (the
/// record is then compared with the one before the deletion).
pub(super) fn rewritten_as_they_were(layers: &[&LayerIndex]) -> HashSet<(usize, u32)> {
    let mut below: HashMap<&[u8], (&LayerIndex, u32, &Captured)> = HashMap::new();
    let mut unchanged = HashSet::new();
    for (l, layer) in layers.iter().enumerate() {
        for (entry, kept) in &layer.captured {
            let Some(new) = layer.entries.get(*entry as usize) else {
                continue;
            };
            let Some(&(old_layer, old_entry, old_kept)) = below.get(&*new.path) else {
                continue;
            };
            let old_mtime = old_layer.entries.get(old_entry as usize).map(|e| e.mtime);
            if old_mtime == Some(new.mtime) && same_bytes(old_kept, kept) {
                unchanged.insert((l, *entry));
            }
        }
        for (entry, kept) in &layer.captured {
            if let Some(new) = layer.entries.get(*entry as usize) {
                below.insert(&new.path, (layer, *entry, kept));
            }
        }
    }
    unchanged
}

/// Whether two kept databases hold the same bytes. Kept bytes compressed alike are; the same
/// bytes may be compressed apart by another build's zstd (a saved scan, the layer cache), so
/// those of one length are read back, one at a time, as attributing reads them.
fn same_bytes(a: &Captured, b: &Captured) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if a == b {
        return true;
    }
    let hash = |kept: &Captured| kept.content().map(|bytes| ContentHash::of(&bytes));
    // Damaged kept bytes are not read as a database at all: no record to compare.
    hash(a).is_some_and(|a| hash(b) == Some(a))
}

//! Packages installed again by a later layer (`pip install torch==2.10.0` over 2.9.0, or
//! `--force-reinstall` of the same version): the earlier copy's files are hidden but still
//! ship. A hidden file is a reinstall's when its package's database is in both the layer
//! that added the file and the layer that hid it.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Building, Ecosystem, WasteClass};
use crate::tree::HiddenItem;

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

/// Hidden bytes of packages, by (package, adding layer, hiding layer) and hidden class.
#[derive(Debug, Default)]
pub(super) struct Tally {
    bytes: BTreeMap<(usize, usize, usize), BTreeMap<WasteClass, u64>>,
}

impl Tally {
    /// Counts a hidden item owned by package `p`.
    pub(super) fn add(&mut self, p: usize, item: &HiddenItem) {
        let class = super::waste::hidden_class(item.reason);
        *self
            .bytes
            .entry((p, item.added_in_layer, item.hidden_by_layer))
            .or_default()
            .entry(class)
            .or_default() += item.bytes;
    }

    /// The reinstalls among the counted bytes: the package's database is in the hiding
    /// layer too (its version is the new one; the old one is the latest database at or
    /// before the adding layer). Largest first.
    pub(super) fn reinstalls(self, packages: &[Building]) -> Vec<Reinstall> {
        let mut out: Vec<Reinstall> = Vec::new();
        for ((p, added, replaced), classes) in self.bytes {
            let Some(package) = packages.get(p) else {
                continue;
            };
            let Some(new_version) = package.versions.get(&replaced) else {
                continue;
            };
            let old_version = package
                .versions
                .range(..=added)
                .next_back()
                .and_then(|(_, v)| v.clone());
            out.push(Reinstall {
                ecosystem: package.ecosystem,
                name: package.name.clone(),
                location: package.location.clone(),
                old_version,
                new_version: new_version.clone(),
                added_in_layer: added,
                replaced_in_layer: replaced,
                hidden_bytes: classes.values().sum(),
                by_class: classes.into_iter().collect(),
            });
        }
        out.sort_by(|a, b| {
            b.hidden_bytes
                .cmp(&a.hidden_bytes)
                .then_with(|| a.name.cmp(&b.name))
                .then(a.added_in_layer.cmp(&b.added_in_layer))
        });
        out
    }
}

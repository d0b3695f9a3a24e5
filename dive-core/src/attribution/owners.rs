//! Who owns every byte: the flow from captured databases to packages, families, waste and
//! unowned directories ([`attribute`]).

use std::collections::{BTreeMap, BTreeSet};

use hashbrown::HashMap;

use serde::Serialize;

use super::claims::{Claims, Which};
use super::databases::{is_rpm, lists_every_package, parse_database, rpm_reads};
use super::device_code::Cuda;
use super::duplicates::DuplicateGroup;
use super::families::FamilyRules;
use super::package::{Building, DbPackage, Ecosystem, Package};
use super::reinstalls::Reinstall;
use super::room::Room;
use super::waste::Waste;
use super::{device_code, dpkg, duplicates, families, reinstalls, waste};
use crate::layer::{LayerIndex, Recorded};
use crate::path::ancestors;
use crate::stage::{Checkpoint, Stage};
use crate::tree::{ContentHasher, FileTree, HiddenItem, InodeId};

/// Bytes of one family of packages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FamilyTotal {
    /// Family name (`nvidia`, `torch`, `toolchain`…).
    pub name: String,
    /// Visible bytes.
    pub bytes: u64,
    /// Hidden bytes.
    pub hidden_bytes: u64,
    /// Packages in it.
    pub packages: usize,
}

/// Bytes no database claims, by top directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnownedDir {
    /// `/root`, `/app`… (`/` for files at the root).
    pub dir: String,
    /// Visible bytes.
    pub bytes: u64,
    /// Visible files.
    pub files: u64,
    /// Hidden bytes.
    pub hidden_bytes: u64,
}

/// Ownership of every byte of an image.
#[derive(Debug, Clone, Default)]
pub struct Attribution {
    /// Packages, largest first.
    pub packages: Vec<Package>,
    /// Families, largest first.
    pub families: Vec<FamilyTotal>,
    /// Unowned bytes by top directory, largest first.
    pub unowned: Vec<UnownedDir>,
    /// Avoidable bytes by class, largest first.
    pub waste: Vec<Waste>,
    /// Files visible at several paths with the same bytes, largest saving first.
    pub duplicates: Vec<DuplicateGroup>,
    /// Packages a later layer installed again over an earlier layer's copy, largest first.
    pub reinstalls: Vec<Reinstall>,
    /// Paths and contents looked at while grouping duplicates ([`crate::Work`]).
    pub(crate) duplicate_steps: u64,
    /// Bytes of what databases listed that were built or hashed ([`crate::Work`]).
    pub(crate) database_bytes: u64,
    /// What attributing met that the figures should carry: databases not read in full.
    pub(crate) warnings: Vec<crate::error::Warning>,
    /// Owner (index into `packages`) of each content, by inode id ([`Attribution::owner_of`]).
    pub(crate) inode_owner: Vec<Option<u32>>,
    /// CUDA device code of the files the image ships.
    pub cuda: Cuda,
}

impl Attribution {
    /// The package (an index into [`Attribution::packages`]) that owns content `inode`, if
    /// any.
    pub fn owner_of(&self, inode: InodeId) -> Option<u32> {
        self.inode_owner.get(inode.0 as usize).copied().flatten()
    }

    /// Whether packages of `ecosystem` live in more than one place (two venvs, a venv and
    /// `~/.local`, nested `node_modules`): then where each lives is worth saying.
    pub fn several_locations(&self, ecosystem: Ecosystem) -> bool {
        let mut places = self
            .packages
            .iter()
            .filter(|p| p.ecosystem == ecosystem)
            .map(|p| p.location.as_str());
        let first = places.next();
        places.any(|place| Some(place) != first)
    }

    /// Python dists and npm packages installed in more than one place: ecosystem, name and
    /// the places, by name.
    pub fn packages_in_several_locations(&self) -> Vec<(Ecosystem, String, Vec<String>)> {
        let mut places: BTreeMap<(Ecosystem, String), Vec<String>> = BTreeMap::new();
        for package in self
            .packages
            .iter()
            .filter(|p| matches!(p.ecosystem, Ecosystem::Pip | Ecosystem::Npm))
        {
            let name = families::normalise(&package.name);
            places
                .entry((package.ecosystem, name))
                .or_default()
                .push(package.location.clone());
        }
        places
            .into_iter()
            .filter(|(_, p)| p.len() > 1)
            .map(|((ecosystem, name), mut p)| {
                p.sort();
                (ecosystem, name, p)
            })
            .collect()
    }
}

/// Attributes every visible and hidden byte to a package or an unowned top directory.
/// Each stage begins at `checkpoint`; once it says to stop, what was found so far is
/// returned, incomplete.
pub(crate) fn attribute(
    tree: &FileTree,
    layers: &[&LayerIndex],
    hidden: &[HiddenItem],
    rules: &FamilyRules,
    hasher: &dyn ContentHasher,
    min_duplicate_size: u64,
    checkpoint: &Checkpoint<'_>,
) -> Attribution {
    if !checkpoint.begin(Stage::Owners) {
        return Attribution::default();
    }
    let mut registry = Registry::default();
    let mut claims = Claims::default();
    // Latest layer last, so later databases take precedence among historical claims.
    let visible = |l: usize, entry: u32, path: &[u8]| {
        tree.lookup(path).is_some_and(|id| {
            let node = tree.node(id);
            node.layer as usize == l && node.entry == Some(entry)
        })
    };
    // What databases list is kept (claims) as far as the image could hold it: a database
    // listing millions of paths in an image of a few entries lists nothing worth more
    // memory (see `room`).
    let entries = layers.iter().flat_map(|l| &l.entries);
    let (count, path_bytes, longest) = entries.fold((0, 0, 0), |(n, bytes, longest), e| {
        (n + 1, bytes + e.path.len(), longest.max(e.path.len()))
    });
    let mut room = Room::new(count, path_bytes, longest);
    // dpkg-divert moves files out of the way of a package that lists them. Read before
    // any database, so with a room of its own (as an image of no entries gives: real
    // images divert a few dozen files), that it cannot spend the databases'.
    let mut diverted = Room::new(0, 0, longest);
    let diversions = layers
        .iter()
        .enumerate()
        .flat_map(|(l, layer)| layer.captured.iter().map(move |(e, c)| (l, *e, c)))
        .find(|&(l, e, _)| {
            let path = &layers[l].entries[e as usize].path;
            &**path == dpkg::DIVERSIONS && visible(l, e, path)
        })
        .and_then(|(_, _, kept)| kept.content())
        .map(|content| dpkg::diversions(&content, &mut diverted))
        .unwrap_or_default();
    let diversions_cut = u64::from(diverted.take_cut());
    let (mut cut, mut unreadable) = (0, 0u64);
    // A record `chown -R` wrote again as it was says nothing of an install.
    let as_they_were = reinstalls::rewritten_as_they_were(layers);
    let mut problems = Vec::new();
    let (mut rpm_reads, rpm_skipped) = rpm_reads(layers);
    for (l, layer) in layers.iter().enumerate().rev() {
        // rpm's databases as this layer leaves them (a database with its log), then every
        // other database it holds.
        let split = rpm_reads.partition_point(|r| r.layer < l);
        let at_layer = rpm_reads.split_off(split);
        let rpm = at_layer.into_iter().map(|read| {
            let (dl, de) = read.db;
            let wal = read.wal.and_then(|(wl, we)| captured(layers[wl], we));
            let path = &layers[dl].entries[de as usize].path[..];
            // Final only if the tree still shows it (not under a directory a later layer
            // replaced with a link or a file).
            let shown = read.visible && visible(dl, de, path);
            (path, captured(layers[dl], de), wal, shown, dl, de)
        });
        let others = layer.captured.iter().filter_map(|(entry, kept)| {
            let path = &layer.entries[*entry as usize].path[..];
            (!is_rpm(path)).then(|| (path, kept.content(), None, visible(l, *entry, path), l, *entry))
        });
        for (path, content, companion, visible, at, entry) in rpm.chain(others) {
            let Some(content) = content else {
                unreadable += 1;
                continue;
            };
            let parsed = parse_database(path, &content, companion.as_deref(), &mut room);
            for problem in parsed.problems {
                problems.push(crate::error::Warning::new(
                    crate::error::Location::default()
                        .layer(crate::error::LayerRef::index(at))
                        .entry(path),
                    format!("package database {problem}"),
                ));
            }
            let dbs = parsed.packages;
            let own_record = dbs.len() == 1
                && !lists_every_package(path)
                && !as_they_were.contains(&(at, entry));
            for mut db in dbs {
                if db.ecosystem == Ecosystem::Dpkg {
                    dpkg::apply_diversions(&mut db, &diversions);
                }
                let p = registry.add(&db, visible, l, own_record);
                claims.add(p, &db, visible, &mut room);
            }
            cut += u64::from(room.take_cut());
        }
    }
    // Binaries and archives that record their builds, each a package of its own where no
    // database claims it: a package that ships one keeps it.
    for (l, layer) in layers.iter().enumerate().rev() {
        for (entry, recorded) in &layer.recorded {
            let path = &layer.entries[*entry as usize].path[..];
            if claims.owner(path, Which::Any).is_some() {
                continue;
            }
            let db = recorded_package(path, recorded);
            let shown = visible(l, *entry, path);
            let p = registry.add(&db, shown, l, true);
            claims.add(p, &db, shown, &mut room);
        }
    }
    if rpm_skipped > 0 {
        problems.push(crate::error::Warning::new(
            crate::error::Location::default(),
            format!(
                "{rpm_skipped} rpm databases not read: each would read a lower layer's \
                 database again (a write-ahead log alone in its layer), past the bytes the \
                 image's databases hold"
            ),
        ));
    }

    let mut owner_of = vec![None; tree.inodes().len()];
    let mut unowned: BTreeMap<String, UnownedDir> = BTreeMap::new();
    // Finding a file's owner is the work per file: on all cores.
    let owner = |_, _, path: &[u8]| {
        claims
            .owner(path, Which::Final)
            .ok_or_else(|| top_dir(path))
    };
    tree.map_files(checkpoint, owner, |_, inode, owner| {
        let content = tree.inode(inode);
        match owner {
            Ok((p, listed)) => {
                let package = &mut registry.packages[p];
                package.bytes += content.size;
                package.files += 1;
                if !listed {
                    package.unrecorded_bytes += content.size;
                }
                package.layers.insert(content.layer as usize);
                owner_of[inode.0 as usize] = u32::try_from(p).ok();
            }
            Err(top) => {
                let dir = unowned_dir(&mut unowned, top);
                dir.bytes += content.size;
                dir.files += 1;
            }
        }
    });
    let mut replaced = reinstalls::Tally::default();
    for item in hidden {
        if let Some((p, _)) = claims
            .owner(&item.path, Which::Final)
            .or_else(|| claims.owner(&item.path, Which::Any))
        {
            let package = &mut registry.packages[p];
            package.hidden_bytes += item.bytes;
            package.layers.insert(item.added_in_layer);
            owner_of[item.inode.0 as usize] = u32::try_from(p).ok();
            replaced.hidden(p, package, item, tree);
        } else {
            unowned_entry(&mut unowned, &item.path).hidden_bytes += item.bytes;
        }
    }
    let reinstalls = replaced.reinstalls(&registry.packages);
    let mut attribution = registry.finish(owner_of, unowned.into_values().collect(), rules);
    attribution.reinstalls = reinstalls;
    attribution.warnings = room.warnings(cut);
    attribution.warnings.extend(problems);
    attribution
        .warnings
        .extend(diverted.warnings(diversions_cut));
    attribution.database_bytes = room.given() + claims.hashed();
    if unreadable > 0 {
        attribution.warnings.push(crate::error::Warning::new(
            crate::error::Location::default(),
            format!(
                "{unreadable} package databases could not be read back; their packages stay \
                 unowned"
            ),
        ));
    }
    if !checkpoint.begin(Stage::Duplicates) {
        return attribution;
    }
    (attribution.duplicates, attribution.duplicate_steps) = duplicates::find(
        tree,
        layers,
        hasher,
        min_duplicate_size,
        &attribution.inode_owner,
        &attribution.packages,
    );
    if !checkpoint.begin(Stage::DeviceCode) {
        return attribution;
    }
    attribution.cuda = device_code::device_code(tree, layers, &attribution.inode_owner);
    if !checkpoint.begin(Stage::Waste) {
        return attribution;
    }
    attribution.waste = waste::waste(
        tree,
        layers,
        &attribution.packages,
        &attribution.inode_owner,
        hidden,
        &mut attribution.duplicates,
        checkpoint,
    );
    attribution
}

/// A binary or archive at `path` as a package: it owns itself.
fn recorded_package(path: &[u8], recorded: &Recorded) -> DbPackage {
    let mut db = DbPackage::named(recorded.kind.into(), recorded.name.clone());
    db.version.clone_from(&recorded.version);
    db.files = vec![path.to_vec()];
    db.location = path.to_vec();
    db.dependencies.clone_from(&recorded.dependencies);
    db.toolchain.clone_from(&recorded.toolchain);
    db
}

/// The content of entry `entry` of `layer`, if the walk kept it and it reads back.
fn captured(layer: &LayerIndex, entry: u32) -> Option<Vec<u8>> {
    let kept = &layer.captured;
    let i = kept.binary_search_by_key(&entry, |(e, _)| *e).ok()?;
    kept[i].1.content()
}

/// Packages by (ecosystem, normalised name, location): a dist spread over layers is one
/// package, the same dist in two environments two.
#[derive(Debug, Default)]
struct Registry {
    index: HashMap<(Ecosystem, String, Vec<u8>), usize>,
    packages: Vec<Building>,
}

impl Registry {
    /// Adds what a database in `layer` says of a package; `own_record` when that database
    /// is the package's alone.
    fn add(&mut self, db: &DbPackage, visible: bool, layer: usize, own_record: bool) -> usize {
        let key = (
            db.ecosystem,
            families::normalise(&db.name),
            db.location.clone(),
        );
        let next = self.packages.len();
        let p = *self.index.entry(key).or_insert(next);
        if p == next {
            self.packages.push(Building {
                ecosystem: db.ecosystem,
                name: db.name.clone(),
                location: format!("/{}", String::from_utf8_lossy(&db.location)),
                version: None,
                version_is_final: false,
                declared_bytes: None,
                bytes: 0,
                files: 0,
                unrecorded_bytes: 0,
                hidden_bytes: 0,
                layers: BTreeSet::new(),
                versions: BTreeMap::new(),
                records: BTreeSet::new(),
                arch: None,
                license: None,
                installed: false,
                dependencies: Vec::new(),
                toolchain: None,
            });
        }
        let package = &mut self.packages[p];
        // dpkg's status gives a version, its `.list` none: whichever comes first in the tar.
        let version = package.versions.entry(layer).or_default();
        if db.version.is_some() {
            version.clone_from(&db.version);
        }
        if own_record {
            package.records.insert(layer);
        }
        package.installed |= visible;
        // Databases arrive newest layer first: keep the first version seen, unless a visible
        // (final) database says otherwise.
        if db.version.is_some()
            && (package.version.is_none() || visible && !package.version_is_final)
        {
            package.version.clone_from(&db.version);
            package.version_is_final = visible;
        }
        if db.declared_bytes.is_some() && (visible || package.declared_bytes.is_none()) {
            package.declared_bytes = db.declared_bytes;
        }
        if db.arch.is_some() && (visible || package.arch.is_none()) {
            package.arch.clone_from(&db.arch);
        }
        if db.license.is_some() && (visible || package.license.is_none()) {
            package.license.clone_from(&db.license);
        }
        if !db.dependencies.is_empty() && (visible || package.dependencies.is_empty()) {
            package.dependencies.clone_from(&db.dependencies);
        }
        if db.toolchain.is_some() && (visible || package.toolchain.is_none()) {
            package.toolchain.clone_from(&db.toolchain);
        }
        p
    }

    fn finish(
        self,
        owner_of: Vec<Option<u32>>,
        mut unowned: Vec<UnownedDir>,
        rules: &FamilyRules,
    ) -> Attribution {
        // Packages that own nothing (a database entry whose files are all gone) are dropped.
        let mut order: Vec<usize> = (0..self.packages.len())
            .filter(|&p| {
                self.packages[p].bytes + self.packages[p].hidden_bytes > 0
                    || self.packages[p].files > 0
            })
            .collect();
        order.sort_by(|&a, &b| {
            let (a, b) = (&self.packages[a], &self.packages[b]);
            b.bytes
                .cmp(&a.bytes)
                .then(b.hidden_bytes.cmp(&a.hidden_bytes))
                .then_with(|| a.name.cmp(&b.name))
                .then_with(|| a.location.cmp(&b.location))
        });
        let mut renumber = vec![None; self.packages.len()];
        for (new, &old) in order.iter().enumerate() {
            renumber[old] = u32::try_from(new).ok();
        }
        let inode_owner = owner_of
            .into_iter()
            .map(|o| o.and_then(|p| renumber[p as usize]))
            .collect();
        let mut packages: Vec<Option<Building>> = self.packages.into_iter().map(Some).collect();
        let packages: Vec<Package> = order
            .iter()
            .filter_map(|&p| packages[p].take())
            .map(|b| Package {
                family: rules.family_of(b.ecosystem, &b.name),
                ecosystem: b.ecosystem,
                name: b.name,
                version: b.version,
                location: b.location,
                bytes: b.bytes,
                files: b.files,
                unrecorded_bytes: b.unrecorded_bytes,
                hidden_bytes: b.hidden_bytes,
                declared_bytes: b.declared_bytes,
                layers: b.layers.into_iter().collect(),
                arch: b.arch,
                license: b.license,
                installed: b.installed,
                dependencies: b.dependencies,
                toolchain: b.toolchain,
            })
            .collect();
        let mut families: BTreeMap<String, FamilyTotal> = BTreeMap::new();
        for package in &packages {
            let Some(name) = &package.family else {
                continue;
            };
            let family = families.entry(name.clone()).or_insert(FamilyTotal {
                name: name.clone(),
                bytes: 0,
                hidden_bytes: 0,
                packages: 0,
            });
            family.bytes += package.bytes;
            family.hidden_bytes += package.hidden_bytes;
            family.packages += 1;
        }
        let mut families: Vec<FamilyTotal> = families.into_values().collect();
        families.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.name.cmp(&b.name)));
        unowned.sort_by(|a, b| {
            (b.bytes + b.hidden_bytes)
                .cmp(&(a.bytes + a.hidden_bytes))
                .then_with(|| a.dir.cmp(&b.dir))
        });
        Attribution {
            packages,
            families,
            unowned,
            waste: Vec::new(),
            duplicates: Vec::new(),
            reinstalls: Vec::new(),
            duplicate_steps: 0,
            database_bytes: 0,
            warnings: Vec::new(),
            inode_owner,
            cuda: Cuda::default(),
        }
    }
}

/// The unowned total for a path's top directory (`usr/lib/x` → `/usr`; `x` → `/`).
fn unowned_entry<'a>(
    unowned: &'a mut BTreeMap<String, UnownedDir>,
    path: &[u8],
) -> &'a mut UnownedDir {
    unowned_dir(unowned, top_dir(path))
}

/// The top-level directory a path is counted under when no package owns it (`/usr`).
fn top_dir(path: &[u8]) -> String {
    let top = ancestors(path).next().unwrap_or_default();
    format!("/{}", String::from_utf8_lossy(top))
}

fn unowned_dir(unowned: &mut BTreeMap<String, UnownedDir>, dir: String) -> &mut UnownedDir {
    unowned.entry(dir).or_insert_with_key(|dir| UnownedDir {
        dir: dir.clone(),
        bytes: 0,
        files: 0,
        hidden_bytes: 0,
    })
}

//! Who owns every byte: the package databases found in the image, and families of packages.
//!
//! Databases are read from the small files the walk captured. A visible file's owner comes
//! from the databases visible at the end; a hidden one's from those, else from any version of
//! a database an earlier layer shipped (a package later uninstalled still owns its files).
//! An exact file claim wins over a directory claim; a directory counts for one package only
//! (a namespace dir such as `nvidia/`, shared by many wheels, is split by their RECORDs).

mod apk;
mod claims;
mod conda;
mod device_code;
mod dpkg;
mod duplicates;
pub(crate) mod families;
mod npm;
mod python;
mod reinstalls;
mod room;
mod waste;

use std::collections::{BTreeMap, BTreeSet};

use hashbrown::HashMap;

use serde::Serialize;

pub use device_code::{CpuOnlyPart, Cuda, CudaFile, NotForGpus, parse_gpu_arch, without_gpu};
pub use duplicates::{DuplicateCause, DuplicateGroup, Evidence, MIN_DUPLICATE_SIZE};
pub use families::{FamilyRules, family_of};
pub(crate) use reinstalls::RULE as REINSTALL_RULE;
pub use reinstalls::Reinstall;
pub(crate) use waste::hidden_class;
pub use waste::{LayerBytes, Waste, WasteClass, WastePath, classify};

use crate::layer::LayerIndex;
use crate::path::ancestors;
use crate::stage::{Checkpoint, Stage};
use crate::tree::{ContentHasher, FileTree, HiddenItem};
use claims::{Claims, Which};
pub(crate) use room::Room;

/// A package manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ecosystem {
    /// Python wheels and eggs (pip, uv, poetry).
    Pip,
    /// conda packages.
    Conda,
    /// Debian packages.
    Dpkg,
    /// Alpine packages.
    Apk,
    /// npm packages.
    Npm,
}

impl Ecosystem {
    /// The name used in JSON and text.
    pub fn name(self) -> &'static str {
        match self {
            Self::Pip => "pip",
            Self::Conda => "conda",
            Self::Dpkg => "dpkg",
            Self::Apk => "apk",
            Self::Npm => "npm",
        }
    }
}

/// What one database says about one package.
#[derive(Debug, Clone)]
pub(crate) struct DbPackage {
    pub ecosystem: Ecosystem,
    pub name: String,
    pub version: Option<String>,
    pub declared_bytes: Option<u64>,
    /// Files it lists (normalised paths).
    pub files: Vec<Vec<u8>>,
    /// Directories it owns whole.
    pub dirs: Vec<Vec<u8>>,
    /// For Python dists, the site directory: dirs below it that only this dist's files use
    /// are its own too.
    pub site: Option<Vec<u8>>,
    /// Where it is installed ([`Package::location`]), set by [`parse_database`].
    pub location: Vec<u8>,
}

impl DbPackage {
    /// A package of `ecosystem` named `name` that lists nothing yet.
    fn named(ecosystem: Ecosystem, name: String) -> Self {
        Self {
            ecosystem,
            name,
            version: None,
            declared_bytes: None,
            files: Vec::new(),
            dirs: Vec::new(),
            site: None,
            location: Vec::new(),
        }
    }
}

/// Whether the walk should keep this file's content for attribution.
pub(crate) fn is_database(path: &[u8]) -> bool {
    python::is_database(path)
        || dpkg::is_database(path)
        || apk::is_database(path)
        || conda::is_database(path)
        || npm::is_database(path)
}

/// Whether a database file lists every package of its manager (dpkg's `status`, apk's
/// `installed`): a layer that installs anything rewrites it, so it says nothing of which
/// packages that layer installed.
fn lists_every_package(path: &[u8]) -> bool {
    path == dpkg::STATUS || apk::is_database(path)
}

/// The packages a database file lists, each with its location, as far as `room` allows.
pub(crate) fn parse_database(path: &[u8], content: &[u8], room: &mut Room) -> Vec<DbPackage> {
    let mut packages = parse_by_kind(path, content, room);
    for package in &mut packages {
        package.location = location_of(package, path);
    }
    packages
}

/// Where a package is installed: a Python dist's site directory, a conda environment's
/// prefix, the `node_modules` directory holding an npm package, the database file of a
/// dpkg or apk package.
fn location_of(package: &DbPackage, database: &[u8]) -> Vec<u8> {
    use crate::path::split_last;
    match package.ecosystem {
        Ecosystem::Pip => package.site.clone().unwrap_or_default(),
        // `<prefix>/conda-meta/<name>.json`.
        Ecosystem::Conda => split_last(split_last(database).0).0.to_vec(),
        // One database however it is split (status, info/*.list); distroless keeps its own.
        Ecosystem::Dpkg if database.starts_with(dpkg::STATUS_D) => {
            dpkg::STATUS_D[..dpkg::STATUS_D.len() - 1].to_vec()
        }
        Ecosystem::Dpkg => dpkg::STATUS.to_vec(),
        Ecosystem::Apk => database.to_vec(),
        Ecosystem::Npm => {
            let dir = package.dirs.first().map_or(&[][..], |d| d.as_slice());
            let (parent, parent_name) = split_last(split_last(dir).0);
            if parent_name.starts_with(b"@") {
                parent.to_vec()
            } else {
                split_last(dir).0.to_vec()
            }
        }
    }
}

fn parse_by_kind(path: &[u8], content: &[u8], room: &mut Room) -> Vec<DbPackage> {
    if python::is_database(path) {
        python::parse(path, content, room).into_iter().collect()
    } else if dpkg::is_database(path) {
        dpkg::parse(path, content, room)
    } else if apk::is_database(path) {
        apk::parse(content, room)
    } else if conda::is_database(path) {
        conda::parse(path, content, room).into_iter().collect()
    } else if npm::is_database(path) {
        npm::parse(path, content, room).into_iter().collect()
    } else {
        Vec::new()
    }
}

/// One package with the bytes it owns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Package {
    /// Package manager.
    pub ecosystem: Ecosystem,
    /// Name as its database spells it.
    pub name: String,
    /// Version, from the final database when it is still installed.
    pub version: Option<String>,
    /// Where it is installed (absolute): a Python dist's site directory (a venv's
    /// `site-packages`, `~/.local/…`, system `dist-packages`), a conda environment's prefix,
    /// the `node_modules` directory holding an npm package, the database file of a dpkg or
    /// apk package. The same name in two locations is two packages.
    pub location: String,
    /// Family from the built-in table.
    pub family: Option<String>,
    /// Visible bytes it owns.
    pub bytes: u64,
    /// Visible files it owns.
    pub files: u64,
    /// Of `bytes`, those its database does not list (found in its own directories, e.g.
    /// `__pycache__` written after install).
    pub unrecorded_bytes: u64,
    /// Hidden bytes it owned.
    pub hidden_bytes: u64,
    /// Size its database declares (dpkg `Installed-Size`, apk `I:`), to compare.
    pub declared_bytes: Option<u64>,
    /// Layers that added its files (visible or hidden).
    pub layers: Vec<usize>,
}

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
    /// Owner (index into `packages`) of each content, by inode id.
    pub inode_owner: Vec<Option<u32>>,
    /// CUDA device code of the files the image ships.
    pub cuda: Cuda,
}

impl Attribution {
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
    for (l, layer) in layers.iter().enumerate().rev() {
        for (entry, kept) in &layer.captured {
            let path = &layer.entries[*entry as usize].path;
            let visible = visible(l, *entry, path);
            let Some(content) = kept.content() else {
                unreadable += 1;
                continue;
            };
            let dbs = parse_database(path, &content, &mut room);
            let own_record = dbs.len() == 1
                && !lists_every_package(path)
                && !as_they_were.contains(&(l, *entry));
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

/// Packages by (ecosystem, normalised name, location): a dist spread over layers is one
/// package, the same dist in two environments two.
#[derive(Debug, Default)]
struct Registry {
    index: HashMap<(Ecosystem, String, Vec<u8>), usize>,
    packages: Vec<Building>,
}

#[derive(Debug)]
struct Building {
    ecosystem: Ecosystem,
    name: String,
    location: String,
    version: Option<String>,
    version_is_final: bool,
    declared_bytes: Option<u64>,
    bytes: u64,
    files: u64,
    unrecorded_bytes: u64,
    hidden_bytes: u64,
    layers: BTreeSet<usize>,
    /// The version each layer's databases give, by layer (a layer whose databases list
    /// the package without a version maps to `None`).
    versions: BTreeMap<usize, Option<String>>,
    /// Layers holding the package's own database record written anew (see [`reinstalls`]).
    records: BTreeSet<usize>,
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

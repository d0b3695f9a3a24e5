//! What an SBOM says of each package, whatever its format: identity (name, version, purl,
//! license) and the bytes dive-rs measured (shipped, visible, hidden, by layer, by waste
//! class, GPU device code), gathered once from an analysis.

use std::collections::BTreeMap;

use crate::Analysis;
use crate::attribution::{Package, WasteClass};
use crate::layer::EntryKind;

use super::purl::{self, Distro};

/// One package as the SBOM describes it.
#[derive(Debug)]
pub(super) struct Component<'a> {
    pub package: &'a Package,
    pub purl: String,
    /// Visible bytes by waste class, largest first.
    pub waste: Vec<(WasteClass, u64)>,
    /// GPU device code it ships, in bytes.
    pub device_bytes: u64,
    /// Its visible files, when asked for (paths, absolute).
    pub files: Vec<String>,
    /// What a binary or archive records it was built from (with Go's standard library).
    pub dependencies: Vec<Dependency>,
}

/// A module, crate or archive a component records it was built from: it has no bytes of
/// its own, they are its component's.
#[derive(Debug)]
pub(super) struct Dependency {
    pub name: String,
    pub version: Option<String>,
    pub purl: String,
}

/// The image and its packages.
#[derive(Debug)]
pub(super) struct Bom<'a> {
    pub analysis: &'a Analysis,
    pub distro: Distro,
    pub components: Vec<Component<'a>>,
}

/// Gathers the SBOM of `analysis`: its installed packages; `files` lists each package's
/// visible files.
pub(super) fn gather(analysis: &Analysis, files: bool) -> Bom<'_> {
    let distro = distro(analysis);
    let packages = &analysis.attribution.packages;
    let mut waste: Vec<BTreeMap<WasteClass, u64>> = vec![BTreeMap::new(); packages.len()];
    let mut paths: Vec<Vec<String>> = vec![Vec::new(); packages.len()];
    let tree = &analysis.tree;
    let mut seen = vec![false; tree.inodes().len()];
    // One pass over the final tree: each file's owner, and its class by its path (a
    // content under several hard-linked paths counted once).
    for id in tree.walk() {
        let node = tree.node(id);
        let (EntryKind::File | EntryKind::Hardlink, Some(inode)) = (node.kind, node.inode) else {
            continue;
        };
        if std::mem::replace(&mut seen[inode.0 as usize], true) {
            continue;
        }
        let Some(p) = analysis.attribution.owner_of(inode) else {
            continue;
        };
        let package = &packages[p as usize];
        let path = tree.path(id);
        if let Some(class) = WasteClass::of(&path, package.family.as_deref()) {
            *waste[p as usize].entry(class).or_default() += tree.inode(inode).size;
        }
        if files {
            paths[p as usize].push(format!("/{}", String::from_utf8_lossy(&path)));
        }
    }
    let device: BTreeMap<u32, u64> = analysis.attribution.cuda.by_package().into_iter().collect();
    // A package no final database lists was removed: it ships hidden bytes only, and a
    // scanner reading the SBOM would report what the image no longer runs.
    let components = packages
        .iter()
        .enumerate()
        .filter(|(_, package)| package.installed)
        .map(|(p, package)| {
            let mut classes: Vec<(WasteClass, u64)> =
                std::mem::take(&mut waste[p]).into_iter().collect();
            classes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            let mut files = std::mem::take(&mut paths[p]);
            files.sort();
            Component {
                package,
                purl: purl::of(package, &distro),
                waste: classes,
                device_bytes: u32::try_from(p)
                    .ok()
                    .and_then(|p| device.get(&p))
                    .copied()
                    .unwrap_or(0),
                files,
                dependencies: dependencies(package),
            }
        })
        .collect();
    Bom {
        analysis,
        distro,
        components,
    }
}

/// What `package` records it was built from; a Go program's standard library too (its
/// version is Go's), which is how scanners find Go's own advisories.
fn dependencies(package: &Package) -> Vec<Dependency> {
    let stdlib = (package.ecosystem == crate::attribution::Ecosystem::Go)
        .then(|| package.toolchain.as_deref()?.strip_prefix("go"))
        .flatten()
        .map(|version| ("stdlib", Some(version)));
    let recorded = (package.dependencies.iter()).map(|d| (d.name.as_str(), d.version.as_deref()));
    stdlib
        .into_iter()
        .chain(recorded)
        .map(|(name, version)| Dependency {
            name: name.to_owned(),
            version: version.map(str::to_owned),
            purl: purl::recorded(package.ecosystem, name, version),
        })
        .collect()
}

/// The image's `os-release`, as the walk kept it (`/etc/os-release`, else
/// `/usr/lib/os-release`, whichever the final image holds as a file).
fn distro(analysis: &Analysis) -> Distro {
    let content = crate::attribution::OS_RELEASE.iter().find_map(|path| {
        let id = analysis.tree.lookup(path)?;
        let node = analysis.tree.node(id);
        let layer = analysis.layer_indexes.get(node.layer as usize)?;
        let entry = node.entry?;
        let i = layer
            .captured
            .binary_search_by_key(&entry, |(e, _)| *e)
            .ok()?;
        layer.captured[i].1.content()
    });
    let mut distro = Distro::default();
    for line in String::from_utf8_lossy(&content.unwrap_or_default()).lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches(['"', '\'']).to_owned();
        if value.is_empty() || value.len() > 256 {
            continue;
        }
        match key.trim() {
            "ID" => distro.id = Some(value.to_ascii_lowercase()),
            "VERSION_ID" => distro.version = Some(value),
            "PRETTY_NAME" => distro.pretty = Some(value),
            _ => {}
        }
    }
    distro
}

impl Bom<'_> {
    /// Hidden bytes of the packages later layers removed (no component of their own).
    pub(super) fn removed_bytes(&self) -> u64 {
        self.analysis
            .attribution
            .packages
            .iter()
            .filter(|p| !p.installed)
            .map(|p| p.hidden_bytes)
            .sum()
    }
}

impl Component<'_> {
    /// Our own properties, as (name, value) pairs (values as the image wrote them: a
    /// format that joins them escapes them): bytes shipped, visible and hidden, the
    /// layers, where it is installed, its family, waste classes and device code.
    pub(super) fn properties(&self) -> Vec<(String, String)> {
        let p = self.package;
        let mut out = vec![
            (
                "dive-rs:ecosystem".to_owned(),
                p.ecosystem.name().to_owned(),
            ),
            ("dive-rs:location".to_owned(), p.location.clone()),
            (
                "dive-rs:bytes_shipped".to_owned(),
                (p.bytes + p.hidden_bytes).to_string(),
            ),
            ("dive-rs:bytes_visible".to_owned(), p.bytes.to_string()),
            (
                "dive-rs:bytes_hidden".to_owned(),
                p.hidden_bytes.to_string(),
            ),
            (
                "dive-rs:bytes_unrecorded".to_owned(),
                p.unrecorded_bytes.to_string(),
            ),
            ("dive-rs:files".to_owned(), p.files.to_string()),
        ];
        let layers: Vec<String> = p.layers.iter().map(ToString::to_string).collect();
        out.push(("dive-rs:layers".to_owned(), layers.join(",")));
        if let Some(family) = &p.family {
            out.push(("dive-rs:family".to_owned(), family.clone()));
        }
        if let Some(declared) = p.declared_bytes {
            out.push(("dive-rs:bytes_declared".to_owned(), declared.to_string()));
        }
        for (class, bytes) in &self.waste {
            out.push((format!("dive-rs:waste:{}", class.name()), bytes.to_string()));
        }
        if let Some(toolchain) = &p.toolchain {
            out.push(("dive-rs:toolchain".to_owned(), toolchain.clone()));
        }
        if self.device_bytes > 0 {
            out.push((
                "dive-rs:gpu_device_code_bytes".to_owned(),
                self.device_bytes.to_string(),
            ));
        }
        out
    }
}

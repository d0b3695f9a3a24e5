//! Avoidable bytes, by class, each with the fix a platform engineer would write.
//!
//! A visible path belongs to at most one class, tried in the order of [`WasteClass`]; hidden
//! bytes form classes of their own by the reason they are hidden. Bytes are never counted
//! twice, so classes add up to at most `final_bytes + hidden_bytes`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::package::Package;
use crate::layer::LayerIndex;
use crate::tree::{FileTree, HiddenItem, HiddenReason, InodeId};

/// Largest paths listed per class.
const TOP_PATHS: usize = 10;

/// A kind of avoidable bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WasteClass {
    /// pip's cache (`~/.cache/pip`).
    PipCache,
    /// uv's cache (`~/.cache/uv`).
    UvCache,
    /// poetry's cache (`~/.cache/pypoetry`).
    PoetryCache,
    /// conda's package cache (`<conda>/pkgs`).
    CondaPkgs,
    /// npm's and yarn's caches.
    NpmCache,
    /// Downloaded `.deb` files (`/var/cache/apt`).
    AptArchives,
    /// apt's package lists (`/var/lib/apt/lists`).
    AptLists,
    /// apk's cache (`/var/cache/apk`).
    ApkCache,
    /// dnf's and yum's caches: metadata and packages (`/var/cache/dnf`, `/var/cache/yum`,
    /// `/var/cache/libdnf5`).
    DnfCache,
    /// zypper's cache (`/var/cache/zypp`).
    ZypperCache,
    /// Model weights and hub caches (`~/.cache/huggingface`, `*.safetensors`, `*.gguf`).
    ModelWeights,
    /// Compiled Python (`__pycache__`, `*.pyc`).
    Pycache,
    /// `tests`/`test` directories inside installed Python packages.
    Tests,
    /// Files of toolchain packages (gcc, g++, binutils, make, `*-dev`).
    Toolchain,
    /// Static libraries (`*.a`).
    StaticLibs,
    /// C and C++ headers (`include/`).
    Headers,
    /// Debug and symbol sections inside unstripped ELF libraries and executables.
    DebugInfo,
    /// Every copy but one of files visible at several paths with the same bytes.
    Duplicate,
    /// Hidden: overwritten by a later layer.
    HiddenOverwritten,
    /// Hidden: rewritten with the same content (chmod, chown, touch).
    HiddenMetadataOnly,
    /// Hidden: deleted by a later layer (file, directory or opaque directory).
    HiddenDeleted,
}

impl WasteClass {
    /// Every class, in the order of the enum.
    pub const ALL: [WasteClass; 21] = [
        Self::PipCache,
        Self::UvCache,
        Self::PoetryCache,
        Self::CondaPkgs,
        Self::NpmCache,
        Self::AptArchives,
        Self::AptLists,
        Self::ApkCache,
        Self::DnfCache,
        Self::ZypperCache,
        Self::ModelWeights,
        Self::Pycache,
        Self::Tests,
        Self::Toolchain,
        Self::StaticLibs,
        Self::Headers,
        Self::DebugInfo,
        Self::Duplicate,
        Self::HiddenOverwritten,
        Self::HiddenMetadataOnly,
        Self::HiddenDeleted,
    ];

    /// The class's name in JSON and text.
    /// The class of a visible path, if any; `family` is its owner package's family.
    pub fn of(path: &[u8], family: Option<&str>) -> Option<WasteClass> {
        classify(path, family)
    }

    /// The class's name, as JSON and the gate's `waste:` rule say it.
    pub fn name(self) -> &'static str {
        match self {
            Self::PipCache => "pip-cache",
            Self::UvCache => "uv-cache",
            Self::PoetryCache => "poetry-cache",
            Self::CondaPkgs => "conda-pkgs",
            Self::NpmCache => "npm-cache",
            Self::AptArchives => "apt-archives",
            Self::AptLists => "apt-lists",
            Self::ApkCache => "apk-cache",
            Self::DnfCache => "dnf-cache",
            Self::ZypperCache => "zypper-cache",
            Self::ModelWeights => "model-weights",
            Self::Pycache => "pycache",
            Self::Tests => "tests",
            Self::Toolchain => "toolchain",
            Self::StaticLibs => "static-libs",
            Self::Headers => "headers",
            Self::DebugInfo => "debug-info",
            Self::Duplicate => "duplicate",
            Self::HiddenOverwritten => "hidden-overwritten",
            Self::HiddenMetadataOnly => "hidden-metadata-only",
            Self::HiddenDeleted => "hidden-deleted",
        }
    }

    /// The one-line fix.
    pub fn fix(self) -> &'static str {
        match self {
            Self::PipCache => {
                "pip install --no-cache-dir (or RUN --mount=type=cache,target=/root/.cache/pip)"
            }
            Self::UvCache => {
                "uv pip install --no-cache (or RUN --mount=type=cache,target=/root/.cache/uv)"
            }
            Self::PoetryCache => {
                "poetry install --no-cache, or clear ~/.cache/pypoetry in the same RUN"
            }
            Self::CondaPkgs => "conda clean -afy in the same RUN as conda install",
            Self::NpmCache => {
                "npm ci && npm cache clean --force in the same RUN (or a cache mount)"
            }
            Self::AptArchives => "apt-get clean in the same RUN as apt-get install",
            Self::AptLists => "rm -rf /var/lib/apt/lists/* in the same RUN as apt-get update",
            Self::ApkCache => "apk add --no-cache (or rm -rf /var/cache/apk/* in the same RUN)",
            Self::DnfCache => {
                "dnf clean all (yum clean all) in the same RUN as the install, or \
                 RUN --mount=type=cache,target=/var/cache/dnf"
            }
            Self::ZypperCache => "zypper clean --all in the same RUN as zypper install",
            Self::ModelWeights => {
                "mount models as a volume or download them at start-up, not into the image"
            }
            Self::Pycache => "PYTHONDONTWRITEBYTECODE=1, or pip install --no-compile",
            Self::Tests => {
                "delete tests/ directories of installed packages in the same RUN as the install"
            }
            Self::Toolchain => {
                "build in a builder stage and copy only the results into the runtime stage"
            }
            Self::StaticLibs => {
                "copy only shared libraries into the runtime stage; *.a are for linking"
            }
            Self::Headers => "headers are for building: leave include/ in the builder stage",
            Self::DebugInfo => {
                "strip --strip-unneeded (or --strip-debug to keep symbols) the ELF files as they are installed"
            }
            Self::Duplicate => {
                "keep one copy: install each package once, symlink or hard-link identical files, or drop the extras"
            }
            Self::HiddenOverwritten => {
                "write each file once: every rewrite in a later layer ships another copy"
            }
            Self::HiddenMetadataOnly => {
                "set modes and owners as files arrive (COPY --chmod/--chown), not in a later RUN"
            }
            Self::HiddenDeleted => {
                "delete in the same RUN that creates the files (or use a multi-stage build)"
            }
        }
    }
}

/// Bytes of one waste class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Waste {
    /// The class.
    pub class: WasteClass,
    /// Bytes that the fix reclaims.
    pub bytes: u64,
    /// Files in the class.
    pub files: u64,
    /// The fix, in one line.
    pub fix: &'static str,
    /// The largest paths, largest first.
    pub top_paths: Vec<WastePath>,
    /// Bytes by the layer that added them, in layer order.
    pub by_layer: Vec<LayerBytes>,
}

/// One path of a waste class, with the layers that tell its story.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WastePath {
    /// `/`-prefixed path, shown lossily.
    pub path: String,
    /// Avoidable bytes at this path.
    pub bytes: u64,
    /// The layer that added them.
    pub layer: usize,
    /// For hidden bytes, the layer that hid them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden_by_layer: Option<usize>,
}

/// Bytes that one layer added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LayerBytes {
    /// The layer.
    pub layer: usize,
    /// Bytes.
    pub bytes: u64,
}

/// The class of a visible path, if any; `family` is its owner package's family.
pub fn classify(path: &[u8], family: Option<&str>) -> Option<WasteClass> {
    let text = String::from_utf8_lossy(path);
    let p = text.as_ref();
    let parts: Vec<&str> = p.split('/').collect();
    let has = |needle: &str| p.contains(needle);
    let file = parts.last().copied().unwrap_or_default();
    let dirs = &parts[..parts.len().saturating_sub(1)];
    if has(".cache/pip/") {
        return Some(WasteClass::PipCache);
    }
    if has(".cache/uv/") {
        return Some(WasteClass::UvCache);
    }
    // Poetry keeps its virtualenvs under its cache directory by default: installed software.
    if has(".cache/pypoetry/") && !has(".cache/pypoetry/virtualenvs/") {
        return Some(WasteClass::PoetryCache);
    }
    if dirs.windows(2).any(|w| {
        w[1] == "pkgs"
            && (w[0].contains("conda") || w[0].contains("mamba") || w[0].contains("forge"))
    }) {
        return Some(WasteClass::CondaPkgs);
    }
    if dirs.contains(&".npm") || has(".cache/yarn/") || has("/.yarn/cache/") {
        return Some(WasteClass::NpmCache);
    }
    if p.starts_with("var/cache/apt/") {
        return Some(WasteClass::AptArchives);
    }
    if p.starts_with("var/lib/apt/lists/") && file != "lock" {
        return Some(WasteClass::AptLists);
    }
    if p.starts_with("var/cache/apk/") {
        return Some(WasteClass::ApkCache);
    }
    if ["var/cache/dnf/", "var/cache/yum/", "var/cache/libdnf5/"]
        .iter()
        .any(|d| p.starts_with(d))
    {
        return Some(WasteClass::DnfCache);
    }
    if p.starts_with("var/cache/zypp/") {
        return Some(WasteClass::ZypperCache);
    }
    if has(".cache/huggingface/")
        || has(".cache/torch/hub/")
        || [".safetensors", ".gguf", ".ckpt"]
            .iter()
            .any(|e| file.ends_with(e))
    {
        return Some(WasteClass::ModelWeights);
    }
    if dirs.contains(&"__pycache__") || file.ends_with(".pyc") {
        return Some(WasteClass::Pycache);
    }
    let site = dirs
        .iter()
        .position(|d| *d == "site-packages" || *d == "dist-packages");
    if site.is_some_and(|s| dirs[s + 1..].iter().any(|d| *d == "tests" || *d == "test")) {
        return Some(WasteClass::Tests);
    }
    if family == Some("toolchain") {
        return Some(WasteClass::Toolchain);
    }
    if file.ends_with(".a") {
        return Some(WasteClass::StaticLibs);
    }
    if dirs.contains(&"include")
        && [".h", ".hpp", ".hh", ".cuh", ".inc"]
            .iter()
            .any(|e| file.ends_with(e))
    {
        return Some(WasteClass::Headers);
    }
    None
}

pub(crate) fn hidden_class(reason: HiddenReason) -> WasteClass {
    match reason {
        HiddenReason::Overwritten => WasteClass::HiddenOverwritten,
        HiddenReason::MetadataOnly => WasteClass::HiddenMetadataOnly,
        HiddenReason::Deleted
        | HiddenReason::DeletedWithDirectory
        | HiddenReason::OpaqueDirectory
        | HiddenReason::DirectoryReplaced => WasteClass::HiddenDeleted,
    }
}

/// What one class has gathered so far.
#[derive(Default)]
struct Tally {
    bytes: u64,
    files: u64,
    paths: Vec<WastePath>,
    by_layer: BTreeMap<usize, u64>,
}

/// Waste classes of an image, largest first (incomplete once `checkpoint` says to stop).
pub(crate) fn waste(
    tree: &FileTree,
    layers: &[&LayerIndex],
    packages: &[Package],
    inode_owner: &[Option<u32>],
    hidden: &[HiddenItem],
    duplicates: &mut [super::duplicates::DuplicateGroup],
    checkpoint: &crate::stage::Checkpoint<'_>,
) -> Vec<Waste> {
    // Every copy but the kept one, at its first path, with its group.
    let extra: hashbrown::HashMap<crate::tree::NodeId, usize> = duplicates
        .iter()
        .enumerate()
        .flat_map(|(g, group)| group.copies.iter().skip(1).map(move |&n| (n, g)))
        .collect();
    let mut classes: BTreeMap<WasteClass, Tally> = BTreeMap::new();
    let mut add =
        |class: WasteClass, path: &[u8], bytes: u64, layer: usize, hidden_by: Option<usize>| {
            let tally = classes.entry(class).or_default();
            tally.bytes += bytes;
            tally.files += 1;
            *tally.by_layer.entry(layer).or_default() += bytes;
            let path = format!("/{}", String::from_utf8_lossy(path));
            tally.paths.push(WastePath {
                path,
                bytes,
                layer,
                hidden_by_layer: hidden_by,
            });
        };
    // The path, its class and its ELF debug bytes, on all cores; only files some class
    // counts keep their path.
    let classified = |id, inode: InodeId, path: &[u8]| {
        let content = tree.inode(inode);
        let owner = inode_owner.get(inode.0 as usize).copied().flatten();
        let family = owner.and_then(|p| packages.get(p as usize)?.family.as_deref());
        let class = classify(path, family);
        let debug = layers
            .get(content.layer as usize)
            .map_or(0, |l| l.debug_bytes(content.entry as usize));
        (class.is_some() || debug > 0 || extra.contains_key(&id))
            .then(|| (path.to_vec(), class, debug))
    };
    tree.map_files(checkpoint, classified, |id, inode, found| {
        let Some((path, class, debug)) = found else {
            return;
        };
        let node = tree.node(id);
        let content = tree.inode(inode);
        if let Some(class) = class {
            add(class, &path, node.bytes, content.layer as usize, None);
        } else if debug > 0 {
            // Only the debug sections of an ELF file are avoidable, not the whole file.
            add(
                WasteClass::DebugInfo,
                &path,
                debug,
                content.layer as usize,
                None,
            );
        } else if let Some(&g) = extra.get(&id) {
            // One class per path: a copy another class holds stays in that class.
            duplicates[g].counted_bytes += content.size;
            add(
                WasteClass::Duplicate,
                &path,
                content.size,
                content.layer as usize,
                None,
            );
        }
    });
    for item in hidden {
        let class = hidden_class(item.reason);
        add(
            class,
            &item.path,
            item.bytes,
            item.added_in_layer,
            Some(item.hidden_by_layer),
        );
    }
    let mut out: Vec<Waste> = classes
        .into_iter()
        .map(|(class, tally)| {
            let mut paths = tally.paths;
            paths.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.path.cmp(&b.path)));
            paths.truncate(TOP_PATHS);
            let by_layer = tally
                .by_layer
                .into_iter()
                .map(|(layer, bytes)| LayerBytes { layer, bytes })
                .collect();
            Waste {
                class,
                bytes: tally.bytes,
                files: tally.files,
                fix: class.fix(),
                top_paths: paths,
                by_layer,
            }
        })
        .collect();
    out.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.class.cmp(&b.class)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_fall_in_the_expected_class() {
        let cases: &[(&str, Option<&str>, Option<WasteClass>)] = &[
            (
                "root/.cache/pip/http-v2/a/b",
                None,
                Some(WasteClass::PipCache),
            ),
            (
                "home/app/.cache/uv/wheels/x.whl",
                None,
                Some(WasteClass::UvCache),
            ),
            (
                "opt/conda/pkgs/numpy-1.26.tar.bz2",
                None,
                Some(WasteClass::CondaPkgs),
            ),
            ("root/.npm/_cacache/index", None, Some(WasteClass::NpmCache)),
            (
                "var/cache/apt/archives/gcc.deb",
                None,
                Some(WasteClass::AptArchives),
            ),
            (
                "var/lib/apt/lists/deb.debian.org_Packages",
                None,
                Some(WasteClass::AptLists),
            ),
            ("var/lib/apt/lists/lock", None, None),
            ("var/cache/apk/APKINDEX.1.tar.gz", None, Some(WasteClass::ApkCache)),
            (
                "var/cache/dnf/baseos-1234/repodata/primary.xml.zst",
                None,
                Some(WasteClass::DnfCache),
            ),
            (
                "var/cache/yum/x86_64/7/base/packages/gcc.rpm",
                None,
                Some(WasteClass::DnfCache),
            ),
            (
                "var/cache/libdnf5/appstream-1/repodata/x.xml",
                None,
                Some(WasteClass::DnfCache),
            ),
            (
                "var/cache/zypp/packages/repo-oss/x86_64/gcc.rpm",
                None,
                Some(WasteClass::ZypperCache),
            ),
            (
                "root/.cache/pypoetry/artifacts/x.whl",
                None,
                Some(WasteClass::PoetryCache),
            ),
            (
                "root/.cache/pypoetry/virtualenvs/app-py3.11/bin/python",
                None,
                None,
            ),
            (
                "root/.cache/huggingface/hub/model.bin",
                None,
                Some(WasteClass::ModelWeights),
            ),
            (
                "app/model.safetensors",
                None,
                Some(WasteClass::ModelWeights),
            ),
            (
                "usr/lib/python3/dist-packages/x/__pycache__/a.cpython-311.pyc",
                None,
                Some(WasteClass::Pycache),
            ),
            (
                "usr/local/lib/python3.11/site-packages/numpy/core/tests/test_a.py",
                None,
                Some(WasteClass::Tests),
            ),
            ("app/tests/test_app.py", None, None),
            (
                "usr/lib/gcc/x86_64-linux-gnu/12/cc1",
                Some("toolchain"),
                Some(WasteClass::Toolchain),
            ),
            (
                "usr/lib/x86_64-linux-gnu/libz.a",
                None,
                Some(WasteClass::StaticLibs),
            ),
            ("usr/include/zlib.h", None, Some(WasteClass::Headers)),
            ("usr/bin/python3.11", Some("python"), None),
        ];
        for (path, family, class) in cases {
            assert_eq!(classify(path.as_bytes(), *family), *class, "{path}");
        }
    }
}

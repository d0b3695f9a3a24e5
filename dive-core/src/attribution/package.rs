//! A package as attribution knows it: its manager, what a database says of it, the bytes
//! it owns at the end, and the tally kept while the databases are read.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::layer::{BuildKind, Dependency};

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
    /// rpm packages (Red Hat family, SUSE).
    Rpm,
    /// Go programs, by the build info they carry.
    Go,
    /// Rust programs built with `cargo auditable`.
    Cargo,
    /// Java archives, by their Maven coordinates or file name.
    Maven,
}

impl From<BuildKind> for Ecosystem {
    fn from(kind: BuildKind) -> Self {
        match kind {
            BuildKind::Go => Self::Go,
            BuildKind::Cargo => Self::Cargo,
            BuildKind::Maven => Self::Maven,
        }
    }
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
            Self::Rpm => "rpm",
            Self::Go => "go",
            Self::Cargo => "cargo",
            Self::Maven => "maven",
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
    /// Where it is installed ([`Package::location`]), set by [`parse_database`](super::parse_database).
    pub location: Vec<u8>,
    /// Architecture and license, where the database records them (rpm, apk).
    pub arch: Option<String>,
    pub license: Option<String>,
    /// What a binary or archive records it was built from, and with.
    pub dependencies: Vec<Dependency>,
    pub toolchain: Option<String>,
}

impl DbPackage {
    /// A package of `ecosystem` named `name` that lists nothing yet.
    pub(super) fn named(ecosystem: Ecosystem, name: String) -> Self {
        Self {
            ecosystem,
            name,
            version: None,
            declared_bytes: None,
            files: Vec::new(),
            dirs: Vec::new(),
            site: None,
            location: Vec::new(),
            arch: None,
            license: None,
            dependencies: Vec::new(),
            toolchain: None,
        }
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
    /// the `node_modules` directory holding an npm package, the database file of a dpkg,
    /// apk or rpm package. The same name in two locations is two packages.
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
    /// Size its database declares (dpkg `Installed-Size`, apk `I:`, rpm `SIZE`), to compare.
    pub declared_bytes: Option<u64>,
    /// Layers that added its files (visible or hidden).
    pub layers: Vec<usize>,
    /// Architecture, where its database records one (rpm `ARCH`, apk `A:`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// License as its database records it (rpm `LICENSE`, apk `L:`), not checked against SPDX.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// Whether a database the final image holds lists it: false for a package a later
    /// layer removed, which owns only hidden bytes.
    pub installed: bool,
    /// The modules, crates or archives a binary or Java archive records it was built from.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<Dependency>,
    /// What built a binary or archive, as it records (`go1.22.1`, a JDK version).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub toolchain: Option<String>,
}

/// A package as its databases are read, before its bytes are final.
#[derive(Debug)]
pub(super) struct Building {
    pub(super) ecosystem: Ecosystem,
    pub(super) name: String,
    pub(super) location: String,
    pub(super) version: Option<String>,
    pub(super) version_is_final: bool,
    pub(super) declared_bytes: Option<u64>,
    pub(super) bytes: u64,
    pub(super) files: u64,
    pub(super) unrecorded_bytes: u64,
    pub(super) hidden_bytes: u64,
    pub(super) layers: BTreeSet<usize>,
    /// The version each layer's databases give, by layer (a layer whose databases list
    /// the package without a version maps to `None`).
    pub(super) versions: BTreeMap<usize, Option<String>>,
    /// Layers holding the package's own database record written anew (see `reinstalls.rs`).
    pub(super) records: BTreeSet<usize>,
    pub(super) arch: Option<String>,
    pub(super) license: Option<String>,
    /// Whether a visible (final) database lists it.
    pub(super) installed: bool,
    pub(super) dependencies: Vec<Dependency>,
    pub(super) toolchain: Option<String>,
}

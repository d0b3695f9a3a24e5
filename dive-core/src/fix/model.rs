//! What a plan is made of: the options it was asked with, each edit (`Fix`) with the bytes
//! it saves by class (or by package), what is left to the user (`Listed`), and each class
//! split into base, patched and listed bytes.

use serde::Serialize;

use crate::attribution::WasteClass;

/// One change of the Dockerfile and the finding it fixes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Fix {
    /// What the change does, in one line.
    pub change: String,
    /// The bytes it saves, by waste class.
    pub classes: Vec<ClassBytes>,
    /// Σ of `classes`.
    pub saving: u64,
    /// The layer whose bytes it saves.
    pub layer: usize,
    /// The later layer it folds away, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folds_layer: Option<usize>,
    /// The first line of the instruction it folds away (and removes), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folded_line: Option<usize>,
    /// The first line of the instruction it changes (1-based).
    pub line: usize,
    /// That instruction's keyword.
    pub instruction: &'static str,
    /// The hadolint rule the change clears, if hadolint has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hadolint: Option<&'static str>,
    /// What it fixes when no waste class measures it: `recommends` (packages apt installed
    /// only for a `Recommends`) or `cpu-index` (CUDA packages and libraries a CPU build of
    /// PyTorch does not install).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finding: Option<&'static str>,
    /// Packages (or parts of one) the change keeps out of the image, with their bytes (part
    /// of `saving`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<PackageBytes>,
}

/// A package an edit keeps out of the image: the bytes of the files it owns (visible and
/// hidden), as attribution counts them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PackageBytes {
    /// The package's name.
    pub name: String,
    /// Bytes.
    pub bytes: u64,
}

/// Bytes of one waste class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ClassBytes {
    /// The class.
    pub class: WasteClass,
    /// Bytes.
    pub bytes: u64,
}

/// Avoidable bytes `fix` does not patch, with where they come from and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Listed {
    /// The waste class.
    pub class: WasteClass,
    /// Its bytes in this layer (and, for hidden bytes, hidden by `hidden_by_layer`).
    pub bytes: u64,
    /// The layer that added them.
    pub layer: usize,
    /// For hidden bytes, the layer that hid them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden_by_layer: Option<usize>,
    /// The first line of the instruction that added them (1-based).
    pub line: usize,
    /// For hidden bytes, the first line of the instruction that hid them, when this
    /// Dockerfile has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden_by_line: Option<usize>,
    /// Why no edit was made.
    pub why: String,
    /// The change to make by hand.
    pub suggestion: String,
}

/// One waste class's bytes split by what `fix` does with them: `bytes = base + patched +
/// listed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ClassSplit {
    /// The class.
    pub class: WasteClass,
    /// Its bytes in the report.
    pub bytes: u64,
    /// Bytes in the base image's layers (another Dockerfile's to fix).
    pub base: u64,
    /// Bytes the edits save.
    pub patched: u64,
    /// Bytes listed for the user.
    pub listed: u64,
}

/// What `fix` is asked for beyond the image and the Dockerfile.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct FixOptions {
    /// The stage the image was built from (`--target`); the last when `None`.
    pub stage: Option<String>,
    /// The image runs without a GPU (`--cpu-only`): PyTorch may come from its CPU index.
    pub cpu_only: bool,
}

impl FixOptions {
    /// Options matching stage `stage` (the last when `None`).
    #[must_use]
    pub fn stage(mut self, stage: Option<&str>) -> Self {
        self.stage = stage.map(str::to_owned);
        self
    }

    /// Options for an image that runs without a GPU.
    #[must_use]
    pub fn cpu_only(mut self, cpu_only: bool) -> Self {
        self.cpu_only = cpu_only;
        self
    }
}

/// A fix; its saving is the sum of its classes' bytes (a fix that saves packages adds theirs,
/// see [`Fix::dropping`]).
pub(super) fn new_fix(
    change: String,
    classes: Vec<ClassBytes>,
    layer: usize,
    line: usize,
    instruction: &'static str,
    hadolint: Option<&'static str>,
) -> Fix {
    Fix {
        change,
        saving: classes.iter().map(|c| c.bytes).sum(),
        classes,
        layer,
        folds_layer: None,
        folded_line: None,
        line,
        instruction,
        hadolint,
        finding: None,
        packages: Vec::new(),
    }
}

impl Fix {
    /// The same fix for `finding`, keeping `packages` out of the image.
    pub(super) fn dropping(mut self, finding: &'static str, packages: Vec<PackageBytes>) -> Fix {
        self.saving += packages.iter().map(|p| p.bytes).sum::<u64>();
        self.finding = Some(finding);
        self.packages = packages;
        self
    }

    /// What it fixes, as the diff's label names it: its finding, or its waste classes.
    pub(super) fn label(&self) -> String {
        if let Some(finding) = self.finding {
            return finding.to_owned();
        }
        let classes: Vec<&str> = self.classes.iter().map(|c| c.class.name()).collect();
        classes.join("+")
    }

    /// The same fix, folding away layer `layer`'s instruction at `line`.
    pub(super) fn folding(mut self, layer: usize, line: usize) -> Fix {
        self.folds_layer = Some(layer);
        self.folded_line = Some(line);
        self
    }
}

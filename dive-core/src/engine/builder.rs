//! The options of an analysis, set up before the [`Analyzer`](crate::Analyzer) is built.

use std::path::PathBuf;

use crate::attribution::FamilyRules;
use crate::limits::Limits;

/// Sets up an [`Analyzer`](crate::Analyzer).
#[derive(Debug, Clone, Default)]
pub struct AnalyzerBuilder {
    pub(super) families: FamilyRules,
    pub(super) threads: Option<usize>,
    pub(super) image: Option<String>,
    pub(super) platform: Option<String>,
    pub(super) verify: bool,
    pub(super) limits: Limits,
    pub(super) cache: Option<PathBuf>,
    pub(super) min_duplicate_size: Option<u64>,
    pub(super) cuda_deep: bool,
    pub(super) gpus: Vec<u32>,
}

impl AnalyzerBuilder {
    /// Defaults: all cores, the only image, linux/amd64 among several platforms.
    pub fn new() -> Self {
        Self::default()
    }

    /// Worker threads for walking layers (default: one per core).
    #[must_use]
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = Some(threads.max(1));
        self
    }

    /// Picks an image by tag, name or digest (prefix) when the input holds several.
    #[must_use]
    pub fn image(mut self, image: impl Into<String>) -> Self {
        self.image = Some(image.into());
        self
    }

    /// Picks a platform (`os/arch[/variant]`) from a multi-platform index.
    #[must_use]
    pub fn platform(mut self, platform: impl Into<String>) -> Self {
        self.platform = Some(platform.into());
        self
    }

    /// Check every layer blob's SHA-256 against the manifest and every uncompressed tar's
    /// against the config's `diff_ids`, in the same pass that walks them; a mismatch is an
    /// error. Off by default: plain layers are otherwise never read in full.
    #[must_use]
    pub fn verify(mut self, verify: bool) -> Self {
        self.verify = verify;
        self
    }

    /// Caps on what the image may make the analysis hold ([`Limits`]).
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Keeps the analysis of every layer fetched from a registry in `dir`, by digest, and
    /// reuses it instead of fetching that blob again (`--cache DIR`).
    #[must_use]
    pub fn cache(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache = Some(dir.into());
        self
    }

    /// Family rules (from a families file) tried before the built-in table.
    #[must_use]
    pub fn families(mut self, rules: FamilyRules) -> Self {
        self.families = rules;
        self
    }

    /// Smallest file counted as a duplicate (default 4 KiB, `MIN_DUPLICATE_SIZE`; 1 counts
    /// every file).
    #[must_use]
    pub fn min_duplicate_size(mut self, bytes: u64) -> Self {
        self.min_duplicate_size = Some(bytes.max(1));
        self
    }

    /// Read every ELF file of plain layers whole, to find CUDA fat binaries kept outside
    /// the fat binary sections (`.rodata`, `.data`) as well (`--cuda-deep`). Off by
    /// default: plain layers are read by their section tables only; streamed layers pass
    /// whole anyway and are always scanned deep.
    #[must_use]
    pub fn cuda_deep(mut self, deep: bool) -> Self {
        self.cuda_deep = deep;
        self
    }

    /// The GPUs the image is for, by SM number (86 for `sm_86`; see
    /// [`AnalyzerBuilder::parse_gpu_arch`]): device code none of them can run is reported
    /// as not for them ([`Analysis::gpus`](crate::Analysis::gpus)).
    #[must_use]
    pub fn gpu_archs(mut self, gpus: Vec<u32>) -> Self {
        self.gpus = gpus;
        self
    }

    /// A GPU as `--gpu-arch` names it (`sm_86`, `sm_90a`, `86`, `8.6`): its SM number, for
    /// [`AnalyzerBuilder::gpu_archs`].
    pub fn parse_gpu_arch(text: &str) -> Option<u32> {
        crate::attribution::parse_gpu_arch(text)
    }
}

//! The pipeline: open → resolve → walk layers in parallel → merge → facts.

mod facts;
mod hasher;
mod observe;
mod walk_plan;

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;

use crate::analysis::{Analysis, BaseLayers, ImageRecord, LayerRecord};
use crate::attribution::FamilyRules;
use crate::error::{Error, Location, Result, Warning};
use crate::layer::{LayerIndex, WalkOptions};
use crate::limits::Limits;
use crate::persist::scan;
use crate::source::{self, Layout, Platform, Selector, Source};

pub use facts::{Attributed, Attributing};
use facts::{layer_commands, layer_digest, verify_digests};
use hasher::{BlobHasher, NoHasher};
pub use observe::{Control, Event, Observer};
use walk_plan::WalkedLayers;

/// Sets up an [`Analyzer`].
#[derive(Debug, Clone, Default)]
pub struct AnalyzerBuilder {
    families: FamilyRules,
    threads: Option<usize>,
    image: Option<String>,
    platform: Option<String>,
    verify: bool,
    limits: Limits,
    cache: Option<PathBuf>,
    min_duplicate_size: Option<u64>,
    cuda_deep: bool,
    gpus: Vec<u32>,
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

    /// Smallest file counted as a duplicate (default [`MIN_DUPLICATE_SIZE`], 4 KiB; 1 counts
    /// every file).
    ///
    /// [`MIN_DUPLICATE_SIZE`]: crate::attribution::MIN_DUPLICATE_SIZE
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
    /// [`parse_gpu_arch`](crate::attribution::parse_gpu_arch)): device code none of them
    /// can run is reported as not for them ([`Analysis::gpus`]).
    #[must_use]
    pub fn gpu_archs(mut self, gpus: Vec<u32>) -> Self {
        self.gpus = gpus;
        self
    }

    /// The analyzer; it may be used for any number of sources.
    pub fn build(self) -> Analyzer {
        Analyzer { options: self }
    }
}

/// A reusable analysis engine.
#[derive(Debug, Clone)]
pub struct Analyzer {
    options: AnalyzerBuilder,
}

/// Analyses a source with default options.
pub fn analyze(source: Source) -> Result<Analysis> {
    AnalyzerBuilder::new().build().analyze(source, &())
}

impl Analyzer {
    /// Analyses one image; `observer` hears progress and may stop it.
    pub fn analyze(&self, source: Source, observer: &dyn Observer) -> Result<Analysis> {
        let (mut analysis, attributing) = self.analyze_in_steps(source, observer)?;
        let attributed = attributing.run_observed(&analysis, observer)?;
        analysis.set_attribution(attributed);
        Ok(analysis)
    }

    /// [`Analyzer::analyze`] in two steps, for a view that shows the merged image before the
    /// packages are known: an [`Analysis`] whose layers, totals, tree, hidden content and
    /// warnings are final but whose [`Analysis::attribution`] is empty, and the work that
    /// fills it in ([`Attributing::run`], then [`Analysis::set_attribution`]), which may run
    /// on another thread while the analysis is shown. Until then, content rewritten at the
    /// same size whose bytes are still to be compared ([`Analysis::is_being_compared`]) is
    /// hidden as overwritten, where the comparison may find only metadata changed.
    pub fn analyze_in_steps(
        &self,
        source: Source,
        observer: &dyn Observer,
    ) -> Result<(Analysis, Attributing)> {
        if let Source::Path { path, .. } = &source
            && scan::is_scan(path)
        {
            let loaded = scan::load(path)?;
            let resolved = Event::Resolved {
                layers: loaded.record.layers.len(),
                stored_bytes: 0,
            };
            if observer.event(&resolved) == Control::Stop {
                return Err(Error::Cancelled {
                    location: Location::input(path.display().to_string()),
                });
            }
            let (mut analysis, attributing) =
                self.finish(loaded.record, loaded.indexes, Box::new(NoHasher), observer)?;
            analysis.warnings = loaded.warnings;
            if let Some((name, digest, layers)) = loaded.given_base {
                analysis.restore_base(name, digest, layers);
            }
            return Ok((analysis, attributing));
        }
        let selector = self.selector()?;
        let mut on_stream_layer = |blob: &str, index: &LayerIndex| {
            // A stream's layers are walked where they pass, on one thread.
            let event = Event::LayerWalked {
                index: None,
                blob,
                entries: index.entries.len(),
                bytes: index.size_uncompressed,
                strategy: Some(crate::layer::Strategy::Stream),
            };
            observer.event(&event) == Control::Continue
        };
        let limits = self.options.limits;
        let options = self.walk_options();
        let (input, store, reference) = source::open(source, &options, &mut on_stream_layer)?;
        let selector = Selector {
            image: selector.image.or(reference),
            ..selector
        };
        let mut plan = source::resolve(&input, store.as_ref(), &selector, &limits)?;
        if store.remote() {
            plan.layout = Layout::Registry;
        }
        let WalkedLayers { indexes, blobs } =
            self.walk_layers(&input, store.as_ref(), &plan, &options, observer)?;
        let entries: u64 = indexes.iter().map(|i| i.entries.len() as u64).sum();
        if entries > limits.entries {
            return Err(Error::format(
                Location::input(&input),
                format!(
                    "the image has more than {} tar entries (the cap, --max-entries); \
                     raise the cap to analyse it",
                    limits.entries
                ),
            ));
        }
        if self.options.verify {
            verify_digests(&input, &plan, &indexes)?;
        }

        let mut warnings: Vec<Warning> = store.warnings().to_vec();
        warnings.extend(plan.warnings.iter().cloned());
        let commands = layer_commands(&plan, &input, &mut warnings);
        let layers = plan
            .layers
            .iter()
            .enumerate()
            .map(|(i, planned)| LayerRecord {
                digest: layer_digest(i, &plan, &indexes[i]),
                diff_id: plan.diff_ids.get(i).cloned(),
                media_type: planned.media_type.clone(),
                created_by: commands.get(i).cloned().flatten(),
                blob: planned.path.clone(),
            })
            .collect();
        let record = ImageRecord {
            input,
            reference: plan.reference.clone(),
            platform: plan.platform.as_ref().map(Platform::to_string),
            layout: plan.layout,
            manifest_digest: plan.manifest_digest.clone(),
            config_digest: plan.config_digest.clone(),
            layers,
            base: plan.base.clone(),
            warnings,
        };
        let hasher = BlobHasher {
            blobs,
            read: Mutex::default(),
            reads: AtomicU64::default(),
            bytes_read: AtomicU64::default(),
        };
        let (mut analysis, attributing) =
            self.finish(record, indexes, Box::new(hasher), observer)?;
        analysis.image.verified = self.options.verify;
        Ok((analysis, attributing))
    }
}

impl Analyzer {
    /// The image and platform asked for.
    fn selector(&self) -> Result<Selector> {
        let platform = match &self.options.platform {
            None => None,
            Some(text) => Some(Platform::parse(text).ok_or_else(|| {
                Error::Source {
                    location: Location::input(text.clone()),
                    message:
                        "a platform is written os/arch or os/arch/variant, e.g. linux/arm64/v8"
                            .to_owned(),
                }
            })?),
        };
        Ok(Selector {
            image: self.options.image.clone(),
            platform,
        })
    }

    /// The caps an image may not exceed.
    pub(crate) fn limits(&self) -> Limits {
        self.options.limits
    }

    /// How layers are walked: the package databases attribution reads are kept, and
    /// nothing else; the caps apply.
    fn walk_options(&self) -> WalkOptions {
        let limits = self.options.limits;
        WalkOptions {
            verify: self.options.verify,
            capture_limit: limits.metadata_bytes,
            path_limit: limits.path_bytes,
            entry_limit: limits.entries,
            capture: crate::attribution::is_database,
            cuda_deep: self.options.cuda_deep,
        }
    }

    /// The layers of the image `source` names, from its manifest and config only (no
    /// layer is read, except that a stream on stdin passes by whole), to mark an analysed
    /// image's base layers with [`Analysis::set_base`]. The platform asked for applies; the
    /// image choice (`--image`) does not: a base names its own.
    pub fn base_layers(&self, source: Source) -> Result<BaseLayers> {
        let (input, store, selector) = self.reopen(source)?;
        let selector = Selector {
            image: if self.options.image.is_some() {
                None
            } else {
                selector.image
            },
            ..selector
        };
        let plan = source::resolve(&input, store.as_ref(), &selector, &self.limits())?;
        Ok(BaseLayers {
            name: plan.reference.unwrap_or(input),
            digest: plan.manifest_digest,
            diff_ids: plan.diff_ids,
        })
    }

    /// Opens a source that can be read again (a file, a directory, a registry) into a
    /// store, with the choice of image in it.
    pub(crate) fn reopen(
        &self,
        source: Source,
    ) -> Result<(String, Box<dyn source::Store>, Selector)> {
        let selector = self.selector()?;
        let (input, store, reference) =
            source::open(source, &self.walk_options(), &mut |_, _| true)?;
        let selector = Selector {
            image: selector.image.or(reference),
            ..selector
        };
        Ok((input, store, selector))
    }
}

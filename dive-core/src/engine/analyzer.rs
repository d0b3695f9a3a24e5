//! The analyzer: open → resolve → walk layers in parallel → merge → facts, and the same
//! source opened again to read back the contents an analysis points at.

use std::sync::Mutex;
use std::sync::atomic::AtomicU64;

use super::builder::AnalyzerBuilder;
use super::facts::Attributing;
use super::facts::{finish, layer_commands, layer_digest, verify_digests};
use super::hasher::{BlobHasher, NoHasher};
use super::observe::{Control, Event, Observer};
use super::walk_plan::{WalkedLayers, walk_layers};
use crate::analysis::{Analysis, BaseLayers, ImageRecord, LayerRecord};
use crate::contents::{Contents, check_rereadable};
use crate::error::{Error, Location, Result, Warning};
use crate::layer::{LayerIndex, Strategy, WalkOptions};
use crate::limits::Limits;
use crate::persist::scan;
use crate::source::{self, Layout, Platform, Restream, Selector, Source};

/// A reusable analysis engine.
#[derive(Debug, Clone)]
pub struct Analyzer {
    options: AnalyzerBuilder,
}

impl AnalyzerBuilder {
    /// The analyzer; it may be used for any number of sources.
    pub fn build(self) -> Analyzer {
        Analyzer { options: self }
    }
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
        let (analysis, attributing, _opened) = self.analyze_opened(source, observer)?;
        Ok((analysis, attributing))
    }

    /// [`Analyzer::analyze`], keeping the opened input to read files back out of the image
    /// ([`Contents`]): the image is opened, resolved and walked once, where an analysis
    /// followed by [`Analyzer::contents`] opens and resolves it twice. Inputs that cannot be
    /// read twice (stdin, a saved scan) are refused before anything is read.
    pub fn analyze_with_contents(
        &self,
        source: Source,
        observer: &dyn Observer,
    ) -> Result<(Analysis, Contents)> {
        check_rereadable(&source)?;
        // A container engine's save is a stream: it runs again for each layer read.
        let restream = Restream::of(&source);
        let name = source.name();
        let (mut analysis, attributing, opened) = self.analyze_opened(source, observer)?;
        let attributed = attributing.run_observed(&analysis, observer)?;
        analysis.set_attribution(attributed);
        // Each layer's blob, by its path in the input, as the analysis recorded it.
        let blobs = analysis.layers.iter().map(|l| l.blob.clone()).collect();
        let contents = match (restream, opened) {
            (Some(restream), _) => Contents::restreamed(name, restream, blobs),
            (None, Some(Opened { input, store })) => Contents::in_store(input, store, blobs),
            // Only a saved scan is analysed without an opened input, and it was refused.
            (None, None) => {
                return Err(Error::Source {
                    location: Location::input(name),
                    message: "a saved scan holds no file contents; read them from the image it \
                          was made from"
                        .to_owned(),
                });
            }
        };
        Ok((analysis, contents))
    }

    /// [`Analyzer::analyze_in_steps`], with the input it opened (none for a saved scan).
    fn analyze_opened(
        &self,
        source: Source,
        observer: &dyn Observer,
    ) -> Result<(Analysis, Attributing, Option<Opened>)> {
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
            let (mut analysis, attributing) = finish(
                &self.options,
                loaded.record,
                loaded.indexes,
                Box::new(NoHasher),
                observer,
            )?;
            analysis.warnings = loaded.warnings;
            if let Some((name, digest, layers)) = loaded.given_base {
                analysis.restore_base(name, digest, layers);
            }
            return Ok((analysis, attributing, None));
        }
        let selector = self.selector()?;
        let mut on_stream_layer = |blob: &str, index: &LayerIndex, strategy: Strategy| {
            // A stream's layers are walked where they pass; the walk says how.
            let event = Event::LayerWalked {
                index: None,
                blob,
                entries: index.entries.len(),
                bytes: index.size_uncompressed,
                strategy: Some(strategy),
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
        let WalkedLayers { indexes, blobs } = walk_layers(
            &self.options,
            &input,
            store.as_ref(),
            &plan,
            &options,
            observer,
        )?;
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
        let (commands, secrets) = layer_commands(&plan, &input, &mut warnings);
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
            input: input.clone(),
            reference: plan.reference.clone(),
            platform: plan.platform.as_ref().map(Platform::to_string),
            layout: plan.layout,
            manifest_digest: plan.manifest_digest.clone(),
            config_digest: plan.config_digest.clone(),
            layers,
            base: plan.base.clone(),
            provenance: plan.provenance.clone(),
            secrets,
            warnings,
        };
        let hasher = BlobHasher {
            blobs,
            read: Mutex::default(),
            reads: AtomicU64::default(),
            bytes_read: AtomicU64::default(),
        };
        let (mut analysis, attributing) =
            finish(&self.options, record, indexes, Box::new(hasher), observer)?;
        analysis.image.verified = self.options.verify;
        let opened = Opened { input, store };
        Ok((analysis, attributing, Some(opened)))
    }
}

/// An input opened for an analysis, kept to read its files back.
struct Opened {
    input: String,
    store: Box<dyn source::Store>,
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
            source::open(source, &self.walk_options(), &mut |_, _, _| true)?;
        let selector = Selector {
            image: selector.image.or(reference),
            ..selector
        };
        Ok((input, store, selector))
    }
}

impl Analyzer {
    /// Opens `source` again to read contents `analysis` (made from the same source by this
    /// analyzer's options) points at. Inputs that cannot be read twice (stdin, a saved scan)
    /// are refused with what to do instead; an input whose image changed since the analysis
    /// is refused too. A container engine's image and a compressed archive are read again
    /// from their start each time a layer is read (the engine's save runs again), up to the
    /// layer's blob, found by its path.
    pub fn contents(&self, source: Source, analysis: &Analysis) -> Result<Contents> {
        check_rereadable(&source)?;
        if let Some(restream) = Restream::of(&source) {
            let blobs = analysis.layers.iter().map(|l| l.blob.clone()).collect();
            return Ok(Contents::restreamed(source.name(), restream, blobs));
        }
        let (input, store, selector) = self.reopen(source)?;
        let plan = source::resolve(&input, store.as_ref(), &selector, &self.limits())?;
        if plan.config_digest != analysis.image.config_digest
            || plan.layers.len() != analysis.layers.len()
        {
            return Err(Error::format(
                Location::input(&input),
                format!(
                    "this input now holds image {}, not the analysed {}; analyse it again",
                    plan.config_digest, analysis.image.config_digest
                ),
            ));
        }
        let blobs = plan.layers.into_iter().map(|l| l.path).collect();
        Ok(Contents::in_store(input, store, blobs))
    }
}

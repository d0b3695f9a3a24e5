//! The pipeline: open → resolve → walk layers in parallel → merge → facts.

use std::collections::HashMap;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use crate::analysis::{Analysis, ImageFacts, LayerFacts};
use crate::attribution::FamilyRules;
use crate::cache::LayerCache;
use crate::error::{Error, Location, Result, Warning};
use crate::layer::{
    Compression, LayerDigests, LayerEntry, LayerIndex, WalkOptions, hash_content, sha256_of, sniff,
    walk_reader_threaded, walk_seekable,
};
use crate::limits::Limits;
use crate::source::{self, Blob, LayerInput, Layout, Plan, Platform, Selector, Source};
use crate::tree::{ContentHasher, merge};

/// Progress of an analysis, as told to an [`Observer`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A layer blob was walked (`index` is known once the manifest has been read).
    LayerWalked {
        /// Position in the manifest, when known.
        index: Option<usize>,
        /// The blob's path in the input.
        blob: &'a str,
        /// Entries found.
        entries: usize,
        /// Uncompressed bytes walked.
        bytes: u64,
    },
    /// The image was found in the input's metadata.
    Resolved {
        /// Layers to walk.
        layers: usize,
        /// Bytes of layer blobs, as stored, that are left to read (0 when a stream already
        /// delivered them).
        stored_bytes: u64,
    },
    /// Reading layer blobs is under way (sent every few MiB, from worker threads).
    Read {
        /// Bytes of layer blobs read so far, as stored, over all layers.
        stored_bytes: u64,
    },
    /// All layers are merged.
    Merged,
}

/// What an observer wants after an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Go on.
    Continue,
    /// Stop the analysis; it returns [`Error::Cancelled`].
    Stop,
}

/// Hears progress and may stop the analysis early; called from worker threads.
pub trait Observer: Sync {
    /// One event; the default ignores it.
    fn event(&self, _event: &Event<'_>) -> Control {
        Control::Continue
    }
}

/// An observer that hears nothing.
impl Observer for () {}

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
    /// against the config's diff_ids, in the same pass that walks them; a mismatch is an
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
        if let Source::Path { path, .. } = &source
            && crate::scan::is_scan(path)
        {
            return crate::scan::load(self, path, observer);
        }
        let platform = match &self.options.platform {
            None => None,
            Some(text) => Some(Platform::parse(text).ok_or_else(|| {
                Error::Source {
                    spec: text.clone(),
                    message:
                        "a platform is written os/arch or os/arch/variant, e.g. linux/arm64/v8"
                            .to_owned(),
                }
            })?),
        };
        let mut on_stream_layer = |blob: &str, index: &LayerIndex| {
            let event = Event::LayerWalked {
                index: None,
                blob,
                entries: index.entries.len(),
                bytes: index.size_uncompressed,
            };
            observer.event(&event) == Control::Continue
        };
        let limits = self.options.limits;
        let options = WalkOptions {
            verify: self.options.verify,
            capture_limit: limits.metadata_bytes,
            path_limit: limits.path_bytes,
            entry_limit: limits.entries,
            ..walk_options()
        };
        let (input, store, reference) = source::open(source, &options, &mut on_stream_layer)?;
        let selector = Selector {
            image: self.options.image.clone().or(reference),
            platform,
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
            warnings,
        };
        let hasher = BlobHasher {
            blobs: &blobs,
            read: Mutex::default(),
        };
        let mut analysis = self.finish(record, indexes, &hasher, observer)?;
        analysis.image.verified = self.options.verify;
        Ok(analysis)
    }

    /// Merges walked layers and computes every figure; shared by images and saved scans.
    pub(crate) fn finish(
        &self,
        record: ImageRecord,
        mut indexes: Vec<Arc<LayerIndex>>,
        hasher: &dyn RecordingHasher,
        observer: &dyn Observer,
    ) -> Result<Analysis> {
        let refs: Vec<&LayerIndex> = indexes.iter().map(Arc::as_ref).collect();
        let merged = merge(&refs, hasher);
        if observer.event(&Event::Merged) == Control::Stop {
            return Err(Error::Cancelled {
                input: record.input,
            });
        }
        let input = record.input.as_str();
        let mut warnings = record.warnings.clone();
        let labels: Vec<String> = record
            .layers
            .iter()
            .enumerate()
            .map(|(i, layer)| layer_label(i, layer.digest.as_deref(), &layer.blob))
            .collect();
        for (i, index) in indexes.iter().enumerate() {
            warnings.extend(index.warnings.iter().map(|w| relabel(w, input, &labels[i])));
            if let Some(warning) = bomb_warning(index, self.options.limits.ratio) {
                warnings.push(relabel(&warning, input, &labels[i]));
            }
        }
        for warning in &merged.warnings {
            let label = warning
                .location
                .layer
                .as_deref()
                .and_then(|l| l.parse::<usize>().ok())
                .and_then(|i| labels.get(i));
            warnings.push(relabel(warning, input, label.map_or("", String::as_str)));
        }

        let mut layers: Vec<LayerFacts> = indexes
            .iter()
            .zip(&record.layers)
            .enumerate()
            .map(|(i, (index, layer))| LayerFacts {
                index: i,
                digest: layer.digest.clone(),
                diff_id: layer.diff_id.clone(),
                media_type: layer.media_type.clone(),
                compression: index.compression,
                size_compressed: index.size_compressed,
                size_uncompressed: index.size_uncompressed,
                entries: index.entries.len(),
                file_bytes: index.file_bytes,
                hidden_bytes: 0,
                hides_bytes: 0,
                created_by: layer.created_by.clone(),
                blob: layer.blob.clone(),
            })
            .collect();
        for item in &merged.hidden {
            layers[item.added_in_layer].hidden_bytes += item.bytes;
            layers[item.hidden_by_layer].hides_bytes += item.bytes;
        }

        let root = merged.tree.node(crate::tree::NodeId::ROOT);
        let total_file_bytes: u64 = layers.iter().map(|l| l.file_bytes).sum();
        let image = ImageFacts {
            reference: record.reference,
            platform: record.platform,
            layout: record.layout,
            manifest_digest: record.manifest_digest,
            config_digest: record.config_digest,
            layer_count: layers.len(),
            size_compressed: layers.iter().map(|l| l.size_compressed).sum(),
            size_uncompressed: layers.iter().map(|l| l.size_uncompressed).sum(),
            total_file_bytes,
            final_bytes: root.bytes,
            final_files: root.files,
            hidden_bytes: merged.hidden.iter().map(|h| h.bytes).sum(),
            efficiency: if total_file_bytes == 0 {
                1.0
            } else {
                root.bytes as f64 / total_file_bytes as f64
            },
            dive: merged.dive,
            verified: false,
        };
        let attribution = crate::attribution::attribute(
            &merged.tree,
            &refs,
            &merged.hidden,
            &self.options.families,
        );
        drop(refs);
        // Contents the merge read are kept with their entries, so a saved scan merges alike.
        for (layer, entry, hash) in hasher.read() {
            if let Some(found) = Arc::make_mut(&mut indexes[layer])
                .entries
                .get_mut(entry as usize)
            {
                found.content_hash = Some(hash.into());
            }
        }
        Ok(Analysis {
            input: record.input,
            image,
            layers,
            hidden: merged.hidden,
            tree: merged.tree,
            layer_indexes: indexes,
            attribution,
            warnings,
            changes: merged.changes,
        })
    }

    /// Walks every layer of the plan, in parallel and largest first; streamed ones are done.
    fn walk_layers(
        &self,
        input: &str,
        store: &dyn source::Store,
        plan: &Plan,
        options: &WalkOptions,
        observer: &dyn Observer,
    ) -> Result<WalkedLayers> {
        // The same blob listed twice (e.g. two empty layers) is walked once.
        let mut unique: HashMap<&str, usize> = HashMap::new();
        let mut inputs: Vec<(usize, LayerInput)> = Vec::new();
        for (i, layer) in plan.layers.iter().enumerate() {
            if unique.contains_key(layer.path.as_str()) {
                continue;
            }
            let found = store.layer(&layer.path)?.ok_or_else(|| {
                Error::format(
                    Location::input(input).layer(layer_label(
                        i,
                        layer.digest.as_deref(),
                        &layer.path,
                    )),
                    format!(
                        "the manifest names blob {} but the input does not contain it",
                        layer.path
                    ),
                )
            })?;
            unique.insert(layer.path.as_str(), inputs.len());
            inputs.push((i, found));
        }
        let cache = match &self.options.cache {
            Some(dir) => Some(
                LayerCache::open(dir)
                    .map_err(|e| Error::io(Location::input(dir.display().to_string()), e))?,
            ),
            None => None,
        };
        let tell_walked = |i: usize, index: &LayerIndex| {
            observer.event(&Event::LayerWalked {
                index: Some(i),
                blob: &plan.layers[i].path,
                entries: index.entries.len(),
                bytes: index.size_uncompressed,
            })
        };
        if let Some(cache) = &cache {
            for (i, found) in &mut inputs {
                if let LayerInput::Fetch(fetch) = found
                    && let Some(index) = cache.load(fetch.digest(), options)
                {
                    // Progress counts a cached layer as walked.
                    if tell_walked(*i, &index) == Control::Stop {
                        return Err(Error::Cancelled {
                            input: input.to_owned(),
                        });
                    }
                    *found = LayerInput::Walked(Arc::new(index));
                }
            }
        }
        let size = |input: &LayerInput| match input {
            LayerInput::Bytes(blob) => blob.bytes().len() as u64,
            LayerInput::Fetch(fetch) => fetch.size(),
            LayerInput::Walked(_) => 0,
        };
        let mut order: Vec<usize> = (0..inputs.len()).collect();
        order.sort_by_key(|&k| std::cmp::Reverse(size(&inputs[k].1)));
        let resolved = Event::Resolved {
            layers: plan.layers.len(),
            stored_bytes: inputs.iter().map(|(_, i)| size(i)).sum(),
        };
        if observer.event(&resolved) == Control::Stop {
            return Err(Error::Cancelled {
                input: input.to_owned(),
            });
        }
        let stopped = AtomicBool::new(false);
        let read = AtomicU64::new(0);
        let walk = |&k: &usize| -> Result<Arc<LayerIndex>> {
            let (index, input) = &inputs[k];
            if stopped.load(Ordering::Relaxed) {
                return Ok(Arc::default());
            }
            let walked = match input {
                LayerInput::Walked(done) => return Ok(Arc::clone(done)),
                LayerInput::Bytes(blob) => {
                    // Plain tars are walked by jumping between headers; compressed ones must be
                    // read through. Both with positioned reads, so no file page stays mapped.
                    let len = blob.bytes().len() as u64;
                    let reader = ReadProgress::new(blob.reader(), len, &read, observer, &stopped);
                    if sniff(blob.bytes()) == Compression::None {
                        // The walk seeks past file data; verifying reads it all, on another
                        // core while the walk runs, with reads rather than through the map so
                        // that no file page stays in this process.
                        let (mut walked, digest) = rayon::join(
                            || walk_seekable(reader, len, options),
                            || options.verify.then(|| sha256_of(blob.reader())).transpose(),
                        );
                        match digest {
                            Ok(digest) => walked.digests = digest.map(LayerDigests::same),
                            Err(err) => walked.warnings.push(Warning::new(
                                Location::default(),
                                format!("cannot read the layer to verify it: {err}"),
                            )),
                        }
                        walked
                    } else {
                        walk_reader_threaded(reader, options)
                    }
                }
                LayerInput::Fetch(fetch) => {
                    let fetched = fetch.open();
                    let reader =
                        ReadProgress::new(fetched.reader, fetch.size(), &read, observer, &stopped);
                    let mut walked = walk_reader_threaded(reader, options);
                    if stopped.load(Ordering::Relaxed) {
                        // Dropping the transfer ends it; its digest no longer matters.
                        return Ok(Arc::default());
                    }
                    (fetched.finish)()?;
                    if let Some(cache) = &cache
                        && let Err(err) = cache.store(fetch.digest(), options, &walked)
                    {
                        walked.warnings.push(Warning::new(
                            Location::default(),
                            format!(
                                "cannot keep this layer's analysis in {}: {err}",
                                cache.dir().display()
                            ),
                        ));
                    }
                    walked
                }
            };
            if tell_walked(*index, &walked) == Control::Stop {
                stopped.store(true, Ordering::Relaxed);
            }
            Ok(Arc::new(walked))
        };
        let walked: Vec<Arc<LayerIndex>> = match self.options.threads {
            Some(threads) => rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .map_err(|e| Error::Source {
                    spec: input.to_owned(),
                    message: format!("cannot start worker threads: {e}"),
                })?
                .install(|| order.par_iter().map(walk).collect::<Result<_>>())?,
            None => order.par_iter().map(walk).collect::<Result<_>>()?,
        };
        if stopped.load(Ordering::Relaxed) {
            return Err(Error::Cancelled {
                input: input.to_owned(),
            });
        }
        let mut by_input: Vec<Arc<LayerIndex>> = vec![Arc::default(); inputs.len()];
        for (k, index) in order.into_iter().zip(walked) {
            by_input[k] = index;
        }
        let mut indexes = Vec::with_capacity(plan.layers.len());
        let mut blobs = Vec::with_capacity(plan.layers.len());
        for layer in &plan.layers {
            let k = unique[layer.path.as_str()];
            let index = Arc::clone(&by_input[k]);
            // Plain tars in memory can be re-read to compare contents on overwrite.
            blobs.push(match &inputs[k].1 {
                LayerInput::Bytes(blob) if index.compression == Compression::None => {
                    Some(blob.clone())
                }
                _ => None,
            });
            indexes.push(index);
        }
        Ok(WalkedLayers { indexes, blobs })
    }
}

/// What the analysis keeps of an image's metadata: identity, layer names, source warnings.
#[derive(Debug, Clone)]
pub(crate) struct ImageRecord {
    pub input: String,
    pub reference: Option<String>,
    pub platform: Option<String>,
    pub layout: Layout,
    pub manifest_digest: Option<String>,
    pub config_digest: String,
    pub layers: Vec<LayerRecord>,
    pub warnings: Vec<Warning>,
}

/// One manifest layer's names.
#[derive(Debug, Clone)]
pub(crate) struct LayerRecord {
    pub digest: Option<String>,
    pub diff_id: Option<String>,
    pub media_type: Option<String>,
    pub created_by: Option<String>,
    pub blob: String,
}

/// Progress is told every this many bytes read from one blob.
const PROGRESS_STEP: u64 = 16 << 20;

/// Tells the observer how far the walks have read, every few MiB; a stop asked for mid-layer
/// ends the read, so even a huge layer stops promptly. Progress is the furthest position
/// reached (seeks over file data count, as `cat` would have read them); when the walk is
/// done the whole blob counts.
struct ReadProgress<'a, R> {
    inner: R,
    len: u64,
    pos: u64,
    counted: u64,
    unreported: u64,
    read: &'a AtomicU64,
    observer: &'a dyn Observer,
    stopped: &'a AtomicBool,
}

impl<'a, R> ReadProgress<'a, R> {
    fn new(
        inner: R,
        len: u64,
        read: &'a AtomicU64,
        observer: &'a dyn Observer,
        stopped: &'a AtomicBool,
    ) -> Self {
        Self {
            inner,
            len,
            pos: 0,
            counted: 0,
            unreported: 0,
            read,
            observer,
            stopped,
        }
    }

    fn moved_to(&mut self, pos: u64) -> io::Result<()> {
        if self.stopped.load(Ordering::Relaxed) {
            return Err(io::Error::other("analysis stopped"));
        }
        self.pos = pos;
        let ahead = pos.min(self.len).saturating_sub(self.counted);
        self.counted += ahead;
        self.unreported += ahead;
        if self.unreported >= PROGRESS_STEP {
            self.report()?;
        }
        Ok(())
    }

    fn report(&mut self) -> io::Result<()> {
        if self.unreported > 0 {
            let total = self.read.fetch_add(self.unreported, Ordering::Relaxed) + self.unreported;
            self.unreported = 0;
            if self.observer.event(&Event::Read {
                stored_bytes: total,
            }) == Control::Stop
            {
                self.stopped.store(true, Ordering::Relaxed);
            }
        }
        if self.stopped.load(Ordering::Relaxed) {
            return Err(io::Error::other("analysis stopped"));
        }
        Ok(())
    }
}

impl<R: Read> Read for ReadProgress<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.moved_to(self.pos + n as u64)?;
        Ok(n)
    }
}

impl<R: Seek> Seek for ReadProgress<'_, R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let pos = self.inner.seek(to)?;
        self.moved_to(pos)?;
        Ok(pos)
    }
}

impl<R> Drop for ReadProgress<'_, R> {
    fn drop(&mut self) {
        if !self.stopped.load(Ordering::Relaxed) {
            self.unreported += self.len.saturating_sub(self.counted);
            let _ = self.report();
        }
    }
}

/// Each manifest layer's index, and its bytes when it is a plain tar held in memory.
struct WalkedLayers {
    indexes: Vec<Arc<LayerIndex>>,
    blobs: Vec<Option<Blob>>,
}

/// A warning for a layer that inflates more than `ratio` times, as decompression bombs do.
fn bomb_warning(index: &LayerIndex, ratio: u64) -> Option<Warning> {
    if index.compression == Compression::None || index.size_compressed == 0 {
        return None;
    }
    let inflates = index.size_uncompressed / index.size_compressed;
    (inflates > ratio).then(|| {
        Warning::new(
            Location::default(),
            format!(
                "layer inflates {inflates}× ({} → {} bytes), over the {ratio}× cap \
                 (--max-ratio): a likely decompression bomb",
                index.size_compressed, index.size_uncompressed
            ),
        )
    })
}

/// Walks keep the package databases attribution reads, and nothing else.
fn walk_options() -> WalkOptions {
    WalkOptions {
        capture: crate::attribution::is_database,
        ..WalkOptions::default()
    }
}

/// A content hasher that remembers what it read, for [`Analyzer::finish`] to keep.
pub(crate) trait RecordingHasher: ContentHasher {
    /// `(layer, entry, hash)` of every content read so far, handed over once.
    fn read(&self) -> Vec<(usize, u32, u128)>;
}

/// Hashes the content of entries in plain layers held in memory.
struct BlobHasher<'a> {
    blobs: &'a [Option<Blob>],
    read: Mutex<Vec<(usize, u32, u128)>>,
}

impl ContentHasher for BlobHasher<'_> {
    fn ends_differ(&self, a: (usize, &LayerEntry), b: (usize, &LayerEntry)) -> bool {
        match (self.ends(a.0, a.1), self.ends(b.0, b.1)) {
            (Some(a), Some(b)) => a != b,
            _ => false,
        }
    }

    fn hash(&self, layer: usize, index: u32, entry: &LayerEntry) -> Option<u128> {
        let blob = self.blobs.get(layer)?.as_ref()?;
        let end = entry.data_offset.checked_add(entry.size)?;
        if end > blob.bytes().len() as u64 {
            return None;
        }
        let hash = hash_content(blob.reader_at(entry.data_offset, entry.size), entry.size).ok()?;
        if let Ok(mut read) = self.read.lock() {
            read.push((layer, index, hash));
        }
        Some(hash)
    }
}

impl BlobHasher<'_> {
    /// The first and last few KiB of an entry's content in its blob.
    fn ends(&self, layer: usize, entry: &LayerEntry) -> Option<(&[u8], &[u8])> {
        const PROBE: usize = 4096;
        let bytes = self.blobs.get(layer)?.as_ref()?.bytes();
        let start = usize::try_from(entry.data_offset).ok()?;
        let end = start.checked_add(usize::try_from(entry.size).ok()?)?;
        let content = bytes.get(start..end)?;
        let n = content.len().min(PROBE);
        Some((&content[..n], &content[content.len() - n..]))
    }
}

impl RecordingHasher for BlobHasher<'_> {
    fn read(&self) -> Vec<(usize, u32, u128)> {
        self.read
            .lock()
            .map(|mut read| std::mem::take(&mut *read))
            .unwrap_or_default()
    }
}

/// With `--verify`: every layer's blob digest and diff_id, as computed, equal what the
/// manifest and the config claim.
fn verify_digests(input: &str, plan: &Plan, indexes: &[Arc<LayerIndex>]) -> Result<()> {
    for (i, (layer, index)) in plan.layers.iter().zip(indexes).enumerate() {
        let label = layer_label(i, layer.digest.as_deref(), &layer.path);
        let location = || Location::input(input).layer(label.clone());
        let Some(found) = &index.digests else {
            return Err(Error::format(
                location(),
                "cannot verify: the layer could not be read to its end",
            ));
        };
        let claims = [
            (
                "the manifest's layer digest",
                layer.digest.as_deref(),
                &found.blob,
            ),
            (
                "the config's diff_id",
                plan.diff_ids.get(i).map(String::as_str),
                &found.tar,
            ),
        ];
        for (what, claimed, actual) in claims {
            if let Some(claimed) = claimed.filter(|c| c.starts_with("sha256:"))
                && !claimed.eq_ignore_ascii_case(actual)
            {
                return Err(Error::format(
                    location(),
                    format!("{what} is {claimed}, but the bytes hash to {actual}"),
                ));
            }
        }
    }
    Ok(())
}

/// The Dockerfile step of each layer: history entries that are not `empty_layer`, in order.
fn layer_commands(plan: &Plan, input: &str, warnings: &mut Vec<Warning>) -> Vec<Option<String>> {
    let commands: Vec<Option<String>> = plan
        .history
        .iter()
        .filter(|h| !h.empty_layer.unwrap_or(false))
        .map(|h| h.created_by.clone())
        .collect();
    if !plan.history.is_empty() && commands.len() != plan.layers.len() {
        warnings.push(Warning::new(
            Location::input(input),
            format!(
                "the config history has {} non-empty entries for {} layers; commands may be misplaced",
                commands.len(),
                plan.layers.len()
            ),
        ));
    }
    commands
}

/// A layer's blob digest; an uncompressed legacy layer's blob is its diff_id.
fn layer_digest(index: usize, plan: &Plan, walked: &LayerIndex) -> Option<String> {
    plan.layers[index].digest.clone().or_else(|| {
        (walked.compression == Compression::None)
            .then(|| plan.diff_ids.get(index).cloned())
            .flatten()
    })
}

/// `layer N (sha256:0123456789ab…)`, or with the blob's path when its digest is unknown.
fn layer_label(index: usize, digest: Option<&str>, blob: &str) -> String {
    format!(
        "layer {index} ({})",
        digest.map_or_else(|| blob.to_owned(), crate::digest::short_digest)
    )
}

fn relabel(warning: &Warning, input: &str, layer: &str) -> Warning {
    let mut warning = warning.clone();
    warning.location.input = input.to_owned();
    warning.location.layer = (!layer.is_empty()).then(|| layer.to_owned());
    warning
}

//! From walked layers to figures: the merge, the facts of the image and of each layer, the
//! labels that warnings carry, and the checks `--verify` makes against the manifest.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::builder::AnalyzerBuilder;
use super::hasher::{RecordingHasher, Stopping};
use super::observe::{Control, Event, Observer, Told};
use crate::analysis::{Analysis, BaseImage, BaseSource, ImageFacts, ImageRecord, LayerFacts};
use crate::attribution::{Attribution, FamilyRules};
use crate::error::{Error, LayerRef, Location, Result, Warning};
use crate::layer::{Compression, LayerIndex};
use crate::source::Plan;
use crate::stage::{Checkpoint, Stage};
use crate::tree::{HiddenItem, HiddenReason, InodeId, Merged, merge, prove};

/// The second step of [`Analyzer::analyze_in_steps`](crate::Analyzer::analyze_in_steps): the owner package, waste class,
/// duplicates and device code of every byte of an analysis whose merge is done.
pub struct Attributing {
    /// Reads contents in place (the duplicates' heads and bytes) and remembers what the
    /// merge and this step read.
    hasher: Box<dyn RecordingHasher + Send>,
    families: FamilyRules,
    min_duplicate_size: u64,
}

impl std::fmt::Debug for Attributing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attributing")
            .field("min_duplicate_size", &self.min_duplicate_size)
            .finish_non_exhaustive()
    }
}

/// What [`Attributing::run`] found, for [`Analysis::set_attribution`].
#[derive(Debug)]
pub struct Attributed {
    attribution: Attribution,
    /// Why each same-size rewrite hid its content, its contents compared.
    proven: Vec<(InodeId, HiddenReason)>,
    /// `(layer, entry, hash)` of every content read, kept with its entry so that a saved
    /// scan merges alike.
    read: Vec<(usize, u32, crate::layer::ContentHash)>,
    /// What the merge and this step read of contents.
    reads: crate::analysis::Work,
}

impl Attributing {
    /// Attributes `analysis`, the one [`Analyzer::analyze_in_steps`](crate::Analyzer::analyze_in_steps) returned with this.
    pub fn run(self, analysis: &Analysis) -> Attributed {
        self.attribute(analysis, &Checkpoint::never())
    }

    /// [`Attributing::run`], telling `observer` as each stage begins ([`Event::Stage`], then
    /// [`Event::Attributed`]) and stopping within a few thousand files when it asks
    /// ([`Observer::stop_requested`], or [`Control::Stop`] for an event):
    /// [`Error::Cancelled`].
    pub fn run_observed(self, analysis: &Analysis, observer: &dyn Observer) -> Result<Attributed> {
        let told = Told(observer);
        let checkpoint = Checkpoint::new(&told);
        let attributed = self.attribute(analysis, &checkpoint);
        // A stopped stage left the attribution incomplete: it is dropped.
        if checkpoint.stop() || observer.event(&Event::Attributed) == Control::Stop {
            return Err(Error::Cancelled {
                location: Location::input(analysis.input.clone()),
            });
        }
        Ok(attributed)
    }

    fn attribute(self, analysis: &Analysis, checkpoint: &Checkpoint<'_>) -> Attributed {
        let refs: Vec<&LayerIndex> = analysis.layer_indexes.iter().map(Arc::as_ref).collect();
        let hasher = Stopping {
            inner: self.hasher.as_ref(),
            checkpoint,
        };
        // The waste classes count metadata-only rewrites apart: reasons first.
        let proven = if checkpoint.begin(Stage::Compare) {
            prove(
                &analysis.unproven,
                &analysis.tree,
                &refs,
                &hasher,
                checkpoint,
            )
        } else {
            Vec::new()
        };
        let mut hidden = Cow::Borrowed(&analysis.hidden);
        if !proven.is_empty() {
            set_reasons(hidden.to_mut(), &proven);
        }
        let attribution = crate::attribution::attribute(
            &analysis.tree,
            &refs,
            &hidden,
            &self.families,
            &hasher,
            self.min_duplicate_size,
            checkpoint,
        );
        Attributed {
            attribution,
            proven,
            read: self.hasher.read(),
            reads: self.hasher.reads(),
        }
    }
}

/// Gives hidden items the reasons their compared contents tell.
fn set_reasons(hidden: &mut [HiddenItem], proven: &[(InodeId, HiddenReason)]) {
    let reasons: std::collections::HashMap<InodeId, HiddenReason> =
        proven.iter().copied().collect();
    for item in hidden {
        if let Some(&reason) = reasons.get(&item.inode) {
            item.reason = reason;
        }
    }
}

impl Analysis {
    /// Completes an analysis of [`Analyzer::analyze_in_steps`](crate::Analyzer::analyze_in_steps) with its attribution.
    pub fn set_attribution(&mut self, attributed: Attributed) {
        self.work = crate::analysis::Work {
            duplicate_steps: attributed.attribution.duplicate_steps,
            database_bytes: attributed.attribution.database_bytes,
            path_bytes_hashed: self.work.path_bytes_hashed,
            secret_bytes: self.work.secret_bytes,
            ..attributed.reads
        };
        self.attribution = attributed.attribution;
        self.warnings.extend(
            std::mem::take(&mut self.attribution.warnings)
                .into_iter()
                .map(|w| {
                    // The layer and entry a database was read from stay.
                    let location = Location {
                        input: self.input.clone(),
                        ..w.location
                    };
                    Warning::new(location, w.message)
                }),
        );
        set_reasons(&mut self.hidden, &attributed.proven);
        self.unproven.clear();
        for (layer, entry, hash) in attributed.read {
            if let Some(index) = self.layer_indexes.get_mut(layer) {
                Arc::make_mut(index).set_content_hash(entry as usize, hash);
            }
        }
    }
}

/// Merges walked layers and computes every figure but the attribution, which the
/// returned [`Attributing`] computes; shared by images and saved scans.
pub(super) fn finish(
    settings: &AnalyzerBuilder,
    record: ImageRecord,
    indexes: Vec<Arc<LayerIndex>>,
    hasher: Box<dyn RecordingHasher + Send>,
    observer: &dyn Observer,
) -> Result<(Analysis, Attributing)> {
    let refs: Vec<&LayerIndex> = indexes.iter().map(Arc::as_ref).collect();
    let told = Told(observer);
    let checkpoint = Checkpoint::new(&told);
    let merged = if checkpoint.begin(Stage::Merge) {
        merge(&refs, hasher.as_ref(), &checkpoint)
    } else {
        None
    };
    let Some(merged) = merged.filter(|_| observer.event(&Event::Merged) == Control::Continue)
    else {
        return Err(Error::Cancelled {
            location: Location::input(record.input),
        });
    };
    let input = record.input.as_str();
    let mut warnings = record.warnings.clone();
    let layer_ref = |i: usize| {
        record
            .layers
            .get(i)
            .map(|layer| LayerRef::new(i, layer.digest.as_deref(), &layer.blob))
    };
    for (i, index) in indexes.iter().enumerate() {
        warnings.extend(
            index
                .warnings
                .iter()
                .map(|w| relabel(w, input, layer_ref(i))),
        );
        if let Some(warning) = bomb_warning(index, settings.limits.ratio) {
            warnings.push(relabel(&warning, input, layer_ref(i)));
        }
    }
    for warning in &merged.warnings {
        let layer = warning
            .location
            .layer
            .as_ref()
            .and_then(|l| layer_ref(l.index));
        warnings.push(relabel(warning, input, layer));
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
            // Files the merge skipped (past the allowance of directories) are in no
            // figure, as those the walk skipped.
            file_bytes: index
                .file_bytes
                .saturating_sub(merged.skipped_bytes.get(i).copied().unwrap_or(0)),
            hidden_bytes: 0,
            hides_bytes: 0,
            created_by: layer.created_by.clone(),
            blob: layer.blob.clone(),
            from_base: false,
        })
        .collect();
    // Every sum of sizes saturates: sizes come from the image (a sparse file's up to
    // 16 TiB), and a wrapped sum would be a false figure.
    for item in &merged.hidden {
        let added = &mut layers[item.added_in_layer].hidden_bytes;
        *added = added.saturating_add(item.bytes);
        let by = &mut layers[item.hidden_by_layer].hides_bytes;
        *by = by.saturating_add(item.bytes);
    }

    let root = merged.tree.node(crate::tree::NodeId::ROOT);
    let sum = |values: &mut dyn Iterator<Item = u64>| values.fold(0u64, u64::saturating_add);
    let total_file_bytes = sum(&mut layers.iter().map(|l| l.file_bytes));
    let image = ImageFacts {
        reference: record.reference,
        platform: record.platform,
        layout: record.layout,
        manifest_digest: record.manifest_digest,
        config_digest: record.config_digest,
        layer_count: layers.len(),
        size_compressed: sum(&mut layers.iter().map(|l| l.size_compressed)),
        size_uncompressed: sum(&mut layers.iter().map(|l| l.size_uncompressed)),
        total_file_bytes,
        final_bytes: root.bytes,
        final_files: root.files,
        hidden_bytes: sum(&mut merged.hidden.iter().map(|h| h.bytes)),
        efficiency: if total_file_bytes == 0 {
            1.0
        } else {
            root.bytes as f64 / total_file_bytes as f64
        },
        dive: merged.dive,
        verified: false,
        base: (record.base.name.is_some() || record.base.digest.is_some()).then(|| BaseImage {
            name: record.base.name.clone(),
            digest: record.base.digest.clone(),
            layers: None,
            source: BaseSource::Annotation,
        }),
        base_bytes: 0,
        own_bytes: total_file_bytes,
    };
    let mut secrets = record.secrets;
    let (in_files, unlisted) = file_secrets(&indexes, &merged);
    secrets.extend(in_files);
    if unlisted > 0 {
        warnings.push(Warning::new(
            Location::input(&record.input),
            format!(
                "secrets: {unlisted} more found in files and not listed: the image holds more \
                 than {} (the gate counts them)",
                crate::secrets::FILE_SECRETS_LISTED
            ),
        ));
    }
    let secrets_unlisted =
        (indexes.iter()).fold(unlisted, |sum, i| sum.saturating_add(i.secret_unkept));
    let secret_bytes = (indexes.iter()).fold(0u64, |sum, i| sum.saturating_add(i.secret_bytes));
    let analysis = Analysis {
        input: record.input,
        image,
        layers,
        hidden: merged.hidden,
        tree: merged.tree,
        layer_indexes: indexes,
        attribution: Attribution::default(),
        warnings,
        gpus: settings.gpus.clone(),
        changes: merged.changes,
        unproven: merged.unproven,
        work: crate::analysis::Work {
            path_bytes_hashed: merged.path_bytes_hashed,
            secret_bytes,
            ..crate::analysis::Work::default()
        },
        dockerfile: None,
        provenance: record.provenance,
        secrets,
        secrets_unlisted,
    };
    let attributing = Attributing {
        hasher,
        families: settings.families.clone(),
        min_duplicate_size: settings
            .min_duplicate_size
            .unwrap_or(crate::attribution::MIN_DUPLICATE_SIZE),
    };
    Ok((analysis, attributing))
}

/// The secrets the layers' files hold, each visible or hidden by the layer that deleted or
/// replaced it: the hidden contents are looked up only for the entries that hold one.
fn file_secrets(
    indexes: &[Arc<LayerIndex>],
    merged: &Merged,
) -> (Vec<crate::secrets::Secret>, u64) {
    let holding: HashSet<(u32, u32)> = (indexes.iter().enumerate())
        .flat_map(|(l, index)| {
            let l = u32::try_from(l).unwrap_or(u32::MAX);
            index.secrets.iter().map(move |(e, _)| (l, *e))
        })
        .collect();
    if holding.is_empty() {
        return (Vec::new(), 0);
    }
    let hidden: HashMap<(u32, u32), usize> = (merged.hidden.iter())
        .filter_map(|item| {
            let inode = merged.tree.inodes().get(item.inode.0 as usize)?;
            let at = (inode.layer, inode.entry);
            holding.contains(&at).then_some((at, item.hidden_by_layer))
        })
        .collect();
    let key = |layer: usize, entry: u32| (u32::try_from(layer).unwrap_or(u32::MAX), entry);
    crate::secrets::file_findings(
        indexes
            .iter()
            .enumerate()
            .map(|(l, index)| (l, index.secrets.as_slice())),
        |layer, entry| {
            let entry = indexes.get(layer)?.entries.get(entry as usize)?;
            Some(String::from_utf8_lossy(&entry.path).into_owned())
        },
        |layer, entry| hidden.get(&key(layer, entry)).copied(),
    )
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

/// With `--verify`: every layer's blob digest and `diff_id`, as computed, equal what the
/// manifest and the config claim.
pub(super) fn verify_digests(input: &str, plan: &Plan, indexes: &[Arc<LayerIndex>]) -> Result<()> {
    for (i, (layer, index)) in plan.layers.iter().zip(indexes).enumerate() {
        let location =
            || Location::input(input).layer(LayerRef::new(i, layer.digest.as_deref(), &layer.path));
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

/// The Dockerfile step of each layer (history entries that are not `empty_layer`, in order),
/// every secret value redacted, and the secrets the history records (empty-layer entries
/// included: `ENV` and `ARG` steps keep values too).
pub(super) fn layer_commands(
    plan: &Plan,
    input: &str,
    warnings: &mut Vec<Warning>,
) -> (Vec<Option<String>>, Vec<crate::secrets::Secret>) {
    let mut secrets = plan.secrets.clone();
    let mut commands: Vec<Option<String>> = Vec::new();
    for (entry, h) in plan.history.iter().enumerate() {
        let writes_layer = !h.empty_layer.unwrap_or(false);
        let layer = writes_layer.then_some(commands.len());
        let shown = h.created_by.as_deref().map(|created_by| {
            let (shown, found) = crate::secrets::redact_history(created_by, entry, layer);
            secrets.extend(found);
            shown
        });
        if writes_layer {
            commands.push(shown);
        }
    }
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
    (commands, secrets)
}

/// A layer's blob digest; an uncompressed legacy layer's blob is its `diff_id`.
pub(super) fn layer_digest(index: usize, plan: &Plan, walked: &LayerIndex) -> Option<String> {
    plan.layers[index].digest.clone().or_else(|| {
        (walked.compression == Compression::None)
            .then(|| plan.diff_ids.get(index).cloned())
            .flatten()
    })
}

/// A layer's or the merge's warning as the image's: named by input and layer.
fn relabel(warning: &Warning, input: &str, layer: Option<LayerRef>) -> Warning {
    let mut warning = warning.clone();
    input.clone_into(&mut warning.location.input);
    warning.location.layer = layer.map(Box::new);
    warning
}

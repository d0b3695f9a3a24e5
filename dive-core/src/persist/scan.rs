//! Saved scans: an analysis written to a file and opened later without the image.
//!
//! A scan keeps what reading the image produced (every layer's entries, the package databases
//! the walk captured, the content hashes the merge compared, the image's names and warnings),
//! not the merged figures: opening one merges and attributes again, so every view is the same
//! as the original run's and a newer families file applies to an old scan.
//!
//! File: the magic line, the format number (u32, little-endian), then a zstd frame of the
//! postcard encoding of the scan. The saved types are this module's own, so changing a
//! public type cannot change the format unnoticed.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::framed::{FrameError, read_framed, write_framed};
use super::index::SavedIndex;
use crate::analysis::{Analysis, BaseSource, ImageRecord, LayerRecord};
use crate::error::{Error, LayerRef, Location, Result, Warning};
use crate::layer::LayerIndex;
use crate::source::{BaseAnnotation, Layout};

/// First bytes of every saved scan.
const MAGIC: &[u8; 14] = b"dive-rs scan\n\0";

/// The format this build writes and reads (2: the manifest's base-image annotations, and
/// a warning's layer as its index; 3: the base image given with `--base`; 4: the CUDA
/// device code of ELF files; 5: content hashes are BLAKE3, 32 bytes).
pub const SCAN_FORMAT: u32 = 5;

/// A scan decodes to at most this many bytes (a scan of a million entries is ~100 MB).
pub const MAX_SCAN_BYTES: u64 = 4 << 30;

#[derive(Serialize, Deserialize)]
struct SavedScan {
    /// `dive-rs 0.1.0`, for messages.
    tool: String,
    input: String,
    reference: Option<String>,
    platform: Option<String>,
    layout: Layout,
    manifest_digest: Option<String>,
    config_digest: String,
    base: BaseAnnotation,
    /// The base image given with `--base` when the scan was saved: its name, digest and
    /// how many bottom layers are its.
    given_base: Option<(Option<String>, Option<String>, u32)>,
    layers: Vec<SavedLayer>,
    /// Distinct layer indexes; a blob listed twice is saved once.
    indexes: Vec<SavedIndex>,
    /// The original run's warnings, final (relabelled, merge warnings included).
    warnings: Vec<SavedWarning>,
    /// The secrets of the config, the history and the attestation (file secrets travel in
    /// `indexes`), redacted.
    secrets: Vec<crate::secrets::SavedSecret>,
}

#[derive(Serialize, Deserialize)]
struct SavedLayer {
    digest: Option<String>,
    diff_id: Option<String>,
    media_type: Option<String>,
    created_by: Option<String>,
    blob: String,
    /// Into [`SavedScan::indexes`].
    index: u32,
}

#[derive(Serialize, Deserialize)]
struct SavedWarning {
    input: String,
    /// The layer's index in the manifest; its digest and blob come from `layers`.
    layer: Option<u32>,
    offset: Option<u64>,
    entry: Option<String>,
    message: String,
}

/// Whether `path` is a file that starts like a saved scan.
pub fn is_scan(path: &Path) -> bool {
    let mut head = [0u8; MAGIC.len()];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| &head == MAGIC)
}

/// Writes `analysis` as a saved scan to `path` (replacing it).
pub fn save(analysis: &Analysis, path: &Path) -> Result<()> {
    let location = || Location::input(path.display().to_string());
    let file = File::create(path).map_err(|e| Error::io(location(), e))?;
    write(analysis, BufWriter::new(file)).map_err(|e| Error::io(location(), e))
}

/// Writes `analysis` as a saved scan to `out`.
pub fn write(analysis: &Analysis, out: impl Write) -> std::io::Result<()> {
    write_framed(out, MAGIC, SCAN_FORMAT, &saved(analysis))
}

fn saved(analysis: &Analysis) -> SavedScan {
    let mut indexes: Vec<SavedIndex> = Vec::new();
    let mut seen: Vec<&Arc<LayerIndex>> = Vec::new();
    let layers = analysis
        .layers
        .iter()
        .zip(&analysis.layer_indexes)
        .map(|(facts, index)| {
            let at = seen
                .iter()
                .position(|s| Arc::ptr_eq(s, index))
                .unwrap_or_else(|| {
                    seen.push(index);
                    indexes.push(SavedIndex::of(index));
                    seen.len() - 1
                });
            SavedLayer {
                digest: facts.digest.clone(),
                diff_id: facts.diff_id.clone(),
                media_type: facts.media_type.clone(),
                created_by: facts.created_by.clone(),
                blob: facts.blob.clone(),
                index: u32::try_from(at).unwrap_or(u32::MAX),
            }
        })
        .collect();
    let image = &analysis.image;
    SavedScan {
        tool: format!("dive-rs {}", env!("CARGO_PKG_VERSION")),
        input: analysis.input.clone(),
        reference: image.reference.clone(),
        platform: image.platform.clone(),
        layout: image.layout,
        manifest_digest: image.manifest_digest.clone(),
        base: BaseAnnotation {
            name: image
                .base
                .as_ref()
                .filter(|b| b.source == BaseSource::Annotation)
                .and_then(|b| b.name.clone()),
            digest: image
                .base
                .as_ref()
                .filter(|b| b.source == BaseSource::Annotation)
                .and_then(|b| b.digest.clone()),
        },
        config_digest: image.config_digest.clone(),
        given_base: image
            .base
            .as_ref()
            .filter(|b| b.source == BaseSource::Given)
            .map(|b| {
                let layers = u32::try_from(b.layers.unwrap_or(0)).unwrap_or(u32::MAX);
                (b.name.clone(), b.digest.clone(), layers)
            }),
        layers,
        indexes,
        warnings: analysis
            .warnings
            .iter()
            .map(|w| SavedWarning {
                input: w.location.input.clone(),
                layer: w
                    .location
                    .layer
                    .as_ref()
                    .and_then(|l| u32::try_from(l.index).ok()),
                offset: w.location.offset,
                entry: w.location.entry.clone(),
                message: w.message.clone(),
            })
            .collect(),
        secrets: (analysis.secrets.iter())
            .filter(|s| s.source != crate::secrets::SecretSource::File)
            .map(crate::secrets::Secret::saved)
            .collect(),
    }
}

/// A saved scan read back: what the engine merges and attributes as for an image.
pub(crate) struct LoadedScan {
    /// The image's names and layers.
    pub record: ImageRecord,
    /// The base image given with `--base` when it was saved: name, digest, layers.
    pub given_base: Option<(Option<String>, Option<String>, usize)>,
    /// Each manifest layer's walked index (a blob listed twice shares one).
    pub indexes: Vec<Arc<LayerIndex>>,
    /// The original run's warnings, final.
    pub warnings: Vec<Warning>,
}

/// Reads and checks a saved scan.
pub(crate) fn load(path: &Path) -> Result<LoadedScan> {
    let name = path.display().to_string();
    let bad = |message: String| Error::format(Location::input(&name), message);
    let file = File::open(path).map_err(|e| Error::io(Location::input(&name), e))?;
    let scan: SavedScan = read_framed(BufReader::new(file), MAGIC, SCAN_FORMAT, MAX_SCAN_BYTES)
        .map_err(|e| {
            bad(match e {
                FrameError::Format(format) => format!(
                    "this saved scan has format {format}; this dive-rs reads format \
                     {SCAN_FORMAT}; scan the image again with this version (dive-rs IMAGE \
                     --save FILE)"
                ),
                FrameError::Damaged(what) => format!("the saved scan is unusable: {what}"),
            })
        })?;
    check(&scan).map_err(bad)?;
    if let Some((_, _, layers)) = &scan.given_base
        && *layers as usize > scan.layers.len()
    {
        return Err(bad(format!(
            "the saved base image has {layers} layers, the image {}",
            scan.layers.len()
        )));
    }
    let saved: Vec<Arc<LayerIndex>> = scan
        .indexes
        .into_iter()
        .map(|i| Arc::new(i.into_index()))
        .collect();
    let indexes = scan
        .layers
        .iter()
        .map(|l| Arc::clone(&saved[l.index as usize]))
        .collect();
    // The secrets saved with the scan; a history line that still holds a value (a scan
    // written by hand) is redacted here too (a value redacted already is left as it is),
    // and what is found is listed.
    let layer_count = scan.layers.len();
    let mut secrets: Vec<crate::secrets::Secret> = (scan.secrets.into_iter())
        .filter_map(|s| s.restore(layer_count))
        .collect();
    let layers = scan
        .layers
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            let created_by = l.created_by.map(|c| {
                let (shown, found) = crate::secrets::redact_history(&c, i, Some(i));
                secrets.extend(found);
                shown
            });
            LayerRecord {
                digest: l.digest,
                diff_id: l.diff_id,
                media_type: l.media_type,
                created_by,
                blob: l.blob,
            }
        })
        .collect();
    let record = ImageRecord {
        input: scan.input,
        reference: scan.reference,
        platform: scan.platform,
        layout: scan.layout,
        manifest_digest: scan.manifest_digest,
        base: scan.base,
        // Not saved: a saved scan matches a Dockerfile by its history.
        provenance: None,
        secrets,
        config_digest: scan.config_digest,
        layers,
        warnings: Vec::new(),
    };
    // A layer is saved as its index; the saved layers name it again.
    let layer_ref = |index: u32| {
        let index = index as usize;
        let layer = record.layers.get(index)?;
        Some(LayerRef::new(index, layer.digest.as_deref(), &layer.blob))
    };
    let warnings = scan
        .warnings
        .into_iter()
        .map(|w| Warning {
            location: Location {
                input: w.input,
                layer: w.layer.and_then(layer_ref).map(Box::new),
                offset: w.offset,
                entry: w.entry,
            },
            message: w.message,
        })
        .collect();
    Ok(LoadedScan {
        record,
        given_base: scan
            .given_base
            .map(|(name, digest, layers)| (name, digest, layers as usize)),
        indexes,
        warnings,
    })
}

/// Refuses a scan whose numbers point outside itself (the merge indexes by them).
fn check(scan: &SavedScan) -> std::result::Result<(), String> {
    if let Some(layer) = scan
        .layers
        .iter()
        .find(|l| l.index as usize >= scan.indexes.len())
    {
        return Err(format!(
            "layer {} names saved index {}, but there are {}",
            layer.blob,
            layer.index,
            scan.indexes.len()
        ));
    }
    for (i, index) in scan.indexes.iter().enumerate() {
        index
            .check()
            .map_err(|message| format!("saved index {i}: {message}"))?;
    }
    Ok(())
}

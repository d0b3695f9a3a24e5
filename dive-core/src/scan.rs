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

use crate::analysis::Analysis;
use crate::analyze::{
    Analyzer, Control, Event, ImageRecord, LayerRecord, Observer, RecordingHasher,
};
use crate::error::{Error, Location, Result, Warning};
use crate::layer::{Compression, LayerEntry, LayerIndex};
use crate::source::Layout;
use crate::tree::ContentHasher;

/// First bytes of every saved scan.
const MAGIC: &[u8; 14] = b"dive-rs scan\n\0";

/// The format this build writes and reads.
pub const SCAN_FORMAT: u32 = 1;

/// A scan decodes to at most this many bytes (a scan of a million entries is ~100 MB).
pub const MAX_SCAN_BYTES: u64 = 4 << 30;

/// zstd level: scans are written once per run, so favour speed.
const LEVEL: i32 = 3;

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
    layers: Vec<SavedLayer>,
    /// Distinct layer indexes; a blob listed twice is saved once.
    indexes: Vec<SavedIndex>,
    /// The original run's warnings, final (relabelled, merge warnings included).
    warnings: Vec<SavedWarning>,
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

/// One walked layer as saved (in a scan, and in the layer cache).
#[derive(Serialize, Deserialize)]
pub(crate) struct SavedIndex {
    entries: Vec<LayerEntry>,
    compression: Compression,
    size_compressed: u64,
    size_uncompressed: u64,
    file_bytes: u64,
    captured: Vec<(u32, Box<[u8]>)>,
}

#[derive(Serialize, Deserialize)]
struct SavedWarning {
    input: String,
    layer: Option<String>,
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

/// Writes `magic`, the format number and `value` as zstd-compressed postcard.
pub(crate) fn write_framed<T: Serialize>(
    mut out: impl Write,
    magic: &[u8],
    format: u32,
    value: &T,
) -> std::io::Result<()> {
    let bytes = postcard::to_stdvec(value).map_err(std::io::Error::other)?;
    out.write_all(magic)?;
    out.write_all(&format.to_le_bytes())?;
    let mut encoder = zstd::Encoder::new(out, LEVEL)?;
    encoder.write_all(&bytes)?;
    encoder.finish()?.flush()
}

/// Why a framed file could not be read.
pub(crate) enum FrameError {
    /// Another format number than the one asked for.
    Format(u32),
    /// Cut, damaged or too large, in words.
    Damaged(String),
}

/// Reads what [`write_framed`] wrote, decoding at most `max` bytes.
pub(crate) fn read_framed<T: for<'de> Deserialize<'de>>(
    mut input: impl Read,
    magic: &[u8],
    format: u32,
    max: u64,
) -> std::result::Result<T, FrameError> {
    let mut head = vec![0u8; magic.len() + 4];
    input
        .read_exact(&mut head)
        .map_err(|_| FrameError::Damaged("it ends inside its header".to_owned()))?;
    if &head[..magic.len()] != magic {
        return Err(FrameError::Damaged(
            "it does not start as expected".to_owned(),
        ));
    }
    let mut number = [0u8; 4];
    number.copy_from_slice(&head[magic.len()..]);
    let found = u32::from_le_bytes(number);
    if found != format {
        return Err(FrameError::Format(found));
    }
    let damaged =
        |e: &dyn std::fmt::Display| FrameError::Damaged(format!("its data is damaged: {e}"));
    let mut bytes = Vec::new();
    zstd::Decoder::new(input)
        .map_err(|e| damaged(&e))?
        .take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| damaged(&e))?;
    if bytes.len() as u64 > max {
        return Err(FrameError::Damaged(format!(
            "it decodes to more than {max} bytes"
        )));
    }
    postcard::from_bytes(&bytes).map_err(|e| damaged(&e))
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
        config_digest: image.config_digest.clone(),
        layers,
        indexes,
        warnings: analysis
            .warnings
            .iter()
            .map(|w| SavedWarning {
                input: w.location.input.clone(),
                layer: w.location.layer.clone(),
                offset: w.location.offset,
                entry: w.location.entry.clone(),
                message: w.message.clone(),
            })
            .collect(),
    }
}

/// Opens a saved scan: checks it, then merges and attributes as for an image.
pub(crate) fn load(analyzer: &Analyzer, path: &Path, observer: &dyn Observer) -> Result<Analysis> {
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
    if observer.event(&Event::Resolved {
        layers: scan.layers.len(),
        stored_bytes: 0,
    }) == Control::Stop
    {
        return Err(Error::Cancelled { input: name });
    }
    let indexes: Vec<Arc<LayerIndex>> = scan
        .indexes
        .into_iter()
        .map(|i| Arc::new(i.into_index()))
        .collect();
    let by_layer = scan
        .layers
        .iter()
        .map(|l| Arc::clone(&indexes[l.index as usize]))
        .collect();
    let record = ImageRecord {
        input: scan.input,
        reference: scan.reference,
        platform: scan.platform,
        layout: scan.layout,
        manifest_digest: scan.manifest_digest,
        config_digest: scan.config_digest,
        layers: scan
            .layers
            .into_iter()
            .map(|l| LayerRecord {
                digest: l.digest,
                diff_id: l.diff_id,
                media_type: l.media_type,
                created_by: l.created_by,
                blob: l.blob,
            })
            .collect(),
        warnings: Vec::new(),
    };
    let mut analysis = analyzer.finish(record, by_layer, &NoHasher, observer)?;
    analysis.warnings = scan
        .warnings
        .into_iter()
        .map(|w| Warning {
            location: Location {
                input: w.input,
                layer: w.layer,
                offset: w.offset,
                entry: w.entry,
            },
            message: w.message,
        })
        .collect();
    Ok(analysis)
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

impl SavedIndex {
    /// What is saved of a walked layer (its warnings travel separately).
    pub(crate) fn of(index: &LayerIndex) -> Self {
        SavedIndex {
            entries: index.entries.clone(),
            compression: index.compression,
            size_compressed: index.size_compressed,
            size_uncompressed: index.size_uncompressed,
            file_bytes: index.file_bytes,
            captured: index.captured.clone(),
        }
    }

    /// The layer again, without warnings or digests.
    pub(crate) fn into_index(self) -> LayerIndex {
        LayerIndex {
            entries: self.entries,
            compression: self.compression,
            size_compressed: self.size_compressed,
            size_uncompressed: self.size_uncompressed,
            file_bytes: self.file_bytes,
            warnings: Vec::new(),
            captured: self.captured,
            digests: None,
        }
    }

    /// Refuses numbers that point outside the layer and paths the merge would not expect.
    pub(crate) fn check(&self) -> std::result::Result<(), String> {
        let len = self.entries.len();
        for entry in &self.entries {
            let normal = crate::path::normalize(&entry.path);
            if normal.as_deref() != Some(&*entry.path) {
                return Err(format!(
                    "entry {} is not a normalised path",
                    String::from_utf8_lossy(&entry.path)
                ));
            }
            if entry.link_entry.is_some_and(|e| e as usize >= len) {
                return Err(format!(
                    "hardlink {} points past the layer's {len} entries",
                    String::from_utf8_lossy(&entry.path)
                ));
            }
        }
        if let Some((e, _)) = self.captured.iter().find(|(e, _)| *e as usize >= len) {
            return Err(format!(
                "captured file {e} is past the layer's {len} entries"
            ));
        }
        Ok(())
    }
}

/// Saved scans keep the hashes the first merge read; nothing else can be read.
struct NoHasher;

impl ContentHasher for NoHasher {
    fn hash(&self, _layer: usize, _index: u32, _entry: &LayerEntry) -> Option<u128> {
        None
    }
}

impl RecordingHasher for NoHasher {
    fn read(&self) -> Vec<(usize, u32, u128)> {
        Vec::new()
    }
}

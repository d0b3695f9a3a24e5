//! The result of an analysis: plain data, indices instead of references.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;

use serde::Serialize;

mod base;
mod record;

pub use base::{BaseImage, BaseLayers, BaseSource};
pub(crate) use record::{ImageRecord, LayerRecord};

use crate::attribution::Attribution;
use crate::error::{Location, Warning};
use crate::layer::{Compression, LayerEntry, LayerIndex};
use crate::source::Layout;
use crate::tree::{DiveFigures, EntryChange, FileTree, HiddenItem, InodeId, NodeId};

/// Facts about the whole image.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ImageFacts {
    /// The tag or name the image was chosen by or carries.
    pub reference: Option<String>,
    /// `os/arch[/variant]` from the config or the index.
    pub platform: Option<String>,
    /// The layout the image was read from.
    pub layout: Layout,
    /// Digest of the image manifest, when the input has one.
    pub manifest_digest: Option<String>,
    /// Digest of the image config (the image ID).
    pub config_digest: String,
    /// Layers in the manifest.
    pub layer_count: usize,
    /// Σ layer blob sizes as stored.
    pub size_compressed: u64,
    /// Σ layer tar sizes after decompression.
    pub size_uncompressed: u64,
    /// Σ regular-file bytes over all layers (hardlinks once).
    pub total_file_bytes: u64,
    /// Bytes of regular files visible in the final file system.
    pub final_bytes: u64,
    /// Regular files visible in the final file system (a hardlink is not a second file).
    pub final_files: u64,
    /// Bytes shipped in layers but not visible at the end.
    pub hidden_bytes: u64,
    /// `final_bytes ÷ total_file_bytes` (1 for an image without file bytes).
    pub efficiency: f64,
    /// dive's own figures, for comparison.
    pub dive: DiveFigures,
    /// Every layer's blob digest and `diff_id` were checked against its bytes (`--verify`).
    pub verified: bool,
    /// The image this one is built on, when known.
    pub base: Option<BaseImage>,
    /// Σ file bytes of the base image's layers, hidden ones included (0 when none is known).
    pub base_bytes: u64,
    /// Σ file bytes of the other layers: what this image's own steps added.
    pub own_bytes: u64,
}

/// Facts about one layer, in manifest order.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct LayerFacts {
    /// Position in the manifest, from 0.
    pub index: usize,
    /// Blob digest (for uncompressed legacy layers, the `diff_id`).
    pub digest: Option<String>,
    /// Digest of the uncompressed tar, from the config.
    pub diff_id: Option<String>,
    /// Media type from the manifest, when the input has one.
    pub media_type: Option<String>,
    /// Compression told by the blob's magic bytes.
    pub compression: Compression,
    /// Blob length.
    pub size_compressed: u64,
    /// Tar length after decompression.
    pub size_uncompressed: u64,
    /// Tar entries (directories, links and whiteouts included).
    pub entries: usize,
    /// Σ regular-file bytes (hardlinks once).
    pub file_bytes: u64,
    /// Bytes this layer added that are not visible at the end.
    pub hidden_bytes: u64,
    /// Bytes of lower layers (or itself) that this layer's changes hid.
    pub hides_bytes: u64,
    /// The Dockerfile step, from the config history.
    pub created_by: Option<String>,
    /// Where the blob sits in the input.
    pub blob: String,
    /// The layer is the base image's ([`Analysis::set_base`]).
    pub from_base: bool,
}

impl LayerFacts {
    /// The Dockerfile step as people wrote it ([`LayerFacts::created_by`] without the
    /// `/bin/sh -c #(nop) ` noise, spaces folded), when the history has one.
    pub fn command(&self) -> Option<String> {
        self.created_by.as_deref().map(clean_command)
    }
}

/// A Dockerfile step as people wrote it: `/bin/sh -c #(nop) ` noise removed, and of
/// BuildKit's `RUN |1 HF_TOKEN=… /bin/sh -c CMD # buildkit` the build arguments (the
/// secrets section and `created_by` keep them, redacted), the shell and the marker; spaces
/// folded.
pub(crate) fn clean_command(command: &str) -> String {
    let command = command.trim();
    let (run, body) = match command.strip_prefix("RUN ") {
        Some(body) => ("RUN ", body.trim_start()),
        None => ("", command),
    };
    // Build arguments run from `|N` to the shell; a JSON-form RUN has no shell to find.
    let body = match body.strip_prefix('|') {
        Some(rest) => rest.find(" /bin/sh -c ").map_or(body, |at| &rest[at + 1..]),
        None => body,
    };
    let body = body.strip_prefix("/bin/sh -c ").unwrap_or(body);
    let body = body.strip_prefix("#(nop) ").unwrap_or(body);
    let body = body.strip_suffix(" # buildkit").unwrap_or(body);
    let words: Vec<&str> = body.split_whitespace().collect();
    format!("{run}{}", words.join(" "))
}

#[cfg(test)]
mod tests {
    use super::clean_command;

    #[test]
    fn commands_read_as_the_dockerfile_wrote_them() {
        for (history, shown) in [
            ("/bin/sh -c #(nop)  ENV A=1", "ENV A=1"),
            ("/bin/sh -c apt-get   update", "apt-get update"),
            (
                "RUN |1 HF_TOKEN=hf_[REDACTED:39:d36a3980] /bin/sh -c pip install x # buildkit",
                "RUN pip install x",
            ),
            ("RUN /bin/sh -c make # buildkit", "RUN make"),
            (
                "RUN |1 A=b python -c 1 # buildkit",
                "RUN |1 A=b python -c 1",
            ),
            ("COPY app/ /app # buildkit", "COPY app/ /app"),
        ] {
            assert_eq!(clean_command(history), shown, "{history}");
        }
    }
}

/// A visible file, for the largest-files list.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LargeFile {
    /// The node in [`Analysis::tree`].
    pub node: NodeId,
    /// Bytes of content.
    pub bytes: u64,
    /// The layer that added the content.
    pub layer: usize,
}

/// Everything dive-rs learned about an image.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Analysis {
    /// The input as named by the user.
    pub input: String,
    /// Totals and identity.
    pub image: ImageFacts,
    /// Per-layer facts, in manifest order.
    pub layers: Vec<LayerFacts>,
    /// Hidden content with its evidence, largest first.
    pub hidden: Vec<HiddenItem>,
    /// The merged file system.
    pub tree: FileTree,
    /// Each layer's own entries, in manifest order (read through [`Analysis::layer_index`],
    /// [`Analysis::entry`]: the record's shape is the engine's to change).
    pub(crate) layer_indexes: Vec<Arc<LayerIndex>>,
    /// Owner package of every byte, families, unowned directories.
    pub attribution: Attribution,
    /// Problems that did not stop the analysis.
    pub warnings: Vec<Warning>,
    /// The GPUs the image is for (`--gpu-arch`), by SM number: device code none of them
    /// runs is reported as not for them. Empty when not said.
    pub gpus: Vec<u32>,
    /// Per layer, per entry: what the entry changed ([`Analysis::entry_change`]).
    pub(crate) changes: Vec<Vec<EntryChange>>,
    /// Same-size rewrites whose contents are compared with the attribution
    /// ([`Analysis::is_being_compared`]); empty once it is set.
    pub(crate) unproven: Vec<crate::tree::Unproven>,
    /// What the attribution did beyond the walk ([`Analysis::work`]).
    pub(crate) work: Work,
    /// The Dockerfile matched to the layers ([`Analysis::match_dockerfile`]): its name and
    /// each layer's instruction line.
    pub(crate) dockerfile: Option<(String, Vec<Option<usize>>)>,
    /// BuildKit's provenance attestation, when the input carried one.
    pub(crate) provenance: Option<crate::source::Provenance>,
    /// Secrets the image ships, redacted.
    pub secrets: Vec<crate::secrets::Secret>,
    /// Secrets found in files past the caps and not listed (test data aside): the gate
    /// counts them.
    pub(crate) secrets_unlisted: u64,
}

/// Work an analysis did beyond walking its layers, counted so that its budget can be held
/// (docs/limits.md) by counts rather than by a clock: for a saved scan, only the merge's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Work {
    /// Positioned reads of file contents in plain layers: the heads, ends and whole contents
    /// that same-size rewrites and duplicates are compared by.
    pub content_reads: u64,
    /// Their bytes: each candidate is read whole at most a few times.
    pub content_bytes: u64,
    /// Paths and contents looked at while putting duplicate groups together: a few per
    /// path, however large a group.
    pub duplicate_steps: u64,
    /// Bytes of the paths and names package databases listed that attributing built
    /// (joined, normalised) or hashed into claims: a few times its room (16 MiB and twice
    /// the entries' path bytes), however the databases are written.
    pub database_bytes: u64,
    /// Path bytes the merge hashed into keys (dive's figures, the allowance of directories,
    /// whiteouts): a few passes over each entry's path, however deep it goes.
    pub path_bytes_hashed: u64,
    /// Bytes of candidate files read for secrets, by the walk (heads only): capped per
    /// layer, however many candidates a layer holds or however large they are.
    pub secret_bytes: u64,
}

/// Which content of the merged tree each layer entry brought (a regular file's entry brings
/// one; a hard link, a directory or a whiteout none), from [`Analysis::entry_contents`].
#[derive(Debug, Clone, Default)]
pub struct EntryContents {
    /// Per layer, per entry: the content's index, or `NONE`.
    by_layer: Vec<Vec<u32>>,
}

impl EntryContents {
    const NONE: u32 = u32::MAX;

    /// The content entry `entry` of layer `layer` brought, if any.
    pub fn get(&self, layer: usize, entry: usize) -> Option<InodeId> {
        self.by_layer
            .get(layer)?
            .get(entry)
            .copied()
            .filter(|&i| i != Self::NONE)
            .map(InodeId)
    }
}

impl Analysis {
    /// Layer `layer`'s entries, in tar order.
    pub fn layer_entries(&self, layer: usize) -> Option<&[LayerEntry]> {
        Some(&self.layer_index(layer)?.entries)
    }

    /// Layer `layer`'s walk: its entries, sizes, compression, digests, and the side tables
    /// the walk keeps (captured databases, device code, content hashes): the engine's
    /// representation, public with the `unstable` feature only.
    #[cfg(feature = "unstable")]
    #[doc(hidden)]
    pub fn layer_index(&self, layer: usize) -> Option<&LayerIndex> {
        self.layer_indexes.get(layer).map(Arc::as_ref)
    }

    #[cfg(not(feature = "unstable"))]
    pub(crate) fn layer_index(&self, layer: usize) -> Option<&LayerIndex> {
        self.layer_indexes.get(layer).map(Arc::as_ref)
    }

    /// What the analysis did beyond the walk (contents read back, duplicates grouped),
    /// once attributed.
    pub fn work(&self) -> Work {
        self.work
    }

    /// Entry `entry` (in tar order) of layer `layer`.
    pub fn entry(&self, layer: usize, entry: usize) -> Option<&LayerEntry> {
        self.layer_index(layer)?.entries.get(entry)
    }

    /// Whether the file at `entry` of `layer` holds, or may hold, a value a secrets rule
    /// matches: a file the walk found one in, a credential file by its name (`.env`,
    /// `.ssh/id_*`, …), or one whose bytes `window` (read from it) match a rule. For tools
    /// that hand a file's bytes on, which must refuse it by where its bytes come from.
    pub fn secret_in(&self, layer: usize, entry: usize, window: &[u8]) -> bool {
        let Some(index) = self.layer_index(layer) else {
            return true;
        };
        let Some(record) = index.entries.get(entry) else {
            return true;
        };
        let found = u32::try_from(entry).is_ok_and(|e| index.secrets.iter().any(|(i, _)| *i == e));
        found
            || crate::secrets::file_wanted(&record.path, record.size)
                == Some(crate::secrets::Candidate::Named)
            || record.path.ends_with(b".env")
            || !crate::secrets::scan_file(&record.path, window).is_empty()
    }

    /// What each entry of layer `layer` did to the image below it, in tar order.
    pub fn layer_changes(&self, layer: usize) -> &[EntryChange] {
        self.changes.get(layer).map_or(&[], Vec::as_slice)
    }

    /// Whether the hidden content `inode` was rewritten at the same size by a later layer and
    /// the two contents are still to be compared: until [`Analysis::set_attribution`], its
    /// reason says `Overwritten` for what may turn out `MetadataOnly`.
    pub fn is_being_compared(&self, inode: InodeId) -> bool {
        self.unproven.iter().any(|u| u.inode == inode)
    }

    /// What entry `entry` of layer `layer` did to the image below it.
    pub fn entry_change(&self, layer: usize, entry: usize) -> Option<EntryChange> {
        self.layer_changes(layer).get(entry).copied()
    }

    /// The layer entry that brought a content of [`Analysis::tree`].
    pub fn content_entry(&self, content: InodeId) -> Option<&LayerEntry> {
        let inode = self.tree.inodes().get(content.0 as usize)?;
        self.entry(inode.layer as usize, inode.entry as usize)
    }

    /// Bytes of debug and symbol sections in a content's ELF file (0 when none or not ELF).
    pub fn debug_bytes(&self, content: InodeId) -> u64 {
        self.tree
            .inodes()
            .get(content.0 as usize)
            .and_then(|inode| {
                let layer = self.layer_indexes.get(inode.layer as usize)?;
                Some(layer.debug_bytes(inode.entry as usize))
            })
            .unwrap_or(0)
    }

    /// An index from layer entries to the contents they brought (4 bytes an entry), built
    /// on demand: the merge does not keep it, since only views that browse a layer's own
    /// entries need it.
    pub fn entry_contents(&self) -> EntryContents {
        let mut by_layer: Vec<Vec<u32>> = self
            .layer_indexes
            .iter()
            .map(|l| vec![EntryContents::NONE; l.entries.len()])
            .collect();
        for (i, inode) in self.tree.inodes().iter().enumerate() {
            if let Some(slot) = by_layer
                .get_mut(inode.layer as usize)
                .and_then(|l| l.get_mut(inode.entry as usize))
            {
                *slot = u32::try_from(i).unwrap_or(EntryContents::NONE);
            }
        }
        EntryContents { by_layer }
    }

    /// The `n` largest visible files, each content once, largest first.
    pub fn largest_files(&self, n: usize) -> Vec<LargeFile> {
        // The n best seen so far, worst on top: memory follows n, not the file count.
        // Ranked by size, then by node id (the earlier node first among equals).
        let mut best: BinaryHeap<Reverse<(u64, Reverse<NodeId>, usize)>> = BinaryHeap::new();
        for id in self.tree.walk() {
            let node = self.tree.node(id);
            let Some(inode) = node.inode else { continue };
            if node.files != 1 || n == 0 {
                continue;
            }
            // Once n are held, most files rank below the worst of them: no push and pop.
            if best.len() == n
                && best
                    .peek()
                    .is_some_and(|Reverse((bytes, Reverse(worst), _))| {
                        (node.bytes, Reverse(id)) <= (*bytes, Reverse(*worst))
                    })
            {
                continue;
            }
            best.push(Reverse((
                node.bytes,
                Reverse(id),
                self.tree.inode(inode).layer as usize,
            )));
            if best.len() > n {
                best.pop();
            }
        }
        // Sorted ascending by `Reverse`, so the largest comes first.
        best.into_sorted_vec()
            .into_iter()
            .map(|Reverse((bytes, Reverse(node), layer))| LargeFile { node, bytes, layer })
            .collect()
    }
}

/// The base image of an analysis (see `base.rs`).
impl Analysis {
    /// Marks the layers this image shares with `base`: the common prefix of the two
    /// configs' `diff_id`s, from the bottom (a rebuilt base shares none). Returns how many.
    pub fn set_base(&mut self, base: &BaseLayers) -> usize {
        let shared = self
            .layers
            .iter()
            .zip(&base.diff_ids)
            .take_while(|(layer, diff_id)| layer.diff_id.as_deref() == Some(diff_id.as_str()))
            .count();
        self.restore_base(Some(base.name.clone()), base.digest.clone(), shared);
        if shared == 0 {
            self.warnings.push(Warning::new(
                Location::input(&base.name),
                "the base image shares no layer with this image (by diff_id, from the \
                 bottom): it was rebuilt since, or is not this image's base",
            ));
        }
        shared
    }

    /// Marks the bottom `layers` layers as the given base image's (as a saved scan
    /// remembers them).
    pub(crate) fn restore_base(
        &mut self,
        name: Option<String>,
        digest: Option<String>,
        layers: usize,
    ) {
        for layer in &mut self.layers {
            layer.from_base = layer.index < layers;
        }
        self.image.base = Some(BaseImage {
            name,
            digest,
            layers: Some(layers),
            source: BaseSource::Given,
        });
        self.split_base_bytes();
    }

    /// `base_bytes` and `own_bytes` from the layers marked `from_base`.
    pub(crate) fn split_base_bytes(&mut self) {
        let base: u64 = self
            .layers
            .iter()
            .filter(|l| l.from_base)
            .fold(0, |sum, l| sum.saturating_add(l.file_bytes));
        self.image.base_bytes = base;
        self.image.own_bytes = self.image.total_file_bytes.saturating_sub(base);
    }

    /// How many bottom layers are the base image's (0 when unknown).
    pub fn base_layer_count(&self) -> usize {
        self.layers.iter().take_while(|l| l.from_base).count()
    }

    /// Matches the layers' history to the Dockerfile `text` (named `file`; the stage `stage`,
    /// or the last), so that the reports name each finding's line: "line N of `file`".
    /// Refuses a Dockerfile the image was not built from, as `fix` does.
    pub fn match_dockerfile(
        &mut self,
        file: &str,
        text: &[u8],
        stage: Option<&str>,
    ) -> std::result::Result<(), crate::dockerfile::DockerfileError> {
        let dockerfile = crate::dockerfile::parse(file, text)?;
        let (mapping, _) = self.map_dockerfile(&dockerfile, stage)?;
        let lines = mapping
            .layers
            .iter()
            .map(|origin| match *origin {
                crate::dockerfile::LayerOrigin::Instruction { line, .. } => Some(line),
                crate::dockerfile::LayerOrigin::BaseImage => None,
            })
            .collect();
        self.dockerfile = Some((file.to_owned(), lines));
        Ok(())
    }

    /// Pairs each layer with the instruction of `dockerfile` (stage `stage`) that wrote it:
    /// by BuildKit's provenance when the image carries one made from exactly this file (then
    /// `true`), else by matching the history (refusing a file the image was not built from).
    pub(crate) fn map_dockerfile(
        &self,
        dockerfile: &crate::dockerfile::Dockerfile,
        stage: Option<&str>,
    ) -> std::result::Result<(crate::dockerfile::Mapping, bool), crate::dockerfile::DockerfileError>
    {
        if let Some(provenance) = &self.provenance {
            let text = dockerfile.text.as_bytes();
            let lines: Option<Vec<Option<usize>>> = self
                .layers
                .iter()
                .map(|layer| {
                    let Some(&(source, line)) =
                        layer.digest.as_ref().and_then(|d| provenance.layers.get(d))
                    else {
                        return Some(None);
                    };
                    let (_, data) = provenance.sources.get(source)?;
                    (data.as_slice() == text).then_some(Some(line))
                })
                .collect();
            if let Some(mapping) = lines
                .filter(|l| l.iter().any(Option::is_some))
                .and_then(|l| crate::dockerfile::map_lines(dockerfile, stage, &l))
            {
                return Ok((mapping, true));
            }
        }
        let history: Vec<crate::dockerfile::HistoryEntry<'_>> = self
            .layers
            .iter()
            .map(|l| crate::dockerfile::HistoryEntry {
                created_by: l.created_by.as_deref(),
                empty_layer: false,
            })
            .collect();
        let mapping = crate::dockerfile::map_history(dockerfile, stage, &history)?;
        Ok((mapping, false))
    }

    /// The Dockerfile [`Analysis::match_dockerfile`] matched and the line of the
    /// instruction that wrote `layer`, when it wrote it (not the base image).
    pub fn dockerfile_line(&self, layer: usize) -> Option<(&str, usize)> {
        let (file, lines) = self.dockerfile.as_ref()?;
        Some((file.as_str(), (*lines.get(layer)?)?))
    }
}

//! The image an analysis came from, opened again ([`Contents`]), and which layer entry
//! holds the bytes of a version of a path ([`Analysis::find`]).

use crate::analysis::Analysis;
use crate::error::{Error, Location, Result};
use crate::layer::EntryKind;
use crate::source::{Restream, Source, Store};
use crate::tree::NodeId;

/// An image opened again to read the contents an [`Analysis`] of it points at
/// ([`Analyzer::contents`](crate::Analyzer::contents)).
pub struct Contents {
    pub(super) input: String,
    pub(super) reread: Reread,
    /// Each manifest layer's blob path inside the input, in order.
    pub(super) blobs: Vec<String>,
}

impl std::fmt::Debug for Contents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Contents")
            .field("input", &self.input)
            .field("blobs", &self.blobs)
            .finish_non_exhaustive()
    }
}

/// How layer blobs are reached again.
pub(super) enum Reread {
    /// In place (a file, a directory) or fetched one by one (a registry).
    Store(Box<dyn Store>),
    /// From the input's start: a container engine's save run again, a compressed archive
    /// decoded again.
    Restream(Restream),
}

/// Which version of a path to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// What the final image has.
    Final,
    /// What layer `N` wrote, whether or not a later layer hid it.
    Layer(usize),
}

/// A path of the image resolved to the layer entry whose bytes it has.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Found {
    /// The layer holding the bytes.
    pub layer: usize,
    /// The entry, in that layer's tar order.
    pub entry: usize,
    /// What the path is: a file (hard links resolved to the file that holds the bytes),
    /// a symlink, a directory and so on.
    pub kind: EntryKind,
    /// A symlink's target, as stored.
    pub link: Option<Box<[u8]>>,
    /// Bytes of content (0 for anything but a file).
    pub size: u64,
}

impl Analysis {
    /// Finds `path` (relative or absolute) in the final image or in one layer's own entries.
    /// A hard link resolves to the file whose bytes it shares; a symlink is returned as
    /// itself and one among the path's directories is not followed (see
    /// [`Analysis::follow`]). `None` when the version has no such path.
    pub fn find(&self, path: &[u8], version: Version) -> Option<Found> {
        let path = crate::path::normalize(path)?;
        match version {
            Version::Final => {
                let node = self.tree.node(self.tree.lookup(&path)?);
                if let Some(content) = node.inode {
                    let inode = self.tree.inode(content);
                    return self.found(inode.layer as usize, inode.entry as usize);
                }
                let entry = node.entry?;
                self.found(node.layer as usize, entry as usize)
            }
            Version::Layer(layer) => {
                let entries = &self.layer_index(layer)?.entries;
                // The last entry of a path wins inside a layer, as in the merge.
                let e = entries.iter().rposition(|e| *e.path == *path)?;
                let entry = &entries[e];
                if entry.kind != EntryKind::Hardlink {
                    return self.found(layer, e);
                }
                if let Some(target) = entry.link_entry() {
                    return self.found(layer, target as usize);
                }
                // A link to a lower layer's file shares the content the merge found for it.
                let target = entry.link.as_deref()?;
                let node = self.tree.node(self.tree.lookup(target)?);
                let inode = self.tree.inode(node.inode?);
                self.found(inode.layer as usize, inode.entry as usize)
            }
        }
    }

    pub(super) fn found(&self, layer: usize, entry: usize) -> Option<Found> {
        let e = self.entry(layer, entry)?;
        Some(Found {
            layer,
            entry,
            kind: e.kind,
            link: e.link.clone(),
            size: if e.kind == EntryKind::File { e.size } else { 0 },
        })
    }

    /// The node of `path` in the final image, if it is there.
    pub fn node_of(&self, path: &[u8]) -> Option<NodeId> {
        self.tree.lookup(&crate::path::normalize(path)?)
    }
}

impl Source {
    /// Refuses, with what to do instead, a source that cannot be read a second time to take
    /// files out of it ([`Analyzer::contents`](crate::Analyzer::contents)): stdin (or any
    /// stream) and a saved scan. Check this before the analysis, so nothing is analysed in
    /// vain.
    pub fn check_rereadable(&self) -> Result<()> {
        check_rereadable(self)
    }
}

/// Refuses, with what to do instead, a source that cannot be read a second time: stdin (or
/// any stream) and a saved scan. Callers that read files after an analysis check this
/// first, so nothing is analysed in vain.
pub fn check_rereadable(source: &Source) -> Result<()> {
    let refuse = |message: &str| {
        Err(Error::Source {
            location: Location::input(source.name()),
            message: message.to_owned(),
        })
    };
    match source {
        Source::Reader { .. } => refuse(
            "a stream cannot be read a second time to take a file out of it; save the image \
             to a file first (docker save IMAGE -o image.tar) and name the file",
        ),
        Source::Path { path, .. } if crate::persist::scan::is_scan(path) => {
            refuse("a saved scan holds no file contents; read them from the image it was made from")
        }
        _ => Ok(()),
    }
}

impl Contents {
    /// An input whose layer blobs are read again in place, or fetched one by one.
    pub(crate) fn in_store(input: String, store: Box<dyn Store>, blobs: Vec<String>) -> Self {
        Self {
            input,
            reread: Reread::Store(store),
            blobs,
        }
    }

    /// An input read again from its start for each layer.
    pub(crate) fn restreamed(input: String, restream: Restream, blobs: Vec<String>) -> Self {
        Self {
            input,
            reread: Reread::Restream(restream),
            blobs,
        }
    }

    /// The input as named.
    pub fn input(&self) -> &str {
        &self.input
    }

    /// Whether a plain layer is read at an offset (a file, a directory, a registry's range
    /// request), not decoded again from the input's start.
    pub(crate) fn positioned(&self) -> bool {
        matches!(self.reread, Reread::Store(_))
    }
}

//! Symlinks followed inside an image as the kernel follows them inside a root: in every
//! component of a path, not only the last (`/lib/x86_64-linux-gnu/libc.so.6` on a merged-/usr
//! image, where `/lib` is a link to `usr/lib`), relative targets from the link's directory,
//! absolute ones from the image's root, `..` from where a link led rather than from its name,
//! never above `/`, and at most [`MAX_LINKS`] links.

use std::collections::HashMap;

use super::reread::{Found, Version};
use crate::analysis::Analysis;
use crate::escape::escape_path;
use crate::layer::EntryKind;

/// Links followed at most for one path, as Linux's `MAXSYMLINKS`: the 41st is `ELOOP`.
pub const MAX_LINKS: u32 = 40;

/// Why a path could not be followed to what it names. Paths are shown escaped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FollowError {
    /// A component is not there (a broken link, or a path that does not exist).
    #[error("{}: there is no {} in {}", escape_path(.path), escape_path(.at), view(.version))]
    Missing {
        /// The path asked for, without its leading `/`.
        path: Vec<u8>,
        /// The first path, links resolved, that is not there.
        at: Vec<u8>,
        /// Where it was looked up.
        version: Version,
    },
    /// A component that must be a directory (something follows it) is not one.
    #[error("{}: {} is a {}, not a directory", escape_path(.path), escape_path(.at), .kind.name())]
    NotDir {
        /// The path asked for, without its leading `/`.
        path: Vec<u8>,
        /// The component, links resolved, that is not a directory.
        at: Vec<u8>,
        /// What it is.
        kind: EntryKind,
    },
    /// More than 40 links (`MAX_LINKS`): a loop, or a chain that long.
    #[error(
        "{}: more than {MAX_LINKS} symlinks to follow (a loop, or a chain that long); the \
         next was {}",
        escape_path(.path),
        escape_path(.at)
    )]
    TooManyLinks {
        /// The path asked for, without its leading `/`.
        path: Vec<u8>,
        /// The link that would have been one too many.
        at: Vec<u8>,
    },
    /// The links lead to a path the version asked for has no entry of (layer `N` did not
    /// write it, or it is the root).
    #[error("{}: it leads to {}, which {} has no entry for", escape_path(.path), escape_path(.at), view(.version))]
    NoEntry {
        /// The path asked for, without its leading `/`.
        path: Vec<u8>,
        /// Where the links lead.
        at: Vec<u8>,
        /// The version looked in.
        version: Version,
    },
}

impl FollowError {
    /// The path, links resolved, where following stopped.
    pub fn at(&self) -> &[u8] {
        match self {
            Self::Missing { at, .. }
            | Self::NotDir { at, .. }
            | Self::TooManyLinks { at, .. }
            | Self::NoEntry { at, .. } => at,
        }
    }
}

fn view(version: &Version) -> String {
    match version {
        Version::Final => "the final image".to_owned(),
        Version::Layer(n) => format!("layer {n} (or, for what it did not write, the final image)"),
    }
}

/// What a path is in the version followed: layer `N`'s own entry where it wrote the path,
/// else the final image's (a layer seldom rewrites the directories and links above its
/// files: `/lib` of a merged-/usr base stays the base's).
struct View<'a> {
    analysis: &'a Analysis,
    /// Layer `N`'s last entry of each path it wrote.
    own: Option<HashMap<&'a [u8], usize>>,
    layer: usize,
}

impl<'a> View<'a> {
    fn new(analysis: &'a Analysis, version: Version) -> Self {
        let Version::Layer(layer) = version else {
            return Self {
                analysis,
                own: None,
                layer: 0,
            };
        };
        let own = analysis.layer_index(layer).map(|index| {
            index
                .entries
                .iter()
                .enumerate()
                .map(|(e, entry)| (&*entry.path, e))
                .collect()
        });
        Self {
            analysis,
            own,
            layer,
        }
    }

    /// What `path` is, with a symlink's target; `None` when it is not there.
    fn get(&self, path: &[u8]) -> Option<(EntryKind, Option<&'a [u8]>)> {
        if let Some(&e) = self.own.as_ref().and_then(|own| own.get(path)) {
            let entry = self.analysis.entry(self.layer, e)?;
            return match entry.kind {
                // The layer deleted it: not there, whatever the final image has.
                EntryKind::Whiteout => None,
                EntryKind::Opaque => Some((EntryKind::Dir, None)),
                kind => Some((kind, entry.link.as_deref())),
            };
        }
        let node = self.analysis.tree.node(self.analysis.tree.lookup(path)?);
        let link = match node.kind {
            EntryKind::Symlink => node
                .entry
                .and_then(|e| self.analysis.entry(node.layer as usize, e as usize))
                .and_then(|e| e.link.as_deref()),
            _ => None,
        };
        Some((node.kind, link))
    }
}

impl Analysis {
    /// `path` with every symlink in it followed, the last component's included, as the
    /// kernel resolves a path inside a root at the image's `/`: in the final image, or with
    /// `Version::Layer(N)` in layer `N`'s own entries where it wrote a path and the final
    /// image elsewhere. The result is normalised (`usr/lib/x.so`; empty for the root).
    pub fn resolve(&self, path: &[u8], version: Version) -> Result<Vec<u8>, FollowError> {
        let view = View::new(self, version);
        let asked = || without_root(path).to_vec();
        let mut resolved: Vec<u8> = Vec::new();
        // Components still to walk, the next last: a link's target goes on top.
        let mut rest: Vec<&[u8]> = path.split(|&b| b == b'/').rev().collect();
        let mut links = 0;
        while let Some(part) = rest.pop() {
            match part {
                b"" | b"." => continue,
                // Above the root stays at the root, as in a chroot.
                b".." => {
                    let parent = resolved.iter().rposition(|&b| b == b'/').unwrap_or(0);
                    resolved.truncate(parent);
                    continue;
                }
                _ => {}
            }
            let here = crate::path::join(&resolved, part);
            let Some((kind, link)) = view.get(&here) else {
                return Err(FollowError::Missing {
                    path: asked(),
                    at: here,
                    version,
                });
            };
            let last = rest.iter().all(|p| p.is_empty() || *p == b".");
            match kind {
                EntryKind::Symlink => {
                    links += 1;
                    if links > MAX_LINKS {
                        return Err(FollowError::TooManyLinks {
                            path: asked(),
                            at: here,
                        });
                    }
                    let target = link.unwrap_or_default();
                    // An empty target names nothing (the kernel says ENOENT).
                    if target.is_empty() {
                        return Err(FollowError::Missing {
                            path: asked(),
                            at: here,
                            version,
                        });
                    }
                    if target.starts_with(b"/") {
                        resolved.clear();
                    }
                    rest.extend(target.split(|&b| b == b'/').rev());
                }
                EntryKind::Dir => resolved = here,
                _ if last => resolved = here,
                kind => {
                    return Err(FollowError::NotDir {
                        path: asked(),
                        at: here,
                        kind,
                    });
                }
            }
        }
        Ok(resolved)
    }

    /// What `path` leads to once every symlink in it is followed ([`Analysis::resolve`]):
    /// the entry of the version asked for at that path.
    pub fn follow(&self, path: &[u8], version: Version) -> Result<Found, FollowError> {
        let at = self.resolve(path, version)?;
        self.find(&at, version).ok_or_else(|| FollowError::NoEntry {
            path: without_root(path).to_vec(),
            at,
            version,
        })
    }
}

/// `path` without its leading slashes, as the image's paths are shown (`/` is put back).
fn without_root(path: &[u8]) -> &[u8] {
    let start = path.iter().position(|&b| b != b'/').unwrap_or(path.len());
    &path[start..]
}

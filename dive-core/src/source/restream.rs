//! An input that can only be read from its start, read again to reach one layer blob: a
//! container engine's `save` run again, or a compressed archive file decoded again. The
//! outer archive is walked member by member and the blob's bytes are handed out as they
//! come; whatever follows is never read (the engine is stopped when the reader is dropped).

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use tar::EntryType;

use super::blob::Blob;
use super::daemon::{Engine, Save};
use super::spec::{Source, Watch};
use super::store::{OUTER_NAME_CAP, inner_path};
use super::stream::outer_decoder;
use crate::error::{Error, Location, Result};
use crate::layer::tar_input::Streaming;
use crate::layer::tar_reader::TarReader;
use crate::path::{join, normalize, split_last};

/// Where a fresh copy of a read-once input comes from.
#[derive(Debug, Clone)]
pub(crate) enum Restream {
    /// `ENGINE save REFERENCE`, run again.
    Engine {
        /// Which engine.
        engine: Engine,
        /// The image as the engine names it.
        reference: String,
    },
    /// A gzip or zstd compressed archive on disk, decoded again.
    File(PathBuf),
}

impl Restream {
    /// How `source` is read again, when it is read from its start only and can be read
    /// again at all (not a pipe).
    pub(crate) fn of(source: &Source) -> Option<Restream> {
        match source {
            Source::Engine { engine, reference } => Some(Restream::Engine {
                engine: *engine,
                reference: reference.clone(),
            }),
            Source::Path { path, .. } if !path.is_dir() && compressed_file(path) => {
                Some(Restream::File(path.clone()))
            }
            _ => None,
        }
    }

    /// The bytes of the outer archive's member `blob` (symlinks and hard links to it
    /// followed), reached by reading the input from its start. Members are found by path,
    /// and both `docker save` forms name layer blobs after their content, so the bytes
    /// found are the analysed layer's. A blob the input no longer holds is an error that
    /// says to analyse it again.
    /// `watch` hears the bytes of the input read so far (of 0: the total is unknown) and
    /// stops the search with [`Error::Cancelled`] when it answers `false`.
    pub(crate) fn member(&self, input: &str, blob: &str, watch: &Watch) -> Result<Box<dyn Read>> {
        let mut wanted = inner_path(blob).unwrap_or_else(|| blob.to_owned());
        // A link to a member that came earlier needs a second pass, now knowing the target.
        for _ in 0..2 {
            let asked = wanted.clone();
            let searching = Arc::new(AtomicU8::new(SEARCHING));
            let watched = Watched {
                inner: self.open(input)?,
                read: 0,
                watch: Arc::clone(watch),
                state: Arc::clone(&searching),
            };
            let mut tar = TarReader::new(
                Streaming(Box::new(watched) as Box<dyn Read>),
                OUTER_NAME_CAP,
            );
            let mut links: HashMap<String, String> = HashMap::new();
            loop {
                let member = match tar.next_member() {
                    Ok(Some(member)) => member,
                    Ok(None) => break,
                    Err(_) if searching.load(Ordering::Relaxed) == STOPPED => {
                        return Err(Error::Cancelled {
                            location: Location::input(input),
                        });
                    }
                    Err(err) => {
                        return Err(Error::format(
                            Location::input(input).offset(err.offset),
                            format!("reading the archive again for {blob}: {}", err.message),
                        ));
                    }
                };
                if member.unusable.is_some() {
                    continue;
                }
                let Some(path) = normalize(&member.path) else {
                    continue;
                };
                let name = String::from_utf8_lossy(&path).into_owned();
                match member.entry_type {
                    EntryType::Symlink | EntryType::Link => {
                        let target = member.link.clone().unwrap_or_default();
                        let joined = if member.entry_type == EntryType::Symlink
                            && !target.starts_with(b"/")
                        {
                            join(split_last(&path).0, &target)
                        } else {
                            target
                        };
                        let Some(target) = normalize(&joined) else {
                            continue;
                        };
                        let target = String::from_utf8_lossy(&target).into_owned();
                        if name == wanted {
                            wanted.clone_from(&target);
                        }
                        links.insert(name, target);
                    }
                    EntryType::Regular | EntryType::Continuous if name == wanted => {
                        // Found: the layer's own reading reports from here on.
                        searching.store(FOUND, Ordering::Relaxed);
                        return Ok(Box::new(MemberReader { tar }));
                    }
                    _ => {}
                }
            }
            let mut resolved = wanted.clone();
            for _ in 0..16 {
                match links.get(&resolved) {
                    Some(target) => resolved.clone_from(target),
                    None => break,
                }
            }
            if resolved == asked {
                break;
            }
            wanted = resolved;
        }
        Err(Error::format(
            Location::input(input).entry(blob.as_bytes()),
            format!(
                "the input no longer holds the layer blob {blob}; the image changed since the \
                 analysis, analyse it again"
            ),
        ))
    }

    /// The outer archive from its start, outer compression undone.
    fn open(&self, input: &str) -> Result<Box<dyn Read>> {
        let raw: Box<dyn Read> = match self {
            Restream::Engine { engine, reference } => {
                Box::new(Save::spawn(input, *engine, reference)?)
            }
            Restream::File(path) => {
                let file = File::open(path).map_err(|e| Error::io(Location::input(input), e))?;
                let blob =
                    Blob::map_file(file).map_err(|e| Error::io(Location::input(input), e))?;
                Box::new(blob.reader())
            }
        };
        outer_decoder(input, raw)
    }
}

/// Whether `path` is a file that starts with gzip or zstd magic.
pub(crate) fn compressed_file(path: &std::path::Path) -> bool {
    let mut head = [0u8; 4];
    let read = File::open(path).and_then(|mut f| f.read(&mut head));
    read.is_ok_and(|n| crate::layer::sniff(&head[..n]) != crate::layer::Compression::None)
}

const SEARCHING: u8 = 0;
const FOUND: u8 = 1;
const STOPPED: u8 = 2;

/// The outer archive as it is searched: bytes read are told to the watcher, which may stop
/// the search.
struct Watched {
    inner: Box<dyn Read>,
    read: u64,
    watch: Watch,
    state: Arc<AtomicU8>,
}

impl Read for Watched {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.state.load(Ordering::Relaxed) == SEARCHING && !(self.watch)(self.read, 0) {
            self.state.store(STOPPED, Ordering::Relaxed);
            return Err(io::Error::other("stopped"));
        }
        Ok(n)
    }
}

/// One member's data, read from the outer archive as it streams.
struct MemberReader {
    tar: TarReader<Streaming<Box<dyn Read>>>,
}

impl Read for MemberReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.tar.data().read(buf)
    }
}

//! An image arriving as a tar stream (stdin, a pipe): one pass, never seeking.
//!
//! A Docker 25+ `docker save` puts blobs before `index.json`/`manifest.json`, so layers go
//! by before their order is known. Every member that looks like a layer is walked as it
//! streams, keyed by its path; small JSON members are kept; ordering happens at the end.
//! Memory holds the layer indexes and the metadata, never a layer's bytes.

use std::collections::HashMap;
use std::io::{self, BufRead, Read};
use std::sync::Arc;

use tar::EntryType;

use super::store::{LayerInput, OUTER_NAME_CAP, Store, inner_path};
use crate::aligned::AlignedReader;
use crate::error::{Error, Location, Result, Warning};
use crate::layer::tar_input::Streaming;
use crate::layer::tar_reader::TarReader;
use crate::layer::{Compression, LayerIndex, Strategy, WalkInput, WalkOptions, sniff, walk};
use crate::path::{join, normalize, split_last};

/// Σ metadata kept from one stream before it is refused.
const META_TOTAL_CAP: u64 = 256 * 1024 * 1024;
/// Bytes looked at to tell JSON from a layer.
const HEAD: usize = 512;

/// What a scanned stream held.
#[derive(Debug, Default)]
pub(crate) struct StreamStore {
    meta: HashMap<String, Vec<u8>>,
    layers: HashMap<String, Arc<LayerIndex>>,
    links: HashMap<String, String>,
    warnings: Vec<Warning>,
}

impl StreamStore {
    /// Reads the whole stream; `on_layer` hears of each walked blob, and how
    /// [`walk`] read it, and may stop the scan.
    pub(crate) fn scan<R: Read>(
        input: &str,
        reader: R,
        options: &WalkOptions,
        on_layer: &mut dyn FnMut(&str, &LayerIndex, Strategy) -> bool,
    ) -> Result<Self> {
        let decoded = outer_decoder(input, reader)?;
        let mut store = StreamStore::default();
        let mut tar = TarReader::new(Streaming(decoded), OUTER_NAME_CAP);
        let mut meta_total = 0u64;
        loop {
            let entry = match tar.next_member() {
                Ok(Some(entry)) => entry,
                Ok(None) => break,
                Err(err) => {
                    store.warnings.push(Warning::new(
                        Location::input(input).offset(err.offset),
                        format!(
                            "stream is damaged or truncated; members after this point are \
                             missing: {}",
                            err.message
                        ),
                    ));
                    break;
                }
            };
            let raw_path = &entry.path;
            if let Some(warning) = entry.unusable_warning(Location::input(input)) {
                store.warnings.push(warning);
                continue;
            }
            let Some(path) = normalize(raw_path) else {
                continue;
            };
            let name = String::from_utf8_lossy(&path).into_owned();
            let header_pos = entry.header_offset;
            let location = || Location::input(input).offset(header_pos).entry(raw_path);
            match entry.entry_type {
                EntryType::Symlink | EntryType::Link => {
                    let is_symlink = entry.entry_type == EntryType::Symlink;
                    let target = entry.link.clone().unwrap_or_default();
                    let joined = if is_symlink && !target.starts_with(b"/") {
                        join(split_last(&path).0, &target)
                    } else {
                        target
                    };
                    if let Some(target) = normalize(&joined) {
                        store
                            .links
                            .insert(name, String::from_utf8_lossy(&target).into_owned());
                    }
                }
                EntryType::Regular | EntryType::Continuous => {
                    let size = entry.stored;
                    let mut head = Vec::with_capacity(HEAD);
                    let here = location();
                    tar.data()
                        .take(HEAD as u64)
                        .read_to_end(&mut head)
                        .map_err(|e| Error::io(here, e))?;
                    if looks_like_metadata(&name, &head) {
                        if size > options.capture_limit || meta_total + size > META_TOTAL_CAP {
                            store.warnings.push(Warning::new(
                                location(),
                                format!(
                                    "metadata member of {size} bytes is over the {}-byte cap \
                                     (--max-metadata); skipped",
                                    options.capture_limit
                                ),
                            ));
                            continue;
                        }
                        let mut bytes = head;
                        let here = location();
                        tar.data()
                            .read_to_end(&mut bytes)
                            .map_err(|e| Error::io(here, e))?;
                        meta_total += bytes.len() as u64;
                        store.meta.insert(name, bytes);
                    } else {
                        let member = io::Cursor::new(head).chain(tar.data());
                        let (index, strategy) = walk(WalkInput::Passing(Box::new(member)), options);
                        if !on_layer(&name, &index, strategy) {
                            return Err(Error::Cancelled {
                                location: Location::input(input),
                            });
                        }
                        store.layers.insert(name, Arc::new(index));
                    }
                }
                _ => {}
            }
        }
        Ok(store)
    }

    fn resolve(&self, path: &str) -> Option<String> {
        let mut path = inner_path(path)?;
        for _ in 0..16 {
            match self.links.get(&path) {
                Some(target) => path.clone_from(target),
                None => return Some(path),
            }
        }
        None
    }
}

/// The tar inside a stream, with an outer compression undone: `docker save img | gzip` is
/// common.
pub(crate) fn outer_decoder<'a, R: Read + 'a>(
    input: &str,
    reader: R,
) -> Result<Box<dyn Read + 'a>> {
    let mut raw = AlignedReader::with_capacity(256 * 1024, reader);
    let outer = sniff(
        raw.fill_buf()
            .map_err(|e| Error::io(Location::input(input), e))?,
    );
    Ok(match outer {
        Compression::None => Box::new(raw),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(raw)),
        Compression::Zstd => Box::new(
            zstd::stream::read::Decoder::with_buffer(raw)
                .map_err(|e| Error::io(Location::input(input), e))?,
        ),
    })
}

/// JSON and the small text files of `docker save` are metadata; anything else may be a layer.
fn looks_like_metadata(name: &str, head: &[u8]) -> bool {
    let base = name.rsplit('/').next().unwrap_or(name);
    if matches!(base, "VERSION" | "repositories" | "oci-layout" | "json") {
        return true;
    }
    matches!(
        head.iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'{' | b'[')
    )
}

impl Store for StreamStore {
    fn read_meta(&self, path: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.resolve(path).and_then(|p| self.meta.get(&p).cloned()))
    }

    fn layer(&self, path: &str) -> Result<Option<LayerInput>> {
        Ok(self
            .resolve(path)
            .and_then(|p| self.layers.get(&p).cloned())
            .map(LayerInput::Walked))
    }

    fn warnings(&self) -> &[Warning] {
        &self.warnings
    }
}

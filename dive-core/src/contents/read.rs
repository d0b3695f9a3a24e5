//! The bytes of layer entries, streamed: a plain layer by positioned reads at each entry's
//! offset, a compressed one (or a registry blob) decoded once from its start, in the order the
//! entries lie in it, and dropped after the last one asked for.

use std::io::{self, BufReader, Read, Write};
use std::sync::Arc;

use super::reread::{Contents, Reread};
use super::sparse::{HEADERS_CAP, SparseMap};
use crate::analysis::Analysis;
use crate::error::{Error, LayerRef, Location, Result};
use crate::layer::{Compression, EntryKind, decoder};
use crate::source::{Fetch, LayerInput, PartNote, Watch};

/// Big reads from the blob: the decoder asks for little at a time.
const BLOB_BUFFER: usize = 1 << 20;
/// Decoded bytes passed between two looks at the watcher of a read.
const SKIP_STEP: u64 = 8 << 20;
/// A tar block.
const BLOCK: u64 = 512;

impl Contents {
    /// The bytes of entry `entry` of layer `layer` (a regular file).
    pub fn open(
        &self,
        analysis: &Analysis,
        layer: usize,
        entry: usize,
    ) -> Result<EntryReader<'static>> {
        self.open_at(analysis, layer, entry, 0)
    }

    /// The same bytes from `start` on (a page a viewer shows): a plain layer is read from
    /// there, a compressed one decoded up to it.
    pub fn open_at(
        &self,
        analysis: &Analysis,
        layer: usize,
        entry: usize,
        start: u64,
    ) -> Result<EntryReader<'static>> {
        self.open_watched(analysis, layer, entry, start, &unwatched())
    }

    /// [`Contents::open_at`], telling `watch` how far the decoding has come toward the
    /// bytes (decoded bytes of the layer passed, of how many; an input read again from its
    /// start reports the bytes read of it, of 0 when the total is unknown). When `watch`
    /// answers `false` the read stops with [`Error::Cancelled`]: a viewer shows progress
    /// and lets the user give up on a file deep in a big compressed layer.
    pub fn open_watched(
        &self,
        analysis: &Analysis,
        layer: usize,
        entry: usize,
        start: u64,
        watch: &Watch,
    ) -> Result<EntryReader<'static>> {
        let (location, size, header_offset) = self.file_entry(analysis, layer, entry)?;
        let start = start.min(size);
        let left = size - start;
        let data_offset = location_offset(&location);
        if left == 0 {
            // Nothing to read: no blob is opened (and no empty range is asked of a registry).
            return Ok(EntryReader {
                inner: (Box::new(io::empty()) as Box<dyn Read>).take(0),
                left: 0,
                location,
                note: None,
            });
        }
        let mut stream = self.layer_stream(analysis, layer, &location, true, watch)?;
        let map = stream.sparse_map(header_offset, data_offset, size, &location, watch)?;
        // Where the stored bytes start and how many: from `start` for a whole file, all the
        // fragments for a sparse one (expanded, then `start` bytes dropped).
        let (from, stored) = match &map {
            None => (data_offset + start, left),
            Some(map) => (data_offset, map.stored()),
        };
        let (inner, note): (Box<dyn Read>, _) = match stream {
            LayerStream::Plain(blob) => (Box::new(blob.reader_at(from, stored)), None),
            LayerStream::Ranged(fetch) => {
                let part = fetch.open_part(from, Some(stored))?;
                (part.reader, Some(part.note))
            }
            mut stream @ LayerStream::Decoded { .. } => {
                stream.skip_to(from, &location, watch)?;
                let LayerStream::Decoded { reader, note, .. } = stream else {
                    unreachable!("matched above")
                };
                (reader, note)
            }
        };
        let inner = match map {
            None => inner,
            Some(map) => {
                let mut expanded: Box<dyn Read> = Box::new(map.expand(inner.take(stored)));
                let skipped = io::copy(&mut (&mut expanded).take(start), &mut io::sink())
                    .map_err(|e| Error::io(location.clone(), e))?;
                debug_assert_eq!(skipped, start);
                expanded
            }
        };
        Ok(EntryReader {
            inner: inner.take(left),
            left,
            location,
            note,
        })
    }

    /// Copies entry `entry` of layer `layer` to `out`; the bytes written.
    pub fn copy(
        &self,
        analysis: &Analysis,
        layer: usize,
        entry: usize,
        out: &mut dyn Write,
    ) -> Result<u64> {
        let mut reader = self.open(analysis, layer, entry)?;
        let location = reader.location.clone();
        io::copy(&mut reader, out).map_err(|e| Error::io(location, e))
    }

    /// Reads several files of one layer in one pass, in the order their data lies in the
    /// layer (a compressed layer is decoded once, up to the last of them). `each` gets each
    /// entry's index and bytes; what it leaves unread is skipped. An error of `each` stops
    /// the pass and is returned with the entry's location.
    pub fn read_each(
        &self,
        analysis: &Analysis,
        layer: usize,
        entries: &[usize],
        each: &mut dyn FnMut(usize, &mut EntryReader<'_>) -> io::Result<()>,
    ) -> Result<()> {
        let mut wanted: Vec<(u64, usize, u64, u64, Location)> = Vec::with_capacity(entries.len());
        for &entry in entries {
            let (location, size, header_offset) = self.file_entry(analysis, layer, entry)?;
            wanted.push((
                header_offset,
                entry,
                size,
                location_offset(&location),
                location,
            ));
        }
        wanted.sort_by_key(|w| (w.0, w.1));
        wanted.dedup_by_key(|w| w.1);
        let Some(first) = wanted.first() else {
            return Ok(());
        };
        let unwatched = unwatched();
        // Many files of a registry's plain blob come in one transfer rather than a request each.
        let mut stream = self.layer_stream(analysis, layer, &first.4, false, &unwatched)?;
        for (header_offset, entry, size, data_offset, location) in wanted {
            let map = stream.sparse_map(header_offset, data_offset, size, &location, &unwatched)?;
            let stored = map.as_ref().map_or(size, SparseMap::stored);
            let mut note = None;
            let inner: Box<dyn Read + '_> = match &mut stream {
                LayerStream::Plain(blob) => Box::new(blob.reader_at(data_offset, stored)),
                LayerStream::Ranged(_) => unreachable!("asked for a stream from the start"),
                LayerStream::Decoded { .. } => {
                    stream.skip_to(data_offset, &location, &unwatched)?;
                    let LayerStream::Decoded {
                        reader,
                        position,
                        note: n,
                    } = &mut stream
                    else {
                        unreachable!("matched above")
                    };
                    *position = data_offset + stored;
                    note = *n;
                    Box::new(reader.by_ref())
                }
            };
            let inner = inner.take(stored);
            let inner: Box<dyn Read + '_> = match map {
                None => Box::new(inner),
                Some(map) => Box::new(map.expand(inner)),
            };
            let mut reader = EntryReader {
                inner: inner.take(size),
                left: size,
                location,
                note,
            };
            each(entry, &mut reader)
                .and_then(|()| io::copy(&mut reader, &mut io::sink()).map(drop))
                .map_err(|e| Error::io(reader.location.clone(), e))?;
        }
        Ok(())
    }

    /// The location of a regular-file entry (its offset is the data's), its size and where
    /// its header is.
    fn file_entry(
        &self,
        analysis: &Analysis,
        layer: usize,
        entry: usize,
    ) -> Result<(Location, u64, u64)> {
        let facts = analysis.layers.get(layer);
        let record = analysis.entry(layer, entry);
        let (Some(facts), Some(record)) = (facts, record) else {
            return Err(Error::format(
                Location::input(&self.input),
                format!("the image has no entry {entry} in layer {layer}"),
            ));
        };
        let location = Location::input(&self.input)
            .layer(LayerRef::new(layer, facts.digest.as_deref(), &facts.blob))
            .offset(record.data_offset())
            .entry(&record.path);
        if record.kind != EntryKind::File {
            return Err(Error::format(
                location,
                format!("a {} holds no bytes to read", record.kind.name()),
            ));
        }
        Ok((location, record.size, record.header_offset))
    }

    /// Layer `layer`'s tar, from its start; with `ranged`, a registry's plain blob is left
    /// to be read a part at a time.
    fn layer_stream(
        &self,
        analysis: &Analysis,
        layer: usize,
        location: &Location,
        ranged: bool,
        watch: &Watch,
    ) -> Result<LayerStream> {
        let blob = self.blobs.get(layer).map_or("", String::as_str);
        let missing = || {
            Error::format(
                location.clone(),
                format!("the input no longer holds the layer blob {blob}"),
            )
        };
        let compression = analysis
            .layers
            .get(layer)
            .map_or(Compression::None, |l| l.compression);
        let store = match &self.reread {
            Reread::Store(store) => store,
            Reread::Restream(restream) => {
                let member = restream.member(&self.input, blob, watch)?;
                return Self::decoded(compression, member, None, location);
            }
        };
        let (raw, note): (Box<dyn Read>, _) = match store.layer(blob)?.ok_or_else(missing)? {
            LayerInput::Bytes(bytes) if compression == Compression::None => {
                return Ok(LayerStream::Plain(bytes));
            }
            LayerInput::Bytes(bytes) => (Box::new(bytes.reader()), None),
            LayerInput::Fetch(fetch) if ranged && compression == Compression::None => {
                return Ok(LayerStream::Ranged(fetch));
            }
            LayerInput::Fetch(fetch) => {
                let part = fetch.open_part(0, None)?;
                (part.reader, Some(part.note))
            }
            LayerInput::Walked(_) => return Err(missing()),
        };
        Self::decoded(compression, raw, note, location)
    }

    /// A layer's tar from `raw`, its bytes as stored.
    fn decoded(
        compression: Compression,
        raw: Box<dyn Read>,
        note: Option<PartNote>,
        location: &Location,
    ) -> Result<LayerStream> {
        let reader = decoder(compression, BufReader::with_capacity(BLOB_BUFFER, raw))
            .map_err(|e| Error::io(location.clone(), e))?;
        Ok(LayerStream::Decoded {
            reader,
            position: 0,
            note,
        })
    }
}

/// A layer's tar as it can be read: in place, a part at a time from a registry, or only
/// from its start.
enum LayerStream {
    Plain(crate::source::Blob),
    Ranged(Arc<dyn Fetch>),
    Decoded {
        reader: Box<dyn Read>,
        position: u64,
        note: Option<PartNote>,
    },
}

impl LayerStream {
    /// The map of an old GNU sparse member, read from its header blocks; `None` for any
    /// other member. A decoded stream is left at the member's data.
    fn sparse_map(
        &mut self,
        header_offset: u64,
        data_offset: u64,
        size: u64,
        location: &Location,
        watch: &Watch,
    ) -> Result<Option<SparseMap>> {
        let len = data_offset.saturating_sub(header_offset);
        if len < BLOCK {
            return Ok(None);
        }
        if len > HEADERS_CAP {
            return Err(Error::format(
                location.clone(),
                format!(
                    "the member's headers take {len} bytes (a sparse map over the \
                     {HEADERS_CAP}-byte cap)"
                ),
            ));
        }
        let mut headers = vec![0u8; usize::try_from(len).unwrap_or(0)];
        let read = match self {
            Self::Plain(blob) => blob.reader_at(header_offset, len).read_exact(&mut headers),
            Self::Ranged(fetch) => fetch
                .open_part(header_offset, Some(len))?
                .reader
                .read_exact(&mut headers),
            Self::Decoded { .. } => {
                self.skip_to(header_offset, location, watch)?;
                let Self::Decoded {
                    reader, position, ..
                } = self
                else {
                    unreachable!("matched above")
                };
                *position += len;
                reader.read_exact(&mut headers)
            }
        };
        read.map_err(|e| Error::io(location.clone().offset(header_offset), e))?;
        SparseMap::parse(&headers, size)
            .transpose()
            .map_err(|message| Error::format(location.clone().offset(header_offset), message))
    }

    /// Reads and drops the decoded bytes up to `offset`, telling `watch` how far it is.
    fn skip_to(&mut self, offset: u64, location: &Location, watch: &Watch) -> Result<()> {
        let Self::Decoded {
            reader, position, ..
        } = self
        else {
            return Ok(());
        };
        if offset < *position {
            return Err(Error::format(
                location.clone(),
                format!(
                    "the entry's data starts at {offset}, inside the previous entry's (to {position})"
                ),
            ));
        }
        while *position < offset {
            if !watch(*position, offset) {
                return Err(Error::Cancelled {
                    location: location.clone(),
                });
            }
            let step = (offset - *position).min(SKIP_STEP);
            let skipped = io::copy(&mut reader.by_ref().take(step), &mut io::sink())
                .map_err(|e| Error::io(location.clone(), e))?;
            *position += skipped;
            if skipped < step {
                return Err(Error::format(
                    location.clone(),
                    format!("the layer ends after {position} bytes, before the entry's data"),
                ));
            }
        }
        Ok(())
    }
}

/// A watcher that lets every read go on.
fn unwatched() -> Watch {
    Arc::new(|_, _| true)
}

fn location_offset(location: &Location) -> u64 {
    location.offset.unwrap_or(0)
}

/// The bytes of one entry; an early end of the layer is an error naming where it happened.
pub struct EntryReader<'a> {
    inner: io::Take<Box<dyn Read + 'a>>,
    left: u64,
    location: Location,
    note: Option<PartNote>,
}

impl std::fmt::Debug for EntryReader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EntryReader")
            .field("left", &self.left)
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl EntryReader<'_> {
    /// Where the entry is: input, layer, data offset, path.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// How the bytes came from a registry, which none of its ways checks against the
    /// layer's digest; `None` for a local input.
    pub fn note(&self) -> Option<PartNote> {
        self.note
    }
}

impl Read for EntryReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && self.left > 0 && !buf.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the layer ends {} bytes before the entry's end", self.left),
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

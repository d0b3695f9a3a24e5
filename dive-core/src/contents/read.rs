//! The bytes of layer entries, streamed: a plain layer by positioned reads at each entry's
//! offset, a compressed one (or a registry blob) decoded once from its start, in the order the
//! entries lie in it, and dropped after the last one asked for.

use std::io::{self, BufReader, Read, Write};
use std::sync::Arc;

use super::{Contents, Reread};
use crate::analysis::Analysis;
use crate::error::{Error, LayerRef, Location, Result};
use crate::layer::{Compression, EntryKind, decoder};
use crate::source::{Fetch, LayerInput, PartNote, Watch};

/// Big reads from the blob: the decoder asks for little at a time.
const BLOB_BUFFER: usize = 1 << 20;
/// Decoded bytes passed between two looks at the watcher of a read.
const SKIP_STEP: u64 = 8 << 20;

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
        let (location, size) = self.file_entry(analysis, layer, entry)?;
        let start = start.min(size);
        let size = size - start;
        let offset = location_offset(&location) + start;
        if size == 0 {
            // Nothing to read: no blob is opened (and no empty range is asked of a registry).
            return Ok(EntryReader {
                inner: (Box::new(io::empty()) as Box<dyn Read>).take(0),
                left: 0,
                location,
                note: None,
            });
        }
        let mut stream = self.layer_stream(analysis, layer, &location, true, watch)?;
        let mut note = None;
        let inner = match &mut stream {
            LayerStream::Plain(blob) => Box::new(blob.reader_at(offset, size)) as Box<dyn Read>,
            LayerStream::Ranged(fetch) => {
                let part = fetch.open_part(offset, Some(size))?;
                note = Some(part.note);
                part.reader
            }
            LayerStream::Decoded { .. } => {
                stream.skip_to(offset, &location, watch)?;
                let LayerStream::Decoded {
                    reader, note: n, ..
                } = stream
                else {
                    unreachable!("matched above")
                };
                note = n;
                reader
            }
        };
        Ok(EntryReader {
            inner: inner.take(size),
            left: size,
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
        let mut wanted: Vec<(u64, usize, u64, Location)> = Vec::with_capacity(entries.len());
        for &entry in entries {
            let (location, size) = self.file_entry(analysis, layer, entry)?;
            wanted.push((location_offset(&location), entry, size, location));
        }
        wanted.sort_by_key(|w| (w.0, w.1));
        wanted.dedup_by_key(|w| w.1);
        let Some(first) = wanted.first() else {
            return Ok(());
        };
        // Many files of a registry's plain blob come in one transfer rather than a request each.
        let mut stream = self.layer_stream(analysis, layer, &first.3, false, &unwatched())?;
        for (offset, entry, size, location) in wanted {
            let mut note = None;
            let inner: Box<dyn Read + '_> = match &mut stream {
                LayerStream::Plain(blob) => Box::new(blob.reader_at(offset, size)),
                LayerStream::Ranged(_) => unreachable!("asked for a stream from the start"),
                LayerStream::Decoded { .. } => {
                    stream.skip_to(offset, &location, &unwatched())?;
                    let LayerStream::Decoded {
                        reader,
                        position,
                        note: n,
                    } = &mut stream
                    else {
                        unreachable!("matched above")
                    };
                    *position = offset + size;
                    note = *n;
                    Box::new(reader.by_ref())
                }
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

    /// The location of a regular-file entry (its offset is the data's) and its size.
    fn file_entry(
        &self,
        analysis: &Analysis,
        layer: usize,
        entry: usize,
    ) -> Result<(Location, u64)> {
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
            .offset(record.data_offset)
            .entry(&record.path);
        if record.kind != EntryKind::File {
            return Err(Error::format(
                location,
                format!("a {} holds no bytes to read", record.kind.name()),
            ));
        }
        Ok((location, record.size))
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

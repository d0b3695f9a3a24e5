//! The walk plan: every layer of the image walked once (a blob listed twice is one walk),
//! cached layers taken from the cache, the largest first and in parallel, with progress and
//! a prompt stop.

use std::collections::HashMap;
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use rayon::prelude::*;

use super::builder::AnalyzerBuilder;
use super::observe::{Control, Event, Observer};
use crate::error::{Error, LayerRef, Location, Result, Warning};
use crate::layer::{self, Compression, LayerIndex, Strategy, WalkInput, WalkOptions, sniff};
use crate::persist::cache::LayerCache;
use crate::source::{self, Blob, LayerInput, Plan};

/// Walks every layer of the plan, in parallel and largest first; streamed ones are done.
pub(super) fn walk_layers(
    settings: &AnalyzerBuilder,
    input: &str,
    store: &dyn source::Store,
    plan: &Plan,
    options: &WalkOptions,
    observer: &dyn Observer,
) -> Result<WalkedLayers> {
    // The same blob listed twice (e.g. two empty layers) is walked once.
    let mut unique: HashMap<&str, usize> = HashMap::new();
    let mut inputs: Vec<(usize, LayerInput)> = Vec::new();
    for (i, layer) in plan.layers.iter().enumerate() {
        if unique.contains_key(layer.path.as_str()) {
            continue;
        }
        let found = store.layer(&layer.path)?.ok_or_else(|| {
            Error::format(
                Location::input(input).layer(LayerRef::new(
                    i,
                    layer.digest.as_deref(),
                    &layer.path,
                )),
                format!(
                    "the manifest names blob {} but the input does not contain it",
                    layer.path
                ),
            )
        })?;
        unique.insert(layer.path.as_str(), inputs.len());
        inputs.push((i, found));
    }
    let cache = match &settings.cache {
        Some(dir) => Some(
            LayerCache::open(dir)
                .map_err(|e| Error::io(Location::input(dir.display().to_string()), e))?,
        ),
        None => None,
    };
    let tell_walked = |i: usize, index: &LayerIndex, strategy: Option<Strategy>| {
        observer.event(&Event::LayerWalked {
            index: Some(i),
            blob: &plan.layers[i].path,
            entries: index.entries.len(),
            bytes: index.size_uncompressed,
            strategy,
        })
    };
    if let Some(cache) = &cache {
        for (i, found) in &mut inputs {
            if let LayerInput::Fetch(fetch) = found
                && let Some(index) = cache.load(fetch.digest(), options)
            {
                // Progress counts a cached layer as walked.
                if tell_walked(*i, &index, None) == Control::Stop {
                    return Err(Error::Cancelled {
                        location: Location::input(input),
                    });
                }
                *found = LayerInput::Walked(Arc::new(index));
            }
        }
    }
    let size = |input: &LayerInput| match input {
        LayerInput::Bytes(blob) => blob.bytes().len() as u64,
        LayerInput::Fetch(fetch) => fetch.size(),
        LayerInput::Walked(_) => 0,
    };
    let mut order: Vec<usize> = (0..inputs.len()).collect();
    order.sort_by_key(|&k| std::cmp::Reverse(size(&inputs[k].1)));
    let resolved = Event::Resolved {
        layers: plan.layers.len(),
        stored_bytes: inputs.iter().map(|(_, i)| size(i)).sum(),
    };
    if observer.event(&resolved) == Control::Stop {
        return Err(Error::Cancelled {
            location: Location::input(input),
        });
    }
    let stopped = AtomicBool::new(false);
    // One lock for the sum and the event: the observer hears totals in order even when
    // layers are read on several threads.
    let read = Mutex::new(0u64);
    let walk = |&k: &usize| -> Result<Arc<LayerIndex>> {
        let (index, input) = &inputs[k];
        if stopped.load(Ordering::Relaxed) {
            return Ok(Arc::default());
        }
        let (walked, strategy) = match input {
            LayerInput::Walked(done) => return Ok(Arc::clone(done)),
            LayerInput::Bytes(blob) => {
                // Positioned reads, not the map, so that no file page stays mapped.
                let len = blob.bytes().len() as u64;
                let blob_input = WalkInput::RandomAccess {
                    reader: Box::new(ReadProgress::new(
                        blob.reader(),
                        len,
                        &read,
                        observer,
                        &stopped,
                    )),
                    len,
                    compression: sniff(blob.bytes()),
                    second: Box::new(blob.reader()),
                };
                layer::walk(blob_input, options)
            }
            LayerInput::Fetch(fetch) => {
                let fetched = fetch.open();
                let reader =
                    ReadProgress::new(fetched.reader, fetch.size(), &read, observer, &stopped);
                let (mut walked, strategy) =
                    layer::walk(WalkInput::Stream(Box::new(reader)), options);
                if stopped.load(Ordering::Relaxed) {
                    // Dropping the transfer ends it; its digest no longer matters.
                    return Ok(Arc::default());
                }
                (fetched.finish)()?;
                if let Some(cache) = &cache
                    && let Err(err) = cache.store(fetch.digest(), options, &walked)
                {
                    walked.warnings.push(Warning::new(
                        Location::default(),
                        format!(
                            "cannot keep this layer's analysis in {}: {err}",
                            cache.dir().display()
                        ),
                    ));
                }
                (walked, strategy)
            }
        };
        if tell_walked(*index, &walked, Some(strategy)) == Control::Stop {
            stopped.store(true, Ordering::Relaxed);
        }
        Ok(Arc::new(walked))
    };
    let walked: Vec<Arc<LayerIndex>> = match settings.threads {
        Some(threads) => rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| Error::Source {
                location: Location::input(input),
                message: format!("cannot start worker threads: {e}"),
            })?
            .install(|| order.par_iter().map(walk).collect::<Result<_>>())?,
        None => order.par_iter().map(walk).collect::<Result<_>>()?,
    };
    if stopped.load(Ordering::Relaxed) {
        return Err(Error::Cancelled {
            location: Location::input(input),
        });
    }
    let mut by_input: Vec<Arc<LayerIndex>> = vec![Arc::default(); inputs.len()];
    for (k, index) in order.into_iter().zip(walked) {
        by_input[k] = index;
    }
    let mut indexes = Vec::with_capacity(plan.layers.len());
    let mut blobs = Vec::with_capacity(plan.layers.len());
    for layer in &plan.layers {
        let k = unique[layer.path.as_str()];
        let index = Arc::clone(&by_input[k]);
        // Plain tars in memory can be re-read to compare contents on overwrite.
        blobs.push(match &inputs[k].1 {
            LayerInput::Bytes(blob) if index.compression == Compression::None => Some(blob.clone()),
            _ => None,
        });
        indexes.push(index);
    }
    Ok(WalkedLayers { indexes, blobs })
}

/// Progress is told every this many bytes read from one blob.
const PROGRESS_STEP: u64 = 16 << 20;

/// Tells the observer how far the walks have read, every few MiB; a stop asked for mid-layer
/// ends the read, so even a huge layer stops promptly. Progress is the furthest position
/// reached (seeks over file data count, as `cat` would have read them); when the walk is
/// done the whole blob counts.
struct ReadProgress<'a, R> {
    inner: R,
    len: u64,
    pos: u64,
    counted: u64,
    unreported: u64,
    read: &'a Mutex<u64>,
    observer: &'a dyn Observer,
    stopped: &'a AtomicBool,
}

impl<'a, R> ReadProgress<'a, R> {
    fn new(
        inner: R,
        len: u64,
        read: &'a Mutex<u64>,
        observer: &'a dyn Observer,
        stopped: &'a AtomicBool,
    ) -> Self {
        Self {
            inner,
            len,
            pos: 0,
            counted: 0,
            unreported: 0,
            read,
            observer,
            stopped,
        }
    }

    fn moved_to(&mut self, pos: u64) -> io::Result<()> {
        if self.stopped.load(Ordering::Relaxed) {
            return Err(io::Error::other("analysis stopped"));
        }
        self.pos = pos;
        let ahead = pos.min(self.len).saturating_sub(self.counted);
        self.counted += ahead;
        self.unreported += ahead;
        if self.unreported >= PROGRESS_STEP {
            self.report()?;
        }
        Ok(())
    }

    fn report(&mut self) -> io::Result<()> {
        if self.unreported > 0 {
            let mut total = self.read.lock().unwrap_or_else(PoisonError::into_inner);
            *total += self.unreported;
            self.unreported = 0;
            if self.observer.event(&Event::Read {
                stored_bytes: *total,
            }) == Control::Stop
            {
                self.stopped.store(true, Ordering::Relaxed);
            }
        }
        if self.stopped.load(Ordering::Relaxed) {
            return Err(io::Error::other("analysis stopped"));
        }
        Ok(())
    }
}

impl<R: Read> Read for ReadProgress<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.moved_to(self.pos + n as u64)?;
        Ok(n)
    }
}

impl<R: Seek> Seek for ReadProgress<'_, R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let pos = self.inner.seek(to)?;
        self.moved_to(pos)?;
        Ok(pos)
    }
}

impl<R> Drop for ReadProgress<'_, R> {
    fn drop(&mut self) {
        if !self.stopped.load(Ordering::Relaxed) {
            self.unreported += self.len.saturating_sub(self.counted);
            let _ = self.report();
        }
    }
}

/// Each manifest layer's index, and its bytes when it is a plain tar held in memory.
pub(super) struct WalkedLayers {
    pub indexes: Vec<Arc<LayerIndex>>,
    pub blobs: Vec<Option<Blob>>,
}

#[cfg(test)]
mod tests {
    use std::sync::Condvar;
    use std::time::Duration;

    use super::*;

    /// Records the first `Read` event only after a second one has arrived (or a moment has
    /// passed): a total computed earlier must not be heard after a later one.
    #[derive(Default)]
    struct SlowFirst {
        state: Mutex<(bool, Vec<u64>)>,
        arrived: Condvar,
    }

    impl Observer for SlowFirst {
        fn event(&self, event: &Event<'_>) -> Control {
            if let Event::Read { stored_bytes } = event {
                let mut state = self.state.lock().unwrap();
                if state.0 {
                    state.1.push(*stored_bytes);
                    self.arrived.notify_all();
                } else {
                    state.0 = true;
                    let (mut state, _) = self
                        .arrived
                        .wait_timeout(state, Duration::from_millis(300))
                        .unwrap();
                    state.1.push(*stored_bytes);
                }
            }
            Control::Continue
        }
    }

    #[test]
    fn readers_on_two_threads_report_totals_in_order() {
        let observer = SlowFirst::default();
        let read = Mutex::new(0u64);
        let stopped = AtomicBool::new(false);
        let data = vec![0u8; PROGRESS_STEP as usize];
        std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| {
                    let mut reader =
                        ReadProgress::new(&data[..], data.len() as u64, &read, &observer, &stopped);
                    io::copy(&mut reader, &mut io::sink()).unwrap();
                });
            }
        });
        let (_, heard) = observer.state.into_inner().unwrap();
        assert_eq!(heard.len(), 2, "{heard:?}");
        assert!(heard[0] < heard[1], "{heard:?}");
        assert_eq!(heard[1], 2 * PROGRESS_STEP);
    }
}

//! How an analysis tells its progress, and how a caller stops it.

use crate::layer::Strategy;
use crate::stage::{Listener, Stage};

/// Progress of an analysis, as told to an [`Observer`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A layer blob was walked (`index` is known once the manifest has been read).
    LayerWalked {
        /// Position in the manifest, when known.
        index: Option<usize>,
        /// The blob's path in the input.
        blob: &'a str,
        /// Entries found.
        entries: usize,
        /// Uncompressed bytes walked.
        bytes: u64,
        /// How the layer was read; `None` when its walk came from the layer cache.
        strategy: Option<Strategy>,
    },
    /// The image was found in the input's metadata.
    Resolved {
        /// Layers to walk.
        layers: usize,
        /// Bytes of layer blobs, as stored, that are left to read (0 when a stream already
        /// delivered them).
        stored_bytes: u64,
    },
    /// Reading layer blobs is under way (sent every few MiB, from worker threads).
    Read {
        /// Bytes of layer blobs read so far, as stored, over all layers.
        stored_bytes: u64,
    },
    /// All layers are merged.
    Merged,
    /// A stage after the reading begins ([`Stage`], in the order they run; the merge's
    /// comes before [`Event::Merged`]).
    Stage(Stage),
    /// Every byte is attributed: the analysis is complete (told by
    /// [`Attributing::run_observed`], which [`Analyzer::analyze`] calls).
    ///
    /// [`Attributing::run_observed`]: crate::Attributing::run_observed
    /// [`Analyzer::analyze`]: crate::Analyzer::analyze
    Attributed,
}

/// What an observer wants after an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Go on.
    Continue,
    /// Stop the analysis; it returns [`Error::Cancelled`](crate::Error::Cancelled).
    Stop,
}

/// Hears progress and may stop the analysis early; called from worker threads.
pub trait Observer: Sync {
    /// One event; the default ignores it.
    fn event(&self, _event: &Event<'_>) -> Control {
        Control::Continue
    }

    /// Whether to stop now: asked every few thousand items inside the stages after the
    /// reading ([`Stage`]), where events are few, so that a stop set from another thread
    /// (Ctrl-C) ends the analysis within milliseconds. Keep it as cheap as an atomic load.
    /// The default never stops.
    fn stop_requested(&self) -> bool {
        false
    }
}

/// An observer that hears nothing.
impl Observer for () {}

/// An observer as the stages after the reading tell and ask it (through a
/// [`Checkpoint`](crate::stage::Checkpoint)).
pub(crate) struct Told<'a>(pub &'a dyn Observer);

impl Listener for Told<'_> {
    fn begin(&self, stage: Stage) -> bool {
        self.0.event(&Event::Stage(stage)) == Control::Continue
    }

    fn stop_requested(&self) -> bool {
        self.0.stop_requested()
    }
}

//! The stages of an analysis after its layers are read, and the checkpoints inside them
//! where they say which one begins and ask whether to stop.
//!
//! Reading tells its progress by events as blobs pass; the stages after it (the merge with
//! dive's figures, comparing rewritten files, owners, duplicates, device code, waste
//! classes) tell only when each begins. So that a stop asked from another thread (Ctrl-C in
//! the Python package) ends them within milliseconds rather than at their end, their loops
//! ask a [`Checkpoint`] every [`POLL_EVERY`] items (every item where an item is a file read),
//! which asks the observer: one call and one relaxed atomic load. A stopped stage returns
//! whatever it had, and the engine drops it and returns `Error::Cancelled`.

use std::sync::atomic::{AtomicBool, Ordering};

/// A stage of an analysis after its layers are read, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Stage {
    /// Merging the layers into the final tree, with dive's own figures.
    Merge,
    /// Comparing the contents of files a later layer rewrote at the same size.
    Compare,
    /// Finding the package that owns each file.
    Owners,
    /// Finding the same bytes shipped more than once.
    Duplicates,
    /// Adding up GPU device code by architecture.
    DeviceCode,
    /// Sorting avoidable bytes into waste classes.
    Waste,
}

impl Stage {
    /// The stage's name, as the Python package's progress events give it (`device_code`).
    pub fn name(self) -> &'static str {
        match self {
            Stage::Merge => "merge",
            Stage::Compare => "compare",
            Stage::Owners => "owners",
            Stage::Duplicates => "duplicates",
            Stage::DeviceCode => "device_code",
            Stage::Waste => "waste",
        }
    }
}

/// Items (entries, files) a loop handles between two questions to its [`Checkpoint`].
pub(crate) const POLL_EVERY: usize = 4096;

/// Whom a [`Checkpoint`] tells and asks: the engine's observer.
pub(crate) trait Listener: Sync {
    /// `stage` begins; `false` stops the analysis.
    fn begin(&self, stage: Stage) -> bool;

    /// Whether to stop now.
    fn stop_requested(&self) -> bool;
}

/// Where the stages below the engine say which one begins and ask whether to stop.
pub(crate) struct Checkpoint<'a> {
    listener: &'a dyn Listener,
    /// A stop was seen: later questions need not ask the listener.
    stopped: AtomicBool,
}

/// The listener of [`Checkpoint::never`].
struct Nobody;

impl Listener for Nobody {
    fn begin(&self, _stage: Stage) -> bool {
        true
    }

    fn stop_requested(&self) -> bool {
        false
    }
}

impl<'a> Checkpoint<'a> {
    /// A checkpoint that tells and asks `listener`.
    pub(crate) fn new(listener: &'a dyn Listener) -> Self {
        Self {
            listener,
            stopped: AtomicBool::new(false),
        }
    }

    /// A checkpoint that never stops (for work nobody can interrupt).
    pub(crate) fn never() -> Checkpoint<'static> {
        Checkpoint::new(&Nobody)
    }

    /// Says that `stage` begins; `false` when the analysis is to stop instead.
    pub(crate) fn begin(&self, stage: Stage) -> bool {
        if self.stop() || !self.listener.begin(stage) {
            self.stopped.store(true, Ordering::Relaxed);
            return false;
        }
        true
    }

    /// Whether to stop now (asks the listener until a stop is seen, then remembers it).
    pub(crate) fn stop(&self) -> bool {
        if self.stopped.load(Ordering::Relaxed) {
            return true;
        }
        let stop = self.listener.stop_requested();
        if stop {
            self.stopped.store(true, Ordering::Relaxed);
        }
        stop
    }

    /// [`Checkpoint::stop`] for item `i` of a loop, asked every [`POLL_EVERY`] items.
    pub(crate) fn stop_at(&self, i: usize) -> bool {
        i.is_multiple_of(POLL_EVERY) && self.stop()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    /// Asks to stop from its `after`th question on.
    struct StopAfter {
        after: usize,
        asked: AtomicUsize,
    }

    impl Listener for StopAfter {
        fn begin(&self, _stage: Stage) -> bool {
            true
        }

        fn stop_requested(&self) -> bool {
            self.asked.fetch_add(1, Ordering::Relaxed) + 1 >= self.after
        }
    }

    #[test]
    fn a_loop_asks_every_poll_every_items_and_a_stop_is_remembered() {
        let listener = StopAfter {
            after: 3,
            asked: AtomicUsize::new(0),
        };
        let checkpoint = Checkpoint::new(&listener);
        let stopped_at = (0..100 * POLL_EVERY).find(|&i| checkpoint.stop_at(i));
        assert_eq!(stopped_at, Some(2 * POLL_EVERY));
        assert_eq!(listener.asked.load(Ordering::Relaxed), 3);
        // Seen once, the stop is answered without asking again, and no stage begins.
        assert!(checkpoint.stop());
        assert!(!checkpoint.begin(Stage::Waste));
        assert_eq!(listener.asked.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn never_goes_on() {
        let checkpoint = Checkpoint::never();
        assert!(checkpoint.begin(Stage::Merge));
        assert!(!(0..3 * POLL_EVERY).any(|i| checkpoint.stop_at(i)));
    }
}

//! A read of the viewer, as both threads see it: how far it has come, and whether the user
//! stopped it (Esc), which fails the reader at its next call.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// How far the viewer's current read has come, and whether the user gave up on it; shared
/// between the thread that reads and the one that draws.
#[derive(Debug, Default)]
pub struct ReadState {
    done: AtomicU64,
    total: AtomicU64,
    stop: AtomicBool,
}

impl ReadState {
    /// Bytes passed so far, of how many (0: unknown).
    pub fn progress(&self) -> (u64, u64) {
        (
            self.done.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
        )
    }

    /// Asks the read under way to stop.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Whether the read was asked to stop.
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Ready for a new read.
    pub fn reset(&self) {
        self.report(0, 0);
        self.stop.store(false, Ordering::Relaxed);
    }

    /// Records how far the read has come.
    pub(super) fn report(&self, done: u64, total: u64) {
        self.done.store(done, Ordering::Relaxed);
        self.total.store(total, Ordering::Relaxed);
    }

    /// The watcher the core's reads report to.
    pub(super) fn watch(self: &Arc<Self>) -> dive_core::contents::Watch {
        let state = Arc::clone(self);
        Arc::new(move |done, total| {
            state.report(done, total);
            !state.stopped()
        })
    }
}

/// A reader that fails once the user asked the read to stop.
pub(super) struct Stoppable {
    pub(super) inner: Box<dyn Read>,
    pub(super) state: Arc<ReadState>,
}

impl Read for Stoppable {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.state.stopped() {
            return Err(std::io::Error::other(STOPPED));
        }
        self.inner.read(buf)
    }
}

/// What a stopped read shows.
pub const STOPPED: &str = "stopped (Esc); move or press g to read again";

//! A progress bar on stderr for the non-interactive commands, fed by the core's observer.
//!
//! Drawn only when stderr is a terminal, so pipes and CI logs stay clean.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use dive_core::{Control, Event, Observer};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Bars for one or more analyses running at once (e.g. both sides of a diff).
#[derive(Debug)]
pub struct Bars {
    multi: Option<MultiProgress>,
}

impl Bars {
    /// Bars on stderr when it is a terminal; none otherwise.
    pub fn stderr() -> Self {
        Self::with(std::io::stderr().is_terminal())
    }

    /// Bars drawn (to stderr) or not.
    pub fn with(drawn: bool) -> Self {
        let multi = drawn.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Self { multi }
    }

    /// An observer drawing one bar for the analysis of `name`.
    pub fn bar(&self, name: &str) -> BarObserver {
        let bar = self.multi.as_ref().map(|multi| {
            let bar = multi.add(ProgressBar::new_spinner());
            bar.set_style(waiting());
            bar.set_prefix(dive_core::escape::escape(name).into_owned());
            bar.set_message("reading the image's metadata");
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        BarObserver {
            bar,
            layers: AtomicUsize::new(0),
            layers_done: AtomicUsize::new(0),
            streamed: AtomicU64::new(0),
        }
    }
}

fn waiting() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {prefix}: {msg} {bytes} {elapsed}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

fn reading() -> ProgressStyle {
    ProgressStyle::with_template(
        "{spinner} {prefix}: {msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ")
}

/// Hears one analysis and draws its bar; clears it when dropped.
#[derive(Debug)]
pub struct BarObserver {
    bar: Option<ProgressBar>,
    layers: AtomicUsize,
    layers_done: AtomicUsize,
    /// Uncompressed bytes of layers walked before the image was resolved (a stream).
    streamed: AtomicU64,
}

impl BarObserver {
    fn layers_message(&self) -> String {
        let total = self.layers.load(Ordering::Relaxed);
        let done = self.layers_done.load(Ordering::Relaxed);
        format!("{done}/{total} layers")
    }
}

impl Observer for BarObserver {
    fn event(&self, event: &Event<'_>) -> Control {
        let Some(bar) = &self.bar else {
            return Control::Continue;
        };
        match event {
            Event::LayerWalked {
                index: None, bytes, ..
            } => {
                let total = self.streamed.fetch_add(*bytes, Ordering::Relaxed) + bytes;
                bar.set_position(total);
                bar.set_message("reading the stream");
            }
            Event::Resolved {
                layers,
                stored_bytes,
            } => {
                self.layers.store(*layers, Ordering::Relaxed);
                if *stored_bytes > 0 {
                    bar.set_style(reading());
                    bar.set_length(*stored_bytes);
                    bar.set_position(0);
                }
                bar.set_message(self.layers_message());
            }
            Event::LayerWalked { .. } => {
                self.layers_done.fetch_add(1, Ordering::Relaxed);
                bar.set_message(self.layers_message());
            }
            Event::Read { stored_bytes } => bar.set_position(*stored_bytes),
            Event::Merged => bar.set_message("merging layers, attributing bytes"),
            _ => {}
        }
        Control::Continue
    }
}

impl Drop for BarObserver {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_terminal_nothing_is_drawn_and_events_are_harmless() {
        let bars = Bars::with(false);
        let observer = bars.bar("x");
        assert!(observer.bar.is_none());
        for event in [
            Event::Resolved {
                layers: 2,
                stored_bytes: 10,
            },
            Event::Read { stored_bytes: 5 },
            Event::Merged,
        ] {
            assert_eq!(observer.event(&event), Control::Continue);
        }
    }

    #[test]
    fn a_drawn_bar_follows_bytes_read_and_layers_done() {
        let bars = Bars {
            multi: Some(MultiProgress::with_draw_target(ProgressDrawTarget::hidden())),
        };
        let observer = bars.bar("img");
        let bar = observer.bar.clone().unwrap();
        observer.event(&Event::Resolved {
            layers: 3,
            stored_bytes: 1000,
        });
        assert_eq!(bar.length(), Some(1000));
        observer.event(&Event::Read { stored_bytes: 400 });
        assert_eq!(bar.position(), 400);
        observer.event(&Event::LayerWalked {
            index: Some(0),
            blob: "b",
            entries: 1,
            bytes: 1,
            strategy: None,
        });
        assert_eq!(bar.message(), "1/3 layers");
        drop(observer);
        assert!(bar.is_finished());
    }
}

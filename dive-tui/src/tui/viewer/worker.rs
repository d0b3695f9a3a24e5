//! The viewer at work: each key is a job run on the open file. On a terminal the viewer
//! lives on its own thread, so that a read far into a compressed layer never freezes the
//! screen: the UI draws the last screen with the read's progress, and Esc stops it. Tests
//! run the same jobs in place.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel};
use std::time::{Duration, Instant};

use dive_core::Analysis;
use dive_core::contents::Contents;

use crate::tui::event::{Msg, Screen, ViewerUpdate};
use crate::tui::keymap::Action;
use crate::tui::viewer::file::Viewer;
use crate::tui::viewer::read::{ReadState, STOPPED};

/// A read is said on screen once it has taken this long (a page of a plain layer is
/// read well within it, so quick reads never flash a progress line).
const SHOW_AFTER: Duration = Duration::from_millis(150);

/// One thing asked of the viewer, for a screen of `height` rows.
#[derive(Debug, Clone)]
pub enum Job {
    /// A key of the viewer's table.
    Act(Action, usize),
    /// Finds the text (or, with `None`, the text found last) after the top row.
    Find(Option<String>, usize),
    /// Recomputes the rows for a new height.
    Refresh(usize),
}

/// Runs `job` on `viewer`; the status line it leaves.
pub fn run(viewer: &mut Viewer, analysis: &Analysis, job: &Job) -> Option<String> {
    match *job {
        Job::Act(action, height) => {
            let page = height.saturating_sub(1).max(1) as i64;
            match action {
                Action::Up => viewer.scroll(analysis, -1, height),
                Action::Down => viewer.scroll(analysis, 1, height),
                Action::PageUp => viewer.scroll(analysis, -page, height),
                Action::PageDown => viewer.scroll(analysis, page, height),
                Action::Home => viewer.home(analysis, height),
                Action::End => viewer.end(analysis, height),
                Action::ToggleHex => viewer.toggle_hex(analysis, height),
                Action::FindNext => return find(viewer, analysis, None, height),
                _ => {}
            }
            None
        }
        Job::Find(ref text, height) => find(viewer, analysis, text.as_deref(), height),
        Job::Refresh(height) => {
            viewer.refresh(analysis, height);
            None
        }
    }
}

fn find(
    viewer: &mut Viewer,
    analysis: &Analysis,
    text: Option<&str>,
    height: usize,
) -> Option<String> {
    match viewer.find(analysis, text.map(str::as_bytes), height) {
        Ok(true) => None,
        Ok(false) => Some(format!(
            "{} is not in the rest of the file (g goes to the start)",
            crate::tui::view::outline::safe(String::from_utf8_lossy(&viewer.needle))
        )),
        Err(message) => Some(message),
    }
}

/// The viewer running on its own thread, as the UI sees it.
#[derive(Debug)]
pub struct Worker {
    jobs: Sender<Job>,
    /// The last screen the thread sent; `None` until the file is open.
    pub screen: Option<Screen>,
    /// What is open (escaped), for the progress line.
    pub what: String,
    /// The read under way.
    pub state: Arc<ReadState>,
    /// Jobs sent and not answered yet.
    pub busy: usize,
    /// When the oldest unanswered job was sent.
    since: Instant,
}

impl Worker {
    /// Opens entry `entry` of `layer` on a new thread; updates come as [`Msg::Viewer`].
    pub fn spawn(
        analysis: Arc<Analysis>,
        contents: Arc<Contents>,
        (layer, entry, hidden): (usize, usize, bool),
        height: usize,
        wake: SyncSender<Msg>,
    ) -> std::io::Result<Self> {
        let (jobs, rx) = channel::<Job>();
        let state = Arc::new(ReadState::default());
        let what = analysis
            .entry(layer, entry)
            .map(|e| dive_core::escape::escape_path(&e.path))
            .unwrap_or_default();
        let shared = Arc::clone(&state);
        std::thread::Builder::new()
            .name("viewer".into())
            .spawn(move || {
                serve(
                    &analysis,
                    contents,
                    &shared,
                    (layer, entry, hidden),
                    height,
                    &rx,
                    &wake,
                );
            })?;
        Ok(Self {
            jobs,
            screen: None,
            what,
            state,
            busy: 1,
            since: Instant::now(),
        })
    }

    /// Queues a job.
    pub fn send(&mut self, job: Job) {
        if self.busy == 0 {
            self.since = Instant::now();
        }
        if self.jobs.send(job).is_ok() {
            self.busy += 1;
        }
    }

    /// Takes an update; whether the file stays open (a stopped opening closes it).
    pub fn take(&mut self, update: ViewerUpdate) -> bool {
        self.busy = self.busy.saturating_sub(update.jobs);
        if update.opening && update.stopped {
            return false;
        }
        self.screen = Some(update.screen);
        true
    }

    /// The progress line, when a read has been going on long enough to say so.
    pub fn progress(&self) -> Option<String> {
        if self.busy == 0 || self.since.elapsed() < SHOW_AFTER {
            return None;
        }
        let bytes = |n| dive_core::report::human_bytes(n, false);
        let (done, total) = self.state.progress();
        let how_far = match (done, total) {
            (0, 0) => String::new(),
            (done, 0) => format!(": {} read", bytes(done)),
            (done, total) => format!(
                ": {} of {} ({}%)",
                bytes(done),
                bytes(total),
                done.saturating_mul(100) / total.max(1)
            ),
        };
        // `what` is escaped already.
        Some(format!("reading {}{how_far} · Esc stops", self.what))
    }
}

/// Closing the viewer stops the read under way: the thread ends at its next look at the
/// flag (an ELF summary every 64 KiB, a decode every 8 MiB) instead of reading on unseen.
impl Drop for Worker {
    fn drop(&mut self) {
        self.state.stop();
    }
}

/// The viewer's thread: opens the file, then runs jobs until the UI closes the viewer.
fn serve(
    analysis: &Analysis,
    contents: Arc<Contents>,
    state: &Arc<ReadState>,
    (layer, entry, hidden): (usize, usize, bool),
    height: usize,
    jobs: &Receiver<Job>,
    wake: &SyncSender<Msg>,
) {
    let mut viewer = Viewer::open(
        analysis,
        contents,
        Arc::clone(state),
        (layer, entry),
        hidden,
    );
    viewer.refresh(analysis, height);
    let mut opening = true;
    let mut status = None;
    loop {
        let stopped = state.stopped();
        let mut answered = 1;
        if stopped {
            // Jobs typed while the read went on are dropped with it.
            while jobs.try_recv().is_ok() {
                answered += 1;
            }
            state.reset();
            status = Some(STOPPED.to_owned());
        }
        let update = ViewerUpdate {
            screen: viewer.screen(),
            status: status.take(),
            jobs: answered,
            opening,
            stopped,
        };
        if wake.send(Msg::Viewer(Box::new(update))).is_err() {
            return;
        }
        opening = false;
        let Ok(job) = jobs.recv() else {
            return;
        };
        status = run(&mut viewer, analysis, &job);
    }
}

//! What the event loop hears, through one bounded channel: the terminal's input, the
//! analysis's progress and result, and the file viewer's screens. The app and every thread
//! that talks to it (the analysis, the viewer's worker) name these messages here, so none of
//! them imports another to speak to it; and this room imports none of them (the viewer's
//! [`Screen`] is plain data, so it lives here too).

use ratatui::crossterm::event::Event;

use crate::tui::view::panes::Views;

/// What the app hears: input and news from the analysis, through one channel.
#[derive(Debug)]
pub enum Msg {
    /// A terminal event (keys, mouse, resize).
    Input(Event),
    /// The analysis made progress.
    Progress(Progress),
    /// The analysis finished (perhaps all but its attribution: see
    /// [`Views::attributing`]).
    Loaded(Result<Box<Views>, String>),
    /// The attribution of the analysis shown, found on the analysis thread.
    Attributed(Result<Box<dive_core::Attributed>, String>),
    /// The viewer's thread ran a job.
    Viewer(Box<ViewerUpdate>),
}

/// How far the analysis has got.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    /// Layers to walk, once the manifest has been read.
    pub layers_total: Option<usize>,
    /// Layers walked.
    pub layers_done: usize,
    /// Uncompressed bytes walked.
    pub bytes_done: u64,
    /// Bytes of layer blobs to read, as stored (0 when unknown or already streamed).
    pub stored_total: u64,
    /// Of those, read so far.
    pub stored_read: u64,
    /// All layers merged; attribution and views are being built.
    pub merged: bool,
}

/// What the viewer's thread says after each job.
#[derive(Debug)]
pub struct ViewerUpdate {
    /// The screen now.
    pub screen: Screen,
    /// The status line the job left.
    pub status: Option<String>,
    /// Jobs this update answers (the one run, and those dropped after a stop).
    pub jobs: usize,
    /// The job was the file's opening.
    pub opening: bool,
    /// The user stopped the read.
    pub stopped: bool,
}

/// What the viewer shows, apart from the file: drawn while the viewer itself is busy
/// reading on another thread.
#[derive(Debug, Clone, Default)]
pub struct Screen {
    /// The path (escaped), the version, the size and the mode.
    pub title: String,
    /// Gutter and text per row.
    pub rows: Vec<(String, String)>,
    /// A read that failed, shown instead of the rows.
    pub error: Option<String>,
}

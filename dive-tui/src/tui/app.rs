//! The app model: plain data changed only by [`App::handle`], drawn by [`crate::tui::render`].

use ratatui::crossterm::event::{Event, KeyEventKind};
use ratatui::layout::Rect;

use crate::tui::event::{Msg, Progress};
use crate::tui::keymap::{Mode, Pane};
use crate::tui::layout;
use crate::tui::view::details::{self, DetailLine};
use crate::tui::view::outline::{Target, safe};
use crate::tui::view::panes::Views;
use crate::tui::viewer::file::Viewer;
use crate::tui::viewer::worker::{Job, Worker};

/// Where the app is.
#[derive(Debug)]
pub enum Phase {
    /// The analysis runs.
    Loading(Progress),
    /// Everything is ready to explore.
    Ready(Box<Views>),
    /// The image could not be read.
    Failed(String),
}

/// A question in the footer line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    /// A path glob, regex or text.
    Filter,
    /// A minimum size.
    MinSize,
    /// Text to find in the viewer.
    Find,
    /// A directory to extract the selection into.
    ExtractTo,
}

impl Prompt {
    /// What the footer asks.
    pub fn question(self) -> &'static str {
        match self {
            Prompt::Filter => "filter (glob *.so, re:REGEX, text; empty clears): ",
            Prompt::MinSize => "minimum size (10MB, 1.5GiB; empty clears): ",
            Prompt::Find => "find: ",
            Prompt::ExtractTo => "extract the selection below the directory: ",
        }
    }
}

/// The whole state of the interface.
#[derive(Debug)]
pub struct App {
    /// The input as named by the user.
    pub input: String,
    /// Loading, ready or failed.
    pub phase: Phase,
    /// The pane that takes keys.
    pub focus: Pane,
    /// The pane shown on the right (Tree, Packages, Waste or Largest).
    pub main: Pane,
    /// The key table is open.
    pub help: bool,
    /// Rows the key table is scrolled by.
    pub help_scroll: u16,
    /// A question being typed in the footer.
    pub prompt: Option<(Prompt, String)>,
    /// A one-line message (a bad filter, a file that is not in the tree).
    pub status: Option<String>,
    /// Details of the selected item.
    pub details: Vec<DetailLine>,
    /// Terminal size.
    pub size: Rect,
    /// Colours allowed (`NO_COLOR` unset).
    pub color: bool,
    /// The user asked to leave.
    pub quit: bool,
    /// A file open in the viewer, over the panes, read in place (tests, benches).
    pub viewer: Option<Viewer>,
    /// A file open in the viewer, read on the viewer's own thread (on a terminal).
    pub worker: Option<Worker>,
    /// Where threads the app starts send what they have to say; without it, the viewer
    /// reads in place.
    pub waker: Option<std::sync::mpsc::SyncSender<Msg>>,
    /// Text to put on the clipboard with the next frame (OSC 52), already escaped.
    pub clipboard: Option<String>,
}

impl App {
    /// A loading app for `input` on a terminal of `size`.
    pub fn new(input: impl Into<String>, size: Rect, color: bool) -> Self {
        Self {
            input: safe(input),
            phase: Phase::Loading(Progress::default()),
            focus: Pane::Tree,
            main: Pane::Tree,
            help: false,
            help_scroll: 0,
            prompt: None,
            status: None,
            details: Vec::new(),
            size,
            color,
            quit: false,
            viewer: None,
            worker: None,
            waker: None,
            clipboard: None,
        }
    }

    /// A ready app, for tests and benches.
    pub fn ready(input: impl Into<String>, views: Views, size: Rect) -> Self {
        let mut app = Self::new(input, size, true);
        app.handle(Msg::Loaded(Ok(Box::new(views))));
        app
    }

    /// Layers of the image, once known.
    pub fn layer_count(&self) -> usize {
        self.views().map_or(0, |v| v.analysis.layers.len())
    }

    /// The views, once ready.
    pub fn views(&self) -> Option<&Views> {
        match &self.phase {
            Phase::Ready(views) => Some(views),
            _ => None,
        }
    }

    pub(super) fn views_mut(&mut self) -> Option<&mut Views> {
        match &mut self.phase {
            Phase::Ready(views) => Some(views),
            _ => None,
        }
    }

    /// Takes one message.
    pub fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Progress(progress) => {
                if let Phase::Loading(p) = &mut self.phase {
                    *p = progress;
                }
            }
            Msg::Loaded(Ok(views)) => {
                self.phase = Phase::Ready(views);
                self.after_change();
            }
            Msg::Loaded(Err(message)) => self.phase = Phase::Failed(message),
            Msg::Attributed(result) => {
                let Some(views) = self.views_mut() else {
                    return;
                };
                match result {
                    Ok(attributed) => views.set_attribution(*attributed),
                    Err(message) => {
                        views.attributing = false;
                        self.status = Some(message);
                    }
                }
                self.after_change();
            }
            Msg::Input(Event::Key(key)) if key.kind != KeyEventKind::Release => self.key(key),
            Msg::Input(Event::Mouse(mouse)) => self.mouse(mouse),
            Msg::Input(Event::Resize(width, height)) => {
                self.size = Rect::new(0, 0, width, height);
                let rows = self.viewer_height();
                if self.mode() == Mode::Viewer {
                    let status = self.status.take();
                    self.viewer_job(Job::Refresh(rows));
                    self.status = status;
                }
                self.after_change();
            }
            Msg::Viewer(update) => {
                let Some(worker) = self.worker.as_mut() else {
                    return;
                };
                let status = update.status.clone();
                if worker.take(*update) {
                    if status.is_some() {
                        self.status = status;
                    }
                } else {
                    self.status = Some(format!("stopped opening {}", worker.what));
                    self.worker = None;
                }
            }
            Msg::Input(_) => {}
        }
    }

    /// Where keys go now.
    pub fn mode(&self) -> Mode {
        if self.prompt.is_some() {
            Mode::Prompt
        } else if self.help {
            Mode::Help
        } else if self.viewer.is_some() || self.worker.is_some() {
            Mode::Viewer
        } else {
            Mode::Pane(self.focus)
        }
    }

    /// Rows a pane shows at the current size.
    pub fn page_height(&self, pane: Pane) -> usize {
        let areas = layout::areas(self.size, self.layer_count());
        let rows = if pane == Pane::Layers {
            areas.layers.height.saturating_sub(3)
        } else {
            areas.main.height.saturating_sub(2)
        };
        usize::from(rows.max(1))
    }

    /// Keeps selections on screen and the details in step with the selection.
    pub(super) fn after_change(&mut self) {
        let main_height = self.page_height(self.main);
        let layer_height = self.page_height(Pane::Layers);
        let (focus, main) = (self.focus, self.main);
        let Some(views) = self.views_mut() else {
            return;
        };
        views.outline_mut(main).scroll_into_view(main_height);
        views.layer_offset = views.layer_offset.max(views.first_layer());
        if views.layer < views.layer_offset {
            views.layer_offset = views.layer;
        } else if views.layer >= views.layer_offset + layer_height {
            views.layer_offset = views.layer + 1 - layer_height;
        }
        let details = if focus == Pane::Layers {
            details::layer(&views.analysis, views.layer)
        } else {
            let outline = views.outline(main);
            match outline.selected_item() {
                None => details::layer(&views.analysis, views.layer),
                Some(id) if outline.item(id).target == Target::None => {
                    details::heading(outline, id, main == Pane::Tree)
                }
                Some(id) => details::target(views, outline.item(id).target),
            }
        };
        self.details = details;
    }
}

//! The app model: plain data changed only by [`App::handle`], drawn by [`crate::tui::render`].

use ratatui::crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::{Position, Rect};

use crate::tui::event::{Msg, Progress};
use crate::tui::keymap::{Action, Mode, Pane, action_for};
use crate::tui::layout;
use crate::tui::view::build::TreeMode;
use crate::tui::view::details::{self, DetailLine};
use crate::tui::view::outline::Target;
use crate::tui::view::panes::Views;

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
    pub viewer: Option<crate::tui::viewer::file::Viewer>,
    /// A file open in the viewer, read on the viewer's own thread (on a terminal).
    pub worker: Option<crate::tui::viewer::worker::Worker>,
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
            input: crate::tui::view::outline::safe(input),
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

    fn views_mut(&mut self) -> Option<&mut Views> {
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
                    self.viewer_job(crate::tui::viewer::worker::Job::Refresh(rows));
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

    /// Feeds keys as a user would type them (for tests): `j`, `<Enter>`, `<Tab>`, …
    pub fn type_keys(&mut self, keys: &str) {
        let mut rest = keys;
        while let Some(c) = rest.chars().next() {
            let (code, len) = if c == '<' {
                match rest.find('>') {
                    Some(end) => (named_key(&rest[1..end]), end + 1),
                    None => (Some(KeyCode::Char('<')), 1),
                }
            } else {
                (Some(KeyCode::Char(c)), c.len_utf8())
            };
            if let Some(code) = code {
                self.handle(Msg::Input(Event::Key(KeyEvent::from(code))));
            }
            rest = &rest[len..];
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

    fn key(&mut self, key: KeyEvent) {
        let mode = self.mode();
        match (action_for(mode, &key), mode, key.code) {
            (Some(action), Mode::Pane(_), _) => {
                self.status = None;
                self.act(action);
            }
            (Some(action), _, _) => self.act_in_overlay(action),
            (None, Mode::Prompt, KeyCode::Char(c)) => {
                if let Some((_, text)) = &mut self.prompt {
                    text.push(c);
                }
            }
            (None, _, _) => {}
        }
    }

    /// Rows of the file the viewer shows: the screen less its border and footer.
    pub fn viewer_height(&self) -> usize {
        usize::from(self.size.height.saturating_sub(3)).max(1)
    }

    /// An action in the viewer.
    fn act_in_viewer(&mut self, action: Action) {
        let height = self.viewer_height();
        match action {
            Action::CloseViewer => match &self.worker {
                // Esc stops a read under way first, and closes the viewer after.
                Some(worker) if worker.busy > 0 => worker.state.stop(),
                _ => {
                    self.viewer = None;
                    self.worker = None;
                    self.status = None;
                }
            },
            Action::Help => self.help = true,
            Action::FindPrompt => self.prompt = Some((Prompt::Find, String::new())),
            action => self.viewer_job(crate::tui::viewer::worker::Job::Act(action, height)),
        }
    }

    /// Finds `text` (or, with `None`, the text found last) in the viewer's file, from the
    /// line after the top; the status says when there is no further match.
    fn find(&mut self, text: Option<&str>) {
        let height = self.viewer_height();
        self.viewer_job(crate::tui::viewer::worker::Job::Find(
            text.map(str::to_owned),
            height,
        ));
    }

    /// Runs a job on the open file: in place, or on the viewer's thread.
    fn viewer_job(&mut self, job: crate::tui::viewer::worker::Job) {
        self.status = None;
        if let Some(worker) = self.worker.as_mut() {
            worker.send(job);
            return;
        }
        let (Some(viewer), Phase::Ready(views)) = (self.viewer.as_mut(), &self.phase) else {
            return;
        };
        self.status = crate::tui::viewer::worker::run(viewer, &views.analysis, &job);
    }

    /// The progress line of a slow read in the viewer.
    pub fn reading(&self) -> Option<String> {
        self.worker
            .as_ref()
            .and_then(crate::tui::viewer::worker::Worker::progress)
    }

    /// The selected item's path in the image, if it stands for one.
    fn selected_path(&self) -> Option<Vec<u8>> {
        let views = self.views()?;
        let outline = views.outline(self.main);
        let item = outline.item(outline.selected_item()?);
        crate::tui::view::panes::target_path(&views.analysis, item.target)
    }

    /// Puts the selected path on the clipboard: escaped, so that pasting it never runs
    /// what a hostile name holds (a newline, a control sequence).
    fn copy_path(&mut self) {
        let Some(path) = self.selected_path() else {
            self.status = Some("this item is not a path of the image".to_owned());
            return;
        };
        let text = dive_core::escape::escape_bytes(&path).into_owned();
        self.status = Some(format!("copied {text}"));
        self.clipboard = Some(text);
    }

    /// Extracts the selection (the final image's, or in layer mode that layer's) below
    /// `dir`, never outside it; the status says what was written.
    fn extract_selection(&mut self, dir: &str) {
        let Some(path) = self.selected_path() else {
            self.status = Some("this item is not a path of the image".to_owned());
            return;
        };
        let Some(views) = self.views() else { return };
        let version = if views.tree.mode == TreeMode::Layer && self.main == Pane::Tree {
            dive_core::contents::Version::Layer(views.layer)
        } else {
            dive_core::contents::Version::Final
        };
        let files = match &views.files {
            Ok(files) => std::sync::Arc::clone(files),
            Err(why) => {
                self.status = Some(why.clone());
                return;
            }
        };
        let options = dive_core::contents::ExtractOptions::default();
        let done = files.extract(
            &views.analysis,
            &[&path],
            version,
            std::path::Path::new(dir),
            options,
        );
        self.status = Some(crate::tui::view::outline::safe(match done {
            Ok(done) => format!(
                "wrote {} paths ({}) below {dir}{}",
                done.written.len(),
                dive_core::report::human_bytes(done.bytes, false),
                if done.skipped.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; skipped {} (dive-rs extract lists why)",
                        done.skipped.len()
                    )
                }
            ),
            Err(e) => e.to_string(),
        }));
    }

    /// Opens the selected file in the viewer: the final image's version, or in layer mode
    /// the one that layer wrote (hidden or not).
    fn open_viewer(&mut self) {
        let main = self.main;
        let Some(views) = self.views() else { return };
        let outline = views.outline(main);
        let Some(item) = outline.selected_item().map(|i| outline.item(i)) else {
            return;
        };
        let analysis = &views.analysis;
        let found = match item.target {
            Target::Node(id) => analysis.tree.node(id).inode.map(|i| {
                let inode = analysis.tree.inode(i);
                (inode.layer as usize, inode.entry as usize, false)
            }),
            Target::Entry { layer, entry } => analysis.entry(layer, entry as usize).and_then(|e| {
                analysis
                    .find(&e.path, dive_core::contents::Version::Layer(layer))
                    .filter(|f| f.kind == dive_core::layer::EntryKind::File)
                    .map(|f| (f.layer, f.entry, item.hidden))
            }),
            _ => None,
        };
        let Some((layer, entry, hidden)) = found else {
            self.status = Some("only a file holds bytes to view".to_owned());
            return;
        };
        let files = match &views.files {
            Ok(files) => std::sync::Arc::clone(files),
            Err(why) => {
                self.status = Some(why.clone());
                return;
            }
        };
        let height = self.viewer_height();
        if let Some(wake) = &self.waker {
            let spawned = crate::tui::viewer::worker::Worker::spawn(
                std::sync::Arc::clone(analysis),
                files,
                (layer, entry, hidden),
                height,
                wake.clone(),
            );
            match spawned {
                Ok(worker) => self.worker = Some(worker),
                Err(e) => self.status = Some(format!("cannot start the viewer: {e}")),
            }
            return;
        }
        let state = std::sync::Arc::default();
        let mut viewer =
            crate::tui::viewer::file::Viewer::open(analysis, files, state, (layer, entry), hidden);
        viewer.refresh(analysis, height);
        self.viewer = Some(viewer);
    }

    /// An action of the key table or of a prompt, which lie over the panes.
    fn act_in_overlay(&mut self, action: Action) {
        if self.mode() == Mode::Viewer {
            return self.act_in_viewer(action);
        }
        match action {
            Action::Quit => self.quit = true,
            Action::CloseHelp => self.help = false,
            Action::HelpUp => self.help_scroll = self.help_scroll.saturating_sub(1),
            Action::HelpDown => self.help_scroll = self.help_scroll.saturating_add(1),
            Action::Submit => {
                if let Some((prompt, text)) = self.prompt.take() {
                    self.answer(prompt, &text);
                }
            }
            Action::Cancel => self.prompt = None,
            Action::DeleteChar => {
                if let Some((_, text)) = &mut self.prompt {
                    text.pop();
                }
            }
            _ => {}
        }
    }

    fn answer(&mut self, prompt: Prompt, text: &str) {
        if prompt == Prompt::Find {
            self.find(Some(text));
            return;
        }
        if prompt == Prompt::ExtractTo {
            self.extract_selection(text);
            return;
        }
        let Some(views) = self.views_mut() else {
            return;
        };
        let result = match prompt {
            Prompt::Filter => views.set_pattern(text),
            Prompt::MinSize => views.set_min_size(text),
            Prompt::Find | Prompt::ExtractTo => Ok(()),
        };
        if let Err(message) = result {
            self.status = Some(crate::tui::view::outline::safe(message));
        } else if views.tree.outline().rows().is_empty() {
            self.status = Some("nothing matches; C clears the filters".to_owned());
        }
        self.after_change();
    }

    /// Does what an action asks.
    pub fn act(&mut self, action: Action) {
        match action {
            Action::Quit => self.quit = true,
            Action::Help => {
                self.help = !self.help;
                self.help_scroll = 0;
            }
            Action::NextPane => self.focus_pane(self.focus.cycle(1)),
            Action::PrevPane => self.focus_pane(self.focus.cycle(-1)),
            Action::Show(pane) => self.focus_pane(pane),
            Action::View => self.open_viewer(),
            Action::CopyPath => self.copy_path(),
            Action::ExtractPrompt => self.prompt = Some((Prompt::ExtractTo, String::new())),
            Action::ToggleBase => {
                if self.views_mut().is_some_and(|v| !v.toggle_base()) {
                    self.status = Some(
                        "no base image is known: --base IMAGE names it, --base auto reads the \
                         one the manifest names"
                            .to_owned(),
                    );
                }
            }
            _ => self.act_on_views(action),
        }
        self.after_change();
    }

    fn focus_pane(&mut self, pane: Pane) {
        self.focus = pane;
        if pane != Pane::Layers {
            self.main = pane;
        }
    }

    fn act_on_views(&mut self, action: Action) {
        let page = self.page_height(self.focus) as isize;
        let focus = self.focus;
        let Some(views) = self.views_mut() else {
            return;
        };
        let mut status = None;
        if focus == Pane::Layers {
            let last = views.analysis.layers.len().saturating_sub(1) as isize;
            let first = views.first_layer() as isize;
            let at = views.layer as isize;
            let to = match action {
                Action::Up => at - 1,
                Action::Down => at + 1,
                Action::PageUp => at - page,
                Action::PageDown => at + page,
                Action::Home => first,
                Action::End => last,
                _ => return,
            };
            views.select_layer(to.clamp(first, last.max(first)) as usize);
            return;
        }
        match action {
            Action::TreeMode => {
                views.tree.mode = match views.tree.mode {
                    TreeMode::Image => TreeMode::Layer,
                    TreeMode::Layer => TreeMode::Image,
                };
                views.sync_tree();
            }
            Action::ChangedOnly => {
                views.tree.changed_only = !views.tree.changed_only;
                views.sync_tree();
            }
            Action::HiddenOnly => {
                views.tree.hidden_only = !views.tree.hidden_only;
                views.sync_tree();
            }
            Action::ClearFilters => views.clear_filters(),
            Action::FilterPrompt => {
                self.prompt = Some((Prompt::Filter, String::new()));
                return;
            }
            Action::MinSizePrompt => {
                self.prompt = Some((Prompt::MinSize, String::new()));
                return;
            }
            Action::ShowInTree | Action::Toggle => {
                let outline = views.outline(focus);
                let target = Views::selected_target(outline);
                let is_leaf = outline
                    .selected_item()
                    .is_some_and(|id| !outline.item(id).is_parent);
                if action == Action::Toggle && (focus == Pane::Tree || !is_leaf) {
                    views.outline_mut(focus).toggle();
                } else if focus != Pane::Tree || action == Action::ShowInTree {
                    if views.show_in_tree(target) {
                        self.focus_pane(Pane::Tree);
                    } else {
                        status = Some("that item is not a path of the image".to_owned());
                    }
                }
            }
            _ => {
                let outline = views.outline_mut(focus);
                match action {
                    Action::Up => outline.move_by(-1),
                    Action::Down => outline.move_by(1),
                    Action::PageUp => outline.move_by(-page),
                    Action::PageDown => outline.move_by(page),
                    Action::Home => outline.select_row(0),
                    Action::End => outline.select_row(usize::MAX),
                    Action::Expand => outline.expand(),
                    Action::Collapse => outline.collapse(),
                    Action::Parent => outline.select_parent(),
                    Action::ExpandAll => outline.expand_all(),
                    Action::CollapseAll => outline.collapse_all(),
                    Action::Sort => outline.sort(outline.next_sort()),
                    _ => {}
                }
            }
        }
        if status.is_some() {
            self.status = status;
        }
    }

    fn mouse(&mut self, mouse: MouseEvent) {
        let areas = layout::areas(self.size, self.layer_count());
        let at = Position::new(mouse.column, mouse.row);
        let pane = if areas.layers.contains(at) {
            Pane::Layers
        } else if areas.main.contains(at) {
            self.main
        } else {
            return;
        };
        match mouse.kind {
            MouseEventKind::ScrollDown | MouseEventKind::ScrollUp => {
                self.focus_pane(pane);
                let action = if mouse.kind == MouseEventKind::ScrollDown {
                    Action::Down
                } else {
                    Action::Up
                };
                for _ in 0..3 {
                    self.act_on_views(action);
                }
            }
            MouseEventKind::Down(MouseButton::Left) => {
                self.focus_pane(pane);
                let area = if pane == Pane::Layers {
                    areas.layers
                } else {
                    areas.main
                };
                // Borders, and the layer list's column header.
                let top = area.y + 1 + u16::from(pane == Pane::Layers);
                if let (Some(row), Some(views)) = (mouse.row.checked_sub(top), self.views_mut()) {
                    if pane == Pane::Layers {
                        let layer = views.layer_offset.max(views.first_layer()) + row as usize;
                        if layer < views.analysis.layers.len() {
                            views.select_layer(layer);
                        }
                    } else {
                        let outline = views.outline_mut(pane);
                        let row = outline.offset + row as usize;
                        if row < outline.rows().len() {
                            if outline.selected == row {
                                outline.toggle();
                            } else {
                                outline.select_row(row);
                            }
                        }
                    }
                }
            }
            _ => return,
        }
        self.after_change();
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
    fn after_change(&mut self) {
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

fn named_key(name: &str) -> Option<KeyCode> {
    Some(match name {
        "Enter" => KeyCode::Enter,
        "Esc" => KeyCode::Esc,
        "Tab" => KeyCode::Tab,
        "BackTab" => KeyCode::BackTab,
        "Up" => KeyCode::Up,
        "Down" => KeyCode::Down,
        "Left" => KeyCode::Left,
        "Right" => KeyCode::Right,
        "PageUp" => KeyCode::PageUp,
        "PageDown" => KeyCode::PageDown,
        "Home" => KeyCode::Home,
        "End" => KeyCode::End,
        "Backspace" => KeyCode::Backspace,
        "Space" => KeyCode::Char(' '),
        _ => return None,
    })
}

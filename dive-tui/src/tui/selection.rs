//! What is done with the selected file: view it (read in place, or on the viewer's own
//! thread on a terminal), copy its path, extract it.

use std::sync::Arc;

use crate::tui::app::{App, Phase, Prompt};
use crate::tui::keymap::{Action, Pane};
use crate::tui::view::build::TreeMode;
use crate::tui::view::outline::{Target, safe};
use crate::tui::view::panes::target_path;
use crate::tui::viewer::file::Viewer;
use crate::tui::viewer::worker::{self, Job, Worker};

impl App {
    /// Rows of the file the viewer shows: the screen less its border and footer.
    pub fn viewer_height(&self) -> usize {
        usize::from(self.size.height.saturating_sub(3)).max(1)
    }

    /// An action in the viewer.
    pub(super) fn act_in_viewer(&mut self, action: Action) {
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
            action => self.viewer_job(Job::Act(action, height)),
        }
    }

    /// Finds `text` (or, with `None`, the text found last) in the viewer's file, from the
    /// line after the top; the status says when there is no further match.
    pub(super) fn find(&mut self, text: Option<&str>) {
        let height = self.viewer_height();
        self.viewer_job(Job::Find(text.map(str::to_owned), height));
    }

    /// Runs a job on the open file: in place, or on the viewer's thread.
    pub(super) fn viewer_job(&mut self, job: Job) {
        self.status = None;
        if let Some(worker) = self.worker.as_mut() {
            worker.send(job);
            return;
        }
        let (Some(viewer), Phase::Ready(views)) = (self.viewer.as_mut(), &self.phase) else {
            return;
        };
        self.status = worker::run(viewer, &views.analysis, &job);
    }

    /// The progress line of a slow read in the viewer.
    pub fn reading(&self) -> Option<String> {
        self.worker.as_ref().and_then(Worker::progress)
    }

    /// The selected item's path in the image, if it stands for one.
    pub(super) fn selected_path(&self) -> Option<Vec<u8>> {
        let views = self.views()?;
        let outline = views.outline(self.main);
        let item = outline.item(outline.selected_item()?);
        target_path(&views.analysis, item.target)
    }

    /// Puts the selected path on the clipboard: escaped, so that pasting it never runs
    /// what a hostile name holds (a newline, a control sequence).
    pub(super) fn copy_path(&mut self) {
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
    pub(super) fn extract_selection(&mut self, dir: &str) {
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
            Ok(files) => Arc::clone(files),
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
        self.status = Some(safe(match done {
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
    pub(super) fn open_viewer(&mut self) {
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
                    .filter(|f| f.kind == dive_core::EntryKind::File)
                    .map(|f| (f.layer, f.entry, item.hidden))
            }),
            _ => None,
        };
        let Some((layer, entry, hidden)) = found else {
            self.status = Some("only a file holds bytes to view".to_owned());
            return;
        };
        let files = match &views.files {
            Ok(files) => Arc::clone(files),
            Err(why) => {
                self.status = Some(why.clone());
                return;
            }
        };
        let height = self.viewer_height();
        if let Some(wake) = &self.waker {
            let spawned = Worker::spawn(
                Arc::clone(analysis),
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
        let state = Arc::default();
        let mut viewer = Viewer::open(analysis, files, state, (layer, entry), hidden);
        viewer.refresh(analysis, height);
        self.viewer = Some(viewer);
    }
}

//! What an action of the key table does to the panes: focus, selection, expansion,
//! sorting, the tree's modes and filters.

use crate::tui::app::{App, Prompt};
use crate::tui::keymap::{Action, Pane};
use crate::tui::view::build::TreeMode;
use crate::tui::view::panes::Views;

impl App {
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

    pub(super) fn focus_pane(&mut self, pane: Pane) {
        self.focus = pane;
        if pane != Pane::Layers {
            self.main = pane;
        }
    }

    pub(super) fn act_on_views(&mut self, action: Action) {
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
}

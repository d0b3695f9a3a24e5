//! What the user's keys, prompt answers and mouse do to the app: each becomes an
//! [`Action`] of the key table (or a character typed into a prompt), handed on to
//! [`App::act`] or to the overlay (help, prompt, viewer) that takes keys.

use ratatui::crossterm::event::{
    Event, KeyCode, KeyEvent, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::Position;

use crate::tui::app::{App, Prompt};
use crate::tui::event::Msg;
use crate::tui::keymap::{Action, Mode, Pane, action_for};
use crate::tui::layout;

impl App {
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

    pub(super) fn key(&mut self, key: KeyEvent) {
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

    pub(super) fn mouse(&mut self, mouse: MouseEvent) {
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

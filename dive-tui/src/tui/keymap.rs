//! Keys are data: one table maps a key in a pane, in the open key table or in a prompt to
//! an action, and the same table writes the footer hints and the `?` help.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// The panes, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pane {
    /// The layer list.
    #[default]
    Layers,
    /// The file tree.
    Tree,
    /// Families, packages and their files.
    Packages,
    /// Waste classes and their paths.
    Waste,
    /// Largest files of the image.
    Largest,
}

impl Pane {
    /// Tab order.
    pub const ALL: [Pane; 5] = [
        Pane::Layers,
        Pane::Tree,
        Pane::Packages,
        Pane::Waste,
        Pane::Largest,
    ];

    /// The pane's title.
    pub fn title(self) -> &'static str {
        match self {
            Pane::Layers => "Layers",
            Pane::Tree => "Tree",
            Pane::Packages => "Packages",
            Pane::Waste => "Waste",
            Pane::Largest => "Largest",
        }
    }

    /// The next pane in Tab order (`step` = 1) or the previous one (`step` = -1).
    #[must_use]
    pub fn cycle(self, step: isize) -> Pane {
        let at = Self::ALL.iter().position(|&p| p == self).unwrap_or(0);
        let n = Self::ALL.len() as isize;
        Self::ALL[((at as isize + step).rem_euclid(n)) as usize]
    }
}

/// Something the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Leave.
    Quit,
    /// Open or close the key table.
    Help,
    /// Focus the next pane.
    NextPane,
    /// Focus the previous pane.
    PrevPane,
    /// Focus a pane.
    Show(Pane),
    /// Selection up one row.
    Up,
    /// Selection down one row.
    Down,
    /// Up one screen.
    PageUp,
    /// Down one screen.
    PageDown,
    /// First row.
    Home,
    /// Last row.
    End,
    /// Expand or collapse; on a file elsewhere than the tree, show it in the tree.
    Toggle,
    /// Expand, or step into.
    Expand,
    /// Collapse, or go to the parent.
    Collapse,
    /// Select the parent.
    Parent,
    /// Expand everything.
    ExpandAll,
    /// Collapse everything.
    CollapseAll,
    /// Size or name order.
    Sort,
    /// Final image or the selected layer's own entries.
    TreeMode,
    /// Hide or show the base image's layers.
    ToggleBase,
    /// Open the selected file in the viewer.
    View,
    /// Text or hex dump in the viewer.
    ToggleHex,
    /// Close the viewer, back where the user was.
    CloseViewer,
    /// Ask for text to find in the viewer.
    FindPrompt,
    /// Copy the selected path to the clipboard (OSC 52).
    CopyPath,
    /// Ask for a directory to extract the selection into.
    ExtractPrompt,
    /// The next match of the text found last.
    FindNext,
    /// Ask for a path glob, regex or text.
    FilterPrompt,
    /// Ask for a minimum size.
    MinSizePrompt,
    /// Only what the selected layer changed.
    ChangedOnly,
    /// Only content that ships but is hidden.
    HiddenOnly,
    /// Drop every filter.
    ClearFilters,
    /// Show the selected file in the tree.
    ShowInTree,
    /// Close the key table.
    CloseHelp,
    /// Scroll the key table up.
    HelpUp,
    /// Scroll the key table down.
    HelpDown,
    /// Apply what the prompt holds.
    Submit,
    /// Leave the prompt, changing nothing.
    Cancel,
    /// Delete the prompt's last character.
    DeleteChar,
    /// Type into the prompt (any other character; listed for the help only).
    Type,
}

/// Where a key goes: a pane, the open key table, or a prompt being typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The focused pane.
    Pane(Pane),
    /// The `?` key table is open.
    Help,
    /// A prompt (filter, minimum size) is being typed.
    Prompt,
    /// A file is open in the viewer.
    Viewer,
}

/// Where a binding works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every pane.
    Any,
    /// Panes that show an outline (all but Layers).
    Outline,
    /// The file tree only.
    Tree,
    /// The open key table.
    Help,
    /// A prompt being typed.
    Prompt,
    /// The file viewer.
    Viewer,
}

impl Scope {
    /// How the help heads the bindings of this scope (`None`: the panes' own, first).
    pub fn heading(self) -> Option<&'static str> {
        match self {
            Scope::Any | Scope::Outline | Scope::Tree => None,
            Scope::Help => Some("In this key table"),
            Scope::Prompt => Some("In a prompt"),
            Scope::Viewer => Some("In the file viewer (v)"),
        }
    }
}

/// One row of the key table.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    /// Keys that trigger it.
    pub keys: &'static [KeyCode],
    /// How the keys are written in hints and help.
    pub label: &'static str,
    /// Where it works.
    pub scope: Scope,
    /// What it does.
    pub action: Action,
    /// One line for the help.
    pub help: &'static str,
    /// A short word for the footer, when it belongs there.
    pub hint: Option<&'static str>,
}

const fn bind(
    keys: &'static [KeyCode],
    label: &'static str,
    scope: Scope,
    action: Action,
    help: &'static str,
    hint: Option<&'static str>,
) -> Binding {
    Binding {
        keys,
        label,
        scope,
        action,
        help,
        hint,
    }
}

use KeyCode::{
    BackTab, Backspace, Char, Down, End, Enter, Esc, Home, Left, PageDown, PageUp, Right, Tab, Up,
};

/// Every binding. Order is the order of the help and the footer.
#[rustfmt::skip]
pub const BINDINGS: &[Binding] = &[
    bind(&[Char('?')], "?", Scope::Any, Action::Help, "show or hide this key table", Some("help")),
    bind(&[Char('q'), Esc], "q Esc", Scope::Any, Action::Quit, "quit (Esc first closes help or a prompt)", Some("quit")),
    bind(&[Tab], "Tab", Scope::Any, Action::NextPane, "next pane: Layers → Tree → Packages → Waste → Largest", Some("pane")),
    bind(&[BackTab], "S-Tab", Scope::Any, Action::PrevPane, "previous pane", None),
    bind(&[Char('1')], "1", Scope::Any, Action::Show(Pane::Layers), "Layers", None),
    bind(&[Char('2')], "2", Scope::Any, Action::Show(Pane::Tree), "file Tree", None),
    bind(&[Char('3')], "3", Scope::Any, Action::Show(Pane::Packages), "Packages: families → packages → files", None),
    bind(&[Char('4')], "4", Scope::Any, Action::Show(Pane::Waste), "Waste: classes → paths, with the fix", None),
    bind(&[Char('5')], "5", Scope::Any, Action::Show(Pane::Largest), "Largest files of the image", None),
    bind(&[Up, Char('k')], "↑ k", Scope::Any, Action::Up, "up", None),
    bind(&[Down, Char('j')], "↓ j", Scope::Any, Action::Down, "down", None),
    bind(&[PageUp, Char('b')], "PgUp", Scope::Any, Action::PageUp, "up one screen", None),
    bind(&[PageDown, Char('f')], "PgDn", Scope::Any, Action::PageDown, "down one screen", None),
    bind(&[Home, Char('g')], "Home g", Scope::Any, Action::Home, "first row", None),
    bind(&[End, Char('G')], "End G", Scope::Any, Action::End, "last row", None),
    bind(&[Enter, Char(' ')], "Enter", Scope::Outline, Action::Toggle, "expand/collapse; on a file: show it in the tree", Some("open")),
    bind(&[Right, Char('l')], "→ l", Scope::Outline, Action::Expand, "expand, or step in", None),
    bind(&[Left, Char('h')], "← h", Scope::Outline, Action::Collapse, "collapse, or go to the parent", None),
    bind(&[Backspace, Char('u')], "Bksp u", Scope::Outline, Action::Parent, "jump to the parent", None),
    bind(&[Char('e')], "e", Scope::Outline, Action::ExpandAll, "expand all", None),
    bind(&[Char('E')], "E", Scope::Outline, Action::CollapseAll, "collapse all", None),
    bind(&[Char('v')], "v", Scope::Outline, Action::View, "view the file: text or hex (in layer mode, as that layer wrote it)", Some("view")),
    bind(&[Char('y')], "y", Scope::Outline, Action::CopyPath, "copy the path (OSC 52: over ssh too; in tmux with set-clipboard on)", None),
    bind(&[Char('X')], "X", Scope::Outline, Action::ExtractPrompt, "extract the selection (file or directory) to a directory", None),
    bind(&[Char('s')], "s", Scope::Outline, Action::Sort, "sort by size, by name or by GPU device code", Some("sort")),
    bind(&[Char('t')], "t", Scope::Outline, Action::ShowInTree, "show the selected file in the tree", None),
    bind(&[Char('B')], "B", Scope::Any, Action::ToggleBase, "hide or show the base image's layers (--base IMAGE, --base auto)", None),
    bind(&[Char('m')], "m", Scope::Tree, Action::TreeMode, "tree of the final image, or of the selected layer only", Some("image/layer")),
    bind(&[Char('/')], "/", Scope::Tree, Action::FilterPrompt, "filter paths: glob (*.so), re:REGEX, or text", Some("filter")),
    bind(&[Char('>')], ">", Scope::Tree, Action::MinSizePrompt, "only files of at least a size (10MB)", Some("min size")),
    bind(&[Char('c')], "c", Scope::Tree, Action::ChangedOnly, "only what the selected layer changed", Some("changed")),
    bind(&[Char('x')], "x", Scope::Tree, Action::HiddenOnly, "only bytes that ship but are hidden (who hid them: details)", Some("hidden")),
    bind(&[Char('C')], "C", Scope::Tree, Action::ClearFilters, "clear every filter", None),
    bind(&[Esc, Char('?'), Char('q')], "Esc ? q", Scope::Help, Action::CloseHelp, "close it", None),
    bind(&[Up, Char('k')], "↑ k", Scope::Help, Action::HelpUp, "scroll up", None),
    bind(&[Down, Char('j')], "↓ j", Scope::Help, Action::HelpDown, "scroll down", None),
    bind(&[Up, Char('k')], "↑ k", Scope::Viewer, Action::Up, "up a line (a row of 16 bytes in hex)", None),
    bind(&[Down, Char('j')], "↓ j", Scope::Viewer, Action::Down, "down a line", None),
    bind(&[PageUp, Char('b')], "PgUp", Scope::Viewer, Action::PageUp, "up one screen", None),
    bind(&[PageDown, Char('f'), Char(' ')], "PgDn", Scope::Viewer, Action::PageDown, "down one screen", None),
    bind(&[Home, Char('g')], "Home g", Scope::Viewer, Action::Home, "start of the file", None),
    bind(&[End, Char('G')], "End G", Scope::Viewer, Action::End, "end of the file", None),
    bind(&[Char('x')], "x", Scope::Viewer, Action::ToggleHex, "text or hex dump", None),
    bind(&[Char('/')], "/", Scope::Viewer, Action::FindPrompt, "find text, from the line after the top", None),
    bind(&[Char('n')], "n", Scope::Viewer, Action::FindNext, "the next match", None),
    bind(&[Char('?')], "?", Scope::Viewer, Action::Help, "this key table", None),
    bind(&[Esc, Char('q'), Char('v')], "Esc q", Scope::Viewer, Action::CloseViewer, "stop a slow read (its progress shows below); else close it, back where you were", None),
    bind(&[Enter], "Enter", Scope::Prompt, Action::Submit, "apply (empty clears)", None),
    bind(&[Esc], "Esc", Scope::Prompt, Action::Cancel, "leave, changing nothing", None),
    bind(&[Backspace], "Bksp", Scope::Prompt, Action::DeleteChar, "delete the last character", None),
    bind(&[], "other", Scope::Prompt, Action::Type, "type it (Ctrl-C still quits)", None),
];

/// The action a key asks for in `mode`, if any; Ctrl-C and Ctrl-D quit everywhere.
pub fn action_for(mode: Mode, key: &KeyEvent) -> Option<Action> {
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return matches!(key.code, Char('c' | 'd')).then_some(Action::Quit);
    }
    BINDINGS
        .iter()
        .filter(|b| in_scope(b.scope, mode))
        .find(|b| b.keys.contains(&key.code))
        .map(|b| b.action)
}

/// Whether a binding of `scope` works in `mode`.
pub fn in_scope(scope: Scope, mode: Mode) -> bool {
    match (scope, mode) {
        (Scope::Any, Mode::Pane(_))
        | (Scope::Help, Mode::Help)
        | (Scope::Prompt, Mode::Prompt)
        | (Scope::Viewer, Mode::Viewer) => true,
        (Scope::Outline, Mode::Pane(pane)) => pane != Pane::Layers,
        (Scope::Tree, Mode::Pane(pane)) => pane == Pane::Tree,
        _ => false,
    }
}

/// Footer hints for a pane: `(keys, word)`.
pub fn hints(pane: Pane) -> Vec<(&'static str, &'static str)> {
    BINDINGS
        .iter()
        .filter(|b| in_scope(b.scope, Mode::Pane(pane)))
        .filter_map(|b| Some((b.label, b.hint?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_key_means_two_things_in_one_mode() {
        let modes =
            Pane::ALL
                .map(Mode::Pane)
                .into_iter()
                .chain([Mode::Help, Mode::Prompt, Mode::Viewer]);
        for mode in modes {
            let mut seen = Vec::new();
            for b in BINDINGS.iter().filter(|b| in_scope(b.scope, mode)) {
                for key in b.keys {
                    assert!(!seen.contains(key), "{key:?} bound twice in {mode:?}");
                    seen.push(*key);
                }
            }
        }
    }

    #[test]
    fn help_and_prompt_keys_come_from_the_table() {
        let esc = KeyEvent::from(Esc);
        assert_eq!(action_for(Mode::Help, &esc), Some(Action::CloseHelp));
        assert_eq!(action_for(Mode::Prompt, &esc), Some(Action::Cancel));
        assert_eq!(action_for(Mode::Pane(Pane::Tree), &esc), Some(Action::Quit));
        // In a prompt, letters are text: `q` types, it does not quit.
        assert_eq!(action_for(Mode::Prompt, &KeyEvent::from(Char('q'))), None);
        let ctrl_c = KeyEvent::new(Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action_for(Mode::Prompt, &ctrl_c), Some(Action::Quit));
    }

    #[test]
    fn tree_keys_do_nothing_in_the_layer_list() {
        let key = KeyEvent::from(Char('m'));
        assert_eq!(
            action_for(Mode::Pane(Pane::Tree), &key),
            Some(Action::TreeMode)
        );
        assert_eq!(action_for(Mode::Pane(Pane::Layers), &key), None);
        let ctrl_c = KeyEvent::new(Char('c'), KeyModifiers::CONTROL);
        assert_eq!(
            action_for(Mode::Pane(Pane::Tree), &ctrl_c),
            Some(Action::Quit)
        );
    }
}

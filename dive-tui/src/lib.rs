//! The interactive view of `dive-rs`: layers, the merged file tree, packages, waste and
//! the largest files of a container image, drawn with ratatui.
//!
//! The data flow: [`views::Views`] builds every view model once from a
//! [`dive_core::Analysis`]; [`app::App`] holds all state and changes only through
//! [`app::App::handle`]; [`ui::render`] draws it without sorting or summing anything, in
//! the areas [`layout::areas`] gives (mouse hit-testing uses the same areas);
//! [`terminal::run`] owns the terminal, the analysis thread and the event loop; the file
//! viewer ([`viewer`]) reads on its own thread ([`viewing`]);
//! [`progress`] draws a bar on stderr for the non-interactive commands.

pub mod cmd;
pub mod tui;

// The old flat paths, while the files are moved (the next commits name the folders).
pub use cmd as commands;
pub use cmd::args as cli;
use cmd::{docs, files, input};
pub use cmd::progress;
pub use tui::view::{build as model, details, outline, panes as views};
pub use tui::viewer::{file as viewer, worker as viewing};
pub use tui::{app, keymap, layout, render as ui, terminal};

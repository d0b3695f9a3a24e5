//! `dive-rs` as a library: the command line ([`cmd`]) and the interactive view ([`tui`]).
//!
//! [`cmd::run`] parses the arguments, runs one command and returns the exit status; the
//! `dive-rs` binary and the Python package are a few lines around it. The commands that
//! write something (summary, report, ci, diff, cat, extract) live in [`cmd`]; the default
//! command opens [`tui`], which imports nothing from [`cmd`].
//!
//! The interactive view's data flow: [`tui::view::panes::Views`] builds every pane's model
//! once from a [`dive_core::Analysis`]; [`tui::app::App`] holds all state and changes only
//! through [`tui::app::App::handle`], fed the [`tui::event::Msg`]s of one channel;
//! [`tui::render::render`] draws it without sorting or summing anything, in the areas
//! [`tui::layout::areas`] gives (mouse hit-testing uses the same areas);
//! [`tui::terminal::run`] owns the terminal, the analysis thread and the event loop; the
//! file viewer ([`tui::viewer`]) reads on its own thread.

pub mod cmd;
pub mod tui;

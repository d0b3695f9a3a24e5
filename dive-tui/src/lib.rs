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

pub mod app;
pub mod cli;
pub mod commands;
pub mod details;
mod docs;
mod files;
mod input;
pub mod keymap;
pub mod layout;
pub mod model;
pub mod outline;
pub mod progress;
pub mod terminal;
pub mod ui;
pub mod viewer;
pub mod viewing;
pub mod views;

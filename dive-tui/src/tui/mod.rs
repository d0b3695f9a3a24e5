//! The interactive view: a terminal session ([`terminal`]) runs one event loop over the
//! [`event::Msg`]s of one channel; [`app::App`] holds all state and changes only through
//! [`app::App::handle`], with its keys and mouse turned into actions by `dispatch` and
//! carried out by `actions` (the panes) and `selection` (the selected file: viewer, copy,
//! extract); [`render`] draws it in the areas [`layout`] gives; [`keymap`] is the one key
//! table. [`view`] holds the panes' models, built once from the analysis; [`viewer`] the
//! file viewer and its thread.
//!
//! The rooms stand in floors: terminal above app and render, app above viewer, viewer above
//! event, event above view; nothing imports upwards, and nothing here imports `cmd`.

mod actions;
pub mod app;
mod dispatch;
pub mod event;
pub mod keymap;
pub mod layout;
pub mod render;
mod selection;
pub mod terminal;
pub mod view;
pub mod viewer;

//! The interactive view.

pub mod app;
pub mod event;
pub mod keymap;
pub mod layout;
pub mod render;
pub mod terminal;
pub mod view;
pub mod viewer;

//! The interactive view.

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

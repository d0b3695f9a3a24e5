//! The panes' models.

pub mod build;
pub mod details;
pub mod outline;
pub mod panes;

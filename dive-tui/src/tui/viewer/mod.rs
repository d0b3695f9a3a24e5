//! The file viewer.

pub mod file;
pub mod worker;

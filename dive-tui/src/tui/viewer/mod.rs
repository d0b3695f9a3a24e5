//! The file viewer.

pub mod file;
pub mod read;
mod rows;
pub mod worker;

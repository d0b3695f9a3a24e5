//! The file viewer: [`file::Viewer`] is one open file, read a window at a time and shown as
//! text, a hex dump or an ELF summary (rows escaped by `rows`); [`worker::Worker`] runs it on
//! its own thread on a terminal, each key a [`worker::Job`]; [`read::ReadState`] is what
//! both threads know of a read under way (how far, and whether Esc stopped it).

pub mod file;
pub mod read;
mod rows;
pub mod worker;

//! Reading files back out of an analysed image: the bytes of any layer's version of a path,
//! hidden or not. Only the blob that holds the version is read again: a plain layer from
//! the entry's offset, a compressed one decoded from its start up to the entry and no further.
//! `find` says which entry holds a version, `read` streams its bytes, `extract` writes files
//! and directories below a directory they cannot leave (`beneath`).

mod beneath;
mod elf_read;
mod elf_summary;
mod extract;
mod follow;
mod modes;
mod read;
mod reread;
pub(crate) mod sparse;

pub use crate::source::Watch;
unstable_use!(elf_read::{ElfReadCount, STEP as ELF_STEP, SUMMARY_CAP as ELF_SUMMARY_CAP});
pub use elf_summary::ElfSummary;
pub use extract::{ExtractOptions, Extracted, Skipped};
pub use follow::FollowError;
unstable_use!(follow::MAX_LINKS);
pub use read::EntryReader;

pub use reread::{Contents, Found, Version};
unstable_use!(reread::check_rereadable);

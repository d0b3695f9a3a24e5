//! The user's Dockerfile, read with byte spans, and the image history matched to its lines:
//! the ground `fix` (#39) writes its patches on.
//!
//! [`parse()`] reads a Dockerfile into a [`Dockerfile`]: stages, instructions with the span of
//! the whole instruction (continuation lines and heredoc bodies included) and of its
//! arguments, heredoc bodies, the `ARG`s before the first `FROM`, the escape character and
//! a 1-based line for every span. An edit replaces spans; every byte outside them stays as the
//! user wrote it. [`map_history`] pairs each history entry of an image (`created_by`, as
//! BuildKit, the legacy builder or buildah write it) with the instruction that produced it, or
//! with the base image, and refuses a Dockerfile the image was not built from.
//!
//! The history can be the config's whole list (`source::plan`'s entries, empty layers
//! included) or only the layers' entries, as an analysis keeps them
//! (`LayerFacts::created_by`, each with `empty_layer: false`): the layers map the same.
//!
//! Budget: a Dockerfile is at most [`MAX_DOCKERFILE_BYTES`]; parsing and matching are linear
//! in its bytes and the history's: the matching looks at most a fixed window away when a
//! step and an entry differ, and the tests count its comparisons on crafted files.
//!
//! Crate-internal: [`crate::fix`] is its public face.

mod error;
mod history;
mod instruction;
mod model;
mod parse;
#[cfg(test)]
mod tests;

pub use error::{DockerfileError, UnmatchedInstruction, UnmatchedLayer};
pub(crate) use history::Mapping;
pub(crate) use history::{HistoryEntry, LayerOrigin, chain, map_history, map_lines};
pub(crate) use model::{Form, Instruction, Keyword};
#[cfg(test)]
pub(crate) use model::{Heredoc, Span};
pub use parse::MAX_DOCKERFILE_BYTES;
#[cfg(test)]
pub(crate) use parse::Stage;
pub(crate) use parse::{Dockerfile, parse};

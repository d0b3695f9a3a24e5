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
//! Crate-internal until `fix` lands: nothing here is part of the public API.

// The `fix` command (#39's next step) is the first caller; until it lands only the tests use
// this module, and the dead-code lint would flag every item of a finished, tested model.
#![cfg_attr(not(test), allow(dead_code, unused_imports))]

mod error;
mod history;
mod instruction;
mod model;
mod parse;
#[cfg(test)]
mod tests;

pub(crate) use error::{DockerfileError, UnmatchedInstruction, UnmatchedLayer};
pub(crate) use history::{HistoryEntry, LayerOrigin, Mapping, map_history};
pub(crate) use model::{Form, Heredoc, Instruction, Keyword, Span};
pub(crate) use parse::{Dockerfile, MAX_DOCKERFILE_BYTES, Stage, parse};

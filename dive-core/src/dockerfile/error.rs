//! Why a Dockerfile could not be read or does not belong to the image, naming the place.

use std::fmt;

/// A Dockerfile that cannot be read, or that the image was not built from. Every variant
/// names the file; a place in it is a 1-based line and a byte offset.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DockerfileError {
    /// Larger than [`super::MAX_DOCKERFILE_BYTES`]: refused before parsing.
    #[error("{file}: {size} bytes; a Dockerfile may have at most {limit}")]
    TooLarge {
        /// The file as the user named it.
        file: String,
        /// Its size in bytes.
        size: usize,
        /// The cap.
        limit: usize,
    },
    /// Not UTF-8 text (BuildKit reads Dockerfiles as UTF-8 too).
    #[error("{file}: line {line} @{offset}: not UTF-8 text")]
    NotUtf8 {
        /// The file.
        file: String,
        /// The line of the first invalid byte, 1-based.
        line: usize,
        /// Its byte offset.
        offset: usize,
    },
    /// Not a Dockerfile BuildKit would read: the parser's message.
    #[error("{file}: line {line} @{offset}: {message}")]
    Syntax {
        /// The file.
        file: String,
        /// The line, 1-based.
        line: usize,
        /// The byte offset where the parser stopped.
        offset: usize,
        /// What the parser expected.
        message: String,
    },
    /// `--stage NAME` names no stage of the file.
    #[error("{file}: no stage is named {name}")]
    UnknownStage {
        /// The file.
        file: String,
        /// The name asked for (escaped: it may come from an image).
        name: String,
    },
    /// The image's history does not come from this Dockerfile (or from this version of it).
    #[error("{file}: the image was not built from this Dockerfile: {}", Listing(.layers, .instructions))]
    Mismatch {
        /// The file.
        file: String,
        /// Layers whose history line matched no instruction.
        layers: Vec<UnmatchedLayer>,
        /// Instructions that write a layer but found no history line.
        instructions: Vec<UnmatchedInstruction>,
    },
}

/// A layer whose history line matched no instruction of the Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnmatchedLayer {
    /// The layer's index (0 = the bottom layer), counting only history entries with a layer.
    pub layer: usize,
    /// Its `created_by`, escaped for people (it is text from the image).
    pub created_by: String,
}

/// An instruction that writes a layer and found no history line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnmatchedInstruction {
    /// Its first line, 1-based.
    pub line: usize,
    /// Its keyword.
    pub keyword: &'static str,
}

/// Both lists of a mismatch in one sentence, shortest first.
struct Listing<'a>(&'a [UnmatchedLayer], &'a [UnmatchedInstruction]);

impl fmt::Display for Listing<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        for layer in self.0 {
            write!(
                f,
                "{sep}layer {} ({}) found no line",
                layer.layer, layer.created_by
            )?;
            sep = "; ";
        }
        for instruction in self.1 {
            write!(
                f,
                "{sep}line {} ({}) found no layer",
                instruction.line, instruction.keyword
            )?;
            sep = "; ";
        }
        Ok(())
    }
}

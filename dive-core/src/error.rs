//! Errors and warnings, each naming the place in the input it concerns.

use std::fmt;

use serde::Serialize;

use crate::escape::escape;

/// Where in an image something happened: input, layer, byte offset, entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Location {
    /// The input as the user named it (a path, or `-` for stdin).
    pub input: String,
    /// The layer, as `layer N (digest)` or the blob's path inside the input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
    /// Byte offset inside the (uncompressed) layer tar or the outer archive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// Path of the tar entry, displayed lossily.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
}

impl Location {
    /// A location naming only the input.
    pub fn input(input: impl Into<String>) -> Self {
        Self {
            input: input.into(),
            ..Self::default()
        }
    }

    /// The same location inside the named layer.
    #[must_use]
    pub fn layer(mut self, layer: impl Into<String>) -> Self {
        self.layer = Some(layer.into());
        self
    }

    /// The same location at a byte offset.
    #[must_use]
    pub fn offset(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }

    /// The same location at a tar entry.
    #[must_use]
    pub fn entry(mut self, path: &[u8]) -> Self {
        self.entry = Some(String::from_utf8_lossy(path).into_owned());
        self
    }
}

/// For people: every part that an image names is escaped ([`escape`]).
impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&escape(&self.input))?;
        if let Some(layer) = &self.layer {
            write!(f, ": {}", escape(layer))?;
        }
        if let Some(offset) = self.offset {
            write!(f, " @{offset}")?;
        }
        if let Some(entry) = &self.entry {
            write!(f, ": {}", escape(entry))?;
        }
        Ok(())
    }
}

/// Why an image could not be analysed. Displayed for people, with names from the image
/// escaped ([`escape`]); the fields keep them exact.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading the input failed.
    #[error("{location}: {err}")]
    Io {
        /// Where.
        location: Location,
        /// The operating system's error.
        err: std::io::Error,
    },
    /// The input is not a container image, or a required part is malformed.
    #[error("{location}: {}", escape(message))]
    Format {
        /// Where.
        location: Location,
        /// What is wrong, in words.
        message: String,
    },
    /// The input holds several images or platforms and the choice is missing or matches none.
    #[error("{}: {}", escape(input), escape(message))]
    Selection {
        /// The input.
        input: String,
        /// What is there to choose from.
        message: String,
    },
    /// The source specification itself is unusable (bad prefix, missing path).
    #[error("{}: {}", escape(spec), escape(message))]
    Source {
        /// The specification as given.
        spec: String,
        /// What is wrong.
        message: String,
    },
    /// A registry or container engine could not deliver the image.
    #[error("{}: {}", escape(input), escape(message))]
    Remote {
        /// The source as given.
        input: String,
        /// What went wrong, in words.
        message: String,
    },
    /// A configuration file (families) is malformed.
    #[error("{}: {}", escape(origin), escape(message))]
    Config {
        /// The file as named.
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// An observer asked to stop.
    #[error("{}: analysis stopped", escape(input))]
    Cancelled {
        /// The input.
        input: String,
    },
}

impl Error {
    pub(crate) fn format(location: Location, message: impl Into<String>) -> Self {
        Self::Format {
            location,
            message: message.into(),
        }
    }

    pub(crate) fn io(location: Location, err: std::io::Error) -> Self {
        Self::Io { location, err }
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Something odd that did not stop the analysis; the figures around it may be incomplete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// Where.
    pub location: Location,
    /// What, in words.
    pub message: String,
}

impl Warning {
    pub(crate) fn new(location: Location, message: impl Into<String>) -> Self {
        Self {
            location,
            message: message.into(),
        }
    }
}

/// For people: names from the image are escaped ([`escape`]); the fields keep them exact.
impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, escape(&self.message))
    }
}

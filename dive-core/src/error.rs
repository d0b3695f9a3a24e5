//! Errors and warnings, each naming the place in the input it concerns.

use std::fmt;

use serde::Serialize;

use crate::digest::short_digest;
use crate::escape::escape;

/// Where in an image something happened: input, layer, byte offset, entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Location {
    /// The input as the user named it (a path, or `-` for stdin).
    pub input: String,
    /// The layer, by its place in the manifest and its digest (boxed: errors stay small).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<Box<LayerRef>>,
    /// Byte offset inside the (uncompressed) layer tar or the outer archive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// Path of the tar entry, displayed lossily.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
}

/// A layer a location names: its index in the manifest, with the digest (or, when the
/// digest is unknown, the blob's path inside the input) once the image's layers are known.
///
/// Displayed and serialised as `layer N (sha256:0123456789ab…)`, the form warnings in
/// `--json` and saved scans have always had.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LayerRef {
    /// Position in the manifest, from 0 (the base).
    pub index: usize,
    /// The blob's digest, when the manifest gives one.
    pub digest: Option<String>,
    /// The blob's path inside the input; empty while only the index is known.
    pub blob: String,
}

impl LayerRef {
    /// A layer known only by its index (the merge knows no more).
    pub fn index(index: usize) -> Self {
        Self {
            index,
            ..Self::default()
        }
    }

    /// A layer with its digest and blob.
    pub fn new(index: usize, digest: Option<&str>, blob: &str) -> Self {
        Self {
            index,
            digest: digest.map(str::to_owned),
            blob: blob.to_owned(),
        }
    }
}

/// The text form, not escaped (a blob path comes from the image): [`Location`]'s display
/// escapes it.
impl fmt::Display for LayerRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "layer {}", self.index)?;
        match (&self.digest, self.blob.is_empty()) {
            (Some(digest), _) => write!(f, " ({})", short_digest(digest)),
            (None, false) => write!(f, " ({})", self.blob),
            (None, true) => Ok(()),
        }
    }
}

impl Serialize for LayerRef {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl Location {
    /// A location naming only the input.
    pub fn input(input: impl Into<String>) -> Self {
        Self {
            input: input.into(),
            ..Self::default()
        }
    }

    /// The same location inside a layer.
    #[must_use]
    pub fn layer(mut self, layer: LayerRef) -> Self {
        self.layer = Some(Box::new(layer));
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
            write!(f, ": {}", escape(&layer.to_string()))?;
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
    #[error("{location}: {}", escape(message))]
    Selection {
        /// Where: the input, or the file, as named.
        location: Location,
        /// What is there to choose from.
        message: String,
    },
    /// The source specification itself is unusable (bad prefix, missing path).
    #[error("{location}: {}", escape(message))]
    Source {
        /// Where: the input, or the file, as named.
        location: Location,
        /// What is wrong.
        message: String,
    },
    /// A registry or container engine could not deliver the image.
    #[error("{location}: {}", escape(message))]
    Remote {
        /// Where: the input, or the file, as named.
        location: Location,
        /// What went wrong, in words.
        message: String,
    },
    /// A configuration file (families) is malformed.
    #[error("{location}: {}", escape(message))]
    Config {
        /// Where: the input, or the file, as named.
        location: Location,
        /// What is wrong.
        message: String,
    },
    /// An observer asked to stop.
    #[error("{location}: analysis stopped")]
    Cancelled {
        /// Where: the input.
        location: Location,
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

    /// Where the error happened (at least the input or file it concerns).
    pub fn location(&self) -> &Location {
        match self {
            Self::Io { location, .. }
            | Self::Format { location, .. }
            | Self::Selection { location, .. }
            | Self::Source { location, .. }
            | Self::Remote { location, .. }
            | Self::Config { location, .. }
            | Self::Cancelled { location } => location,
        }
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
    /// A warning at `location`.
    pub fn new(location: Location, message: impl Into<String>) -> Self {
        Self {
            location,
            message: message.into(),
        }
    }
}

/// Warnings about single entries, as a stage meets them: the first [`EntryWarnings::KEPT`]
/// are kept, the rest counted, so that an image giving one per entry (millions) costs a
/// count; [`EntryWarnings::finish`] says how many more there were.
#[derive(Debug, Default)]
pub(crate) struct EntryWarnings {
    kept: Vec<Warning>,
    unkept: u64,
}

impl EntryWarnings {
    /// Warnings kept per stage and layer.
    pub(crate) const KEPT: usize = 100;

    pub(crate) fn push(&mut self, warning: Warning) {
        if self.kept.len() < Self::KEPT {
            self.kept.push(warning);
        } else {
            self.unkept += 1;
        }
    }

    /// The warnings kept, and one at `location` counting the rest when there were more.
    pub(crate) fn finish(mut self, location: Location) -> Vec<Warning> {
        if self.unkept > 0 {
            let message = format!(
                "{} more warnings about entries were counted, not kept (the first {} are \
                 listed)",
                self.unkept,
                Self::KEPT
            );
            self.kept.push(Warning::new(location, message));
        }
        self.kept
    }
}

/// For people: names from the image are escaped ([`escape`]); the fields keep them exact.
impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, escape(&self.message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_layer_reads_as_it_always_has() {
        let digest = format!("sha256:{}", "ab".repeat(32));
        let cases = [
            (
                LayerRef::new(3, Some(&digest), "blobs/x"),
                "layer 3 (sha256:abababababab…)",
            ),
            (
                LayerRef::new(0, None, "abc/layer.tar"),
                "layer 0 (abc/layer.tar)",
            ),
            (LayerRef::index(12), "layer 12"),
        ];
        for (layer, text) in cases {
            assert_eq!(layer.to_string(), text);
            assert_eq!(
                serde_json::to_string(&layer).unwrap(),
                serde_json::to_string(text).unwrap()
            );
        }
    }

    #[test]
    fn every_error_names_its_input() {
        let errors = [
            Error::format(Location::input("a.tar"), "bad"),
            Error::Config {
                location: Location::input("rules.yml"),
                message: "bad".into(),
            },
            Error::Cancelled {
                location: Location::input("-"),
            },
        ];
        for (error, input) in errors.iter().zip(["a.tar", "rules.yml", "-"]) {
            assert_eq!(error.location().input, input);
            assert!(error.to_string().starts_with(input), "{error}");
        }
    }
}

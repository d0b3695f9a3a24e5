//! What names an image: a path, a stream, a registry reference or a container engine's
//! image ([`Source`]), as a user spells it.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::daemon::Engine;
#[cfg(feature = "registry")]
use super::registry_options::{self, RegistryOptions};
use crate::error::{Error, Location, Result};

/// Told how far a read has come toward a file's bytes (bytes passed, of how many; of 0
/// when the total is unknown); answering `false` stops it with [`Error::Cancelled`].
pub type Watch = std::sync::Arc<dyn Fn(u64, u64) -> bool + Send + Sync>;

/// Prefixes accepted as skopeo and syft spell them.
const PREFIXES: [&str; 4] = ["docker-archive:", "oci-archive:", "oci:", "dir:"];

/// An image input: a `docker save` tar, an OCI layout (directory or tar), a stream, a
/// registry or a container engine.
#[non_exhaustive]
pub enum Source {
    /// A file or directory on disk; `reference` picks an image, as in `oci:DIR:REF`.
    Path {
        /// The file or directory.
        path: PathBuf,
        /// An image name or digest given in the source string itself.
        reference: Option<String>,
    },
    /// A tar stream of any supported form, read once from start to end.
    Reader {
        /// How to name the input in messages (`-` for stdin).
        name: String,
        /// The stream.
        reader: Box<dyn Read + Send>,
    },
    /// An image in a registry (`registry:REF`), read over the OCI distribution API. The
    /// analysis runs its own network threads and blocks on them: from async code, call it
    /// on a blocking thread (e.g. tokio's `spawn_blocking`).
    #[cfg(feature = "registry")]
    Registry {
        /// `host/repository:tag` or `…@sha256:…`.
        reference: String,
        /// How to reach the registry.
        options: RegistryOptions,
    },
    /// An image in a container engine's store (`docker:REF`, `podman:REF`), streamed from
    /// the engine's `save` command.
    Engine {
        /// Which engine.
        engine: Engine,
        /// The image as the engine names it.
        reference: String,
    },
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Path { path, reference } => f
                .debug_struct("Path")
                .field("path", path)
                .field("reference", reference)
                .finish(),
            Source::Reader { name, .. } => f
                .debug_struct("Reader")
                .field("name", name)
                .finish_non_exhaustive(),
            #[cfg(feature = "registry")]
            Source::Registry { reference, options } => f
                .debug_struct("Registry")
                .field("reference", reference)
                .field("options", options)
                .finish(),
            Source::Engine { engine, reference } => f
                .debug_struct("Engine")
                .field("engine", engine)
                .field("reference", reference)
                .finish(),
        }
    }
}

impl Source {
    /// Parses what a user typed: `-` (stdin), a path, `docker-archive:`/`oci-archive:`/`oci:`
    /// forms, `registry:REF`, `docker:REF`, `podman:REF`, or a bare `host/repo:tag` that
    /// names no file.
    pub fn parse(spec: &str) -> Result<Source> {
        if spec == "-" {
            return Ok(Source::stdin());
        }
        for engine in [Engine::Docker, Engine::Podman] {
            if let Some(reference) = spec
                .strip_prefix(engine.program())
                .and_then(|r| r.strip_prefix(':'))
            {
                return Ok(Source::Engine {
                    engine,
                    reference: reference.to_owned(),
                });
            }
        }
        if let Some(reference) = spec.strip_prefix("registry:") {
            return Source::registry(spec, reference);
        }
        let rest = PREFIXES.iter().find_map(|p| spec.strip_prefix(p));
        let Some(rest) = rest else {
            return if Path::new(spec).exists() {
                Ok(Source::path(spec))
            } else if registry_reference(spec) {
                Source::registry(spec, spec)
            } else {
                Err(Error::Source {
                    location: Location::input(spec),
                    message: "no such file or directory".to_owned(),
                })
            };
        };
        if Path::new(rest).exists() {
            return Ok(Source::path(rest));
        }
        // `oci:DIR:REF`, `docker-archive:PATH:REF`; REF may hold colons (`app:1.0`), so the
        // longest prefix that exists is the path.
        for (at, _) in rest.rmatch_indices(':') {
            let (path, reference) = (&rest[..at], &rest[at + 1..]);
            if Path::new(path).exists() && !reference.is_empty() {
                return Ok(Source::Path {
                    path: path.into(),
                    reference: Some(reference.to_owned()),
                });
            }
        }
        Err(Error::Source {
            location: Location::input(spec),
            message: "no such file or directory".to_owned(),
        })
    }

    /// A file or directory.
    pub fn path(path: impl Into<PathBuf>) -> Source {
        Source::Path {
            path: path.into(),
            reference: None,
        }
    }

    /// Standard input, named `-` in messages.
    pub fn stdin() -> Source {
        Source::Reader {
            name: "-".to_owned(),
            reader: Box::new(std::io::stdin()),
        }
    }

    /// Any stream, named as given in messages.
    pub fn reader(name: impl Into<String>, reader: impl Read + Send + 'static) -> Source {
        Source::Reader {
            name: name.into(),
            reader: Box::new(reader),
        }
    }

    #[cfg(feature = "registry")]
    #[allow(
        clippy::unnecessary_wraps,
        reason = "the same signature as without the feature, which fails"
    )]
    fn registry(_spec: &str, reference: &str) -> Result<Source> {
        Ok(Source::Registry {
            reference: reference.to_owned(),
            options: RegistryOptions::default(),
        })
    }

    #[cfg(not(feature = "registry"))]
    fn registry(spec: &str, _reference: &str) -> Result<Source> {
        Err(Error::Source {
            location: Location::input(spec),
            message: "this build reads no registries (dive-core's `registry` feature is off)"
                .to_owned(),
        })
    }

    /// Sets how a registry source reaches its registry; other sources are unchanged.
    #[cfg(feature = "registry")]
    #[must_use]
    pub fn with_registry_options(self, options: RegistryOptions) -> Source {
        match self {
            Source::Registry { reference, .. } => Source::Registry { reference, options },
            other => other,
        }
    }

    /// The input's name for messages.
    pub fn name(&self) -> String {
        match self {
            Source::Path { path, .. } => path.display().to_string(),
            Source::Reader { name, .. } => name.clone(),
            #[cfg(feature = "registry")]
            Source::Registry { reference, .. } => format!("registry:{reference}"),
            Source::Engine { engine, reference } => format!("{engine}:{reference}"),
        }
    }
}

/// Whether a bare argument that names no file reads as a registry reference.
#[cfg(feature = "registry")]
fn registry_reference(spec: &str) -> bool {
    registry_options::looks_like_reference(spec)
}

#[cfg(not(feature = "registry"))]
fn registry_reference(_spec: &str) -> bool {
    false
}

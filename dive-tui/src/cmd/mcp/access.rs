//! Which images an agent may open: local paths below the root (symlinks resolved before the
//! check), never stdin (it carries the protocol), registries only with `--allow-network`,
//! container engines only with `--allow-engine`.

use std::path::{Path, PathBuf};

use dive_core::Source;

/// What the person who started the server allowed.
#[derive(Debug, Clone)]
pub(super) struct Access {
    /// Local images must lie below this (canonical) directory.
    pub root: PathBuf,
    /// Registries may be read.
    pub network: bool,
    /// `docker:` and `podman:` may be read.
    pub engine: bool,
}

impl Access {
    /// The source `spec` names, when this server may read it; else why not.
    pub(super) fn source(&self, spec: &str) -> Result<Source, String> {
        if spec == "-" {
            return Err("stdin carries the protocol; name an image file or directory".into());
        }
        // Relative paths are the root's.
        let source = Source::parse(spec).map_err(|err| err.to_string())?;
        match &source {
            // The path as resolved is the one read: a link changed after the check leads
            // nowhere new.
            Source::Path { path, reference } => {
                let real = self.below_root(path)?;
                return Ok(Source::Path {
                    path: real,
                    reference: reference.clone(),
                });
            }
            Source::Engine { .. } if !self.engine => {
                return Err("reading a container engine's store needs --allow-engine".into());
            }
            Source::Registry { .. } if !self.network => {
                return Err("reading a registry needs --allow-network".into());
            }
            Source::Reader { .. } => return Err("streams cannot be opened here".into()),
            _ => {}
        }
        Ok(source)
    }

    /// The path with its links resolved, when it lies below the root.
    pub(super) fn below_root(&self, path: &Path) -> Result<PathBuf, String> {
        let real = path
            .canonicalize()
            .map_err(|err| format!("cannot resolve the path: {err}"))?;
        if real.starts_with(&self.root) {
            Ok(real)
        } else {
            Err(format!(
                "the image lies outside the server's root {} (--root)",
                self.root.display()
            ))
        }
    }
}

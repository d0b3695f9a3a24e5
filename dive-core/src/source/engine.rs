//! An image in a container engine's store: `docker save` / `podman save` run as a child
//! process, its stdout streamed into the analysis like stdin (no temporary file).

use std::fmt;
use std::io::{self, Read};
use std::process::{Command, Stdio};

use super::stream::StreamStore;
use crate::error::{Error, Location, Result};
use crate::layer::{LayerIndex, WalkOptions};

/// Bytes of the engine's stderr kept for the error message.
const STDERR_KEPT: usize = 4096;

/// A container engine whose `save` command writes a `docker save` archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Engine {
    /// `docker save`.
    Docker,
    /// `podman save`.
    Podman,
}

impl Engine {
    /// The program run, looked up on `PATH`.
    pub fn program(self) -> &'static str {
        match self {
            Engine::Docker => "docker",
            Engine::Podman => "podman",
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.program())
    }
}

/// Runs `ENGINE save REFERENCE` and scans its output as it is written.
pub(crate) fn scan(
    input: &str,
    engine: Engine,
    reference: &str,
    options: &WalkOptions,
    on_layer: &mut dyn FnMut(&str, &LayerIndex) -> bool,
) -> Result<StreamStore> {
    let failed = |message: String| Error::Remote {
        location: Location::input(input),
        message,
    };
    let program = engine.program();
    let mut command = Command::new(program);
    command.arg("save");
    if engine == Engine::Podman {
        // podman's default is the docker-archive form too; say so, as its default may change.
        command.args(["--format", "docker-archive"]);
    }
    let mut child = command
        .arg(reference)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            failed(if e.kind() == io::ErrorKind::NotFound {
                format!(
                    "`{program}` is not installed or not on PATH; save the image with another \
                     tool and give the file, or read it from a registry with registry:REF"
                )
            } else {
                format!("cannot run `{program} save`: {e}")
            })
        })?;
    let (Some(stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take()) else {
        let _ = child.kill();
        return Err(failed(format!("`{program} save` gave no output pipes")));
    };
    // stderr is drained beside stdout so that a chatty engine never blocks on a full pipe.
    let errors = std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut buf = [0u8; 8192];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 {
                break;
            }
            kept.extend_from_slice(&buf[..n]);
            if kept.len() > 2 * STDERR_KEPT {
                kept.drain(..kept.len() - STDERR_KEPT);
            }
        }
        kept
    });
    let scanned = StreamStore::scan(input, stdout, options, on_layer);
    // A scan that gave up (cancelled, unreadable pipe) leaves the engine writing: stop it,
    // and report the scan's own error rather than the kill.
    let killed = scanned.is_err() && matches!(child.try_wait(), Ok(None)) && child.kill().is_ok();
    let status = child.wait();
    if killed {
        return scanned;
    }
    let stderr = errors.join().unwrap_or_default();
    let stderr = String::from_utf8_lossy(&stderr[stderr.len().saturating_sub(STDERR_KEPT)..])
        .trim()
        .to_owned();
    match status {
        Ok(status) if status.success() => scanned,
        Ok(status) => Err(failed(format!(
            "`{program} save {reference}` failed ({status}){}",
            if stderr.is_empty() {
                String::new()
            } else {
                format!(": {stderr}")
            }
        ))),
        Err(e) => Err(failed(format!("cannot wait for `{program} save`: {e}"))),
    }
}

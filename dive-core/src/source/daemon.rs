//! An image in a container engine's store: `docker save` / `podman save` run as a child
//! process, its stdout streamed into the analysis like stdin (no temporary file).

use std::fmt;
use std::io::{self, Read};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::thread::JoinHandle;

use super::stream::StreamStore;
use crate::error::{Error, Location, Result};
use crate::layer::{LayerIndex, Strategy, WalkOptions};

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
    on_layer: &mut dyn FnMut(&str, &LayerIndex, Strategy) -> bool,
) -> Result<StreamStore> {
    let mut save = Save::spawn(input, engine, reference)?;
    let scanned = StreamStore::scan(input, &mut save, options, on_layer);
    // A scan that gave up (cancelled, unreadable pipe) leaves the engine writing: dropping
    // the save stops it, and the scan's own error is reported rather than the kill.
    if scanned.is_err() && save.running() {
        return scanned;
    }
    save.finish()?;
    scanned
}

/// A running `ENGINE save REFERENCE`: its archive is read from stdout; when stdout ends, a
/// failed save is a read error in the engine's own words (so a reader that stops at a
/// member never mistakes a dead engine for a short archive). Dropped early, it is killed.
pub(crate) struct Save {
    child: Child,
    stdout: ChildStdout,
    stderr: Option<JoinHandle<Vec<u8>>>,
    input: String,
    command: String,
    exit: Exit,
}

/// How the engine's save ended, once waited for.
enum Exit {
    Running,
    Succeeded,
    Failed(String),
}

impl Save {
    /// Starts the engine's save.
    pub(crate) fn spawn(input: &str, engine: Engine, reference: &str) -> Result<Save> {
        let program = engine.program();
        let failed = |message: String| Error::Remote {
            location: Location::input(input),
            message,
        };
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
            let _ = child.wait();
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
        Ok(Save {
            child,
            stdout,
            stderr: Some(errors),
            input: input.to_owned(),
            command: format!("{program} save {reference}"),
            exit: Exit::Running,
        })
    }

    /// Whether the engine is still writing.
    pub(crate) fn running(&mut self) -> bool {
        matches!(self.exit, Exit::Running) && matches!(self.child.try_wait(), Ok(None))
    }

    /// Reads what is left of the archive (end padding) and waits for the engine; its
    /// failure, with its stderr, as an error.
    pub(crate) fn finish(mut self) -> Result<()> {
        let _ = io::copy(&mut self.stdout, &mut io::sink());
        match self.wait() {
            None => Ok(()),
            Some(message) => Err(Error::Remote {
                location: Location::input(&self.input),
                message,
            }),
        }
    }

    /// Waits for the engine once; what went wrong, if anything.
    fn wait(&mut self) -> Option<String> {
        match &self.exit {
            Exit::Running => {}
            Exit::Succeeded => return None,
            Exit::Failed(message) => return Some(message.clone()),
        }
        let status = self.child.wait();
        let stderr = self
            .stderr
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default();
        let stderr = String::from_utf8_lossy(&stderr[stderr.len().saturating_sub(STDERR_KEPT)..])
            .trim()
            .to_owned();
        let command = &self.command;
        let failure = match status {
            Ok(status) if status.success() => None,
            Ok(status) => Some(format!(
                "`{command}` failed ({status}){}",
                if stderr.is_empty() {
                    String::new()
                } else {
                    format!(": {stderr}")
                }
            )),
            Err(e) => Some(format!("cannot wait for `{command}`: {e}")),
        };
        self.exit = match &failure {
            None => Exit::Succeeded,
            Some(message) => Exit::Failed(message.clone()),
        };
        failure
    }
}

impl Read for Save {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.stdout.read(buf)?;
        if n == 0
            && !buf.is_empty()
            && let Some(message) = self.wait()
        {
            return Err(io::Error::other(message));
        }
        Ok(n)
    }
}

impl Drop for Save {
    fn drop(&mut self) {
        if matches!(self.exit, Exit::Running) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

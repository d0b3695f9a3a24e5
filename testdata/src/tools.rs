//! The one rule for tests that run an outside program as a second opinion (skopeo, umoci,
//! tmux, readelf, dive …): under `CI=true` a missing tool fails the test; anywhere else the
//! test skips that check, says so on stderr and records it, and `scripts/test` lists every
//! skipped check after the run. `scripts/test --install` installs them all.
//!
//! libtest has no runtime skip, and it captures `eprintln!` of a passing test: the notice is
//! written to the stderr handle itself so that a plain `cargo test` shows it too.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The file `scripts/test` names in this variable collects one line per skipped check.
pub const SKIP_LOG_VAR: &str = "DIVE_RS_SKIPPED";

/// Something outside the workspace that a test needs.
#[derive(Debug, Clone, Copy)]
pub enum Tool {
    /// An executable found on `PATH` (or at this path, when it holds a `/`).
    Program(&'static str),
    /// A module that this Python interpreter imports.
    PythonModule {
        /// The interpreter, e.g. `/usr/bin/python3` for Debian's packages.
        python: &'static str,
        /// The module name.
        module: &'static str,
    },
    /// A file named by an environment variable (a pinned binary the set-up downloads).
    FileIn(&'static str),
    /// A rustup toolchain (e.g. `nightly`, for rustdoc JSON).
    Toolchain(&'static str),
}

impl Tool {
    fn present(self) -> bool {
        match self {
            Tool::Program(name) => find_program(name).is_some(),
            Tool::PythonModule { python, module } => Command::new(python)
                .args(["-c", &format!("import {module}")])
                .output()
                .is_ok_and(|o| o.status.success()),
            Tool::FileIn(var) => std::env::var_os(var).is_some_and(|p| Path::new(&p).is_file()),
            Tool::Toolchain(name) => Command::new("rustup")
                .args(["run", name, "rustdoc", "--version"])
                .output()
                .is_ok_and(|o| o.status.success()),
        }
    }

    fn describe(self) -> String {
        match self {
            Tool::Program(name) => name.to_owned(),
            Tool::PythonModule { python, module } => format!("{python} -c 'import {module}'"),
            Tool::FileIn(var) => format!("${var}"),
            Tool::Toolchain(name) => format!("rustup toolchain {name}"),
        }
    }
}

/// The executable `name` resolves to on `PATH`, if any.
fn find_program(name: &str) -> Option<PathBuf> {
    let executable = |path: &Path| {
        use std::os::unix::fs::PermissionsExt;
        path.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if name.contains('/') {
        return Some(PathBuf::from(name)).filter(|p| executable(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| executable(candidate))
}

/// Whether the running test may use every one of `tools`. When one is missing it panics
/// under `CI=true`; elsewhere it reports the skipped check (named after the running test)
/// and returns `false`, and the caller returns without checking.
pub fn available(tools: &[Tool]) -> bool {
    let missing: Vec<String> = tools
        .iter()
        .filter(|tool| !tool.present())
        .map(|tool| tool.describe())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let missing = missing.join(", ");
    let check = running_test();
    assert!(
        !in_ci(),
        "{check}: CI=true requires {missing} (scripts/test installs it under CI=true)"
    );
    let line = format!("{check}\tmissing {missing}\n");
    // Uncaptured on purpose (see the module doc); a failed notice must not fail the test.
    let _ = std::io::stderr().write_all(format!("skipped: {line}").as_bytes());
    if let Some(log) = std::env::var_os(SKIP_LOG_VAR) {
        // One short O_APPEND write per line, so parallel tests do not interleave.
        let _ = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .and_then(|mut file| file.write_all(line.as_bytes()));
    }
    false
}

/// Whether this is a CI run (`CI=true`, as CI services and `.ci/run` set it).
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// The running test's name: libtest names each test's thread after it.
fn running_test() -> String {
    let binary = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .map(|stem| match stem.rsplit_once('-') {
            Some((name, hash)) if hash.chars().all(|c| c.is_ascii_hexdigit()) => name.to_owned(),
            _ => stem,
        })
        .unwrap_or_default();
    let test = std::thread::current()
        .name()
        .filter(|name| *name != "main")
        .unwrap_or("?")
        .to_owned();
    format!("{binary}::{test}")
}

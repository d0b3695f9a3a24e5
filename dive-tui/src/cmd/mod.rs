//! The `dive-rs` command line as a library function: parse the arguments, run the command,
//! return the exit status. The `dive-rs` binary is a few lines around [`run`]; another front
//! end (a Python package) runs the same command line without a copy.
//!
//! This file only dispatches; each command family has its room: [`args`] (what clap
//! parses), `inspect` (the view, `--summary`, `--json`), `report` (report and diff), `ci`
//! (the gate), `files` (cat and extract), `docs` (completions and the manual page); `input`
//! turns the image arguments into sources and analyses, [`progress`] draws the bars.

pub mod args;
mod ci;
mod docs;
mod files;
mod fix;
mod input;
mod inspect;
mod json;
mod mcp;
pub mod progress;
mod report;

use std::ffi::OsString;
use std::io::{self, Write};

use clap::Parser;
use dive_core::escape::escape;
use dive_core::report::gate::EXIT_UNREADABLE;

use args::{Cli, Command};

/// Runs `dive-rs` with these arguments (the first is the program's name, as in
/// `std::env::args_os`) and returns its exit status: 0 done (for `ci`: no rule failed),
/// [`EXIT_GATE_FAILED`](dive_core::report::gate::EXIT_GATE_FAILED), or
/// [`EXIT_UNREADABLE`]. Errors are printed on stderr.
pub fn run<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() { EXIT_UNREADABLE } else { 0 };
        }
    };
    match command(&cli) {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => 0,
        Err(err) => {
            // Library errors escape what the image names; this also covers the contexts
            // added here (escaping twice changes nothing).
            eprintln!("dive-rs: error: {}", escape(&format!("{err:#}")));
            EXIT_UNREADABLE
        }
    }
}

/// Runs the command; the exit status on success is 0, or 1 for a failed gate.
fn command(cli: &Cli) -> anyhow::Result<u8> {
    match &cli.command {
        Some(Command::Report(args)) => report::report(args).map(|()| 0),
        Some(Command::Ci(args)) => ci::ci(args),
        Some(Command::Diff(args)) => report::diff(args).map(|()| 0),
        Some(Command::Fix(args)) => fix::fix(args).map(|()| 0),
        Some(Command::Sbom(args)) => report::sbom(args).map(|()| 0),
        Some(Command::Mcp(args)) => mcp::mcp(args).map(|()| 0),
        Some(Command::Cat(args)) => files::cat_command(args).map(|()| 0),
        Some(Command::Extract(args)) => files::extract_command(args).map(|()| 0),
        Some(Command::Completions(args)) => {
            let mut out = io::stdout().lock();
            docs::completions(args, &mut out)?;
            out.flush()?;
            Ok(0)
        }
        Some(Command::Man) => {
            let mut out = io::stdout().lock();
            docs::man(&mut out)?;
            out.flush()?;
            Ok(0)
        }
        None if cli.summary || cli.json => inspect::summary(cli).map(|()| 0),
        // dive runs its gate instead of the UI under CI=true or --ci; so do we.
        None if cli.ci || std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true")) => {
            ci::dive_ci(&cli.input, cli.ci_config.clone())
        }
        None => inspect::interactive(cli).map(|()| 0),
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
            || cause
                .downcast_ref::<serde_json::Error>()
                .is_some_and(|e| e.io_error_kind() == Some(io::ErrorKind::BrokenPipe))
    })
}

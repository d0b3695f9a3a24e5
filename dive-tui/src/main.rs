//! `dive-rs`: see where every byte of a container image comes from.

mod cli;

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use dive_core::report::{self, SummaryOptions};
use dive_core::{AnalyzerBuilder, Source};

use cli::Cli;

/// The image could not be read or the arguments are wrong.
const EXIT_UNREADABLE: u8 = 2;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() {
                ExitCode::from(EXIT_UNREADABLE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("dive-rs: error: {err:#}");
            ExitCode::from(EXIT_UNREADABLE)
        }
    }
}

fn run(cli: &Cli) -> anyhow::Result<()> {
    if cli.image == "-" && io::stdin().is_terminal() {
        anyhow::bail!(
            "stdin is a terminal, not an image; pipe one in: docker save IMAGE | dive-rs -"
        );
    }
    let source = Source::parse(&cli.image)?;
    let mut builder = AnalyzerBuilder::new();
    if let Some(threads) = cli.threads {
        builder = builder.threads(threads);
    }
    if let Some(image) = &cli.select {
        builder = builder.image(image);
    }
    if let Some(platform) = &cli.platform {
        builder = builder.platform(platform);
    }
    let analysis = builder.build().analyze(source, &())?;
    let mut out = io::stdout().lock();
    if cli.json {
        serde_json::to_writer_pretty(&mut out, &report::to_json(&analysis))
            .context("writing JSON")?;
        writeln!(out)?;
    } else {
        let options = SummaryOptions {
            exact_bytes: cli.bytes,
            top: cli.top,
            ..SummaryOptions::default()
        };
        out.write_all(report::summary(&analysis, options).as_bytes())?;
    }
    out.flush()?;
    Ok(())
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

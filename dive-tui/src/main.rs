//! `dive-rs`: see where every byte of a container image comes from.

mod cli;

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use dive_core::attribution::FamilyRules;
use dive_core::report::{self, ReportFormat, SummaryOptions};
use dive_core::{Analysis, AnalyzerBuilder, Source};

use cli::{Cli, Command, InputArgs, ReportArgs, ReportFormatArg};

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
    match &cli.command {
        Some(Command::Report(args)) => report_command(args),
        None if cli.summary || cli.json => summary_command(cli),
        None => interactive(cli),
    }
}

/// Opens the interactive view; the analysis runs on a worker thread behind it.
fn interactive(cli: &Cli) -> anyhow::Result<()> {
    // Refuse before reading anything.
    dive_tui::terminal::require_terminal()?;
    let name = cli.input.image.clone().unwrap_or_default();
    let (source, builder) = prepare(&cli.input)?;
    let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let save = cli.input.save.clone();
    dive_tui::terminal::run(&name, color, move |observer| {
        let analysis = builder.build().analyze(source, observer)?;
        if let Some(path) = &save {
            dive_core::scan::save(&analysis, path)?;
        }
        Ok(analysis)
    })
}

fn analyze(input: &InputArgs) -> anyhow::Result<Analysis> {
    let (source, builder) = prepare(input)?;
    let analysis = builder.build().analyze(source, &())?;
    if let Some(path) = &input.save {
        dive_core::scan::save(&analysis, path)?;
    }
    Ok(analysis)
}

/// Checks the input and the options before any reading starts.
fn prepare(input: &InputArgs) -> anyhow::Result<(Source, AnalyzerBuilder)> {
    let image = input.image.as_deref().context("an IMAGE is required")?;
    if image == "-" && io::stdin().is_terminal() {
        anyhow::bail!(
            "stdin is a terminal, not an image; pipe one in: docker save IMAGE | dive-rs -"
        );
    }
    let source = Source::parse(image)?;
    let mut builder = AnalyzerBuilder::new();
    if let Some(threads) = input.threads {
        builder = builder.threads(threads);
    }
    if let Some(select) = &input.select {
        builder = builder.image(select);
    }
    if let Some(platform) = &input.platform {
        builder = builder.platform(platform);
    }
    if let Some(path) = &input.families {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read the families file", path.display()))?;
        builder = builder.families(FamilyRules::from_toml(&path.display().to_string(), &text)?);
    }
    Ok((source, builder))
}

fn summary_command(cli: &Cli) -> anyhow::Result<()> {
    let analysis = analyze(&cli.input)?;
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

fn report_command(args: &ReportArgs) -> anyhow::Result<()> {
    let analysis = analyze(&args.input)?;
    let mut out = io::stdout().lock();
    match args.format {
        ReportFormatArg::Json => {
            let findings = report::findings(&analysis);
            let total: u64 = findings
                .iter()
                .filter(|f| !f.conditional)
                .map(|f| f.saving)
                .sum();
            let document = serde_json::json!({
                "schema_version": report::JSON_SCHEMA_VERSION,
                "reference": analysis.image.reference,
                "shipped_bytes": analysis.image.final_bytes + analysis.image.hidden_bytes,
                "total_saving": total,
                "findings": findings,
            });
            serde_json::to_writer_pretty(&mut out, &document).context("writing JSON")?;
            writeln!(out)?;
        }
        format => {
            let format = if format == ReportFormatArg::Markdown {
                ReportFormat::Markdown
            } else {
                ReportFormat::Text
            };
            out.write_all(report::optimisation_report(&analysis, format, args.bytes).as_bytes())?;
        }
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

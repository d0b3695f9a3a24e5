//! The `dive-rs` command line as a library function: parse the arguments, run the command,
//! return the exit status. The `dive-rs` binary is a few lines around [`run`]; another front
//! end (a Python package) runs the same command line without a copy.

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Parser;
use dive_core::escape::escape;
use dive_core::report::diff::DiffFormat;
use dive_core::report::gate::{self, DiveOverrides, EXIT_UNREADABLE, GateFormat, Rules};
use dive_core::report::{self, ReportFormat, SummaryOptions};

use crate::cmd::args::{
    CiArgs, Cli, Command, DiffArgs, GateFormatArg, InputArgs, ReportArgs, ReportFormatArg,
};
use crate::cmd::input::{BaseChoice, analyze, builder, image, source};
use crate::cmd::progress::Bars;
use crate::tui::view::panes::Views;

/// Runs `dive-rs` with these arguments (the first is the program's name, as in
/// `std::env::args_os`) and returns its exit status: 0 done (for `ci`: no rule failed),
/// [`gate::EXIT_GATE_FAILED`], or [`EXIT_UNREADABLE`]. Errors are printed on stderr.
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
        Some(Command::Report(args)) => report_command(args).map(|()| 0),
        Some(Command::Ci(args)) => ci_command(&args.input, &GateOptions::from(args)),
        Some(Command::Diff(args)) => diff_command(args).map(|()| 0),
        Some(Command::Cat(args)) => crate::cmd::files::cat_command(args).map(|()| 0),
        Some(Command::Extract(args)) => crate::cmd::files::extract_command(args).map(|()| 0),
        Some(Command::Completions(args)) => {
            let mut out = io::stdout().lock();
            crate::cmd::docs::completions(args, &mut out)?;
            out.flush()?;
            Ok(0)
        }
        Some(Command::Man) => {
            let mut out = io::stdout().lock();
            crate::cmd::docs::man(&mut out)?;
            out.flush()?;
            Ok(0)
        }
        None if cli.summary || cli.json => summary_command(cli).map(|()| 0),
        // dive runs its gate instead of the UI under CI=true or --ci; so do we.
        None if cli.ci || std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true")) => {
            let options = GateOptions {
                rules: cli.ci_config.clone(),
                ..GateOptions::default()
            };
            ci_command(&cli.input, &options)
        }
        None => interactive(cli).map(|()| 0),
    }
}

/// What `ci` needs besides the image.
#[derive(Debug, Default)]
struct GateOptions {
    rules: Option<PathBuf>,
    format: Option<GateFormat>,
    json: Option<PathBuf>,
    bytes: bool,
    overrides: DiveOverrides,
}

impl From<&CiArgs> for GateOptions {
    fn from(args: &CiArgs) -> Self {
        Self {
            rules: args.rules.clone(),
            format: Some(match args.format {
                GateFormatArg::Text => GateFormat::Text,
                GateFormatArg::Markdown => GateFormat::Markdown,
                GateFormatArg::Json => GateFormat::Json,
                GateFormatArg::Junit => GateFormat::Junit,
            }),
            json: args.json.clone(),
            bytes: args.bytes,
            overrides: DiveOverrides {
                lowest_efficiency: args.lowest_efficiency.clone(),
                highest_wasted_bytes: args.highest_wasted_bytes.clone(),
                highest_user_wasted_percent: args.highest_user_wasted_percent.clone(),
            },
        }
    }
}

/// The rules file named, else `./.dive-ci` when present (as dive), else dive's defaults.
fn load_rules(options: &GateOptions) -> anyhow::Result<Rules> {
    let default = Path::new(".dive-ci");
    let path = match &options.rules {
        Some(path) => Some(path.as_path()),
        None => default.is_file().then_some(default),
    };
    let Some(path) = path else {
        return Ok(Rules::parse("dive's defaults", "", &options.overrides)?);
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read the rules file", path.display()))?;
    Ok(Rules::parse(
        &path.display().to_string(),
        &text,
        &options.overrides,
    )?)
}

fn ci_command(input: &InputArgs, options: &GateOptions) -> anyhow::Result<u8> {
    // Bad rules are found before the image is read.
    let rules = load_rules(options)?;
    let mut analysis = analyze(input)?;
    if analysis.gpus.is_empty() {
        // The rules file's `cuda-archs` names the GPUs when the command line does not.
        analysis.gpus.clone_from(&rules.cuda_archs);
    }
    if let Some(path) = &options.json {
        let file = std::fs::File::create(path)
            .with_context(|| format!("{}: cannot write the JSON analysis", path.display()))?;
        let mut out = io::BufWriter::new(file);
        write_json(&mut out, &report::to_json(&analysis))
            .and_then(|()| Ok(out.flush()?))
            .with_context(|| format!("{}: writing JSON", path.display()))?;
    }
    let gate = gate::evaluate(&analysis, &rules);
    let format = options.format.unwrap_or(GateFormat::Text);
    let mut out = io::stdout().lock();
    out.write_all(gate::render(&gate, format, options.bytes).as_bytes())?;
    out.flush()?;
    Ok(gate.exit_code())
}

/// Opens the interactive view; the analysis runs on a worker thread behind it.
fn interactive(cli: &Cli) -> anyhow::Result<()> {
    // A missing file or a bad argument is the first thing to say; then refuse a missing
    // terminal before reading anything.
    let name = cli.input.image.clone().unwrap_or_default();
    let (image_source, files, builder) = (
        source(image(&cli.input)?, &cli.input.read)?,
        source(image(&cli.input)?, &cli.input.read)?,
        builder(&cli.input.read)?,
    );
    crate::tui::terminal::require_terminal()?;
    let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let save = cli.input.save.clone();
    let base = BaseChoice::new(&cli.input)?;
    // The viewer reads files from the image again; an input that cannot be read twice says
    // why when a file is opened.
    let files = dive_core::contents::check_rereadable(&files)
        .map(|()| files)
        .map_err(|e| escape(&e.to_string()).into_owned());
    crate::tui::terminal::run(&name, color, move |observer| {
        let analyzer = builder.build();
        // The first screen needs the merge only: the owner packages follow while it shows,
        // unless the scan is saved first, which needs them.
        let (mut analysis, attributing) = analyzer.analyze_in_steps(image_source, observer)?;
        let attributing = if save.is_some() {
            let attributed = attributing.run(&analysis);
            analysis.set_attribution(attributed);
            None
        } else {
            Some(attributing)
        };
        base.apply(&analyzer, &mut analysis)?;
        if let Some(path) = &save {
            dive_core::scan::save(&analysis, path)?;
        }
        let files = files.and_then(|files| {
            analyzer
                .contents(files, &analysis)
                .map(std::sync::Arc::new)
                .map_err(|e| escape(&e.to_string()).into_owned())
        });
        let mut views = Views::new(analysis);
        views.files = files;
        views.attributing = attributing.is_some();
        Ok((views, attributing))
    })
}

/// A JSON document, pretty, with a final newline.
fn write_json(out: &mut impl Write, document: &serde_json::Value) -> anyhow::Result<()> {
    serde_json::to_writer_pretty(&mut *out, document).context("writing JSON")?;
    writeln!(out)?;
    Ok(())
}

fn summary_command(cli: &Cli) -> anyhow::Result<()> {
    let analysis = analyze(&cli.input)?;
    let mut out = io::stdout().lock();
    if cli.json {
        write_json(&mut out, &report::to_json(&analysis))?;
    } else {
        let options = SummaryOptions {
            exact_bytes: cli.bytes,
            top: cli.top,
            ..SummaryOptions::default()
        };
        out.write_all(report::summary(&analysis, options).as_bytes())?;
    }
    out.flush()?;
    // Freeing a million paths one by one would delay the exit: another thread frees them
    // (the process usually ends first; a caller that goes on, as Python's `main`, gets the
    // memory back all the same).
    std::thread::spawn(move || drop(analysis));
    Ok(())
}

fn report_command(args: &ReportArgs) -> anyhow::Result<()> {
    let analysis = analyze(&args.input)?;
    let mut out = io::stdout().lock();
    match args.format {
        ReportFormatArg::Json => write_json(&mut out, &report::report_json(&analysis))?,
        ReportFormatArg::Html => {
            out.write_all(report::html::report_html(&analysis, args.bytes).as_bytes())?;
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

/// Analyses both images at once (each with its own worker threads), then compares them.
fn diff_command(args: &DiffArgs) -> anyhow::Result<()> {
    if args.old == "-" && args.new == "-" {
        anyhow::bail!("only one of OLD and NEW can be read from stdin");
    }
    let (old_source, new_source) = (
        source(&args.old, &args.read)?,
        source(&args.new, &args.read)?,
    );
    let analyzer = builder(&args.read)?.build();
    let bars = Bars::stderr();
    let (old_bar, new_bar) = (bars.bar(&args.old), bars.bar(&args.new));
    let (old, new) = std::thread::scope(|scope| {
        let old = scope.spawn(|| analyzer.analyze(old_source, &old_bar));
        let new = analyzer.analyze(new_source, &new_bar);
        (old.join(), new)
    });
    drop((old_bar, new_bar));
    let old =
        old.map_err(|_| anyhow::anyhow!("the analysis of {} stopped unexpectedly", args.old))??;
    let new = new?;
    let diff = dive_core::report::diff::diff(&old, &new, args.top);
    let format = match args.format {
        ReportFormatArg::Text => DiffFormat::Text,
        ReportFormatArg::Markdown => DiffFormat::Markdown,
        ReportFormatArg::Json => DiffFormat::Json,
        ReportFormatArg::Html => DiffFormat::Html,
    };
    let mut out = io::stdout().lock();
    out.write_all(dive_core::report::diff::render(&diff, format, args.bytes).as_bytes())?;
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

pub mod args;
pub(crate) mod docs;
pub(crate) mod files;
pub(crate) mod input;
pub mod progress;

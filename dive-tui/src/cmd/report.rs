//! `dive-rs report` (one image's optimisation report) and `dive-rs diff` (what changed
//! between two): both write one of dive-core's reports in the format asked.

use std::io::{self, Write};

use dive_core::report::diff::DiffFormat;
use dive_core::report::{self, ReportFormat};

use crate::cmd::args::{DiffArgs, ReportArgs, ReportFormatArg};
use crate::cmd::fix::read_dockerfile;
use crate::cmd::input::{analyze, builder, source};
use crate::cmd::json::write_json;
use crate::cmd::progress::Bars;

/// `dive-rs report`: the size story and each finding with its saving.
pub fn report(args: &ReportArgs) -> anyhow::Result<()> {
    let dockerfile = args
        .dockerfile
        .as_deref()
        .map(|path| read_dockerfile(path).map(|text| (path.display().to_string(), text)))
        .transpose()?;
    let mut analysis = analyze(&args.input)?;
    if let Some((file, text)) = &dockerfile {
        analysis.match_dockerfile(file, text, args.stage.as_deref())?;
    }
    let mut out = io::stdout().lock();
    match args.format {
        ReportFormatArg::Json => write_json(&mut out, &report::report_json(&analysis))?,
        ReportFormatArg::Html => {
            out.write_all(report::report_html(&analysis, args.bytes).as_bytes())?;
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
pub fn diff(args: &DiffArgs) -> anyhow::Result<()> {
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

/// `dive-rs sbom`: the image's bill of materials as JSON on stdout.
pub fn sbom(args: &crate::cmd::args::SbomArgs) -> anyhow::Result<()> {
    use crate::cmd::args::SbomFormat;
    if args.files && args.format == SbomFormat::Spdx {
        anyhow::bail!(
            "--files lists files as CycloneDX evidence; an SPDX 2.3 file needs a SHA-1 of its \
             content, which dive-rs does not compute: use --format cyclonedx --files"
        );
    }
    let analysis = analyze(&args.input)?;
    let document = match args.format {
        SbomFormat::Cyclonedx => analysis.cyclonedx(args.files),
        SbomFormat::Spdx => analysis.spdx(),
    };
    let mut out = io::stdout().lock();
    write_json(&mut out, &document)?;
    out.flush()?;
    Ok(())
}

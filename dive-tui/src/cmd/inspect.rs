//! The default command: the interactive view of one image (`dive-rs IMAGE`), or, with
//! `--summary` / `--json`, the whole analysis written to stdout.

use std::io::{self, Write};

use dive_core::escape::escape;
use dive_core::report::{self, SummaryOptions};

use crate::cmd::args::Cli;
use crate::cmd::input::{BaseChoice, analyze, builder, image, source};
use crate::cmd::json::write_json;
use crate::tui::view::panes::Views;

/// Opens the interactive view; the analysis runs on a worker thread behind it.
pub fn interactive(cli: &Cli) -> anyhow::Result<()> {
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
    let files = files
        .check_rereadable()
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

/// `--summary` or `--json`: the analysis as text or as the JSON document.
pub fn summary(cli: &Cli) -> anyhow::Result<()> {
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

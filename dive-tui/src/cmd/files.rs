//! Files out of the image: `cat` (one file's bytes on stdout) and `extract` (files and
//! directories into a directory), as the final image or one layer has them.

use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;

use anyhow::{Context as _, anyhow, bail};
use dive_core::Analysis;
use dive_core::EntryKind;
use dive_core::contents::{Contents, ExtractOptions, FollowError, Found, Version};
use dive_core::escape::{escape, escape_bytes, escape_path};

use crate::cmd::args::{CatArgs, ExtractArgs, InputArgs};
use crate::cmd::input::{builder, image, source};
use crate::cmd::progress::Bars;

/// The image analysed, with its input kept open to read contents, and the version asked
/// for: the image is opened and resolved once.
fn open(input: &InputArgs, layer: Option<usize>) -> anyhow::Result<(Analysis, Contents, Version)> {
    let image = image(input)?;
    let analyzer = builder(&input.read)?.build();
    // An input that cannot be read twice is refused before the analysis, not after it.
    let (analysis, contents) =
        analyzer.analyze_with_contents(source(image, &input.read)?, &Bars::stderr().bar(image))?;
    let version = match layer {
        Some(n) if n >= analysis.layers.len() => bail!(
            "the image has layers 0 to {}; there is no layer {n}",
            analysis.layers.len().saturating_sub(1)
        ),
        Some(n) => Version::Layer(n),
        None => Version::Final,
    };
    Ok((analysis, contents, version))
}

/// Writes the file's bytes to stdout, unchanged, terminal or not; the messages around it
/// (the note on stderr, errors) name the file escaped.
pub(crate) fn cat_command(args: &CatArgs) -> anyhow::Result<()> {
    let (analysis, contents, version) = open(&args.input, args.layer)?;
    let found = locate(&analysis, args.path.as_bytes(), version, args.follow)?;
    let mut reader = contents.open(&analysis, found.layer, found.entry)?;
    let location = reader.location().clone();
    // Exact bytes, as `cat` gives them: the file is what the user asked for, so it is the
    // one output (with JSON) that carries the image's bytes unescaped; every name the image
    // gives is escaped where it is shown instead.
    let mut out = io::BufWriter::with_capacity(256 * 1024, io::stdout().lock());
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = reader
            .read(&mut buf)
            .with_context(|| format!("{location}: reading the file"))?;
        if n == 0 {
            break;
        }
        out.write_all(&buf[..n])?;
    }
    out.flush()?;
    if let Some(note) = reader.note() {
        eprintln!("dive-rs: note: {note}");
    }
    Ok(())
}

/// Writes the paths below the output directory; lists what it wrote and skipped.
pub(crate) fn extract_command(args: &ExtractArgs) -> anyhow::Result<()> {
    let (analysis, contents, version) = open(&args.input, args.layer)?;
    let paths: Vec<&[u8]> = args.paths.iter().map(|p| p.as_bytes()).collect();
    let options = ExtractOptions::force(args.force);
    let done = contents.extract(&analysis, &paths, version, &args.output, options)?;
    let mut out = io::BufWriter::new(io::stdout().lock());
    if !args.quiet {
        for (path, kind) in &done.written {
            writeln!(out, "{} {}", kind.letter(), escape_path(path))?;
        }
    }
    out.flush()?;
    let mut err = io::stderr().lock();
    for skipped in &done.skipped {
        writeln!(
            err,
            "skipped {}: {}",
            escape_path(&skipped.path),
            skipped.reason
        )?;
    }
    if let Some(note) = done.note {
        writeln!(err, "note: {note}")?;
    }
    let count = |kind: EntryKind| done.written.iter().filter(|(_, k)| *k == kind).count();
    writeln!(
        err,
        "wrote {} files ({}), {} directories, {} symlinks, {} hard links to {}; skipped {}",
        count(EntryKind::File),
        dive_core::report::human_bytes(done.bytes, false),
        count(EntryKind::Dir),
        count(EntryKind::Symlink),
        count(EntryKind::Hardlink),
        escape(&args.output.display().to_string()),
        done.skipped.len()
    )?;
    Ok(())
}

/// The version of `path` asked for, or an error that says what is there instead.
fn locate(
    analysis: &Analysis,
    path: &[u8],
    version: Version,
    follow: bool,
) -> anyhow::Result<Found> {
    let shown = escape_path(path.strip_prefix(b"/").unwrap_or(path));
    if follow {
        // Every component's links followed; the error names where following stopped.
        let found = analysis.follow(path, version).map_err(|e| {
            let writers = layers_writing(analysis, e.at());
            match e {
                FollowError::NoEntry { .. } if !writers.is_empty() => {
                    anyhow!("{e}; layers that wrote it: {writers} (cat --layer N)")
                }
                e => anyhow!("{e}"),
            }
        })?;
        return match found.kind {
            EntryKind::File => Ok(found),
            kind => {
                let at = analysis
                    .entry(found.layer, found.entry)
                    .map(|e| escape_path(&e.path))
                    .unwrap_or_default();
                bail!(
                    "{shown} leads to {at}, a {}; it holds no bytes to write",
                    kind.name()
                )
            }
        };
    }
    let Some(found) = analysis.find(path, version) else {
        let writers = layers_writing(analysis, path);
        let hint = if writers.is_empty() {
            "no layer wrote it".to_owned()
        } else {
            format!("layers that wrote it: {writers} (cat --layer N)")
        };
        let node = analysis.node_of(path).map(|id| analysis.tree.node(id));
        match version {
            Version::Final if node.is_some_and(|n| n.kind == EntryKind::Dir) => {
                bail!("{shown} is a directory; it holds no bytes to write")
            }
            Version::Final => {
                // A link among its directories (`/lib` → `usr/lib`): say that --follow helps.
                if analysis.follow(path, version).is_ok() {
                    bail!("{shown}: a symlink stands among its directories; --follow follows it")
                }
                bail!("{shown}: not in the final image; {hint}")
            }
            Version::Layer(n) => bail!("{shown}: layer {n} did not write it; {hint}"),
        }
    };
    match found.kind {
        EntryKind::File => Ok(found),
        EntryKind::Symlink => bail!(
            "{shown} is a symlink to {}; --follow reads the file it leads to",
            escape_bytes(found.link.as_deref().unwrap_or_default())
        ),
        EntryKind::Whiteout | EntryKind::Opaque => {
            let writers = layers_writing(analysis, path);
            bail!(
                "{shown}: layer {} deletes it; layers that wrote it: {writers}",
                found.layer
            )
        }
        EntryKind::Hardlink => bail!("{shown}: a hard link whose target is not in the image"),
        kind => bail!("{shown} is a {}; it holds no bytes to write", kind.name()),
    }
}

/// The layers whose own entries set `path`, as `0, 3`.
fn layers_writing(analysis: &Analysis, path: &[u8]) -> String {
    let path = path.strip_prefix(b"/").unwrap_or(path);
    (0..analysis.layers.len())
        .filter(|&l| {
            analysis.layer_entries(l).is_some_and(|entries| {
                entries
                    .iter()
                    .any(|e| *e.path == *path && e.kind != EntryKind::Whiteout)
            })
        })
        .map(|l| l.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

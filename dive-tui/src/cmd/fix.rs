//! `dive-rs fix`: the image analysed, its Dockerfile read and matched, the edits printed as a
//! unified diff (or JSON) on stdout, what is left to the user on stderr, and with `--write`
//! the file edited in place.

use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

use anyhow::Context;
use dive_core::escape::escape;
use dive_core::fix::{self, FixPlan};
use dive_core::report::human_bytes;

use crate::cmd::args::{FixArgs, FixFormat};
use crate::cmd::input::analyze;
use crate::cmd::json::write_json;

/// `dive-rs fix`.
pub fn fix(args: &FixArgs) -> anyhow::Result<()> {
    let file = args.dockerfile.display().to_string();
    let text = read_dockerfile(&args.dockerfile)?;
    let analysis = analyze(&args.input)?;
    let plan = fix::plan(
        &analysis,
        &file,
        &text,
        &fix::FixOptions::default()
            .stage(args.stage.as_deref())
            .cpu_only(args.cpu_only),
    )?;
    let label = diff_path(&args.dockerfile);
    let mut out = io::stdout().lock();
    match args.format {
        FixFormat::Diff => out.write_all(plan.diff(&label).as_bytes())?,
        FixFormat::Json => write_json(&mut out, &plan.to_json(&label))?,
    }
    out.flush()?;
    if args.format == FixFormat::Diff {
        eprint!("{}", leftovers(&plan));
    }
    if args.write && !plan.fixes.is_empty() {
        write_in_place(&args.dockerfile, &text, plan.patched().as_bytes())
            .with_context(|| format!("writing {}", escape(&file)))?;
        eprintln!("dive-rs fix: wrote {}", escape(&file));
    }
    Ok(())
}

/// A Dockerfile's bytes, read no further than one byte past the cap (the parser then names
/// the file and the cap).
pub(crate) fn read_dockerfile(path: &Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    let cap = fix::MAX_DOCKERFILE_BYTES as u64;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(cap + 1).read_to_end(&mut bytes))
        .with_context(|| format!("reading {}", escape(&path.display().to_string())))?;
    Ok(bytes)
}

/// The path `git apply` and `patch -p1` see: the file (a symlink followed) relative to the
/// working directory. A file outside it is named relative to its own directory, with a
/// warning that the diff applies there.
fn diff_path(path: &Path) -> String {
    let file = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let below = std::env::current_dir()
        .and_then(std::fs::canonicalize)
        .ok()
        .and_then(|cwd| file.strip_prefix(&cwd).ok().map(Path::to_path_buf));
    let relative = below.unwrap_or_else(|| {
        eprintln!(
            "dive-rs fix: {} is outside the working directory: the diff names it by its file \
             name; apply it in {}",
            escape(&path.display().to_string()),
            escape(
                &file
                    .parent()
                    .unwrap_or(Path::new("/"))
                    .display()
                    .to_string()
            )
        );
        file.file_name().map(PathBuf::from).unwrap_or_default()
    });
    relative
        .components()
        .filter(|c| !matches!(c, Component::CurDir | Component::RootDir))
        .collect::<PathBuf>()
        .to_string_lossy()
        .into_owned()
}

/// The summary on stderr: what the edits save, then each listed finding with its line.
fn leftovers(plan: &FixPlan) -> String {
    let size = |b: u64| human_bytes(b, false);
    let mut out = String::new();
    if plan.fixes.is_empty() {
        out.push_str("dive-rs fix: no edit is sure for this image\n");
    } else {
        out.push_str(&format!(
            "dive-rs fix: {} edit{} save {}\n",
            plan.fixes.len(),
            if plan.fixes.len() == 1 { "" } else { "s" },
            size(plan.saving)
        ));
    }
    if plan.matched_by == "provenance" {
        out.push_str("  layers paired with lines by the image's BuildKit provenance (exact)\n");
    }
    // Package names come from the image's dpkg database: escaped like every other name.
    for fix in plan.fixes.iter().filter(|f| !f.packages.is_empty()) {
        let dropped: Vec<String> = fix
            .packages
            .iter()
            .map(|p| format!("{} {}", escape(&p.name), size(p.bytes)))
            .collect();
        let line = match fix.finding {
            Some("cpu-index") => format!(
                "  line {}: a CPU build of torch leaves out {}\n",
                fix.line,
                dropped.join(", ")
            ),
            _ => format!(
                "  line {}: no longer installed: {}; name any the image uses in the install\n",
                fix.line,
                dropped.join(", ")
            ),
        };
        out.push_str(&line);
    }
    // Notes name packages and paths of the image: escaped too.
    for note in &plan.notes {
        out.push_str(&format!("  note: {}\n", escape(note)));
    }
    let listed: u64 = plan.listed.iter().map(|l| l.bytes).sum();
    if listed > 0 {
        out.push_str(&format!(
            "listed, not patched ({}; lines of {}):\n",
            size(listed),
            escape(&plan.dockerfile)
        ));
        for l in &plan.listed {
            let hidden = match (l.hidden_by_layer, l.hidden_by_line) {
                (Some(layer), Some(line)) => format!(", hidden by layer {layer} (line {line})"),
                (Some(layer), None) => format!(", hidden by layer {layer}"),
                _ => String::new(),
            };
            out.push_str(&format!(
                "  {} {}, added by layer {} (line {}){hidden}: {}\n    fix: {}\n",
                l.class.name(),
                size(l.bytes),
                l.layer,
                l.line,
                escape(&l.why),
                escape(&l.suggestion)
            ));
        }
    }
    out
}

/// Replaces `path` with `new`: refused if the file no longer holds `old`; written to a
/// temporary file beside it, given the file's mode, then renamed over it.
fn write_in_place(path: &Path, old: &[u8], new: &[u8]) -> anyhow::Result<()> {
    // A symlinked Dockerfile: the file it leads to is edited, the link stays.
    let path = &std::fs::canonicalize(path)?;
    let now = std::fs::read(path)?;
    if now != old {
        anyhow::bail!("it changed since it was read; run fix again");
    }
    let metadata = std::fs::metadata(path)?;
    let dir = path.parent().unwrap_or(Path::new("/"));
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    temp.write_all(new)?;
    temp.as_file().sync_all()?;
    std::fs::set_permissions(temp.path(), metadata.permissions())?;
    {
        use std::os::unix::fs::MetadataExt;
        // Its owner kept where we may set it (root, or the owner already): best effort.
        let _ =
            std::os::unix::fs::fchown(temp.as_file(), Some(metadata.uid()), Some(metadata.gid()));
    }
    temp.persist(path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_changed_since_it_was_read_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("Dockerfile");
        std::fs::write(&file, "FROM a\nRUN b\n").unwrap();
        let err = write_in_place(&file, b"FROM a\n", b"FROM c\n").unwrap_err();
        assert!(
            err.to_string().contains("changed since it was read"),
            "{err}"
        );
        assert_eq!(std::fs::read(&file).unwrap(), b"FROM a\nRUN b\n");
        write_in_place(&file, b"FROM a\nRUN b\n", b"FROM c\n").unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"FROM c\n");
        // Only the file itself is left: the temporary one was renamed over it.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}

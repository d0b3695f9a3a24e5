//! The readable summary: totals, layers, largest files, largest hidden items.

use std::fmt::Write as _;

use super::text::{clean_command, cut, human_bytes};
use crate::analysis::Analysis;
use crate::escape::{escape, escape_path};
use crate::tree::HiddenReason;

/// Choices for [`summary`].
#[derive(Debug, Clone, Copy)]
pub struct SummaryOptions {
    /// Print exact byte counts instead of `1.2 GB`.
    pub exact_bytes: bool,
    /// Rows in the largest-files and hidden lists.
    pub top: usize,
    /// Width for the command column; longer commands are cut with `…`.
    pub command_width: usize,
}

impl Default for SummaryOptions {
    fn default() -> Self {
        Self {
            exact_bytes: false,
            top: 20,
            command_width: 60,
        }
    }
}

/// The base image in one line: its name, which layers are its, and whose bytes are whose.
pub(crate) fn base_line(analysis: &Analysis, size: &dyn Fn(u64) -> String) -> Option<String> {
    let base = analysis.image.base.as_ref()?;
    let name = escape(base.name.as_deref().unwrap_or("<unnamed>")).into_owned();
    let digest = base
        .digest
        .as_deref()
        .map(|d| format!(" ({})", escape(&crate::digest::short_digest(d))))
        .unwrap_or_default();
    Some(match base.layers {
        None => format!(
            "{name}{digest}, named by the manifest; not read (--base auto reads it from its \
             registry to mark its layers)"
        ),
        Some(0) => format!("{name}{digest}: shares no layer with this image"),
        Some(n) => format!(
            "{name}{digest}: layer{} 0{}, {} of files; your layers add {}",
            if n == 1 { "" } else { "s" },
            if n == 1 {
                String::new()
            } else {
                format!("–{}", n - 1)
            },
            size(analysis.image.base_bytes),
            size(analysis.image.own_bytes)
        ),
    })
}

/// The summary as text, ready for a terminal or a log.
pub fn summary(analysis: &Analysis, options: SummaryOptions) -> String {
    let size = |b: u64| human_bytes(b, options.exact_bytes);
    let facts = &analysis.image;
    let mut out = String::new();
    let percent = |part: u64, whole: u64| {
        if whole == 0 {
            0.0
        } else {
            part as f64 * 100.0 / whole as f64
        }
    };

    let _ = writeln!(
        out,
        "Image      {}",
        escape(facts.reference.as_deref().unwrap_or("<untagged>"))
    );
    let _ = writeln!(out, "Input      {}", escape(&analysis.input));
    let _ = writeln!(
        out,
        "Platform   {}   layout {}",
        escape(facts.platform.as_deref().unwrap_or("unknown")),
        match facts.layout {
            crate::source::Layout::DockerArchive => "docker-archive",
            crate::source::Layout::Oci => "oci",
            crate::source::Layout::Registry => "registry",
        }
    );
    let _ = writeln!(out, "Config     {}", escape(&facts.config_digest));
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Final      {} in {} files",
        size(facts.final_bytes),
        facts.final_files
    );
    let _ = writeln!(
        out,
        "Shipped    {} of files in {} layers ({} as tar, {} compressed)",
        size(facts.total_file_bytes),
        facts.layer_count,
        size(facts.size_uncompressed),
        size(facts.size_compressed)
    );
    let _ = writeln!(
        out,
        "Hidden     {} ({:.1}% of shipped file bytes are not visible in the final image)",
        size(facts.hidden_bytes),
        percent(facts.hidden_bytes, facts.total_file_bytes)
    );
    let _ = writeln!(out, "Efficiency {:.1}%", facts.efficiency * 100.0);
    if facts.verified {
        let _ = writeln!(
            out,
            "Verified   every layer's SHA-256 equals its manifest digest and config diff_id"
        );
    }
    if let Some(line) = base_line(analysis, &size) {
        let _ = writeln!(out, "Base       {line}");
    }
    let _ = writeln!(
        out,
        "dive says  efficiency {:.1}%, wasted {}, user wasted {:.1}% (dive's formulas, see the README)",
        facts.dive.efficiency * 100.0,
        size(facts.dive.wasted_bytes),
        facts.dive.user_wasted_fraction * 100.0
    );

    if let Some(headline) = super::secrets::headline(analysis) {
        let _ = writeln!(out, "\nSecrets    {headline}");
        let listed = super::secrets::ordered(analysis);
        for secret in listed.iter().take(super::secrets::LISTED) {
            let _ = writeln!(out, "  {}", escape(&super::secrets::describe(secret)));
        }
        if listed.len() > super::secrets::LISTED {
            let more = listed.len() - super::secrets::LISTED;
            let _ = writeln!(out, "  … {more} more in --json");
        }
    }

    let _ = writeln!(out, "\nLayers");
    let _ = writeln!(
        out,
        "{:>3}  {:>10}  {:>10}  {:>10}  {:>10}  {:>8}  command",
        "#", "compressed", "tar", "files", "hidden", "entries"
    );
    for layer in &analysis.layers {
        let _ = writeln!(
            out,
            "{:>3}  {:>10}  {:>10}  {:>10}  {:>10}  {:>8}  {}",
            layer.index,
            size(layer.size_compressed),
            size(layer.size_uncompressed),
            size(layer.file_bytes),
            size(layer.hidden_bytes),
            layer.entries,
            cut(
                &format!(
                    "{}{}",
                    if layer.from_base { "[base] " } else { "" },
                    escape(&clean_command(layer.created_by.as_deref().unwrap_or("")))
                ),
                options.command_width
            )
        );
    }

    let attribution = &analysis.attribution;
    if !attribution.families.is_empty() {
        let _ = writeln!(out, "\nFamilies");
        for family in &attribution.families {
            let _ = writeln!(
                out,
                "{:>10}  {:>5.1}%  {:<10}  {} package{}{}",
                size(family.bytes),
                percent(family.bytes, facts.final_bytes),
                escape(&family.name),
                family.packages,
                if family.packages == 1 { "" } else { "s" },
                if family.hidden_bytes > 0 {
                    format!(", {} more hidden", size(family.hidden_bytes))
                } else {
                    String::new()
                }
            );
        }
    }
    if !attribution.packages.is_empty() {
        let _ = writeln!(
            out,
            "\nPackages ({} in all; largest)",
            attribution.packages.len()
        );
        let _ = writeln!(
            out,
            "{:>10}  {:>10}  {:>10}  {:<6}  {:<10}  name and version",
            "size", "declared", "hidden", "kind", "family"
        );
        for package in attribution.packages.iter().take(options.top) {
            // Where it lives, when its ecosystem has packages in several places.
            let place = if attribution.several_locations(package.ecosystem) {
                format!("  in {}", escape(&package.location))
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "{:>10}  {:>10}  {:>10}  {:<6}  {:<10}  {} {}{place}",
                size(package.bytes),
                package.declared_bytes.map_or_else(|| "-".to_owned(), size),
                size(package.hidden_bytes),
                package.ecosystem.name(),
                escape(package.family.as_deref().unwrap_or("-")),
                escape(&package.name),
                escape(package.version.as_deref().unwrap_or(""))
            );
        }
    }
    if !attribution.unowned.is_empty() {
        let _ = writeln!(out, "\nUnowned (no package database claims these)");
        for dir in attribution.unowned.iter().take(options.top) {
            let _ = writeln!(
                out,
                "{:>10}  {:>10} hidden  {}",
                size(dir.bytes),
                size(dir.hidden_bytes),
                escape(&dir.dir)
            );
        }
    }

    if !attribution.waste.is_empty() {
        let _ = writeln!(out, "\nAvoidable bytes (each byte in one class at most)");
        for waste in &attribution.waste {
            let _ = writeln!(
                out,
                "{:>10}  {:<20}  {}",
                size(waste.bytes),
                waste.class.name(),
                waste.fix
            );
            if let Some(top) = waste.top_paths.first() {
                let (path, bytes) = (escape(&top.path), size(top.bytes));
                let _ = writeln!(out, "{:>10}  {:<20}    largest: {path} ({bytes})", "", "");
            }
        }
    }

    let gpu = super::gpu_code::summary_lines(analysis, &size, options.top);
    if !gpu.is_empty() {
        let _ = writeln!(out);
        for line in gpu {
            let _ = writeln!(out, "{line}");
        }
    }

    let largest = analysis.largest_files(options.top);
    let _ = writeln!(out, "\nLargest files");
    let _ = writeln!(out, "{:>10}  {:>5}  path", "size", "layer");
    for file in largest {
        let path = escape_path(&analysis.tree.path(file.node));
        let _ = writeln!(out, "{:>10}  {:>5}  {path}", size(file.bytes), file.layer);
    }

    if !analysis.hidden.is_empty() {
        let _ = writeln!(
            out,
            "\nLargest hidden items ({} in all)",
            analysis.hidden.len()
        );
        let _ = writeln!(
            out,
            "{:>10}  {:>5}  {:>6}  {:<22}  path",
            "size", "added", "hidden", "why"
        );
        for item in analysis.hidden.iter().take(options.top) {
            let _ = writeln!(
                out,
                "{:>10}  {:>5}  {:>6}  {:<22}  {}",
                size(item.bytes),
                item.added_in_layer,
                item.hidden_by_layer,
                reason_text(item.reason),
                escape_path(&item.path)
            );
        }
    }

    if !analysis.warnings.is_empty() {
        let _ = writeln!(out, "\nWarnings ({})", analysis.warnings.len());
        for warning in analysis.warnings.iter().take(options.top) {
            let _ = writeln!(out, "  {warning}");
        }
        if analysis.warnings.len() > options.top {
            let _ = writeln!(
                out,
                "  … {} more in --json",
                analysis.warnings.len() - options.top
            );
        }
    }
    out
}

/// How a hidden item was hidden, in words.
pub(crate) fn reason_text(reason: HiddenReason) -> &'static str {
    match reason {
        HiddenReason::Overwritten => "overwritten",
        HiddenReason::MetadataOnly => "rewritten, same content",
        HiddenReason::Deleted => "deleted",
        HiddenReason::DeletedWithDirectory => "deleted with its dir",
        HiddenReason::OpaqueDirectory => "hidden by opaque dir",
        HiddenReason::DirectoryReplaced => "its dir was replaced",
    }
}

//! The details pane: every fact the analysis holds about the selected item, as
//! `(label, value)` lines computed once per selection.

use dive_core::Analysis;
use dive_core::EntryKind;
use dive_core::report::human_bytes;
use dive_core::{Attribution, WasteClass};
use dive_core::{EntryChange, InodeId};

use crate::tui::view::build::display;
use crate::tui::view::outline::{Outline, Target, safe};
use crate::tui::view::panes::Views;

/// One line of the details pane; an empty label continues the line above.
pub type DetailLine = (String, String);

fn line(label: &str, value: impl Into<String>) -> DetailLine {
    (label.to_owned(), safe(value))
}

/// What a program or archive records it was built from: how many, and the first few.
fn built_from(dependencies: &[dive_core::Dependency]) -> String {
    const SHOWN: usize = 4;
    let named: Vec<String> = (dependencies.iter().take(SHOWN))
        .map(|d| match &d.version {
            Some(version) => format!("{} {version}", d.name),
            None => d.name.clone(),
        })
        .collect();
    let more = if dependencies.len() > SHOWN {
        ", …"
    } else {
        ""
    };
    format!("{}: {}{more}", dependencies.len(), named.join(", "))
}

/// A file's CUDA device code: the total, then each architecture with its kind.
fn device_code(file: &dive_core::CudaFile) -> Vec<DetailLine> {
    let code = &file.code;
    let mut out = vec![line(
        "GPU code",
        format!(
            "{} of device code, {} of fat binary headers ({} scan)",
            bytes(code.device_bytes()),
            bytes(code.container_bytes),
            code.scan_name()
        ),
    )];
    for (arch, n) in &code.by_arch {
        out.push(line(
            &format!("  {arch}"),
            format!("{} {}", bytes(*n), arch.kind_name()),
        ));
    }
    out
}

fn bytes(n: u64) -> String {
    human_bytes(n, false)
}

/// Facts about an item that stands for nothing but its contents (an implied directory,
/// an ecosystem group).
pub fn heading(outline: &Outline, id: u32, is_path: bool) -> Vec<DetailLine> {
    let item = outline.item(id);
    let mut out = Vec::new();
    if is_path {
        out.push(line("path", format!("/{}", outline.path_of(id))));
    } else {
        out.push(line("group", item.label.clone()));
    }
    out.push(line(
        "holds",
        format!(
            "{} in {} items",
            bytes(outline.shown_bytes(id)),
            item.children.len()
        ),
    ));
    out
}

/// Facts about one layer.
pub fn layer(analysis: &Analysis, index: usize) -> Vec<DetailLine> {
    let Some(layer) = analysis.layers.get(index) else {
        return Vec::new();
    };
    let mut out = vec![
        line("layer", index.to_string()),
        line(
            "command",
            layer.command().unwrap_or_else(|| "(no history)".to_owned()),
        ),
        line("digest", layer.digest.clone().unwrap_or_default()),
        line(
            "stored",
            format!("{} {:?}", bytes(layer.size_compressed), layer.compression),
        ),
        line("tar size", bytes(layer.size_uncompressed)),
        line(
            "files",
            format!("{} in {} entries", bytes(layer.file_bytes), layer.entries),
        ),
        line("hidden later", bytes(layer.hidden_bytes)),
        line("hides below", bytes(layer.hides_bytes)),
    ];
    if let Some(diff_id) = &layer.diff_id {
        out.push(line("diff_id", diff_id.clone()));
    }
    out
}

/// Facts about whatever an outline item stands for.
pub fn target(views: &Views, target: Target) -> Vec<DetailLine> {
    let (analysis, contents) = (&*views.analysis, &views.contents);
    let attribution = &analysis.attribution;
    // Until the attribution is found, a path's owner is not known (nor are its waste class
    // and duplicates, which depend on it).
    let found = (!views.attributing).then_some(attribution);
    let path_facts = |path: &[u8], inode, kind| path_facts(analysis, found, path, inode, kind);
    match target {
        Target::None => Vec::new(),
        Target::Node(id) => {
            let node = analysis.tree.node(id);
            let path = analysis.tree.path(id);
            let mut out = path_facts(&path, node.inode, node.kind);
            if node.kind == EntryKind::Dir {
                out.insert(
                    1,
                    line(
                        "holds",
                        format!("{} in {} files", bytes(node.bytes), node.files),
                    ),
                );
            }
            out
        }
        Target::Entry { layer, entry } => {
            let Some(e) = analysis.entry(layer, entry as usize) else {
                return Vec::new();
            };
            let inode = contents.get(layer, entry as usize);
            path_facts(&e.path, inode, e.kind)
        }
        Target::Hidden(i) => {
            let Some(h) = analysis.hidden.get(i) else {
                return Vec::new();
            };
            path_facts(&h.path, Some(h.inode), EntryKind::File)
        }
        Target::Family(f) => {
            let Some(family) = attribution.families.get(f) else {
                return Vec::new();
            };
            vec![
                line("family", family.name.clone()),
                line("bytes", bytes(family.bytes)),
                line("packages", family.packages.to_string()),
                line("hidden", bytes(family.hidden_bytes)),
            ]
        }
        Target::Package(p) => {
            let Some(package) = attribution.packages.get(p) else {
                return Vec::new();
            };
            let mut out = vec![
                line("package", package.name.clone()),
                line("version", package.version.clone().unwrap_or_default()),
                line("ecosystem", package.ecosystem.name()),
                line("location", package.location.clone()),
                line("family", package.family.clone().unwrap_or_default()),
                line(
                    "bytes",
                    format!("{} in {} files", bytes(package.bytes), package.files),
                ),
            ];
            if package.unrecorded_bytes > 0 {
                out.push(line(
                    "unrecorded",
                    format!("{} (e.g. __pycache__)", bytes(package.unrecorded_bytes)),
                ));
            }
            if package.hidden_bytes > 0 {
                out.push(line("hidden", bytes(package.hidden_bytes)));
            }
            if let Some(declared) = package.declared_bytes {
                out.push(line("declared", bytes(declared)));
            }
            if let Some(toolchain) = &package.toolchain {
                out.push(line("built with", toolchain.clone()));
            }
            if !package.dependencies.is_empty() {
                out.push(line("built from", built_from(&package.dependencies)));
            }
            let files: Vec<_> = attribution
                .cuda
                .files
                .iter()
                .filter(|f| f.owner == u32::try_from(p).ok())
                .collect();
            if !files.is_empty() {
                let device: u64 = files.iter().map(|f| f.code.device_bytes()).sum();
                out.push(line(
                    "GPU code",
                    format!(
                        "{} in {} files (CUDA fat binaries)",
                        bytes(device),
                        files.len()
                    ),
                ));
            }
            out.push(line("layers", layer_list(&package.layers)));
            out
        }
        Target::Unowned(u) => {
            let Some(dir) = attribution.unowned.get(u) else {
                return Vec::new();
            };
            vec![
                line("unowned", dir.dir.clone()),
                line(
                    "bytes",
                    format!("{} in {} files", bytes(dir.bytes), dir.files),
                ),
                line("hidden", bytes(dir.hidden_bytes)),
                line("why", "no package database lists these files"),
            ]
        }
        Target::Secrets => {
            let hidden = (analysis.secrets.iter())
                .filter(|s| s.hidden_by_layer.is_some())
                .count();
            vec![
                line("secrets", analysis.secrets.len().to_string()),
                line(
                    "hidden",
                    format!("{hidden} deleted in a later layer, still shipped"),
                ),
                line(
                    "values",
                    "redacted: rule prefix, length, SHA-256 fingerprint",
                ),
                line("fix", "rotate each one: every copy of the image holds it"),
            ]
        }
        Target::Secret(i) => {
            let Some(secret) = analysis.secrets.get(i) else {
                return Vec::new();
            };
            let mut out = vec![
                line("secret", secret.rule),
                line("why", secret.reason),
                line("source", secret.source.name()),
            ];
            if let Some(path) = &secret.path {
                let at = secret.line.map_or(String::new(), |l| format!(" line {l}"));
                out.push(line("path", format!("/{path}{at}")));
            }
            if let Some(name) = &secret.name {
                out.push(line("name", name.clone()));
            }
            if let Some(entry) = secret.history_entry {
                out.push(line("history", format!("entry {entry}")));
            }
            if let Some(layer) = secret.layer {
                out.push(line("shipped by", layer_name(analysis, layer)));
            }
            out.push(match secret.hidden_by_layer {
                Some(by) => line(
                    "hidden by",
                    format!("{}: every pull still ships it", layer_name(analysis, by)),
                ),
                None => line("visible", "yes"),
            });
            let confidence = if secret.example {
                "low: test data, documentation or an example"
            } else {
                secret.confidence.name()
            };
            out.push(line("confidence", confidence));
            out.push(line("value", secret.redacted.clone()));
            out.push(line("fix", secret.fix));
            out
        }
        Target::WasteClass(c) => {
            let Some(class) = attribution.waste.get(c) else {
                return Vec::new();
            };
            let layers: Vec<usize> = class.by_layer.iter().map(|l| l.layer).collect();
            vec![
                line("waste", class.class.name()),
                line(
                    "reclaim",
                    format!("{} in {} files", bytes(class.bytes), class.files),
                ),
                line("fix", class.fix),
                line("layers", layer_list(&layers)),
            ]
        }
        Target::WastePath { class, path } => {
            let Some(item) = attribution
                .waste
                .get(class)
                .and_then(|c| c.top_paths.get(path))
            else {
                return Vec::new();
            };
            let mut out = vec![
                line("path", item.path.clone()),
                line("bytes", bytes(item.bytes)),
                line("added by", layer_name(analysis, item.layer)),
            ];
            if let Some(by) = item.hidden_by_layer {
                out.push(line("hidden by", layer_name(analysis, by)));
            }
            out.push(line("fix", attribution.waste[class].fix));
            out
        }
    }
}

/// `L3 RUN pip install …`, cut to a readable width.
fn layer_name(analysis: &Analysis, index: usize) -> String {
    let command = analysis
        .layers
        .get(index)
        .and_then(dive_core::LayerFacts::command)
        .unwrap_or_default();
    format!("L{index} {command}")
}

fn layer_list(layers: &[usize]) -> String {
    layers
        .iter()
        .map(|l| format!("L{l}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Owner, waste class, ELF debug bytes, every layer that touched the path, hidden evidence.
fn path_facts(
    analysis: &Analysis,
    attribution: Option<&Attribution>,
    path: &[u8],
    inode: Option<InodeId>,
    kind: EntryKind,
) -> Vec<DetailLine> {
    let mut out = vec![line("path", format!("/{}", display(path)))];
    let content = inode.map(|i| analysis.tree.inode(i));
    if let Some(content) = content {
        out.push(line("size", bytes(content.size)));
        out.push(line(
            "added by",
            layer_name(analysis, content.layer as usize),
        ));
    }
    match attribution {
        Some(attribution) => out.extend(owned_facts(analysis, attribution, path, inode, kind)),
        None if kind != EntryKind::Dir => out.push(line(
            "owner",
            "being found (the package databases are still being read)",
        )),
        None => {}
    }
    let debug = inode.map_or(0, |i| analysis.debug_bytes(i));
    if debug > 0 {
        out.push(line("ELF debug", bytes(debug)));
    }
    if let Some(file) = attribution.and_then(|a| {
        a.cuda
            .files
            .iter()
            .find(|f| *f.path == *format!("/{}", display(path)))
    }) {
        out.extend(device_code(file));
    }
    out.extend(history(analysis, path));
    for hidden in analysis.hidden.iter().filter(|h| *h.path == *path) {
        let by = hidden.hidden_by_layer;
        let how = if analysis.is_being_compared(hidden.inode) {
            format!("rewritten at the same size by L{by} (contents being compared)")
        } else {
            format!("{} by L{by}", hidden.reason.name().replace('_', " "))
        };
        out.push(line(
            "hidden",
            format!(
                "{} added by L{}, {how}",
                bytes(hidden.bytes),
                hidden.added_in_layer
            ),
        ));
    }
    out
}

/// Owner package, waste class and duplicates of a path.
fn owned_facts(
    analysis: &Analysis,
    attribution: &Attribution,
    path: &[u8],
    inode: Option<InodeId>,
    kind: EntryKind,
) -> Vec<DetailLine> {
    let mut out = Vec::new();
    let owner = inode
        .and_then(|i| attribution.owner_of(i))
        .and_then(|p| attribution.packages.get(p as usize));
    let family = owner.and_then(|p| p.family.as_deref());
    if kind != EntryKind::Dir {
        out.push(line(
            "owner",
            owner.map_or_else(
                || "unowned".to_owned(),
                |p| {
                    format!(
                        "{} {} ({}{})",
                        p.name,
                        p.version.as_deref().unwrap_or(""),
                        p.ecosystem.name(),
                        family.map(|f| format!(", family {f}")).unwrap_or_default()
                    )
                },
            ),
        ));
    }
    if let Some(class) = WasteClass::of(path, family) {
        out.push(line("waste", format!("{}: {}", class.name(), class.fix())));
    }
    if let Some(group) = inode.and_then(|i| {
        attribution.duplicates.iter().find(|g| {
            g.nodes
                .iter()
                .any(|&n| analysis.tree.node(n).inode == Some(i))
        })
    }) {
        let me = format!("/{}", display(path));
        let others: Vec<&str> = group
            .paths
            .iter()
            .filter(|p| **p != me)
            .map(String::as_str)
            .collect();
        out.push(line(
            "duplicates",
            format!(
                "same bytes as {} other file{}: {}",
                others.len(),
                if others.len() == 1 { "" } else { "s" },
                others
                    .iter()
                    .take(3)
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    out
}

/// Every layer entry that set, deleted or hid this path, oldest first.
fn history(analysis: &Analysis, path: &[u8]) -> Vec<DetailLine> {
    let mut out = Vec::new();
    let mut last_mode: Option<u32> = None;
    for (l, entries) in
        (0..analysis.layers.len()).filter_map(|l| Some((l, analysis.layer_entries(l)?)))
    {
        for (e, entry) in entries.iter().enumerate() {
            let exact = *entry.path == *path;
            let above = path.len() > entry.path.len()
                && path.starts_with(&entry.path)
                && path[entry.path.len()] == b'/'
                && matches!(entry.kind, EntryKind::Whiteout | EntryKind::Opaque);
            if !exact && !above {
                continue;
            }
            let letter = analysis.entry_change(l, e).map_or(' ', EntryChange::letter);
            let what = match entry.kind {
                EntryKind::Whiteout if above => format!("deleted with /{}", display(&entry.path)),
                EntryKind::Opaque if above => format!("/{} made opaque", display(&entry.path)),
                EntryKind::Whiteout => "deleted".to_owned(),
                EntryKind::Opaque => "made opaque".to_owned(),
                kind => {
                    let mode = entry.mode & 0o7777;
                    let change = match last_mode {
                        Some(old) if old != mode => format!(" (mode {old:o}→{mode:o})"),
                        _ => String::new(),
                    };
                    last_mode = Some(mode);
                    format!(
                        "{}{:o} {}{change}",
                        kind.letter(),
                        mode,
                        if kind == EntryKind::File {
                            bytes(entry.size)
                        } else {
                            String::new()
                        }
                    )
                }
            };
            let label = if out.is_empty() { "layers" } else { "" };
            out.push(line(label, format!("L{l} {letter} {what}")));
        }
    }
    out
}

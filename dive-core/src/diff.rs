//! What changed between two images: layers, totals, families, packages, waste, paths.
//!
//! Layers are matched by the digest of their uncompressed tar (`diff_id`), so the same layer
//! matches across forms (a `docker save` against a gzip OCI layout); without one, by blob digest.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;

use serde::Serialize;

use crate::analysis::Analysis;
use crate::attribution::{Ecosystem, WasteClass};
use crate::escape::escape;
use crate::report::{clean_command, cut, human_bytes, markdown_cell};

/// Version of the diff's JSON document.
pub const DIFF_SCHEMA_VERSION: u32 = 1;

/// One image of the two.
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    /// The input as named.
    pub input: String,
    /// Its reference, when known.
    pub reference: Option<String>,
    /// Config digest (image ID).
    pub config_digest: String,
}

/// A layer of either image and whether the other has it.
#[derive(Debug, Clone, Serialize)]
pub struct LayerChange {
    /// `shared`, `added` (only in the new image) or `removed` (only in the old one).
    pub status: Presence,
    /// Position in the old image.
    pub old_index: Option<usize>,
    /// Position in the new image.
    pub new_index: Option<usize>,
    /// diff_id, else blob digest.
    pub key: Option<String>,
    /// Σ file bytes.
    pub file_bytes: u64,
    /// Blob size as stored.
    pub size_compressed: u64,
    /// The Dockerfile step.
    pub created_by: Option<String>,
}

/// On which side something exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    /// In both.
    Shared,
    /// Only in the new image.
    Added,
    /// Only in the old image.
    Removed,
}

/// A named figure in both images.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Total {
    /// `final_bytes`, `hidden_bytes`…
    pub name: &'static str,
    /// Old value.
    pub old: f64,
    /// New value.
    pub new: f64,
    /// Whether the figure is bytes (else a count or a ratio).
    pub bytes: bool,
}

/// Bytes of something named in both images.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delta {
    /// Family or waste class name.
    pub name: String,
    /// Old bytes.
    pub old: u64,
    /// New bytes.
    pub new: u64,
    /// `new − old`.
    pub delta: i64,
}

/// How a package changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PackageStatus {
    /// Only in the new image.
    Added,
    /// Only in the old image.
    Removed,
    /// In both, another version.
    VersionChanged,
    /// In both, same version, other bytes.
    Resized,
}

/// One package that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageChange {
    /// Package manager.
    pub ecosystem: Ecosystem,
    /// Name.
    pub name: String,
    /// Family.
    pub family: Option<String>,
    /// What changed.
    pub status: PackageStatus,
    /// Old version.
    pub old_version: Option<String>,
    /// New version.
    pub new_version: Option<String>,
    /// Old shipped bytes (visible + hidden).
    pub old_bytes: u64,
    /// New shipped bytes.
    pub new_bytes: u64,
    /// `new − old`.
    pub delta: i64,
    /// Layers carrying it: in the new image, else (removed) in the old.
    pub layers: Vec<usize>,
}

/// How a visible file changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PathStatus {
    /// Only in the new image.
    Added,
    /// Only in the old image.
    Removed,
    /// Bigger.
    Grown,
    /// Smaller.
    Shrunk,
    /// Same size, written by a layer the old image does not share.
    Rewritten,
}

/// One visible file that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathChange {
    /// `/`-prefixed path, shown lossily.
    pub path: String,
    /// What changed.
    pub status: PathStatus,
    /// Old bytes (0 when added).
    pub old_bytes: u64,
    /// New bytes (0 when removed).
    pub new_bytes: u64,
    /// `new − old`.
    pub delta: i64,
    /// The layer carrying it: in the new image, else (removed) in the old.
    pub layer: usize,
}

/// Everything that differs between two analyses.
#[derive(Debug, Clone, Serialize)]
pub struct ImageDiff {
    /// The old image.
    pub old: Side,
    /// The new image.
    pub new: Side,
    /// New layers in order with what they share, then old layers that are gone.
    pub layers: Vec<LayerChange>,
    /// Totals side by side.
    pub totals: Vec<Total>,
    /// Families whose bytes changed, largest change first.
    pub families: Vec<Delta>,
    /// Packages that changed, largest change first.
    pub packages: Vec<PackageChange>,
    /// Waste classes whose bytes changed, largest change first.
    pub waste: Vec<Delta>,
    /// The largest path-level changes, largest first.
    pub paths: Vec<PathChange>,
    /// Path-level changes in all (`paths` keeps the largest).
    pub path_changes: usize,
}

fn side(analysis: &Analysis) -> Side {
    Side {
        input: analysis.input.clone(),
        reference: analysis.image.reference.clone(),
        config_digest: analysis.image.config_digest.clone(),
    }
}

fn signed(new: u64, old: u64) -> i64 {
    i64::try_from(new as i128 - old as i128).unwrap_or(i64::MAX)
}

/// Compares two analyses; `top` caps the path-level list.
pub fn diff(old: &Analysis, new: &Analysis, top: usize) -> ImageDiff {
    let layers = layer_changes(old, new);
    let mut paths = path_changes(old, new, &layers);
    let path_count = paths.len();
    paths.truncate(top);
    ImageDiff {
        old: side(old),
        new: side(new),
        layers,
        totals: totals(old, new),
        families: deltas(
            old.attribution
                .families
                .iter()
                .map(|f| (f.name.clone(), f.bytes + f.hidden_bytes)),
            new.attribution
                .families
                .iter()
                .map(|f| (f.name.clone(), f.bytes + f.hidden_bytes)),
        ),
        packages: package_changes(old, new),
        waste: deltas(
            old.attribution
                .waste
                .iter()
                .map(|w| (w.class.name().to_owned(), w.bytes)),
            new.attribution
                .waste
                .iter()
                .map(|w| (w.class.name().to_owned(), w.bytes)),
        ),
        paths,
        path_changes: path_count,
    }
}

fn layer_key(analysis: &Analysis, index: usize) -> Option<String> {
    let layer = analysis.layers.get(index)?;
    layer.diff_id.clone().or_else(|| layer.digest.clone())
}

fn layer_changes(old: &Analysis, new: &Analysis) -> Vec<LayerChange> {
    let mut old_by_key: HashMap<String, Vec<usize>> = HashMap::new();
    for i in 0..old.layers.len() {
        if let Some(key) = layer_key(old, i) {
            old_by_key.entry(key).or_default().push(i);
        }
    }
    let mut used = HashSet::new();
    let mut changes: Vec<LayerChange> = new
        .layers
        .iter()
        .map(|layer| {
            let key = layer_key(new, layer.index);
            // The first old layer with this content that is not matched yet.
            let old_index = key
                .as_ref()
                .and_then(|k| old_by_key.get(k))
                .and_then(|list| list.iter().copied().find(|i| !used.contains(i)));
            if let Some(i) = old_index {
                used.insert(i);
            }
            LayerChange {
                status: if old_index.is_some() {
                    Presence::Shared
                } else {
                    Presence::Added
                },
                old_index,
                new_index: Some(layer.index),
                key,
                file_bytes: layer.file_bytes,
                size_compressed: layer.size_compressed,
                created_by: layer.created_by.clone(),
            }
        })
        .collect();
    changes.extend(
        old.layers
            .iter()
            .filter(|l| !used.contains(&l.index))
            .map(|layer| LayerChange {
                status: Presence::Removed,
                old_index: Some(layer.index),
                new_index: None,
                key: layer_key(old, layer.index),
                file_bytes: layer.file_bytes,
                size_compressed: layer.size_compressed,
                created_by: layer.created_by.clone(),
            }),
    );
    changes
}

fn totals(old: &Analysis, new: &Analysis) -> Vec<Total> {
    let (a, b) = (&old.image, &new.image);
    let total = |name, old: u64, new: u64, bytes| Total {
        name,
        old: old as f64,
        new: new as f64,
        bytes,
    };
    vec![
        total("final_bytes", a.final_bytes, b.final_bytes, true),
        total("hidden_bytes", a.hidden_bytes, b.hidden_bytes, true),
        total(
            "shipped_file_bytes",
            a.total_file_bytes,
            b.total_file_bytes,
            true,
        ),
        total(
            "size_compressed",
            a.size_compressed,
            b.size_compressed,
            true,
        ),
        total(
            "size_uncompressed",
            a.size_uncompressed,
            b.size_uncompressed,
            true,
        ),
        total("final_files", a.final_files, b.final_files, false),
        total("layers", a.layer_count as u64, b.layer_count as u64, false),
        Total {
            name: "efficiency",
            old: a.efficiency,
            new: b.efficiency,
            bytes: false,
        },
    ]
}

/// Names in either list whose bytes differ, largest |delta| first.
fn deltas(
    old: impl Iterator<Item = (String, u64)>,
    new: impl Iterator<Item = (String, u64)>,
) -> Vec<Delta> {
    let mut both: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for (name, bytes) in old {
        both.entry(name).or_default().0 += bytes;
    }
    for (name, bytes) in new {
        both.entry(name).or_default().1 += bytes;
    }
    let mut out: Vec<Delta> = both
        .into_iter()
        .filter(|(_, (a, b))| a != b)
        .map(|(name, (old, new))| Delta {
            name,
            old,
            new,
            delta: signed(new, old),
        })
        .collect();
    largest_change_first(&mut out, |d| (d.delta, &d.name));
    out
}

/// Sorts by |delta|, largest first, then by name.
fn largest_change_first<T>(items: &mut [T], key: impl Fn(&T) -> (i64, &str)) {
    items.sort_by(|a, b| {
        let ((da, na), (db, nb)) = (key(a), key(b));
        db.unsigned_abs()
            .cmp(&da.unsigned_abs())
            .then_with(|| na.cmp(nb))
    });
}

fn package_changes(old: &Analysis, new: &Analysis) -> Vec<PackageChange> {
    type Key = (Ecosystem, String);
    let index = |analysis: &Analysis| -> BTreeMap<Key, usize> {
        analysis
            .attribution
            .packages
            .iter()
            .enumerate()
            .map(|(i, p)| ((p.ecosystem, p.name.clone()), i))
            .collect()
    };
    let (old_index, new_index) = (index(old), index(new));
    let keys: BTreeSet<&Key> = old_index.keys().chain(new_index.keys()).collect();
    let mut out = Vec::new();
    for key in keys {
        let a = old_index.get(key).map(|&i| &old.attribution.packages[i]);
        let b = new_index.get(key).map(|&i| &new.attribution.packages[i]);
        let bytes =
            |p: Option<&crate::attribution::Package>| p.map_or(0, |p| p.bytes + p.hidden_bytes);
        let (old_bytes, new_bytes) = (bytes(a), bytes(b));
        let status = match (a, b) {
            (None, Some(_)) => PackageStatus::Added,
            (Some(_), None) => PackageStatus::Removed,
            (Some(a), Some(b)) if a.version != b.version => PackageStatus::VersionChanged,
            (Some(_), Some(_)) if old_bytes != new_bytes => PackageStatus::Resized,
            _ => continue,
        };
        let Some(any) = b.or(a) else { continue };
        out.push(PackageChange {
            ecosystem: key.0,
            name: key.1.clone(),
            family: any.family.clone(),
            status,
            old_version: a.and_then(|p| p.version.clone()),
            new_version: b.and_then(|p| p.version.clone()),
            old_bytes,
            new_bytes,
            delta: signed(new_bytes, old_bytes),
            layers: any.layers.clone(),
        });
    }
    largest_change_first(&mut out, |p| (p.delta, &p.name));
    out
}

/// Visible files: path → (bytes, layer that added the content).
fn visible_files(analysis: &Analysis) -> HashMap<Vec<u8>, (u64, usize)> {
    let tree = &analysis.tree;
    tree.walk()
        .filter_map(|id| {
            let node = tree.node(id);
            let inode = tree.inode(node.inode?);
            Some((tree.path(id), (inode.size, inode.layer as usize)))
        })
        .collect()
}

fn path_changes(old: &Analysis, new: &Analysis, layers: &[LayerChange]) -> Vec<PathChange> {
    // New layer → the old layer with the same content.
    let shared: HashMap<usize, usize> = layers
        .iter()
        .filter_map(|c| Some((c.new_index?, c.old_index?)))
        .collect();
    let (a, b) = (visible_files(old), visible_files(new));
    let mut out = Vec::new();
    let shown = |p: &[u8]| format!("/{}", String::from_utf8_lossy(p));
    for (path, &(new_bytes, layer)) in &b {
        let status = match a.get(path) {
            None => PathStatus::Added,
            Some(&(old_bytes, _)) if new_bytes > old_bytes => PathStatus::Grown,
            Some(&(old_bytes, _)) if new_bytes < old_bytes => PathStatus::Shrunk,
            Some(&(_, old_layer)) if shared.get(&layer) != Some(&old_layer) => {
                PathStatus::Rewritten
            }
            Some(_) => continue,
        };
        let old_bytes = a.get(path).map_or(0, |&(bytes, _)| bytes);
        out.push(PathChange {
            path: shown(path),
            status,
            old_bytes,
            new_bytes,
            delta: signed(new_bytes, old_bytes),
            layer,
        });
    }
    for (path, &(old_bytes, layer)) in &a {
        if !b.contains_key(path) {
            out.push(PathChange {
                path: shown(path),
                status: PathStatus::Removed,
                old_bytes,
                new_bytes: 0,
                delta: signed(0, old_bytes),
                layer,
            });
        }
    }
    // Size changes first by how much; rewrites of equal size after them, by size.
    out.sort_by(|x, y| {
        y.delta
            .unsigned_abs()
            .cmp(&x.delta.unsigned_abs())
            .then_with(|| y.new_bytes.cmp(&x.new_bytes))
            .then_with(|| x.path.cmp(&y.path))
    });
    out
}

/// How to write a diff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DiffFormat {
    /// For a terminal.
    Text,
    /// For a pull request.
    Markdown,
    /// A JSON document (`schema_version` 1).
    Json,
}

/// The diff in `format`; `exact` prints exact byte counts.
pub fn render(diff: &ImageDiff, format: DiffFormat, exact: bool) -> String {
    match format {
        DiffFormat::Json => {
            let document = serde_json::json!({
                "schema_version": DIFF_SCHEMA_VERSION,
                "diff": diff,
            });
            let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
            text.push('\n');
            text
        }
        DiffFormat::Text | DiffFormat::Markdown => {
            tables(diff, format == DiffFormat::Markdown, exact)
        }
    }
}

fn name(side: &Side) -> String {
    side.reference.clone().unwrap_or_else(|| side.input.clone())
}

fn signed_bytes(delta: i64, exact: bool) -> String {
    let size = human_bytes(delta.unsigned_abs(), exact);
    match delta.signum() {
        1 => format!("+{size}"),
        -1 => format!("-{size}"),
        _ => "±0".to_owned(),
    }
}

/// Text and Markdown share one layout: a heading, then tables.
struct Writer {
    out: String,
    markdown: bool,
}

impl Writer {
    fn heading(&mut self, text: &str) {
        if self.markdown {
            let _ = writeln!(self.out, "\n#### {text}\n");
        } else {
            let _ = writeln!(self.out, "\n{text}");
        }
    }

    /// A table of named byte figures, old → new, with an optional last column.
    fn deltas(
        &mut self,
        heading: &str,
        label: &str,
        deltas: &[Delta],
        exact: bool,
        extra: impl Fn(&Delta) -> Option<String>,
    ) {
        if deltas.is_empty() {
            return;
        }
        self.heading(heading);
        let extras: Vec<Option<String>> = deltas.iter().map(extra).collect();
        let with_extra = extras.iter().any(Option::is_some);
        let rows: Vec<Vec<String>> = deltas
            .iter()
            .zip(extras)
            .map(|(d, extra)| {
                let mut row = vec![
                    d.name.clone(),
                    human_bytes(d.old, exact),
                    human_bytes(d.new, exact),
                    signed_bytes(d.delta, exact),
                ];
                if with_extra {
                    row.push(extra.unwrap_or_default());
                }
                row
            })
            .collect();
        let (header, right): (&[&str], &[bool]) = if with_extra {
            (
                &[label, "old", "new", "change", "fix"],
                &[false, true, true, true, false],
            )
        } else {
            (&[label, "old", "new", "change"], &[false, true, true, true])
        };
        self.table(header, right, &rows);
    }

    fn table(&mut self, header: &[&str], right: &[bool], rows: &[Vec<String>]) {
        if self.markdown {
            let cells = |row: &[String]| {
                row.iter()
                    .map(|c| markdown_cell(c))
                    .collect::<Vec<_>>()
                    .join(" | ")
            };
            let head: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
            let _ = writeln!(self.out, "| {} |", cells(&head));
            let rule: Vec<&str> = right
                .iter()
                .map(|&r| if r { "--:" } else { "---" })
                .collect();
            let _ = writeln!(self.out, "|{}|", rule.join("|"));
            for row in rows {
                let _ = writeln!(self.out, "| {} |", cells(row));
            }
            return;
        }
        // Names from the images, shown as a terminal may show them (markdown_cell does so too).
        let rows: Vec<Vec<String>> = rows
            .iter()
            .map(|row| row.iter().map(|c| escape(c).into_owned()).collect())
            .collect();
        let widths: Vec<usize> = (0..header.len())
            .map(|i| {
                rows.iter()
                    .map(|r| r[i].chars().count())
                    .chain([header[i].chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |row: &[String]| {
            let cells: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let last = i + 1 == row.len();
                    match (right[i], last) {
                        (true, _) => format!("{c:>w$}", w = widths[i]),
                        (false, true) => c.clone(),
                        (false, false) => format!("{c:<w$}", w = widths[i]),
                    }
                })
                .collect();
            format!("  {}", cells.join("  "))
        };
        let head: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
        let _ = writeln!(self.out, "{}", line(&head));
        for row in &rows {
            let _ = writeln!(self.out, "{}", line(row));
        }
    }
}

fn tables(diff: &ImageDiff, markdown: bool, exact: bool) -> String {
    let mut w = Writer {
        out: String::new(),
        markdown,
    };
    let title = format!("dive-rs diff: {} → {}", name(&diff.old), name(&diff.new));
    if markdown {
        let _ = writeln!(w.out, "### {}", markdown_cell(&title));
    } else {
        let _ = writeln!(w.out, "{}", escape(&title));
    }
    let bytes = |b: u64| human_bytes(b, exact);

    w.heading("Totals");
    let rows: Vec<Vec<String>> = diff
        .totals
        .iter()
        .map(|t| {
            let (old, new, delta) = if t.name == "efficiency" {
                (
                    format!("{:.1}%", t.old * 100.0),
                    format!("{:.1}%", t.new * 100.0),
                    format!("{:+.1} pt", (t.new - t.old) * 100.0),
                )
            } else if t.bytes {
                let (o, n) = (t.old as u64, t.new as u64);
                (bytes(o), bytes(n), signed_bytes(signed(n, o), exact))
            } else {
                (
                    format!("{}", t.old),
                    format!("{}", t.new),
                    format!("{:+}", t.new - t.old),
                )
            };
            vec![t.name.replace('_', " "), old, new, delta]
        })
        .collect();
    w.table(
        &["", "old", "new", "change"],
        &[false, true, true, true],
        &rows,
    );

    let shared = diff
        .layers
        .iter()
        .filter(|l| l.status == Presence::Shared)
        .count();
    w.heading(&format!(
        "Layers: {shared} shared, {} new, {} gone",
        diff.layers
            .iter()
            .filter(|l| l.status == Presence::Added)
            .count(),
        diff.layers
            .iter()
            .filter(|l| l.status == Presence::Removed)
            .count()
    ));
    let rows: Vec<Vec<String>> = diff
        .layers
        .iter()
        .map(|l| {
            let at = |i: Option<usize>| i.map_or_else(|| "-".to_owned(), |i| format!("L{i}"));
            vec![
                match l.status {
                    Presence::Shared => "shared",
                    Presence::Added => "new",
                    Presence::Removed => "gone",
                }
                .to_owned(),
                at(l.old_index),
                at(l.new_index),
                bytes(l.file_bytes),
                cut(
                    &l.created_by
                        .as_deref()
                        .map(clean_command)
                        .unwrap_or_default(),
                    70,
                ),
            ]
        })
        .collect();
    w.table(
        &["", "old", "new", "files", "command"],
        &[false, false, false, true, false],
        &rows,
    );

    w.deltas("Families", "family", &diff.families, exact, |_| None);

    if !diff.packages.is_empty() {
        w.heading("Packages");
        let rows: Vec<Vec<String>> = diff
            .packages
            .iter()
            .map(|p| {
                let version = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
                let what = match p.status {
                    PackageStatus::Added => format!("added {}", version(&p.new_version)),
                    PackageStatus::Removed => format!("removed {}", version(&p.old_version)),
                    PackageStatus::VersionChanged => {
                        format!("{} → {}", version(&p.old_version), version(&p.new_version))
                    }
                    PackageStatus::Resized => format!("resized {}", version(&p.new_version)),
                };
                let layers: Vec<String> = p.layers.iter().map(|l| format!("L{l}")).collect();
                vec![
                    format!("{} {}", p.ecosystem.name(), p.name),
                    what,
                    signed_bytes(p.delta, exact),
                    layers.join(","),
                ]
            })
            .collect();
        w.table(
            &["package", "change", "bytes", "layer"],
            &[false, false, true, false],
            &rows,
        );
    }

    // A class that grew gets its fix.
    w.deltas("Waste", "class", &diff.waste, exact, |d| {
        WasteClass::ALL
            .into_iter()
            .find(|c| c.name() == d.name && d.delta > 0)
            .map(|c| c.fix().to_owned())
    });

    if !diff.paths.is_empty() {
        w.heading(&format!(
            "Largest path changes ({} of {})",
            diff.paths.len(),
            diff.path_changes
        ));
        let rows: Vec<Vec<String>> = diff
            .paths
            .iter()
            .map(|p| {
                vec![
                    format!("{:?}", p.status).to_lowercase(),
                    signed_bytes(p.delta, exact),
                    format!("L{}", p.layer),
                    p.path.clone(),
                ]
            })
            .collect();
        w.table(
            &["change", "bytes", "layer", "path"],
            &[false, true, false, false],
            &rows,
        );
    }
    w.out
}

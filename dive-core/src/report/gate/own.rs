//! dive-rs's own rules (`dive-rs:` in the rules file), each measured on the analysis with
//! the evidence that explains a failure: the largest packages, paths, layers and steps.

use std::collections::HashSet;

use super::rules::{Limit, NameGlob, OwnKind, OwnRule, Rules};
use super::verdict::{Measured, RuleResult, Section, Status};
use crate::analysis::Analysis;
use crate::attribution::{Package, WasteClass, classify};
use crate::report::human_bytes;
use crate::tree::{HiddenItem, InodeId};

pub(super) fn own_result(analysis: &Analysis, rules: &Rules, rule: &OwnRule) -> RuleResult {
    let image = &analysis.image;
    let limit_text = |limit: Limit, bytes: bool| {
        let value = if bytes {
            human_bytes(limit.value, false)
        } else {
            limit.value.to_string()
        };
        format!("{} {value}", limit.symbol())
    };
    let (measured, limit, detail) = match &rule.kind {
        OwnKind::FinalSize => (
            Measured::Bytes(image.final_bytes),
            limit_text(rule.limit, true),
            format!("{} files visible in the final image", image.final_files),
        ),
        OwnKind::CompressedSize => {
            let plain = analysis
                .layers
                .iter()
                .all(|l| l.compression == crate::layer::Compression::None);
            (
                Measured::Bytes(image.size_compressed),
                limit_text(rule.limit, true),
                if plain {
                    "Σ layer blobs as stored; this input holds them uncompressed".to_owned()
                } else {
                    "Σ layer blobs as stored (what a pull downloads)".to_owned()
                },
            )
        }
        OwnKind::Layers => (
            Measured::Count(image.layer_count as u64),
            limit_text(rule.limit, false),
            "layers in the manifest".to_owned(),
        ),
        OwnKind::LargestLayer => {
            let largest = analysis
                .layers
                .iter()
                .max_by_key(|l| (l.size_uncompressed, std::cmp::Reverse(l.index)));
            (
                Measured::Bytes(largest.map_or(0, |l| l.size_uncompressed)),
                limit_text(rule.limit, true),
                largest.map_or_else(String::new, |l| {
                    format!("L{}: {}", l.index, layer_step(analysis, l.index))
                }),
            )
        }
        OwnKind::Hidden => (
            Measured::Bytes(image.hidden_bytes),
            limit_text(rule.limit, true),
            analysis
                .hidden
                .first()
                .map_or_else(|| "nothing hidden".to_owned(), largest_hidden),
        ),
        OwnKind::DuplicatePackages => {
            let twice = analysis.attribution.packages_in_several_locations();
            let detail = if twice.is_empty() {
                "every package is installed in one place".to_owned()
            } else {
                twice
                    .iter()
                    .take(5)
                    .map(|(ecosystem, name, places)| {
                        format!("{} {name} in {}", ecosystem.name(), places.join(", "))
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            (
                Measured::Count(twice.len() as u64),
                limit_text(rule.limit, false),
                detail,
            )
        }
        OwnKind::CudaOtherArchs => {
            let gpus = &rules.cuda_archs;
            let cuda = &analysis.attribution.cuda;
            let not_for = cuda.not_for(gpus);
            let names: Vec<String> = gpus.iter().map(|g| format!("sm_{g}")).collect();
            let detail = if not_for.files.is_empty() {
                format!("all device code runs on {}", names.join(", "))
            } else {
                let archs: Vec<String> =
                    not_for.by_arch.iter().map(|(a, _)| a.to_string()).collect();
                let (i, bytes) = not_for.files[0];
                format!(
                    "not for {}: {}; largest {} ({})",
                    names.join(", "),
                    archs.join(" "),
                    cuda.files[i].path,
                    human_bytes(bytes, false)
                )
            };
            (
                Measured::Bytes(not_for.bytes),
                limit_text(rule.limit, true),
                detail,
            )
        }
        OwnKind::Secrets => {
            let listed = crate::report::secrets::ordered(analysis);
            let detail = if listed.is_empty() {
                "no secret in files, history, Env, labels or provenance".to_owned()
            } else {
                let mut shown: Vec<String> = (listed.iter())
                    .filter(|s| !s.example)
                    .take(3)
                    .map(|s| crate::report::secrets::describe(s))
                    .collect();
                let examples = listed.iter().filter(|s| s.example).count();
                if examples > 0 {
                    shown.push(format!("{examples} test data or examples, not counted"));
                }
                shown.push(format!(
                    "{} findings; each distinct value counts once",
                    listed.len()
                ));
                shown.join("; ")
            };
            (
                Measured::Count(crate::report::secrets::counted(analysis)),
                limit_text(rule.limit, false),
                detail,
            )
        }
        OwnKind::Reinstalled => {
            let reinstalls = &analysis.attribution.reinstalls;
            let detail = if reinstalls.is_empty() {
                "no package is installed twice".to_owned()
            } else {
                reinstalls
                    .iter()
                    .take(3)
                    .map(|r| {
                        format!(
                            "{} {} (L{}) → {} (L{}): {}",
                            r.name,
                            r.old_version.as_deref().unwrap_or("?"),
                            r.added_in_layer,
                            r.new_version.as_deref().unwrap_or("?"),
                            r.replaced_in_layer,
                            human_bytes(r.hidden_bytes, false)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            (
                Measured::Bytes(reinstalls.iter().map(|r| r.hidden_bytes).sum()),
                limit_text(rule.limit, true),
                detail,
            )
        }
        OwnKind::Package(glob) => {
            let (bytes, detail) = package_bytes(analysis, glob);
            (Measured::Bytes(bytes), limit_text(rule.limit, true), detail)
        }
        OwnKind::Forbidden(globs) => {
            let found: Vec<&Package> = analysis
                .attribution
                .packages
                .iter()
                .filter(|p| globs.iter().any(|g| matches_package(g, p)))
                .collect();
            let names = found.iter().map(|p| p.name.clone()).collect();
            let patterns: Vec<&str> = globs.iter().map(|g| g.text.as_str()).collect();
            let detail = if found.is_empty() {
                format!("no package matches {}", patterns.join(", "))
            } else {
                found
                    .iter()
                    .take(5)
                    .map(|p| package_line(p))
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            (Measured::Names(names), "none installed".to_owned(), detail)
        }
        OwnKind::Waste(class) => {
            let (bytes, detail) = waste_bytes(analysis, *class);
            (Measured::Bytes(bytes), limit_text(rule.limit, true), detail)
        }
        OwnKind::Path(glob) => {
            let (bytes, detail) = path_bytes(analysis, glob);
            (Measured::Bytes(bytes), limit_text(rule.limit, true), detail)
        }
    };
    let status = match (&rule.kind, &measured) {
        (OwnKind::Forbidden(_), Measured::Names(names)) if !names.is_empty() => Status::Fail,
        (OwnKind::Forbidden(_), _) => Status::Pass,
        (_, Measured::Bytes(n) | Measured::Count(n)) if !rule.limit.holds(*n) => Status::Fail,
        _ => Status::Pass,
    };
    RuleResult {
        rule: rule.name.clone(),
        section: Section::DiveRs,
        status,
        measured,
        limit,
        detail,
    }
}

fn layer_step(analysis: &Analysis, layer: usize) -> String {
    analysis
        .layers
        .get(layer)
        .and_then(|l| l.created_by.as_deref())
        .map(crate::report::text::clean_command)
        .map_or_else(String::new, |c| crate::report::cut(&c, 80))
}

fn layers_text(layers: &[usize]) -> String {
    layers
        .iter()
        .map(|l| format!("L{l}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn package_line(p: &Package) -> String {
    let version = p
        .version
        .as_deref()
        .map_or_else(String::new, |v| format!(" {v}"));
    let hidden = if p.hidden_bytes > 0 {
        format!(" + {} hidden", human_bytes(p.hidden_bytes, false))
    } else {
        String::new()
    };
    format!(
        "{} {}{version} {}{hidden} ({})",
        p.ecosystem.name(),
        p.name,
        human_bytes(p.bytes, false),
        layers_text(&p.layers)
    )
}

fn matches_package(glob: &NameGlob, package: &Package) -> bool {
    if glob.family_only {
        return package.family.as_deref().is_some_and(|f| {
            glob.glob
                .is_match(crate::attribution::families::normalise(f))
        });
    }
    glob.ecosystem.is_none_or(|e| e == package.ecosystem)
        && glob
            .glob
            .is_match(crate::attribution::families::normalise(&package.name))
}

/// Bytes shipped (visible + hidden) by a family, else by packages, matching `glob`.
fn package_bytes(analysis: &Analysis, glob: &NameGlob) -> (u64, String) {
    let attribution = &analysis.attribution;
    let families: Vec<&str> = if glob.package_only {
        Vec::new()
    } else {
        attribution
            .families
            .iter()
            .filter(|f| {
                glob.glob
                    .is_match(crate::attribution::families::normalise(&f.name))
            })
            .map(|f| f.name.as_str())
            .collect()
    };
    let members: Vec<&Package> = attribution
        .packages
        .iter()
        .filter(|p| {
            if families.is_empty() {
                !glob.family_only && matches_package(glob, p)
            } else {
                p.family.as_deref().is_some_and(|f| families.contains(&f))
            }
        })
        .collect();
    let visible: u64 = members.iter().map(|p| p.bytes).sum();
    let hidden: u64 = members.iter().map(|p| p.hidden_bytes).sum();
    if members.is_empty() {
        return (0, format!("no package or family matches {:?}", glob.text));
    }
    let what = if families.is_empty() {
        format!("{} package(s)", members.len())
    } else {
        format!(
            "family {}: {} package(s)",
            families.join(", "),
            members.len()
        )
    };
    let top: Vec<String> = members.iter().take(3).map(|p| package_line(p)).collect();
    (
        visible + hidden,
        format!(
            "{what}, {} visible + {} hidden; {}",
            human_bytes(visible, false),
            human_bytes(hidden, false),
            top.join("; ")
        ),
    )
}

/// Bytes shipped (visible + hidden) under paths matching `glob`.
fn path_bytes(analysis: &Analysis, glob: &globset::GlobMatcher) -> (u64, String) {
    let tree = &analysis.tree;
    let mut seen = HashSet::new();
    let (mut visible, mut files, mut layers) = (0u64, 0u64, Vec::new());
    for id in tree.walk() {
        let node = tree.node(id);
        let Some(inode) = node.inode else { continue };
        if !glob.is_match(std::path::Path::new(&*String::from_utf8_lossy(
            &tree.path(id),
        ))) || !seen.insert(inode)
        {
            continue;
        }
        let content = tree.inode(inode);
        visible += content.size;
        files += 1;
        if !layers.contains(&(content.layer as usize)) {
            layers.push(content.layer as usize);
        }
    }
    let (mut hidden, mut hidden_files) = (0u64, 0u64);
    for item in &analysis.hidden {
        if glob.is_match(std::path::Path::new(&*String::from_utf8_lossy(&item.path))) {
            hidden += item.bytes;
            hidden_files += 1;
            if !layers.contains(&item.added_in_layer) {
                layers.push(item.added_in_layer);
            }
        }
    }
    layers.sort_unstable();
    let detail = if files + hidden_files == 0 {
        "no file matches".to_owned()
    } else {
        format!(
            "{files} visible files {} + {hidden_files} hidden {}, added by {}",
            human_bytes(visible, false),
            human_bytes(hidden, false),
            layers_text(&layers)
        )
    };
    (visible + hidden, detail)
}

/// Bytes shipped in a waste class: visible ones, plus hidden files of that kind (a cache
/// deleted in a later layer still ships in the layer that wrote it).
fn waste_bytes(analysis: &Analysis, class: WasteClass) -> (u64, String) {
    let attribution = &analysis.attribution;
    let waste = attribution.waste.iter().find(|w| w.class == class);
    let visible = waste.map_or(0, |w| w.bytes);
    let family = |inode: InodeId| {
        let owner = attribution
            .inode_owner
            .get(inode.0 as usize)
            .copied()
            .flatten()?;
        attribution.packages.get(owner as usize)?.family.as_deref()
    };
    let hidden: Vec<&HiddenItem> = analysis
        .hidden
        .iter()
        .filter(|h| classify(&h.path, family(h.inode)) == Some(class))
        .collect();
    let hidden_bytes: u64 = hidden.iter().map(|h| h.bytes).sum();
    let largest = match (waste.and_then(|w| w.top_paths.first()), hidden.first()) {
        (Some(top), Some(h)) if h.bytes > top.bytes => None,
        (Some(top), _) => Some(format!(
            "largest: {} {} (L{})",
            top.path,
            human_bytes(top.bytes, false),
            top.layer
        )),
        _ => None,
    }
    .or_else(|| hidden.first().map(|h| largest_hidden(h)));
    let detail = match largest {
        None => format!("none found; the fix when it appears: {}", class.fix()),
        Some(largest) => format!(
            "{} visible + {} hidden by a later layer; {largest}; fix: {}",
            human_bytes(visible, false),
            human_bytes(hidden_bytes, false),
            class.fix()
        ),
    };
    (visible + hidden_bytes, detail)
}

fn largest_hidden(h: &HiddenItem) -> String {
    format!(
        "largest: /{} {} (added by L{}, hidden by L{})",
        String::from_utf8_lossy(&h.path),
        human_bytes(h.bytes, false),
        h.added_in_layer,
        h.hidden_by_layer
    )
}

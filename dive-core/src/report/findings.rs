//! The findings of an image, largest saving first: one per waste class, reinstalls,
//! duplicates and GPU code. Savings come from the ledger (waste classes, whose bytes are
//! disjoint), never from estimates.

use super::finding::Finding;
use super::text::{clean_command, cut, human_bytes};
use crate::analysis::Analysis;
use crate::attribution::{DuplicateCause, Waste, WasteClass};
use crate::escape::escape;

fn title(class: WasteClass) -> &'static str {
    match class {
        WasteClass::PipCache => "pip's download cache is in the image",
        WasteClass::UvCache => "uv's cache is in the image",
        WasteClass::PoetryCache => "poetry's cache is in the image",
        WasteClass::CondaPkgs => "conda's package cache is in the image",
        WasteClass::NpmCache => "the npm/yarn cache is in the image",
        WasteClass::AptArchives => "apt's downloaded .deb files are in the image",
        WasteClass::AptLists => "apt's package lists are in the image",
        WasteClass::ApkCache => "apk's package cache is in the image",
        WasteClass::DnfCache => "dnf's (yum's) metadata and package cache is in the image",
        WasteClass::ZypperCache => "zypper's package cache is in the image",
        WasteClass::ModelWeights => "model weights are baked into the image",
        WasteClass::Pycache => "compiled Python bytecode (__pycache__) is in the image",
        WasteClass::Tests => "test suites of installed Python packages are in the image",
        WasteClass::Toolchain => "a build toolchain is in the final image",
        WasteClass::StaticLibs => "static libraries (*.a) are in the image",
        WasteClass::Headers => "C/C++ headers are in the image",
        WasteClass::DebugInfo => "ELF libraries and executables carry debug info and symbols",
        WasteClass::Duplicate => "identical files ship at several paths",
        WasteClass::HiddenOverwritten => {
            "files overwritten by later layers still ship every version"
        }
        WasteClass::HiddenMetadataOnly => {
            "files rewritten with the same content (chmod/chown) ship twice"
        }
        WasteClass::HiddenDeleted => {
            "files deleted by later layers still ship in the layer that added them"
        }
    }
}

/// Findings of an image, largest saving first; conditional ones last.
pub fn findings(analysis: &Analysis) -> Vec<Finding> {
    let size = |b: u64| human_bytes(b, false);
    let command = |layer: usize| {
        let step = analysis
            .layers
            .get(layer)
            .and_then(|l| l.created_by.as_deref())
            .unwrap_or("");
        let line = analysis
            .dockerfile_line(layer)
            .map(|(file, line)| format!(" (line {line} of {})", escape(file)))
            .unwrap_or_default();
        cut(&clean_command(step), 90) + &line
    };
    let mut out: Vec<Finding> = analysis
        .attribution
        .waste
        .iter()
        // Duplicates are told by cause, each with its own fix.
        .filter(|waste| waste.class != WasteClass::Duplicate)
        .map(|waste| {
            let mut evidence = Vec::new();
            if waste.class == WasteClass::Toolchain {
                let packages: Vec<String> = analysis
                    .attribution
                    .packages
                    .iter()
                    .filter(|p| p.family.as_deref() == Some("toolchain") && p.bytes > 0)
                    .take(6)
                    .map(|p| format!("{} {}", p.name, size(p.bytes)))
                    .collect();
                evidence.push(format!("packages: {}", packages.join(", ")));
            }
            evidence.push(paths_line(waste, &size));
            evidence.extend(layers_lines(waste, &size, &command));
            let mut finding = Finding {
                title: title(waste.class).to_owned(),
                class: Some(waste.class),
                saving: waste.bytes,
                conditional: false,
                when: None,
                evidence,
                fix: waste.fix.to_owned(),
            };
            in_base(&mut finding, waste, analysis, &size);
            finding
        })
        .collect();
    out.extend(duplicate_findings(analysis, &size));
    reinstall_finding(&mut out, analysis, &size, &command);
    out.extend(super::gpu_code::findings(analysis, &size));
    out.sort_by(|a, b| {
        a.conditional
            .cmp(&b.conditional)
            .then(b.saving.cmp(&a.saving))
    });
    out
}

/// Says which part of a finding's bytes the base image added: all of it means the fix is
/// a slimmer base (or a change where the base is built), not a change of this Dockerfile.
/// Hidden classes are left alone: the layer that hides is this image's own.
fn in_base(
    finding: &mut Finding,
    waste: &Waste,
    analysis: &Analysis,
    size: &dyn Fn(u64) -> String,
) {
    let base_layers = analysis.base_layer_count();
    let hidden_class = matches!(
        waste.class,
        WasteClass::HiddenOverwritten | WasteClass::HiddenMetadataOnly | WasteClass::HiddenDeleted
    );
    if base_layers == 0 || hidden_class {
        return;
    }
    let bytes: u64 = waste
        .by_layer
        .iter()
        .filter(|l| l.layer < base_layers)
        .map(|l| l.bytes)
        .sum();
    if bytes == 0 {
        return;
    }
    let name = analysis
        .image
        .base
        .as_ref()
        .and_then(|b| b.name.as_deref())
        .map_or_else(|| "the base image".to_owned(), |n| escape(n).into_owned());
    if bytes >= waste.bytes {
        finding.title.push_str(" (from the base image)");
        finding.fix = format!(
            "it comes with the base image {name}: choose a slimmer base, or fix it where the \
             base is built ({})",
            finding.fix
        );
    } else {
        finding
            .evidence
            .push(format!("{} of it from the base image {name}", size(bytes)));
    }
}

/// Packages a later layer installed again: their hidden bytes move out of the hidden
/// classes' findings into one of their own, so savings stay disjoint. The evidence says what
/// counts as installed again, so that a reader can tell it from a rewritten database.
fn reinstall_finding(
    out: &mut Vec<Finding>,
    analysis: &Analysis,
    size: &dyn Fn(u64) -> String,
    command: &dyn Fn(usize) -> String,
) {
    let reinstalls = &analysis.attribution.reinstalls;
    if reinstalls.is_empty() {
        return;
    }
    let mut by_class: std::collections::BTreeMap<WasteClass, u64> =
        std::collections::BTreeMap::new();
    for reinstall in reinstalls {
        for &(class, bytes) in &reinstall.by_class {
            *by_class.entry(class).or_default() += bytes;
        }
    }
    for finding in out.iter_mut() {
        if let Some(bytes) = finding.class.and_then(|c| by_class.get(&c)) {
            finding.saving = finding.saving.saturating_sub(*bytes);
            finding.evidence.push(format!(
                "{} more are packages installed again (their own finding)",
                size(*bytes)
            ));
        }
    }
    out.retain(|f| {
        f.saving > 0 || f.conditional || !f.class.is_some_and(|c| by_class.contains_key(&c))
    });
    let version = |v: &Option<String>| v.clone().unwrap_or_else(|| "?".to_owned());
    let mut evidence: Vec<String> = reinstalls
        .iter()
        .take(5)
        .map(|r| {
            let what = if r.old_version == r.new_version {
                format!("installed again at {}", version(&r.new_version))
            } else {
                format!("replaced by {}", version(&r.new_version))
            };
            format!(
                "{} {} from layer {} is {what} in layer {}: {} ships twice",
                r.name,
                version(&r.old_version),
                r.added_in_layer,
                r.replaced_in_layer,
                size(r.hidden_bytes)
            )
        })
        .collect();
    if let Some(first) = reinstalls.first() {
        evidence.push(format!(
            "layer {}: {}",
            first.added_in_layer,
            command(first.added_in_layer)
        ));
        evidence.push(format!(
            "layer {}: {}",
            first.replaced_in_layer,
            command(first.replaced_in_layer)
        ));
    }
    evidence.push(crate::attribution::REINSTALL_RULE.to_owned());
    let class = by_class
        .iter()
        .max_by_key(|(_, bytes)| **bytes)
        .map(|(class, _)| *class);
    out.push(Finding {
        title: "packages installed by one layer are installed again by a later one".to_owned(),
        class,
        saving: reinstalls.iter().map(|r| r.hidden_bytes).sum(),
        conditional: false,
        when: None,
        evidence,
        fix: "install each package once, at its final version: pin it where it is first installed, or install everything in one RUN".to_owned(),
    });
}

/// The duplicate groups told by cause: the same package in two environments, a library
/// vendored by several packages, copies inside one package, other identical files. The
/// saving is what the waste class counts (never bytes another class holds); the groups'
/// whole reclaimable bytes are said beside it when they differ.
fn duplicate_findings(analysis: &Analysis, size: &dyn Fn(u64) -> String) -> Vec<Finding> {
    let attribution = &analysis.attribution;
    let package = |owner: Option<u32>| owner.and_then(|p| attribution.packages.get(p as usize));
    let causes = [
        (
            DuplicateCause::TwoEnvironments,
            "the same packages are installed in more than one environment",
        ),
        (
            DuplicateCause::Vendored,
            "several packages ship identical files (vendored copies)",
        ),
        (
            DuplicateCause::WithinPackage,
            "packages ship identical copies of their own files",
        ),
        (
            DuplicateCause::Other,
            "identical files are shipped at several paths",
        ),
    ];
    let mut out = Vec::new();
    for (cause, title) in causes {
        let groups: Vec<_> = attribution
            .duplicates
            .iter()
            .filter(|g| g.cause == cause)
            .collect();
        if groups.is_empty() {
            continue;
        }
        let counted: u64 = groups.iter().map(|g| g.counted_bytes).sum();
        let reclaimable: u64 = groups.iter().map(|g| g.reclaimable_bytes).sum();
        let copies: usize = groups.iter().map(|g| g.count).sum();
        let count = match groups.len() {
            1 => "1 group".to_owned(),
            n => format!("{n} groups"),
        };
        let mut evidence = vec![if counted == reclaimable {
            format!(
                "{count}, {copies} copies: {} reclaimable",
                size(reclaimable)
            )
        } else {
            format!(
                "{count}, {copies} copies: {} reclaimable, {} of it already counted in other classes",
                size(reclaimable),
                size(reclaimable - counted)
            )
        }];
        for group in groups.iter().take(3) {
            let name = group
                .paths
                .first()
                .and_then(|p| p.rsplit('/').next())
                .unwrap_or_default();
            let mut owners: Vec<String> = group
                .owners
                .iter()
                .zip(&group.paths)
                .map(|(&owner, path)| match (cause, package(owner)) {
                    (DuplicateCause::TwoEnvironments, Some(p)) => {
                        format!("{} in {}", p.name, p.location)
                    }
                    (DuplicateCause::Vendored, Some(p)) => p.name.clone(),
                    _ => path.clone(),
                })
                .collect();
            owners.dedup();
            evidence.push(format!(
                "{name} ({} × {}): {}",
                size(group.size),
                group.count,
                owners.join(", ")
            ));
        }
        out.push(Finding {
            title: title.to_owned(),
            class: Some(WasteClass::Duplicate),
            saving: counted,
            conditional: false,
            when: None,
            evidence,
            fix: cause.fix().to_owned(),
        });
    }
    out
}

fn paths_line(waste: &Waste, size: &dyn Fn(u64) -> String) -> String {
    let top: Vec<String> = waste
        .top_paths
        .iter()
        .take(3)
        .map(|p| format!("{} ({})", p.path, size(p.bytes)))
        .collect();
    let files = if waste.files == 1 {
        "1 file".to_owned()
    } else {
        format!("{} files", waste.files)
    };
    format!("{files}, largest: {}", top.join(", "))
}

fn layers_lines(
    waste: &Waste,
    size: &dyn Fn(u64) -> String,
    command: &dyn Fn(usize) -> String,
) -> Vec<String> {
    let mut by_layer = waste.by_layer.clone();
    by_layer.sort_by_key(|l| std::cmp::Reverse(l.bytes));
    let mut lines: Vec<String> = by_layer
        .iter()
        .take(2)
        .map(|l| {
            format!(
                "added by layer {} ({}): {}",
                l.layer,
                size(l.bytes),
                command(l.layer)
            )
        })
        .collect();
    let mut hiders: Vec<usize> = waste
        .top_paths
        .iter()
        .filter_map(|p| p.hidden_by_layer)
        .collect();
    hiders.dedup();
    lines.extend(
        hiders
            .into_iter()
            .take(2)
            .map(|l| format!("hidden by layer {l}: {}", command(l))),
    );
    lines
}

//! The CPU index rule (`--cpu-only`): the user says the image runs without a GPU, so the
//! `RUN` that installed a CUDA build of PyTorch gets PyTorch's CPU wheel index
//! (`--extra-index-url https://download.pytorch.org/whl/cpu`; a `+cpu` build of the same
//! version sorts above the plain one, so pip takes it). Only where the image's device code
//! agrees: every file with device code must be one a CPU build does not install (the
//! `nvidia`/`cuda` wheels and triton that torch pulled into that layer, torch's own CUDA
//! libraries) or a CUDA package that stays by the user's own naming (said in one note).
//! Only where the `RUN`'s own words say what pip reads: no requirements or constraints
//! file, no URL, no `PIP_*` setting in the Dockerfile and no `pip.conf` in the image (any of
//! them may pin a CUDA build or choose the index).
//!
//! The saving is the ledger's bytes of what a CPU build leaves out: those packages' files
//! and torch's CUDA libraries. The CPU wheel's other files differ in size from the CUDA
//! wheel's and are not counted.
//!
//! Budget: one pass over the packages, grouping torches by the layer that wrote them; one
//! pass over the files with device code; each torch's `lib` directory's children once.

use std::collections::{BTreeMap, HashSet};

use super::model::{PackageBytes, new_fix};
use super::rules::Rules;
use super::shell;
use crate::attribution::{Ecosystem, is_torch_cuda_library};
use crate::dockerfile::Keyword;

/// PyTorch's CPU wheel index.
const CPU_INDEX: &str = "https://download.pytorch.org/whl/cpu";

/// Families whose wheels a CUDA build of torch pulls in and a CPU build does not.
const CUDA_FAMILIES: [&str; 3] = ["nvidia", "cuda", "triton"];

/// Where pip reads settings that may choose the index or pin a CUDA build.
const PIP_CONFIGS: [&[u8]; 4] = [
    b"etc/pip.conf",
    b"etc/xdg/pip/pip.conf",
    b"root/.pip/pip.conf",
    b"root/.config/pip/pip.conf",
];

/// Words of a `RUN` that let pip read more than its own words say.
const PIP_INPUTS: [&str; 8] = [
    "-r",
    "--requirement",
    "-c",
    "--constraint",
    "--index-url",
    "--extra-index-url",
    "-i",
    "--find-links",
];

impl Rules<'_> {
    /// `--extra-index-url` of PyTorch's CPU wheels for each `RUN` that installed a CUDA
    /// build of torch, when the user says the image runs without a GPU.
    pub(super) fn cpu_index(&mut self) {
        if !self.cpu_only {
            return;
        }
        let packages = &self.analysis.attribution.packages;
        let mut by_layer: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (p, package) in packages.iter().enumerate() {
            if package.ecosystem == Ecosystem::Pip
                && package.name.eq_ignore_ascii_case("torch")
                && package.bytes > 0
            {
                let first = package.layers.first().copied().unwrap_or_default();
                by_layer.entry(first).or_default().push(p);
            }
        }
        if by_layer.is_empty() {
            self.notes
                .push("--cpu-only: the image holds no torch to take from the CPU index".into());
            return;
        }
        if let Some(why) = self.pip_configured() {
            self.notes.push(format!("--cpu-only: {why}"));
            return;
        }
        let mut dropped_all: Option<HashSet<usize>> = None;
        for (layer, torches) in by_layer {
            match self.cpu_layer(layer, &torches) {
                Ok(dropped) => dropped_all.get_or_insert_default().extend(dropped),
                Err(why) => self.notes.push(format!("--cpu-only: {why}")),
            }
        }
        // Said only beside an edit: without one, nothing about them changes.
        if let Some(dropped) = dropped_all {
            self.staying_note(&dropped);
        }
    }

    /// Why pip may read settings the `RUN`s do not show, if it may.
    fn pip_configured(&self) -> Option<String> {
        let tree = &self.analysis.tree;
        if let Some(config) = PIP_CONFIGS.iter().find(|c| tree.lookup(c).is_some()) {
            return Some(format!(
                "the image has /{}, which may choose pip's index: set PyTorch's CPU index \
                 ({CPU_INDEX}) there by hand",
                String::from_utf8_lossy(config)
            ));
        }
        let setting = self.dockerfile.instructions.iter().find(|i| {
            matches!(i.keyword, Keyword::Env | Keyword::Arg)
                && self
                    .dockerfile
                    .slice(&i.arguments)
                    .to_ascii_uppercase()
                    .contains("PIP_")
        })?;
        Some(format!(
            "line {} sets pip's configuration (PIP_*): set PyTorch's CPU index ({CPU_INDEX}) \
             there by hand",
            self.line(setting)
        ))
    }

    /// The edit for the torches `torches` that layer `layer` wrote, or why there is none;
    /// the packages it keeps out.
    fn cpu_layer(&mut self, layer: usize, torches: &[usize]) -> Result<Vec<usize>, String> {
        let analysis = self.analysis;
        let attribution = &analysis.attribution;
        // Its layer, and later ones only where a fold moves their commands into its `RUN`
        // (a `chmod` of its files, say): on a CPU build they run where torch is installed.
        let folded = |later: usize| {
            self.fixes
                .iter()
                .any(|f| f.layer == layer && f.folds_layer == Some(later))
        };
        for &torch in torches {
            let package = &attribution.packages[torch];
            if !package.layers[1..].iter().all(|&l| folded(l)) {
                return Err(format!(
                    "torch in {} was written by layers {:?}: a later step changes its files, \
                     and would fail or differ on a CPU build",
                    crate::escape::escape(&package.location),
                    package.layers
                ));
            }
        }
        let (index, run) = self
            .instruction(layer)
            .ok_or_else(|| format!("torch's layer {layer} comes from the base image"))?;
        let line = self.line(run);
        let command = self
            .shell_run(index)
            .ok_or_else(|| format!("the RUN at line {line} is not a shell-form RUN fix edits"))?;
        let raw = self.dockerfile.slice(&run.arguments);
        let installs = shell::pip_installs(raw, self.dockerfile.escape);
        if installs.is_empty() || installs.len() != shell::pip_runs(&command) {
            return Err(format!(
                "the RUN at line {line} runs pip in a way fix does not read (each `pip install` \
                 must be plain)"
            ));
        }
        let words: Vec<&str> = command.split_whitespace().collect();
        if let Some(input) = words.iter().find(|w| {
            PIP_INPUTS
                .iter()
                .any(|i| *w == i || w.starts_with(&format!("{i}=")))
                || w.contains("://")
                || w.to_ascii_uppercase().contains("PIP_")
        }) {
            return Err(format!(
                "the RUN at line {line} gives pip `{}`, which may choose the index or pin a \
                 CUDA build: set PyTorch's CPU index ({CPU_INDEX}) there by hand",
                crate::escape::escape(input)
            ));
        }
        // torch's CUDA libraries: what makes it a CUDA build.
        let tree = &analysis.tree;
        let mut libraries = Vec::new();
        for &torch in torches {
            let location = attribution.packages[torch].location.trim_matches('/');
            let dir = format!("{location}/torch/lib");
            let Some(lib) = tree.lookup(dir.as_bytes()) else {
                continue;
            };
            for &child in tree.node(lib).children() {
                let node = tree.node(child);
                if node.files == 1 && is_torch_cuda_library(tree.name(child)) {
                    libraries.push((child, node.bytes));
                }
            }
        }
        if libraries.is_empty() {
            return Err(format!(
                "the torch the RUN at line {line} installed has no CUDA libraries: it is a CPU \
                 build already"
            ));
        }
        let named: HashSet<String> = words
            .iter()
            .map(|w| {
                let name = w
                    .split(['=', '<', '>', '~', '!', '[', ';'])
                    .next()
                    .unwrap_or(w);
                crate::attribution::families::normalise(name)
            })
            .collect();
        let cuda_family = |p: usize| {
            attribution.packages[p]
                .family
                .as_deref()
                .is_some_and(|f| CUDA_FAMILIES.contains(&f))
        };
        // What a CPU build does not install: the CUDA wheels torch pulled into its layer.
        let dropped: HashSet<usize> = (0..attribution.packages.len())
            .filter(|&p| {
                let other = &attribution.packages[p];
                other.ecosystem == Ecosystem::Pip
                    && cuda_family(p)
                    && other.layers == [layer]
                    && !named.contains(&crate::attribution::families::normalise(&other.name))
            })
            .collect();
        let library_nodes: HashSet<_> = libraries.iter().map(|(node, _)| *node).collect();
        // Device code anywhere else must be in CUDA packages, which stay by the user's
        // choice (named in a RUN, or installed by another step).
        for file in &attribution.cuda.files {
            let owner = file.owner.map(|o| o as usize);
            let dropped_here =
                library_nodes.contains(&file.node) || owner.is_some_and(|o| dropped.contains(&o));
            if !dropped_here && !owner.is_some_and(cuda_family) {
                return Err(format!(
                    "{} holds GPU device code outside torch and the CUDA wheels: a CPU build \
                     of torch would not serve it",
                    crate::escape::escape(&file.path)
                ));
            }
        }
        let mut parts: Vec<PackageBytes> = Vec::new();
        let mut order: Vec<usize> = dropped.iter().copied().collect();
        order.sort_unstable();
        for &p in &order {
            let other = &attribution.packages[p];
            if other.hidden_bytes > 0 {
                return Err(format!(
                    "a later step deletes or rewrites files of {}: those bytes are listed with \
                     that step",
                    crate::escape::escape(&other.name)
                ));
            }
            parts.push(PackageBytes {
                name: other.name.clone(),
                bytes: other.bytes,
            });
        }
        parts.push(PackageBytes {
            name: "torch (its CUDA libraries)".into(),
            bytes: libraries.iter().map(|(_, b)| b).sum(),
        });
        let edits = self.flags_at(run, &installs, &format!(" --extra-index-url {CPU_INDEX}"));
        let fix = new_fix(
            format!(
                "PyTorch's CPU wheels (--extra-index-url {CPU_INDEX}) at line {line}: the \
                 saving counts what a CPU build leaves out; torch's other files differ in size"
            ),
            Vec::new(),
            layer,
            line,
            "RUN",
            None,
        )
        .dropping("cpu-index", parts);
        if !self.take(fix, edits, None) {
            return Err(format!("the RUN at line {line} has another edit there"));
        }
        Ok(order)
    }

    /// One note for the CUDA wheels that stay: named by a `RUN`, or installed apart from
    /// torch.
    fn staying_note(&mut self, dropped: &HashSet<usize>) {
        let attribution = &self.analysis.attribution;
        let mut staying: Vec<(u64, &str)> = attribution
            .packages
            .iter()
            .enumerate()
            .filter(|&(p, package)| {
                package.ecosystem == Ecosystem::Pip
                    && package
                        .family
                        .as_deref()
                        .is_some_and(|f| CUDA_FAMILIES.contains(&f))
                    && package.bytes > 0
                    && !dropped.contains(&p)
            })
            .map(|(_, package)| (package.bytes, package.name.as_str()))
            .collect();
        if staying.is_empty() {
            return;
        }
        staying.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        let named: Vec<String> = staying
            .iter()
            .map(|(bytes, name)| {
                let size = crate::report::human_bytes(*bytes, false);
                format!("{} ({size})", crate::escape::escape(name))
            })
            .collect();
        self.notes.push(format!(
            "--cpu-only: {} stay: a RUN names them or installs them apart from torch, whatever \
             torch's build; drop them there if nothing needs them",
            named.join(", ")
        ));
    }
}

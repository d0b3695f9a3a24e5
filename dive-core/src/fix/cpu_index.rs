//! The CPU index rule (`--cpu-only`): the user says the image runs without a GPU, so the
//! `RUN` that installed a CUDA build of PyTorch gets PyTorch's CPU wheel index
//! (`--extra-index-url https://download.pytorch.org/whl/cpu`; a `+cpu` build of the same
//! version sorts above the plain one, so pip takes it). Only where the image's device code
//! agrees: every file with device code must be one a CPU build does not install (the
//! `nvidia`/`cuda` wheels and triton that torch pulled into that layer, torch's own CUDA
//! libraries) or a CUDA package that stays by the user's own naming (listed in a note).
//!
//! The saving is the ledger's bytes of what a CPU build leaves out: those packages (their
//! files, visible and hidden) and torch's CUDA libraries. The CPU wheel's other files differ
//! in size from the CUDA wheel's and are not counted.
//!
//! Budget: one pass over the packages and the device-code files; each torch's `lib`
//! directory's children once.

use super::model::{PackageBytes, new_fix};
use super::patch::Edit;
use super::rules::Rules;
use super::shell;
use crate::attribution::{Ecosystem, is_torch_cuda_library};

/// PyTorch's CPU wheel index.
const CPU_INDEX: &str = "https://download.pytorch.org/whl/cpu";

/// Families whose wheels a CUDA build of torch pulls in and a CPU build does not.
const CUDA_FAMILIES: [&str; 3] = ["nvidia", "cuda", "triton"];

impl Rules<'_> {
    /// `--extra-index-url` of PyTorch's CPU wheels for each `RUN` that installed a CUDA
    /// build of torch, when the user says the image runs without a GPU.
    pub(super) fn cpu_index(&mut self) {
        if !self.cpu_only {
            return;
        }
        let packages = &self.analysis.attribution.packages;
        let torches: Vec<usize> = (0..packages.len())
            .filter(|&p| {
                packages[p].ecosystem == Ecosystem::Pip
                    && packages[p].name.eq_ignore_ascii_case("torch")
                    && packages[p].bytes > 0
            })
            .collect();
        if torches.is_empty() {
            self.notes
                .push("--cpu-only: the image holds no torch to take from the CPU index".into());
        }
        for torch in torches {
            if let Err(why) = self.cpu_torch(torch) {
                self.notes.push(format!("--cpu-only: {why}"));
            }
        }
    }

    /// The edit for torch package `torch`, or why there is none.
    fn cpu_torch(&mut self, torch: usize) -> Result<(), String> {
        let analysis = self.analysis;
        let attribution = &analysis.attribution;
        let package = &attribution.packages[torch];
        // Its layer, and later ones only where a fold moves their commands into its `RUN`
        // (a `chmod` of its files, say): on a CPU build they run where torch is installed.
        let folded = |later: usize, into: usize| {
            self.fixes
                .iter()
                .any(|f| f.layer == into && f.folds_layer == Some(later))
        };
        let (&layer, later) = package
            .layers
            .split_first()
            .ok_or_else(|| "torch owns no files".to_owned())?;
        if !later.iter().all(|&l| folded(l, layer)) {
            return Err(format!(
                "torch in {} was written by layers {:?}: a later step changes its files, and \
                 would fail or differ on a CPU build",
                crate::escape::escape(&package.location),
                package.layers
            ));
        }
        let (index, run) = self
            .instruction(layer)
            .ok_or_else(|| format!("torch's layer {layer} comes from the base image"))?;
        let line = self.line(run);
        let command = self
            .shell_run(index)
            .ok_or_else(|| format!("the RUN at line {line} is not a shell-form RUN fix edits"))?;
        let raw = self.dockerfile.slice(&run.arguments);
        let installs = shell::pip_installs(raw);
        if installs.is_empty() || installs.len() != shell::pip_runs(&command) {
            return Err(format!(
                "the RUN at line {line} runs pip in a way fix does not read (each `pip install` \
                 must be plain)"
            ));
        }
        if [
            "--index-url",
            "--extra-index-url",
            "-i ",
            "download.pytorch.org",
            "PIP_INDEX",
        ]
        .iter()
        .any(|i| command.contains(i))
        {
            return Err(format!(
                "the RUN at line {line} chooses its package index already: set PyTorch's CPU \
                 index ({CPU_INDEX}) there by hand"
            ));
        }
        // torch's CUDA libraries, and whether this is a CUDA build at all.
        let dir = format!("{}/torch/lib", package.location.trim_matches('/'));
        let tree = &analysis.tree;
        let mut libraries = Vec::new();
        if let Some(lib) = tree.lookup(dir.as_bytes()) {
            for &child in tree.node(lib).children() {
                let node = tree.node(child);
                if node.files == 1 && is_torch_cuda_library(tree.name(child)) {
                    libraries.push((child, node.bytes));
                }
            }
        }
        if libraries.is_empty() {
            return Err(format!(
                "torch in /{} has no CUDA libraries: it is a CPU build already",
                crate::escape::escape(&dir)
            ));
        }
        let words: Vec<String> = command
            .split_whitespace()
            .map(crate::attribution::families::normalise)
            .collect();
        let named = |name: &str| {
            let name = crate::attribution::families::normalise(name);
            words.iter().any(|w| {
                w == &name
                    || w.strip_prefix(name.as_str())
                        .is_some_and(|rest| rest.starts_with(['=', '<', '>', '~', '!', '[', ';']))
            })
        };
        let cuda_family = |p: usize| {
            attribution.packages[p]
                .family
                .as_deref()
                .is_some_and(|f| CUDA_FAMILIES.contains(&f))
        };
        // What a CPU build does not install: the CUDA wheels torch pulled into its layer.
        let dropped: Vec<usize> = (0..attribution.packages.len())
            .filter(|&p| {
                let other = &attribution.packages[p];
                other.ecosystem == Ecosystem::Pip
                    && cuda_family(p)
                    && other.layers == [layer]
                    && !named(&other.name)
            })
            .collect();
        // Device code anywhere else must be in CUDA packages, which stay by the user's
        // choice (named in a RUN, or installed by another step).
        for file in &attribution.cuda.files {
            let owner = file.owner.map(|o| o as usize);
            let dropped_here = libraries.iter().any(|(node, _)| *node == file.node)
                || owner.is_some_and(|o| dropped.contains(&o));
            if !dropped_here && !owner.is_some_and(cuda_family) {
                return Err(format!(
                    "{} holds GPU device code outside torch and the CUDA wheels: a CPU build \
                     of torch would not serve it",
                    crate::escape::escape(&file.path)
                ));
            }
        }
        let mut staying: Vec<(u64, String)> = (0..attribution.packages.len())
            .filter(|&p| {
                attribution.packages[p].ecosystem == Ecosystem::Pip
                    && cuda_family(p)
                    && attribution.packages[p].bytes > 0
                    && !dropped.contains(&p)
            })
            .map(|p| {
                let other = &attribution.packages[p];
                (other.bytes, other.name.clone())
            })
            .collect();
        let folded_into = self
            .fixes
            .iter()
            .any(|f| f.layer == layer && f.folds_layer.is_some());
        let mut parts: Vec<PackageBytes> = Vec::new();
        for &p in &dropped {
            let other = &attribution.packages[p];
            let hidden = if folded_into { 0 } else { other.hidden_bytes };
            parts.push(PackageBytes {
                name: other.name.clone(),
                bytes: other.bytes + hidden,
            });
        }
        parts.push(PackageBytes {
            name: "torch (its CUDA libraries)".into(),
            bytes: libraries.iter().map(|(_, b)| b).sum(),
        });
        if !staying.is_empty() {
            staying.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
            let named: Vec<String> = staying
                .iter()
                .map(|(bytes, name)| {
                    let size = crate::report::human_bytes(*bytes, false);
                    format!("{} ({size})", crate::escape::escape(name))
                })
                .collect();
            self.notes.push(format!(
                "--cpu-only: {} stay: a RUN names them or installs them apart from torch, \
                 whatever torch's build; drop them there if nothing needs them",
                named.join(", ")
            ));
        }
        let edits = installs
            .iter()
            .map(|&at| {
                let at = run.arguments.start + at;
                Edit {
                    span: at..at,
                    text: format!(" --extra-index-url {CPU_INDEX}"),
                }
            })
            .collect();
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
        Ok(())
    }
}

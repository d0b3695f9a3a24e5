//! `dive-rs fix`: the findings turned into edits of the user's own Dockerfile, each exact
//! to the line and to the byte.
//!
//! [`plan`] reads the Dockerfile (with byte spans: heredocs, directives, continuation lines),
//! matches the image's history to its instructions (refusing a file the image was not built
//! from), and makes the edits it is sure of: the cache of a `RUN` dropped in that `RUN`
//! (`pip install --no-cache-dir`, `apt-get clean`, the apt lists removed), a later `RUN`
//! that only deletes, `chmod`s or `chown`s what the step before it wrote folded into that
//! step, `COPY --chmod/--chown` instead of a later `chmod`/`chown` of the copied file. Every
//! other avoidable byte is listed with its layer, its line and why it was not patched.
//!
//! Savings come from the ledger, never estimates: the bytes of the contents an edit keeps out
//! of the image (hidden items the folded step hid, cache contents no other path shows).
//! [`FixPlan::classes`] splits each waste class into base image, patched and listed bytes,
//! which add up to the class's bytes in the report.
//!
//! Budget: the Dockerfile is at most 1 MiB; parsing and matching are linear in it and in the
//! history; one walk of the merged tree finds the caches (a map entry per cache content);
//! the rules look at each layer and its neighbour only.

mod caches;
mod fold;
mod patch;
mod rules;
mod shell;
#[cfg(test)]
mod tests;

use serde::Serialize;

use crate::analysis::Analysis;
use crate::attribution::WasteClass;
use crate::dockerfile::{self, HistoryEntry};
pub use crate::dockerfile::{
    DockerfileError, MAX_DOCKERFILE_BYTES, UnmatchedInstruction, UnmatchedLayer,
};

use patch::Edit;

/// The version of the JSON document [`FixPlan`] serialises to.
const FIX_SCHEMA_VERSION: u32 = 1;

/// The edits `fix` is sure of, what they save, and what it leaves to the user.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct FixPlan {
    /// The JSON document's version.
    pub schema_version: u32,
    /// The Dockerfile as the user named it.
    pub dockerfile: String,
    /// The stage matched (`--stage`), or `None` for the last one.
    pub stage: Option<String>,
    /// The image's config digest.
    pub image: String,
    /// Bytes the edits save together.
    pub saving: u64,
    /// The edits, in file order.
    pub fixes: Vec<Fix>,
    /// Avoidable bytes left to the user, largest first.
    pub listed: Vec<Listed>,
    /// Each waste class's bytes: from the base image, patched, listed.
    pub classes: Vec<ClassSplit>,
    /// The original text.
    #[serde(skip)]
    original: String,
    /// Each edit, with the index of its fix.
    #[serde(skip)]
    edits: Vec<(usize, Edit)>,
}

/// One change of the Dockerfile and the finding it fixes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Fix {
    /// What the change does, in one line.
    pub change: String,
    /// The bytes it saves, by waste class.
    pub classes: Vec<ClassBytes>,
    /// Σ of `classes`.
    pub saving: u64,
    /// The layer whose bytes it saves.
    pub layer: usize,
    /// The later layer it folds away, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folds_layer: Option<usize>,
    /// The first line of the instruction it folds away (and removes), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folded_line: Option<usize>,
    /// The first line of the instruction it changes (1-based).
    pub line: usize,
    /// That instruction's keyword.
    pub instruction: &'static str,
    /// The hadolint rule the change clears, if hadolint has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hadolint: Option<&'static str>,
}

/// Bytes of one waste class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ClassBytes {
    /// The class.
    pub class: WasteClass,
    /// Bytes.
    pub bytes: u64,
}

/// Avoidable bytes `fix` does not patch, with where they come from and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Listed {
    /// The waste class.
    pub class: WasteClass,
    /// Its bytes in this layer (and, for hidden bytes, hidden by `hidden_by_layer`).
    pub bytes: u64,
    /// The layer that added them.
    pub layer: usize,
    /// For hidden bytes, the layer that hid them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden_by_layer: Option<usize>,
    /// The first line of the instruction that added them (1-based).
    pub line: usize,
    /// For hidden bytes, the first line of the instruction that hid them, when this
    /// Dockerfile has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden_by_line: Option<usize>,
    /// Why no edit was made.
    pub why: String,
    /// The change to make by hand.
    pub suggestion: String,
}

/// One waste class's bytes split by what `fix` does with them: `bytes = base + patched +
/// listed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ClassSplit {
    /// The class.
    pub class: WasteClass,
    /// Its bytes in the report.
    pub bytes: u64,
    /// Bytes in the base image's layers (another Dockerfile's to fix).
    pub base: u64,
    /// Bytes the edits save.
    pub patched: u64,
    /// Bytes listed for the user.
    pub listed: u64,
}

/// Plans the edits of the Dockerfile `text` (named `file` in messages) for `analysis`,
/// matching its history against the stage `stage` (the last when `None`). Refuses a
/// Dockerfile that cannot be read or that the image was not built from.
pub fn plan(
    analysis: &Analysis,
    file: &str,
    text: &[u8],
    stage: Option<&str>,
) -> Result<FixPlan, DockerfileError> {
    let dockerfile = dockerfile::parse(file, text)?;
    let history: Vec<HistoryEntry<'_>> = analysis
        .layers
        .iter()
        .map(|l| HistoryEntry {
            created_by: l.created_by.as_deref(),
            empty_layer: false,
        })
        .collect();
    let mapping = dockerfile::map_history(&dockerfile, stage, &history)?;
    let found = rules::find(analysis, &dockerfile, &mapping.layers, stage)?;
    let saving = found.fixes.iter().map(|f| f.saving).sum();
    Ok(FixPlan {
        schema_version: FIX_SCHEMA_VERSION,
        dockerfile: file.to_owned(),
        stage: stage.map(str::to_owned),
        image: analysis.image.config_digest.clone(),
        saving,
        fixes: found.fixes,
        listed: found.listed,
        classes: found.classes,
        original: dockerfile.text,
        edits: found.edits,
    })
}

impl FixPlan {
    /// The Dockerfile with every edit made.
    pub fn patched(&self) -> String {
        patch::apply(&self.original, &self.edits)
    }

    /// The unified diff of the edits for `path` (relative to where `git apply` or
    /// `patch -p1` runs; written after `a/` and `b/`), each hunk labelled after its
    /// `@@ … @@` with the findings it fixes and their bytes. Empty without edits.
    pub fn diff(&self, path: &str) -> String {
        patch::unified_diff(&self.original, &self.edits, path, |fixes| {
            let labels: Vec<String> = fixes
                .iter()
                .filter_map(|&f| self.fixes.get(f))
                .map(|f| {
                    let classes: Vec<&str> = f.classes.iter().map(|c| c.class.name()).collect();
                    let rule = f.hadolint.map(|r| format!(", {r}")).unwrap_or_default();
                    format!(
                        "{}: saves {} in layer {}{rule}",
                        classes.join("+"),
                        crate::report::human_bytes(f.saving, false),
                        f.layer
                    )
                })
                .collect();
            labels.join("; ")
        })
    }

    /// The plan as a JSON document, with the diff for `path` in its `diff` field.
    pub fn to_json(&self, path: &str) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let Some(object) = value.as_object_mut() {
            object.insert("diff".into(), self.diff(path).into());
        }
        value
    }
}

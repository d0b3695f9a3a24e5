//! `dive-rs fix`: the findings turned into edits of the user's own Dockerfile, each exact
//! to the line and to the byte.
//!
//! [`plan`] reads the Dockerfile (with byte spans: heredocs, directives, continuation lines),
//! matches the image's history to its instructions (refusing a file the image was not built
//! from), and makes the edits it is sure of: the cache of a `RUN` dropped in that `RUN`
//! (`pip install --no-cache-dir`, `apt-get clean`, the apt lists removed), a later `RUN`
//! that only deletes, `chmod`s or `chown`s what the step before it wrote folded into that
//! step, `COPY --chmod/--chown` instead of a later `chmod`/`chown` of the copied file,
//! `apt-get install --no-install-recommends` where apt's records prove which packages only a
//! `Recommends` pulled in. Every other avoidable byte is listed with its layer, its line and
//! why it was not patched.
//!
//! Savings come from the ledger, never estimates: the bytes of the contents an edit keeps out
//! of the image (hidden items the folded step hid, cache contents no other path shows, the
//! files of packages not installed).
//! [`FixPlan::classes`] splits each waste class into base image, patched and listed bytes,
//! which add up to the class's bytes in the report.
//!
//! Budget (`docs/limits.md`): the Dockerfile is at most 1 MiB; parsing and matching are
//! linear in it and in the history; one pass over the merged tree's files finds the caches (a
//! map entry per cache directory), at most 4,096 symlinks that may lead into one are
//! resolved, at most 256 cache directories get an edit; the rules look at each layer and its
//! neighbour only; each captured dpkg status and apt `extended_states` is parsed once, its
//! dependency closures linear; edits are checked for overlap in O(log n).
//!
//! The rooms: `model` (a fix, what is listed, the class split), `rules` (the state the rules
//! share and their order), `fold`, `caches` and `recommends` (the three rules), `apt_state`
//! (why each Debian package is installed), `shell` (what a `RUN`'s command can take),
//! `patch` (edits by span and the unified diff).

mod apt_state;
mod caches;
mod cpu_index;
mod fold;
mod model;
mod patch;
mod recommends;
mod rules;
mod shell;
#[cfg(test)]
mod tests;

use serde::Serialize;

use crate::analysis::Analysis;
use crate::dockerfile;
pub use crate::dockerfile::{
    DockerfileError, MAX_DOCKERFILE_BYTES, UnmatchedInstruction, UnmatchedLayer,
};

pub use model::{ClassBytes, ClassSplit, Fix, FixOptions, Listed, PackageBytes};
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
    /// How layers were paired with instructions: `provenance` (BuildKit's attestation of
    /// this very file, exact) or `history` (the config's `created_by`, matched).
    pub matched_by: &'static str,
    /// Bytes the edits save together.
    pub saving: u64,
    /// The edits, in file order.
    pub fixes: Vec<Fix>,
    /// Avoidable bytes left to the user, largest first.
    pub listed: Vec<Listed>,
    /// Each waste class's bytes: from the base image, patched, listed.
    pub classes: Vec<ClassSplit>,
    /// What a rule outside the waste classes looked at and did not patch, and why.
    pub notes: Vec<String>,
    /// The original text.
    #[serde(skip)]
    original: String,
    /// Each edit, with the index of its fix.
    #[serde(skip)]
    edits: Vec<(usize, Edit)>,
}

/// Plans the edits of the Dockerfile `text` (named `file` in messages) for `analysis`,
/// matching its history against the stage `options.stage` (the last when `None`). Refuses a
/// Dockerfile that cannot be read or that the image was not built from.
pub fn plan(
    analysis: &Analysis,
    file: &str,
    text: &[u8],
    options: &FixOptions,
) -> Result<FixPlan, DockerfileError> {
    let stage = options.stage.as_deref();
    let dockerfile = dockerfile::parse(file, text)?;
    let (mapping, by_provenance) = analysis.map_dockerfile(&dockerfile, stage)?;
    let found = rules::find(analysis, &dockerfile, &mapping.layers, options)?;
    let saving = found.fixes.iter().map(|f| f.saving).sum();
    Ok(FixPlan {
        schema_version: FIX_SCHEMA_VERSION,
        dockerfile: file.to_owned(),
        stage: stage.map(str::to_owned),
        matched_by: if by_provenance {
            "provenance"
        } else {
            "history"
        },
        image: analysis.image.config_digest.clone(),
        saving,
        fixes: found.fixes,
        listed: found.listed,
        classes: found.classes,
        notes: found.notes,
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
                    let rule = f.hadolint.map(|r| format!(", {r}")).unwrap_or_default();
                    format!(
                        "{}: saves {} in layer {}{rule}",
                        f.label(),
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

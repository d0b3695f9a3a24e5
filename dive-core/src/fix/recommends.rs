//! The recommends rule: an `apt-get install` without `--no-install-recommends` (hadolint
//! DL3015) gets the flag where the image proves what it pulled in. dpkg's status file and
//! apt's `extended_states`, as the `RUN`'s own layer wrote them, say which packages that
//! layer installed only because a `Recommends` asked for them; the saving is the bytes those
//! packages own (files and dpkg records, visible and hidden), from attribution's ledger.
//!
//! The edit keeps `ca-certificates` by name when it would otherwise go: without it every
//! TLS client in the image fails, the classic breakage of this flag.
//!
//! Budget: each captured status and `extended_states` file is parsed at most once, layer by
//! layer, as attribution parsed it already; a state per candidate layer is held only while
//! that layer is looked at.

use std::collections::HashSet;

use super::apt_state::AptState;
use super::model::{PackageBytes, new_fix};
use super::patch::Edit;
use super::rules::Rules;
use super::shell;
use crate::attribution::{APT_EXTENDED_STATES, DPKG_STATUS, Ecosystem};

/// Packages the flag must not drop: named in the install instead.
const KEEP_BY_NAME: &[&str] = &["ca-certificates"];

/// What one candidate layer's install pulled in only by `Recommends`.
struct Candidate {
    layer: usize,
    index: usize,
    packages: Vec<String>,
    keep: Vec<&'static str>,
}

impl Rules<'_> {
    /// `--no-install-recommends` for every `RUN` whose apt installs pulled in packages only
    /// a `Recommends` asked for, none of which the final image needs otherwise.
    pub(super) fn recommends(&mut self) {
        let analysis = self.analysis;
        let mut candidates = Vec::new();
        let (mut status, mut extended): (Option<Vec<u8>>, Option<Vec<u8>>) = (None, None);
        let mut before: HashSet<String> = HashSet::new();
        for layer in 0..analysis.layers.len() {
            let (mut new_status, mut new_extended) = (None, None);
            for (entry, kept) in analysis
                .layer_index(layer)
                .map_or(&[][..], |l| &l.captured[..])
            {
                let path = analysis.entry(layer, *entry as usize).map(|e| &*e.path);
                if path == Some(DPKG_STATUS) {
                    new_status = kept.content();
                } else if path == Some(APT_EXTENDED_STATES) {
                    new_extended = kept.content();
                }
            }
            if new_extended.is_some() {
                extended = new_extended;
            }
            let Some(written) = new_status else {
                continue;
            };
            status = Some(written);
            let state = AptState::parse(status.as_deref().unwrap_or_default(), extended.as_deref());
            if let Some(candidate) = self.candidate(layer, &state, &before) {
                candidates.push(candidate);
            }
            before = state.installed();
        }
        if candidates.is_empty() {
            return;
        }
        // A package the final image needs otherwise (asked for by a later install, or a
        // dependency of one) would only move to a later layer.
        let last = AptState::parse(status.as_deref().unwrap_or_default(), extended.as_deref());
        let needed = last.kept(&[]);
        for candidate in candidates {
            self.take_recommends(candidate, &needed);
        }
    }

    /// Layer `layer`'s `RUN`, when it runs apt installs without the flag and its status says
    /// some packages it added came only by `Recommends`.
    fn candidate(
        &self,
        layer: usize,
        state: &AptState,
        before: &HashSet<String>,
    ) -> Option<Candidate> {
        let (index, _) = self.instruction(layer)?;
        let command = self.shell_run(index)?;
        if shell::apt_install_runs(&command) == 0
            || command.contains("--no-install-recommends")
            || command.contains("Install-Recommends")
        {
            return None;
        }
        let new = |name: &str| !before.contains(name);
        let mut keep = Vec::new();
        let mut packages = state.recommends_only(&state.kept(&[]), new);
        if KEEP_BY_NAME.iter().any(|k| packages.iter().any(|p| p == k)) {
            keep = KEEP_BY_NAME
                .iter()
                .copied()
                .filter(|k| packages.iter().any(|p| p == k))
                .collect();
            packages = state.recommends_only(&state.kept(&keep), new);
        }
        (!packages.is_empty()).then_some(Candidate {
            layer,
            index,
            packages,
            keep,
        })
    }

    /// The flag for `candidate`'s `RUN`, when every package it drops is measured: added by
    /// that layer alone and (if a fold already saves that layer's hidden bytes) with nothing
    /// hidden. A package the final image needs otherwise is no saving: it would only move.
    fn take_recommends(&mut self, candidate: Candidate, needed: &HashSet<&str>) {
        let line = self.line(&self.dockerfile.instructions[candidate.index]);
        if let Err(why) = self.recommends_edit(candidate, needed) {
            self.notes
                .push(format!("--no-install-recommends at line {line}: {why}"));
        }
    }

    /// The edit of [`Rules::take_recommends`], or why there is none.
    fn recommends_edit(
        &mut self,
        candidate: Candidate,
        needed: &HashSet<&str>,
    ) -> Result<(), String> {
        let Candidate {
            layer,
            index,
            packages,
            keep,
        } = candidate;
        if self.folded.contains(&index) {
            return Err("the RUN is folded into the step before it".into());
        }
        let folded_into = self
            .fixes
            .iter()
            .any(|f| f.layer == layer && f.folds_layer.is_some());
        let mut dropped = Vec::with_capacity(packages.len());
        for name in &packages {
            // It would only move to the later layer that needs it.
            if needed.contains(name.as_str()) {
                continue;
            }
            let shown = crate::escape::escape(name);
            let mut owned = self
                .analysis
                .attribution
                .packages
                .iter()
                .filter(|p| p.ecosystem == Ecosystem::Dpkg && p.name == *name);
            let (Some(package), None) = (owned.next(), owned.next()) else {
                return Err(format!(
                    "{shown} is not one dpkg package whose bytes are known"
                ));
            };
            if package.layers != [layer] {
                return Err(format!(
                    "{shown} was written by layers {:?}: its bytes are not this RUN's alone",
                    package.layers
                ));
            }
            if folded_into && package.hidden_bytes > 0 {
                return Err(format!(
                    "{shown}'s hidden files are saved by the fold into this RUN already"
                ));
            }
            dropped.push(PackageBytes {
                name: name.clone(),
                bytes: package.bytes + package.hidden_bytes,
            });
        }
        if dropped.is_empty() {
            return Err("what only Recommends pulled in, a later step installs anyway".into());
        }
        let run = &self.dockerfile.instructions[index];
        let raw = self.dockerfile.slice(&run.arguments);
        let installs = shell::apt_installs(raw);
        let command = self.shell_run(index).unwrap_or_default();
        if installs.is_empty() || installs.len() != shell::apt_install_runs(&command) {
            return Err(
                "an apt install whose `install` is not on the line of its `apt-get`: edit it \
                 by hand"
                    .into(),
            );
        }
        let line = self.line(run);
        let named: String = keep.iter().map(|k| format!(" {k}")).collect();
        let edits = installs
            .iter()
            .enumerate()
            .map(|(i, &at)| {
                let at = run.arguments.start + at;
                let text = if i == 0 {
                    format!(" --no-install-recommends{named}")
                } else {
                    " --no-install-recommends".to_owned()
                };
                Edit { span: at..at, text }
            })
            .collect();
        let kept = if keep.is_empty() {
            String::new()
        } else {
            format!(" (keeps {} by name)", keep.join(", "))
        };
        let fix = new_fix(
            format!("apt-get install --no-install-recommends at line {line}{kept}"),
            Vec::new(),
            layer,
            line,
            "RUN",
            Some("DL3015"),
        )
        .dropping("recommends", dropped);
        if !self.take(fix, edits, None) {
            return Err("another edit takes that place".into());
        }
        Ok(())
    }
}

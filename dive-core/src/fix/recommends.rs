//! The recommends rule: an `apt-get install` without `--no-install-recommends` (hadolint
//! DL3015) gets the flag where the image proves what it pulled in. dpkg's status file and
//! apt's `extended_states`, as the `RUN`'s own layer wrote them, say which packages that
//! layer installed only because a `Recommends` of the packages its installs name asked for
//! them; the saving is the bytes those packages own (files and dpkg records), from
//! attribution's ledger.
//!
//! Only where that is the whole effect: every install of the `RUN` is read (its package
//! words plain), nothing runs after the last install but cleanups (a compiler run right after
//! `apt-get install gcc` needs the headers gcc recommends), no package dropped is one a
//! later step installs or recommends again (its bytes would only move) or one whose files a
//! later step deletes (those bytes are the fold's to claim). `ca-certificates` is named in
//! each install when it would otherwise go: without it every TLS client in the image fails.
//! Everything refused is a note, with why.
//!
//! Budget: at most [`MAX_RUNS`] `RUN`s are looked at; for each, its layer's status file (at
//! most [`MAX_STATUS_BYTES`]) is parsed once and the one before it scanned for names;
//! `extended_states` is parsed once each time a layer writes it; the final state once. Each
//! closure is linear in its status file (see `apt_state`).

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use super::apt_state::{AptState, MAX_STATUS_BYTES, auto_installed, installed_names};
use super::model::{PackageBytes, new_fix};
use super::rules::Rules;
use super::shell;
use crate::attribution::{APT_EXTENDED_STATES, DPKG_STATUS, Ecosystem, Package};
use crate::layer::Captured;

/// Packages the flag must not drop: named in the install instead.
const KEEP_BY_NAME: &[&str] = &["ca-certificates"];

/// Most `RUN`s the rule looks at.
pub(super) const MAX_RUNS: usize = 64;

/// One candidate: a layer's `RUN` that installs without the flag, and the status files
/// around it.
struct Candidate<'a> {
    layer: usize,
    index: usize,
    requested: Option<Vec<String>>,
    /// The status file its layer wrote, and the one before it (read only when looked at).
    status: &'a Captured,
    before: Option<&'a Captured>,
    /// What apt marked auto-installed as of this layer.
    auto: Rc<HashSet<String>>,
}

impl Rules<'_> {
    /// `--no-install-recommends` for every `RUN` whose apt installs pulled in packages only
    /// a `Recommends` asked for, none of which the final image needs otherwise.
    pub(super) fn recommends(&mut self) {
        let analysis = self.analysis;
        let mut candidates = Vec::new();
        let mut status: Option<&Captured> = None;
        let mut auto: Rc<HashSet<String>> = Rc::default();
        let mut first_layer: HashMap<String, usize> = HashMap::new();
        for layer in 0..analysis.layers.len() {
            let (mut written, mut extended) = (None, None);
            for (entry, kept) in analysis
                .layer_index(layer)
                .map_or(&[][..], |l| &l.captured[..])
            {
                let path = analysis.entry(layer, *entry as usize).map(|e| &*e.path);
                if path == Some(DPKG_STATUS) {
                    written = Some(kept);
                } else if path == Some(APT_EXTENDED_STATES) {
                    extended = Some(kept);
                }
            }
            if let Some(extended) = extended.and_then(Captured::content) {
                auto = Rc::new(auto_installed(&extended));
            }
            let Some(written) = written else {
                continue;
            };
            if let Some((index, requested)) = self.request(layer) {
                if candidates.len() >= MAX_RUNS {
                    let line = self.line(&self.dockerfile.instructions[index]);
                    self.notes.push(format!(
                        "--no-install-recommends: more than {MAX_RUNS} RUNs install with apt; \
                         the one at line {line} and later ones are not looked at"
                    ));
                } else {
                    candidates.push(Candidate {
                        layer,
                        index,
                        requested,
                        status: written,
                        before: status,
                        auto: Rc::clone(&auto),
                    });
                }
            }
            status = Some(written);
        }
        if candidates.is_empty() {
            return;
        }
        // Where each package's files first came: what a later layer installs is later's.
        for package in &analysis.attribution.packages {
            if package.ecosystem == Ecosystem::Dpkg
                && let Some(&first) = package.layers.first()
            {
                let at = first_layer.entry(package.name.clone()).or_insert(first);
                *at = (*at).min(first);
            }
        }
        let last = status
            .filter(|c| c.len() <= MAX_STATUS_BYTES as u64)
            .and_then(Captured::content)
            .unwrap_or_default();
        let last = String::from_utf8_lossy(&last);
        let last = AptState::parse(&last);
        let needed_at_end = last.kept(&auto, &[]);
        let mut owned: HashMap<&str, Vec<&Package>> = HashMap::new();
        for package in &analysis.attribution.packages {
            if package.ecosystem == Ecosystem::Dpkg {
                owned
                    .entry(package.name.as_str())
                    .or_default()
                    .push(package);
            }
        }
        for candidate in candidates {
            let line = self.line(&self.dockerfile.instructions[candidate.index]);
            // Packages a later layer installs, and all they depend on or recommend: a later
            // install without the flag brings them back.
            let later = last.reached(
                first_layer
                    .iter()
                    .filter(|&(_, &first)| first > candidate.layer)
                    .map(|(name, _)| name.as_str()),
            );
            let needed = |name: &str| {
                last.installed_id(name)
                    .is_some_and(|id| needed_at_end.contains(&id) || later.contains(&id))
            };
            if let Err(why) = self.recommends_edit(&candidate, &needed, &owned) {
                self.notes
                    .push(format!("--no-install-recommends at line {line}: {why}"));
            }
        }
    }

    /// Layer `layer`'s `RUN` and the packages its apt installs name, when it is one the
    /// rule looks at: a shell-form `RUN` that installs with apt without choosing whether
    /// Recommends are installed.
    fn request(&self, layer: usize) -> Option<(usize, Option<Vec<String>>)> {
        let (index, _) = self.instruction(layer)?;
        let command = self.shell_run(index)?;
        if shell::apt_install_runs(&command) == 0 {
            return None;
        }
        let lower = command.to_ascii_lowercase();
        if lower.contains("install-recommends") || lower.contains("apt_config") {
            return None;
        }
        Some((index, shell::apt_requested(&command)))
    }

    /// The edit for `candidate`, or why there is none.
    fn recommends_edit(
        &mut self,
        candidate: &Candidate<'_>,
        needed: &dyn Fn(&str) -> bool,
        owned: &HashMap<&str, Vec<&Package>>,
    ) -> Result<(), String> {
        let Candidate {
            layer,
            index,
            requested,
            status,
            before,
            auto,
        } = candidate;
        let (layer, index) = (*layer, *index);
        // Measured before it is decompressed: a file over the cap is never inflated.
        let over = |file: &Captured| file.len() > MAX_STATUS_BYTES as u64;
        if over(status) || before.is_some_and(over) {
            return Err(format!(
                "dpkg's status file is over {MAX_STATUS_BYTES} bytes: not read"
            ));
        }
        let status = status.content().unwrap_or_default();
        let before = before.and_then(Captured::content).unwrap_or_default();
        let status = String::from_utf8_lossy(&status);
        let state = AptState::parse(&status);
        let before = String::from_utf8_lossy(&before);
        let before = installed_names(&before);
        // Nothing apt installed for another package here: nothing to say.
        if !state
            .installed()
            .any(|name| auto.contains(name) && !before.contains(name))
        {
            return Ok(());
        }
        let Some(requested) = requested.as_ref().filter(|r| !r.is_empty()) else {
            return Err(
                "its installs do not name their packages plainly: what they asked for is not \
                 known"
                    .into(),
            );
        };
        if self.folded.contains(&index) {
            return Err("the RUN is folded into the step before it".into());
        }
        let command = self.shell_run(index).unwrap_or_default();
        if let Some(used) = shell::used_after_install(&command) {
            return Err(format!(
                "the RUN runs `{}` after installing, which may use what Recommends brought",
                crate::escape::escape(&used)
            ));
        }
        let only = |extra: &[&str]| -> Vec<&str> {
            let kept = state.kept(auto, extra);
            let reached = state.reached(requested.iter().map(String::as_str));
            state
                .names_of(reached.into_iter().filter(|id| !kept.contains(id)))
                .into_iter()
                .filter(|name| auto.contains(*name) && !before.contains(name))
                .collect()
        };
        let mut packages = only(&[]);
        if packages.is_empty() {
            return Ok(());
        }
        let keep: Vec<&str> = KEEP_BY_NAME
            .iter()
            .copied()
            .filter(|k| packages.contains(k))
            .collect();
        if !keep.is_empty() {
            packages = only(&keep);
        }
        let mut dropped = Vec::with_capacity(packages.len());
        for name in packages {
            // It would only move to the later layer that needs it.
            if needed(name) {
                continue;
            }
            let shown = crate::escape::escape(name);
            let (Some(package), None) = owned
                .get(name)
                .map_or((None, None), |p| (p.first(), p.get(1)))
            else {
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
            if package.hidden_bytes > 0 {
                return Err(format!(
                    "a later step deletes or rewrites files of {shown}: those bytes are listed \
                     with that step"
                ));
            }
            dropped.push(PackageBytes {
                name: name.to_owned(),
                bytes: package.bytes,
            });
        }
        if dropped.is_empty() {
            return Err(
                "what only Recommends pulled in, a later step installs or recommends again".into(),
            );
        }
        let run = &self.dockerfile.instructions[index];
        let raw = self.dockerfile.slice(&run.arguments);
        let installs = shell::apt_installs(raw, self.dockerfile.escape);
        if installs.len() != shell::apt_install_runs(&command) {
            return Err("an apt install fix cannot place the flag in: edit it by hand".into());
        }
        let line = self.line(run);
        let named: String = keep.iter().map(|k| format!(" {k}")).collect();
        // Each install names the kept packages: any of them may be the one that runs.
        let edits = self.flags_at(run, &installs, &format!(" --no-install-recommends{named}"));
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

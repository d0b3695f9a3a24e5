//! The secrets the layers' files hold, as an image's outputs list them: visible, or hidden
//! by the layer that deleted or replaced them, examples last, and capped.

use std::collections::HashSet;

use super::files::{FileSecret, rule};
use super::finding::{FILE_SECRET_FIX, Secret, SecretSource};
use super::rules::Confidence;

/// File secrets listed per image; more are counted in a warning by the caller.
pub(crate) const LISTED_PER_IMAGE: usize = 4096;

/// The secrets the layers' files hold, as outputs list them, and how many were left out:
/// `layers` gives each layer's index and the secrets its walk found by entry, `path` names
/// an entry, `hidden_by` says which later layer hid an entry's content (`None`: the final
/// file system shows it). Findings that are not examples are listed first (at most
/// [`LISTED_PER_IMAGE`] in all); a hidden copy of a value the same path still shows (a
/// rewrite of the same bytes: `chown -R`) is no hidden secret; a rule this build does not
/// know (a saved scan's) is left out.
pub(crate) fn findings<'a>(
    layers: impl Iterator<Item = (usize, &'a [(u32, FileSecret)])> + Clone,
    path: impl Fn(usize, u32) -> Option<String>,
    hidden_by: impl Fn(usize, u32) -> Option<usize>,
) -> (Vec<Secret>, u64) {
    let mut out = Vec::new();
    let mut unlisted = 0u64;
    for examples in [false, true] {
        for (layer, secrets) in layers.clone() {
            for (entry, found) in secrets.iter().filter(|(_, s)| s.example == examples) {
                let Some((id, reason, confidence)) = rule(&found.rule) else {
                    continue;
                };
                if out.len() == LISTED_PER_IMAGE {
                    unlisted += u64::from(!examples);
                    continue;
                }
                let hidden = hidden_by(layer, *entry);
                out.push(Secret {
                    rule: id,
                    reason,
                    source: SecretSource::File,
                    name: None,
                    path: path(layer, *entry),
                    line: Some(found.line),
                    history_entry: None,
                    layer: Some(layer),
                    visible: hidden.is_none(),
                    hidden_by_layer: hidden,
                    confidence: if found.example {
                        Confidence::Low
                    } else {
                        confidence
                    },
                    example: found.example,
                    redacted: found.redacted.to_string(),
                    fix: FILE_SECRET_FIX,
                });
            }
        }
    }
    let shown: HashSet<(Option<String>, &str, String)> = (out.iter())
        .filter(|s| s.visible)
        .map(|s| (s.path.clone(), s.rule, s.redacted.clone()))
        .collect();
    out.retain(|s| s.visible || !shown.contains(&(s.path.clone(), s.rule, s.redacted.clone())));
    (out, unlisted)
}

//! The secrets section every output shares: each secret in one line (rule, where, which
//! layer ships it, visible or hidden, its redacted value), hidden files first, since a key
//! deleted in a later step is the leak nobody sees in the final file system.
//!
//! Lines are plain text: the image's names (paths, variable names) are escaped by the
//! output that writes them, as everywhere else.

use crate::analysis::Analysis;
use crate::secrets::{Secret, SecretSource};

/// Secrets the outputs list one per line; `--json` lists every one.
pub(crate) const LISTED: usize = 50;

/// The secrets in the order outputs list them: hidden files, visible files, then the
/// config and history; surer ones first within each.
pub(crate) fn ordered(analysis: &Analysis) -> Vec<&Secret> {
    let mut all: Vec<&Secret> = analysis.secrets.iter().collect();
    all.sort_by_key(|s| {
        let place = match (s.source, s.visible) {
            (SecretSource::File, false) => 0,
            (SecretSource::File, true) => 1,
            _ => 2,
        };
        (place, std::cmp::Reverse(s.confidence), s.layer)
    });
    all
}

/// What the gate counts: the distinct values that are not test data, documentation or
/// placeholders (one token in three history entries and a file is one to rotate), matched
/// by their fingerprint, and the findings past the caps that are not listed.
pub(crate) fn counted(analysis: &Analysis) -> u64 {
    let mut values = std::collections::HashSet::new();
    for secret in analysis.secrets.iter().filter(|s| !s.example) {
        let mark = secret
            .redacted
            .find("[REDACTED")
            .map_or(secret.redacted.as_str(), |at| &secret.redacted[at..]);
        if mark.contains(':') {
            values.insert(mark.to_owned());
        } else {
            // Too short to fingerprint: each place counts.
            values.insert(format!("{secret:?}"));
        }
    }
    values.len() as u64 + analysis.secrets_unlisted
}

/// One secret in a line: `root/.ssh/id_rsa line 1: ssh-private-key (high),
/// [REDACTED:…], added by layer 3, deleted by layer 7: every pull still ships it`.
pub(crate) fn describe(secret: &Secret) -> String {
    let confidence = if secret.example {
        "low: test data or example"
    } else {
        secret.confidence.name()
    };
    let place = match secret.source {
        SecretSource::File => {
            let path = secret.path.as_deref().unwrap_or("?");
            match secret.line {
                Some(line) => format!("/{path} line {line}"),
                None => format!("/{path}"),
            }
        }
        SecretSource::History => match &secret.name {
            Some(name) => format!("history entry {}: {name}", entry(secret)),
            None => format!("history entry {}", entry(secret)),
        },
        SecretSource::Env => format!("Env {}", name(secret)),
        SecretSource::Label => format!("label {}", name(secret)),
        SecretSource::Annotation => format!("annotation {}", name(secret)),
        SecretSource::Provenance => format!("build argument {} (provenance)", name(secret)),
    };
    let shipped = match (secret.source, secret.layer, secret.hidden_by_layer) {
        (SecretSource::File, Some(layer), Some(by)) => format!(
            "added by layer {layer}, deleted or replaced by layer {by}: every pull still ships it"
        ),
        (_, Some(layer), _) => format!("in layer {layer}"),
        (SecretSource::History | SecretSource::Env | SecretSource::Label, None, _) => {
            "in the image config".to_owned()
        }
        (_, None, _) => "in the image's metadata".to_owned(),
    };
    format!(
        "{place}: {} ({confidence}), {}, {shipped}",
        secret.rule, secret.redacted
    )
}

fn entry(secret: &Secret) -> String {
    secret
        .history_entry
        .map_or_else(|| "?".to_owned(), |e| e.to_string())
}

fn name(secret: &Secret) -> &str {
    secret.name.as_deref().unwrap_or("?")
}

/// The count in words: `3 secrets (1 hidden in a layer)`, or `None` without any.
pub(crate) fn headline(analysis: &Analysis) -> Option<String> {
    let all = &analysis.secrets;
    if all.is_empty() {
        return None;
    }
    let hidden = all.iter().filter(|s| s.hidden_by_layer.is_some()).count();
    let examples = all.iter().filter(|s| s.example).count();
    let mut parts = Vec::new();
    if hidden > 0 {
        parts.push(format!(
            "{hidden} deleted in a later layer and still shipped"
        ));
    }
    if examples > 0 {
        parts.push(format!("{examples} test data or examples"));
    }
    let detail = if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    };
    Some(format!(
        "{} secret{}{detail}: rotate each one, every copy of the image holds it",
        all.len(),
        if all.len() == 1 { "" } else { "s" }
    ))
}

/// The distinct fixes of the secrets, in the order they first appear.
pub(crate) fn fixes(analysis: &Analysis) -> Vec<&'static str> {
    let mut fixes: Vec<&'static str> = Vec::new();
    for secret in ordered(analysis) {
        if !fixes.contains(&secret.fix) {
            fixes.push(secret.fix);
        }
    }
    fixes
}

//! A history line read for secrets and redacted: build-argument prefixes
//! (`|2 HF_TOKEN=… PIP_INDEX_URL=… /bin/sh -c …`), `ENV`/`ARG` steps and inline assignments
//! whose name says they hold a secret, and tokens anywhere by their shapes.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;
use sha2::{Digest as _, Sha256};

use super::rules::{SECRET_NAME, TokenRule, secret_name, tokens};
use super::{BUILD_SECRET_FIX, Secret, SecretSource};

/// `NAME=value`, the value bare or quoted; group 1 the name, group 2 the value.
static ASSIGNMENT: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"(?:^|[\s|;&(])([A-Za-z_][A-Za-z0-9_]{0,255})=("[^"]*"|'[^']*'|[^\s"';|&)]*)"#)
        .ok()
});

/// `value` as outputs show it: the rule's public prefix, then the length and the first 8
/// hex digits of its SHA-256.
pub(crate) fn redacted(value: &str, prefix_len: usize) -> String {
    let prefix: String = value.chars().take(prefix_len).collect();
    let digest = Sha256::digest(value.as_bytes());
    let fingerprint = crate::digest::hex(&digest[..4]);
    format!("{prefix}[REDACTED:{}:{fingerprint}]", value.len())
}

/// One value to redact in a line: where, by which rule, held by which name.
struct Found {
    range: Range<usize>,
    rule: &'static TokenRule,
    name: Option<String>,
}

/// `created_by` with every secret value redacted, and the secrets, each for history entry
/// `entry` (and `layer`, when the entry wrote one).
pub(crate) fn redact_history(
    created_by: &str,
    entry: usize,
    layer: Option<usize>,
) -> (String, Vec<Secret>) {
    let mut found: Vec<Found> = tokens(created_by)
        .into_iter()
        .map(|t| Found {
            range: t.range,
            rule: t.rule,
            name: None,
        })
        .collect();
    if let Some(assignment) = ASSIGNMENT.as_ref() {
        for captures in assignment.captures_iter(created_by) {
            let (Some(name), Some(value)) = (captures.get(1), captures.get(2)) else {
                continue;
            };
            let text = value.as_str();
            let quoted = text.len() >= 2
                && (text.starts_with('"') && text.ends_with('"')
                    || text.starts_with('\'') && text.ends_with('\''));
            let range = if quoted {
                value.start() + 1..value.end() - 1
            } else {
                value.range()
            };
            let inner = &created_by[range.clone()];
            // A reference (`$HF_TOKEN`) is not a value; an empty one holds nothing.
            if inner.is_empty() || inner.starts_with('$') || !secret_name(name.as_str()) {
                continue;
            }
            // A token inside it already names the rule: the name only adds itself.
            if let Some(token) = found
                .iter_mut()
                .find(|f| f.range.start < range.end && range.start < f.range.end)
            {
                token.name.get_or_insert_with(|| name.as_str().to_owned());
                continue;
            }
            found.push(Found {
                range,
                rule: &SECRET_NAME,
                name: Some(name.as_str().to_owned()),
            });
        }
    }
    if found.is_empty() {
        return (created_by.to_owned(), Vec::new());
    }
    found.sort_by_key(|f| f.range.start);
    let mut out = String::with_capacity(created_by.len());
    let mut secrets = Vec::with_capacity(found.len());
    let mut at = 0;
    for f in found {
        if f.range.start < at {
            continue;
        }
        let value = &created_by[f.range.clone()];
        let shown = redacted(value, f.rule.prefix_len);
        out.push_str(&created_by[at..f.range.start]);
        out.push_str(&shown);
        at = f.range.end;
        secrets.push(Secret {
            rule: f.rule.id,
            reason: f.rule.reason,
            source: SecretSource::History,
            name: f.name,
            history_entry: entry,
            layer,
            visible: true,
            confidence: f.rule.confidence,
            redacted: shown,
            fix: BUILD_SECRET_FIX,
        });
    }
    out.push_str(&created_by[at..]);
    (out, secrets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_arguments_env_steps_and_tokens_are_redacted() {
        let hf = format!("hf_{}", "Zx9".repeat(12));
        let line = format!(
            "RUN |3 HF_TOKEN={hf} DB_PASSWORD=hunter2hunter2 PYTHON_VERSION=3.11 /bin/sh -c \
             pip install -i https://me:s3cr3t@pypi.example/simple x # buildkit"
        );
        let (shown, secrets) = redact_history(&line, 4, Some(2));
        for value in [hf.as_str(), "hunter2hunter2", "s3cr3t"] {
            assert!(!shown.contains(value), "{shown}");
        }
        assert!(shown.contains("PYTHON_VERSION=3.11"), "{shown}");
        assert!(
            shown.starts_with("RUN |3 HF_TOKEN=hf_[REDACTED:39:"),
            "{shown}"
        );
        let rules: Vec<(&str, Option<&str>)> = secrets
            .iter()
            .map(|s| (s.rule, s.name.as_deref()))
            .collect();
        assert_eq!(
            rules,
            [
                ("huggingface-token", Some("HF_TOKEN")),
                ("secret-named-value", Some("DB_PASSWORD")),
                ("url-credentials", None)
            ]
        );
        assert!(
            secrets
                .iter()
                .all(|s| s.layer == Some(2) && s.history_entry == 4)
        );
        // The same value always shows the same way: reports can be matched.
        assert_eq!(secrets[0].redacted, redacted(&hf, 3));

        let (env, found) = redact_history(
            r#"ENV AWS_SECRET_ACCESS_KEY="abc def" A=$HF_TOKEN"#,
            0,
            None,
        );
        assert_eq!(found.len(), 1);
        assert!(!env.contains("abc def"), "{env}");
        assert!(env.contains("A=$HF_TOKEN"), "{env}");
        let (plain, none) = redact_history("/bin/sh -c #(nop)  ENV PATH=/usr/bin", 0, None);
        assert_eq!(plain, "/bin/sh -c #(nop)  ENV PATH=/usr/bin");
        assert!(none.is_empty());
    }
}

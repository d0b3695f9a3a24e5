//! A history line read for secrets and redacted. A line has up to three parts, each read by
//! its own grammar, because builders quote nothing: BuildKit's and buildah's build-argument
//! prefix (`|2 HF_TOKEN=… PIP_INDEX_URL=… /bin/sh -c …`, a value running to the next
//! ` NAME=` or the shell), an `ENV`/`ARG` step (`K=V …` or `K V`, a value running to the
//! next ` NAME=` or the end), and a command (shell words: quotes, escapes and unclosed
//! quotes followed). Tokens by their shapes are found anywhere, and so are secret flags
//! (`--password V`, `-u user:pass`, `Authorization: Bearer V`).
//!
//! Budget: every regex here runs in time linear in the line per match it yields (the
//! `regex` crate never backtracks); the candidates are sorted once and merged in one pass;
//! at most [`MAX_LISTED`] secrets are listed per line (every one is redacted).

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;
use sha2::{Digest as _, Sha256};

use super::finding::{BUILD_SECRET_FIX, Secret, SecretSource};
use super::rules::{SECRET_NAME, TokenRule, complete, secret_name, tokens};

/// Secrets listed per history line; more are redacted all the same.
const MAX_LISTED: usize = 64;

/// Values shorter than this show no length or fingerprint: both would help guess them.
const FINGERPRINTED: usize = 16;

/// Where a redacted value begins: a value already redacted is never redacted again.
const MARK: &str = "[REDACTED";

/// `NAME=` where a name begins (not inside another word).
static NAME_EQ: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?:^|[^A-Za-z0-9_])([A-Za-z_][A-Za-z0-9_]{0,255})=").ok());

/// A shell word after `=`: bare, escaped and quoted parts joined, an unclosed quote running
/// to the end.
static SHELL_VALUE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r#"^(?:\\.|"(?:[^"\\]|\\.)*(?:"|$)|\$'(?:[^'\\]|\\.)*(?:'|$)|'[^']*(?:'|$)|[^\s"'\\;&|()<>])+"#,
    )
    .ok()
});

/// Flags and headers that carry a secret: group 1 is the secret.
static SECRET_FLAGS: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(concat!(
        r#"(?i)(?:--?(?:token|password|passwd|secret|api[-_]?key|auth[-_]?token)(?:=|\s+)"#,
        r#"|authorization:\s*(?:bearer|basic|token)\s+"#,
        r#"|\s-u\s+[^\s:]+:"#,
        r#"|_auth(?:token)?\s*=\s*)"#,
        r#"("[^"]*"?|'[^']*'?|[^\s"']+)"#,
    ))
    .ok()
});

/// A reference the shell expands (`$NAME`, `${NAME}`, `$(…)`), alone: not a value.
static REFERENCE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"^"?\$(?:[A-Za-z_][A-Za-z0-9_]*|\{[A-Za-z_][A-Za-z0-9_]*\}|\(.*\))"?$"#).ok()
});

/// `value` as outputs show it: the rule's public prefix, then (for a value long enough
/// that it cannot be guessed from them) its length and the first 8 hex digits of its
/// SHA-256.
pub(crate) fn redacted(value: &str, prefix_len: usize) -> String {
    let prefix: String = value.chars().take(prefix_len).collect();
    if value.len() < FINGERPRINTED {
        return format!("{prefix}{MARK}]");
    }
    let digest = Sha256::digest(value.as_bytes());
    let fingerprint = crate::digest::hex(&digest[..4]);
    format!("{prefix}{MARK}:{}:{fingerprint}]", value.len())
}

/// One value to redact: where, by which rule, held by which name.
struct Found {
    range: Range<usize>,
    rule: &'static TokenRule,
    name: Option<String>,
}

/// `created_by` with every secret value redacted, and the secrets (at most [`MAX_LISTED`]),
/// each for history entry `entry` (and `layer`, when the entry wrote one).
pub(crate) fn redact_history(
    created_by: &str,
    entry: usize,
    layer: Option<usize>,
) -> (String, Vec<Secret>) {
    let mut found = candidates(created_by);
    if found.is_empty() {
        return (created_by.to_owned(), Vec::new());
    }
    // One pass over the candidates in text order: overlapping ones become one value (a
    // named value holding a token is redacted whole), labelled by its first token rule.
    found.sort_by_key(|f| (f.range.start, std::cmp::Reverse(f.range.end)));
    let mut merged: Vec<Found> = Vec::with_capacity(found.len());
    for f in found {
        match merged.last_mut() {
            Some(last) if f.range.start < last.range.end => {
                last.range.end = last.range.end.max(f.range.end);
                if last.rule.id == SECRET_NAME.id {
                    last.rule = f.rule;
                }
                if last.name.is_none() {
                    last.name = f.name;
                }
            }
            _ => merged.push(f),
        }
    }
    let mut out = String::with_capacity(created_by.len());
    let mut secrets = Vec::new();
    let mut at = 0;
    for f in merged {
        let value = &created_by[f.range.clone()];
        if value.contains(MARK) {
            continue;
        }
        let shown = redacted(value, f.rule.prefix_len);
        out.push_str(&created_by[at..f.range.start]);
        out.push_str(&shown);
        at = f.range.end;
        if secrets.len() < MAX_LISTED {
            secrets.push(Secret {
                rule: f.rule.id,
                reason: f.rule.reason,
                source: SecretSource::History,
                name: f.name,
                path: None,
                line: None,
                history_entry: Some(entry),
                layer,
                visible: true,
                hidden_by_layer: None,
                confidence: f.rule.confidence,
                example: false,
                redacted: shown,
                fix: BUILD_SECRET_FIX,
            });
        }
    }
    out.push_str(&created_by[at..]);
    (out, secrets)
}

/// Every value of `line` a rule matches, unsorted, possibly overlapping.
fn candidates(line: &str) -> Vec<Found> {
    let (Some(name_eq), Some(shell_value), Some(flags), Some(reference)) = (
        NAME_EQ.as_ref(),
        SHELL_VALUE.as_ref(),
        SECRET_FLAGS.as_ref(),
        REFERENCE.as_ref(),
    ) else {
        return whole(line);
    };
    if !complete() {
        return whole(line);
    }
    let mut found: Vec<Found> = tokens(line)
        .into_iter()
        .map(|t| Found {
            range: t.range,
            rule: t.rule,
            name: None,
        })
        .collect();
    for captures in flags.captures_iter(line) {
        // `--token $HF_TOKEN` names a variable: the value is wherever that was set.
        if let Some(value) = captures.get(1).filter(|v| !reference.is_match(v.as_str())) {
            found.push(Found {
                range: unquoted(line, value.range()),
                rule: &SECRET_NAME,
                name: None,
            });
        }
    }
    let (prefix_end, step) = parts(line);
    for captures in name_eq.captures_iter(line) {
        let (Some(name), Some(all)) = (captures.get(1), captures.get(0)) else {
            continue;
        };
        if !secret_name(name.as_str()) {
            continue;
        }
        let start = all.end();
        let range = if start < prefix_end || step {
            // A build argument or an `ENV`/`ARG` value: unquoted, it runs to the next
            // ` NAME=` (or, in the prefix, to the shell).
            let limit = if start < prefix_end {
                prefix_end
            } else {
                line.len()
            };
            let next = name_eq
                .find_at(line, start)
                .filter(|m| m.start() < limit)
                .map_or(limit, |m| m.start());
            start..next
        } else {
            // A command: one shell word.
            let Some(word) = shell_value.find(&line[start..]) else {
                continue;
            };
            let range = start..start + word.end();
            if reference.is_match(&line[range.clone()]) {
                continue;
            }
            unquoted(line, range)
        };
        let range = trim(line, range);
        if !range.is_empty() {
            found.push(Found {
                range,
                rule: &SECRET_NAME,
                name: Some(name.as_str().to_owned()),
            });
        }
    }
    // `ENV K V` (the space form buildah keeps): the rest of the line.
    if let Some(rest) = env_space_form(line) {
        found.push(Found {
            range: rest,
            rule: &SECRET_NAME,
            name: None,
        });
    }
    found
}

/// The whole line as one value: what is left when a pattern failed to compile.
fn whole(line: &str) -> Vec<Found> {
    vec![Found {
        range: 0..line.len(),
        rule: &SECRET_NAME,
        name: None,
    }]
}

/// Where the build-argument prefix ends (0 without one: `[RUN ]|N …` up to the shell, a
/// path followed by an option such as `/bin/sh -c`, else the first ` /`, else the end), and
/// whether the line is an `ENV` or `ARG` step.
fn parts(line: &str) -> (usize, bool) {
    let body = line.trim_start();
    let body = body.strip_prefix("RUN ").unwrap_or(body);
    let step = {
        let nop = line.find("#(nop)").map_or(line, |at| &line[at + 6..]);
        let word = nop.trim_start();
        word.starts_with("ENV ") || word.starts_with("ARG ")
    };
    let Some(rest) = body.strip_prefix('|') else {
        return (0, step);
    };
    let offset = line.len() - rest.len();
    let shell = [" /bin/", " /usr/bin/", " /"]
        .iter()
        .find_map(|marker| rest.find(marker))
        .map_or(line.len(), |at| offset + at);
    (shell, step)
}

/// For an `ENV`/`ARG` step in the space form (`ENV NAME value with words`) whose name is a
/// secret's: the range of the value.
fn env_space_form(line: &str) -> Option<Range<usize>> {
    let nop = line.find("#(nop)").map_or(0, |at| at + 6);
    let body = &line[nop..];
    let trimmed = body.trim_start();
    let at = nop + (body.len() - trimmed.len());
    let rest = trimmed
        .strip_prefix("ENV ")
        .or_else(|| trimmed.strip_prefix("ARG "))?;
    let name_at = at + 4;
    let name_end = rest.find([' ', '\t'])?;
    let name = &rest[..name_end];
    if name.contains('=') || !secret_name(name) {
        return None;
    }
    let value_start = name_at + name_end + 1;
    let range = trim(line, value_start..line.len());
    (!range.is_empty()).then_some(range)
}

/// `range` without the quotes around it, when it is one quoted word.
fn unquoted(line: &str, range: Range<usize>) -> Range<usize> {
    let text = &line[range.clone()];
    let quoted = text.len() >= 2
        && ((text.starts_with('"') && text.ends_with('"'))
            || (text.starts_with('\'') && text.ends_with('\'')));
    if quoted {
        range.start + 1..range.end - 1
    } else {
        range
    }
}

/// `range` without the blanks at its ends and a trailing ` # buildkit`.
fn trim(line: &str, range: Range<usize>) -> Range<usize> {
    let text = &line[range.clone()];
    let text = text.strip_suffix(" # buildkit").unwrap_or(text);
    let start = range.start + (text.len() - text.trim_start().len());
    let end = range.start + text.trim_end().len();
    start..end.max(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every value of `line` is gone from its redacted form.
    fn hides(line: &str, values: &[&str]) -> String {
        let (shown, _) = redact_history(line, 0, None);
        for value in values {
            assert!(!shown.contains(value), "{value:?} in {shown}");
        }
        shown
    }

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
                .all(|s| s.layer == Some(2) && s.history_entry == Some(4))
        );
        // The same value always shows the same way: reports can be matched.
        assert_eq!(secrets[0].redacted, redacted(&hf, 3));
        // Redacting twice changes nothing.
        assert_eq!(redact_history(&shown, 4, Some(2)).0, shown);
    }

    /// The reviewer's cases: values with blanks, operators, quotes and escapes in every
    /// part of a line; a named value holding a token; `$` inside values; flags and
    /// headers; URLs with an empty user, an `@` or a long password.
    #[test]
    fn whole_values_are_redacted_however_they_are_written() {
        hides(
            "RUN |1 DB_PASSWORD=correct horse battery staple /bin/sh -c ./migrate # buildkit",
            &["horse", "battery", "staple", "correct"],
        );
        hides(
            "RUN |1 DB_PASSWORD=Tr0ub4dor&3;x) /bin/sh -c ./migrate # buildkit",
            &["Tr0ub4dor", "&3;x)"],
        );
        hides("ENV DB_PASSWORD=two words", &["two", "words"]);
        hides(
            r#"export DB_PASSWORD="pa\"ss word" && run"#,
            &["pa", "ss word"],
        );
        hides(r"export DB_PASSWORD=pa\ ss && run", &["pa\\", " ss"]);
        hides("/bin/sh -c #(nop) ENV DB_PASSWORD hunter2", &["hunter2"]);
        hides(
            "ENV AWS_CREDENTIALS=AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            &["wJalrXUtnFEMI", "AKIAIOSFODNN7EXAMPLE"],
        );
        hides(
            "RUN |1 DB_PASSWORD=$uperS3cret! /bin/sh -c ./migrate # buildkit",
            &["uperS3cret"],
        );
        hides("export DB_PASSWORD='$ecret' && run", &["$ecret"]);
        let kept = hides("export A=$DB_PASSWORD DB_PASSWORD=$PW && run", &[]);
        assert!(kept.contains("DB_PASSWORD=$PW"), "{kept}");
        hides(
            r#"echo "DB_PASSWORD=hunter2" >> /app/.env && ./app --token abc123def --db-password=pw12345"#,
            &["hunter2", "abc123def", "pw12345"],
        );
        hides(
            r#"curl -u admin:hunter2 -H "Authorization: Bearer s3cr3tv4lue" https://x"#,
            &["hunter2", "s3cr3tv4lue"],
        );
        hides(
            "npm config set //registry.npmjs.org/:_authToken=5b8b1a0e-2c1f-4c8e",
            &["5b8b1a0e"],
        );
        hides("ENV REDIS_URL=redis://:hunter2@redis:6379/0", &["hunter2"]);
        hides(
            "pip install -i https://ci:p@ss@pypi.example/simple x",
            &["p@ss", "@ss"],
        );
        let long = "y".repeat(300);
        hides(&format!("pip download https://u:{long}@h/x"), &[&long]);
        hides(
            r#"RUN |2 GREETING="hi DB_PASSWORD=hunter2 /bin/sh -c echo "x" # buildkit"#,
            &["hunter2"],
        );
    }

    /// A flag given a variable (`--token $HF_TOKEN`) holds no value: nothing to list.
    #[test]
    fn flags_given_a_variable_are_no_secret() {
        let line = "RUN /bin/sh -c huggingface-cli login --token $HF_TOKEN # buildkit";
        let (shown, secrets) = redact_history(line, 0, None);
        assert_eq!(shown, line);
        assert!(secrets.is_empty());
    }

    /// Short values show neither length nor fingerprint: a PIN is not guessable from them.
    #[test]
    fn short_values_show_only_that_they_were_redacted() {
        let (shown, secrets) = redact_history("ENV DB_PASSWORD=1234", 0, None);
        assert_eq!(shown, "ENV DB_PASSWORD=[REDACTED]");
        assert_eq!(secrets[0].redacted, "[REDACTED]");
    }

    /// 300,000 assignments and tokens on one line: sorted and merged once (comparing each
    /// with all before it would take 10^11 steps, hours), the listed secrets capped, every
    /// value redacted.
    #[test]
    fn a_line_of_many_secrets_costs_a_sort() {
        let line = "A_TOKEN=x ".repeat(200_000) + &"AKIAAAAAAAAAAAAAAAAA ".repeat(100_000);
        let (shown, secrets) = redact_history(&line, 0, None);
        assert_eq!(secrets.len(), MAX_LISTED);
        assert!(!shown.contains("AKIAAAAAAAAAAAAAAAAA"));
        assert!(!shown.contains("A_TOKEN=x"));
    }
}

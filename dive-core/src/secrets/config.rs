//! Secrets in the config's `Env`, its labels, the manifest's annotations and the build
//! arguments BuildKit's provenance records: each a name and a value.
//!
//! Budget: each value is read by each token rule's regex once (linear in the value); the
//! config and the attestation are read within `--max-metadata`; at most [`MAX_LISTED`]
//! secrets are listed per source.

use super::files::placeholder;
use super::finding::{BUILD_SECRET_FIX, CONFIG_SECRET_FIX, Secret, SecretSource};
use super::history::redacted;
use super::rules::{Confidence, SECRET_NAME, TokenRule, secret_name, tokens};

/// Secrets listed per source (`Env`, labels …); an image of more lists this many, and
/// stops reading there.
const MAX_LISTED: usize = 256;

/// Characters of a variable's, label's or annotation's name kept.
const MAX_NAME: usize = 256;

/// The secrets of `pairs` (name, value) found in `source`: a value whose name is a
/// secret's whole, else each token in it.
pub(crate) fn named_values<'a>(
    source: SecretSource,
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Vec<Secret> {
    let mut out = Vec::new();
    for (name, value) in pairs {
        if out.len() == MAX_LISTED {
            break;
        }
        let found = tokens(value);
        let whole = secret_name(name) && !value.trim().is_empty() && !value.starts_with('$');
        // A name is the image's to choose: a long one is cut (it says where, not what).
        let shown_name: String = name.chars().take(MAX_NAME).collect();
        let mut push = |text: &str, rule: &'static TokenRule, prefix_len: usize| {
            if out.len() == MAX_LISTED {
                return;
            }
            let example = placeholder(text);
            out.push(Secret {
                rule: rule.id,
                reason: rule.reason,
                source,
                name: Some(shown_name.clone()),
                path: None,
                line: None,
                history_entry: None,
                layer: None,
                visible: true,
                hidden_by_layer: None,
                confidence: if example {
                    Confidence::Low
                } else {
                    rule.confidence
                },
                example,
                redacted: redacted(text, prefix_len),
                fix: if source == SecretSource::Provenance {
                    BUILD_SECRET_FIX
                } else {
                    CONFIG_SECRET_FIX
                },
            });
        };
        if whole {
            // One value, named by the token it starts with, if any.
            let token = found.first().filter(|t| t.range.start == 0).map(|t| t.rule);
            let rule = token.unwrap_or(&SECRET_NAME);
            push(value, rule, token.map_or(0, |t| t.prefix_len));
        } else {
            for t in &found {
                push(&value[t.range.clone()], t.rule, t.rule.prefix_len);
            }
        }
    }
    out
}

/// `Env` entries (`NAME=value`) as pairs.
pub(crate) fn env_pairs(env: &[String]) -> impl Iterator<Item = (&str, &str)> {
    env.iter()
        .map(|e| e.split_once('=').unwrap_or((e.as_str(), "")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_labels_and_build_arguments_are_read_by_name_and_by_shape() {
        let hf = format!("hf_{}", "Ab3d".repeat(9));
        let env = vec![
            "PATH=/usr/bin".to_owned(),
            format!("HF_TOKEN={hf}"),
            "DB_PASSWORD=correct-horse-battery".to_owned(),
            "API_KEY=".to_owned(),
            format!("NOTE=uses {hf} inside"),
            "TOKENIZERS_PARALLELISM=false".to_owned(),
            "AWS_SECRET_ACCESS_KEY=<your key here>".to_owned(),
        ];
        let found = named_values(SecretSource::Env, env_pairs(&env));
        let shown: Vec<(&str, Option<&str>, Confidence)> = found
            .iter()
            .map(|s| (s.rule, s.name.as_deref(), s.confidence))
            .collect();
        assert_eq!(
            shown,
            [
                ("huggingface-token", Some("HF_TOKEN"), Confidence::High),
                (
                    "secret-named-value",
                    Some("DB_PASSWORD"),
                    Confidence::Medium
                ),
                ("huggingface-token", Some("NOTE"), Confidence::High),
                (
                    "secret-named-value",
                    Some("AWS_SECRET_ACCESS_KEY"),
                    Confidence::Low
                ),
            ]
        );
        assert!(found[0].redacted.starts_with("hf_[REDACTED:39:"));
        for s in &found {
            assert!(!s.redacted.contains(&hf[3..]) && !s.redacted.contains("horse"));
        }
    }

    /// Millions of tokens in one label, under a long name: 256 listed, each with the name
    /// cut, and the reading stops there.
    #[test]
    fn a_label_of_many_tokens_lists_a_few() {
        let name = "A".repeat(100_000);
        let value = "a://:b@ ".repeat(200_000);
        let found = named_values(SecretSource::Label, [(name.as_str(), value.as_str())]);
        assert_eq!(found.len(), MAX_LISTED);
        assert!(
            found
                .iter()
                .all(|s| s.name.as_ref().unwrap().len() == MAX_NAME)
        );
    }
}

//! What a secret looks like: tokens by their documented prefixes and lengths, credentials in
//! URLs, and build-argument or variable names that hold one. Each rule has an ID, a short
//! reason and a confidence.
//!
//! Budget: the token patterns are one `regex` set, matched in time linear in the text (the
//! crate never backtracks); a name is compared with a fixed list of words.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

/// How sure a rule is that what it matched is a live credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// Test data, documentation or an example: a vendor's documented example value, a
    /// placeholder, or a file under `tests/`, `docs/`, `examples/`.
    Low,
    /// A shape that is also common in other text (a JWT, an `sk-` key).
    Medium,
    /// A documented prefix and length that little else has.
    High,
}

impl Confidence {
    /// The confidence in words, as the JSON names it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }
}

/// A rule for a value found in text.
#[derive(Debug)]
pub(crate) struct TokenRule {
    /// Its ID, as the JSON and the gate name it.
    pub id: &'static str,
    /// What it finds.
    pub reason: &'static str,
    /// The part of a match that may be shown: its documented public prefix.
    pub prefix_len: usize,
    pub confidence: Confidence,
    pattern: &'static str,
}

/// The token rules, in the order they are tried (the more specific first).
static TOKEN_RULES: [TokenRule; 10] = [
    TokenRule {
        id: "github-token",
        reason: "a GitHub token (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_)",
        prefix_len: 4,
        confidence: Confidence::High,
        pattern: r"(?-u:\b)(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})(?-u:\b)",
    },
    TokenRule {
        id: "gitlab-token",
        reason: "a GitLab personal access token (glpat-)",
        prefix_len: 6,
        confidence: Confidence::High,
        pattern: r"(?-u:\b)glpat-[A-Za-z0-9_-]{20,}",
    },
    TokenRule {
        id: "huggingface-token",
        reason: "a Hugging Face token (hf_)",
        prefix_len: 3,
        confidence: Confidence::High,
        pattern: r"(?-u:\b)hf_[A-Za-z0-9]{34,}(?-u:\b)",
    },
    TokenRule {
        id: "pypi-token",
        reason: "a PyPI API token (pypi-)",
        prefix_len: 5,
        confidence: Confidence::High,
        pattern: r"(?-u:\b)pypi-[A-Za-z0-9_-]{50,}",
    },
    TokenRule {
        id: "npm-token",
        reason: "an npm access token (npm_)",
        prefix_len: 4,
        confidence: Confidence::High,
        pattern: r"(?-u:\b)npm_[A-Za-z0-9]{36}(?-u:\b)",
    },
    TokenRule {
        id: "aws-access-key-id",
        reason: "an AWS access key ID (AKIA, ASIA)",
        prefix_len: 4,
        confidence: Confidence::High,
        pattern: r"(?-u:\b)(?:AKIA|ASIA)[A-Z0-9]{16}(?-u:\b)",
    },
    TokenRule {
        id: "slack-token",
        reason: "a Slack token (xoxb-, xoxp-, xoxa-, xoxr-, xoxs-)",
        prefix_len: 5,
        confidence: Confidence::High,
        pattern: r"(?-u:\b)xox[bpars]-[A-Za-z0-9-]{10,}",
    },
    TokenRule {
        id: "openai-style-key",
        reason: "an API key in the sk- style (OpenAI, Anthropic and others)",
        prefix_len: 3,
        confidence: Confidence::Medium,
        pattern: r"(?-u:\b)sk-[A-Za-z0-9_-]{20,}",
    },
    TokenRule {
        id: "jwt",
        reason: "a JSON Web Token",
        prefix_len: 3,
        confidence: Confidence::Medium,
        pattern: r"(?-u:\b)eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
    },
    TokenRule {
        id: "url-credentials",
        reason: "a password inside a URL (scheme://user:password@host)",
        prefix_len: 0,
        confidence: Confidence::High,
        // Only the password is the secret: group 1.
        pattern: r"[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@]*:([^\s/]+)@",
    },
];

/// The compiled patterns, in the order of [`TOKEN_RULES`].
static PATTERNS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    TOKEN_RULES
        .iter()
        .filter_map(|r| Regex::new(r.pattern).ok())
        .collect()
});

/// What every token rule's match and a PEM key block begin with, as one alternation of
/// literals: the `regex` crate finds any of them in one vectorised pass, so a text holding
/// none (most files read) skips the rules' own passes.
static ANCHORS: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"gh[pousr]_|github_pat_|glpat-|hf_|pypi-|npm_|AKIA|ASIA|xox[bpars]-|sk-|eyJ|://|-----BEGIN ")
        .ok()
});

/// Whether `text` may hold a token or a PEM block (`false`: no rule can match it).
pub(crate) fn may_hold_token(text: &str) -> bool {
    ANCHORS
        .as_ref()
        .is_none_or(|anchors| anchors.is_match(text))
}

/// A value a token rule matched: the rule and the byte range of the secret in the text.
#[derive(Debug, Clone)]
pub(crate) struct TokenMatch {
    pub rule: &'static TokenRule,
    pub range: std::ops::Range<usize>,
}

/// Every token in `text`, in text order, none overlapping (at one start, the first rule
/// wins; a match inside an earlier one is dropped). All matches are gathered, then sorted
/// once: O(m log m) in the matches, whatever the text repeats.
pub(crate) fn tokens(text: &str) -> Vec<TokenMatch> {
    if !may_hold_token(text) {
        return Vec::new();
    }
    let mut all: Vec<(usize, usize, TokenMatch)> = Vec::new();
    for (order, (rule, pattern)) in TOKEN_RULES.iter().zip(PATTERNS.iter()).enumerate() {
        for captures in pattern.captures_iter(text) {
            if let Some(m) = captures.get(1).or_else(|| captures.get(0)) {
                let range = m.range();
                all.push((range.start, order, TokenMatch { rule, range }));
            }
        }
    }
    all.sort_by_key(|(start, order, _)| (*start, *order));
    let mut found: Vec<TokenMatch> = Vec::with_capacity(all.len());
    let mut end = 0;
    for (start, _, m) in all {
        if start >= end || found.is_empty() {
            end = m.range.end;
            found.push(m);
        }
    }
    found
}

/// The token rule with ID `id`.
pub(crate) fn token_rule(id: &str) -> Option<&'static TokenRule> {
    TOKEN_RULES
        .iter()
        .chain([&SECRET_NAME])
        .find(|r| r.id == id)
}

/// Whether every pattern compiled (a test holds it; if one did not, a line is redacted
/// whole rather than read with fewer rules).
pub(crate) fn complete() -> bool {
    PATTERNS.len() == TOKEN_RULES.len()
}

/// The rule for a value held by a build argument or variable whose name says it is a
/// secret (`HF_TOKEN`, `AWS_SECRET_ACCESS_KEY`, `DB_PASSWORD`).
pub(crate) static SECRET_NAME: TokenRule = TokenRule {
    id: "secret-named-value",
    reason: "a value whose name says it is a secret (token, secret, password, key, credentials)",
    prefix_len: 0,
    confidence: Confidence::Medium,
    pattern: "",
};

/// Words that make a name a secret's: `HF_TOKEN`, `API_KEY`, `PASSWORD`, `MYSQL_PWD`.
const SECRET_WORDS: [&str; 11] = [
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "PWD",
    "APIKEY",
    "API_KEY",
    "ACCESS_KEY",
    "PRIVATE_KEY",
    "CREDENTIAL",
    "AUTH",
];

/// Endings that make a name a secret's: `DB_PASS`, `STRIPE_KEY`.
const SECRET_ENDINGS: [&str; 2] = ["_PASS", "_KEY"];

/// Names that look like a secret's but hold none by convention.
const NOT_SECRET_NAMES: [&str; 6] = [
    "TOKENIZERS_PARALLELISM",
    "GPG_KEY",
    "KEY_ID",
    "PWD",
    "OLDPWD",
    "AUTHOR",
];

/// Whether a build argument or variable named `name` holds a secret when it holds a value.
pub(crate) fn secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    (SECRET_WORDS.iter().any(|w| upper.contains(w))
        || SECRET_ENDINGS.iter().any(|e| upper.ends_with(e)))
        && !NOT_SECRET_NAMES
            .iter()
            .any(|n| upper == *n || (n.len() >= 6 && upper.ends_with(n)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_compiles() {
        assert_eq!(PATTERNS.len(), TOKEN_RULES.len());
        assert!(ANCHORS.is_some());
    }

    #[test]
    fn tokens_are_found_by_their_documented_shapes() {
        let hf = format!("hf_{}", "a1B2".repeat(9));
        let aws = "AKIAIOSFODNN7EXAMPLE";
        let text = format!(
            "huggingface-cli login --token {hf} && export K={aws} && \
             pip install -i https://me:s3cr3t@pypi.example/simple x ghp_short"
        );
        let found: Vec<(&str, &str)> = tokens(&text)
            .iter()
            .map(|t| (t.rule.id, &text[t.range.clone()]))
            .collect();
        assert_eq!(
            found,
            [
                ("huggingface-token", hf.as_str()),
                ("aws-access-key-id", aws),
                ("url-credentials", "s3cr3t")
            ]
        );
    }

    /// Each token rule's positive case by its documented shape, and a near miss.
    #[test]
    fn every_token_rule_has_its_shape_and_a_near_miss() {
        // A prefix, then a run of one character long enough, and one too short.
        let shaped = [
            ("github-token", "ghp_", 'a', 36, 30),
            ("gitlab-token", "glpat-", 'x', 20, 10),
            ("huggingface-token", "hf_", 'B', 34, 20),
            ("pypi-token", "pypi-", 'C', 50, 20),
            ("npm-token", "npm_", 'd', 36, 35),
            ("aws-access-key-id", "AKIA", 'Q', 16, 15),
            ("slack-token", "xoxb-", '1', 10, 5),
            ("openai-style-key", "sk-", 'e', 20, 10),
        ];
        let run = |prefix: &str, c: char, n: usize| format!("{prefix}{}", c.to_string().repeat(n));
        let mut cases: Vec<(&str, String, String)> = shaped
            .iter()
            .map(|&(id, prefix, c, good, short)| (id, run(prefix, c, good), run(prefix, c, short)))
            .collect();
        cases.push((
            "jwt",
            "eyJhbGciOiJI.eyJzdWIiOiIx.c2lnbmF0dXJl".to_owned(),
            "eyJhbGciOiJI.c2lnbmF0dXJl".to_owned(),
        ));
        cases.push((
            "url-credentials",
            "https://me:pw@host/x".to_owned(),
            "https://host/x:pw@".to_owned(),
        ));
        for (id, positive, miss) in cases {
            let found = tokens(&format!("a {positive} b"));
            assert_eq!(found.len(), 1, "{id}: {positive}");
            assert_eq!(found[0].rule.id, id, "{positive}");
            assert!(tokens(&format!("a {miss} b")).is_empty(), "{id}: {miss}");
        }
    }

    #[test]
    fn names_say_which_values_are_secrets() {
        for name in [
            "HF_TOKEN",
            "aws_secret_access_key",
            "DB_PASSWORD",
            "OPENAI_API_KEY",
        ] {
            assert!(secret_name(name), "{name}");
        }
        for name in [
            "PYTHON_VERSION",
            "TOKENIZERS_PARALLELISM",
            "GPG_KEY",
            "PATH",
        ] {
            assert!(!secret_name(name), "{name}");
        }
    }
}

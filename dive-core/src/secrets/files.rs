//! Secrets in files: which entries are read (by name and size, before any byte), and what
//! a bounded prefix of one holds. Files whose name says they hold credentials (`.ssh/id_*`,
//! `.aws/credentials`, `.docker/config.json`, `.netrc`, `.npmrc`, `.env`, kube configs …)
//! are read at any size; other text files outside package trees up to [`TEXT_MAX`] bytes
//! are read for PEM private keys and tokens by their shapes.
//!
//! Budget: at most [`PREFIX_BYTES`] of a file are read (in the pass that reads the layer),
//! each regex runs in time linear in them, and at most [`PER_FILE`] values are kept per
//! file; the walk caps the bytes read per layer.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::history::redacted;
use super::rules::{Confidence, TokenRule, may_hold_token, secret_name, tokens};

/// Bytes of a candidate file read: its head, where keys and tokens of real credential
/// files sit.
pub(crate) const PREFIX_BYTES: usize = 64 << 10;

/// Largest text file outside the named credential files that is read at all.
pub(crate) const TEXT_MAX: u64 = 1 << 20;

/// Values kept per file; a file of many is a list of examples or a key store.
pub(crate) const PER_FILE: usize = 8;

/// A secret a file holds, as the walk found it: its value already redacted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSecret {
    /// The rule's ID (a file rule's or a token rule's), as the JSON names it.
    pub rule: Box<str>,
    /// The 1-based line of the value in the file.
    pub line: u32,
    /// The file is test data, documentation or an example, or the value a placeholder.
    pub example: bool,
    /// The value as every output shows it.
    pub redacted: Box<str>,
}

/// A rule for files that hold credentials by their name.
#[derive(Debug)]
pub(crate) struct FileRule {
    /// Its ID, as the JSON and the gate name it.
    pub id: &'static str,
    /// What it finds.
    pub reason: &'static str,
    /// Whether `dir` (the parent path) and `name` are such a file.
    matches: fn(dir: &[u8], name: &[u8]) -> bool,
    /// The value in the file: group 1 of a match (or the whole match).
    value: &'static str,
    /// Lines `NAME=value` whose name is a secret's hold one too.
    assignments: bool,
}

fn in_dir(dir: &[u8], last: &[u8]) -> bool {
    crate::path::split_last(dir).1 == last
}

/// Named credential files, each checked by its own grammar.
static FILE_RULES: [FileRule; 12] = [
    FileRule {
        id: "ssh-private-key",
        reason: "an SSH private key (.ssh/id_*)",
        matches: |dir, name| {
            name.starts_with(b"id_")
                && !name.ends_with(b".pub")
                && (in_dir(dir, b".ssh")
                    || [&b"id_rsa"[..], b"id_dsa", b"id_ecdsa", b"id_ed25519"].contains(&name))
        },
        value: "",
        assignments: false,
    },
    FileRule {
        id: "aws-credentials",
        reason: "an AWS secret key or session token (.aws/credentials)",
        matches: |dir, name| in_dir(dir, b".aws") && (name == b"credentials" || name == b"config"),
        value: r"(?mi)^[ \t]*aws_(?:secret_access_key|session_token)[ \t]*=[ \t]*(\S+)",
        assignments: false,
    },
    FileRule {
        id: "docker-config-auth",
        reason: "a registry login (.docker/config.json auths)",
        matches: |dir, name| {
            (in_dir(dir, b".docker") && name == b"config.json") || name == b".dockercfg"
        },
        value: r#""(?:auth|identitytoken|registrytoken|password)"[ \t\r\n]*:[ \t\r\n]*"([^"]+)""#,
        assignments: false,
    },
    FileRule {
        id: "netrc-password",
        reason: "a password in .netrc",
        matches: |_, name| name == b".netrc" || name == b"_netrc",
        value: r"(?:^|\s)password[ \t]+(\S+)",
        assignments: false,
    },
    FileRule {
        id: "git-credentials",
        reason: "a password or token stored by git (.git-credentials)",
        matches: |_, name| name == b".git-credentials",
        value: r"(?m)^[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@]*:([^\s/@]+)@",
        assignments: false,
    },
    FileRule {
        id: "npmrc-token",
        reason: "an npm registry token or password (.npmrc)",
        matches: |_, name| name == b".npmrc",
        value: r"(?m)(?:_authToken|_auth|_password)[ \t]*=[ \t]*([^\s$][^\s]*)",
        assignments: false,
    },
    FileRule {
        id: "pypirc-password",
        reason: "a package index password or token (.pypirc)",
        matches: |_, name| name == b".pypirc",
        value: r"(?m)^[ \t]*password[ \t]*[=:][ \t]*([^\s$][^\s]*)",
        assignments: false,
    },
    FileRule {
        id: "pip-conf-credentials",
        reason: "index credentials in pip's configuration (pip.conf)",
        matches: |_, name| name == b"pip.conf" || name == b"pip.ini",
        value: r"[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@]*:([^\s/@]+)@",
        assignments: false,
    },
    FileRule {
        id: "kubeconfig-credentials",
        reason: "a Kubernetes token or client key (kube config)",
        matches: |dir, name| {
            (in_dir(dir, b".kube") && name == b"config")
                || name == b"kubeconfig"
                || name.ends_with(b".kubeconfig")
        },
        value: r"(?m)^[ \t-]*(?:token|client-key-data|password)[ \t]*:[ \t]*([^\s$][^\s]*)",
        assignments: false,
    },
    FileRule {
        id: "huggingface-token-file",
        reason: "a Hugging Face login (huggingface/token)",
        matches: |dir, name| {
            (name == b"token" || name == b"stored_tokens")
                && (in_dir(dir, b"huggingface") || in_dir(dir, b".huggingface"))
        },
        value: r"(?m)(?:^|=)[ \t]*(hf_[A-Za-z0-9]{8,}|[A-Za-z0-9_]{20,})[ \t]*$",
        assignments: false,
    },
    FileRule {
        id: "kaggle-key",
        reason: "a Kaggle API key (kaggle.json)",
        matches: |_, name| name == b"kaggle.json",
        value: r#""key"[ \t\r\n]*:[ \t\r\n]*"([^"]+)""#,
        assignments: false,
    },
    FileRule {
        id: "dotenv-secret",
        reason: "a secret-named value in a .env file",
        matches: |_, name| name == b".env" || name.ends_with(b".env") || name.starts_with(b".env."),
        value: "",
        assignments: true,
    },
];

/// The named rules' value patterns, in the order of [`FILE_RULES`] (`None` for an empty one).
static FILE_PATTERNS: LazyLock<Vec<Option<Regex>>> = LazyLock::new(|| {
    FILE_RULES
        .iter()
        .map(|r| {
            (!r.value.is_empty())
                .then(|| Regex::new(r.value).ok())
                .flatten()
        })
        .collect()
});

/// The first line of a PEM private key block; its body runs to the next `-----`.
static PEM_KEY: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"-----BEGIN (?:(?:RSA|DSA|EC|OPENSSH|ENCRYPTED|PGP) )?PRIVATE KEY(?: BLOCK)?-----")
        .ok()
});

/// `NAME=value` on a line of a `.env` file or a shell script (`export` allowed).
static ASSIGNMENT: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"(?m)^[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_]{0,255})[ \t]*=[ \t]*(?:"([^"\n]*)"|'([^'\n]*)'|([^\s#]*))"#).ok()
});

/// A rule that files of any name are read for: their contents say what they are.
const fn by_content(id: &'static str, reason: &'static str) -> FileRule {
    FileRule {
        id,
        reason,
        matches: |_, _| false,
        value: "",
        assignments: false,
    }
}

/// The rule for a PEM private key block in any file.
static PRIVATE_KEY: FileRule = by_content("private-key", "a PEM private key block");

/// The rule for a service-account key file of Google Cloud (JSON with a private key).
static GCP_SERVICE_ACCOUNT: FileRule = by_content(
    "gcp-service-account",
    "a Google Cloud service-account key (JSON with private_key)",
);

/// The rule of a secret-named assignment in a script or a dotfile: the history's
/// (`super::rules::SECRET_NAME`), wherever it is found.
const ASSIGNED: &str = "secret-named-value";

/// The rule with ID `id`, with its reason and confidence (file rules and token rules).
pub(crate) fn rule(id: &str) -> Option<(&'static str, &'static str, Confidence)> {
    if let Some(r) = FILE_RULES
        .iter()
        .chain([&PRIVATE_KEY, &GCP_SERVICE_ACCOUNT])
        .find(|r| r.id == id)
    {
        let confidence = if r.id == DOTENV {
            Confidence::Medium
        } else {
            Confidence::High
        };
        return Some((r.id, r.reason, confidence));
    }
    // `secret-named-value` is the token rules' (one reason, wherever it was found).
    super::rules::token_rule(id).map(|t| (t.id, t.reason, t.confidence))
}

/// The named rule for a file at `path`, if its name says it holds credentials.
fn named(path: &[u8]) -> Option<(usize, &'static FileRule)> {
    let (dir, name) = crate::path::split_last(path);
    FILE_RULES
        .iter()
        .enumerate()
        .find(|(_, r)| (r.matches)(dir, name))
}

/// Roots whose files a package manager or the base system wrote: read only for the named
/// credential files (tokens there are test data and documentation of packages).
const PACKAGE_ROOTS: [&[u8]; 10] = [
    b"usr/share/",
    b"usr/include/",
    b"usr/lib/",
    b"usr/lib64/",
    b"etc/ssl/certs/",
    b"var/lib/",
    b"var/cache/",
    b"opt/conda/pkgs/",
    b"proc/",
    b"sys/",
];

/// Directories, at any depth, that package managers and caches fill.
const PACKAGE_DIRS: [&[u8]; 5] = [
    b"site-packages/",
    b"dist-packages/",
    b"node_modules/",
    b"lib/python",
    b".cache/",
];

/// Endings of the text files read for keys and tokens.
const TEXT_ENDINGS: [&[u8]; 26] = [
    b".env",
    b".sh",
    b".bash",
    b".zsh",
    b".py",
    b".js",
    b".mjs",
    b".cjs",
    b".ts",
    b".json",
    b".yaml",
    b".yml",
    b".toml",
    b".ini",
    b".cfg",
    b".conf",
    b".config",
    b".properties",
    b".txt",
    b".xml",
    b".pem",
    b".key",
    b".p8",
    b".ipynb",
    b".rb",
    b".tf",
];

/// Which allowance a candidate's head is read within.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Candidate {
    /// A file whose very name is a credential file's (`.ssh/id_*`, `.aws/credentials` …):
    /// few in any image, read before text files can use their allowance up.
    Named,
    /// A `.env`, or another text file read for keys and tokens.
    Text,
}

/// Whether the walk reads the head of the regular file at `path` of `size` bytes, and
/// within which allowance.
pub(crate) fn wanted(path: &[u8], size: u64) -> Option<Candidate> {
    if size == 0 || ignored(path) {
        return None;
    }
    if let Some((_, rule)) = named(path) {
        return Some(if rule.id == DOTENV {
            Candidate::Text
        } else {
            Candidate::Named
        });
    }
    if size > TEXT_MAX || packaged(path) {
        return None;
    }
    let (dir, name) = crate::path::split_last(path);
    (TEXT_ENDINGS.iter().any(|e| name.ends_with(e)) || dotfile_at_home(dir, name))
        .then_some(Candidate::Text)
}

/// The rule of `.env` files: matched by a pattern, so an image may hold any number.
const DOTENV: &str = "dotenv-secret";

/// Files every Debian-based image generates and no one authenticates with: `ssl-cert`'s
/// self-signed "snakeoil" key.
fn ignored(path: &[u8]) -> bool {
    crate::path::split_last(path).1 == b"ssl-cert-snakeoil.key"
}

/// Whether `path` is in a tree a package manager or the base system wrote.
fn packaged(path: &[u8]) -> bool {
    PACKAGE_ROOTS.iter().any(|root| path.starts_with(root))
        || PACKAGE_DIRS.iter().any(|dir| {
            path.starts_with(dir)
                || path
                    .windows(dir.len() + 1)
                    .any(|w| w[0] == b'/' && &w[1..] == *dir)
        })
}

/// A dotfile in a home directory (`root/.bash_history`, `home/u/.profile`): shells keep
/// commands and exports there.
fn dotfile_at_home(dir: &[u8], name: &[u8]) -> bool {
    name.starts_with(b".")
        && (dir == b"root"
            || (dir.starts_with(b"home/") && !dir[5..].contains(&b'/'))
            || dir.ends_with(b"/root"))
}

/// Whether the file is one that shells read (assignments there are variables).
fn shell_like(name: &[u8]) -> bool {
    [
        &b".sh"[..],
        b".bash",
        b".zsh",
        b"rc",
        b"_history",
        b".profile",
    ]
    .iter()
    .any(|e| name.ends_with(e))
}

/// One value found, before redaction.
struct Hit {
    range: Range<usize>,
    rule: &'static str,
    prefix_len: usize,
}

/// The secrets the first bytes of the file at `path` hold (at most [`PER_FILE`]), each value
/// redacted; `head` is at most [`PREFIX_BYTES`] long.
pub(crate) fn scan(path: &[u8], head: &[u8]) -> Vec<FileSecret> {
    let head = &head[..head.len().min(PREFIX_BYTES)];
    let named = named(path);
    // A binary file (NUL in its first KiB) is read only when its name asks for it.
    if named.is_none() && head[..head.len().min(1024)].contains(&0) {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(head);
    let text = text.as_ref();
    let mut hits: Vec<Hit> = Vec::new();
    // One pass tells whether any key block or token can be here at all.
    let anchored = may_hold_token(text);
    if let Some(pem) = PEM_KEY.as_ref().filter(|_| anchored) {
        let service_account =
            text.contains("\"service_account\"") && text.contains("\"private_key\"");
        let rule = if service_account {
            GCP_SERVICE_ACCOUNT.id
        } else {
            named
                .filter(|(_, r)| r.id == "ssh-private-key")
                .map_or(PRIVATE_KEY.id, |(_, r)| r.id)
        };
        // Each search starts where the last body ended: one pass over the text.
        let mut at = 0;
        while let Some(begin) = pem.find_at(text, at) {
            let start = begin.end();
            let end = text[start..]
                .find("-----")
                .map_or(text.len(), |i| start + i);
            if !text[start..end].trim().is_empty() {
                hits.push(Hit {
                    range: start..end,
                    rule,
                    prefix_len: 0,
                });
            }
            at = end;
        }
    }
    if let Some((i, rule)) = named {
        if let Some(Some(pattern)) = FILE_PATTERNS.get(i) {
            for c in pattern.captures_iter(text) {
                if let Some(value) = c.get(1).or_else(|| c.get(0)) {
                    hits.push(Hit {
                        range: value.range(),
                        rule: rule.id,
                        prefix_len: 0,
                    });
                }
            }
        }
        if rule.assignments {
            assignments(text, rule.id, &mut hits);
        }
    } else if shell_like(crate::path::split_last(path).1) {
        assignments(text, ASSIGNED, &mut hits);
    }
    let shaped: &mut dyn Iterator<Item = (Range<usize>, &'static TokenRule)> =
        &mut tokens(text).into_iter().map(|t| (t.range, t.rule));
    for (range, rule) in shaped {
        hits.push(Hit {
            range,
            rule: rule.id,
            prefix_len: rule.prefix_len,
        });
    }
    finish(path, text, hits)
}

/// `NAME=value` lines whose name is a secret's and whose value is neither empty nor a
/// reference to another variable.
fn assignments(text: &str, rule: &'static str, hits: &mut Vec<Hit>) {
    let Some(assignment) = ASSIGNMENT.as_ref() else {
        return;
    };
    for c in assignment.captures_iter(text) {
        let (Some(name), Some(value)) = (c.get(1), c.get(2).or(c.get(3)).or(c.get(4))) else {
            continue;
        };
        let v = value.as_str();
        if secret_name(name.as_str()) && !v.is_empty() && !v.starts_with('$') {
            hits.push(Hit {
                range: value.range(),
                rule,
                prefix_len: 0,
            });
        }
    }
}

/// The hits in file order, overlapping ones merged (the first found names the value),
/// redacted and numbered by line; at most [`PER_FILE`].
fn finish(path: &[u8], text: &str, mut hits: Vec<Hit>) -> Vec<FileSecret> {
    // A named or key rule is pushed before the token rules: at one start it wins, except
    // that a value assigned to a secret's name is labelled by its token's shape when it has
    // one (`API_KEY=sk-…` is an `sk-` key, its prefix shown).
    hits.sort_by_key(|h| h.range.start);
    let mut kept: Vec<Hit> = Vec::new();
    for hit in hits {
        let full = kept.len() == PER_FILE;
        match kept.last_mut() {
            Some(last) if hit.range.start < last.range.end => {
                let assigned = last.rule == ASSIGNED || last.rule == DOTENV;
                if assigned && hit.range == last.range && hit.prefix_len > 0 {
                    last.rule = hit.rule;
                    last.prefix_len = hit.prefix_len;
                }
            }
            _ if full => break,
            _ => kept.push(hit),
        }
    }
    // A key file is what its name says wherever it lies (`/home/test/.ssh/id_rsa`): only its
    // value can mark it an example; other files are test data by their directories too.
    let example_file = match named(path) {
        Some((_, rule)) if rule.id != DOTENV => false,
        _ => example_path(path),
    };
    let (mut line, mut counted) = (1u32, 0usize);
    kept.into_iter()
        .map(|hit| {
            let newlines =
                memchr::memchr_iter(b'\n', &text.as_bytes()[counted..hit.range.start]).count();
            line = line.saturating_add(u32::try_from(newlines).unwrap_or(u32::MAX));
            counted = hit.range.start;
            let value = &text[hit.range];
            FileSecret {
                rule: hit.rule.into(),
                line,
                example: example_file || placeholder(value),
                redacted: redacted(value, hit.prefix_len).into(),
            }
        })
        .collect()
}

/// Directories and names of test data, documentation and examples.
fn example_path(path: &[u8]) -> bool {
    const DIRS: [&[u8]; 13] = [
        b"test",
        b"tests",
        b"testing",
        b"testdata",
        b"test_data",
        b"fixtures",
        b"__fixtures__",
        b"example",
        b"examples",
        b"doc",
        b"docs",
        b"sample",
        b"samples",
    ];
    let (dir, name) = crate::path::split_last(path);
    let lower = name.to_ascii_lowercase();
    dir.split(|&b| b == b'/').any(|d| DIRS.contains(&d))
        || [
            &b"example"[..],
            b"sample",
            b"template",
            b"dummy",
            b"fake",
            b"mock",
        ]
        .iter()
        .any(|w| lower.windows(w.len()).any(|x| x == *w))
        || name.ends_with(b".dist")
}

/// A value that is an example or a placeholder: vendors' documented examples
/// (`AKIAIOSFODNN7EXAMPLE`), `<your-token>`, `changeme`, a run of one character.
pub(super) fn placeholder(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    value.contains("EXAMPLE")
        || value.starts_with('<')
        || lower.starts_with("your")
        || ["changeme", "xxxxxxxx", "placeholder", "dummy", "redacted"]
            .iter()
            .any(|w| lower.contains(w))
        || value
            .chars()
            .next()
            .is_some_and(|c| value.chars().all(|d| d == c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(path: &str, text: &str) -> Vec<(String, u32, bool)> {
        assert!(
            wanted(path.as_bytes(), text.len() as u64).is_some(),
            "{path}"
        );
        scan(path.as_bytes(), text.as_bytes())
            .into_iter()
            .map(|s| {
                assert!(s.redacted.contains("[REDACTED"));
                (s.rule.into(), s.line, s.example)
            })
            .collect()
    }

    fn one(path: &str, text: &str) -> String {
        let found = rules(path, text);
        assert_eq!(found.len(), 1, "{path}: {found:?}");
        found[0].0.clone()
    }

    const KEY: &str = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n";

    #[test]
    fn each_named_file_rule_finds_its_value() {
        assert_eq!(one("root/.ssh/id_ed25519", KEY), "ssh-private-key");
        assert_eq!(
            one(
                "root/.aws/credentials",
                "[default]\naws_access_key_id = AKIA\naws_secret_access_key = wJalrXUtnFEMIK7MDENGbPxRfiCY1234\n"
            ),
            "aws-credentials"
        );
        assert_eq!(
            one(
                "root/.docker/config.json",
                r#"{"auths":{"ghcr.io":{"auth":"dXNlcjpwYXNzd29yZDEyMzQ1Ng=="}}}"#
            ),
            "docker-config-auth"
        );
        assert_eq!(
            one(
                "root/.netrc",
                "machine example.org login me password hunter2hunter2\n"
            ),
            "netrc-password"
        );
        assert_eq!(
            one(
                "root/.git-credentials",
                "https://me:s3cr3tpassw0rd@github.com\n"
            ),
            "git-credentials"
        );
        assert_eq!(
            one(
                "app/.npmrc",
                "//registry.npmjs.org/:_authToken=abcdef0123456789abcdef\n"
            ),
            "npmrc-token"
        );
        assert_eq!(
            one(
                "root/.pypirc",
                "[pypi]\nusername = __token__\npassword = abcdefgh12345678\n"
            ),
            "pypirc-password"
        );
        assert_eq!(
            one(
                "etc/pip.conf",
                "[global]\nindex-url = https://u:tok3nvalue@pypi.corp/simple\n"
            ),
            "pip-conf-credentials"
        );
        assert_eq!(
            one(
                "root/.kube/config",
                "users:\n- name: a\n  user:\n    token: abcdefghijklmnop1234\n"
            ),
            "kubeconfig-credentials"
        );
        assert_eq!(
            one(
                "root/.cache/huggingface/token",
                "hf_abcdefghijklmnopqrstuvwxyz\n"
            ),
            "huggingface-token-file"
        );
        assert_eq!(
            one(
                "root/.kaggle/kaggle.json",
                r#"{"username":"me","key":"0123456789abcdef0123456789abcdef"}"#
            ),
            "kaggle-key"
        );
        assert_eq!(
            one(
                "app/.env",
                "DEBUG=1\nexport DB_PASSWORD=\"correct horse\"\n"
            ),
            "dotenv-secret"
        );
        assert_eq!(one("etc/nginx/server.key", KEY), "private-key");
        assert_eq!(
            one(
                "app/sa.json",
                "{\"type\": \"service_account\", \"private_key\": \"-----BEGIN PRIVATE KEY-----\\nMIIEvQ\\n-----END PRIVATE KEY-----\\n\"}"
            ),
            "gcp-service-account"
        );
        assert_eq!(
            one(
                "app/run.sh",
                "#!/bin/sh\nexport DB_PASSWORD='correct horse'\n"
            ),
            "secret-named-value"
        );
        // A value of a token's shape is named by it, its prefix shown.
        let found = scan(
            b"app/run.sh",
            b"export HF_TOKEN=hf_abcdefghijklmnopqrstuvwxyz0123456789\n",
        );
        assert_eq!(&*found[0].rule, "huggingface-token");
        assert!(found[0].redacted.starts_with("hf_[REDACTED:"));
        assert_eq!(
            rules(
                "app/config.yaml",
                "a: 1\ntoken: ghp_abcdefghijklmnopqrstuvwxyz0123456789\n"
            ),
            [("github-token".to_owned(), 2, false)]
        );
    }

    #[test]
    fn files_without_a_value_and_unread_files_are_no_findings() {
        for (path, text) in [
            ("root/.ssh/id_ed25519.pub", "ssh-ed25519 AAAA me@host"),
            (
                "root/.docker/config.json",
                r#"{"credsStore":"desktop","auths":{"ghcr.io":{}}}"#,
            ),
            (
                "app/.npmrc",
                "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n",
            ),
            ("app/.env", "DEBUG=1\nAPI_KEY=\nTOKEN=$FROM_ENV\n"),
            (
                "root/.kube/config",
                "users:\n- name: a\n  user:\n    exec: {}\n",
            ),
            (
                "etc/ssl/private/x.pem",
                "-----BEGIN CERTIFICATE-----\nMIIB\n",
            ),
        ] {
            assert!(scan(path.as_bytes(), text.as_bytes()).is_empty(), "{path}");
        }
        assert_eq!(
            wanted(b"usr/lib/python3/dist-packages/x/tests/k.pem", 100),
            None
        );
        assert_eq!(wanted(b"app/node_modules/x/config.json", 100), None);
        assert_eq!(wanted(b"app/model.bin", 100), None);
        assert_eq!(wanted(b"app/big.json", TEXT_MAX + 1), None);
        assert_eq!(wanted(b"etc/ssl/private/ssl-cert-snakeoil.key", 1700), None);
        let text = Some(Candidate::Text);
        assert_eq!(
            wanted(b"app/.env", 2 << 30),
            text,
            "a named file is read at any size"
        );
        assert_eq!(wanted(b"root/.bash_history", 100), text);
        assert_eq!(wanted(b"usr/src/app/config/production.json", 100), text);
        assert_eq!(wanted(b"etc/ssl/private/server.key", 1700), text);
        assert_eq!(
            wanted(b"home/test/.ssh/id_rsa", 100),
            Some(Candidate::Named)
        );
    }

    #[test]
    fn test_data_documentation_and_placeholders_are_marked() {
        let aws = "[default]\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n";
        assert_eq!(
            rules("root/.aws/credentials", aws),
            [("aws-credentials".to_owned(), 2, true)]
        );
        assert_eq!(
            rules("app/tests/fixtures/.env", "API_TOKEN=abcdefghijklmnop\n"),
            [("dotenv-secret".to_owned(), 1, true)]
        );
        assert_eq!(
            rules("app/.env.example", "API_TOKEN=<your token>\n"),
            [("dotenv-secret".to_owned(), 1, true)]
        );
        // A key is a key in any directory.
        assert_eq!(
            rules("home/test/.ssh/id_ed25519", KEY),
            [("ssh-private-key".to_owned(), 1, false)]
        );
    }

    #[test]
    fn a_file_of_many_values_keeps_a_few_and_reads_only_its_head() {
        let line = "TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789\n";
        let text = line.repeat(PREFIX_BYTES / line.len() * 4);
        let found = scan(b"app/.env", text.as_bytes());
        assert_eq!(found.len(), PER_FILE);
        assert_eq!(found[PER_FILE - 1].line, PER_FILE as u32);
        // Only the head was read: the caller passes at most PREFIX_BYTES.
        assert!(text.len() > PREFIX_BYTES);
    }

    #[test]
    fn every_pattern_compiles() {
        assert!(PEM_KEY.is_some() && ASSIGNMENT.is_some());
        for (rule, pattern) in FILE_RULES.iter().zip(FILE_PATTERNS.iter()) {
            assert_eq!(rule.value.is_empty(), pattern.is_none(), "{}", rule.id);
        }
        for id in ["private-key", "dotenv-secret", "jwt", "secret-named-value"] {
            assert!(rule(id).is_some(), "{id}");
        }
    }
}

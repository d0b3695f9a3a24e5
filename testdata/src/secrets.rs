//! An image that ships a credential by each rule's positive case, each beside a negative
//! one, visible and hidden: a key copied in one step and deleted in the next, a `.env`, a
//! kube config, a token in a build argument, an `Env` value and a label. [`expected`] is the
//! generator's own list of what a secrets scanner must report, and every value is in
//! [`VALUES`], which no output may hold.

use crate::{ImageSpec, LayerSpec, Op};

/// A private key as `ssh-keygen -t ed25519` writes it (the body is not a real key).
pub const SSH_KEY: &str = "-----BEGIN OPENSSH PRIVATE KEY-----\n\
    b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n\
    QyNTUxOQAAACDdiverssecretkeybodyisnotrealbutlookslikeoneAAAA\n\
    -----END OPENSSH PRIVATE KEY-----\n";
/// A Hugging Face token (build argument).
pub const HF_TOKEN: &str = "hf_dIvErSsEcReTtOkEnInAbUiLdArGuMeNt01";
/// A password in a `.env`.
pub const DB_PASSWORD: &str = "c0rrect-h0rse-battery-staple";
/// An OpenAI-style key in the same `.env`.
pub const OPENAI_KEY: &str = "sk-proj-dIvErSsEcReTkEyInAdOtEnVfIlE";
/// A GitHub token in a YAML file.
pub const GITHUB_TOKEN: &str = "ghp_dIvErSsEcReT0123456789aBcDeFgHiJkLmN";
/// A kube config's bearer token.
pub const KUBE_TOKEN: &str = "kube-bearer-token-dIvErSsEcReT-0123456789";
/// A registry login in `.docker/config.json` (base64 of `ci:registry-pass-0123`).
pub const DOCKER_AUTH: &str = "Y2k6cmVnaXN0cnktcGFzcy0wMTIz";
/// An `Env` value whose name says it is a secret.
pub const ENV_PASSWORD: &str = "env-database-password-0123";
/// A label holding a GitLab token.
pub const LABEL_TOKEN: &str = "glpat-dIvErSsEcReTlAbElToKeN";

/// Every secret value of the image: no output may contain any.
pub const VALUES: [&str; 9] = [
    "QyNTUxOQAAACDdiverssecretkeybody",
    HF_TOKEN,
    DB_PASSWORD,
    OPENAI_KEY,
    GITHUB_TOKEN,
    KUBE_TOKEN,
    DOCKER_AUTH,
    ENV_PASSWORD,
    LABEL_TOKEN,
];

/// One finding the image must give: (source, layer, path or name, rule, hidden by, example).
pub type Expected = (
    &'static str,
    Option<usize>,
    &'static str,
    &'static str,
    Option<usize>,
    bool,
);

/// The image: a base, a step that copies credentials in, a step that deletes the key, the
/// app (a `.env`, a YAML with a token, test fixtures), and a step built with a token.
pub fn secrets_image() -> ImageSpec {
    let mut image = ImageSpec::new(
        "secrets/files:1",
        vec![
            LayerSpec::new(
                "/bin/sh -c #(nop) ADD file:0 in / ",
                vec![
                    Op::file("bin/sh", 4_000, 1),
                    // A certificate is public: no finding.
                    Op::text(
                        "etc/ssl/certs/ca.pem",
                        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
                    ),
                    // A package's documentation: an example, reported as one.
                    Op::text(
                        "usr/share/doc/tool/examples/.env.example",
                        format!("API_TOKEN={GITHUB_TOKEN}\n"),
                    ),
                ],
            ),
            LayerSpec::new(
                "COPY id_ed25519 config.json /root/ # buildkit",
                vec![
                    Op::text("root/.ssh/id_ed25519", SSH_KEY),
                    Op::text("root/.ssh/id_ed25519.pub", "ssh-ed25519 AAAAC3Nz me@host\n"),
                    Op::text(
                        "root/.docker/config.json",
                        format!(
                            "{{\"auths\":{{\"registry.example\":{{\"auth\":\"{DOCKER_AUTH}\"}}}}}}"
                        ),
                    ),
                    // A reference to a variable is no value.
                    Op::text(
                        "root/.npmrc",
                        "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n",
                    ),
                ],
            ),
            LayerSpec::new(
                "RUN /bin/sh -c rm /root/.ssh/id_ed25519 /root/.docker/config.json # buildkit",
                vec![
                    Op::whiteout("root/.ssh/id_ed25519"),
                    Op::whiteout("root/.docker/config.json"),
                ],
            ),
            LayerSpec::new(
                "COPY . /app # buildkit",
                vec![
                    Op::text("app/main.py", "import os\nTOKEN = os.environ['HF_TOKEN']\n"),
                    Op::text(
                        "app/.env",
                        format!(
                            "DEBUG=1\nDB_PASSWORD={DB_PASSWORD}\nOPENAI_API_KEY={OPENAI_KEY}\n"
                        ),
                    ),
                    Op::text(
                        "app/config.yaml",
                        format!("log: debug\ngithub: {GITHUB_TOKEN}\n"),
                    ),
                    Op::text(
                        "app/deploy/kubeconfig",
                        format!("users:\n- name: ci\n  user:\n    token: {KUBE_TOKEN}\n"),
                    ),
                    // Test data: reported with low confidence.
                    Op::text(
                        "app/tests/fixtures/.env",
                        "API_TOKEN=fixture-token-0123456789\n",
                    ),
                ],
            ),
            LayerSpec::new(
                &format!(
                    "RUN |1 HF_TOKEN={HF_TOKEN} /bin/sh -c huggingface-cli download org/model # buildkit"
                ),
                vec![Op::file("root/.cache/huggingface/hub/model.bin", 10_000, 2)],
            ),
        ],
    );
    image.env = vec![
        format!("DB_PASSWORD={ENV_PASSWORD}"),
        "TOKENIZERS_PARALLELISM=false".to_owned(),
    ];
    image.labels = vec![
        (
            "org.opencontainers.image.title".to_owned(),
            "app".to_owned(),
        ),
        ("deploy".to_owned(), LABEL_TOKEN.to_owned()),
    ];
    image
}

/// What a scanner must report of [`secrets_image`], sorted.
pub fn expected() -> Vec<Expected> {
    let mut all = vec![
        (
            "file",
            Some(0),
            "usr/share/doc/tool/examples/.env.example",
            "github-token",
            None,
            true,
        ),
        (
            "file",
            Some(1),
            "root/.ssh/id_ed25519",
            "ssh-private-key",
            Some(2),
            false,
        ),
        (
            "file",
            Some(1),
            "root/.docker/config.json",
            "docker-config-auth",
            Some(2),
            false,
        ),
        ("file", Some(3), "app/.env", "dotenv-secret", None, false),
        ("file", Some(3), "app/.env", "openai-style-key", None, false),
        (
            "file",
            Some(3),
            "app/config.yaml",
            "github-token",
            None,
            false,
        ),
        (
            "file",
            Some(3),
            "app/deploy/kubeconfig",
            "kubeconfig-credentials",
            None,
            false,
        ),
        (
            "file",
            Some(3),
            "app/tests/fixtures/.env",
            "dotenv-secret",
            None,
            true,
        ),
        (
            "history",
            Some(4),
            "HF_TOKEN",
            "huggingface-token",
            None,
            false,
        ),
        (
            "env",
            None,
            "DB_PASSWORD",
            "secret-named-value",
            None,
            false,
        ),
        ("label", None, "deploy", "gitlab-token", None, false),
    ];
    all.sort();
    all
}

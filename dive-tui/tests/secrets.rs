//! A token never leaves dive-rs: an image whose history records a Hugging Face token as a
//! build argument, a password in a pip index URL and a secret `ENV`, read by every command
//! and format (and through a saved scan), shows each only redacted; `--json` lists each as a
//! secret with its rule, name and layer; `fix` still pairs the history with the Dockerfile.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

use dive_testdata::{Compression, ImageSpec, LayerSpec, Op, build, docker25};

const BIN: &str = env!("CARGO_BIN_EXE_dive-rs");

/// The secrets the image's history holds.
fn token() -> String {
    format!("hf_{}", "Qw3rTy".repeat(6))
}
const PASSWORD: &str = "pa55w0rd-in-a-url";
const AWS_SECRET: &str = "wJalrXUtnFEMIbKbPxRfiCYEXAMPLEKEY";

const DOCKERFILE: &str = "FROM debian:12-slim\n\
    ARG HF_TOKEN\n\
    ARG PIP_EXTRA_INDEX_URL\n\
    RUN pip install --no-cache-dir transformers\n\
    COPY app.py /app/app.py\n";

/// Writes the image into `dir` as `image.tar`.
fn write_image(dir: &Path) -> std::path::PathBuf {
    let run = format!(
        "RUN |2 HF_TOKEN={} PIP_EXTRA_INDEX_URL=https://ci:{PASSWORD}@pypi.example/simple \
         /bin/sh -c pip install --no-cache-dir transformers # buildkit",
        token()
    );
    let spec = ImageSpec::new(
        "secrets/app:1",
        vec![
            LayerSpec::new(
                &format!(
                    "/bin/sh -c #(nop)  ENV AWS_SECRET_ACCESS_KEY={AWS_SECRET} ADD file:0 in / "
                ),
                vec![Op::file("bin/sh", 1_000, 1)],
            ),
            LayerSpec::new(
                &run,
                vec![Op::file(
                    "usr/local/lib/python3.11/site-packages/transformers/__init__.py",
                    5_000,
                    2,
                )],
            ),
            LayerSpec::new(
                "COPY app.py /app/app.py # buildkit",
                vec![Op::text("app/app.py", "print('hi')\n")],
            ),
        ],
    );
    let path = dir.join("image.tar");
    let bytes = docker25(&[&build(&spec).unwrap()], Compression::Gzip, false).unwrap();
    std::fs::write(&path, bytes).unwrap();
    path
}

fn run(dir: &Path, args: &[&str]) -> (String, std::process::ExitStatus) {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("CI")
        .output()
        .unwrap();
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (text, out.status)
}

#[test]
fn no_output_ever_holds_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    write_image(dir.path());
    std::fs::write(dir.path().join("Dockerfile"), DOCKERFILE).unwrap();
    let runs: Vec<Vec<&str>> = vec![
        vec!["image.tar", "--summary"],
        vec!["image.tar", "--json"],
        vec!["image.tar", "--summary", "--save", "scan.dive"],
        vec!["scan.dive", "--json"],
        vec!["scan.dive", "--summary"],
        vec!["report", "image.tar"],
        vec!["report", "image.tar", "--format", "markdown"],
        vec!["report", "image.tar", "--format", "html"],
        vec!["report", "image.tar", "--format", "json"],
        vec!["report", "image.tar", "--dockerfile", "Dockerfile"],
        vec!["ci", "image.tar"],
        vec!["ci", "image.tar", "--format", "junit"],
        vec!["ci", "image.tar", "--format", "json"],
        vec!["diff", "image.tar", "image.tar"],
        vec!["diff", "image.tar", "image.tar", "--json"],
        vec![
            "fix",
            "image.tar",
            "--dockerfile",
            "Dockerfile",
            "--format",
            "json",
        ],
    ];
    for args in &runs {
        let (text, _) = run(dir.path(), args);
        for secret in [token().as_str(), PASSWORD, AWS_SECRET] {
            assert!(!text.contains(secret), "{args:?} printed a secret:\n{text}");
        }
    }
    // The saved scan's bytes too.
    let scan = std::fs::read(dir.path().join("scan.dive")).unwrap();
    for secret in [token(), PASSWORD.to_owned(), AWS_SECRET.to_owned()] {
        assert!(
            !scan.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the saved scan holds {secret}"
        );
    }
}

#[test]
fn json_lists_each_secret_redacted_with_its_rule_name_and_layer() {
    let dir = tempfile::tempdir().unwrap();
    write_image(dir.path());
    let (text, status) = run(dir.path(), &["image.tar", "--json"]);
    assert!(status.success(), "{text}");
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let secrets = json["secrets"].as_array().unwrap();
    let found: Vec<(&str, &str, u64)> = secrets
        .iter()
        .map(|s| {
            (
                s["rule"].as_str().unwrap(),
                s["name"].as_str().unwrap_or(""),
                s["layer"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("secret-named-value", "AWS_SECRET_ACCESS_KEY", 0),
            ("huggingface-token", "HF_TOKEN", 1),
            ("url-credentials", "", 1)
        ]
    );
    let hf = &secrets[1]["redacted"];
    assert!(hf.as_str().unwrap().starts_with("hf_[REDACTED:39:"), "{hf}");
    let created_by = json["layers"][1]["created_by"].as_str().unwrap();
    assert!(
        created_by.contains(&format!("HF_TOKEN={}", hf.as_str().unwrap())),
        "{created_by}"
    );

    // The Dockerfile still pairs with the redacted history.
    std::fs::write(dir.path().join("Dockerfile"), DOCKERFILE).unwrap();
    let (text, status) = run(
        dir.path(),
        &[
            "fix",
            "image.tar",
            "--dockerfile",
            "Dockerfile",
            "--format",
            "json",
        ],
    );
    assert!(status.success(), "{text}");
}

/// Secrets written into the Dockerfile itself (`export GITHUB_TOKEN=…` in a `RUN`, a URL's
/// password in an `ADD`): the history shows them redacted, and the Dockerfile still finds
/// its lines, compared redacted the same way.
#[test]
fn a_secret_in_the_dockerfile_itself_still_matches_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let command = format!("export GITHUB_TOKEN=ghp_{} && make", "a1B2c3".repeat(6));
    let spec = ImageSpec::new(
        "secrets/inline:1",
        vec![
            LayerSpec::new(
                "/bin/sh -c #(nop) ADD file:0 in / ",
                vec![Op::file("bin/sh", 1_000, 1)],
            ),
            LayerSpec::new(
                &format!("RUN /bin/sh -c {command} # buildkit"),
                vec![Op::file("app/out", 1_000, 2)],
            ),
            LayerSpec::new(
                &format!("ADD {ADDED} /opt/ # buildkit"),
                vec![Op::file("opt/app.tgz", 1_000, 3)],
            ),
        ],
    );
    let bytes = docker25(&[&build(&spec).unwrap()], Compression::Gzip, false).unwrap();
    std::fs::write(dir.path().join("image.tar"), bytes).unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!("FROM debian:12-slim\nRUN {command}\nADD {ADDED} /opt/\n"),
    )
    .unwrap();
    let (text, status) = run(
        dir.path(),
        &["report", "image.tar", "--dockerfile", "Dockerfile"],
    );
    assert!(status.success(), "{text}");
    assert!(!text.contains("a1B2c3a1B2c3"), "{text}");
    assert!(!text.contains("hunter2-deploy-pass"), "{text}");
}

/// An `ADD` from a URL holding a password (compared redacted too).
const ADDED: &str = "https://deploy:hunter2-deploy-pass@files.example/app.tgz";

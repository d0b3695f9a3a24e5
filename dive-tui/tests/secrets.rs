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
        vec!["diff", "image.tar", "image.tar", "--format", "json"],
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

/// The bundled demo, which ships the three classic leaks.
fn demo() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/demo/ml-service.tar")
}

/// The demo's three leaks in every output, each with its layer and redacted: the token the
/// build argument records (layers 1 to 3), the login file it left in layer 2 that layer 3
/// deletes, and the `.env` of layer 4; the gate fails on them; no output holds a value.
#[test]
fn the_demos_three_leaks_are_in_every_output_with_their_layers() {
    let dir = tempfile::tempdir().unwrap();
    let demo = demo();
    let demo = demo.to_str().unwrap();
    let values = [
        dive_testdata::DEMO_HF_TOKEN,
        dive_testdata::DEMO_DB_PASSWORD,
        dive_testdata::DEMO_OPENAI_KEY,
    ];
    let (summary, _) = run(dir.path(), &[demo, "--summary"]);
    for line in [
        "/root/.cache/huggingface/token line 1: huggingface-token-file (high), [REDACTED:39:",
        "added by layer 2, deleted or replaced by layer 3: every pull still ships it",
        "history entry 3: HF_TOKEN: huggingface-token (high), hf_[REDACTED:39:",
        "/app/.env line 2: url-credentials (high), [REDACTED:20:",
        "/app/.env line 3: openai-style-key (medium), sk-[REDACTED:",
    ] {
        assert!(summary.contains(line), "{line:?} missing in\n{summary}");
    }
    let (text, _) = run(dir.path(), &[demo, "--json"]);
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let listed: Vec<(String, u64, bool)> = json["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let place = s["path"].as_str().or(s["name"].as_str()).unwrap();
            (
                place.to_owned(),
                s["layer"].as_u64().unwrap(),
                s["visible"] == true,
            )
        })
        .collect();
    for want in [
        ("root/.cache/huggingface/token".to_owned(), 2, false),
        ("HF_TOKEN".to_owned(), 1, true),
        ("HF_TOKEN".to_owned(), 2, true),
        ("HF_TOKEN".to_owned(), 3, true),
        ("app/.env".to_owned(), 4, true),
    ] {
        assert!(listed.contains(&want), "{want:?} not in {listed:?}");
    }
    for (format, needle) in [
        ("text", "Secrets: 6 secrets"),
        ("markdown", "## Secrets: 6 secrets"),
        ("html", "<section id=\"secrets\">"),
    ] {
        let (report, status) = run(dir.path(), &["report", demo, "--format", format]);
        assert!(status.success(), "{report}");
        assert!(report.contains(needle), "{format}: {report}");
        for place in ["huggingface/token", "HF_TOKEN", "/app/.env"] {
            assert!(report.contains(place), "{format}: {place} missing");
        }
        for value in values {
            assert!(!report.contains(value), "{format} printed {value}");
        }
    }
    for format in ["text", "json", "junit", "markdown"] {
        let (gate, status) = run(dir.path(), &["ci", demo, "--format", format]);
        assert_eq!(status.code(), Some(1), "{format}: {gate}");
        assert!(gate.contains("secrets"), "{format}: {gate}");
        assert!(gate.contains("huggingface-token-file"), "{format}: {gate}");
        for value in values {
            assert!(!gate.contains(value), "ci {format} printed {value}");
        }
    }
    for out in [&summary, &text] {
        for value in values {
            assert!(!out.contains(value), "printed {value}");
        }
    }
}

/// Every rule's positive case of `dive_testdata::secrets`, visible and hidden, in every
/// command and format, and through a saved scan: never a value; the diff against an image
/// without them names each as new.
#[test]
fn file_secrets_never_reach_an_output() {
    use dive_testdata::secrets::{VALUES, secrets_image};
    let dir = tempfile::tempdir().unwrap();
    let bytes = docker25(
        &[&build(&secrets_image()).unwrap()],
        Compression::Gzip,
        false,
    )
    .unwrap();
    std::fs::write(dir.path().join("secrets.tar"), bytes).unwrap();
    let clean = ImageSpec::new(
        "secrets/clean:1",
        vec![LayerSpec::new(
            "ADD file:0 in / ",
            vec![Op::file("bin/sh", 4_000, 1)],
        )],
    );
    let bytes = docker25(&[&build(&clean).unwrap()], Compression::Gzip, false).unwrap();
    std::fs::write(dir.path().join("clean.tar"), bytes).unwrap();
    let runs: Vec<Vec<&str>> = vec![
        vec!["secrets.tar", "--summary"],
        vec!["secrets.tar", "--json"],
        vec!["secrets.tar", "--summary", "--save", "scan.dive"],
        vec!["scan.dive", "--json"],
        vec!["report", "secrets.tar"],
        vec!["report", "secrets.tar", "--format", "markdown"],
        vec!["report", "secrets.tar", "--format", "html"],
        vec!["ci", "secrets.tar"],
        vec!["ci", "secrets.tar", "--format", "junit"],
        vec!["diff", "clean.tar", "secrets.tar"],
        vec!["diff", "clean.tar", "secrets.tar", "--format", "html"],
    ];
    for args in &runs {
        let (text, _) = run(dir.path(), args);
        for value in VALUES {
            assert!(!text.contains(value), "{args:?} printed {value}:\n{text}");
        }
    }
    let scan = std::fs::read(dir.path().join("scan.dive")).unwrap();
    for value in VALUES {
        assert!(
            !scan.windows(value.len()).any(|w| w == value.as_bytes()),
            "{value}"
        );
    }
    let (text, _) = run(
        dir.path(),
        &["diff", "clean.tar", "secrets.tar", "--format", "json"],
    );
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let new = json["diff"]["new_secrets"].as_array().unwrap();
    assert_eq!(
        new.len(),
        dive_testdata::secrets::expected().len(),
        "{new:#?}"
    );
    assert_eq!(json["diff"]["secrets_gone"], 0);
    let (text, _) = run(dir.path(), &["diff", "clean.tar", "secrets.tar"]);
    assert!(
        text.contains("Secrets: 11 new in the new image, 0 gone"),
        "{text}"
    );
}

/// The interactive view's Waste pane opens with the secrets, hidden ones first, and the
/// details of one say where it is, which layer ships it and which hid it.
#[test]
fn the_waste_pane_lists_secrets_first_with_their_details() {
    use dive_tui::tui::view::build::waste;
    use dive_tui::tui::view::outline::Target;
    let analysis = dive_core::analyze(dive_core::Source::path(demo())).unwrap();
    let outline = waste(&analysis);
    let first = outline.item(outline.rows()[0].item);
    assert_eq!(first.label, "secrets (6)");
    let children: Vec<&str> = first
        .children
        .iter()
        .map(|&c| outline.item(c).label.as_str())
        .collect();
    assert_eq!(
        children[0], "/root/.cache/huggingface/token  huggingface-token-file",
        "{children:?}"
    );
    assert!(outline.item(first.children[0]).hidden);
    let Target::Secret(i) = outline.item(first.children[0]).target else {
        panic!("not a secret");
    };
    let views = dive_tui::tui::view::panes::Views::new(analysis.clone());
    let lines = dive_tui::tui::view::details::target(&views, Target::Secret(i));
    let text: Vec<String> = lines.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    let text = text.join("\n");
    for want in [
        "secret: huggingface-token-file",
        "path: /root/.cache/huggingface/token line 1",
        "hidden by: ",
        "every pull still ships it",
        "value: [REDACTED:39:",
    ] {
        assert!(text.contains(want), "{want:?} in\n{text}");
    }
    assert!(!text.contains(dive_testdata::DEMO_HF_TOKEN));
}

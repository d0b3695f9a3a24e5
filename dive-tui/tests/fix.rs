//! `dive-rs fix` as users run it: a diff on stdout that git applies from the working
//! directory, what is left to the user on stderr, JSON for tools, `--write` in place, and
//! exit 2 for a Dockerfile the image was not built from.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use dive_testdata::tools::{Tool, available};

const BIN: &str = env!("CARGO_BIN_EXE_dive-rs");
const DEMO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../testdata/demo/ml-service.tar"
);
const DOCKERFILE: &str = include_str!("../../testdata/demo/Dockerfile");

/// A working directory holding the demo's Dockerfile as `app/Dockerfile`.
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("app")).unwrap();
    std::fs::write(dir.path().join("app/Dockerfile"), DOCKERFILE).unwrap();
    dir
}

fn fix_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("fix")
        .arg(DEMO)
        .args(args)
        .current_dir(dir)
        .env_remove("CI")
        .output()
        .unwrap()
}

#[test]
fn the_diff_applies_from_the_working_directory() {
    if !available(&[Tool::Program("git")]) {
        return;
    }
    let dir = workdir();
    let out = fix_in(dir.path(), &["--dockerfile", "app/Dockerfile"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let diff = String::from_utf8(out.stdout).unwrap();
    assert!(
        diff.starts_with("--- a/app/Dockerfile\n+++ b/app/Dockerfile\n"),
        "{diff}"
    );
    assert!(diff.contains("DL3009"), "{diff}");
    assert!(
        stderr.contains("dive-rs fix: 3 edits save 117.5 MB"),
        "{stderr}"
    );
    assert!(stderr.contains("listed, not patched"), "{stderr}");
    assert!(
        stderr.contains("toolchain 65.1 MB, added by layer 1 (line 5): "),
        "{stderr}"
    );
    assert!(stderr.contains("lines of app/Dockerfile"), "{stderr}");
    let mut git = Command::new("git")
        .args(["apply", "-"])
        .current_dir(dir.path())
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut git.stdin.take().unwrap(), diff.as_bytes()).unwrap();
    assert!(git.wait().unwrap().success());
    let patched = std::fs::read_to_string(dir.path().join("app/Dockerfile")).unwrap();
    assert!(
        patched.contains("apt-get clean && rm -rf /var/lib/apt/lists/*"),
        "{patched}"
    );
    assert!(
        !patched.contains("\nRUN rm -rf /root/.cache/pip"),
        "{patched}"
    );
}

#[test]
fn json_holds_the_edits_their_savings_and_the_diff() {
    let dir = workdir();
    let out = fix_in(
        dir.path(),
        &["--dockerfile", "app/Dockerfile", "--format", "json"],
    );
    assert!(out.status.success());
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let fixes = json["fixes"].as_array().unwrap();
    let sum: u64 = fixes.iter().map(|f| f["saving"].as_u64().unwrap()).sum();
    assert_eq!(json["saving"].as_u64(), Some(sum));
    // The hidden classes: libtorch's chmod, the pip cache and the 40-byte Hugging Face login.
    assert_eq!(sum, 29_813_776 + 9_140_215 + 78_579_876 + 40);
    assert_eq!(fixes[0]["line"], 5);
    assert!(
        json["diff"]
            .as_str()
            .unwrap()
            .starts_with("--- a/app/Dockerfile")
    );
    assert!(json["listed"].as_array().unwrap().len() >= 5);
}

#[test]
fn write_edits_in_place_and_keeps_the_mode() {
    let dir = workdir();
    let file = dir.path().join("app/Dockerfile");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = fix_in(dir.path(), &["--dockerfile", "app/Dockerfile", "--write"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let patched = std::fs::read_to_string(&file).unwrap();
    assert_ne!(patched, DOCKERFILE);
    assert!(patched.contains(
        "--token $HF_TOKEN && rm -rf /root/.cache/pip /root/.cache/huggingface && chmod +x"
    ));
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o640);
    // Run again on the written file: the image no longer matches it.
    let again = fix_in(dir.path(), &["--dockerfile", "app/Dockerfile"]);
    assert_eq!(again.status.code(), Some(2));
}

#[test]
fn a_stale_dockerfile_exits_2_naming_the_layer() {
    let dir = workdir();
    let stale = DOCKERFILE.replace("COPY app/ /app", "COPY src/ /app");
    std::fs::write(dir.path().join("app/Dockerfile"), stale).unwrap();
    let out = fix_in(dir.path(), &["--dockerfile", "app/Dockerfile"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the image was not built from this Dockerfile")
            && stderr.contains("layer 4 (COPY app/ /app) found no line")
            && stderr.contains("line 11 (COPY) found no layer"),
        "{stderr}"
    );
}

#[test]
fn a_missing_file_or_stage_exits_2() {
    let dir = workdir();
    let missing = fix_in(dir.path(), &["--dockerfile", "nope/Dockerfile"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("reading nope/Dockerfile"));
    let stage = fix_in(
        dir.path(),
        &["--dockerfile", "app/Dockerfile", "--stage", "build"],
    );
    assert_eq!(stage.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&stage.stderr).contains("no stage is named build"));
}

#[test]
fn report_names_each_findings_line_in_every_format() {
    let dir = workdir();
    let report = |format: &str| {
        let out = Command::new(BIN)
            .args([
                "report",
                DEMO,
                "--dockerfile",
                "app/Dockerfile",
                "--format",
                format,
            ])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let text = report("text");
    assert!(
        text.contains("python3-pip (line 5 of app/Dockerfile)"),
        "{text}"
    );
    assert!(text.contains("(line 8 of app/Dockerfile)"), "{text}");
    for format in ["markdown", "json", "html"] {
        assert!(
            report(format).contains("line 7 of app/Dockerfile"),
            "{format}"
        );
    }
    // Without it, no line is named.
    let plain = Command::new(BIN).args(["report", DEMO]).output().unwrap();
    assert!(!String::from_utf8_lossy(&plain.stdout).contains("line 5 of"));
    // A Dockerfile the image was not built from is refused.
    std::fs::write(
        dir.path().join("app/Dockerfile"),
        "FROM scratch\nRUN true\n",
    )
    .unwrap();
    let stale = Command::new(BIN)
        .args(["report", DEMO, "--dockerfile", "app/Dockerfile"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(stale.status.code(), Some(2));
}

/// A Dockerfile in a directory with a blank in its name: the diff quotes the name as git
/// does, and both git apply and patch -p1 take it.
#[test]
fn a_quoted_name_applies_with_git_and_patch() {
    if !available(&[Tool::Program("git"), Tool::Program("patch")]) {
        return;
    }
    for (tool, args) in [
        ("git", &["apply", "-"][..]),
        ("patch", &["-p1", "--quiet"][..]),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("my app")).unwrap();
        std::fs::write(dir.path().join("my app/Dockerfile"), DOCKERFILE).unwrap();
        let out = fix_in(dir.path(), &["--dockerfile", "my app/Dockerfile"]);
        let diff = String::from_utf8(out.stdout).unwrap();
        assert!(diff.starts_with("--- \"a/my app/Dockerfile\"\n"), "{diff}");
        let mut child = Command::new(tool)
            .args(args)
            .current_dir(dir.path())
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), diff.as_bytes()).unwrap();
        assert!(child.wait().unwrap().success(), "{tool}");
        let patched = std::fs::read_to_string(dir.path().join("my app/Dockerfile")).unwrap();
        assert!(patched.contains("apt-get clean"), "{tool}: {patched}");
    }
}

/// `--write` on a symlinked Dockerfile edits the file it leads to and keeps the link.
#[test]
fn write_follows_a_symlink_and_keeps_it() {
    let dir = workdir();
    std::os::unix::fs::symlink("app/Dockerfile", dir.path().join("Dockerfile")).unwrap();
    let out = fix_in(dir.path(), &["--dockerfile", "Dockerfile", "--write"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let diff = String::from_utf8(out.stdout).unwrap();
    assert!(diff.starts_with("--- a/app/Dockerfile\n"), "{diff}");
    let link = std::fs::symlink_metadata(dir.path().join("Dockerfile")).unwrap();
    assert!(link.file_type().is_symlink());
    let target = std::fs::read_to_string(dir.path().join("app/Dockerfile")).unwrap();
    assert!(target.contains("apt-get clean"), "{target}");
}

/// `--cpu-only` on the demo: PyTorch's CPU index in the pip `RUN` (into which the fold moves
/// the later `chmod` of torch's files), torch's CUDA libraries saved; the CUDA wheels the
/// `RUN` names itself stay, as a note on stderr and in the JSON says with their bytes.
#[test]
fn cpu_only_takes_torch_from_the_cpu_index() {
    let dir = workdir();
    let out = fix_in(
        dir.path(),
        &["--dockerfile", "app/Dockerfile", "--cpu-only"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let diff = String::from_utf8(out.stdout).unwrap();
    assert!(
        diff.contains(
            "+RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu torch==2.3.0"
        ),
        "{diff}"
    );
    assert!(
        diff.contains("cpu-index: saves 29.9 MB in layer 2"),
        "{diff}"
    );
    assert!(
        stderr.contains("line 7: a CPU build of torch leaves out torch (its CUDA libraries)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("note: --cpu-only: nvidia_cublas_cu12 (70.4 MB)"),
        "{stderr}"
    );
    let out = fix_in(
        dir.path(),
        &[
            "--dockerfile",
            "app/Dockerfile",
            "--cpu-only",
            "--format",
            "json",
        ],
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let fix = json["fixes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["finding"] == "cpu-index")
        .unwrap();
    assert_eq!(fix["saving"], fix["packages"][0]["bytes"]);
    assert_eq!(json["notes"].as_array().unwrap().len(), 1);
    // Without --cpu-only, nothing of it.
    let out = fix_in(
        dir.path(),
        &["--dockerfile", "app/Dockerfile", "--format", "json"],
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["notes"], serde_json::json!([]));
    assert_eq!(json["fixes"].as_array().unwrap().len(), 3);
}

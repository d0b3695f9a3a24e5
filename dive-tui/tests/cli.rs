//! The `dive-rs` binary as users and pipelines run it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_dive-rs");
const DEMO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../testdata/demo/ml-service.tar"
);

/// Runs dive-rs as a developer would, outside CI (`CI=true` turns `dive-rs IMAGE` into the gate).
fn dive_rs(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("CI")
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[test]
fn the_demo_summary_tells_the_size_story() {
    let output = dive_rs(&[DEMO, "--summary"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.stderr.is_empty(),
        "no progress bar when stderr is not a terminal"
    );
    let text = stdout(&output);
    for expected in [
        "demo/ml-service:1.0",
        "Layers",
        "RUN pip install torch",
        "Secrets    6 secrets (1 deleted in a later layer and still shipped)",
        "/root/.cache/huggingface/token line 1: huggingface-token-file (high)",
        "deleted or replaced by layer 3: every pull still ships it",
        "/app/.env line 3: openai-style-key (medium), sk-[REDACTED:",
        "Largest files",
        "/usr/local/lib/python3.11/dist-packages/nvidia/cublas/lib/libcublasLt.so.12",
        "Largest hidden items",
        "rewritten, same content",
        "deleted with its dir",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn json_from_stdin_equals_json_from_the_file() {
    let from_file: serde_json::Value =
        serde_json::from_slice(&dive_rs(&[DEMO, "--json"]).stdout).unwrap();
    let mut child = Command::new(BIN)
        .args(["-", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let bytes = std::fs::read(DEMO).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&bytes));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(output.status.success());
    let mut from_stdin: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(from_stdin["input"], "-");
    from_stdin["input"] = from_file["input"].clone();
    assert_eq!(from_stdin, from_file);
    let image = &from_file["image"];
    assert_eq!(image["schema_version"], serde_json::Value::Null);
    assert_eq!(from_file["schema_version"], 4);
    assert_eq!(image["layer_count"], 6);
    assert_eq!(
        image["hidden_bytes"].as_u64().unwrap() + image["final_bytes"].as_u64().unwrap(),
        image["total_file_bytes"].as_u64().unwrap()
    );
}

#[test]
fn bytes_prints_exact_counts() {
    let json: serde_json::Value =
        serde_json::from_slice(&dive_rs(&[DEMO, "--json"]).stdout).unwrap();
    let text = stdout(&dive_rs(&[DEMO, "--summary", "--bytes"]));
    let final_bytes = json["image"]["final_bytes"].as_u64().unwrap();
    assert!(
        text.contains(&format!("Final      {final_bytes} in")),
        "{text}"
    );
}

#[test]
fn without_a_terminal_the_interactive_view_is_refused_with_advice() {
    let output = dive_rs(&[DEMO]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("cannot open the interactive view: stdout is not a terminal")
            && stderr.contains("--summary")
            && stderr.contains("--json"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}

#[test]
fn a_missing_file_is_said_before_the_missing_terminal() {
    for missing in ["/no/such/file.tar", "./nowhere", "no-such-image.tar.zst"] {
        let output = dive_rs(&[missing]);
        assert_eq!(output.status.code(), Some(2), "{missing}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(
            stderr.contains(missing) && stderr.contains("no such file or directory"),
            "{missing}: {stderr}"
        );
        assert!(!stderr.contains("terminal"), "{missing}: {stderr}");
    }
}

#[test]
fn an_unreadable_image_exits_2_with_one_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.tar");
    std::fs::write(&junk, b"this is not an image").unwrap();
    for (args, expected) in [
        (
            vec![junk.to_str().unwrap(), "--summary"],
            "not a container image",
        ),
        (
            vec!["/no/such/image.tar", "--json"],
            "no such file or directory",
        ),
        (
            vec![DEMO, "--summary", "--platform", "linux/s390x"],
            "the image is for linux/amd64, not linux/s390x",
        ),
    ] {
        let output = dive_rs(&args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(
            stderr.starts_with("dive-rs: error: ") && stderr.contains(expected),
            "{stderr}"
        );
        assert_eq!(
            stderr.lines().count(),
            1,
            "one message, no backtrace: {stderr}"
        );
        assert!(output.stdout.is_empty());
    }
}

#[test]
fn bad_arguments_exit_2_and_help_exits_0() {
    assert_eq!(dive_rs(&["--no-such-flag"]).status.code(), Some(2));
    let help = dive_rs(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(stdout(&help).contains("Exit status"));
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let mut child = Command::new(BIN)
        .args([DEMO, "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn report_writes_text_markdown_and_json() {
    let text = stdout(&dive_rs(&["report", DEMO]));
    assert!(
        text.contains("Findings, largest saving first")
            && text.contains(" 1. A build toolchain is in the final image"),
        "{text}"
    );
    let markdown = stdout(&dive_rs(&["report", DEMO, "--format", "markdown"]));
    assert!(
        markdown.starts_with("# Image size report") && markdown.contains("| layer |"),
        "{markdown}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&dive_rs(&["report", DEMO, "--format", "json"]).stdout).unwrap();
    let findings = json["findings"].as_array().unwrap();
    let firm: u64 = findings
        .iter()
        .filter(|f| f["conditional"] == false)
        .map(|f| f["saving"].as_u64().unwrap())
        .sum();
    assert_eq!(json["total_saving"].as_u64().unwrap(), firm);
    let missing = dive_rs(&["report"]);
    assert_eq!(
        missing.status.code(),
        Some(2),
        "report without an image is a usage error"
    );
}

#[test]
fn a_families_file_names_new_families_and_a_bad_one_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("families.toml");
    std::fs::write(&good, "[families]\nnumerics = [\"numpy\"]\n").unwrap();
    let json: serde_json::Value = serde_json::from_slice(
        &dive_rs(&[DEMO, "--json", "--families", good.to_str().unwrap()]).stdout,
    )
    .unwrap();
    assert!(
        json["families"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "numerics")
    );
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[families]\nx = [\"yum:foo\"]\n").unwrap();
    let output = dive_rs(&[DEMO, "--summary", "--families", bad.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8(output.stderr)
            .unwrap()
            .contains("unknown ecosystem")
    );
}

#[test]
fn a_saved_scan_gives_the_same_json_summary_and_report_without_the_image() {
    let dir = tempfile::tempdir().unwrap();
    let scan = dir.path().join("demo.dive");
    let scan = scan.to_str().unwrap();
    let first = dive_rs(&[DEMO, "--json", "--save", scan]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    for args in [&["--json"][..], &["--summary"], &["--summary", "--bytes"]] {
        let image = dive_rs(&[&[DEMO][..], args].concat());
        let saved = dive_rs(&[&[scan][..], args].concat());
        assert!(
            saved.status.success(),
            "{}",
            String::from_utf8_lossy(&saved.stderr)
        );
        assert_eq!(stdout(&image), stdout(&saved), "{args:?}");
    }
    assert_eq!(stdout(&first), stdout(&dive_rs(&[scan, "--json"])));
    let image = dive_rs(&["report", DEMO, "--format", "markdown"]);
    let saved = dive_rs(&["report", scan, "--format", "markdown"]);
    assert_eq!(stdout(&image), stdout(&saved));
    assert!(stdout(&saved).contains("pip"), "{}", stdout(&saved));
}

/// Runs dive-rs in `dir` with an environment of our choosing.
fn dive_rs_in(dir: &std::path::Path, args: &[&str], ci: bool) -> Output {
    let mut command = Command::new(BIN);
    command.args(args).current_dir(dir).env_remove("CI");
    if ci {
        command.env("CI", "true");
    }
    command.output().unwrap()
}

#[test]
fn ci_exits_0_on_pass_1_on_a_failed_rule_and_2_on_bad_rules_or_images() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yml");
    let rules = rules.to_str().unwrap();
    std::fs::write(
        rules,
        "rules:\n  lowestEfficiency: 0.5\n  highestUserWastedPercent: 0.5\n\
         dive-rs:\n  secrets: disabled\n",
    )
    .unwrap();
    let pass = dive_rs(&["ci", DEMO, "--rules", rules]);
    assert_eq!(pass.status.code(), Some(0), "{}", stdout(&pass));
    assert!(stdout(&pass).contains("Result:PASS"), "{}", stdout(&pass));

    // dive's defaults fail the demo (efficiency 0.79 < 0.9), and so do its secrets (the
    // rule is on by default); the failing rules say why.
    let fail = dive_rs(&["ci", DEMO]);
    assert_eq!(fail.status.code(), Some(1), "{}", stdout(&fail));
    let text = stdout(&fail);
    assert!(text.contains("FAIL  lowestEfficiency"), "{text}");
    assert!(text.contains("FAIL  secrets"), "{text}");
    assert!(
        text.contains("/root/.cache/huggingface/token line 1: huggingface-token-file"),
        "{text}"
    );
    assert!(text.contains("Result:FAIL"), "{text}");

    std::fs::write(rules, "dive-rs:\n  max-size: 1GB\n").unwrap();
    let bad = dive_rs(&["ci", DEMO, "--rules", rules]);
    assert_eq!(bad.status.code(), Some(2));
    let message = String::from_utf8_lossy(&bad.stderr);
    assert!(
        message.contains("max-size") && message.contains("rules.yml"),
        "{message}"
    );
    assert!(bad.stdout.is_empty());

    let missing = dive_rs(&["ci", "/nonexistent/image.tar"]);
    assert_eq!(missing.status.code(), Some(2));
    let no_rules = dive_rs(&["ci", DEMO, "--rules", "/nonexistent/rules.yml"]);
    assert_eq!(no_rules.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_rules.stderr).contains("cannot read the rules file"));
}

#[test]
fn ci_writes_the_gate_and_the_json_analysis_from_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("analysis.json");
    let scan = dir.path().join("demo.dive");
    let rules = dir.path().join("rules.yml");
    std::fs::write(&rules, "dive-rs:\n  secrets: disabled\n").unwrap();
    let output = dive_rs(&[
        "ci",
        DEMO,
        "--rules",
        rules.to_str().unwrap(),
        "--format",
        "json",
        "--json",
        json.to_str().unwrap(),
        "--save",
        scan.to_str().unwrap(),
        "--highestUserWastedPercent",
        "disabled",
        "--lowestEfficiency",
        "0.5",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let gate: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(gate["result"], "PASS");
    assert_eq!(gate["skipped"], 2);
    let analysis: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let plain: serde_json::Value =
        serde_json::from_slice(&dive_rs(&[DEMO, "--json"]).stdout).unwrap();
    assert_eq!(analysis, plain);
    // The gate runs on a saved scan alike.
    let again = dive_rs(&[
        "ci",
        scan.to_str().unwrap(),
        "--rules",
        rules.to_str().unwrap(),
        "--format",
        "json",
        "--highestUserWastedPercent",
        "disabled",
        "--lowestEfficiency",
        "0.5",
    ]);
    assert_eq!(again.stdout, output.stdout);
}

#[test]
fn like_dive_ci_true_or_dash_dash_ci_runs_the_gate_with_the_dive_ci_file_here() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".dive-ci"),
        "rules:\n  lowestEfficiency: 0.5\n  highestUserWastedPercent: 0.5\ndive-rs:\n  layers: 3\n",
    )
    .unwrap();
    for (args, ci) in [
        (&[DEMO][..], true),
        (&[DEMO, "--ci"], false),
        (&["ci", DEMO], false),
    ] {
        let output = dive_rs_in(dir.path(), args, ci);
        let text = stdout(&output);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {text}");
        assert!(text.contains("rules: .dive-ci"), "{args:?}: {text}");
        assert!(text.contains("FAIL  layers"), "{args:?}: {text}");
    }
    // Outside CI the same command is the interactive view, refused without a terminal.
    let output = dive_rs_in(dir.path(), &[DEMO], false);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--summary"));
}

#[test]
fn diff_compares_an_image_with_a_changed_one_in_another_form_and_a_saved_scan() {
    let dir = tempfile::tempdir().unwrap();
    let v2 = dir.path().join("v2");
    let built = dive_testdata::build(&dive_testdata::demo_image_v2()).unwrap();
    let options = dive_testdata::LayoutOptions {
        compression: dive_testdata::Compression::Zstd,
        media: dive_testdata::MediaTypes::Oci,
        nested_index: false,
    };
    dive_testdata::oci_layout(&[&built], options)
        .unwrap()
        .0
        .write_dir(&v2)
        .unwrap();
    let v2 = v2.to_str().unwrap();
    let text = dive_rs(&["diff", DEMO, v2]);
    assert_eq!(
        text.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&text.stderr)
    );
    let text = stdout(&text);
    assert!(text.contains("Layers: 4 shared, 2 new, 2 gone"), "{text}");
    assert!(text.contains("removed 8.9.2.26"), "{text}");

    let json = dive_rs(&["diff", DEMO, v2, "--format", "json", "--top", "3"]);
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["diff"]["paths"].as_array().unwrap().len(), 3);

    // A saved scan stands in for the old image; stdin for the new one is refused twice over.
    let scan = dir.path().join("old.dive");
    let saved = dive_rs(&[DEMO, "--json", "--save", scan.to_str().unwrap()]);
    assert!(saved.status.success());
    let from_scan = dive_rs(&[
        "diff",
        scan.to_str().unwrap(),
        v2,
        "--format",
        "json",
        "--top",
        "3",
    ]);
    let from_scan: serde_json::Value = serde_json::from_slice(&from_scan.stdout).unwrap();
    assert_eq!(from_scan["diff"]["paths"], json["diff"]["paths"]);
    assert_eq!(from_scan["diff"]["packages"], json["diff"]["packages"]);

    let both = dive_rs(&["diff", "-", "-"]);
    assert_eq!(both.status.code(), Some(2));
    let missing = dive_rs(&["diff", DEMO, "/nonexistent/v2"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/v2"));
}

/// `cat` writes the generator's own bytes: the final version, a hard link's, a symlink's
/// target with `--follow`, and versions a later layer deleted or replaced with `--layer`.
#[test]
fn cat_writes_any_version_of_a_file_and_says_why_when_it_cannot() {
    use dive_testdata::Content;
    let cat = |args: &[&str]| dive_rs(&[&["cat", DEMO][..], args].concat());
    let os_release = cat(&["/etc/os-release"]);
    assert!(os_release.status.success());
    assert_eq!(
        stdout(&os_release),
        "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n"
    );
    let pip_cache = "/root/.cache/pip/http-v2/a/1/b/c/d/9f8e7d6c5b4a39281706f5e4d3c2b1a0";
    for (args, seed, size) in [
        (&["usr/bin/bash"][..], 100, 1_265_648),
        (&["/usr/bin/perl5.36.0"][..], 103, 3_926_496),
        (&["/usr/bin/gcc", "--follow"][..], 112, 1_015_688),
        (&[pip_cache, "--layer", "2"][..], 120, 21_470_113),
        (&["/app/model.onnx", "--layer", "4"][..], 130, 12_400_000),
        (&["/app/model.onnx"][..], 131, 12_650_000),
    ] {
        let output = cat(args);
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(output.stdout == Content::to_vec(seed, size), "{args:?}");
    }
    for (args, said) in [
        (
            &["/usr/bin/gcc"][..],
            "is a symlink to x86_64-linux-gnu-gcc-12; --follow",
        ),
        (&["/usr"][..], "/usr is a directory"),
        (
            &[pip_cache][..],
            "not in the final image; layers that wrote it: 2",
        ),
        (
            &[pip_cache, "--layer", "3"][..],
            "layer 3 did not write it; layers that wrote it: 2",
        ),
        (
            &["/etc/os-release", "--layer", "99"][..],
            "there is no layer 99",
        ),
        (&["/no/such/file"][..], "no layer wrote it"),
    ] {
        let output = cat(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(said), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
    // A stream is refused before it is read, with what to do instead.
    let mut child = Command::new(BIN)
        .args(["cat", "-", "/etc/os-release"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdin.take());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("docker save IMAGE -o image.tar"));
}

/// `cat --follow` on a merged-/usr image follows the links among the path's directories
/// (`/lib` → `usr/lib`), in the final image and in a layer's view; without `--follow` it
/// says that a link stands there; a loop and a chain past 40 links are refused by name.
#[test]
fn cat_follow_resolves_every_component_on_a_merged_usr_image() {
    use dive_testdata::Content;
    use dive_testdata::links::{merged_usr_image, seeds};
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("merged-usr.tar");
    dive_testdata::save_docker_archive(&merged_usr_image(), &image).unwrap();
    let image = image.to_str().unwrap();
    let cat = |args: &[&str]| dive_rs(&[&["cat", image][..], args].concat());
    let libc = "/lib/x86_64-linux-gnu/libc.so.6";
    for (args, expected) in [
        (
            &[libc, "--follow"][..],
            Content::to_vec(seeds::LIBC_UPGRADED, 2_400),
        ),
        (
            &[libc, "--follow", "--layer", "0"][..],
            Content::to_vec(seeds::LIBC_BASE, 2_000),
        ),
        (
            &["/lib64/ld-linux-x86-64.so.2", "--follow"][..],
            Content::to_vec(seeds::LOADER, 1_500),
        ),
        (
            &["/bin/../share/doc/x", "--follow"][..],
            Content::to_vec(seeds::USR_DOC, 700),
        ),
    ] {
        let output = cat(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{args:?}: {stderr}");
        assert!(output.stdout == expected, "{args:?}");
    }
    for (args, said) in [
        (
            &[libc][..],
            "/lib/x86_64-linux-gnu/libc.so.6: a symlink stands among its directories; \
             --follow follows it",
        ),
        (
            &["/loop/a", "--follow"][..],
            "/loop/a: more than 40 symlinks to follow (a loop, or a chain that long)",
        ),
        (
            &["/chain/0", "--follow"][..],
            "/chain/0: more than 40 symlinks to follow (a loop, or a chain that long); \
             the next was /chain/40",
        ),
        (
            &["/lib64/ld-linux-x86-64.so.2", "--follow", "--layer", "1"][..],
            "/lib64/ld-linux-x86-64.so.2: it leads to \
             /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2, which layer 1 (or, for what it \
             did not write, the final image) has no entry for; layers that wrote it: 0",
        ),
        (
            &["/lib", "--follow"][..],
            "/lib leads to /usr/lib, a directory; it holds no bytes to write",
        ),
    ] {
        let output = cat(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(said), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
}

/// `extract` writes below the directory, lists what it wrote, and refuses to overwrite
/// without --force.
#[test]
fn extract_writes_paths_below_the_directory_and_lists_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out_arg = out.to_str().unwrap();
    let args = ["extract", DEMO, "/etc", "/usr/bin/gcc", "-o", out_arg];
    let output = dive_rs(&args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let listed = stdout(&output);
    for line in ["d /etc", "- /etc/os-release", "l /usr/bin/gcc"] {
        assert!(listed.lines().any(|l| l == line), "{line:?} in {listed}");
    }
    assert!(
        stderr.contains("symlinks") && stderr.contains("skipped 0"),
        "{stderr}"
    );
    assert!(
        std::fs::read_to_string(out.join("etc/os-release"))
            .unwrap()
            .starts_with("PRETTY_NAME=")
    );
    assert_eq!(
        std::fs::read_link(out.join("usr/bin/gcc")).unwrap(),
        std::path::Path::new("x86_64-linux-gnu-gcc-12")
    );
    let again = dive_rs(&args);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    let forced = dive_rs(&[&args[..], &["--force", "--quiet"]].concat());
    assert!(forced.status.success());
    assert!(forced.stdout.is_empty(), "--quiet lists nothing");
}

/// `--base IMAGE` marks the layers the demo shares with its base in the summary, the report
/// and the JSON; an unreadable base is an error naming it; `--base auto` on an image whose
/// manifest names no base is a warning.
#[test]
fn base_marks_the_shared_layers_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let base_tar = dir.path().join("base.tar");
    dive_testdata::save_docker_archive(&dive_testdata::demo_base_image(), &base_tar).unwrap();
    let base_arg = base_tar.to_str().unwrap();
    let summary = stdout(&dive_rs(&[DEMO, "--summary", "--base", base_arg]));
    assert!(
        summary.contains("Base       debian-with-gcc:12: layers 0–1"),
        "{summary}"
    );
    let report = stdout(&dive_rs(&["report", DEMO, "--base", base_arg]));
    assert!(
        report.contains("Base image: debian-with-gcc:12"),
        "{report}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&dive_rs(&[DEMO, "--json", "--base", base_arg]).stdout).unwrap();
    assert_eq!(json["image"]["base"]["layers"], 2);
    assert_eq!(json["layers"][0]["from_base"], true);
    let missing = dive_rs(&[DEMO, "--summary", "--base", "/no/such/base.tar"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--base /no/such/base.tar"));
    // `auto` is the base the manifest names; the demo's names none: a warning, no base.
    let json: serde_json::Value =
        serde_json::from_slice(&dive_rs(&[DEMO, "--json", "--base", "auto"]).stdout).unwrap();
    assert_eq!(json["image"]["base"], serde_json::Value::Null);
    let warned = json["warnings"].as_array().unwrap().iter().any(|w| {
        w["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("--base auto: the manifest names no base image")
    });
    assert!(warned, "{}", json["warnings"]);
}

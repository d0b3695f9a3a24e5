//! Names from an image never reach a terminal as control sequences: every human-readable
//! command and format of `dive-rs`, run on an image whose names, packages, tag, steps and
//! warnings carry terminal controls (`dive_testdata::HOSTILE`), by path, by stdin and from a
//! saved scan, prints them only as visible escapes; JSON keeps them exact.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

use dive_core::escape::needs_escape;
use dive_testdata::{Compression, HOSTILE, build, docker25, hostile_image};

const BIN: &str = env!("CARGO_BIN_EXE_dive-rs");
const DEMO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../testdata/demo/ml-service.tar"
);
/// How the title escape shows once escaped.
const SHOWN: &str = r"\e]0;OWNED\x07\e]52;c;cm0gLXJmIH4K\x07\e[2J\u{9b}31m\u{202e}\r\t";

fn image_bytes() -> Vec<u8> {
    docker25(
        &[&build(&hostile_image()).unwrap()],
        Compression::Gzip,
        false,
    )
    .unwrap()
}

fn run(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .env_remove("CI")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(bytes) = stdin {
        // A command that fails early may close stdin first.
        let _ = child.stdin.take().unwrap().write_all(bytes);
    }
    child.wait_with_output().unwrap()
}

/// Output for people: valid UTF-8 (an invalid byte is shown as `\xff`) holding no code point
/// a terminal acts on, but the newlines that end its own lines.
fn assert_safe(what: &str, bytes: &[u8]) -> String {
    let text = String::from_utf8(bytes.to_vec()).unwrap_or_else(|e| {
        panic!(
            "{what}: not UTF-8 ({e}): {:?}",
            String::from_utf8_lossy(bytes)
        )
    });
    if let Some((at, c)) = text
        .char_indices()
        .find(|&(_, c)| c != '\n' && needs_escape(c))
    {
        panic!("{what}: {c:?} at byte {at} reaches the terminal:\n{text}");
    }
    text
}

/// Runs one command, which must succeed (or exit as `code`), and checks both streams.
fn checked(what: &str, args: &[&str], stdin: Option<&[u8]>, code: i32) -> String {
    let output = run(args, stdin);
    let stderr = assert_safe(&format!("{what} (stderr)"), &output.stderr);
    assert_eq!(output.status.code(), Some(code), "{what}: {stderr}");
    let stdout = assert_safe(what, &output.stdout);
    format!("{stdout}{stderr}")
}

#[test]
fn every_human_readable_output_shows_controls_as_escapes() {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("hostile.tar");
    let bytes = image_bytes();
    std::fs::write(&image, &bytes).unwrap();
    let image = image.to_str().unwrap();
    let scan = dir.path().join("hostile.dive");
    let scan = scan.to_str().unwrap();
    let rules = dir.path().join("rules.yml");
    // Rule names carry the controls too (YAML's "\e" is ESC, "\a" BEL).
    std::fs::write(
        &rules,
        "dive-rs:\n  paths: { \"/app/\\e]0;RULE\\a*\": 1 }\n  forbidden-packages: [\"dpkg:evil\\e*\"]\n",
    )
    .unwrap();
    let rules = rules.to_str().unwrap();

    let summary = checked("summary", &[image, "--summary", "--save", scan], None, 0);
    for shown in [
        // file name, tag, package names and versions, Dockerfile step (its newline folded).
        format!("/app/{SHOWN}title"),
        format!("hostile/app{SHOWN}:1.0"),
        format!("evil{SHOWN}deb 1.0{SHOWN}x"),
        format!("evil{SHOWN} 2.0{SHOWN}"),
        // (cut to the column; a step's white space, \r and \t among it, folds to a space)
        r"RUN echo \e]0;OWNED\x07\e]52;c;cm0gLXJmIH4K\x07\e[2J\u{9b}3…".to_owned(),
        // invalid UTF-8 and a newline inside a name.
        r"/app/bad\xff\xfe\nname.bin".to_owned(),
        // the warning: a hard link to a missing target.
        format!("hardlink target app/gone{SHOWN} is not a file"),
    ] {
        assert!(
            summary.contains(&shown),
            "summary lacks {shown}:\n{summary}"
        );
    }
    // The same text by stdin and from the saved scan, but for the name of the input.
    let without_input = |text: &str| -> Vec<String> {
        text.replace(image, "-")
            .lines()
            .filter(|l| !l.starts_with("Input "))
            .map(str::to_owned)
            .collect()
    };
    let by_stdin = checked("summary by stdin", &["-", "--summary"], Some(&bytes), 0);
    assert_eq!(without_input(&by_stdin), without_input(&summary));
    let from_scan = checked("summary of the scan", &[scan, "--summary"], None, 0);
    assert_eq!(without_input(&from_scan), without_input(&summary));

    let mut outputs = vec![summary];
    for (what, args, stdin) in [
        ("report", vec!["report", image], None),
        (
            "report markdown",
            vec!["report", image, "--format", "markdown"],
            None,
        ),
        ("report by stdin", vec!["report", "-"], Some(&bytes[..])),
        (
            "report of the scan",
            vec!["report", scan, "--format", "markdown"],
            None,
        ),
        ("diff", vec!["diff", DEMO, image], None),
        (
            "diff markdown",
            vec!["diff", image, DEMO, "--format", "markdown"],
            None,
        ),
        ("diff by stdin", vec!["diff", DEMO, "-"], Some(&bytes[..])),
        (
            "summary with exact bytes",
            vec![image, "--summary", "--bytes"],
            None,
        ),
        (
            "report html",
            vec!["report", image, "--format", "html"],
            None,
        ),
        (
            "diff html",
            vec!["diff", image, DEMO, "--format", "html"],
            None,
        ),
    ] {
        outputs.push(checked(what, &args, stdin, 0));
    }
    // The gate fails on the forbidden package: exit 1, in every format people read.
    for (format, input, stdin) in [
        ("text", image, None),
        ("markdown", image, None),
        ("junit", image, None),
        ("text", "-", Some(&bytes[..])),
    ] {
        let what = format!("ci {format} of {input}");
        let out = checked(
            &what,
            &["ci", input, "--rules", rules, "--format", format],
            stdin,
            1,
        );
        assert!(out.contains(r"\e]0;RULE\x07"), "{what}: {out}");
        outputs.push(out);
    }
    let report = &outputs[1];
    assert!(report.contains(r"RUN echo \e]0;OWNED\x07"), "{report}");
    let markdown = &outputs[2];
    assert!(
        markdown.contains(r"\\e\]0;OWNED\\x07"),
        "Markdown escapes the escapes' backslashes and its own syntax: {markdown}"
    );

    // Errors name what the user gave and what the image holds, escaped.
    let missing = format!("{}/no{HOSTILE}.tar", dir.path().display());
    let error = checked("error: missing file", &[&missing, "--summary"], None, 2);
    assert!(error.contains(r"no\e]0;OWNED\x07"), "{error}");
    let error = checked(
        "error: no such image",
        &[image, "--summary", "--image", "other:1"],
        None,
        2,
    );
    assert!(
        error.contains(&format!("hostile/app{SHOWN}:1.0")),
        "{error}"
    );
    checked("the interactive view refused", &[image], None, 2);
}

#[test]
fn json_keeps_the_names_exact() {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("hostile.tar");
    std::fs::write(&image, image_bytes()).unwrap();
    let output = run(&[image.to_str().unwrap(), "--json"], None);
    assert!(output.status.success());
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        json["image"]["reference"].as_str(),
        Some(format!("hostile/app{HOSTILE}:1.0").as_str())
    );
    let packages = json["packages"].as_array().unwrap();
    assert!(
        packages
            .iter()
            .any(|p| p["name"].as_str() == Some(&format!("evil{HOSTILE}"))),
        "{packages:?}"
    );
    let warnings = json["warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w["message"].as_str().is_some_and(|m| m.contains(HOSTILE))),
        "{warnings:?}"
    );
}

#[test]
fn the_fixture_shows_as_the_tests_expect() {
    let once = dive_core::escape::escape(HOSTILE).into_owned();
    assert_eq!(once, SHOWN);
}

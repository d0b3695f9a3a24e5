//! Shell completions and the manual page: the bash script, sourced in a real bash, completes
//! subcommands, their options and option values; Debian's `man -l` renders the page without
//! a warning, with every subcommand and the exit codes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use dive_testdata::tools::{Tool, available};

const BIN: &str = env!("CARGO_BIN_EXE_dive-rs");

fn stdout(args: &[&str]) -> String {
    let output = Command::new(BIN).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// What bash's completion offers for `words` (the last one being completed).
fn bash_completes(script: &std::path::Path, words: &[&str]) -> Vec<String> {
    let program = r#"
source "$1"; shift
f=$(complete -p dive-rs | sed -E 's/.*-F ([^ ]+).*/\1/')
COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
COMPREPLY=()
"$f" dive-rs "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
"#;
    let output = Command::new("bash")
        .args(["-c", program, "bash"])
        .arg(script)
        .args(words)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn bash_completes_subcommands_their_options_and_values() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("dive-rs.bash");
    std::fs::write(&script, stdout(&["completions", "bash"])).unwrap();

    assert_eq!(bash_completes(&script, &["dive-rs", "re"]), ["report"]);
    let all = bash_completes(&script, &["dive-rs", ""]);
    for sub in [
        "report",
        "ci",
        "diff",
        "cat",
        "extract",
        "completions",
        "man",
    ] {
        assert!(all.iter().any(|w| w == sub), "{sub}: {all:?}");
    }
    assert_eq!(
        bash_completes(&script, &["dive-rs", "report", "--fo"]),
        ["--format"]
    );
    assert_eq!(
        bash_completes(&script, &["dive-rs", "report", "--format", ""]),
        ["text", "markdown", "json", "html"]
    );
    assert_eq!(
        bash_completes(&script, &["dive-rs", "diff", "--format", "h"]),
        ["html"]
    );
    assert_eq!(
        bash_completes(&script, &["dive-rs", "ci", "--format", "j"]),
        ["json", "junit"]
    );
    let shells = bash_completes(&script, &["dive-rs", "completions", ""]);
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        assert!(shells.iter().any(|w| w == shell), "{shell}: {shells:?}");
    }
    // The other shells get their own scripts naming the same subcommands.
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let text = stdout(&["completions", shell]);
        assert!(
            text.contains("report") && text.contains("format"),
            "{shell}"
        );
    }
}

#[test]
fn man_renders_the_page_with_every_subcommand_and_the_exit_codes() {
    let page = stdout(&["man"]);
    assert!(page.contains("\n.TH dive-rs 1 "), "{page:.300}");
    if !available(&[Tool::Program("man")]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dive-rs.1");
    std::fs::write(&file, &page).unwrap();
    let output = Command::new("man")
        .args(["--warnings", "-l"])
        .arg(&file)
        .env("MANWIDTH", "100")
        .env("MAN_KEEP_FORMATTING", "0")
        .env_remove("MANPAGER")
        .env("PAGER", "cat")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.trim().is_empty(), "warnings: {stderr}");
    // man marks bold by overstriking when it writes to a pipe: read the letters only.
    let text: String = {
        let raw = String::from_utf8_lossy(&output.stdout);
        let mut clean = String::new();
        for c in raw.chars() {
            if c == '\u{8}' {
                clean.pop();
            } else {
                clean.push(c);
            }
        }
        clean
    };
    for heading in [
        "NAME",
        "SYNOPSIS",
        "OPTIONS",
        "SUBCOMMANDS",
        "USAGE AND EXIT STATUS",
        "DIVE-RS REPORT",
        "DIVE-RS CI",
        "DIVE-RS DIFF",
        "DIVE-RS CAT",
        "DIVE-RS EXTRACT",
        "DIVE-RS COMPLETIONS",
    ] {
        assert!(
            text.lines().any(|l| l.trim_end() == heading),
            "{heading}:\n{text}"
        );
    }
    // groff justifies lines: words are compared, not the spaces between them.
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("html: One self-contained HTML page"),
        "{text}"
    );
    assert!(text.contains("  2  the image could not be read"), "{text}");
    assert!(!text.contains("dive-rs-report(1)"), "no page of that name");
}

//! Names from an image never reach a terminal as control sequences: every human-readable
//! command and format of `dive-rs`, run on an image whose names, packages, tag, steps and
//! warnings carry terminal controls (`dive_testdata::HOSTILE`), by path, by stdin and from a
//! saved scan, prints them only as visible escapes; JSON keeps them exact.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

use dive_core::escape::escape;
use dive_testdata::tools::Tool;
use dive_testdata::{
    Compression, HOSTILE, NOT_XML, build, docker25, hostile_image, hostile_image_holding,
};

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
/// Whether a terminal would act on `c`: the escaping function changes it.
fn needs_escape(c: char) -> bool {
    let text = c.to_string();
    escape(&text) != text.as_str()
}

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

/// Runs dive-rs with arguments that may not be UTF-8 (a hostile path as typed).
fn run_os(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("CI")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// `cat` of the hostile image writes a file's bytes exactly (names and contents holding
/// controls, a name that is not UTF-8), and every refusal (a symlink, a link pointing out of
/// the image, a name climbing out) says so on stderr escaped, with nothing on stdout and
/// nothing read from the host.
#[test]
fn cat_of_the_hostile_image_is_exact_and_its_errors_escaped() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("hostile.tar");
    std::fs::write(&image, image_bytes()).unwrap();
    let image = image.as_os_str();
    let cat = |path: &[u8], extra: &[&str]| {
        let mut args = vec![OsStr::new("cat"), image, OsStr::from_bytes(path)];
        args.extend(extra.iter().map(OsStr::new));
        run_os(&args)
    };
    for (path, expected) in [
        (
            format!("/app/{HOSTILE}title").into_bytes(),
            dive_testdata::Content::to_vec(2, 70_000),
        ),
        (
            b"/app/bad\xff\xfe\nname.bin".to_vec(),
            dive_testdata::Content::to_vec(3, 60_000),
        ),
        (
            format!("/app/{HOSTILE}notes.txt").into_bytes(),
            dive_testdata::hostile_notes().into_bytes(),
        ),
    ] {
        let output = cat(&path, &[]);
        let what = String::from_utf8_lossy(&path).into_owned();
        let stderr = assert_safe(&what, &output.stderr);
        assert!(output.status.success(), "{what}: {stderr}");
        assert!(output.stdout == expected, "{what}: not the exact bytes");
        assert!(stderr.is_empty(), "{what}: {stderr}");
    }
    for (path, extra, said) in [
        (
            format!("/app/link{HOSTILE}"),
            &[][..],
            format!("/app/link{SHOWN} is a symlink to /{SHOWN}; --follow"),
        ),
        (
            format!("/app/link{HOSTILE}"),
            &["--follow"][..],
            format!("/app/link{SHOWN}: there is no /{SHOWN} in the final image"),
        ),
        (
            "/app/hostpasswd".to_owned(),
            &["--follow"][..],
            "/app/hostpasswd: there is no /etc in the final image".to_owned(),
        ),
        (
            format!("/app/up{HOSTILE}"),
            &["--follow"][..],
            format!("/app/up{SHOWN}: there is no /tmp in the final image"),
        ),
        (
            format!("../../../escaped{HOSTILE}"),
            &[][..],
            format!("/../../../escaped{SHOWN}: not in the final image; no layer wrote it"),
        ),
        (
            "/app/passwd-link".to_owned(),
            &[][..],
            "/app/passwd-link: a hard link whose target is not in the image".to_owned(),
        ),
    ] {
        let output = cat(path.as_bytes(), extra);
        let stderr = assert_safe(&path, &output.stderr);
        assert_eq!(output.status.code(), Some(2), "{path:?}: {stderr}");
        assert!(stderr.contains(&said), "{path:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{path:?}");
    }
}

/// `extract` of the whole hostile image: names arrive byte for byte below the directory,
/// links pointing out are written as links, what is skipped is said, both listings are
/// escaped, and nothing lands beside the directory (a sentinel the links could aim at stays
/// empty).
#[test]
fn extract_of_the_hostile_image_stays_below_the_directory_and_lists_escaped() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("hostile.tar");
    std::fs::write(&image, image_bytes()).unwrap();
    let sentinel = dir.path().join("sentinel");
    std::fs::create_dir(&sentinel).unwrap();
    let out = dir.path().join("out");
    let image_arg = image.to_str().unwrap();
    let out_arg = out.to_str().unwrap();
    for args in [
        vec!["extract", image_arg, "/", "-o", out_arg],
        vec![
            "extract", image_arg, "/", "-o", out_arg, "--force", "--layer", "0",
        ],
        vec![
            "extract", image_arg, "/", "-o", out_arg, "--force", "--layer", "1",
        ],
    ] {
        let what = args.join(" ");
        let listed = checked(&what, &args, None, 0);
        if !args.contains(&"--layer") {
            for line in [
                format!("- /app/{SHOWN}title"),
                r"- /app/bad\xff\xfe\nname.bin".to_owned(),
                format!("l /app/link{SHOWN}"),
                "skipped /app/passwd-link: a hard link whose target is in no layer".to_owned(),
            ] {
                assert!(
                    listed.lines().any(|l| l == line),
                    "{what}: {line:?} in {listed}"
                );
            }
        }
    }
    let at = |name: &[u8]| out.join(OsStr::from_bytes(name));
    assert_eq!(
        std::fs::read(at(format!("app/{HOSTILE}title").as_bytes())).unwrap(),
        dive_testdata::Content::to_vec(2, 70_000)
    );
    assert_eq!(
        std::fs::read(at(b"app/bad\xff\xfe\nname.bin")).unwrap(),
        dive_testdata::Content::to_vec(3, 60_000)
    );
    // Layer 0's pip cache file, hidden in the final image.
    assert_eq!(
        std::fs::read(at(format!("root/.cache/pip/{HOSTILE}.whl").as_bytes())).unwrap(),
        dive_testdata::Content::to_vec(4, 50_000)
    );
    for (link, target) in [
        (format!("app/link{HOSTILE}"), format!("/{HOSTILE}")),
        (
            format!("app/up{HOSTILE}"),
            "../../../../../../../../tmp".to_owned(),
        ),
        ("app/hostpasswd".to_owned(), "/etc/passwd".to_owned()),
    ] {
        let written = std::fs::read_link(at(link.as_bytes())).unwrap();
        assert_eq!(written.as_os_str().as_bytes(), target.as_bytes());
    }
    assert!(std::fs::read_dir(&sentinel).unwrap().next().is_none());
    let mut beside: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    beside.sort();
    assert_eq!(beside, ["hostile.tar", "out", "sentinel"]);
}

/// The gate's `JUnit` is XML 1.0 whatever the image's names hold: with the noncharacters
/// U+FFFE and U+FFFF beside the controls in the tag, paths, packages, versions, steps and
/// warnings, a strict parser (expat, through Python's minidom) reads it back, every such
/// code point shown as a visible escape.
#[test]
fn junit_is_xml_1_0_whatever_the_names_hold() {
    let minidom = Tool::PythonModule {
        python: "/usr/bin/python3",
        module: "xml.dom.minidom",
    };
    if !dive_testdata::tools::available(&[minidom]) {
        return;
    }
    let text = format!("{HOSTILE}{NOT_XML}");
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("not-xml.tar");
    let built = build(&hostile_image_holding(&text)).unwrap();
    std::fs::write(
        &image,
        docker25(&[&built], Compression::Gzip, false).unwrap(),
    )
    .unwrap();
    let rules = dir.path().join("rules.yml");
    // Rules whose evidence names a hidden path, the largest layer's step and the packages.
    std::fs::write(
        &rules,
        "dive-rs:\n  hidden: 0\n  largest-layer: 0\n  forbidden-packages: [\"*\"]\n",
    )
    .unwrap();
    let junit = checked(
        "ci junit",
        &[
            "ci",
            image.to_str().unwrap(),
            "--rules",
            rules.to_str().unwrap(),
            "--format",
            "junit",
        ],
        None,
        1,
    );
    let file = dir.path().join("gate.xml");
    std::fs::write(&file, &junit).unwrap();
    let script = r#"
import json, sys
from xml.dom import minidom
def text(node):
    return "".join(n.data for n in node.childNodes if n.nodeType in (n.TEXT_NODE, n.CDATA_SECTION_NODE))
doc = minidom.parse(sys.argv[1])
read = []
for suite in doc.getElementsByTagName("testsuite"):
    read.append(suite.getAttribute("name"))
    read += [text(e) for e in suite.getElementsByTagName("system-err")]
    for case in suite.getElementsByTagName("testcase"):
        read.append(case.getAttribute("name"))
        for failure in case.getElementsByTagName("failure"):
            read += [failure.getAttribute("message"), text(failure)]
print(json.dumps(read))
"#;
    let output = Command::new("/usr/bin/python3")
        .args(["-c", script])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "a strict XML 1.0 parser refuses the JUnit: {}\n{junit}",
        String::from_utf8_lossy(&output.stderr)
    );
    let read: Vec<String> = serde_json::from_slice(&output.stdout).unwrap();
    let read = read.join("\n");
    let shown = escape(&text).into_owned();
    assert!(shown.ends_with(r"\u{fffe}\u{ffff}"), "{shown}");
    for place in [
        format!("hostile/app{shown}:1.0"),
        format!("root/.cache/pip/{shown}.whl"),
        r"RUN echo \e]0;OWNED\x07".to_owned(),
        format!("evil{shown}deb 1.0{shown}x"),
        format!("hardlink target app/gone{shown} is not a file"),
    ] {
        assert!(read.contains(&place), "the JUnit lacks {place}:\n{read}");
    }
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

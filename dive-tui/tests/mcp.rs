//! `dive-rs mcp` as an agent's client sees it: JSON-RPC lines on the server's stdin and
//! stdout (nothing else on stdout), the tools with their output schemas, paging to the end,
//! the reply cap, and what the server refuses.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use dive_testdata::{Compression, build, docker25};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_dive-rs");

/// A server and the lines it wrote, each checked as JSON-RPC.
struct Session {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next: u64,
    /// Bytes of the largest tool reply: structured content plus its text.
    largest: usize,
}

impl Session {
    fn start(root: &Path, args: &[&str]) -> Self {
        let mut child = Command::new(BIN)
            .arg("mcp")
            .arg("--root")
            .arg(root)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut session = Session {
            child,
            stdin,
            stdout,
            next: 0,
            largest: 0,
        };
        let init = session.request(
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "dive-rs-tests", "version": "1"}}),
        );
        assert!(
            init["result"]["capabilities"]["tools"].is_object(),
            "{init}"
        );
        session.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        session
    }

    fn send(&mut self, message: &Value) {
        writeln!(self.stdin, "{message}").unwrap();
        self.stdin.flush().unwrap();
    }

    /// Sends a request and returns its response (every line in between must be JSON-RPC).
    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = self.next;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let mut line = String::new();
            assert!(
                self.stdout.read_line(&mut line).unwrap() > 0,
                "the server hung up"
            );
            let message: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("stdout carried a line that is not JSON: {e}: {line}"));
            assert_eq!(message["jsonrpc"], "2.0", "{line}");
            if message["id"] == id {
                return message;
            }
        }
    }

    /// Calls a tool: its structured content, or the JSON-RPC error.
    fn call(&mut self, tool: &str, arguments: Value) -> Result<Value, Value> {
        let reply = self.request("tools/call", json!({"name": tool, "arguments": arguments}));
        if let Some(error) = reply.get("error") {
            return Err(error.clone());
        }
        let result = &reply["result"];
        assert_ne!(result["isError"], true, "{reply}");
        let text = result["content"][0]["text"].as_str().unwrap();
        let structured = result["structuredContent"].clone();
        self.largest = self.largest.max(structured.to_string().len() + text.len());
        Ok(structured)
    }

    /// Every item of a paged listing, following `next_cursor` to the end.
    fn all(&mut self, tool: &str, mut arguments: Value) -> (Vec<Value>, usize) {
        let (mut items, mut pages) = (Vec::new(), 0);
        loop {
            let page = self.call(tool, arguments.clone()).unwrap();
            pages += 1;
            items.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(cursor) => arguments["cursor"] = json!(cursor),
                None => return (items, pages),
            }
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A directory holding `spec` as `image.tar` (Docker 25 `docker save`, gzip layers).
fn image_dir(spec: &dive_testdata::ImageSpec) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let built = build(spec).unwrap();
    std::fs::write(
        dir.path().join("image.tar"),
        docker25(&[&built], Compression::Gzip, false).unwrap(),
    )
    .unwrap();
    dir
}

/// `dive-rs IMAGE --json` of the image.
fn json_of(image: &Path) -> Value {
    let out = Command::new(BIN).arg(image).arg("--json").output().unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_tools_are_typed_read_only_and_page_to_every_file_once() {
    let dir = image_dir(&dive_testdata::demo_image());
    let mut session = Session::start(dir.path(), &[]);
    let tools = session.request("tools/list", json!({}));
    let tools = tools["result"]["tools"].as_array().unwrap();
    let names: BTreeSet<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    for name in [
        "open_image",
        "list_layers",
        "list_files",
        "list_packages",
        "list_findings",
        "path_history",
        "read_file",
    ] {
        assert!(names.contains(name), "{name} missing: {names:?}");
    }
    for tool in tools {
        assert_eq!(tool["outputSchema"]["type"], "object", "{tool}");
        assert_eq!(tool["inputSchema"]["type"], "object", "{tool}");
        assert_eq!(tool["annotations"]["readOnlyHint"], true, "{tool}");
        assert_eq!(tool["annotations"]["idempotentHint"], true, "{tool}");
    }
    let opened = session
        .call("open_image", json!({"source": "image.tar"}))
        .unwrap();
    let id = opened["image_id"].as_str().unwrap().to_owned();
    let analysis = json_of(&dir.path().join("image.tar"));
    assert_eq!(id, analysis["image"]["config_digest"]);
    assert_eq!(opened["final_bytes"], analysis["image"]["final_bytes"]);
    // Seven a page: every file of the final image once, its bytes adding up to --json's.
    let (files, pages) = session.all("list_files", json!({"image_id": id, "limit": 7}));
    let final_files = analysis["image"]["final_files"].as_u64().unwrap() as usize;
    let links = files.iter().filter(|f| f["hardlink"] == true).count();
    assert_eq!(files.len() - links, final_files);
    assert_eq!(pages, files.len().div_ceil(7));
    let paths: BTreeSet<&str> = files.iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(paths.len(), files.len());
    let bytes: u64 = files.iter().map(|f| f["bytes"].as_u64().unwrap()).sum();
    assert_eq!(bytes, analysis["image"]["final_bytes"].as_u64().unwrap());
    let (packages, _) = session.all("list_packages", json!({"image_id": id, "limit": 5}));
    assert_eq!(
        packages.len(),
        analysis["packages"].as_array().unwrap().len()
    );
    let (findings, _) = session.all("list_findings", json!({"image_id": id}));
    assert!(!findings.is_empty());
    let layers = session
        .call("list_layers", json!({"image_id": id}))
        .unwrap();
    assert_eq!(
        layers["layers"].as_array().unwrap().len(),
        analysis["layers"].as_array().unwrap().len()
    );
    let largest = &files[0]["path"];
    let history = session
        .call("path_history", json!({"image_id": id, "path": largest}))
        .unwrap();
    assert_eq!(history["in_final_image"], true);
    assert!(!history["steps"].as_array().unwrap().is_empty());
    // A forged or foreign cursor is invalid params.
    let page = session
        .call("list_files", json!({"image_id": id, "limit": 2}))
        .unwrap();
    let cursor = page["next_cursor"].as_str().unwrap();
    for (args, why) in [
        (
            json!({"image_id": id, "cursor": format!("{cursor}A")}),
            "forged",
        ),
        (
            json!({"image_id": id, "cursor": cursor, "sort": "size"}),
            "another query",
        ),
        (json!({"image_id": id, "cursor": "MTAw"}), "made up"),
    ] {
        let error = session.call("list_files", args).unwrap_err();
        assert_eq!(error["code"], -32602, "{why}: {error}");
    }
}

#[test]
fn files_are_read_only_when_allowed_and_never_outside_the_root() {
    let dir = image_dir(&dive_testdata::demo_image());
    let mut closed = Session::start(dir.path(), &[]);
    let id = closed
        .call("open_image", json!({"source": "image.tar"}))
        .unwrap()["image_id"]
        .clone();
    let refused = closed
        .call(
            "read_file",
            json!({"image_id": id, "path": "/etc/os-release"}),
        )
        .unwrap_err();
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("--allow-read")
    );
    for source in [
        "-",
        "/etc/passwd",
        "../image.tar",
        "registry:example.com/a:1",
        "docker:a",
    ] {
        let error = closed
            .call("open_image", json!({"source": source}))
            .unwrap_err();
        assert_eq!(error["code"], -32602, "{source}: {error}");
    }
    // A link below the root that leads out of it is outside.
    std::os::unix::fs::symlink("/etc", dir.path().join("etc")).unwrap();
    let error = closed
        .call("open_image", json!({"source": "etc/hostname"}))
        .unwrap_err();
    assert!(
        error["message"].as_str().unwrap().contains("outside"),
        "{error}"
    );

    let mut open = Session::start(dir.path(), &["--allow-read"]);
    let id = open
        .call("open_image", json!({"source": "image.tar"}))
        .unwrap()["image_id"]
        .clone();
    let read = open
        .call(
            "read_file",
            json!({"image_id": id, "path": "/etc/os-release", "max_bytes": 20}),
        )
        .unwrap();
    assert_eq!(read["offset"], 0);
    assert_eq!(read["text"].as_str().unwrap().len(), 20);
    assert_eq!(read["more"], true);
    // A file a secrets rule matched stays refused, however the path is spelled (by where
    // its bytes come from), and so does a version a later layer deleted.
    let analysis = json_of(&dir.path().join("image.tar"));
    let secrets = analysis["secrets"].as_array().unwrap();
    let shown = secrets
        .iter()
        .find(|s| s["path"].is_string() && s["hidden_by_layer"].is_null())
        .expect("the demo ships a secret in a file");
    let secret = format!("/{}", shown["path"].as_str().unwrap());
    let (dir_part, file) = secret.rsplit_once('/').unwrap();
    for spelled in [
        secret.clone(),
        format!("{dir_part}/./{file}"),
        format!("{dir_part}//{file}"),
        format!("/.{secret}"),
    ] {
        let error = open
            .call("read_file", json!({"image_id": id, "path": spelled}))
            .unwrap_err();
        assert!(
            error["message"].as_str().unwrap().contains("secrets"),
            "{spelled}: {error}"
        );
    }
    let deleted = secrets
        .iter()
        .find(|s| s["path"].is_string() && s["hidden_by_layer"].is_u64())
        .expect("the demo deletes a secret in a later layer");
    let error = open
        .call(
            "read_file",
            json!({"image_id": id, "path": deleted["path"], "layer": deleted["layer"]}),
        )
        .unwrap_err();
    assert!(
        error["message"].as_str().unwrap().contains("secrets"),
        "{error}"
    );
    // An error names what the agent gave, escaped and cut.
    let long = format!("{}\u{1b}.tar", "x".repeat(100_000));
    let error = open
        .call("open_image", json!({"source": long}))
        .unwrap_err();
    let message = error["message"].as_str().unwrap();
    assert!(
        message.len() < 1200 && !message.contains('\u{1b}'),
        "{}",
        message.len()
    );
}

#[test]
fn replies_stay_under_the_cap_and_names_arrive_escaped() {
    // A wide image paged under a small cap: no reply above it, every file once.
    let files = 20_000;
    let dir = image_dir(&dive_testdata::wide_image(files));
    let cap = 16 * 1024;
    let mut session = Session::start(dir.path(), &["--max-reply", &cap.to_string()]);
    let id = session
        .call("open_image", json!({"source": "image.tar"}))
        .unwrap()["image_id"]
        .clone();
    let (items, pages) = session.all("list_files", json!({"image_id": id, "limit": 500}));
    assert_eq!(items.len() as u64, files);
    let paths: BTreeSet<&str> = items.iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(paths.len(), items.len());
    assert!(session.largest <= cap, "{} > {cap}", session.largest);
    // Cut by the cap, not by the limit: far more pages than 500 a page would make.
    assert!(pages > files as usize / 200, "{pages}");

    let dir = image_dir(&dive_testdata::hostile_image());
    let mut session = Session::start(dir.path(), &["--allow-read"]);
    let id = session
        .call("open_image", json!({"source": "image.tar"}))
        .unwrap()["image_id"]
        .clone();
    let mut seen = Vec::new();
    for tool in ["list_files", "list_packages", "list_findings"] {
        seen.extend(session.all(tool, json!({"image_id": id})).0);
    }
    seen.push(
        session
            .call("list_layers", json!({"image_id": id}))
            .unwrap(),
    );
    let mut strings = Vec::new();
    collect_strings(&Value::Array(seen), &mut strings);
    assert!(strings.len() > 10);
    for text in strings {
        assert!(
            !text.chars().any(acts_on_a_terminal),
            "a name arrived unescaped: {text:?}"
        );
    }
}

/// Controls, bidirectional overrides and line separators: what a terminal or a reader acts on.
fn acts_on_a_terminal(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{2028}' | '\u{2029}'
        )
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// Every string in `value`.
fn collect_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

#[test]
fn the_reports_are_the_commands_documents() {
    // The demo as it ships, its Dockerfile beside it, and the demo after a change.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        "../testdata/demo/ml-service.tar",
        dir.path().join("demo.tar"),
    )
    .unwrap();
    std::fs::copy("../testdata/demo/Dockerfile", dir.path().join("Dockerfile")).unwrap();
    let built = build(&dive_testdata::demo_image_v2()).unwrap();
    std::fs::write(
        dir.path().join("v2.tar"),
        docker25(&[&built], Compression::Gzip, false).unwrap(),
    )
    .unwrap();
    let mut session = Session::start(dir.path(), &[]);
    let tools = session.request("tools/list", json!({}));
    let names: BTreeSet<&str> = (tools["result"]["tools"].as_array().unwrap().iter())
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for name in ["cuda_report", "duplicates", "gate", "diff_images", "fix"] {
        assert!(names.contains(name), "{name} missing: {names:?}");
    }
    let demo = session
        .call("open_image", json!({"source": "demo.tar"}))
        .unwrap()["image_id"]
        .clone();
    let v2 = session
        .call("open_image", json!({"source": "v2.tar"}))
        .unwrap()["image_id"]
        .clone();
    let analysis = json_of(&dir.path().join("demo.tar"));

    let cuda = session
        .call("cuda_report", json!({"image_id": demo}))
        .unwrap();
    assert_eq!(
        cuda["report"]["device_bytes"],
        analysis["cuda"]["device_bytes"]
    );
    let (groups, _) = session.all("duplicates", json!({"image_id": demo}));
    assert_eq!(
        groups.len(),
        analysis["duplicates"].as_array().unwrap().len()
    );

    let gate = session.call("gate", json!({"image_id": demo})).unwrap();
    let cli = Command::new(BIN)
        .args(["ci", "--format", "json"])
        .arg(dir.path().join("demo.tar"))
        .current_dir(dir.path())
        .env_remove("CI")
        .output()
        .unwrap();
    let expected: Value = serde_json::from_slice(&cli.stdout).unwrap();
    assert_eq!(gate["report"], expected);
    let bad = session
        .call("gate", json!({"image_id": demo, "rules": "rules: [[["}))
        .unwrap_err();
    assert_eq!(bad["code"], -32602);

    let diff = session
        .call("diff_images", json!({"old": demo, "new": v2}))
        .unwrap();
    assert!(diff["report"]["diff"].is_object(), "{diff}");

    let fix = session
        .call("fix", json!({"image_id": demo, "dockerfile": "Dockerfile"}))
        .unwrap();
    assert!(fix["diff"].as_str().unwrap().contains("@@"), "{fix}");
    assert!(fix["saving"].as_u64().unwrap() > 0);
    // Nothing was written.
    assert_eq!(
        std::fs::read(dir.path().join("Dockerfile")).unwrap(),
        std::fs::read("../testdata/demo/Dockerfile").unwrap()
    );
    std::fs::write(dir.path().join(".env"), "AWS_SECRET_ACCESS_KEY=x\n").unwrap();
    for (file, why) in [
        ("/etc/Dockerfile", "outside the root"),
        (".env", "not a Dockerfile"),
    ] {
        let refused = session
            .call("fix", json!({"image_id": demo, "dockerfile": file}))
            .unwrap_err();
        assert_eq!(refused["code"], -32602, "{why}");
        assert!(
            !refused["message"].as_str().unwrap().contains("AWS"),
            "{why}"
        );
    }
}

#[test]
fn listings_filter_by_glob_package_and_hidden_bytes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        "../testdata/demo/ml-service.tar",
        dir.path().join("demo.tar"),
    )
    .unwrap();
    let analysis = json_of(&dir.path().join("demo.tar"));
    let mut session = Session::start(dir.path(), &[]);
    let id = session
        .call("open_image", json!({"source": "demo.tar"}))
        .unwrap()["image_id"]
        .clone();
    let (so, _) = session.all("list_files", json!({"image_id": id, "glob": "**/*.so*"}));
    assert!(!so.is_empty());
    assert!(
        so.iter()
            .all(|f| f["path"].as_str().unwrap().contains(".so"))
    );
    let bad = session
        .call("list_files", json!({"image_id": id, "glob": "a[" }))
        .unwrap_err();
    assert_eq!(bad["code"], -32602);
    // The hidden bytes, each with the layer that hid them: --json's total.
    let (hidden, _) = session.all("list_files", json!({"image_id": id, "hidden": true}));
    let bytes: u64 = hidden.iter().map(|f| f["bytes"].as_u64().unwrap()).sum();
    assert_eq!(bytes, analysis["image"]["hidden_bytes"].as_u64().unwrap());
    assert!(hidden.iter().all(|f| f["hidden_by_layer"].is_u64()));
    // A package's files: as many as --json counts, its bytes.
    let torch = analysis["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "torch")
        .unwrap();
    let (files, _) = session.all(
        "package_files",
        json!({"image_id": id, "package": "torch", "limit": 3}),
    );
    assert_eq!(files.len() as u64, torch["files"].as_u64().unwrap());
    let bytes: u64 = files.iter().map(|f| f["bytes"].as_u64().unwrap()).sum();
    assert_eq!(bytes, torch["bytes"].as_u64().unwrap());
    let none = session
        .call(
            "package_files",
            json!({"image_id": id, "package": "no-such"}),
        )
        .unwrap_err();
    assert_eq!(none["code"], -32602);
}

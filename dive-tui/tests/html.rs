//! The HTML report and diff, read back by parsers that are not ours (Python's html.parser and
//! html5lib, through `testdata/scripts/html_facts.py`) and opened in a real browser (Debian's
//! Chromium, headless): the page holds the figures `--json` gives, parses without an error,
//! runs its script under its own Content-Security-Policy without a complaint, draws the
//! treemap with scripts off, and a page made from an image whose names are markup holds no
//! element or attribute that came from those names.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine as _;
use dive_testdata::tools::{Tool, available};
use serde_json::Value;
use sha2::{Digest, Sha256};

const BIN: &str = env!("CARGO_BIN_EXE_dive-rs");
const DEMO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../testdata/demo/ml-service.tar"
);
const FACTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../testdata/scripts/html_facts.py"
);
const PYTHON: &str = "/usr/bin/python3";
const HTML5LIB: Tool = Tool::PythonModule {
    python: PYTHON,
    module: "html5lib",
};
const CHROMIUM: Tool = Tool::Program("chromium");

/// Every element the pages make; an element of any other name came from the image.
const ELEMENTS: &[&str] = &[
    "html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "p", "code",
    "dl", "div", "dt", "dd", "data", "ul", "ol", "li", "section", "svg", "defs", "pattern", "rect",
    "g", "text", "nav", "button", "input", "table", "thead", "tbody", "tr", "th", "td", "span",
    "footer", "script",
];

fn dive_rs(args: &[&str]) -> Output {
    let output = Command::new(BIN)
        .args(args)
        .env_remove("CI")
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "dive-rs {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn write_page(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, dive_rs(args).stdout).unwrap();
    path
}

/// A generated image as a Docker 25 tar in `dir`; its path.
fn image_file(
    dir: &Path,
    name: &str,
    spec: &dive_testdata::ImageSpec,
    compression: dive_testdata::Compression,
) -> String {
    let path = dir.join(name);
    let built = dive_testdata::build(spec).unwrap();
    std::fs::write(
        &path,
        dive_testdata::docker25(&[&built], compression, false).unwrap(),
    )
    .unwrap();
    path.to_str().unwrap().to_owned()
}

/// The demo's report page, written in `dir`, and its text.
fn demo_page(dir: &Path) -> (PathBuf, String) {
    let page = write_page(dir, "demo.html", &["report", DEMO, "--format", "html"]);
    let html = std::fs::read_to_string(&page).unwrap();
    (page, html)
}

/// The treemap's data as the page gives it to its script.
fn page_data(html: &str) -> Value {
    let data = html
        .split("<script type=\"application/json\" id=\"data\">")
        .nth(1)
        .unwrap();
    serde_json::from_str(data.split("</script>").next().unwrap()).unwrap()
}

/// What `html_facts.py` reads in the file; `strict` also lists html5lib's parse errors.
fn facts(path: &Path, strict: bool) -> Value {
    let mut command = Command::new(PYTHON);
    command.arg(FACTS).arg(path);
    if strict {
        command.arg("--strict");
    }
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Headless Chromium on `url` with `extra` flags, in a profile of its own: what it printed
/// on stdout (the DOM for `--dump-dom`) and stderr (console messages).
fn chromium(url: &str, extra: &[&str]) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let output = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=3000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url)
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn url(path: &Path, tail: &str) -> String {
    format!("file://{}{tail}", path.display())
}

/// Lines where the browser says the page's policy stopped something.
fn policy_complaints(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains("Content Security Policy") || l.contains("Refused to"))
        .collect()
}

fn rows<'a>(facts: &'a Value, class: &str) -> Vec<&'a Value> {
    facts["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["class"] == class)
        .collect()
}

fn value(row: &Value, i: usize) -> u64 {
    row["values"][i].as_str().unwrap().parse().unwrap()
}

fn sha256_source(text: &str) -> String {
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes()))
    )
}

/// Elements none of the pages makes, attributes that run script or load something, and any
/// attribute value holding `needle`.
fn foreign(facts: &Value, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (name, _) in facts["elements"].as_object().unwrap() {
        if !ELEMENTS.contains(&name.as_str()) {
            found.push(format!("element <{name}>"));
        }
    }
    for attribute in facts["attributes"].as_array().unwrap() {
        let (tag, name, value) = (
            attribute[0].as_str().unwrap(),
            attribute[1].as_str().unwrap(),
            attribute[2].as_str().unwrap_or(""),
        );
        let url_attribute = matches!(
            name,
            "href" | "src" | "xlink:href" | "action" | "formaction" | "srcset" | "poster"
        );
        if name.starts_with("on") || url_attribute || value.contains(needle) {
            found.push(format!("<{tag} {name}={value:?}>"));
        }
    }
    found
}

#[test]
fn the_report_page_holds_the_figures_of_json_and_parses_without_an_error() {
    if !available(&[HTML5LIB]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (page, html) = demo_page(dir.path());
    let json: Value = serde_json::from_slice(&dive_rs(&[DEMO, "--json"]).stdout).unwrap();
    let facts = facts(&page, true);
    assert_eq!(facts["parse_errors"], serde_json::json!([]), "html5lib");

    // The policy comes first and allows exactly the page's own style and script.
    let head = html.split("<head>").nth(1).unwrap().trim_start();
    assert!(
        head.starts_with("<meta http-equiv=\"Content-Security-Policy\""),
        "{head:.200}"
    );
    let policy = head.split("content=\"").nth(1).unwrap();
    let policy = &policy[..policy.find('"').unwrap()];
    let scripts = facts["scripts"].as_array().unwrap();
    assert_eq!(scripts.len(), 2, "the data and the script");
    let style = html
        .split("<style>")
        .nth(1)
        .unwrap()
        .split("</style>")
        .next()
        .unwrap();
    let expected = format!(
        "default-src 'none'; script-src {}; style-src {}; img-src data:; base-uri 'none'; form-action 'none'",
        sha256_source(scripts[1].as_str().unwrap()),
        sha256_source(style)
    );
    assert_eq!(policy, expected);
    assert!(
        !html.contains(" style=\""),
        "a style attribute breaks the policy"
    );

    // Header figures, families and packages as --json has them.
    let image = &json["image"];
    for (name, key) in [
        ("final_bytes", "final_bytes"),
        ("hidden_bytes", "hidden_bytes"),
        ("layer_count", "layer_count"),
        ("size_compressed", "size_compressed"),
        ("final_files", "final_files"),
    ] {
        let row = facts["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("no figure {name}"));
        assert_eq!(value(row, 0), image[key].as_u64().unwrap(), "{name}");
    }
    let families = rows(&facts, "family");
    let expected: Vec<(String, u64, u64)> = json["families"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap().to_owned(),
                f["bytes"].as_u64().unwrap(),
                f["hidden_bytes"].as_u64().unwrap(),
            )
        })
        .collect();
    let shown: Vec<(String, u64, u64)> = families
        .iter()
        .map(|r| {
            (
                r["cells"][0].as_str().unwrap().to_owned(),
                value(r, 0),
                value(r, 1),
            )
        })
        .collect();
    assert_eq!(shown, expected);
    assert!(expected.iter().any(|(name, ..)| name == "nvidia"));
    let packages = rows(&facts, "package");
    let json_packages = json["packages"].as_array().unwrap();
    assert_eq!(packages.len(), json_packages.len().min(50));
    for (row, package) in packages.iter().zip(json_packages) {
        assert_eq!(row["cells"][0], package["name"]);
        assert_eq!(value(row, 0), package["bytes"].as_u64().unwrap());
        assert_eq!(value(row, 1), package["hidden_bytes"].as_u64().unwrap());
    }
    let layers = rows(&facts, "layer");
    assert_eq!(layers.len(), json["layers"].as_array().unwrap().len());
    for (row, layer) in layers.iter().zip(json["layers"].as_array().unwrap()) {
        assert_eq!(value(row, 0), layer["file_bytes"].as_u64().unwrap());
        assert_eq!(value(row, 1), layer["hidden_bytes"].as_u64().unwrap());
    }
    let hidden = rows(&facts, "hidden");
    let json_hidden = json["hidden"].as_array().unwrap();
    assert_eq!(hidden.len(), json_hidden.len().min(100));
    assert_eq!(
        value(hidden[0], 0),
        json_hidden[0]["bytes"].as_u64().unwrap()
    );

    // The treemap's data: every shipped byte once, each parent the sum of its children.
    let data = page_data(&html);
    let items = data["items"].as_array().unwrap();
    let shipped = image["final_bytes"].as_u64().unwrap() + image["hidden_bytes"].as_u64().unwrap();
    assert_eq!(items[0]["b"].as_u64().unwrap(), shipped);
    for item in items {
        let children = item["c"].as_array().unwrap();
        if !children.is_empty() {
            let sum: u64 = children
                .iter()
                .map(|c| items[c.as_u64().unwrap() as usize]["b"].as_u64().unwrap())
                .sum();
            assert_eq!(sum, item["b"].as_u64().unwrap(), "{item}");
        }
    }
    // Findings, largest saving first, as the JSON report has them.
    let report: Value =
        serde_json::from_slice(&dive_rs(&["report", DEMO, "--format", "json"]).stdout).unwrap();
    let text = facts["text"].as_str().unwrap();
    for finding in report["findings"].as_array().unwrap() {
        let title = finding["title"].as_str().unwrap();
        assert!(
            text.to_lowercase().contains(&title.to_lowercase()),
            "{title}"
        );
    }
}

#[test]
fn in_chromium_the_script_zooms_and_searches_under_the_policy_and_the_picture_needs_no_script() {
    if !available(&[CHROMIUM, HTML5LIB]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (page, html) = demo_page(dir.path());
    let data = page_data(&html);
    let items = data["items"].as_array().unwrap();
    // The largest group: zooming into it draws its packages, and the breadcrumb leads back.
    let group = items[0]["c"][0].as_u64().unwrap() as usize;
    let group_name = items[group]["n"].as_str().unwrap();

    let (dom, stderr) = chromium(
        &url(&page, &format!("?q=libtorch#i={group}")),
        &["--dump-dom"],
    );
    assert!(policy_complaints(&stderr).is_empty(), "{stderr}");
    let dom_path = dir.path().join("dom.html");
    std::fs::write(&dom_path, &dom).unwrap();
    let after = facts(&dom_path, false);
    assert_eq!(foreign(&after, "\u{0}"), Vec::<String>::new());
    // The DOM the browser built holds the families' figures --json gives.
    let json: Value = serde_json::from_slice(&dive_rs(&[DEMO, "--json"]).stdout).unwrap();
    let families: Vec<(String, u64)> = rows(&after, "family")
        .iter()
        .map(|r| (r["cells"][0].as_str().unwrap().to_owned(), value(r, 0)))
        .collect();
    let expected: Vec<(String, u64)> = json["families"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap().to_owned(),
                f["bytes"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(families, expected);
    let text = after["text"].as_str().unwrap();
    // The search box is shown, and found the file.
    assert!(
        dom.contains("<div id=\"search\">"),
        "the script shows the search box"
    );
    assert!(
        text.contains("/usr/local/lib/python3.11/dist-packages/torch/lib/libtorch_cpu.so"),
        "search hits"
    );
    // Zoomed: the breadcrumb names the group and every tile drawn lies inside it.
    assert!(
        dom.contains("<nav class=\"crumbs\" id=\"crumbs\"><button"),
        "crumbs"
    );
    let crumbs = dom.split("id=\"crumbs\">").nth(1).unwrap();
    let crumbs = crumbs.split("</nav>").next().unwrap();
    assert!(
        crumbs.contains(&format!(">{group_name}</button>")),
        "{crumbs}"
    );
    let below: BTreeSet<usize> = {
        let mut set = BTreeSet::new();
        let mut stack = vec![group];
        while let Some(i) = stack.pop() {
            for c in items[i]["c"].as_array().unwrap() {
                let c = c.as_u64().unwrap() as usize;
                set.insert(c);
                stack.push(c);
            }
        }
        set
    };
    let tiles: Vec<usize> = after["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a[1] == "data-i")
        .map(|a| a[2].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(tiles.len() > 3, "{tiles:?}");
    assert!(tiles.iter().all(|t| below.contains(t)), "{tiles:?}");

    // Without scripts: the static treemap, every group drawn, and no search box. This
    // Chromium's headless mode cannot dump or draw a page with `--blink-settings=
    // scriptEnabled=false` (it prints nothing), so a copy of the page whose policy allows no
    // script stands in: the browser refuses the script, as one with scripts off ignores it.
    let policy = sha256_source(
        html.split("<script>")
            .nth(1)
            .unwrap()
            .split("</script>")
            .next()
            .unwrap(),
    );
    let blocked = dir.path().join("no-script.html");
    std::fs::write(&blocked, html.replace(&policy, "'none'")).unwrap();
    let (dom, stderr) = chromium(&url(&blocked, ""), &["--dump-dom"]);
    assert_eq!(policy_complaints(&stderr).len(), 1, "{stderr}");
    std::fs::write(&dom_path, &dom).unwrap();
    let still = facts(&dom_path, false);
    let tiles = still["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a[1] == "data-i")
        .count();
    assert!(tiles >= 50, "{tiles} tiles without scripts");
    for group in items[0]["c"].as_array().unwrap() {
        let name = items[group.as_u64().unwrap() as usize]["n"]
            .as_str()
            .unwrap();
        assert!(dom.contains(name), "{name}");
    }
    assert!(dom.contains("<div id=\"search\" hidden=\"\">"));

    // Screenshots that are pictures, with scripts and without: the files of each group in
    // its colour of the palette, not a blank page.
    for (page, name) in [(&page, "shot.png"), (&blocked, "shot-no-script.png")] {
        let shot = dir.path().join(name);
        let (_, stderr) = chromium(
            &url(page, ""),
            &[
                &format!("--screenshot={}", shot.display()),
                "--window-size=1280,1000",
                "--hide-scrollbars",
            ],
        );
        let colours = colours(&shot).unwrap_or_else(|e| panic!("{e}: {stderr}"));
        let groups = items[0]["c"].as_array().unwrap().len().min(PALETTE.len());
        let palette = PALETTE.iter().filter(|c| colours.contains(*c)).count();
        assert!(colours.len() >= 40, "{name}: {} colours", colours.len());
        assert!(
            palette >= groups,
            "{name}: {palette} of {groups} group colours"
        );
    }
}

/// The stylesheet's colours of the groups (`.c0` …).
const PALETTE: [[u8; 3]; 12] = [
    [0x4e, 0x79, 0xa7],
    [0xf2, 0x8e, 0x2b],
    [0xe1, 0x57, 0x59],
    [0x76, 0xb7, 0xb2],
    [0x59, 0xa1, 0x4f],
    [0xed, 0xc9, 0x48],
    [0xb0, 0x7a, 0xa1],
    [0xff, 0x9d, 0xa7],
    [0x9c, 0x75, 0x5f],
    [0xba, 0xb0, 0xac],
    [0x86, 0xbc, 0xb6],
    [0xd4, 0xa6, 0xc8],
];

/// The distinct RGB colours of a PNG.
fn colours(path: &Path) -> Result<BTreeSet<[u8; 3]>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
    let mut pixels = vec![0; reader.output_buffer_size().ok_or("size")?];
    let info = reader.next_frame(&mut pixels).map_err(|e| e.to_string())?;
    let channels = info.color_type.samples();
    let colours: BTreeSet<[u8; 3]> = pixels[..info.buffer_size()]
        .chunks_exact(channels)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    Ok(colours)
}

#[test]
fn names_that_are_markup_stay_text_in_the_page_and_in_the_browser() {
    if !available(&[HTML5LIB]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let image = &image_file(
        dir.path(),
        "markup.tar",
        &dive_testdata::markup_image(),
        dive_testdata::Compression::None,
    );
    let page = write_page(
        dir.path(),
        "markup.html",
        &["report", image, "--format", "html"],
    );
    let diff = write_page(
        dir.path(),
        "diff.html",
        &["diff", DEMO, image, "--format", "html", "--top", "1000"],
    );
    for path in [&page, &diff] {
        let read = facts(path, true);
        assert_eq!(read["parse_errors"], serde_json::json!([]), "{path:?}");
        assert_eq!(foreign(&read, "alert("), Vec::<String>::new(), "{path:?}");
        let text = read["text"].as_str().unwrap();
        // The names are there, as text, escaped only where a terminal would act on them.
        for name in [
            "<img src=x onerror=alert(3)>.bin",
            "<i onmouseover=alert(6)>.bin",
        ] {
            assert!(text.contains(name), "{path:?}: {name}");
        }
    }
    let scripts = facts(&page, false)["scripts"].as_array().unwrap().len();
    assert_eq!(scripts, 2, "a name ended a script element");
    let text = facts(&page, false)["text"].as_str().unwrap().to_owned();
    for name in [
        "bad\\xff<i onmouseover=alert(6)>.bin",
        "markup/</script><script>alert(10)</script>:1",
        "x<img src=x onerror=alert(1)>",
        "1.0\"><svg onload=alert(2)>",
        "<script>alert(8)",
        "&amp;<b onclick=alert(5)>bold.txt",
        "RUN echo '</script><script>alert(11)</script>' \"><svg onload=alert(12)> </style>",
    ] {
        assert!(text.contains(name), "{name}");
    }

    if !available(&[CHROMIUM]) {
        return;
    }
    // After the script has run: zoomed into every group (the tiles it draws) and searching
    // for the names (the hits it lists).
    let data = page_data(&std::fs::read_to_string(&page).unwrap());
    let groups = data["items"][0]["c"].as_array().unwrap().clone();
    for (i, group) in groups.iter().enumerate() {
        let (dom, stderr) = chromium(&url(&page, &format!("?q=alert#i={group}")), &["--dump-dom"]);
        assert!(policy_complaints(&stderr).is_empty(), "{stderr}");
        let path = dir.path().join(format!("dom{i}.html"));
        std::fs::write(&path, &dom).unwrap();
        let after = facts(&path, false);
        assert_eq!(
            foreign(&after, "alert("),
            Vec::<String>::new(),
            "group {group}"
        );
        assert!(
            after["text"].as_str().unwrap().contains("alert(3)"),
            "the search lists the names"
        );
    }
    let (dom, stderr) = chromium(&url(&diff, ""), &["--dump-dom"]);
    assert!(policy_complaints(&stderr).is_empty(), "{stderr}");
    let path = dir.path().join("diff-dom.html");
    std::fs::write(&path, &dom).unwrap();
    assert_eq!(
        foreign(&facts(&path, false), "alert("),
        Vec::<String>::new()
    );
}

#[test]
fn the_diff_page_holds_the_deltas_of_json() {
    if !available(&[HTML5LIB]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let v2 = &image_file(
        dir.path(),
        "v2.tar",
        &dive_testdata::demo_image_v2(),
        dive_testdata::Compression::Gzip,
    );
    let page = write_page(
        dir.path(),
        "diff.html",
        &["diff", DEMO, v2, "--format", "html"],
    );
    let json: Value =
        serde_json::from_slice(&dive_rs(&["diff", DEMO, v2, "--format", "json"]).stdout).unwrap();
    let read = facts(&page, true);
    assert_eq!(read["parse_errors"], serde_json::json!([]));
    assert!(read["scripts"].as_array().unwrap().is_empty());
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("script-src 'none'"));
    let text = read["text"].as_str().unwrap();
    for family in json["diff"]["families"].as_array().unwrap() {
        let name = family["name"].as_str().unwrap();
        let delta = family["delta"].as_i64().unwrap();
        let size = bytesize::ByteSize(delta.unsigned_abs())
            .display()
            .si()
            .to_string();
        assert!(text.contains(name), "{name}");
        assert!(text.contains(&size), "{name} {size}");
    }
    for package in json["diff"]["packages"].as_array().unwrap() {
        let name = package["name"].as_str().unwrap();
        assert!(text.contains(name), "{name}");
    }
    assert!(text.contains("Layers: 4 shared, 2 new, 2 gone"), "{text}");
}

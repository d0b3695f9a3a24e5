//! Shared helpers: analyse generated images and compare with the generator's ledger.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

use dive_core::layer::EntryKind;
use dive_core::tree::NodeId;
use dive_core::{Analysis, AnalyzerBuilder, Source};
use dive_testdata::{BuiltImage, Compression, LayoutOptions, Ledger, MediaTypes};

pub fn analyze_path(path: &Path) -> Analysis {
    AnalyzerBuilder::new()
        .build()
        .analyze(Source::path(path), &())
        .unwrap_or_else(|e| panic!("{e}"))
}

pub fn analyze_stream(bytes: Vec<u8>) -> Analysis {
    let source = Source::reader("-", std::io::Cursor::new(bytes));
    AnalyzerBuilder::new()
        .build()
        .analyze(source, &())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Every form an image can take, each as (name, bytes of a tar) or a directory.
pub enum Form {
    Tar(&'static str, Vec<u8>),
    Dir(&'static str, tempfile::TempDir),
}

pub fn all_forms(image: &BuiltImage) -> Vec<Form> {
    let images = [image];
    let mut forms = vec![
        Form::Tar(
            "docker-archive legacy",
            dive_testdata::docker_legacy(&images, false).unwrap(),
        ),
        Form::Tar(
            "docker-archive legacy, skopeo symlinks",
            dive_testdata::docker_legacy(&images, true).unwrap(),
        ),
        Form::Tar(
            "docker 25 plain",
            dive_testdata::docker25(&images, Compression::None, false).unwrap(),
        ),
        Form::Tar(
            "docker 25 gzip, nested index",
            dive_testdata::docker25(&images, Compression::Gzip, true).unwrap(),
        ),
    ];
    for (name, compression, media) in [
        ("oci dir gzip", Compression::Gzip, MediaTypes::Oci),
        ("oci dir zstd", Compression::Zstd, MediaTypes::Oci),
        ("oci dir plain", Compression::None, MediaTypes::Oci),
        (
            "oci dir gzip, docker media types",
            Compression::Gzip,
            MediaTypes::Docker,
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let options = LayoutOptions {
            compression,
            media,
            nested_index: false,
        };
        dive_testdata::oci_layout(&images, options)
            .unwrap()
            .0
            .write_dir(dir.path())
            .unwrap();
        forms.push(Form::Dir(name, dir));
    }
    let options = LayoutOptions {
        compression: Compression::Zstd,
        media: MediaTypes::Oci,
        nested_index: true,
    };
    forms.push(Form::Tar(
        "oci-archive zstd, nested index",
        dive_testdata::oci_layout(&images, options)
            .unwrap()
            .0
            .to_tar()
            .unwrap(),
    ));
    forms
}

/// Analyses a form by path and, for tars, by stream too.
pub fn analyses_of(form: &Form) -> Vec<(String, Analysis)> {
    match form {
        Form::Dir(name, dir) => vec![(format!("{name} (dir)"), analyze_path(dir.path()))],
        Form::Tar(name, bytes) => {
            let file = tempfile::NamedTempFile::new().unwrap();
            std::fs::write(file.path(), bytes).unwrap();
            vec![
                (format!("{name} (file)"), analyze_path(file.path())),
                (format!("{name} (stream)"), analyze_stream(bytes.clone())),
            ]
        }
    }
}

pub fn kind_char(kind: EntryKind) -> char {
    match kind {
        EntryKind::File => '-',
        EntryKind::Hardlink => 'h',
        EntryKind::Dir => 'd',
        EntryKind::Symlink => 'l',
        other => other.letter(),
    }
}

/// The merged tree as path → (kind, content size, mode).
pub fn final_tree(analysis: &Analysis) -> BTreeMap<Vec<u8>, (char, u64, u32)> {
    analysis
        .tree
        .walk()
        .filter(|&id| id != NodeId::ROOT)
        .map(|id| {
            let node = analysis.tree.node(id);
            let size = node.inode.map_or(0, |i| analysis.tree.inode(i).size);
            (
                analysis.tree.path(id),
                (kind_char(node.kind), size, node.mode),
            )
        })
        .collect()
}

/// Asserts that an analysis agrees with the generator's ledger in every figure.
pub fn assert_matches_ledger(name: &str, analysis: &Analysis, ledger: &Ledger) {
    let image = &analysis.image;
    assert_eq!(
        image.total_file_bytes, ledger.total_file_bytes,
        "{name}: total file bytes"
    );
    assert_eq!(image.final_bytes, ledger.final_bytes, "{name}: final bytes");
    assert_eq!(image.final_files, ledger.final_files, "{name}: final files");
    assert_eq!(
        image.hidden_bytes, ledger.hidden_bytes,
        "{name}: hidden bytes"
    );
    assert_eq!(
        image.total_file_bytes,
        image.final_bytes + image.hidden_bytes,
        "{name}: ledger invariant"
    );
    let layer_bytes: Vec<u64> = analysis.layers.iter().map(|l| l.file_bytes).collect();
    assert_eq!(
        layer_bytes, ledger.layer_file_bytes,
        "{name}: per-layer file bytes"
    );
    let entries: Vec<usize> = analysis.layers.iter().map(|l| l.entries).collect();
    assert_eq!(entries, ledger.layer_entries, "{name}: per-layer entries");
    let changes: Vec<Vec<char>> = (0..analysis.layers.len())
        .map(|l| {
            analysis
                .layer_changes(l)
                .iter()
                .map(|c| c.letter())
                .collect()
        })
        .collect();
    assert_eq!(changes, ledger.layer_changes, "{name}: per-entry changes");
    let hidden_per_layer: u64 = analysis.layers.iter().map(|l| l.hidden_bytes).sum();
    assert_eq!(
        hidden_per_layer, image.hidden_bytes,
        "{name}: per-layer hidden bytes add up"
    );

    let ours = final_tree(analysis);
    let theirs: BTreeMap<Vec<u8>, (char, u64)> = ledger
        .final_paths
        .iter()
        .map(|(p, e)| (p.clone(), (e.kind, e.size)))
        .collect();
    let ours_short: BTreeMap<Vec<u8>, (char, u64)> = ours
        .iter()
        .map(|(p, (k, s, _))| (p.clone(), (*k, *s)))
        .collect();
    assert_eq!(ours_short, theirs, "{name}: final tree");
    for (path, entry) in &ledger.final_paths {
        if let Some(mode) = entry.mode {
            assert_eq!(
                ours[path].2 & 0o7777,
                mode,
                "{name}: mode of {}",
                String::from_utf8_lossy(path)
            );
        }
    }

    let mut hidden: Vec<(Vec<u8>, u64, usize, usize, String)> = analysis
        .hidden
        .iter()
        .map(|h| {
            (
                h.path.clone(),
                h.bytes,
                h.added_in_layer,
                h.hidden_by_layer,
                h.reason.name().to_owned(),
            )
        })
        .collect();
    hidden.sort();
    let mut expected: Vec<(Vec<u8>, u64, usize, usize, String)> = ledger
        .hidden
        .iter()
        .map(|h| {
            (
                h.path.clone(),
                h.bytes,
                h.added_in_layer,
                h.hidden_by_layer,
                h.reason.to_owned(),
            )
        })
        .collect();
    expected.sort();
    assert_eq!(hidden, expected, "{name}: hidden evidence");
}

/// Compares our pip packages with `record_totals.py`'s reading of the RECORDs in `rootfs`:
/// each dist's recorded bytes lie between what only its RECORD lists and all it lists, and
/// files several RECORDs list are counted once in all.
pub fn assert_pip_matches_python(analysis: &Analysis, rootfs: &Path, name: &str) {
    let python = python_script("record_totals.py", rootfs);
    let dists = python["dists"].as_object().unwrap();
    assert!(!dists.is_empty(), "{name}: Python found no RECORD");
    let (mut ours, mut exclusive) = (0, 0);
    for (info, totals) in dists {
        let dist = info.split('-').next().unwrap();
        let package = analysis
            .attribution
            .packages
            .iter()
            .find(|p| p.ecosystem == dive_core::attribution::Ecosystem::Pip && p.name == dist)
            .unwrap_or_else(|| panic!("{name}: {dist} has a RECORD but no package"));
        let recorded = package.bytes - package.unrecorded_bytes;
        let (listed, only) = (
            totals["listed"].as_u64().unwrap(),
            totals["exclusive"].as_u64().unwrap(),
        );
        eprintln!(
            "{name}: {info}: RECORD lists {listed} bytes ({only} its own); dive-rs {recorded} recorded + {} unrecorded",
            package.unrecorded_bytes
        );
        assert!(
            only <= recorded && recorded <= listed,
            "{name}: {info}: {only} <= {recorded} <= {listed}"
        );
        ours += recorded;
        exclusive += only;
    }
    assert_eq!(
        ours,
        exclusive + python["shared"].as_u64().unwrap(),
        "{name}: shared files count once"
    );
}

/// The committed demo image.
pub fn demo_path() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/demo/ml-service.tar"
    ))
}

/// Σ packages + unowned = final bytes, and the same for hidden bytes.
pub fn assert_attribution_adds_up(name: &str, analysis: &Analysis) {
    let a = &analysis.attribution;
    let visible: u64 = a.packages.iter().map(|p| p.bytes).sum::<u64>()
        + a.unowned.iter().map(|u| u.bytes).sum::<u64>();
    let hidden: u64 = a.packages.iter().map(|p| p.hidden_bytes).sum::<u64>()
        + a.unowned.iter().map(|u| u.hidden_bytes).sum::<u64>();
    assert_eq!(
        visible, analysis.image.final_bytes,
        "{name}: Σ packages + unowned = final bytes"
    );
    assert_eq!(
        hidden, analysis.image.hidden_bytes,
        "{name}: Σ packages + unowned hidden = hidden bytes"
    );
}

/// The tables of a Markdown document as a `CommonMark` (GFM tables) parser reads them: per
/// table, per row, the cells' text.
pub fn markdown_tables(markdown: &str) -> Vec<Vec<Vec<String>>> {
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
    let mut tables = Vec::new();
    let mut cell: Option<String> = None;
    for event in Parser::new_ext(markdown, Options::ENABLE_TABLES) {
        match event {
            Event::Start(Tag::Table(_)) => tables.push(Vec::new()),
            Event::Start(Tag::TableHead | Tag::TableRow) => {
                tables.last_mut().unwrap().push(Vec::new());
            }
            Event::Start(Tag::TableCell) => cell = Some(String::new()),
            Event::End(TagEnd::TableCell) => {
                let row = tables.last_mut().unwrap().last_mut().unwrap();
                row.push(cell.take().unwrap());
            }
            Event::Text(text) | Event::Code(text) => {
                if let Some(cell) = &mut cell {
                    cell.push_str(&text);
                }
            }
            _ => {}
        }
    }
    tables
}

/// Validates `document` against the committed schema `schema/NAME`.
pub fn assert_valid(document: &serde_json::Value, name: &str) {
    let errors = schema_errors(document, name);
    assert!(errors.is_empty(), "{name}: {errors:#?}");
}

/// What the committed schema `schema/NAME` finds wrong with `document`.
pub fn schema_errors(document: &serde_json::Value, name: &str) -> Vec<String> {
    let path = format!("{}/../schema/{name}", env!("CARGO_MANIFEST_DIR"));
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    validator
        .iter_errors(document)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

/// `built` written as an OCI layout directory with layers compressed as given.
pub fn oci_dir(built: &BuiltImage, compression: Compression) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let options = LayoutOptions {
        compression,
        media: MediaTypes::Oci,
        nested_index: false,
    };
    dive_testdata::oci_layout(&[built], options)
        .unwrap()
        .0
        .write_dir(dir.path())
        .unwrap();
    dir
}

/// Compares our duplicate groups with `duplicate_groups.py`'s hashing of `rootfs` (sizes,
/// copies, every path); returns how many groups there are.
pub fn assert_duplicates_match_python(analysis: &Analysis, rootfs: &Path, name: &str) -> usize {
    let python = python_script("duplicate_groups.py", rootfs);
    let ours: Vec<serde_json::Value> = analysis
        .attribution
        .duplicates
        .iter()
        .map(|g| serde_json::json!({"size": g.size, "count": g.count, "paths": g.paths}))
        .collect();
    assert_eq!(
        serde_json::Value::Array(ours),
        python,
        "{name}: duplicate groups"
    );
    analysis.attribution.duplicates.len()
}

/// The JSON a script of `testdata/scripts` prints about `rootfs`.
fn python_script(name: &str, rootfs: &Path) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/scripts")
        .join(name);
    let output = std::process::Command::new("python3")
        .arg(script)
        .arg(rootfs)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// cubloaty's report on one file (`--format json`): `file_size` by (section, arch); empty
/// when it finds no device code.
pub fn cubloaty_components(cubloaty: &Path, file: &Path) -> BTreeMap<(String, String), u64> {
    let out = std::process::Command::new(cubloaty)
        .args(["--format", "json"])
        .arg(file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && stderr.contains("No CUDA device code found") {
        return BTreeMap::new();
    }
    assert!(out.status.success(), "{}: {stderr}", file.display());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut by = BTreeMap::new();
    for c in json["components"].as_array().unwrap() {
        let key = (
            c["section"].as_str().unwrap().to_owned(),
            c["arch"].as_str().unwrap().to_owned(),
        );
        *by.entry(key).or_default() += c["file_size"].as_u64().unwrap();
    }
    by
}

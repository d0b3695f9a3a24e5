//! `diff` of the demo and its changed version, read in two different forms, against the
//! differences the two generator specs and ledgers define.

use std::collections::BTreeMap;
use std::path::Path;

use dive_core::Analysis;
use dive_core::report::diff::{self, DiffFormat, PackageStatus, PathStatus, Presence};
use dive_testdata::{Compression, Ledger};

use crate::common;

fn v2_dir() -> tempfile::TempDir {
    let built = dive_testdata::build(&dive_testdata::demo_image_v2()).unwrap();
    common::oci_dir(&built, Compression::Zstd)
}

fn both() -> (Analysis, Analysis) {
    let dir = v2_dir();
    (
        common::analyze_path(Path::new("../testdata/demo/ml-service.tar")),
        common::analyze_path(dir.path()),
    )
}

/// Visible regular files by path, from a ledger.
fn files(ledger: &Ledger) -> BTreeMap<String, u64> {
    ledger
        .final_paths
        .iter()
        .filter(|(_, e)| e.kind == '-')
        .map(|(p, e)| (format!("/{}", String::from_utf8_lossy(p)), e.size))
        .collect()
}

#[test]
fn layers_match_by_content_across_forms_and_totals_follow_the_ledgers() {
    let (old, new) = both();
    let d = diff::diff(&old, &new, usize::MAX);
    let a = dive_testdata::build(&dive_testdata::demo_image()).unwrap();
    let b = dive_testdata::build(&dive_testdata::demo_image_v2()).unwrap();
    // The generator's diff_ids say which layers are the same bytes.
    for (j, id) in b.diff_ids.iter().enumerate() {
        let change = d.layers.iter().find(|c| c.new_index == Some(j)).unwrap();
        let expected = a.diff_ids.iter().position(|x| x == id);
        assert_eq!(change.old_index, expected, "new L{j}");
        assert_eq!(
            change.status,
            if expected.is_some() {
                Presence::Shared
            } else {
                Presence::Added
            }
        );
    }
    let gone: Vec<usize> = d
        .layers
        .iter()
        .filter(|c| c.status == Presence::Removed)
        .filter_map(|c| c.old_index)
        .collect();
    let expected: Vec<usize> = (0..a.diff_ids.len())
        .filter(|&i| !b.diff_ids.contains(&a.diff_ids[i]))
        .collect();
    assert_eq!(gone, expected);
    assert_eq!(gone, [2, 5], "the fixture changes the pip and model layers");

    let (la, lb) = (
        dive_testdata::ledger(&dive_testdata::demo_image()),
        dive_testdata::ledger(&dive_testdata::demo_image_v2()),
    );
    let total = |name: &str| d.totals.iter().find(|t| t.name == name).unwrap().clone();
    let final_bytes = total("final_bytes");
    assert_eq!(
        (final_bytes.old, final_bytes.new),
        (la.final_bytes as f64, lb.final_bytes as f64)
    );
    let hidden = total("hidden_bytes");
    assert_eq!(
        (hidden.old, hidden.new),
        (la.hidden_bytes as f64, lb.hidden_bytes as f64)
    );
    let count = total("final_files");
    assert_eq!(
        (count.old, count.new),
        (la.final_files as f64, lb.final_files as f64)
    );
}

#[test]
fn path_changes_equal_a_plain_comparison_of_the_two_ledgers() {
    let (old, new) = both();
    let d = diff::diff(&old, &new, usize::MAX);
    assert_eq!(d.paths.len(), d.path_changes);
    let (a, b) = (
        files(&dive_testdata::ledger(&dive_testdata::demo_image())),
        files(&dive_testdata::ledger(&dive_testdata::demo_image_v2())),
    );
    let mut expected: BTreeMap<String, (PathStatus, i64)> = BTreeMap::new();
    for (path, &size) in &b {
        match a.get(path) {
            None => {
                expected.insert(path.clone(), (PathStatus::Added, size as i64));
            }
            Some(&old) if old != size => {
                let status = if size > old {
                    PathStatus::Grown
                } else {
                    PathStatus::Shrunk
                };
                expected.insert(path.clone(), (status, size as i64 - old as i64));
            }
            Some(_) => {}
        }
    }
    for (path, &size) in &a {
        if !b.contains_key(path) {
            expected.insert(path.clone(), (PathStatus::Removed, -(size as i64)));
        }
    }
    let found: BTreeMap<String, (PathStatus, i64)> = d
        .paths
        .iter()
        .filter(|p| p.status != PathStatus::Rewritten)
        .map(|p| (p.path.clone(), (p.status, p.delta)))
        .collect();
    assert_eq!(found, expected);

    let site = "/usr/local/lib/python3.11/dist-packages";
    let model = d
        .paths
        .iter()
        .find(|p| p.path == "/app/model.onnx")
        .unwrap();
    assert_eq!(
        (model.status, model.delta, model.layer),
        (PathStatus::Grown, 20_000_000 - 12_650_000, 5)
    );
    // Same size, but shipped again in the rebuilt pip layer.
    let triton = format!("{site}/triton/_C/libtriton.so");
    let rewritten = d.paths.iter().find(|p| p.path == triton).unwrap();
    assert_eq!(
        (rewritten.status, rewritten.delta),
        (PathStatus::Rewritten, 0)
    );
    // Files of shared layers are not changes.
    assert!(!d.paths.iter().any(|p| p.path.starts_with("/usr/lib/gcc")));
    // Sizes first, largest first.
    let deltas: Vec<u64> = d.paths.iter().map(|p| p.delta.unsigned_abs()).collect();
    assert!(deltas.windows(2).all(|w| w[0] >= w[1]));
    assert_eq!(
        d.paths[0].path,
        format!("{site}/nvidia/cudnn/lib/libcudnn.so.8")
    );
}

#[test]
fn packages_families_and_waste_say_what_the_change_did() {
    let (old, new) = both();
    let d = diff::diff(&old, &new, 20);
    let package = |name: &str| d.packages.iter().find(|p| p.name == name).unwrap().clone();
    let shipped = |analysis: &Analysis, name: &str| {
        analysis
            .attribution
            .packages
            .iter()
            .find(|p| p.name == name)
            .map_or(0, |p| p.bytes + p.hidden_bytes)
    };

    let cudnn = package("nvidia_cudnn_cu12");
    assert_eq!(cudnn.status, PackageStatus::Removed);
    assert_eq!(cudnn.old_version.as_deref(), Some("8.9.2.26"));
    assert_eq!(cudnn.delta, -(shipped(&old, "nvidia_cudnn_cu12") as i64));
    assert!(cudnn.old_bytes >= 40_201_144 + 99_112);
    assert_eq!(cudnn.layers, [2]);

    let torch = package("torch");
    assert_eq!(torch.status, PackageStatus::VersionChanged);
    assert_eq!(
        (torch.old_version.as_deref(), torch.new_version.as_deref()),
        (Some("2.3.0"), Some("2.4.0"))
    );
    // libtorch_cuda.so grew by 5,118,600 bytes; the rest is RECORD and METADATA text.
    assert_eq!(
        torch.delta,
        shipped(&new, "torch") as i64 - shipped(&old, "torch") as i64
    );
    assert!((torch.delta - 5_118_600).abs() < 100, "{}", torch.delta);

    let einops = package("einops");
    assert_eq!(einops.status, PackageStatus::Added);
    assert_eq!(einops.new_version.as_deref(), Some("0.8.0"));
    assert!(einops.new_bytes >= 35_000);
    assert_eq!(
        d.packages.len(),
        3,
        "nothing else changed: {:?}",
        d.packages
    );

    let nvidia = d.families.iter().find(|f| f.name == "nvidia").unwrap();
    assert_eq!(nvidia.delta, cudnn.delta);
    let headers = d.waste.iter().find(|w| w.name == "headers").unwrap();
    assert_eq!(headers.delta, -99_112, "cudnn.h was a header");
}

#[test]
fn text_markdown_and_json_carry_the_same_diff() {
    let (old, new) = both();
    let d = diff::diff(&old, &new, 5);
    let json: serde_json::Value =
        serde_json::from_str(&diff::render(&d, DiffFormat::Json, false)).unwrap();
    common::assert_valid(&json, "diff.v3.schema.json");
    let mut broken = json.clone();
    broken["diff"]["paths"][0]["path"] = "no-slash".into();
    assert!(!common::schema_errors(&broken, "diff.v3.schema.json").is_empty());
    assert_eq!(json["schema_version"], 3);
    assert_eq!(json["diff"]["paths"].as_array().unwrap().len(), 5);
    assert_eq!(json["diff"]["packages"][0]["status"], "removed");
    assert_eq!(json["diff"]["new"]["reference"], "demo/ml-service:1.1");

    let text = diff::render(&d, DiffFormat::Text, false);
    for needle in [
        "dive-rs diff: demo/ml-service:1.0 → demo/ml-service:1.1",
        "Layers: 4 shared, 2 new, 2 gone",
        "pip torch",
        "2.3.0 → 2.4.0",
        "Largest path changes (5 of",
    ] {
        assert!(text.contains(needle), "{needle:?} in\n{text}");
    }
    let markdown = diff::render(&d, DiffFormat::Markdown, false);
    assert!(markdown.starts_with("### dive-rs diff"), "{markdown}");
    // Totals, layers, families, packages, waste, paths: each a table a parser reads whole.
    let tables = common::markdown_tables(&markdown);
    assert_eq!(tables.len(), 6, "{markdown}");
    for table in &tables {
        assert!(
            table.iter().all(|row| row.len() == table[0].len()),
            "{table:?}"
        );
    }
    let packages: Vec<&str> = tables[3][1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        packages,
        ["pip nvidia_cudnn_cu12", "pip torch", "pip einops"],
        "{markdown}"
    );
    assert_eq!(tables[5].len(), 1 + 5, "header and the top 5 paths");
}

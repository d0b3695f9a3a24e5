//! The base image: the layers an image shares with it (by `diff_id`, from the bottom) are
//! marked, their bytes told apart from the image's own, and findings in them point at the
//! base; a manifest's base annotations are shown and survive a saved scan.

use dive_core::report::{self, ReportFormat, SummaryOptions};
use dive_core::{AnalyzerBuilder, BaseSource, Source};
use dive_testdata::Compression;

use crate::common;

use dive_testdata::demo_base_image as base_spec;

fn write(dir: &std::path::Path, name: &str, bytes: Vec<u8>) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn the_shared_layers_are_the_bases_and_their_bytes_and_findings_are_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    let base_tar = dir.path().join("base.tar");
    dive_testdata::save_docker_archive(&base_spec(), &base_tar).unwrap();
    let demo_spec = dive_testdata::demo_image();
    let demo = dive_testdata::build(&demo_spec).unwrap();
    let layout = common::oci_dir(&demo, Compression::Gzip);
    let analyzer = AnalyzerBuilder::new().build();
    let mut analysis = analyzer.analyze(Source::path(layout.path()), &()).unwrap();
    assert_eq!(analysis.image.base, None);
    assert_eq!(analysis.image.own_bytes, analysis.image.total_file_bytes);

    let layers = analyzer.base_layers(Source::path(&base_tar)).unwrap();
    assert_eq!(layers.name, "debian-with-gcc:12");
    assert_eq!(analysis.set_base(&layers), 2);
    let marked: Vec<bool> = analysis.layers.iter().map(|l| l.from_base).collect();
    assert_eq!(marked, [true, true, false, false, false, false]);
    // Against the generator's own ledger of each image.
    let base_ledger = dive_testdata::ledger(&base_spec());
    let demo_ledger = dive_testdata::ledger(&demo_spec);
    assert_eq!(analysis.image.base_bytes, base_ledger.total_file_bytes);
    assert_eq!(
        analysis.image.own_bytes,
        demo_ledger.total_file_bytes - base_ledger.total_file_bytes
    );
    let base = analysis.image.base.clone().unwrap();
    assert_eq!((base.layers, base.source), (Some(2), BaseSource::Given));

    let document = report::to_json(&analysis);
    common::assert_valid(&document, "analysis.v4.schema.json");
    assert_eq!(document["layers"][1]["from_base"], true);
    assert_eq!(document["layers"][2]["from_base"], false);
    assert_eq!(document["image"]["base"]["name"], "debian-with-gcc:12");

    let summary = report::summary(&analysis, SummaryOptions::default());
    assert!(
        summary.contains("Base       debian-with-gcc:12"),
        "{summary}"
    );
    assert!(summary.contains("layers 0–1"), "{summary}");
    assert!(summary.contains("[base] RUN apt-get update"), "{summary}");
    // apt's archives and the toolchain came with the base: its fix, not this Dockerfile's.
    let text = report::optimisation_report(&analysis, ReportFormat::Text, false);
    assert!(
        text.contains("Apt's downloaded .deb files are in the image (from the base image)"),
        "{text}"
    );
    assert!(
        text.contains("comes with the base image debian-with-gcc:12"),
        "{text}"
    );
    let findings = report::findings(&analysis);
    let deleted = findings
        .iter()
        .find(|f| f.title.contains("deleted"))
        .unwrap();
    assert!(!deleted.title.contains("base image"), "{}", deleted.title);

    // A saved scan remembers the base it was given: the same document read back.
    let scan = dir.path().join("with-base.dive");
    dive_core::scan::save(&analysis, &scan).unwrap();
    let loaded = common::analyze_path(&scan);
    let mut reread = report::to_json(&loaded);
    reread["input"] = document["input"].clone();
    assert_eq!(reread, document);

    // A rebuilt base shares nothing, and says so.
    let mut rebuilt_spec = base_spec();
    rebuilt_spec.layers[0].created_by.push_str(" (rebuilt)");
    rebuilt_spec.layers[0]
        .ops
        .push(dive_testdata::Op::text("etc/rebuilt", "yes\n"));
    let rebuilt_tar = dir.path().join("rebuilt.tar");
    dive_testdata::save_docker_archive(&rebuilt_spec, &rebuilt_tar).unwrap();
    let mut again = analyzer.analyze(Source::path(layout.path()), &()).unwrap();
    assert_eq!(
        again.set_base(&analyzer.base_layers(Source::path(&rebuilt_tar)).unwrap()),
        0
    );
    assert!(again.layers.iter().all(|l| !l.from_base));
    assert!(
        again
            .warnings
            .iter()
            .any(|w| w.message.contains("shares no layer"))
    );
}

#[test]
fn a_manifests_base_annotations_are_shown_and_kept_in_a_saved_scan() {
    let mut spec = dive_testdata::demo_image();
    let digest = format!("sha256:{}", "c0ffee".repeat(10) + "c0ff");
    spec.annotations = vec![
        (
            "org.opencontainers.image.base.name".into(),
            "docker.io/library/debian:12".into(),
        ),
        (
            "org.opencontainers.image.base.digest".into(),
            digest.clone(),
        ),
    ];
    let built = dive_testdata::build(&spec).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (name, path) in [
        ("oci dir", common::oci_dir(&built, Compression::Gzip).keep()),
        (
            "docker 25",
            write(
                dir.path(),
                "d25.tar",
                dive_testdata::docker25(&[&built], Compression::None, false).unwrap(),
            ),
        ),
    ] {
        let analysis = common::analyze_path(&path);
        let base = analysis
            .image
            .base
            .clone()
            .unwrap_or_else(|| panic!("{name}"));
        assert_eq!(
            base.name.as_deref(),
            Some("docker.io/library/debian:12"),
            "{name}"
        );
        assert_eq!(base.digest.as_deref(), Some(digest.as_str()), "{name}");
        assert_eq!(
            (base.layers, base.source),
            (None, BaseSource::Annotation),
            "{name}"
        );
        let summary = report::summary(&analysis, SummaryOptions::default());
        // Shown, and how to have it read (nothing an image names is contacted unasked).
        assert!(
            summary.contains("named by the manifest; not read (--base auto reads it"),
            "{name}: {summary}"
        );
        common::assert_valid(&report::to_json(&analysis), "analysis.v4.schema.json");
        let scan = dir.path().join("scan.dive");
        dive_core::scan::save(&analysis, &scan).unwrap();
        let loaded = common::analyze_path(&scan);
        assert_eq!(
            report::to_json(&loaded),
            report::to_json(&analysis),
            "{name}"
        );
        if path.is_dir() {
            std::fs::remove_dir_all(&path).unwrap();
        }
    }
}

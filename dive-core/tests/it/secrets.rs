//! Secrets in files, visible and hidden, and in the config and history: every form of one
//! image reports what its generator lists (`dive_testdata::secrets::expected`), each value
//! redacted, in the JSON that the schema checks.

use dive_core::Analysis;
use dive_testdata::secrets::{Expected, VALUES, expected, secrets_image};

use crate::common::{self, all_forms, analyses_of};

fn found(analysis: &Analysis) -> Vec<Expected> {
    let mut found: Vec<Expected> = analysis
        .secrets
        .iter()
        .filter(|s| s.source.name() != "annotation")
        .map(|s| {
            let place = s.path.as_deref().or(s.name.as_deref()).unwrap_or("");
            (
                s.source.name(),
                s.layer,
                &*place.to_owned().leak(),
                s.rule,
                s.hidden_by_layer,
                s.example,
            )
        })
        .collect();
    found.sort();
    found
}

#[test]
fn every_form_reports_the_generators_secrets_visible_and_hidden() {
    let built = dive_testdata::build(&secrets_image()).unwrap();
    let mut seen = 0;
    for form in all_forms(&built) {
        for (name, analysis) in analyses_of(&form) {
            assert_eq!(found(&analysis), expected(), "{name}");
            for secret in &analysis.secrets {
                assert!(secret.redacted.contains("[REDACTED"), "{name}: {secret:?}");
                assert_eq!(secret.visible, secret.hidden_by_layer.is_none(), "{name}");
            }
            let json = serde_json::to_string(&dive_core::report::to_json(&analysis)).unwrap();
            for value in VALUES {
                assert!(!json.contains(value), "{name}: the JSON holds {value}");
            }
            seen += 1;
        }
    }
    assert!(seen >= 12, "{seen} analyses");
}

#[test]
fn the_json_lists_secrets_as_its_schema_says() {
    let built = dive_testdata::build(&secrets_image()).unwrap();
    let bytes =
        dive_testdata::docker25(&[&built], dive_testdata::Compression::Gzip, false).unwrap();
    let analysis = common::analyze_stream(bytes);
    let json = dive_core::report::to_json(&analysis);
    common::assert_valid(&json, "analysis.v4.schema.json");
    let key = json["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["path"] == "root/.ssh/id_ed25519")
        .unwrap();
    assert_eq!(key["source"], "file");
    assert_eq!(key["layer"], 1);
    assert_eq!(key["hidden_by_layer"], 2);
    assert_eq!(key["visible"], false);
    assert_eq!(key["confidence"], "high");
    assert_eq!(key["line"], 1);
}

#[test]
fn a_saved_scan_and_the_layer_cache_keep_the_secrets() {
    let built = dive_testdata::build(&secrets_image()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("image.tar");
    std::fs::write(
        &image,
        dive_testdata::docker25(&[&built], dive_testdata::Compression::Zstd, false).unwrap(),
    )
    .unwrap();
    let analysis = common::analyze_path(&image);
    let scan = dir.path().join("scan.dive");
    dive_core::scan::save(&analysis, &scan).unwrap();
    let saved = std::fs::read(&scan).unwrap();
    for value in VALUES {
        assert!(
            !saved.windows(value.len()).any(|w| w == value.as_bytes()),
            "{value}"
        );
    }
    let loaded = common::analyze_path(&scan);
    assert_eq!(found(&loaded), expected(), "the saved scan");

    let cache = dir.path().join("cache");
    for round in ["stored", "loaded"] {
        let analysis = dive_core::AnalyzerBuilder::new()
            .cache(&cache)
            .build()
            .analyze(dive_core::Source::path(&image), &())
            .unwrap();
        assert_eq!(found(&analysis), expected(), "cache {round}");
    }
}

//! The JSON document is a public interface: it validates against the committed schema.

use serde_json::Value;

use crate::common;

const SCHEMA: &str = "analysis.v4.schema.json";

fn validate(document: &Value) {
    common::assert_valid(document, SCHEMA);
}

#[test]
fn the_rich_fixtures_json_validates_and_keeps_exact_bytes_of_non_utf8_paths() {
    let built = dive_testdata::build(&dive_testdata::rich_image()).unwrap();
    let bytes =
        dive_testdata::docker25(&[&built], dive_testdata::Compression::Gzip, false).unwrap();
    let analysis = common::analyze_stream(bytes);
    let document = dive_core::report::to_json(&analysis);
    validate(&document);
    assert_eq!(document["schema_version"], 4);
    let image = &document["image"];
    assert_eq!(
        image["total_file_bytes"].as_u64().unwrap(),
        image["final_bytes"].as_u64().unwrap() + image["hidden_bytes"].as_u64().unwrap()
    );
    let files = document["largest_files"].as_array().unwrap();
    let cafe = files
        .iter()
        .find(|f| f["path"].as_str().unwrap().starts_with("/usr/share/caf"))
        .unwrap();
    assert_eq!(cafe["path"], "/usr/share/caf\u{fffd}.txt");
    assert_eq!(cafe["path_hex"], "2f7573722f73686172652f636166e92e747874");
    assert!(
        files
            .iter()
            .all(|f| f.get("path_hex").is_none() || f == cafe)
    );
    let reasons: Vec<&str> = document["hidden"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["reason"].as_str().unwrap())
        .collect();
    for reason in [
        "overwritten",
        "metadata_only",
        "deleted",
        "deleted_with_directory",
        "opaque_directory",
        "directory_replaced",
    ] {
        assert!(
            reasons.contains(&reason),
            "{reason} missing from {reasons:?}"
        );
    }
}

#[test]
fn the_schema_rejects_a_document_that_breaks_it() {
    let built = dive_testdata::build(&dive_testdata::rich_image()).unwrap();
    let analysis = common::analyze_stream(dive_testdata::docker_legacy(&[&built], false).unwrap());
    let mut document = dive_core::report::to_json(&analysis);
    document["image"]["final_bytes"] = Value::from(-1);
    assert!(
        !common::schema_errors(&document, SCHEMA).is_empty(),
        "a negative size must not validate"
    );
}

#[test]
fn packages_families_and_unowned_add_up_in_the_document() {
    let built = dive_testdata::build(&dive_testdata::owned_image()).unwrap();
    let analysis = common::analyze_stream(
        dive_testdata::docker25(&[&built], dive_testdata::Compression::Gzip, false).unwrap(),
    );
    let document = dive_core::report::to_json(&analysis);
    validate(&document);
    let sum = |key: &str, field: &str| {
        document[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x[field].as_u64().unwrap())
            .sum::<u64>()
    };
    let image = &document["image"];
    assert_eq!(
        sum("packages", "bytes") + sum("unowned", "bytes"),
        image["final_bytes"].as_u64().unwrap()
    );
    assert_eq!(
        sum("packages", "hidden_bytes") + sum("unowned", "hidden_bytes"),
        image["hidden_bytes"].as_u64().unwrap()
    );
    let torch = document["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "torch")
        .unwrap();
    assert_eq!(
        (
            torch["ecosystem"].as_str(),
            torch["family"].as_str(),
            torch["version"].as_str()
        ),
        (Some("pip"), Some("torch"), Some("2.3.0"))
    );
}

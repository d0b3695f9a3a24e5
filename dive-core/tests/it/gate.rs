//! The CI gate on the demo image: each rule measured against facts the generator computed.

use std::path::Path;

use dive_core::report::gate::{self, DiveOverrides, GateFormat, Measured, Rules, Status};
use dive_core::{Analysis, Error};
use dive_testdata::Ledger;
use dive_testdata::tools::Tool;
use globset::GlobBuilder;

use crate::common;

const DEMO: &str = "../testdata/demo/ml-service.tar";

fn demo() -> (Analysis, Ledger) {
    let analysis = common::analyze_path(Path::new(DEMO));
    (
        analysis,
        dive_testdata::ledger(&dive_testdata::demo_image()),
    )
}

/// The one result of a file holding a single rule of ours (after dive's three, before the
/// secrets rule that is on by default).
fn own(analysis: &Analysis, yaml: &str) -> gate::RuleResult {
    let rules = Rules::from_yaml("test.yml", yaml).unwrap_or_else(|e| panic!("{yaml}: {e}"));
    let gate = gate::evaluate(analysis, &rules);
    assert_eq!(gate.results.len(), 5, "{yaml}");
    assert_eq!(gate.results[4].rule, "secrets", "{yaml}");
    gate.results[3].clone()
}

fn bytes(result: &gate::RuleResult) -> u64 {
    match result.measured {
        Measured::Bytes(b) | Measured::Count(b) => b,
        ref other => panic!("{other:?}"),
    }
}

/// `rule: <= v` passes, `rule: < v` fails (when v > 0), `rule: == v` passes, and the
/// measured value is `expected`.
fn check_limit(analysis: &Analysis, rule: &str, expected: u64) {
    let at = |op: &str| {
        own(
            analysis,
            &format!("dive-rs:\n  {rule}: \"{op} {expected}\"\n"),
        )
    };
    let result = at("<=");
    assert_eq!(bytes(&result), expected, "{rule}: {}", result.detail);
    assert_eq!(result.status, Status::Pass, "{rule}");
    assert_eq!(at("==").status, Status::Pass, "{rule}");
    if expected > 0 {
        assert_eq!(at("<").status, Status::Fail, "{rule}");
    }
}

/// Bytes the ledger says are shipped (visible or hidden) under paths matching `pattern`.
fn ledger_path_bytes(ledger: &Ledger, pattern: &str) -> u64 {
    let glob = GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .unwrap()
        .compile_matcher();
    let matches = |p: &[u8]| glob.is_match(String::from_utf8_lossy(p).as_ref());
    let visible: u64 = ledger
        .final_paths
        .iter()
        .filter(|(p, e)| e.kind == '-' && matches(p))
        .map(|(_, e)| e.size)
        .sum();
    let hidden: u64 = ledger
        .hidden
        .iter()
        .filter(|h| matches(&h.path))
        .map(|h| h.bytes)
        .sum();
    visible + hidden
}

/// Σ sizes of the layer blobs that the archive's `manifest.json` names, read with the tar crate.
fn stored_layer_bytes(archive: &Path) -> u64 {
    let mut sizes = std::collections::HashMap::new();
    let mut manifest = Vec::new();
    let mut tar = tar::Archive::new(std::fs::File::open(archive).unwrap());
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        if path == "manifest.json" {
            std::io::Read::read_to_end(&mut entry, &mut manifest).unwrap();
        }
        sizes.insert(path, entry.size());
    }
    let manifest: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
    manifest[0]["Layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| sizes[l.as_str().unwrap()])
        .sum()
}

#[test]
fn dives_documented_example_is_read_as_it_is_and_measures_our_figures() {
    let (analysis, ledger) = demo();
    // dive's README example, comments and all.
    let example = "\
rules:
  # If the efficiency is measured below X%, mark as failed.
  # Expressed as a ratio between 0-1.
  lowestEfficiency: 0.95

  # If the amount of wasted space is at least X or larger than X, mark as failed.
  # Expressed in B, KB, MB, and GB.
  highestWastedBytes: 20MB

  # If the amount of wasted space makes up for X% or more of the image, mark as failed.
  # Note: the base image layer is NOT included in the total image size.
  # Expressed as a ratio between 0-1; fails if the threshold is met or crossed.
  highestUserWastedPercent: 0.20
";
    let gate = gate::evaluate(&analysis, &Rules::from_yaml(".dive-ci", example).unwrap());
    let efficiency = ledger.final_bytes as f64 / ledger.total_file_bytes as f64;
    let user =
        ledger.hidden_bytes as f64 / (ledger.total_file_bytes - ledger.layer_file_bytes[0]) as f64;
    let names: Vec<&str> = gate.results.iter().map(|r| r.rule.as_str()).collect();
    assert_eq!(
        names,
        [
            "lowestEfficiency",
            "highestWastedBytes",
            "highestUserWastedPercent",
            "secrets"
        ]
    );
    assert_eq!(gate.results[0].measured, Measured::Ratio(efficiency));
    assert_eq!(
        gate.results[1].measured,
        Measured::Bytes(ledger.hidden_bytes)
    );
    assert_eq!(gate.results[2].measured, Measured::Ratio(user));
    let expect = |ok: bool| if ok { Status::Pass } else { Status::Fail };
    assert_eq!(gate.results[0].status, expect(efficiency >= 0.95));
    assert_eq!(
        gate.results[1].status,
        expect(ledger.hidden_bytes <= 20_000_000)
    );
    assert_eq!(gate.results[2].status, expect(user <= 0.20));
    assert!(!gate.passed());
    // dive's own figures are shown beside ours.
    assert!(
        gate.results[0]
            .detail
            .contains(&format!("{:.4}", analysis.image.dive.efficiency)),
        "{}",
        gate.results[0].detail
    );

    // dive's defaults: efficiency 0.9, user wasted 0.1, wasted bytes disabled.
    let defaults = gate::evaluate(&analysis, &Rules::dive_defaults());
    assert_eq!(defaults.results[0].limit, ">= 0.9");
    assert_eq!(defaults.results[1].status, Status::Skip);
    assert_eq!(defaults.results[2].limit, "<= 0.1");

    // Every spelling dive accepts for "off", and the command line over the file.
    for off in ["disabled", "off", "false", "DISABLED", "\"\""] {
        let rules = Rules::from_yaml(
            "t",
            &format!(
                "rules:\n  lowestEfficiency: {off}\n  highestUserWastedPercent: {off}\n\
                 dive-rs:\n  secrets: {off}\n"
            ),
        )
        .unwrap_or_else(|e| panic!("{off}: {e}"));
        let gate = gate::evaluate(&analysis, &rules);
        assert_eq!(gate.count(Status::Skip), 3, "{off}");
        assert!(gate.passed());
    }
    let overrides = DiveOverrides {
        lowest_efficiency: Some("0.5".to_owned()),
        ..DiveOverrides::default()
    };
    let rules = Rules::parse("t", example, &overrides).unwrap();
    assert_eq!(
        gate::evaluate(&analysis, &rules).results[0].status,
        Status::Pass
    );
}

#[test]
fn each_rule_of_ours_measures_what_the_generator_built() {
    let (analysis, ledger) = demo();
    let spec = dive_testdata::demo_image();
    let built = dive_testdata::build(&spec).unwrap();
    check_limit(&analysis, "final-size", ledger.final_bytes);
    check_limit(&analysis, "hidden", ledger.hidden_bytes);
    check_limit(&analysis, "layers", spec.layers.len() as u64);
    let largest = built.layers.iter().map(|l| l.len() as u64).max().unwrap();
    check_limit(&analysis, "largest-layer", largest);
    check_limit(
        &analysis,
        "compressed-size",
        stored_layer_bytes(Path::new(DEMO)),
    );

    for pattern in ["/root/.cache/**", "/app/**", "/usr/local/lib/**/*.so*"] {
        let expected = ledger_path_bytes(&ledger, pattern.trim_start_matches('/'));
        assert!(expected > 0, "{pattern} matches something");
        check_limit(&analysis, &format!("paths:\n    \"{pattern}\""), expected);
    }
    let nothing = own(&analysis, "dive-rs:\n  paths: { \"/nowhere/**\": == 0 }\n");
    assert_eq!((bytes(&nothing), nothing.status), (0, Status::Pass));

    // pip's cache was written in one layer and deleted in the next: hidden, still shipped.
    let cache = ledger_path_bytes(&ledger, "root/.cache/pip/**");
    assert!(cache > 0);
    check_limit(&analysis, "waste:\n    pip-cache", cache);
}

#[test]
fn package_and_family_rules_count_shipped_bytes_and_forbidden_globs_name_packages() {
    let (analysis, _) = demo();
    let packages = &analysis.attribution.packages;
    let shipped = |f: &dyn Fn(&dive_core::attribution::Package) -> bool| -> u64 {
        packages
            .iter()
            .filter(|p| f(p))
            .map(|p| p.bytes + p.hidden_bytes)
            .sum()
    };
    let nvidia = shipped(&|p| p.family.as_deref() == Some("nvidia"));
    assert!(nvidia > 0);
    check_limit(&analysis, "packages:\n    nvidia", nvidia);
    check_limit(&analysis, "packages:\n    family:nvidia", nvidia);
    let gcc = shipped(&|p| p.ecosystem.name() == "dpkg" && p.name.starts_with("gcc"));
    assert!(gcc > 0);
    check_limit(&analysis, "packages:\n    \"dpkg:gcc*\"", gcc);
    let none = own(&analysis, "dive-rs:\n  packages: { tensorflow: == 0 }\n");
    assert_eq!(none.status, Status::Pass);
    assert!(
        none.detail.contains("no package or family matches"),
        "{}",
        none.detail
    );

    let forbidden = own(
        &analysis,
        "dive-rs:\n  forbidden-packages: [gcc*, \"*-dev\"]\n",
    );
    let expected: Vec<String> = packages
        .iter()
        .filter(|p| p.name.starts_with("gcc") || p.name.ends_with("-dev"))
        .map(|p| p.name.clone())
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(forbidden.measured, Measured::Names(expected));
    assert_eq!(forbidden.status, Status::Fail);
    let allowed = own(&analysis, "dive-rs:\n  forbidden-packages: [\"apk:*\"]\n");
    assert_eq!(allowed.status, Status::Pass);
}

#[test]
fn unknown_rules_and_bad_values_are_errors_that_name_the_file() {
    for (yaml, needle) in [
        ("rules:\n  lowestEfficency: 0.9\n", "lowestEfficency"),
        ("rule:\n  lowestEfficiency: 0.9\n", "rule"),
        ("dive-rs:\n  final-sise: 1GB\n", "final-sise"),
        (
            "dive-rs:\n  waste: { pip-cash: 0 }\n",
            "unknown waste class",
        ),
        ("dive-rs:\n  final-size: lots\n", "not a size"),
        ("dive-rs:\n  final-size: \">= 1GB\"\n", "maxima"),
        ("dive-rs:\n  layers: 1.5\n", "not a count"),
        ("dive-rs:\n  packages: { \"yum:x\": 0 }\n", "unknown prefix"),
        ("dive-rs:\n  packages: { a: 0, a: 1 }\n", "duplicate"),
        ("rules:\n  lowestEfficiency: 1.5\n", "between 0 and 1"),
        ("rules:\n  highestWastedBytes: much\n", "size"),
        // An unclosed flow sequence: the parser names where it stands.
        ("rules: [\n", "line 1 column 8"),
    ] {
        match Rules::from_yaml("ci/rules.yml", yaml) {
            Err(Error::Config { location, message }) => {
                assert_eq!(location.input, "ci/rules.yml");
                assert!(message.contains(needle), "{yaml:?}: {message}");
            }
            other => panic!("{yaml:?}: {other:?}"),
        }
    }
    // Comments only, or nothing: dive's defaults.
    let rules = Rules::from_yaml("empty", "# nothing here\n").unwrap();
    assert_eq!(rules.len(), 4, "dive's three and secrets");
    let rules = Rules::from_yaml("off", "dive-rs:\n  secrets: disabled\n").unwrap();
    assert_eq!(rules.len(), 3);
}

#[test]
fn json_markdown_and_junit_carry_every_rule() {
    let (analysis, _) = demo();
    let yaml = "rules:\n  highestWastedBytes: disabled\ndive-rs:\n  layers: 20\n  hidden: == 0\n  paths: { \"/app/**\": 1GB }\n";
    let gate = gate::evaluate(&analysis, &Rules::from_yaml("r.yml", yaml).unwrap());
    let (total, failed, skipped) = (
        gate.results.len(),
        gate.count(Status::Fail),
        gate.count(Status::Skip),
    );
    assert_eq!((total, skipped), (7, 1));
    assert!(failed >= 1);

    let json: serde_json::Value =
        serde_json::from_str(&gate::render(&gate, GateFormat::Json, false)).unwrap();
    common::assert_valid(&json, "gate.v1.schema.json");
    let mut broken = json.clone();
    broken["rules"][0]["status"] = "MAYBE".into();
    assert!(!common::schema_errors(&broken, "gate.v1.schema.json").is_empty());
    assert_eq!(json["schema_version"], 1);
    assert_eq!(json["result"], "FAIL");
    assert_eq!(json["rules"].as_array().unwrap().len(), total);
    assert_eq!(json["rules"][4]["rule"], "hidden");
    assert_eq!(json["rules"][4]["status"], "FAIL");
    assert_eq!(json["rules"][4]["measured"], analysis.image.hidden_bytes);
    assert_eq!(json["failed"], failed);

    let markdown = gate::render(&gate, GateFormat::Markdown, false);
    let rows: Vec<&str> = markdown.lines().filter(|l| l.starts_with("| ")).collect();
    assert_eq!(rows.len(), total + 1, "{markdown}");
    assert!(
        rows.iter().all(|r| r.matches(" | ").count() == 4),
        "{markdown}"
    );
    assert!(markdown.contains("❌ FAIL | `hidden`"), "{markdown}");

    let text = gate::render(&gate, GateFormat::Text, false);
    assert!(
        text.contains(&format!(
            "Result:FAIL [Total:{total}] [Passed:{}] [Failed:{failed}] [Warn:0] [Skipped:{skipped}]",
            total - failed - skipped
        )),
        "{text}"
    );

    // JUnit, read back by an independent parser (Debian's python3-junitparser).
    let junitparser = Tool::PythonModule {
        python: "/usr/bin/python3",
        module: "junitparser",
    };
    if !dive_testdata::tools::available(&[junitparser]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gate.xml");
    std::fs::write(&file, gate::render(&gate, GateFormat::Junit, false)).unwrap();
    let script = r#"
import sys
from junitparser import JUnitXml, Failure, Skipped
xml = JUnitXml.fromfile(sys.argv[1])
for suite in xml:
    print(suite.tests, suite.failures, suite.skipped, suite.errors)
    for case in suite:
        kinds = [type(r).__name__ for r in case.result]
        print(case.classname, case.name, ",".join(kinds) or "pass")
"#;
    let output = std::process::Command::new("/usr/bin/python3")
        .args(["-c", script])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let parsed = String::from_utf8(output.stdout).unwrap();
    let mut lines = parsed.lines();
    assert_eq!(
        lines.next(),
        Some(format!("{total} {failed} {skipped} 0").as_str())
    );
    let cases: Vec<&str> = lines.collect();
    assert_eq!(cases.len(), total);
    assert!(
        cases.contains(&"dive-rs.ci.dive-rs hidden Failure"),
        "{parsed}"
    );
    assert!(
        cases.contains(&"dive-rs.ci.dive highestWastedBytes Skipped"),
        "{parsed}"
    );
    assert!(
        cases.contains(&"dive-rs.ci.dive-rs layers pass"),
        "{parsed}"
    );
}

#[test]
fn markdown_cells_read_back_as_the_text_they_hold() {
    let (analysis, _) = demo();
    let yaml = "dive-rs:\n  forbidden-packages: [\"apk:*\", \"*zzz*\", \"*_x|y\"]\n  paths: { \"/root/.cache/**\": 0, \"/app/`a`|[b]/*\": 0 }\n";
    let gate = gate::evaluate(&analysis, &Rules::from_yaml("r.yml", yaml).unwrap());
    let tables = common::markdown_tables(&gate::render(&gate, GateFormat::Markdown, false));
    let rows = &tables[0][1..];
    assert_eq!(rows.len(), gate.results.len());
    for (row, result) in rows.iter().zip(&gate.results) {
        assert_eq!(row[1], result.rule);
        assert_eq!(row[3], result.limit);
        assert_eq!(row[4], result.detail);
    }
}

#[test]
fn warnings_of_the_analysis_travel_with_the_gate_in_every_format() {
    let built = dive_testdata::build(&dive_testdata::rich_image()).unwrap();
    let analysis = common::analyze_stream(dive_testdata::docker_legacy(&[&built], false).unwrap());
    assert!(!analysis.warnings.is_empty(), "the rich fixture has one");
    let gate = gate::evaluate(&analysis, &Rules::dive_defaults());
    let expected: Vec<String> = analysis.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(gate.warnings, expected);
    let text = gate::render(&gate, GateFormat::Text, false);
    assert!(
        text.contains(&format!("warning: {}", expected[0])),
        "{text}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&gate::render(&gate, GateFormat::Json, false)).unwrap();
    common::assert_valid(&json, "gate.v1.schema.json");
    assert_eq!(json["warnings"][0], expected[0].as_str());
    let markdown = gate::render(&gate, GateFormat::Markdown, false);
    assert!(markdown.contains("**Warnings**"), "{markdown}");
    let junit = gate::render(&gate, GateFormat::Junit, false);
    assert!(junit.contains("<system-err>"), "{junit}");
}

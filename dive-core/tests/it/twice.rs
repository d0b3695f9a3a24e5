//! The same bytes twice (`dive_testdata::twice_image`): packages told apart by where they
//! live, duplicate contents, reinstalled packages. Expected figures come from the
//! generator's own spec (sizes and seeds), never from the analysis.

use dive_core::attribution::{DuplicateCause, Ecosystem, Evidence, Package, WasteClass};
use dive_core::{Analysis, Source};

use crate::common;

const VENV: &str = "/opt/venv/lib/python3.11/site-packages";
const LOCAL: &str = "/root/.local/lib/python3.11/site-packages";

fn twice() -> Analysis {
    let built = dive_testdata::build(&dive_testdata::twice_image()).unwrap();
    let dir = common::oci_dir(&built, dive_testdata::Compression::Gzip);
    dive_core::analyze(Source::path(dir.path())).unwrap()
}

fn packages<'a>(analysis: &'a Analysis, name: &str) -> Vec<&'a Package> {
    analysis
        .attribution
        .packages
        .iter()
        .filter(|p| p.name == name)
        .collect()
}

fn text_len(text: &str) -> u64 {
    text.len() as u64
}

#[test]
fn one_dist_in_two_environments_is_two_packages_each_with_its_bytes() {
    let analysis = twice();
    let idna = packages(&analysis, "idna");
    let mut locations: Vec<&str> = idna.iter().map(|p| p.location.as_str()).collect();
    locations.sort_unstable();
    assert_eq!(locations, [VENV, LOCAL]);
    // Each owns its own two files, METADATA and RECORD: never both sets.
    let metadata = text_len("Metadata-Version: 2.1\nName: idna\nVersion: 3.20\n");
    for package in idna {
        assert_eq!(package.files, 4, "{}", package.location);
        assert!(package.bytes > 58_000 + metadata && package.bytes < 60_000 + metadata);
        assert_eq!(package.version.as_deref(), Some("3.20"));
    }
    // torch: one package (one location), at its final version.
    let torch = packages(&analysis, "torch");
    assert_eq!(torch.len(), 1);
    assert_eq!(torch[0].location, VENV);
    assert_eq!(torch[0].version.as_deref(), Some("2.10.0"));
    assert_eq!(packages(&analysis, "triton")[0].ecosystem, Ecosystem::Pip);
}

#[test]
fn every_ecosystem_says_where_its_packages_live() {
    let built = dive_testdata::build(&dive_testdata::owned_image()).unwrap();
    let dir = common::oci_dir(&built, dive_testdata::Compression::Zstd);
    let analysis = common::analyze_path(dir.path());
    let location = |ecosystem: Ecosystem, name: &str| {
        analysis
            .attribution
            .packages
            .iter()
            .find(|p| p.ecosystem == ecosystem && p.name == name)
            .map_or_else(|| panic!("no {name}"), |p| p.location.clone())
    };
    assert_eq!(location(Ecosystem::Dpkg, "libc6"), "/var/lib/dpkg/status");
    assert_eq!(
        location(Ecosystem::Dpkg, "tzdata"),
        "/var/lib/dpkg/status.d"
    );
    assert_eq!(location(Ecosystem::Apk, "musl"), "/lib/apk/db/installed");
    assert_eq!(location(Ecosystem::Conda, "zlib"), "/opt/conda");
    assert_eq!(location(Ecosystem::Npm, "express"), "/app/node_modules");
    assert_eq!(
        location(Ecosystem::Npm, "debug"),
        "/app/node_modules/express/node_modules"
    );
    assert_eq!(
        location(Ecosystem::Pip, "six"),
        "/usr/lib/python3/dist-packages"
    );
}

/// `diff` matches packages by ecosystem, name and location: a dist whose only copy left
/// `~/.local` for another venv is said as moved; the venv's copy, unchanged, is not listed.
#[test]
fn a_package_that_changed_environment_is_moved_in_the_diff() {
    use dive_core::report::diff::{self, DiffFormat, PackageStatus};
    use dive_testdata::Op;
    let old_spec = dive_testdata::twice_image();
    let mut new_spec = old_spec.clone();
    let moved = |path: &mut Vec<u8>| {
        let from = b"root/.local/";
        if path.starts_with(from) {
            *path = [b"srv/tools/".as_slice(), &path[from.len()..]].concat();
        }
    };
    for op in &mut new_spec.layers[0].ops {
        match op {
            Op::File { path, .. } | Op::Text { path, .. } => moved(path),
            _ => {}
        }
    }
    let analyse = |spec| {
        let built = dive_testdata::build(spec).unwrap();
        let dir = common::oci_dir(&built, dive_testdata::Compression::None);
        dive_core::analyze(Source::path(dir.path())).unwrap()
    };
    let (old, new) = (analyse(&old_spec), analyse(&new_spec));
    let d = diff::diff(&old, &new, 10);
    let idna: Vec<_> = d.packages.iter().filter(|p| p.name == "idna").collect();
    assert_eq!(idna.len(), 1, "{:#?}", d.packages);
    assert_eq!(idna[0].status, PackageStatus::Moved);
    assert_eq!(idna[0].old_location.as_deref(), Some(LOCAL));
    assert_eq!(
        idna[0].new_location.as_deref(),
        Some("/srv/tools/lib/python3.11/site-packages")
    );
    assert_eq!(idna[0].delta, 0);
    let text = diff::render(&d, DiffFormat::Text, false);
    assert!(
        text.contains("moved /root/.local/lib/python3.11/site-packages → /srv/tools/"),
        "{text}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&diff::render(&d, DiffFormat::Json, false)).unwrap();
    common::assert_valid(&json, "diff.v3.schema.json");
}

/// (size, copies, cause, paths) of every duplicate group the twice image holds, from how
/// the generator made it: equal size and seed are equal bytes.
fn expected_groups() -> Vec<(u64, usize, DuplicateCause, Vec<String>)> {
    let venv = |p: &str| format!("{VENV}/{p}");
    let local = |p: &str| format!("{LOCAL}/{p}");
    vec![
        (
            200_000,
            2,
            DuplicateCause::Vendored,
            vec![
                venv("nvidia/cuda_runtime/lib/libcudart.so.12"),
                venv("triton/backends/nvidia/lib/libcudart.so.12"),
            ],
        ),
        (
            60_000,
            2,
            DuplicateCause::WithinPackage,
            vec![
                venv("torch/lib/libgomp-copy.so.1"),
                venv("torch/lib/libgomp.so.1"),
            ],
        ),
        (
            50_000,
            2,
            DuplicateCause::TwoEnvironments,
            vec![venv("idna/idnadata.py"), local("idna/idnadata.py")],
        ),
        (
            30_000,
            2,
            DuplicateCause::Other,
            vec!["/app/model-link.bin".into(), "/app/model.bin".into()],
        ),
        (
            9_000,
            2,
            DuplicateCause::Other,
            vec!["/etc/big.conf".into(), "/srv/big.conf".into()],
        ),
        (
            8_000,
            2,
            DuplicateCause::TwoEnvironments,
            vec![venv("idna/core.py"), local("idna/core.py")],
        ),
    ]
}

/// Duplicate groups in every form: byte-compared where the layers are plain, by the
/// streamed XXH3-128 hash where they are compressed or on stdin; the look-alikes (same
/// size, same first 4 KiB, a hard link, copies under 4 KiB) are not duplicates.
#[test]
fn duplicate_groups_are_found_in_every_form_with_their_evidence() {
    let built = dive_testdata::build(&dive_testdata::twice_image()).unwrap();
    let expected = expected_groups();
    let total: u64 = expected.iter().map(|g| g.0 * (g.1 as u64 - 1)).sum();
    let mut checked = 0;
    for form in common::all_forms(&built) {
        for (name, analysis) in common::analyses_of(&form) {
            let groups = &analysis.attribution.duplicates;
            let got: Vec<(u64, usize, DuplicateCause, Vec<String>)> = groups
                .iter()
                .map(|g| (g.size, g.count, g.cause, g.paths.clone()))
                .collect();
            assert_eq!(got, expected, "{name}");
            // A stream hashes as it goes, a file or directory in place: BLAKE3 either way.
            assert!(
                groups.iter().all(|g| g.evidence == Evidence::Blake3),
                "{name}: {:?}",
                groups.iter().map(|g| g.evidence).collect::<Vec<_>>()
            );
            let class = analysis
                .attribution
                .waste
                .iter()
                .find(|w| w.class == WasteClass::Duplicate)
                .unwrap();
            assert_eq!(class.bytes, total, "{name}");
            assert_eq!(class.files, expected.len() as u64, "{name}");
            let json = dive_core::report::to_json(&analysis);
            common::assert_valid(&json, "analysis.v4.schema.json");
            assert_eq!(json["duplicates"][0]["reclaimable_bytes"], 200_000);
            checked += 1;
        }
    }
    assert!(checked >= 10, "{checked}");
}

/// The findings say each cause with its fix; `--min-duplicate-size 1` counts small copies.
#[test]
fn duplicates_are_reported_by_cause_and_small_copies_on_request() {
    let analysis = twice();
    let findings = dive_core::report::findings(&analysis);
    let titles: Vec<&str> = findings.iter().map(|f| f.title.as_str()).collect();
    for title in [
        "several packages ship identical files (vendored copies)",
        "the same packages are installed in more than one environment",
        "packages ship identical copies of their own files",
        "identical files are shipped at several paths",
    ] {
        assert!(titles.contains(&title), "{titles:?}");
    }
    let vendored = findings
        .iter()
        .find(|f| f.title.contains("vendored") || f.title.contains("several packages"))
        .unwrap();
    assert_eq!(vendored.saving, 200_000);
    assert!(
        vendored
            .evidence
            .iter()
            .any(|e| e.contains("libcudart.so.12")
                && e.contains("nvidia_cuda_runtime_cu12")
                && e.contains("triton")),
        "{:?}",
        vendored.evidence
    );
    let two = findings
        .iter()
        .find(|f| f.title.contains("environment"))
        .unwrap();
    assert_eq!(two.saving, 58_000);
    assert!(
        two.evidence.iter().any(|e| e.contains(LOCAL)),
        "{:?}",
        two.evidence
    );

    let built = dive_testdata::build(&dive_testdata::twice_image()).unwrap();
    let dir = common::oci_dir(&built, dive_testdata::Compression::None);
    let all = dive_core::AnalyzerBuilder::new()
        .min_duplicate_size(1)
        .build()
        .analyze(Source::path(dir.path()), &())
        .unwrap();
    assert!(
        all.attribution
            .duplicates
            .iter()
            .any(|g| g.size == 100 && g.paths == ["/app/small1.txt", "/app/small2.txt"])
    );
    assert!(all.attribution.duplicates.len() > expected_groups().len());
}

/// A saved scan keeps the hashes the comparison took, so `dive-rs app.dive` finds the same
/// groups (the bytes are not in the scan).
#[test]
fn a_saved_scan_finds_the_same_duplicates() {
    let built = dive_testdata::build(&dive_testdata::twice_image()).unwrap();
    let dir = common::oci_dir(&built, dive_testdata::Compression::None);
    let analysis = common::analyze_path(dir.path());
    assert!(
        analysis
            .attribution
            .duplicates
            .iter()
            .all(|g| g.evidence == Evidence::Blake3)
    );
    let scan = dir.path().join("twice.dive");
    dive_core::scan::save(&analysis, &scan).unwrap();
    let loaded = common::analyze_path(&scan);
    let shape = |a: &Analysis| -> Vec<(u64, usize, Vec<String>)> {
        a.attribution
            .duplicates
            .iter()
            .map(|g| (g.size, g.count, g.paths.clone()))
            .collect()
    };
    assert_eq!(shape(&loaded), shape(&analysis));
    assert!(
        loaded
            .attribution
            .duplicates
            .iter()
            .all(|g| g.evidence == Evidence::Blake3)
    );
}

/// Gate rules on duplicates: the waste class and the packages installed twice.
#[test]
fn gate_rules_count_duplicates_and_packages_installed_twice() {
    use dive_core::report::gate::{self, Measured, Rules, Status};
    let analysis = twice();
    let rules = Rules::from_yaml(
        "dupes.yml",
        "dive-rs:\n  duplicate-packages: == 0\n  waste: { duplicate: <= 300kB }\n",
    )
    .unwrap();
    let result = gate::evaluate(&analysis, &rules);
    let find = |name: &str| {
        result
            .results
            .iter()
            .find(|r| r.rule == name)
            .unwrap_or_else(|| panic!("no {name}"))
    };
    let twice_installed = find("duplicate-packages");
    assert_eq!(twice_installed.measured, Measured::Count(1));
    assert_eq!(twice_installed.status, Status::Fail);
    assert!(
        twice_installed.detail.contains("pip idna in ")
            && twice_installed.detail.contains(LOCAL)
            && twice_installed.detail.contains(VENV),
        "{}",
        twice_installed.detail
    );
    let waste = find("waste.duplicate");
    assert_eq!(waste.measured, Measured::Bytes(357_000));
    assert_eq!(waste.status, Status::Fail);
}

/// torch 2.9.0 from layer 1 is replaced by 2.10.0 in layer 2: every byte of the old copy
/// ships hidden (its files overwritten, its dist-info deleted), told as one reinstall with
/// both versions and layers; the finding takes those bytes out of the hidden findings; the
/// gate rule measures them. No other package counts (a chmod is not a reinstall).
#[test]
fn a_package_installed_again_by_a_later_layer_is_a_reinstall() {
    use dive_core::report::gate::{self, Measured, Rules, Status};
    let metadata = text_len("Metadata-Version: 2.1\nName: torch\nVersion: 2.9.0\n");
    let spec = dive_testdata::twice_image();
    // The old RECORD's size, as the generator wrote it.
    let record = spec.layers[1]
        .ops
        .iter()
        .find_map(|op| match op {
            dive_testdata::Op::Text { path, content }
                if path.ends_with(b"torch-2.9.0.dist-info/RECORD") =>
            {
                Some(content.len() as u64)
            }
            _ => None,
        })
        .unwrap();
    let expected = 5_000 + 300_000 + 60_000 + 60_000 + metadata + record;
    for compression in [
        dive_testdata::Compression::None,
        dive_testdata::Compression::Zstd,
    ] {
        let built = dive_testdata::build(&spec).unwrap();
        let dir = common::oci_dir(&built, compression);
        let analysis = common::analyze_path(dir.path());
        let reinstalls = &analysis.attribution.reinstalls;
        assert_eq!(reinstalls.len(), 1, "{reinstalls:#?}");
        let torch = &reinstalls[0];
        assert_eq!(
            (
                torch.name.as_str(),
                torch.location.as_str(),
                torch.old_version.as_deref(),
                torch.new_version.as_deref(),
                torch.added_in_layer,
                torch.replaced_in_layer,
                torch.hidden_bytes
            ),
            ("torch", VENV, Some("2.9.0"), Some("2.10.0"), 1, 2, expected)
        );
        let json = dive_core::report::to_json(&analysis);
        common::assert_valid(&json, "analysis.v4.schema.json");
        assert_eq!(json["reinstalls"][0]["hidden_bytes"], expected);

        let findings = dive_core::report::findings(&analysis);
        let finding = findings
            .iter()
            .find(|f| f.title.contains("installed again"))
            .unwrap();
        assert_eq!(finding.saving, expected);
        assert!(
            finding.evidence[0]
                .contains("torch 2.9.0 from layer 1 is replaced by 2.10.0 in layer 2"),
            "{:?}",
            finding.evidence
        );
        // Savings stay disjoint: what the findings promise is at most what ships hidden or
        // wasted.
        let total: u64 = findings
            .iter()
            .filter(|f| !f.conditional)
            .map(|f| f.saving)
            .sum();
        let waste: u64 = analysis.attribution.waste.iter().map(|w| w.bytes).sum();
        assert!(total <= waste, "{total} > {waste}");

        let rules = Rules::from_yaml("r.yml", "dive-rs:\n  reinstalled: <= 0B\n").unwrap();
        let result = gate::evaluate(&analysis, &rules);
        let rule = result
            .results
            .iter()
            .find(|r| r.rule == "reinstalled")
            .unwrap();
        assert_eq!(rule.measured, Measured::Bytes(expected));
        assert_eq!(rule.status, Status::Fail);
        assert!(
            rule.detail.contains("torch 2.9.0 (L1) → 2.10.0 (L2)"),
            "{}",
            rule.detail
        );
    }
}

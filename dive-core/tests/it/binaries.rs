//! Programs and archives that record their builds, in an image: a Go program the Go
//! toolchain built and a Rust program `cargo auditable` built, each a package of its own
//! with the dependencies its toolchain reports (`go version -m`, `cargo tree`), in a plain
//! OCI layout (read in place, by positioned reads) and a gzip one (streamed) alike.

use std::collections::BTreeSet;

use dive_core::Analysis;
use dive_core::attribution::{Ecosystem, Package};
use dive_testdata::binaries::{
    CARGO_TOOLS, Expected, GO_TOOLS, go_programs, programs_image, rust_program,
};
use dive_testdata::tools::available;
use dive_testdata::{Compression, LayerSpec, Ledger, Op};

use crate::common;

/// The image analysed in both forms, each checked against the generator's ledger.
fn analyses(spec: &dive_testdata::ImageSpec) -> Vec<Analysis> {
    let ledger: Ledger = dive_testdata::ledger(spec);
    let built = dive_testdata::build(spec).unwrap();
    [Compression::None, Compression::Gzip]
        .into_iter()
        .map(|compression| {
            let dir = common::oci_dir(&built, compression);
            let analysis = common::analyze_path(dir.path());
            common::assert_matches_ledger(&spec.tag, &analysis, &ledger);
            common::assert_attribution_adds_up(&spec.tag, &analysis);
            analysis
        })
        .collect()
}

/// The package at `location`.
fn at<'a>(analysis: &'a Analysis, location: &str) -> &'a Package {
    let packages = &analysis.attribution.packages;
    packages
        .iter()
        .find(|p| p.location == location)
        .unwrap_or_else(|| panic!("no package at {location}: {packages:#?}"))
}

/// `package` records what its toolchain said.
fn assert_records(package: &Package, ecosystem: Ecosystem, expected: &Expected, size: u64) {
    assert_eq!(package.ecosystem, ecosystem);
    assert_eq!(package.name, expected.name);
    assert_eq!(package.version, expected.version);
    assert_eq!(package.toolchain, expected.toolchain);
    let recorded: BTreeSet<(String, Option<String>)> = (package.dependencies.iter())
        .map(|d| (d.name.clone(), d.version.clone()))
        .collect();
    assert_eq!(recorded, expected.dependencies, "{}", package.name);
    assert_eq!((package.bytes, package.files), (size, 1));
}

#[test]
fn go_and_rust_programs_are_packages_with_their_modules_and_crates() {
    if !available(&GO_TOOLS) || !available(&CARGO_TOOLS) {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let [go, cgo] = go_programs(work.path()).unwrap();
    let rust = rust_program(work.path()).unwrap();
    // What each toolchain says, so that the comparison below can fail.
    assert_eq!(go.expected.name, "example.com/divetool");
    assert!(
        go.expected
            .toolchain
            .as_deref()
            .unwrap()
            .starts_with("go1.")
    );
    let go_deps: Vec<_> = go.expected.dependencies.iter().cloned().collect();
    assert_eq!(
        go_deps,
        [
            ("example.com/greet".to_owned(), None),
            ("example.com/quote".to_owned(), Some("v1.5.2".to_owned())),
        ]
    );
    assert_eq!(
        (
            rust.expected.name.as_str(),
            rust.expected.version.as_deref()
        ),
        ("divetool-rs", Some("0.2.0"))
    );
    assert_eq!(rust.expected.dependencies.len(), 2, "{:?}", rust.expected);

    let go_bytes = std::fs::read(&go.path).unwrap();
    assert_eq!(cgo.expected, go.expected);
    let mut spec = programs_image(&[&go, &cgo, &rust]).unwrap();
    // A copy a later layer deletes: a package of its own, hidden.
    spec.layers.push(LayerSpec::new(
        "COPY divetool /opt/old/divetool",
        vec![Op::text("opt/old/divetool", go_bytes.clone())],
    ));
    spec.layers.push(LayerSpec::new(
        "RUN rm /opt/old/divetool",
        vec![Op::whiteout("opt/old/divetool")],
    ));
    let size = |p: &dive_testdata::binaries::Program| std::fs::metadata(&p.path).unwrap().len();
    for analysis in analyses(&spec) {
        let package = at(&analysis, "/usr/local/bin/divetool");
        assert_records(package, Ecosystem::Go, &go.expected, size(&go));
        assert!(package.installed);
        let package = at(&analysis, "/usr/local/bin/divetool-cgo");
        assert_records(package, Ecosystem::Go, &cgo.expected, size(&cgo));
        let package = at(&analysis, "/usr/local/bin/divetool-rs");
        assert_records(package, Ecosystem::Cargo, &rust.expected, size(&rust));
        let old = at(&analysis, "/opt/old/divetool");
        assert_eq!((old.bytes, old.hidden_bytes), (0, go_bytes.len() as u64));
        assert!(!old.installed);
    }
}

#[test]
fn java_archives_are_packages_with_the_artifacts_nested_and_shaded_in_them() {
    use dive_testdata::binaries::{copy_layer, spring_boot_jar, spring_boot_jar_padded, war};
    let (jar, jar_expected) = spring_boot_jar().unwrap();
    // 20 MiB: a streamed walk keeps its head, its tail and the entries its local headers
    // show, and reads it as a seeking walk does.
    let (big, big_expected) = spring_boot_jar_padded(10 << 20).unwrap();
    let big_size = big.len() as u64;
    let (war, war_expected) = war().unwrap();
    let (jar_size, war_size) = (jar.len() as u64, war.len() as u64);
    let spec = dive_testdata::ImageSpec::new(
        "java/shop:2.3.1",
        vec![
            LayerSpec::new("ADD rootfs /", vec![Op::dir("app"), Op::dir("srv")]),
            copy_layer("app/shop-2.3.1.jar", jar),
            copy_layer("srv/webapps/site-1.0.war", war),
            copy_layer("app/big/shop-2.3.1.jar", big),
        ],
    );
    let built = dive_testdata::build(&spec).unwrap();
    let dir = common::oci_dir(&built, Compression::Gzip);
    let cache = tempfile::tempdir().unwrap();
    for analysis in analyses(&spec) {
        let document = dive_core::report::to_json(&analysis);
        common::assert_valid(&document, "analysis.v4.schema.json");
        // A saved scan and the layer cache keep what the archives record.
        let scan = cache.path().join("scan.dive");
        dive_core::scan::save(&analysis, &scan).unwrap();
        let loaded = dive_core::report::to_json(&common::analyze_path(&scan));
        assert_eq!(loaded["packages"], document["packages"]);
        for round in ["stored", "loaded"] {
            let cached = dive_core::AnalyzerBuilder::new()
                .cache(cache.path().join("layers"))
                .build()
                .analyze(dive_core::Source::path(dir.path()), &())
                .unwrap();
            let cached = dive_core::report::to_json(&cached);
            assert_eq!(cached["packages"], document["packages"], "cache {round}");
        }
        let package = at(&analysis, "/app/shop-2.3.1.jar");
        assert_records(package, Ecosystem::Maven, &jar_expected, jar_size);
        let package = at(&analysis, "/srv/webapps/site-1.0.war");
        assert_records(package, Ecosystem::Maven, &war_expected, war_size);
        let package = at(&analysis, "/app/big/shop-2.3.1.jar");
        assert_records(package, Ecosystem::Maven, &big_expected, big_size);
        assert!(analysis.warnings.is_empty(), "{:?}", analysis.warnings);
    }
}

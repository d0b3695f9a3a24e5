//! The same bytes twice (`dive_testdata::twice_image`): packages told apart by where they
//! live, duplicate contents, reinstalled packages. Expected figures come from the
//! generator's own spec (sizes and seeds), never from the analysis.

use dive_core::attribution::{Ecosystem, Package};
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

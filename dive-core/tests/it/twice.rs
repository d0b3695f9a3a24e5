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
    common::assert_valid(&json, "diff.v2.schema.json");
}

//! Attribution on real wheels from `PyPI`, built outside the repository by
//! `testdata/scripts/real-wheels-image.sh DIR`, then:
//! `DIVE_RS_REAL_WHEELS=DIR cargo test -p dive-core --test it real_wheels -- --ignored --nocapture`
//!
//! The image's merged file system, as `umoci unpack` writes it, is the truth: Python reads
//! its RECORDs (`record_totals.py`) and hashes its files (`duplicate_groups.py`).

use std::path::PathBuf;
use std::process::Command;

use dive_core::{Source, analyze};

use crate::common;

#[test]
#[ignore = "needs an image built from PyPI wheels by testdata/scripts/real-wheels-image.sh"]
fn real_records_agree_byte_for_byte() {
    let Some(dir) = std::env::var_os("DIVE_RS_REAL_WHEELS").map(PathBuf::from) else {
        panic!("set DIVE_RS_REAL_WHEELS to the directory real-wheels-image.sh wrote");
    };
    let image = format!("{}:real", dir.join("oci").display());
    let analysis = analyze(Source::parse(&format!("oci:{image}")).unwrap()).unwrap();
    let bundle = tempfile::tempdir().unwrap();
    let unpacked = Command::new("umoci")
        .args(["unpack", "--rootless", "--image", &image])
        .arg(bundle.path().join("b"))
        .output()
        .unwrap();
    assert!(
        unpacked.status.success(),
        "{}",
        String::from_utf8_lossy(&unpacked.stderr)
    );
    let rootfs = bundle.path().join("b/rootfs");
    common::assert_pip_matches_python(&analysis, &rootfs, "real wheels");
    common::assert_attribution_adds_up("real wheels", &analysis);

    // Duplicate groups equal Python's hashing of the unpacked rootfs.
    common::assert_duplicates_match_python(&analysis, &rootfs, "real wheels");
    let reclaimable: u64 = analysis
        .attribution
        .duplicates
        .iter()
        .map(|g| g.reclaimable_bytes)
        .sum();
    eprintln!(
        "duplicates: {} groups, {reclaimable} bytes reclaimable",
        analysis.attribution.duplicates.len()
    );
    // A dist in two environments (site-packages and ~/.local); numpy reinstalled at
    // another version.
    let twice = analysis.attribution.packages_in_several_locations();
    assert!(
        twice
            .iter()
            .any(|(_, _, places)| places.iter().any(|p| p.starts_with("/root/.local/"))),
        "{twice:?}"
    );
    let numpy = analysis
        .attribution
        .reinstalls
        .iter()
        .find(|r| r.name == "numpy")
        .expect("numpy reinstalled");
    assert_eq!(
        (numpy.old_version.as_deref(), numpy.new_version.as_deref()),
        (Some("1.26.4"), Some("1.26.3"))
    );
    eprintln!("reinstalls: {:?}", analysis.attribution.reinstalls);
    for finding in dive_core::report::findings(&analysis) {
        eprintln!("{} ({} bytes)", finding.title, finding.saving);
    }
    eprintln!("unowned: {:?}", analysis.attribution.unowned);
}

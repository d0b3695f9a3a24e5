//! Attribution on real wheels from `PyPI`, built outside the repository by
//! `testdata/scripts/real-wheels-image.sh DIR`, then:
//! `DIVE_RS_REAL_WHEELS=DIR cargo test -p dive-core --test it real_wheels -- --ignored --nocapture`
//!
//! The image's merged file system, as `umoci unpack` writes it, is the truth: Python reads
//! its RECORDs (`record_totals.py`) and hashes its files (`duplicate_groups.py`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use dive_core::layer::{Arch, DeviceCode, read_device_code};
use dive_core::{AnalyzerBuilder, Source, analyze};

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

fn regular_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            regular_files(&entry.path(), out);
        } else if kind.is_file() {
            out.push(entry.path());
        }
    }
}

/// With the torch image (`real-wheels-image.sh DIR torch`) and `CUBLOATY_BIN` set: every ELF
/// file pip installed has, per architecture, the bytes cubloaty reads in its fat binary
/// sections (`.nv_fatbin`, and `__nv_relfatbin` as in cuFFT); the
/// image's analysis (gzip layers, so every file read whole) finds what a deep read of the
/// unpacked file finds, and that equals cubloaty's count over every section.
#[test]
#[ignore = "needs the torch image of testdata/scripts/real-wheels-image.sh and cubloaty"]
fn real_cuda_libraries_agree_with_cubloaty() {
    let dir = PathBuf::from(std::env::var_os("DIVE_RS_REAL_WHEELS").expect("DIVE_RS_REAL_WHEELS"));
    let tool = PathBuf::from(std::env::var_os("CUBLOATY_BIN").expect("CUBLOATY_BIN"));
    let image = format!("oci:{}:real", dir.join("oci").display());
    let analysis = AnalyzerBuilder::new()
        .gpu_archs(vec![90])
        .build()
        .analyze(Source::parse(&image).unwrap(), &())
        .unwrap();
    let rootfs = dir.join("rootfs");
    let mut files = Vec::new();
    regular_files(&rootfs, &mut files);
    files.sort();
    let names = |pairs: &[(Arch, u64)]| -> BTreeMap<String, u64> {
        pairs.iter().map(|(a, b)| (a.to_string(), *b)).collect()
    };
    let (mut compared, mut total) = (0, 0);
    for path in files {
        let mut file = std::fs::File::open(&path).unwrap();
        let size = file.metadata().unwrap().len();
        let Some((sections, warnings)) = read_device_code(&mut file, size, false) else {
            continue;
        };
        assert!(warnings.is_empty(), "{}: {warnings:?}", path.display());
        let theirs = common::cubloaty_components(&tool, &path);
        let mut their_sections: BTreeMap<String, u64> = BTreeMap::new();
        for ((section, arch), bytes) in &theirs {
            if [".nv_fatbin", "__nv_relfatbin", "__nv_fatbin"].contains(&section.as_str()) {
                *their_sections.entry(arch.clone()).or_default() += bytes;
            }
        }
        let ours = sections
            .as_ref()
            .map(|c| names(&c.by_arch))
            .unwrap_or_default();
        assert_eq!(ours, their_sections, "{}", path.display());
        // The image's copy (read as a stream) finds what a deep read of the file finds.
        let (deep, _) = read_device_code(&mut file, size, true).unwrap();
        // Read whole, fat binaries kept in other sections count too, as cubloaty's parser
        // finds them (its report also counts bare cubins, which are not fat binaries).
        let python = tool.with_file_name("python");
        let script = format!(
            "{}/../testdata/scripts/cubloaty_fatbins.py",
            env!("CARGO_MANIFEST_DIR")
        );
        let out = Command::new(&python)
            .arg(&script)
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let all: BTreeMap<String, BTreeMap<String, u64>> =
            serde_json::from_slice(&out.stdout).unwrap();
        let their_all = all.into_values().next().unwrap_or_default();
        if deep.is_none() && their_all.is_empty() {
            continue;
        }
        let in_sections = sections.as_ref().map_or(0, DeviceCode::device_bytes);
        let archs = deep.as_ref().map_or(0, |c| c.by_arch.len());
        let inside = format!("/{}", path.strip_prefix(&rootfs).unwrap().display());
        let found = analysis
            .attribution
            .cuda
            .files
            .iter()
            .find(|f| f.path == inside)
            .unwrap_or_else(|| panic!("{inside}: no device code in the analysis"));
        assert_eq!(Some(&found.code), deep.as_ref(), "{inside}");
        assert_eq!(names(&found.code.by_arch), their_all, "{inside}");
        eprintln!(
            "{inside}: {} device bytes in fat binary sections, {} found deep ({} archs); \
             cubloaty: {} in other sections",
            in_sections,
            found.code.device_bytes(),
            archs,
            theirs
                .iter()
                .filter(|((s, _), _)| !s.contains("fatbin"))
                .map(|(_, b)| b)
                .sum::<u64>()
        );
        compared += 1;
        total += found.code.device_bytes();
    }
    assert!(
        compared > 0,
        "no library with device code under {}",
        rootfs.display()
    );
    eprintln!("{compared} files, {total} bytes of fat binary entries, all equal to cubloaty's");
    let not_for = analysis.attribution.cuda.not_for(&analysis.gpus);
    eprintln!(
        "image: {} device bytes; not for sm_90: {}; newest PTX {}",
        analysis.attribution.cuda.device_bytes, not_for.bytes, not_for.newest_ptx_bytes
    );
    eprintln!(
        "{}",
        dive_core::report::summary(&analysis, dive_core::report::SummaryOptions::default())
    );
}

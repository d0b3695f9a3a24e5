//! CUDA device code per GPU architecture (`dive_testdata::cuda_image`): read by the section
//! table in plain layers, by a deep scan in streamed ones and with `--cuda-deep`; checked
//! against the generator's own account of what it wrote and, where installed, `cubloaty`.

use std::collections::BTreeMap;
use std::path::Path;

use dive_core::layer::Scan;
use dive_core::{Analysis, AnalyzerBuilder, Source};
use dive_testdata::Compression;
use dive_testdata::tools::{Tool, available};

use crate::common;

/// (name, analysis, whether fat binaries outside `.nv_fatbin` are found).
fn analyses() -> Vec<(&'static str, Analysis, bool)> {
    let built = dive_testdata::build(&dive_testdata::cuda_image()).unwrap();
    let legacy = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        legacy.path(),
        dive_testdata::docker_legacy(&[&built], false).unwrap(),
    )
    .unwrap();
    let deep = AnalyzerBuilder::new()
        .cuda_deep(true)
        .build()
        .analyze(Source::path(legacy.path()), &())
        .unwrap();
    let zstd = common::oci_dir(&built, Compression::Zstd);
    vec![
        (
            "plain, sections",
            common::analyze_path(legacy.path()),
            false,
        ),
        ("plain, --cuda-deep", deep, true),
        (
            "gzip stream",
            common::analyze_stream(
                dive_testdata::docker25(&[&built], Compression::Gzip, false).unwrap(),
            ),
            true,
        ),
        ("zstd OCI", common::analyze_path(zstd.path()), true),
    ]
}

fn by_arch_names(pairs: &[(dive_core::layer::Arch, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(a, b)| (a.to_string(), *b)).collect()
}

#[test]
fn every_library_has_the_bytes_per_architecture_the_generator_wrote() {
    let files = dive_testdata::cuda_files();
    for (name, analysis, deep) in analyses() {
        let cuda = &analysis.attribution.cuda;
        assert_eq!(cuda.files.len(), files.len(), "{name}: {:?}", cuda.files);
        let mut image_total = 0;
        for (path, expected) in &files {
            let found = cuda
                .files
                .iter()
                .find(|f| f.path == format!("/{path}"))
                .unwrap_or_else(|| panic!("{name}: {path} has no device code"));
            let wanted = if deep {
                expected.by_arch()
            } else {
                expected.sections.clone()
            };
            assert_eq!(by_arch_names(&found.code.by_arch), wanted, "{name}: {path}");
            let embedded_headers = 16 * expected.embedded_fatbins;
            let (container, embedded) = if deep {
                let embedded: u64 = expected.embedded.values().sum();
                (expected.container, embedded + embedded_headers)
            } else {
                (expected.container - embedded_headers, 0)
            };
            assert_eq!(found.code.container_bytes, container, "{name}: {path}");
            assert_eq!(found.code.embedded_bytes, embedded, "{name}: {path}");
            let scan = if deep { Scan::Deep } else { Scan::Sections };
            assert_eq!(found.code.scan, scan, "{name}: {path}");
            image_total += wanted.values().sum::<u64>();
        }
        assert_eq!(cuda.device_bytes, image_total, "{name}");
        let summed: u64 = cuda.by_arch.iter().map(|(_, b)| b).sum();
        assert_eq!(summed, image_total, "{name}");
        // Largest first; host-only libraries (torch's CPU library, triton's ptxas) absent.
        assert!(
            cuda.files
                .windows(2)
                .all(|w| w[0].code.device_bytes() >= w[1].code.device_bytes())
        );
        assert!(!cuda.files.iter().any(|f| f.path.contains("libtorch_cpu")));
    }
}

#[test]
fn device_code_is_counted_by_package_and_family() {
    let files = dive_testdata::cuda_files();
    let analysis = &analyses()[2].1;
    let attribution = &analysis.attribution;
    let bytes_of = |part: &str| -> u64 {
        files
            .iter()
            .filter(|(p, _)| p.contains(part))
            .map(|(_, f)| f.device_bytes())
            .sum()
    };
    let by_package: BTreeMap<&str, u64> = attribution
        .cuda
        .by_package()
        .into_iter()
        .map(|(p, b)| (attribution.packages[p as usize].name.as_str(), b))
        .collect();
    assert_eq!(
        by_package,
        BTreeMap::from([
            ("nvidia_cublas_cu12", bytes_of("nvidia/cublas")),
            ("torch", bytes_of("torch/lib")),
        ])
    );
    let by_family: BTreeMap<String, u64> = attribution
        .cuda
        .by_family(&attribution.packages)
        .into_iter()
        .collect();
    assert_eq!(by_family["nvidia"], bytes_of("nvidia/cublas"));
    assert_eq!(by_family["unowned"], bytes_of("cuda-app"));
}

#[test]
fn code_for_other_gpus_is_an_upper_bound_that_keeps_the_newest_ptx() {
    let files = dive_testdata::cuda_files();
    let analysis = &analyses()[2].1;
    let not_for = analysis.attribution.cuda.not_for(&[80, 90]);
    // Independently: what the generator wrote, by the rules written out here.
    let mut expected = 0;
    let mut newest_ptx = 0;
    for (_, file) in &files {
        let by_arch = file.by_arch();
        let newest = by_arch
            .keys()
            .filter_map(|a| a.strip_prefix("compute_")?.parse::<u32>().ok())
            .max();
        for (arch, bytes) in by_arch {
            if newest.is_some_and(|n| arch == format!("compute_{n}")) {
                newest_ptx += bytes;
                continue;
            }
            let runs = match arch.as_str() {
                // SASS of majors 8 and 9 at minor 0; a and f variants of sm_90 and sm_100.
                "sm_80" | "sm_90" | "sm_90a" => true,
                a if a.starts_with("compute_") || a.starts_with("lto_") => true,
                _ => false,
            };
            if !runs {
                expected += bytes;
            }
        }
    }
    assert!(expected > 0 && newest_ptx > 0);
    assert_eq!(not_for.bytes, expected);
    assert_eq!(not_for.newest_ptx_bytes, newest_ptx);
    let archs: Vec<String> = not_for.by_arch.iter().map(|(a, _)| a.to_string()).collect();
    assert_eq!(
        archs,
        [
            "sm_50", "sm_60", "sm_70", "sm_75", "sm_86", "sm_89", "sm_100f"
        ]
    );
}

#[test]
fn lying_fat_binaries_are_warnings_naming_the_file_never_device_code() {
    for (name, analysis, _) in analyses() {
        for file in ["libentry-past.so", "libfatbin-past.so", "libzero-header.so"] {
            assert!(
                !analysis
                    .attribution
                    .cuda
                    .files
                    .iter()
                    .any(|f| f.path.ends_with(file)),
                "{name}: {file}"
            );
            let warning = analysis
                .warnings
                .iter()
                .find(|w| {
                    w.location
                        .entry
                        .as_deref()
                        .is_some_and(|e| e.ends_with(file))
                })
                .unwrap_or_else(|| {
                    panic!("{name}: no warning for {file}: {:?}", analysis.warnings)
                });
            assert!(
                warning.message.contains("CUDA device code: .nv_fatbin"),
                "{warning}"
            );
            assert!(warning.location.layer.is_some(), "{warning}");
        }
    }
}

#[test]
fn every_library_agrees_with_cubloaty() {
    if !available(&[Tool::FileIn("CUBLOATY_BIN")]) {
        return;
    }
    let tool = std::env::var_os("CUBLOATY_BIN").unwrap();
    let files = dive_testdata::cuda_files();
    let dir = tempfile::tempdir().unwrap();
    let analysis = &analyses()[2].1;
    for (path, expected) in &files {
        let file = dir.path().join(path.replace('/', "_"));
        std::fs::write(&file, &expected.bytes).unwrap();
        let theirs = common::cubloaty_components(Path::new(&tool), &file);
        let ours = analysis
            .attribution
            .cuda
            .files
            .iter()
            .find(|f| f.path == format!("/{path}"))
            .unwrap();
        let mut their_total: BTreeMap<String, u64> = BTreeMap::new();
        for ((_, arch), bytes) in &theirs {
            *their_total.entry(arch.clone()).or_default() += bytes;
        }
        assert_eq!(by_arch_names(&ours.code.by_arch), their_total, "{path}");
        let their_rodata: u64 = theirs
            .iter()
            .filter(|((section, _), _)| section == ".rodata")
            .map(|(_, b)| b)
            .sum();
        assert_eq!(
            ours.code.embedded_bytes - 16 * expected.embedded_fatbins,
            their_rodata,
            "{path}"
        );
    }
}

#[test]
fn the_json_document_holds_every_file_and_validates() {
    let files = dive_testdata::cuda_files();
    let built = dive_testdata::build(&dive_testdata::cuda_image()).unwrap();
    let dir = common::oci_dir(&built, Compression::Gzip);
    let analysis = AnalyzerBuilder::new()
        .gpu_archs(vec![80, 90])
        .build()
        .analyze(Source::path(dir.path()), &())
        .unwrap();
    let json = dive_core::report::to_json(&analysis);
    common::assert_valid(&json, "analysis.v4.schema.json");
    let cuda = &json["cuda"];
    let listed = cuda["files"].as_array().unwrap();
    assert_eq!(listed.len(), files.len());
    let mut total = 0;
    for (path, expected) in &files {
        let file = listed
            .iter()
            .find(|f| f["path"] == format!("/{path}"))
            .unwrap_or_else(|| panic!("{path}"));
        let by_arch: BTreeMap<String, u64> = file["by_arch"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                let arch = a["arch"].as_str().unwrap().to_owned();
                assert_eq!(a["kind"], expected.kinds[&arch], "{path} {arch}");
                (arch, a["bytes"].as_u64().unwrap())
            })
            .collect();
        assert_eq!(by_arch, expected.by_arch(), "{path}");
        assert_eq!(file["scan"], "deep");
        total += expected.device_bytes();
    }
    assert_eq!(cuda["device_bytes"], total);
    let gpus = &cuda["gpus"];
    assert_eq!(gpus["archs"], serde_json::json!(["sm_80", "sm_90"]));
    let not_for = analysis.attribution.cuda.not_for(&[80, 90]);
    assert_eq!(gpus["not_for_your_gpus_bytes"], not_for.bytes);
    // Without a GPU: cuBLAS, torch's CUDA libraries (libtorch_cuda.so with device code,
    // libc10_cuda.so and libcaffe2_nvrtc.so by name; never libtorch_cpu.so) and triton.
    let parts: BTreeMap<String, u64> = cuda["without_gpu"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["what"].as_str().unwrap().to_owned(),
                p["files"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        parts,
        BTreeMap::from([
            ("nvidia_cublas_cu12".to_owned(), 5),
            (
                "torch's CUDA libraries in /usr/local/lib/python3.11/site-packages/torch/lib"
                    .to_owned(),
                3
            ),
            ("triton".to_owned(), 4),
        ])
    );
    // Without device code the object is there, empty.
    let demo = common::analyze_path(common::demo_path());
    let json = dive_core::report::to_json(&demo);
    assert_eq!(json["cuda"]["device_bytes"], 0);
    assert_eq!(json["cuda"]["gpus"], serde_json::Value::Null);
}

#[test]
fn a_saved_scan_keeps_the_device_code() {
    let built = dive_testdata::build(&dive_testdata::cuda_image()).unwrap();
    let dir = common::oci_dir(&built, Compression::Zstd);
    let analysis = common::analyze_path(dir.path());
    let saved = dir.path().join("cuda.dive");
    dive_core::scan::save(&analysis, &saved).unwrap();
    let back = common::analyze_path(&saved);
    assert!(!back.attribution.cuda.is_empty());
    assert_eq!(back.attribution.cuda, analysis.attribution.cuda);
}

#[test]
fn the_gate_checks_code_for_other_gpus_against_the_archs_it_names() {
    use dive_core::report::gate::{self, Measured, Rules, Status};
    let analysis = &analyses()[2].1;
    let not_for = analysis.attribution.cuda.not_for(&[80, 90]).bytes;
    let rules = |limit: u64| {
        Rules::from_yaml(
            "rules.yml",
            &format!("dive-rs:\n  cuda-archs: [sm_80, \"9.0\"]\n  cuda-other-archs: <= {limit}\n"),
        )
        .unwrap()
    };
    assert_eq!(rules(0).cuda_archs, [80, 90]);
    for (limit, status) in [(not_for, Status::Pass), (not_for - 1, Status::Fail)] {
        let gate = gate::evaluate(analysis, &rules(limit));
        let result = gate
            .results
            .iter()
            .find(|r| r.rule == "cuda-other-archs")
            .unwrap();
        assert_eq!(result.status, status);
        assert_eq!(result.measured, Measured::Bytes(not_for));
        assert!(
            result.detail.contains("libcublas.so.12"),
            "{}",
            result.detail
        );
    }
    for (yaml, says) in [
        ("dive-rs:\n  cuda-other-archs: 1GB\n", "needs the GPUs"),
        (
            "dive-rs:\n  cuda-archs: [volta]\n",
            "not a GPU architecture",
        ),
    ] {
        let err = Rules::from_yaml("rules.yml", yaml).unwrap_err().to_string();
        assert!(err.contains(says) && err.contains("rules.yml"), "{err}");
    }
}

#[test]
fn a_library_at_a_path_that_is_not_utf8_keeps_its_exact_bytes_in_the_json() {
    let path = b"opt/lib\xff/libx.so".to_vec();
    let library =
        dive_testdata::cuda_library(3, 1_000, &[dive_testdata::arch_sweep(&[80], 500)], &[], 5);
    let spec = dive_testdata::ImageSpec::new(
        "cuda/odd:1",
        vec![dive_testdata::LayerSpec::new(
            "COPY lib /opt/",
            vec![dive_testdata::Op::Text {
                path: path.clone(),
                content: library.bytes,
            }],
        )],
    );
    let built = dive_testdata::build(&spec).unwrap();
    let dir = common::oci_dir(&built, Compression::Gzip);
    let analysis = AnalyzerBuilder::new()
        .gpu_archs(vec![90])
        .build()
        .analyze(Source::path(dir.path()), &())
        .unwrap();
    let json = dive_core::report::to_json(&analysis);
    common::assert_valid(&json, "analysis.v4.schema.json");
    let hex: String = [b"/".as_slice(), &path]
        .concat()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(json["cuda"]["files"][0]["path_hex"], hex.as_str());
    assert_eq!(json["cuda"]["gpus"]["files"][0]["path_hex"], hex.as_str());
    assert_eq!(json["cuda"]["files"][0]["path"], "/opt/lib\u{fffd}/libx.so");
}

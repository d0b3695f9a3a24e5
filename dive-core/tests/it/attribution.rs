//! Every byte belongs to one package or one unowned directory, by rules a person can check.

use dive_core::Analysis;
use dive_core::attribution::{Ecosystem, Package};
use dive_testdata::{ImageSpec, Op};

use crate::common;

const SITE: &str = "usr/local/lib/python3.11/site-packages";

/// Size of the last op at `path` in the spec (metadata files' sizes depend on their text).
fn size_of(spec: &ImageSpec, path: &str) -> u64 {
    let mut size = None;
    for op in spec.layers.iter().flat_map(|l| &l.ops) {
        if op.path() == path.as_bytes() {
            size = match op {
                Op::File { size, .. } => Some(*size),
                Op::Text { content, .. } => Some(content.len() as u64),
                _ => size,
            };
        }
    }
    size.unwrap_or_else(|| panic!("{path} is not in the spec"))
}

fn sizes(spec: &ImageSpec, paths: &[&str]) -> u64 {
    paths.iter().map(|p| size_of(spec, p)).sum()
}

fn dist_info(spec: &ImageSpec, dist: &str) -> u64 {
    sizes(
        spec,
        &[
            &format!("{SITE}/{dist}.dist-info/METADATA"),
            &format!("{SITE}/{dist}.dist-info/RECORD"),
        ],
    )
}

fn package<'a>(analysis: &'a Analysis, ecosystem: Ecosystem, name: &str) -> &'a Package {
    analysis
        .attribution
        .packages
        .iter()
        .find(|p| p.ecosystem == ecosystem && p.name == name)
        .unwrap_or_else(|| panic!("{name} not found in {:#?}", analysis.attribution.packages))
}

fn family<'a>(analysis: &'a Analysis, name: &str) -> &'a dive_core::attribution::FamilyTotal {
    analysis
        .attribution
        .families
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no family {name}"))
}

fn analyses() -> (ImageSpec, Vec<(String, Analysis)>) {
    let spec = dive_testdata::owned_image();
    let built = dive_testdata::build(&spec).unwrap();
    let forms = common::all_forms(&built);
    let analyses = forms.iter().flat_map(common::analyses_of).collect();
    (spec, analyses)
}

#[test]
fn packages_own_what_their_databases_say_in_every_form() {
    let (spec, analyses) = analyses();
    for (form, analysis) in &analyses {
        let torch = package(analysis, Ecosystem::Pip, "torch");
        let pyc = size_of(
            &spec,
            &format!("{SITE}/torch/__pycache__/__init__.cpython-311.pyc"),
        );
        let recorded = sizes(
            &spec,
            &[
                &format!("{SITE}/torch/__init__.py"),
                &format!("{SITE}/torch/lib/libtorch.so"),
                "usr/local/bin/torchrun",
            ],
        );
        assert_eq!(
            torch.bytes,
            recorded + dist_info(&spec, "torch-2.3.0") + pyc,
            "{form}: torch, spread over two layers"
        );
        assert_eq!(
            torch.unrecorded_bytes, pyc,
            "{form}: __pycache__ written after install"
        );
        assert_eq!(torch.layers, vec![1, 2], "{form}");
        assert_eq!(
            (torch.version.as_deref(), torch.family.as_deref()),
            (Some("2.3.0"), Some("torch"))
        );

        let cublas = package(analysis, Ecosystem::Pip, "nvidia_cublas_cu12");
        let cublas_pyc = size_of(&spec, &format!("{SITE}/nvidia/cublas/__pycache__/x.pyc"));
        assert_eq!(
            cublas.bytes,
            30_000 + dist_info(&spec, "nvidia_cublas_cu12-12.1") + cublas_pyc,
            "{form}: nvidia/ split by RECORD"
        );
        let cudnn = package(analysis, Ecosystem::Pip, "nvidia_cudnn_cu12");
        assert_eq!(
            cudnn.bytes,
            20_000 + dist_info(&spec, "nvidia_cudnn_cu12-8.9"),
            "{form}"
        );
        let nvidia = family(analysis, "nvidia");
        assert_eq!(
            (nvidia.bytes, nvidia.packages),
            (cublas.bytes + cudnn.bytes, 2),
            "{form}"
        );

        let leftover = package(analysis, Ecosystem::Pip, "leftover");
        assert_eq!(
            (leftover.bytes, leftover.hidden_bytes),
            (0, 7_000 + dist_info(&spec, "leftover-1.0")),
            "{form}: uninstalled later"
        );
        let ghost = package(analysis, Ecosystem::Pip, "ghost");
        assert_eq!(
            ghost.bytes,
            size_of(&spec, &format!("{SITE}/ghost-1.0.dist-info/RECORD")),
            "{form}: missing RECORD entries count nothing"
        );

        let egg = "usr/lib/python3/dist-packages/six-1.16.0.egg-info";
        let six = package(analysis, Ecosystem::Pip, "six");
        assert_eq!(
            six.bytes,
            900 + sizes(
                &spec,
                &[
                    &format!("{egg}/PKG-INFO"),
                    &format!("{egg}/installed-files.txt")
                ]
            ),
            "{form}: egg-info"
        );
        let zlib = package(analysis, Ecosystem::Conda, "zlib");
        assert_eq!(
            zlib.bytes,
            100_000 + size_of(&spec, "opt/conda/conda-meta/zlib-1.2.13-h5eee18b_0.json"),
            "{form}: conda"
        );
        let express = package(analysis, Ecosystem::Npm, "express");
        assert_eq!(
            express.bytes,
            3_000 + size_of(&spec, "app/node_modules/express/package.json"),
            "{form}: npm"
        );
        let debug = package(analysis, Ecosystem::Npm, "debug");
        assert_eq!(
            debug.bytes,
            500 + size_of(
                &spec,
                "app/node_modules/express/node_modules/debug/package.json"
            ),
            "{form}: nested npm"
        );

        let libc = package(analysis, Ecosystem::Dpkg, "libc6");
        assert_eq!(
            libc.bytes,
            1_000 + size_of(&spec, "var/lib/dpkg/info/libc6:amd64.list"),
            "{form}: :amd64 list"
        );
        assert_eq!(libc.declared_bytes, Some(10 * 1024));
        let wrapper = package(analysis, Ecosystem::Dpkg, "wrapper");
        assert_eq!(
            wrapper.bytes,
            300 + size_of(&spec, "var/lib/dpkg/info/wrapper.list"),
            "{form}: the diverter keeps the original path"
        );
        let gcc = package(analysis, Ecosystem::Dpkg, "gcc-12");
        assert_eq!(
            (gcc.bytes, gcc.family.as_deref()),
            (
                2_000 + size_of(&spec, "var/lib/dpkg/info/gcc-12.list"),
                Some("toolchain")
            ),
            "{form}"
        );
        let tzdata = package(analysis, Ecosystem::Dpkg, "tzdata");
        let status_d = sizes(
            &spec,
            &[
                "var/lib/dpkg/status.d/tzdata",
                "var/lib/dpkg/status.d/tzdata.md5sums",
            ],
        );
        assert_eq!(tzdata.bytes, 114 + status_d, "{form}: distroless status.d");
        assert_eq!(
            package(analysis, Ecosystem::Apk, "musl").bytes,
            600,
            "{form}: apk"
        );
        assert!(
            analysis
                .attribution
                .packages
                .iter()
                .all(|p| p.name != "old"),
            "{form}: config-files only is not installed"
        );

        let unowned = |dir: &str| {
            analysis
                .attribution
                .unowned
                .iter()
                .find(|u| u.dir == dir)
                .map_or((0, 0), |u| (u.bytes, u.hidden_bytes))
        };
        assert_eq!(
            unowned("/root"),
            (0, 50_000),
            "{form}: the deleted pip cache"
        );
        assert_eq!(unowned("/app"), (4_000, 0), "{form}");
        assert_eq!(
            unowned("/usr"),
            (60, 0),
            "{form}: a pyc in the shared nvidia/ namespace is nobody's"
        );
    }
}

#[test]
fn packages_and_unowned_add_up_to_final_and_hidden_bytes() {
    let (_, analyses) = analyses();
    let demo = common::analyze_path(common::demo_path());
    for (form, analysis) in analyses.iter().chain([&("demo".to_owned(), demo)]) {
        common::assert_attribution_adds_up(form, analysis);
        let a = &analysis.attribution;
        let files: u64 = a.packages.iter().map(|p| p.files).sum::<u64>()
            + a.unowned.iter().map(|u| u.files).sum::<u64>();
        assert_eq!(files, analysis.image.final_files, "{form}");
    }
}

#[test]
fn the_demos_waste_is_what_its_dockerfile_did() {
    use dive_core::attribution::WasteClass;
    let spec = dive_testdata::demo_image();
    let analysis = common::analyze_path(common::demo_path());
    let site = "usr/local/lib/python3.11/dist-packages";
    let class = |c: WasteClass| {
        analysis
            .attribution
            .waste
            .iter()
            .find(|w| w.class == c)
            .map_or(0, |w| w.bytes)
    };
    let cache = [
        "root/.cache/pip/http-v2/a/1/b/c/d/9f8e7d6c5b4a39281706f5e4d3c2b1a0",
        "root/.cache/pip/http-v2/e/2/f/0/a/0a1b2c3d4e5f60718293a4b5c6d7e8f9",
        "root/.cache/pip/selfcheck/5a0b2c.json",
        "root/.cache/huggingface/token",
    ];
    assert_eq!(
        class(WasteClass::HiddenDeleted),
        sizes(&spec, &cache),
        "the pip cache and the login rm'd in a later layer"
    );
    assert_eq!(
        class(WasteClass::HiddenMetadataOnly),
        size_of(&spec, &format!("{site}/torch/lib/libtorch_cpu.so")),
        "chmod +x"
    );
    assert_eq!(
        class(WasteClass::HiddenOverwritten),
        12_400_000 + 751,
        "the first model.onnx and the base layer's dpkg status"
    );
    let archives = [
        "var/cache/apt/archives/gcc-12_12.2.0-14_amd64.deb",
        "var/cache/apt/archives/cpp-12_12.2.0-14_amd64.deb",
    ];
    assert_eq!(class(WasteClass::AptArchives), sizes(&spec, &archives));
    assert_eq!(
        class(WasteClass::AptLists),
        sizes(
            &spec,
            &[
                "var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4"
            ]
        )
    );
    let toolchain = family(&analysis, "toolchain");
    assert_eq!(
        class(WasteClass::Toolchain),
        toolchain.bytes,
        "every byte of gcc-12 and cpp-12"
    );
    let pyc = [
        format!("{site}/torch/__pycache__/__init__.cpython-311.pyc"),
        format!("{site}/numpy/__pycache__/__init__.cpython-311.pyc"),
    ];
    assert_eq!(
        class(WasteClass::Pycache),
        pyc.iter().map(|p| size_of(&spec, p)).sum::<u64>()
    );
    assert_eq!(
        class(WasteClass::Tests),
        size_of(
            &spec,
            &format!("{site}/numpy/core/tests/test_multiarray.py")
        )
    );
    let headers = [
        format!("{site}/nvidia/cublas/include/cublas_v2.h"),
        format!("{site}/nvidia/cudnn/include/cudnn.h"),
    ];
    assert_eq!(
        class(WasteClass::Headers),
        headers.iter().map(|p| size_of(&spec, p)).sum::<u64>()
    );
    let hidden: u64 = [
        WasteClass::HiddenDeleted,
        WasteClass::HiddenMetadataOnly,
        WasteClass::HiddenOverwritten,
    ]
    .into_iter()
    .map(class)
    .sum();
    assert_eq!(
        hidden, analysis.image.hidden_bytes,
        "hidden classes cover every hidden byte once"
    );
    let total: u64 = analysis.attribution.waste.iter().map(|w| w.bytes).sum();
    assert!(total <= analysis.image.final_bytes + analysis.image.hidden_bytes);
    let pip_cache = analysis
        .attribution
        .waste
        .iter()
        .find(|w| w.class == WasteClass::HiddenDeleted)
        .unwrap();
    assert_eq!(pip_cache.top_paths[0].path, format!("/{}", cache[0]));
    assert_eq!(
        (
            pip_cache.top_paths[0].layer,
            pip_cache.top_paths[0].hidden_by_layer
        ),
        (2, Some(3))
    );
}

#[test]
fn report_findings_come_from_the_ledger_largest_saving_first() {
    let analysis = common::analyze_path(common::demo_path());
    let findings = dive_core::report::findings(&analysis);
    let firm: Vec<_> = findings.iter().filter(|f| !f.conditional).collect();
    let savings: Vec<u64> = firm.iter().map(|f| f.saving).collect();
    assert!(
        savings.windows(2).all(|w| w[0] >= w[1]),
        "ordered by saving: {savings:?}"
    );
    let waste_total: u64 = analysis.attribution.waste.iter().map(|w| w.bytes).sum();
    assert_eq!(
        savings.iter().sum::<u64>(),
        waste_total,
        "every saving is a waste class's bytes"
    );
    assert_eq!(
        firm[0].class,
        Some(dive_core::attribution::WasteClass::Toolchain)
    );
    assert!(
        firm[0]
            .evidence
            .iter()
            .any(|e| e.contains("gcc-12") && e.contains("cpp-12")),
        "{:?}",
        firm[0].evidence
    );
    assert!(
        firm[0]
            .evidence
            .iter()
            .any(|e| e.starts_with("added by layer 1") && e.contains("apt-get install"))
    );
    let cuda = findings.iter().find(|f| f.conditional).unwrap();
    assert_eq!(
        cuda.when.as_deref(),
        Some("If the image runs without a GPU")
    );
    // torch is a CUDA build (its torch/lib holds libtorch_cuda.so, 29,881,400 bytes in the
    // demo's spec): the nvidia wheels, triton and that library are what a CPU build drops.
    let (nvidia, triton) = (family(&analysis, "nvidia"), family(&analysis, "triton"));
    assert_eq!(
        cuda.saving,
        nvidia.bytes + triton.bytes + 29_881_400,
        "the CUDA finding is the nvidia and triton families and torch's CUDA library"
    );
    assert!(
        cuda.evidence
            .iter()
            .any(|e| e.starts_with("torch's CUDA libraries in ")
                && e.ends_with("torch/lib 29.9 MB (1 file)")),
        "{:?}",
        cuda.evidence
    );
    let text = dive_core::report::optimisation_report(
        &analysis,
        dive_core::report::ReportFormat::Markdown,
        true,
    );
    assert!(text.starts_with("# Image size report: `demo/ml-service:1.0`"));
    assert!(text.contains(&format!("{waste_total} avoidable")), "{text}");
}

#[test]
fn a_families_file_extends_the_built_in_table() {
    use dive_core::attribution::FamilyRules;
    let rules = FamilyRules::from_toml(
        "families.toml",
        "[families]\nweb = [\"express\", \"npm:debug\"]\nnvidia = [\"dpkg:libc*\"]\n",
    )
    .unwrap();
    let built = dive_testdata::build(&dive_testdata::owned_image()).unwrap();
    let source = dive_core::Source::reader(
        "-",
        std::io::Cursor::new(dive_testdata::docker_legacy(&[&built], false).unwrap()),
    );
    let analysis = dive_core::AnalyzerBuilder::new()
        .families(rules)
        .build()
        .analyze(source, &())
        .unwrap();
    let web = family(&analysis, "web");
    assert_eq!(web.packages, 2);
    let nvidia = family(&analysis, "nvidia");
    assert_eq!(
        nvidia.packages, 3,
        "two wheels from the table, libc6 from the file"
    );
    assert_eq!(
        package(&analysis, Ecosystem::Pip, "torch")
            .family
            .as_deref(),
        Some("torch"),
        "the table still applies"
    );
    for (text, expected) in [
        ("[families]\nx = [\"yum:foo\"]", "unknown ecosystem"),
        ("[families]\nx = [\"a[\"]", "a["),
        ("[familes]\nx = []", "unknown field"),
    ] {
        let err = FamilyRules::from_toml("families.toml", text)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("families.toml: ") && err.contains(expected),
            "{err}"
        );
    }
}

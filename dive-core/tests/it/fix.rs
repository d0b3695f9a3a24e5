//! `fix` on images built from known Dockerfiles: the edits are the ones the generator's
//! ledger proves (bytes per class, lines), each class splits into base, patched and listed
//! bytes that add up to the report's, and the diff is one that git apply and patch take,
//! that BuildKit's parser reads to the same instructions except the edited ones, and that
//! clears the hadolint rules it cites without adding any.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use dive_core::fix::{DockerfileError, FixOptions, FixPlan, plan};
use dive_core::{Analysis, WasteClass};
use dive_testdata::dockerfiles::{BUILDKIT_PARSER_PYTHON, Parsed, buildkit_parse};
use dive_testdata::fix_cases::{FixCase, fix_cases};
use dive_testdata::tools::{Tool, available};
use dive_testdata::{Compression, LayerSpec, Op, build, docker25};

use crate::common::analyze_stream;

fn analysis_of(spec: &dive_testdata::ImageSpec) -> Analysis {
    let built = build(spec).unwrap();
    analyze_stream(docker25(&[&built], Compression::Gzip, false).unwrap())
}

const DEMO_DOCKERFILE: &str = include_str!("../../../testdata/demo/Dockerfile");

/// The demo image and the Dockerfile in testdata/demo, as a case: apt's caches dropped where
/// apt ran, the cleanup step folded into the pip step (its pip cache and its chmod).
fn demo_case() -> FixCase {
    FixCase {
        name: "demo",
        dockerfile: DEMO_DOCKERFILE.to_owned(),
        image: dive_testdata::demo_image(),
        fixes: vec![
            // The two .deb files and the one list the generator wrote (testdata's fixtures).
            (5, &["apt-archives"], 20_012_544 + 9_801_232),
            (5, &["apt-lists"], 9_140_215),
            // libtorch_cpu.so rewritten by chmod, the pip cache and the Hugging Face login
            // (the token and its newline) deleted.
            (
                7,
                &["hidden-metadata-only", "hidden-deleted"],
                45_103_220 + 21_470_113 + 12_006_331 + 212 + 40,
            ),
        ],
        cpu_only: false,
        clears: &["DL3009"],
        listed: vec![
            ("toolchain", 5),
            ("hidden-overwritten", 11),
            ("tests", 7),
            ("headers", 7),
            ("pycache", 7),
        ],
    }
}

/// The torch+CUDA shape, its sizes shrunk a thousandfold: the cache delete folded.
fn torch_case() -> FixCase {
    use dive_testdata::large::{TORCH_CUDA_DOCKERFILE, shrunk, torch_cuda_image};
    FixCase {
        name: "torch-cuda",
        dockerfile: TORCH_CUDA_DOCKERFILE.to_owned(),
        image: shrunk(&torch_cuda_image(), 1000),
        fixes: vec![(2, &["hidden-deleted"], 2_200 * 2_000)],
        cpu_only: false,
        clears: &[],
        listed: vec![("hidden-metadata-only", 2), ("hidden-overwritten", 2)],
    }
}

fn all_cases() -> Vec<FixCase> {
    let mut cases = vec![demo_case(), torch_case()];
    cases.extend(fix_cases());
    cases
}

/// Each case's image analysed once for all the tests here (the torch shape holds 33k paths).
fn analysed(case: &FixCase) -> Analysis {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static ANALYSES: OnceLock<Mutex<HashMap<&'static str, Analysis>>> = OnceLock::new();
    let cache = ANALYSES.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(analysis) = cache.lock().unwrap().get(case.name) {
        return analysis.clone();
    }
    let analysis = analysis_of(&case.image);
    cache.lock().unwrap().insert(case.name, analysis.clone());
    analysis
}

fn planned(case: &FixCase) -> (Analysis, FixPlan) {
    let analysis = analysed(case);
    let options = FixOptions::default().cpu_only(case.cpu_only);
    let plan = plan(
        &analysis,
        "Dockerfile",
        case.dockerfile.as_bytes(),
        &options,
    )
    .unwrap_or_else(|e| panic!("{}: {e}", case.name));
    (analysis, plan)
}

/// Each case's edits are exactly the ones its ledger names, with their bytes and lines.
#[test]
fn the_edits_are_the_ledgers() {
    for case in all_cases() {
        let (_, plan) = planned(&case);
        let got: Vec<(usize, Vec<&str>, u64)> = plan
            .fixes
            .iter()
            .map(|f| {
                let mut classes: Vec<&str> = f.classes.iter().map(|c| c.class.name()).collect();
                classes.extend(f.finding);
                (f.line, classes, f.saving)
            })
            .collect();
        let mut want: Vec<(usize, Vec<&str>, u64)> = case
            .fixes
            .iter()
            .map(|(line, classes, bytes)| (*line, classes.to_vec(), *bytes))
            .collect();
        want.sort_by_key(|(line, _, _)| *line);
        let sort = |v: &mut Vec<(usize, Vec<&str>, u64)>| {
            for (_, c, _) in v.iter_mut() {
                c.sort_unstable();
            }
            v.sort();
        };
        let mut got_sorted = got.clone();
        sort(&mut got_sorted);
        sort(&mut want);
        assert_eq!(got_sorted, want, "{}: {:#?}", case.name, plan.fixes);
        assert_eq!(
            plan.saving,
            plan.fixes.iter().map(|f| f.saving).sum::<u64>(),
            "{}",
            case.name
        );
        let listed: BTreeSet<(&str, usize)> = plan
            .listed
            .iter()
            .map(|l| (l.class.name(), l.line))
            .collect();
        for want in &case.listed {
            assert!(
                listed.contains(want),
                "{}: {want:?} not in {listed:?}",
                case.name
            );
        }
    }
}

/// Every class splits into base, patched and listed bytes that add up to the report's bytes
/// for it; what the edits save is what the classes say is patched.
#[test]
fn classes_split_into_base_patched_and_listed() {
    for case in all_cases() {
        let (analysis, plan) = planned(&case);
        for split in &plan.classes {
            assert_eq!(
                split.bytes,
                split.base + split.patched + split.listed,
                "{}: {split:?}",
                case.name
            );
            let report = analysis
                .attribution
                .waste
                .iter()
                .find(|w| w.class == split.class)
                .map_or(0, |w| w.bytes);
            assert_eq!(split.bytes, report, "{}: {:?}", case.name, split.class);
        }
        let patched: u64 = plan.classes.iter().map(|c| c.patched).sum();
        let packages: u64 = plan
            .fixes
            .iter()
            .flat_map(|f| &f.packages)
            .map(|p| p.bytes)
            .sum();
        assert_eq!(patched + packages, plan.saving, "{}", case.name);
        let listed: u64 = plan.listed.iter().map(|l| l.bytes).sum();
        assert_eq!(
            listed,
            plan.classes.iter().map(|c| c.listed).sum::<u64>(),
            "{}",
            case.name
        );
        // Duplicates are told by cause in the report, and stay in the waste list here.
        assert!(
            plan.classes
                .iter()
                .all(|c| c.class != WasteClass::Duplicate || c.patched == 0)
        );
    }
}

/// The demo's edits cover whole classes: apt's caches, the pip cache deleted later and the
/// chmod are patched to the byte of the report's avoidable bytes for them.
#[test]
fn the_demos_patched_classes_are_whole() {
    let (_, plan) = planned(&demo_case());
    for class in [
        WasteClass::AptArchives,
        WasteClass::AptLists,
        WasteClass::HiddenDeleted,
        WasteClass::HiddenMetadataOnly,
    ] {
        let split = plan.classes.iter().find(|c| c.class == class).unwrap();
        assert_eq!(
            (split.patched, split.listed),
            (split.bytes - split.base, 0),
            "{class:?}"
        );
    }
}

/// The diff applies with git apply and with patch -p1 to exactly the patched text, line ends
/// and a missing last line end kept.
#[test]
fn the_diff_applies_with_git_and_patch() {
    if !available(&[Tool::Program("git"), Tool::Program("patch")]) {
        return;
    }
    for case in all_cases() {
        let (_, plan) = planned(&case);
        if plan.fixes.is_empty() {
            assert_eq!(plan.diff("Dockerfile"), "", "{}", case.name);
            continue;
        }
        let diff = plan.diff("build/Dockerfile");
        for (tool, args) in [
            ("git", &["apply", "-"][..]),
            ("patch", &["-p1", "--quiet", "--no-backup-if-mismatch"][..]),
        ] {
            let dir = tempfile::tempdir().unwrap();
            std::fs::create_dir(dir.path().join("build")).unwrap();
            let file = dir.path().join("build/Dockerfile");
            std::fs::write(&file, &case.dockerfile).unwrap();
            run_with_stdin(tool, args, dir.path(), &diff);
            let patched = std::fs::read_to_string(&file).unwrap();
            assert_eq!(
                patched,
                plan.patched(),
                "{} with {tool}:\n{diff}",
                case.name
            );
        }
    }
}

fn run_with_stdin(program: &str, args: &[&str], dir: &Path, stdin: &str) -> String {
    let mut child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}\n{stdin}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// BuildKit's parser reads the patched file to the same instructions, in order, as the
/// original except the ones edited (changed, or folded away).
#[test]
fn buildkit_reads_the_patched_file_to_the_same_instructions() {
    if !available(&[Tool::PythonModule {
        python: BUILDKIT_PARSER_PYTHON,
        module: "dockerfile",
    }]) {
        return;
    }
    for case in all_cases() {
        let (_, plan) = planned(&case);
        let before = buildkit_parse(BUILDKIT_PARSER_PYTHON, &case.dockerfile).unwrap();
        let after = buildkit_parse(BUILDKIT_PARSER_PYTHON, &plan.patched()).unwrap();
        let changed: BTreeSet<usize> = plan.fixes.iter().map(|f| f.line).collect();
        let folded: BTreeSet<usize> = plan.fixes.iter().filter_map(|f| f.folded_line).collect();
        assert_eq!(after.len() + folded.len(), before.len(), "{}", case.name);
        let text = |p: &Parsed| format!("{} {}", p.keyword, p.original);
        let kept: Vec<String> = before
            .iter()
            .filter(|p| !changed.contains(&p.start_line) && !folded.contains(&p.start_line))
            .map(text)
            .collect();
        // The kept ones appear in order; the others are the changed ones, once each.
        let mut rest = after.iter().map(text);
        for want in &kept {
            assert!(
                rest.any(|got| got == *want),
                "{}: {want} is gone",
                case.name
            );
        }
        let unchanged = after.iter().filter(|p| kept.contains(&text(p))).count();
        assert_eq!(after.len() - unchanged, changed.len(), "{}", case.name);
    }
}

/// hadolint 2.15.1 flags each rule a fix cites before, not after, and flags nothing after
/// that it did not flag before.
#[test]
fn hadolint_clears_the_rules_cited_and_flags_nothing_new() {
    if !available(&[Tool::FileIn("HADOLINT_BIN")]) {
        return;
    }
    let hadolint = std::env::var_os("HADOLINT_BIN").unwrap_or_default();
    for case in all_cases() {
        let (_, plan) = planned(&case);
        let codes = |text: &str| -> BTreeSet<String> {
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("Dockerfile");
            std::fs::write(&file, text).unwrap();
            let out = Command::new(&hadolint)
                .args(["--no-fail", "-f", "json"])
                .arg(&file)
                .output()
                .unwrap();
            let found: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|e| panic!("{}: hadolint's JSON: {e}", case.name));
            found
                .iter()
                .filter_map(|f| f["code"].as_str().map(str::to_owned))
                .collect()
        };
        let before = codes(&case.dockerfile);
        let after = codes(&plan.patched());
        let cited: BTreeSet<String> = plan
            .fixes
            .iter()
            .filter_map(|f| f.hadolint.map(str::to_owned))
            .collect();
        let want: BTreeSet<String> = case.clears.iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(cited, want, "{}", case.name);
        for rule in &cited {
            assert!(
                before.contains(rule),
                "{}: {rule} not flagged before",
                case.name
            );
            assert!(
                !after.contains(rule),
                "{}: {rule} still flagged after",
                case.name
            );
        }
        assert!(
            after.is_subset(&before),
            "{}: new rules after the edits: {:?}",
            case.name,
            after.difference(&before).collect::<Vec<_>>()
        );
    }
}

/// A Dockerfile the image was not built from is refused, naming the layer and the line that
/// found no partner.
#[test]
fn a_stale_dockerfile_is_refused() {
    let analysis = analysis_of(&dive_testdata::demo_image());
    let stale = DEMO_DOCKERFILE.replace("pip install torch==2.3.0", "pip install torch==2.4.0");
    let err = plan(
        &analysis,
        "Dockerfile",
        stale.as_bytes(),
        &FixOptions::default(),
    )
    .unwrap_err();
    let DockerfileError::Mismatch {
        layers,
        instructions,
        ..
    } = &err
    else {
        panic!("{err}");
    };
    assert_eq!(
        layers.iter().map(|l| l.layer).collect::<Vec<_>>(),
        [2],
        "{err}"
    );
    assert_eq!(
        instructions.iter().map(|i| i.line).collect::<Vec<_>>(),
        [7],
        "{err}"
    );
    assert!(err.to_string().contains("layer 2"), "{err}");
}

/// A path with shell syntax that the image names is never written into the Dockerfile; the
/// diff's labels hold only our own words and figures.
#[test]
fn hostile_paths_are_listed_never_written() {
    let case = fix_cases()
        .into_iter()
        .find(|c| c.name == "hostile-cache-path")
        .unwrap();
    let (_, plan) = planned(&case);
    let patched = plan.patched();
    assert!(
        !patched.contains("pwned") && !patched.contains('`'),
        "{patched}"
    );
    let listed = plan
        .listed
        .iter()
        .find(|l| l.class == WasteClass::NpmCache)
        .unwrap();
    assert!(listed.why.contains("must not take"), "{}", listed.why);
    let diff = plan.diff("Dockerfile");
    for line in diff.lines().filter(|l| l.starts_with("@@")) {
        assert!(line.chars().all(|c| !c.is_control()), "{line:?}");
    }
}

/// Every case's JSON document is what `schema/fix.v1.schema.json` describes, and the schema
/// refuses a document that breaks it.
#[test]
fn the_json_documents_follow_their_schema() {
    for case in all_cases() {
        let (_, plan) = planned(&case);
        crate::common::assert_valid(&plan.to_json("Dockerfile"), "fix.v1.schema.json");
    }
    let (_, plan) = planned(&demo_case());
    let mut broken = plan.to_json("Dockerfile");
    broken["fixes"][0]["hadolint"] = "SC2086".into();
    assert!(!crate::common::schema_errors(&broken, "fix.v1.schema.json").is_empty());
}

/// The JSON document holds the edits, the listed findings, the split and the diff.
#[test]
fn the_json_document_carries_the_diff() {
    let (_, plan) = planned(&demo_case());
    let json = plan.to_json("Dockerfile");
    assert_eq!(json["schema_version"], 1);
    assert_eq!(json["fixes"].as_array().unwrap().len(), 3);
    let rules: Vec<&serde_json::Value> = json["fixes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| &f["hadolint"])
        .collect();
    assert!(rules.contains(&&serde_json::json!("DL3009")), "{rules:?}");
    assert!(
        json["diff"]
            .as_str()
            .unwrap()
            .starts_with("--- a/Dockerfile\n")
    );
    assert_eq!(json["saving"], plan.saving);
}

/// The torch+CUDA shape: the chmod of relative paths and the strip are listed at the line
/// that hid the bytes, and the patched file is the fold and nothing else.
#[test]
fn the_torch_cuda_shape_folds_its_cache_delete() {
    let (_, plan) = planned(&torch_case());
    let fix = &plan.fixes[0];
    assert_eq!((fix.line, fix.folded_line, fix.layer), (2, Some(3), 1));
    for class in [
        WasteClass::HiddenMetadataOnly,
        WasteClass::HiddenOverwritten,
    ] {
        let listed = plan.listed.iter().find(|l| l.class == class).unwrap();
        let at = (listed.layer, listed.line, listed.hidden_by_line);
        assert_eq!(at, (1, 2, Some(5)), "{class:?}");
    }
    let split = plan
        .classes
        .iter()
        .find(|c| c.class == WasteClass::HiddenDeleted)
        .unwrap();
    assert_eq!((split.patched, split.listed), (split.bytes, 0));
    assert_eq!(
        plan.patched(),
        "FROM python:3.11-slim\nRUN pip install torch torchvision && rm -rf /root/.cache/pip\n\
         WORKDIR /usr/local/lib/python3.11/site-packages\n\
         RUN chmod +x torch/lib/libshm*.so && strip torch/lib/libtorch_cuda.so\n"
    );
}

/// `--cpu-only` where a CPU build would break the image or save nothing it can prove: no
/// index is written, and a note says why. The torch+CUDA shape has no dist-info for torch;
/// a later `RUN` that strips torch's CUDA library would fail on a CPU build; a library of
/// custom kernels outside torch needs the GPU; without `--cpu-only` the rule stays silent.
#[test]
fn the_cpu_index_is_refused_where_the_gpu_is_still_needed() {
    use dive_testdata::fix_cases::cpu_index;
    let cpu = FixOptions::default().cpu_only(true);
    let refused = |case: &FixCase, analysis: &Analysis, why: &str| {
        let plan = plan(analysis, "Dockerfile", case.dockerfile.as_bytes(), &cpu).unwrap();
        assert!(plan.fixes.iter().all(|f| f.finding.is_none()), "{why}");
        assert!(
            plan.notes.iter().any(|n| n.contains(why)),
            "{why}: {:?}",
            plan.notes
        );
    };
    let torch = torch_case();
    refused(&torch, &analysed(&torch), "the image holds no torch");

    let mut stripped = cpu_index();
    let lib = "usr/local/lib/python3.11/site-packages/torch/lib/libtorch_cuda.so";
    stripped.image.layers.push(LayerSpec::new(
        &format!("RUN /bin/sh -c strip /{lib} # buildkit"),
        vec![Op::file(lib, 800_000, 77)],
    ));
    stripped.dockerfile.push_str(&format!("RUN strip /{lib}\n"));
    refused(&stripped, &analysis_of(&stripped.image), "layers [1, 4]");

    let mut kernels = with_device_code(cpu_index(), "opt/kernels/libkernels.so", None);
    kernels
        .dockerfile
        .push_str("COPY libkernels.so /opt/kernels/\n");
    let analysis = analysis_of(&kernels.image);
    refused(
        &kernels,
        &analysis,
        "opt/kernels/libkernels.so holds GPU device code",
    );
    let quiet = plan(
        &analysis,
        "Dockerfile",
        kernels.dockerfile.as_bytes(),
        &FixOptions::default(),
    )
    .unwrap();
    assert!(quiet.notes.is_empty(), "{:?}", quiet.notes);
}

/// `case` with one more layer, a `COPY` of a library with device code at `path`, owned by
/// the wheel `dist` when given (its RECORD lists it).
fn with_device_code(mut case: FixCase, path: &str, dist: Option<&str>) -> FixCase {
    use dive_testdata::{arch_sweep, cuda_library};
    let bytes = cuda_library(3, 4_000, &[arch_sweep(&[80, 90], 20_000)], &[], 7).bytes;
    let mut ops = vec![Op::Text {
        path: path.as_bytes().to_vec(),
        content: bytes,
    }];
    if let Some(dist) = dist {
        let site = "usr/local/lib/python3.11/site-packages";
        let info = format!("{site}/{dist}-12.1.dist-info");
        let file = path.strip_prefix(&format!("{site}/")).unwrap();
        ops.push(Op::text(
            &format!("{info}/METADATA"),
            format!("Metadata-Version: 2.1\nName: {dist}\nVersion: 12.1\n"),
        ));
        ops.push(Op::text(
            &format!("{info}/RECORD"),
            format!("{file},,\n{dist}-12.1.dist-info/METADATA,,\n"),
        ));
    }
    case.image.layers.push(LayerSpec::new(
        "COPY libkernels.so /opt/kernels/ # buildkit",
        ops,
    ));
    case
}

/// `--cpu-only` on the case it fits: the index after the `pip install`, numpy untouched; the
/// nvidia wheels other steps install stay (one with device code too), and a note says so.
#[test]
fn the_cpu_index_goes_where_torch_was_installed() {
    let case = dive_testdata::fix_cases::cpu_index();
    let (_, plan) = planned(&case);
    assert_eq!(
        plan.patched().lines().nth(1),
        Some(
            "RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu \
             --no-cache-dir torch==2.3.0 numpy"
        )
    );
    let names: Vec<&str> = plan.fixes[0]
        .packages
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["nvidia_cublas_cu12", "triton", "torch (its CUDA libraries)"]
    );
    // The nccl wheel the next RUN names stays, and the note says so with its bytes.
    assert!(
        plan.notes.iter().any(|n| n.contains("nvidia_nccl_cu12 (")),
        "{:?}",
        plan.notes
    );

    let site = "usr/local/lib/python3.11/site-packages";
    let mut nvrtc = with_device_code(
        case,
        &format!("{site}/nvidia/cuda_nvrtc/lib/libnvrtc.so.12"),
        Some("nvidia_cuda_nvrtc_cu12"),
    );
    nvrtc
        .dockerfile
        .push_str("COPY libkernels.so /opt/kernels/\n");
    let analysis = analysis_of(&nvrtc.image);
    let cpu = FixOptions::default().cpu_only(true);
    let kept =
        dive_core::fix::plan(&analysis, "Dockerfile", nvrtc.dockerfile.as_bytes(), &cpu).unwrap();
    assert_eq!(kept.fixes.len(), 1);
    assert!(
        kept.notes
            .iter()
            .any(|n| n.contains("nvidia_cuda_nvrtc_cu12 (")),
        "{:?}",
        kept.notes
    );
}

/// BuildKit's provenance (`mode=max`) pairs layers with lines exactly. An image whose
/// history names no command (as some exporters write) still gets the ledger's edits when it
/// carries provenance of this very file; provenance of another version of the file is not
/// used, and the history then refuses the file.
#[test]
fn provenance_pairs_layers_with_lines_and_wins() {
    use dive_testdata::{LayoutOptions, attach_provenance, oci_layout};
    let mut case = fix_cases()
        .into_iter()
        .find(|c| c.name == "crlf-continuations")
        .unwrap();
    for layer in case.image.layers.iter_mut().skip(1) {
        layer.created_by = "exported by a builder that keeps no commands".to_owned();
    }
    // The base image, then the RUNs at lines 4 and 7 and the COPY at line 10.
    let lines = [None, Some(4), Some(7), Some(10)];
    let built = build(&case.image).unwrap();
    let with_provenance = |text: &str| {
        let (mut files, paths) = oci_layout(&[&built], LayoutOptions::default()).unwrap();
        let digests: Vec<String> = paths[0]
            .iter()
            .map(|p| format!("sha256:{}", p.rsplit('/').next().unwrap()))
            .collect();
        attach_provenance(&mut files, &digests, text, &lines, &[]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        files.write_dir(dir.path()).unwrap();
        let analysis = dive_core::analyze(dive_core::Source::path(dir.path())).unwrap();
        (dir, analysis)
    };
    let (_dir, analysis) = with_provenance(&case.dockerfile);
    let exact = plan(
        &analysis,
        "Dockerfile",
        case.dockerfile.as_bytes(),
        &FixOptions::default(),
    )
    .unwrap();
    assert_eq!(exact.matched_by, "provenance");
    let got: Vec<(usize, u64)> = exact.fixes.iter().map(|f| (f.line, f.saving)).collect();
    let mut want: Vec<(usize, u64)> = case.fixes.iter().map(|(l, _, b)| (*l, *b)).collect();
    want.sort_unstable();
    let mut got_sorted = got.clone();
    got_sorted.sort_unstable();
    assert_eq!(got_sorted, want, "{:#?}", exact.fixes);
    // `report --dockerfile` pairs them the same way.
    let mut reported = analysis.clone();
    reported
        .match_dockerfile("Dockerfile", case.dockerfile.as_bytes(), None)
        .unwrap();
    let reported: Vec<Option<usize>> = (0..4)
        .map(|l| reported.dockerfile_line(l).map(|(_, line)| line))
        .collect();
    assert_eq!(reported, lines);

    // Provenance of another version of the file: the history is matched, and refuses.
    let (_other, analysis) = with_provenance(&format!("{}# v2\r\n", case.dockerfile));
    let err = plan(
        &analysis,
        "Dockerfile",
        case.dockerfile.as_bytes(),
        &FixOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, DockerfileError::Mismatch { .. }), "{err}");
}

/// Two torches in one `RUN` (the system's and a venv's): one edit at each `pip install`,
/// each CUDA wheel and each torch's CUDA libraries claimed once. A `RUN` that reads a
/// requirements file, or a Dockerfile that sets pip's configuration, is refused: pip may
/// read a CUDA pin or another index there.
#[test]
fn the_cpu_index_claims_each_wheel_once_and_refuses_what_pip_may_read_elsewhere() {
    use dive_testdata::fix_cases::{cpu_index, cpu_index_two_sites};
    let cpu = FixOptions::default().cpu_only(true);
    let case = cpu_index_two_sites();
    let analysis = analysis_of(&case.image);
    let two = plan(&analysis, "Dockerfile", case.dockerfile.as_bytes(), &cpu).unwrap();
    assert_eq!(two.fixes.len(), 1, "{:#?}", two.fixes);
    assert_eq!(two.fixes[0].saving, case.fixes[0].2);
    assert_eq!(two.patched().matches("--extra-index-url").count(), 2);

    for (from, to, why) in [
        (
            "torch==2.3.0 numpy",
            "-r requirements.txt",
            "gives pip `-r`",
        ),
        (
            "FROM python:3.11-slim\n",
            "FROM python:3.11-slim\nENV PIP_INDEX_URL=https://mirror.example/simple\n",
            "line 2 sets pip's configuration",
        ),
    ] {
        let mut other = cpu_index();
        other.dockerfile = other.dockerfile.replace(from, to);
        for layer in &mut other.image.layers {
            layer.created_by = layer.created_by.replace(from, to);
        }
        let analysis = analysis_of(&other.image);
        let refused = plan(&analysis, "Dockerfile", other.dockerfile.as_bytes(), &cpu).unwrap();
        assert!(refused.fixes.iter().all(|f| f.finding.is_none()), "{why}");
        assert!(
            refused.notes.iter().any(|n| n.contains(why)),
            "{why}: {:?}",
            refused.notes
        );
    }
}

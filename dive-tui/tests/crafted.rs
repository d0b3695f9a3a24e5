//! Crafted images (docs/limits.md): each written as an attacker would to make one stage of
//! the analysis costly (`dive_testdata::crafted`), analysed by the built `dive-rs --json` in
//! a child process. Its peak RSS, as the kernel counted it for that child (`wait4`), is held
//! to the budget, and its answer to what the image holds: a stage that stops at a cap says so
//! in a warning and reports no false figure. Time is held by counts in dive-core's tests
//! (`budgets.rs`, the fat binary reader's), never by a clock.
//!
//! A child's peak starts from its parent's size at the moment it was started (the kernel
//! carries the address space's high-water mark across `exec`), and this process has just
//! written the image: so `dive-rs` is started by a fresh copy of this binary
//! ([`measuring_process`], a few MiB), which reports the peak of its one child.
//!
//! Here at a tenth of the table's sizes (`CRAFTED_SCALE=1` for those; `benches/crafted.sh`
//! runs them at full scale against the build before, and prints the figures).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};

use dive_testdata::crafted::{CRAFTED, Written, sections_sweep, write_crafted};
use dive_testdata::rss::wait_with_peak;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_dive-rs");
/// What [`measuring_process`] is given: the image, and the files for dive-rs's output.
const MEASURE: &str = "DIVE_RS_CRAFTED_IMAGE";
const MEASURE_OUT: &str = "DIVE_RS_CRAFTED_OUT";
const MEASURE_ERR: &str = "DIVE_RS_CRAFTED_ERR";

/// Fixed windows of any analysis: read blocks, decoded chunks, the threads' stacks, the
/// largest ELF reading (fat binaries, 30 MiB at most).
const FIXED_KIB: u64 = 64 * 1024;
/// An entry's records across the layer index, the tree, the attribution and the JSON
/// document (about 300 bytes measured; a duplicate group adds its paths again).
const PER_ENTRY_BYTES: u64 = 600;
/// A package database is held compressed (at most its size as read) and, one at a time,
/// read back whole to be parsed.
const DATABASE_TIMES: u64 = 2;
/// A dependency a program or archive records, kept (16,384 a layer at most): in the layer's
/// record, the package and the JSON document.
const PER_DEPENDENCY_BYTES: u64 = 1024;

fn scale() -> f64 {
    std::env::var("CRAFTED_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.1)
}

/// The memory budget of an image: fixed windows, a record per entry, each path kept whole
/// twice (the layer's record, the document's string; paths are at most `--max-path`), and
/// the package databases read.
fn budget_kib(written: &Written) -> u64 {
    // Package databases are held up to a layer's allowance (--max-metadata, 1 KiB an entry).
    let databases = written
        .database_bytes
        .min((64 << 20) + 1024 * written.entries);
    let dependencies = written
        .recorded_dependencies
        .min(16_384 * written.layers as u64);
    FIXED_KIB
        + (PER_ENTRY_BYTES * written.entries
            + 2 * written.path_bytes
            + DATABASE_TIMES * databases
            + PER_DEPENDENCY_BYTES * dependencies)
            / 1024
}

/// What `dive-rs IMAGE --json` said of the crafted image `name`, and the child's peak.
struct Run {
    written: Written,
    json: Value,
}

impl Run {
    fn warned(&self, what: &str) -> bool {
        self.json["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["message"].as_str().unwrap().contains(what))
    }
}

fn run(name: &str) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join(format!("{name}.tar"));
    let written = write_crafted(name, &image, scale()).unwrap();
    let (out, err) = (dir.path().join("out.json"), dir.path().join("err.txt"));
    let measuring = Command::new(std::env::current_exe().unwrap())
        .args([
            "measuring_process",
            "--exact",
            "--ignored",
            "--nocapture",
            "-q",
        ])
        .env(MEASURE, &image)
        .env(MEASURE_OUT, &out)
        .env(MEASURE_ERR, &err)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&measuring.stdout);
    let (peak_kib, code) = said
        .lines()
        .find_map(|line| {
            let rest = line.strip_prefix("dive-rs ended: ")?;
            let (peak, code) = rest.split_once(' ')?;
            Some((peak.parse::<u64>().ok()?, code.to_owned()))
        })
        .unwrap_or_else(|| panic!("{name}: the measuring process said {said}"));
    let stderr = std::fs::read_to_string(&err).unwrap();
    assert_eq!(code, "0", "{name}: {stderr}");
    let json: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let budget = budget_kib(&written);
    eprintln!(
        "{name}: {} {}, {} entries: peak {peak_kib} KiB of a {budget} KiB budget",
        written.count,
        CRAFTED.iter().find(|c| c.name == name).unwrap().unit,
        written.entries,
    );
    assert!(
        peak_kib <= budget,
        "{name}: peak RSS {peak_kib} KiB over the budget of {budget} KiB ({written:?})"
    );
    Run { written, json }
}

/// Not a test: the process [`run`] starts to start `dive-rs IMAGE --json` and report the
/// peak RSS the kernel counted for it (`wait4`). Ignored, so that only [`run`] runs it (by
/// its exact name, with `--ignored`).
#[test]
#[ignore = "the measuring process of run(), started by it"]
fn measuring_process() {
    let (Some(image), Some(out), Some(err)) = (
        std::env::var_os(MEASURE),
        std::env::var_os(MEASURE_OUT),
        std::env::var_os(MEASURE_ERR),
    ) else {
        return;
    };
    let child = Command::new(BIN)
        .arg(image)
        .arg("--json")
        .env_remove("CI")
        .stdin(Stdio::null())
        .stdout(File::create(out).unwrap())
        .stderr(File::create(err).unwrap())
        .spawn()
        .unwrap();
    let ended = wait_with_peak(child).unwrap();
    let code = ended.code.map_or("signal".to_owned(), |c| c.to_string());
    println!("dive-rs ended: {} {code}", ended.peak_kib);
}

fn cuda_files(run: &Run) -> &Vec<Value> {
    run.json["cuda"]["files"].as_array().unwrap()
}

#[test]
fn a_section_of_fat_binary_magic_numbers() {
    let run = run("fatbin-magic");
    assert!(cuda_files(&run).is_empty());
    assert!(run.warned("more bad fat binaries"));
}

#[test]
fn a_section_of_empty_fat_binaries() {
    let run = run("fatbin-empty");
    assert!(run.warned("were not followed"));
    assert_eq!(run.json["cuda"]["device_bytes"], 0);
}

#[test]
fn sections_that_overlap_are_counted_once() {
    let run = run("fatbin-sections");
    let files = cuda_files(&run);
    assert_eq!(files.len() as u64, 2 * run.written.count);
    let device: u64 = sections_sweep()
        .iter()
        .map(dive_testdata::FatEntry::file_bytes)
        .sum();
    for file in files {
        assert_eq!(file["device_bytes"], device, "{file}");
        // The fat binary's own 16-byte header: overlapping sections add nothing.
        assert_eq!(file["container_bytes"], 16, "{file}");
    }
    assert!(run.warned("sections overlap"));
}

#[test]
fn fat_binaries_nested_in_each_other() {
    let run = run("fatbin-nested");
    assert!(run.warned("headers; the rest were not read"));
}

#[test]
fn chains_followed_at_once_over_magic_numbers() {
    let run = run("fatbin-chains");
    // The first of the 64 nested fat binaries holds; the others lie inside it.
    assert_eq!(cuda_files(&run).len(), 1);
}

#[test]
fn a_fat_binary_claiming_every_architecture_is_not_device_code() {
    let run = run("fatbin-archs");
    assert!(cuda_files(&run).is_empty());
    assert!(run.warned("GPU architectures"));
}

#[test]
fn files_that_share_size_and_head_are_no_duplicates() {
    let run = run("same-head");
    assert_eq!(run.json["duplicates"], Value::Array(Vec::new()));
    assert_eq!(run.json["image"]["final_files"], run.written.count);
}

#[test]
fn one_large_group_of_identical_files() {
    let run = run("identical");
    let groups = run.json["duplicates"].as_array().unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0]["count"], run.written.count);
    assert_eq!(groups[0]["evidence"], "blake3");
    assert_eq!(
        groups[0]["reclaimable_bytes"],
        (run.written.count - 1) * 4096
    );
}

#[test]
fn chains_of_nested_directories() {
    let run = run("deep-dirs");
    // Each chain: 2,000 levels, a 16-byte file at each, rewritten by the second layer.
    let files = run.written.count * 2_000;
    assert_eq!(run.json["image"]["final_files"], files);
    assert_eq!(run.json["image"]["final_bytes"], files * 16);
    assert_eq!(run.json["image"]["hidden_bytes"], files * 16);
}

/// Directories an image's paths may pass through beyond one per entry (dive-core's
/// allowance, docs/limits.md).
const DIRECTORIES_BEYOND_ENTRIES: u64 = 65_536;

/// Checks what an image's figures must always satisfy: every shipped byte is final or hidden.
fn assert_ledger_adds_up(run: &Run) {
    let image = &run.json["image"];
    let (total, final_bytes, hidden) = (
        image["total_file_bytes"].as_u64().unwrap(),
        image["final_bytes"].as_u64().unwrap(),
        image["hidden_bytes"].as_u64().unwrap(),
    );
    assert_eq!(total, final_bytes + hidden, "{image}");
    let layers: u64 = run.json["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["file_bytes"].as_u64().unwrap())
        .sum();
    assert_eq!(layers, total, "{image}");
}

#[test]
fn files_at_the_end_of_fresh_chains_of_implied_directories() {
    let run = run("implied-dirs");
    // Each file's path passes through `x`, `x/<i>` and 2,030 `a`s no entry lists: the
    // files whose directories fit the image's allowance (one per entry and 65,536) are
    // kept, the rest skipped with a warning and counted nowhere.
    let count = run.written.count;
    let per_file = 1 + dive_testdata::crafted::IMPLIED_DEPTH as u64;
    let kept = ((count + DIRECTORIES_BEYOND_ENTRIES - 1) / per_file).min(count);
    assert!(
        kept < count,
        "{kept} of {count}: the allowance is never reached"
    );
    assert_eq!(run.json["image"]["final_files"], kept);
    assert_eq!(run.json["image"]["final_bytes"], kept * 16);
    assert_ledger_adds_up(&run);
    assert!(run.warned("allowance"));
    assert!(run.warned(&format!(
        "{} more warnings about entries",
        count - kept - 100
    )));
    // dive's figures count the same files: one layer, no path twice.
    assert_eq!(run.json["image"]["dive_efficiency"], 1.0);
    assert_eq!(run.json["image"]["dive_wasted_bytes"], 0);
}

#[test]
fn a_whiteout_and_an_opaque_marker_over_deep_implied_directories() {
    let run = run("whiteout-deep");
    // Every chain fits the allowance at a tenth of the full size; the whiteout of `top`
    // and the opaque marker on `opq` remove them all.
    let count = run.written.count;
    let per_chain = 1 + dive_testdata::crafted::WHITEOUT_DEPTH as u64;
    let kept = ((run.written.entries + DIRECTORIES_BEYOND_ENTRIES - 2) / per_chain).min(count);
    assert_eq!(run.json["image"]["final_files"], 0);
    assert_eq!(run.json["image"]["final_bytes"], 0);
    assert_eq!(run.json["image"]["hidden_bytes"], kept * 16);
    assert_ledger_adds_up(&run);
    let deleted = run.json["waste"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["class"] == "hidden-deleted")
        .map_or(0, |w| w["bytes"].as_u64().unwrap());
    assert_eq!(deleted, kept * 16);
}

#[test]
fn sparse_files_claiming_more_than_any_file_holds() {
    let run = run("sparse-size");
    // Each is counted at 16 TiB, with a warning naming it; no sum wraps, no figure is
    // NaN, and the debug build (which these tests run) does not panic on an overflow.
    let count = run.written.count;
    let image = &run.json["image"];
    let expected = count * (1 << 44) + 1;
    assert_eq!(image["final_bytes"], expected);
    assert_eq!(image["total_file_bytes"], expected);
    assert_eq!(image["efficiency"], 1.0);
    assert_eq!(image["dive_efficiency"], 1.0);
    assert_ledger_adds_up(&run);
    assert!(run.warned(&format!(
        "claims a real size of {} bytes",
        dive_testdata::crafted::SPARSE_CLAIM
    )));
}

#[test]
fn hard_links_to_one_file() {
    let run = run("hardlinks");
    // One content at a million paths.
    assert_eq!(run.json["image"]["final_bytes"], 4096);
    assert_eq!(run.json["image"]["final_files"], 1);
}

#[test]
fn a_chain_of_symlinks_and_a_loop() {
    let run = run("symlink-chain");
    assert_eq!(run.json["image"]["final_files"], 1);
    assert_eq!(run.json["image"]["final_bytes"], 5);
}

#[test]
fn pax_headers_full_of_records() {
    let run = run("pax-records");
    assert_eq!(run.json["image"]["final_files"], run.written.count);
}

#[test]
fn many_layers_of_one_file() {
    let run = run("many-layers");
    assert_eq!(
        run.json["layers"].as_array().unwrap().len() as u64,
        run.written.count
    );
    assert_eq!(run.json["image"]["final_bytes"], run.written.count * 1024);
}

#[test]
fn secrets_candidates_past_the_layers_allowance_and_a_huge_env() {
    let run = run("secrets");
    // Each layer reads heads up to 64 MiB and counts the candidates past it; of the many
    // values found, 1,024 a layer are listed.
    assert!(run.warned("candidate files not read"));
    assert!(run.warned("more values found and not listed"));
    let secrets = run.json["secrets"].as_array().unwrap();
    assert_eq!(secrets.len(), 2 * 1024, "a layer lists 1,024");
    // The .env of 2 KiB per candidate: its head only, at most 8 values a file.
    let env = secrets.iter().filter(|s| s["path"] == "app/.env").count();
    assert_eq!(env, 8);
    assert!(secrets.iter().all(|s| {
        s["rule"] == "github-token"
            && s["redacted"]
                .as_str()
                .unwrap()
                .starts_with("ghp_[REDACTED:40:")
    }));
    assert!(!run.json.to_string().contains("0123456789abcdefghij"));
}

#[test]
fn an_entry_warning_for_every_entry() {
    let run = run("warnings");
    let warnings = run.json["warnings"].as_array().unwrap();
    // Per stage a hundred said, the rest counted in one more: half the entries warned of
    // in the walk (names climbing above /), half in the merge (hard links to nothing).
    assert!(warnings.len() <= 2 * 101 + 2, "{}", warnings.len());
    let counted = run.written.count / 2 - 100;
    let said = |what: &str| {
        warnings
            .iter()
            .filter(|w| w["message"].as_str().unwrap().contains(what))
            .count()
    };
    assert_eq!(
        said(&format!("{counted} more warnings about entries")),
        2,
        "{warnings:?}"
    );
}

#[test]
fn package_databases_past_the_layers_allowance() {
    let run = run("databases");
    // --max-metadata (64 MiB) and 1 KiB per entry before: four of the 16 MiB RECORDs, of
    // which no more paths are read than the image could hold.
    assert!(run.warned("package database not read"));
    assert!(run.warned("list more paths than the image holds entries"));
    let packages = run.json["packages"].as_array().unwrap();
    assert_eq!(packages.len(), 4);
}

/// The package `name` of `ecosystem` in the document, if listed.
fn package<'a>(run: &'a Run, ecosystem: &str, name: &str) -> Option<&'a Value> {
    run.json["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["ecosystem"] == ecosystem && p["name"] == name)
}

#[test]
fn package_databases_naming_long_or_many_paths() {
    let run = run("databases-wide");
    // Lines naming paths longer than PATH_MAX are skipped unbuilt (the apk files under a
    // 64 KiB directory, the RECORD line of 32,000 components) ...
    assert!(run.warned("are longer than 4096 bytes"));
    // ... the rest kept while the image's room lasts: the 2,000 directories of each line
    // of the newest RECORD spend it, and the databases under it are cut.
    assert!(run.warned("list more paths than the image holds entries"));
    // Its dist was read first, whole: it owns its RECORD, in its own dist-info directory.
    let wide = package(&run, "pip", "wide").expect("the newest RECORD's dist");
    assert_eq!(wide["files"], 1, "{wide}");
    // A line of 32,000 components names no file, but its dist owns its RECORD.
    assert_eq!(package(&run, "pip", "long").unwrap()["files"], 1);
}

#[test]
fn package_databases_under_long_directories() {
    let run = run("databases-prefix");
    // Each empty file is the conda prefix, 3.8 KiB: the bytes of the room are spent at
    // 4,400 of them, and the RECORD's lines under a site directory as long are not kept.
    assert!(run.warned("list more paths than the image holds entries"));
    assert_eq!(package(&run, "conda", "x").unwrap()["files"], 1);
    assert_eq!(package(&run, "pip", "deep").unwrap()["files"], 1);
}

#[test]
fn sparse_files_are_never_read_in_place() {
    let run = run("sparse");
    // Their data in the tar is a stored block, not their content: never compared.
    for group in run.json["duplicates"].as_array().unwrap() {
        let paths = group["paths"].to_string();
        assert!(
            !paths.contains("/srv/a") && !paths.contains("/srv/b"),
            "{group}"
        );
        assert!(!paths.contains("/srv/claims"), "{group}");
    }
    // Nor searched for ELF sections: the lying one's point into the next file.
    let files: Vec<&str> = cuda_files(&run)
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(files, ["/opt/b.so"]);
}

#[test]
fn an_apt_step_that_deletes_docs() {
    let run = run("apt-docs");
    assert_eq!(run.json["reinstalls"], Value::Array(Vec::new()));
    // The docs of the base's three packages, deleted: their own finding.
    let deleted = run.json["waste"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["class"] == "hidden-deleted")
        .unwrap();
    assert_eq!(deleted["bytes"], 16_400);
}

#[test]
fn a_chown_of_installed_packages() {
    let run = run("chown");
    // Every package's own record was written again, as it was: no reinstall.
    assert_eq!(run.json["reinstalls"], Value::Array(Vec::new()));
    let hidden = |class: &str| {
        run.json["waste"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["class"] == class)
            .map(|w| w["bytes"].clone())
    };
    let spec = dive_testdata::reinstall::chown_recursive();
    let rewritten = dive_testdata::reinstall::bytes_of(&spec.layers[2].ops);
    let edited = dive_testdata::reinstall::SED_EDITED.1;
    assert_eq!(
        hidden("hidden-metadata-only"),
        Some((rewritten - edited).into())
    );
    assert_eq!(hidden("hidden-overwritten"), Some(edited.into()));
}

/// Every crafted image has its test here, so a new one cannot go unmeasured.
#[test]
fn every_crafted_image_is_measured() {
    let source =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/crafted.rs"))
            .unwrap();
    for case in CRAFTED {
        assert!(
            source.contains(&format!("run(\"{}\")", case.name)),
            "no test runs the crafted image {}",
            case.name
        );
    }
}

#[test]
fn rpm_databases_of_hostile_headers_and_looping_pages() {
    let run = run("rpm-headers");
    // The header listing every file is read as far as the room goes; the file the image
    // holds is its own.
    assert!(run.warned("list more paths than the image holds entries"));
    let huge = package(&run, "rpm", "huge").expect("the header listing every file");
    assert_eq!(huge["files"], 1, "{huge}");
    assert!(run.warned("2000 package headers were damaged"));
    // The Berkeley DB file's chains name themselves: read once, said.
    assert!(run.warned("damaged at byte"));
}

#[test]
fn programs_and_archives_that_lie_about_what_they_record() {
    let run = run("recorded");
    assert!(run.warned("inflates past 8388608 bytes"));
    assert!(run.warned("record more than 16384"));
    assert!(run.warned("Go build info's version is cut short"));
    let packages = run.json["packages"].as_array().unwrap();
    let listing = packages
        .iter()
        .filter(|p| p["name"] == "example.com/wide" && p["dependencies"].as_array().is_some())
        .count();
    assert!(
        (6..=8).contains(&listing),
        "{listing} of {}",
        run.written.count
    );
}

//! `dive-rs sbom`: CycloneDX 1.6 and SPDX 2.3 documents that the formats' own tools accept
//! (cyclonedx-python-lib's strict 1.6 schema validator, `pyspdxtools -i`, in the venv
//! `scripts/test` makes, named by `SBOM_PYTHON`), whose bytes per package are `--json`'s,
//! for the demo, the CUDA image and (with rpm installed) the Red Hat-family image.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use dive_testdata::tools::{Tool, available};
use dive_testdata::{Compression, ImageSpec, build, docker25};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_dive-rs");

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/demo/ml-service.tar")
}

fn run(args: &[&str]) -> (i32, Vec<u8>, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json_of(args: &[&str]) -> Value {
    let (code, stdout, stderr) = run(args);
    assert_eq!(code, 0, "{args:?}: {stderr}");
    serde_json::from_slice(&stdout).unwrap()
}

/// The validators, when `scripts/test` installed them.
fn validators() -> Option<PathBuf> {
    let tool = Tool::FileIn("SBOM_PYTHON");
    available(&[tool]).then(|| PathBuf::from(std::env::var_os("SBOM_PYTHON").unwrap()))
}

/// Checks both documents of `image` with the formats' own tools.
fn validate(python: &Path, image: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let cdx = dir.path().join("bom.cdx.json");
    let spdx = dir.path().join("bom.spdx.json");
    let image = image.to_str().unwrap();
    for (path, args) in [
        (
            &cdx,
            vec!["sbom", image, "--format", "cyclonedx", "--files"],
        ),
        (&spdx, vec!["sbom", image, "--format", "spdx"]),
    ] {
        let (code, stdout, stderr) = run(&args);
        assert_eq!(code, 0, "{stderr}");
        std::fs::write(path, stdout).unwrap();
    }
    let check = "import sys\n\
        from cyclonedx.schema import SchemaVersion\n\
        from cyclonedx.validation.json import JsonStrictValidator\n\
        error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(open(sys.argv[1]).read())\n\
        sys.exit(str(error) if error else 0)\n";
    let out = Command::new(python)
        .args(["-c", check])
        .arg(&cdx)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "CycloneDX: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pyspdxtools = python.with_file_name("pyspdxtools");
    let out = Command::new(pyspdxtools)
        .arg("-i")
        .arg(&spdx)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !said.contains("ERROR"),
        "SPDX: {said}"
    );
}

/// `spec` as a Docker 25 `docker save` tar at `path`.
fn save(spec: &ImageSpec, path: &Path) -> PathBuf {
    let built = build(spec).unwrap();
    std::fs::write(path, docker25(&[&built], Compression::Gzip, false).unwrap()).unwrap();
    path.to_path_buf()
}

/// Our properties of a CycloneDX component, by name.
fn properties(component: &Value) -> std::collections::BTreeMap<String, String> {
    component["properties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Every package of `--json` is a component with its bytes, and the image its subject.
fn assert_bytes_match_json(image: &Path) {
    let image = image.to_str().unwrap();
    let analysis = json_of(&[image, "--json"]);
    let bom = json_of(&["sbom", image, "--files"]);
    // Installed packages only (a removed one ships hidden bytes only), and the OS apart.
    let packages: Vec<&Value> = analysis["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["installed"] == true)
        .collect();
    let components: Vec<&Value> = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["type"] != "operating-system")
        .collect();
    assert_eq!(components.len(), packages.len());
    for (package, component) in packages.iter().zip(&components) {
        let props = properties(component);
        let name = package["name"].as_str().unwrap();
        assert_eq!(component["name"], package["name"]);
        assert_eq!(
            props["dive-rs:bytes_visible"],
            package["bytes"].to_string(),
            "{name}"
        );
        assert_eq!(
            props["dive-rs:bytes_hidden"],
            package["hidden_bytes"].to_string(),
            "{name}"
        );
        let shipped =
            package["bytes"].as_u64().unwrap() + package["hidden_bytes"].as_u64().unwrap();
        assert_eq!(
            props["dive-rs:bytes_shipped"],
            shipped.to_string(),
            "{name}"
        );
        assert_eq!(
            props["dive-rs:ecosystem"],
            package["ecosystem"].as_str().unwrap()
        );
        let layers: Vec<String> = package["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(props["dive-rs:layers"], layers.join(","), "{name}");
        // Its visible files, each once: as many as --json counts.
        let evidence = component["evidence"]["occurrences"]
            .as_array()
            .map_or(0, Vec::len);
        assert_eq!(
            evidence as u64,
            package["files"].as_u64().unwrap(),
            "{name}"
        );
        assert!(component["purl"].as_str().unwrap().starts_with("pkg:"));
    }
    let subject = &bom["metadata"]["component"];
    assert_eq!(subject["version"], analysis["image"]["config_digest"]);
    assert_eq!(subject["type"], "container");
}

#[test]
fn the_demos_sbom_holds_the_bytes_of_json_and_validates() {
    let demo = demo();
    assert_bytes_match_json(&demo);
    let bom = json_of(&["sbom", demo.to_str().unwrap()]);
    let torch = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "torch")
        .unwrap();
    assert_eq!(torch["purl"], "pkg:pypi/torch@2.3.0");
    assert_eq!(properties(torch)["dive-rs:family"], "torch");
    // Without --files, no evidence.
    assert!(torch.get("evidence").is_none());
    if let Some(python) = validators() {
        validate(&python, &demo);
    }
}

#[test]
fn the_cuda_images_sbom_carries_device_code_and_validates() {
    let dir = tempfile::tempdir().unwrap();
    let path = save(&dive_testdata::cuda_image(), &dir.path().join("cuda.tar"));
    assert_bytes_match_json(&path);
    let bom = json_of(&["sbom", path.to_str().unwrap()]);
    let device: u64 = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| {
            properties(c)
                .get("dive-rs:gpu_device_code_bytes")
                .map(|b| b.parse::<u64>().unwrap())
        })
        .sum();
    let analysis = json_of(&[path.to_str().unwrap(), "--json"]);
    let owned: u64 = analysis["cuda"]["by_package"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["bytes"].as_u64().unwrap())
        .sum();
    assert!(device > 0);
    assert_eq!(device, owned);
    if let Some(python) = validators() {
        validate(&python, &path);
    }
}

#[test]
fn the_torch_cuda_shapes_sbom_validates() {
    // The 13 GB torch+CUDA shape (benches/), its sizes shrunk a thousandfold: 33k paths,
    // 4 layers. It is a shape of bytes and paths, with no package database: the subject
    // and every (unowned) figure, no component.
    use dive_testdata::large::{shrunk, torch_cuda_image};
    let dir = tempfile::tempdir().unwrap();
    let path = save(
        &shrunk(&torch_cuda_image(), 1000),
        &dir.path().join("torch.tar"),
    );
    assert_bytes_match_json(&path);
    if let Some(python) = validators() {
        validate(&python, &path);
    }
}

#[test]
fn the_rpm_images_sbom_names_each_rpm_with_its_purl_and_license() {
    if !available(&dive_testdata::rpm::TOOLS) {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let image: ImageSpec =
        dive_testdata::rpm::rpm_image(work.path(), dive_testdata::rpm::DbForm::Sqlite)
            .unwrap()
            .spec;
    let path = save(&image, &work.path().join("ubi.tar"));
    assert_bytes_match_json(&path);
    let bom = json_of(&["sbom", path.to_str().unwrap()]);
    let glibc = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "glibc")
        .unwrap();
    assert_eq!(glibc["version"], "2:2.34-100.el9");
    assert_eq!(
        glibc["purl"],
        "pkg:rpm/redhat/glibc@2.34-100.el9?arch=noarch&distro=rhel-9.4&epoch=2"
    );
    assert_eq!(
        glibc["licenses"][0]["license"]["name"],
        "LGPL-2.1-or-later AND GPL-2.0-or-later"
    );
    // The OS, for scanners to find its packages' advisories; the erased gcc-c++ only as
    // removed bytes.
    let os = &bom["components"][0];
    assert_eq!(
        (&os["type"], &os["name"], &os["version"]),
        (&"operating-system".into(), &"rhel".into(), &"9.4".into())
    );
    assert!(
        !bom["components"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "gcc-c++")
    );
    let removed = bom["metadata"]["component"]["properties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "dive-rs:removed_package_bytes")
        .unwrap();
    assert_eq!(removed["value"], "2100000");
    let spdx = json_of(&["sbom", path.to_str().unwrap(), "--format", "spdx"]);
    let licenses = spdx["hasExtractedLicensingInfos"].as_array().unwrap();
    assert!(licenses.iter().any(|l| l["extractedText"] == "MIT"));
    if let Some(python) = validators() {
        validate(&python, &path);
    }
}

#[test]
fn programs_are_components_with_the_modules_and_crates_they_record() {
    use dive_testdata::binaries::{
        CARGO_TOOLS, GO_TOOLS, go_programs, programs_image, rust_program,
    };
    if !available(&GO_TOOLS) || !available(&CARGO_TOOLS) {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let [go, _] = go_programs(work.path()).unwrap();
    let rust = rust_program(work.path()).unwrap();
    let image = programs_image(&[&go, &rust]).unwrap();
    let path = save(&image, &work.path().join("programs.tar"));
    assert_bytes_match_json(&path);
    let bom = json_of(&["sbom", path.to_str().unwrap()]);
    let components = bom["components"].as_array().unwrap();
    let named = |name: &str| components.iter().find(|c| c["name"] == name).unwrap();
    let tool = named("example.com/divetool");
    assert_eq!(tool["purl"], "pkg:golang/example.com/divetool");
    let toolchain = go.expected.toolchain.as_deref().unwrap();
    assert_eq!(properties(tool)["dive-rs:toolchain"], toolchain);
    // Its modules and Go's standard library, nested, each with its purl; the graph says
    // the program depends on them.
    let parts: Vec<(&str, &str)> = (tool["components"].as_array().unwrap().iter())
        .map(|c| (c["name"].as_str().unwrap(), c["purl"].as_str().unwrap()))
        .collect();
    let stdlib = format!("pkg:golang/stdlib@{}", toolchain.trim_start_matches("go"));
    assert_eq!(
        parts,
        [
            ("stdlib", stdlib.as_str()),
            ("example.com/greet", "pkg:golang/example.com/greet"),
            ("example.com/quote", "pkg:golang/example.com/quote@v1.5.2"),
        ]
    );
    let graph = bom["dependencies"].as_array().unwrap();
    let edges = graph.iter().find(|d| d["ref"] == tool["bom-ref"]).unwrap();
    assert_eq!(edges["dependsOn"].as_array().unwrap().len(), 3);
    let crate_parts: Vec<&str> = (named("divetool-rs")["components"]
        .as_array()
        .unwrap()
        .iter())
    .map(|c| c["purl"].as_str().unwrap())
    .collect();
    assert_eq!(
        crate_parts,
        ["pkg:cargo/helper@0.3.1", "pkg:cargo/inner@1.0.0"]
    );
    let spdx = json_of(&["sbom", path.to_str().unwrap(), "--format", "spdx"]);
    let links = (spdx["relationships"].as_array().unwrap().iter())
        .filter(|r| r["relationshipType"] == "STATIC_LINK")
        .count();
    assert_eq!(links, 3 + 2);
    if let Some(python) = validators() {
        validate(&python, &path);
    }
}

#[test]
fn a_fat_jar_is_a_component_with_the_archives_nested_in_it() {
    use dive_testdata::binaries::{copy_layer, spring_boot_jar};
    let (jar, _) = spring_boot_jar().unwrap();
    let image = ImageSpec::new(
        "java/shop:2.3.1",
        vec![copy_layer("app/shop-2.3.1.jar", jar)],
    );
    let work = tempfile::tempdir().unwrap();
    let path = save(&image, &work.path().join("shop.tar"));
    assert_bytes_match_json(&path);
    let bom = json_of(&["sbom", path.to_str().unwrap()]);
    let shop = &bom["components"][0];
    assert_eq!(shop["purl"], "pkg:maven/com.example/shop@2.3.1");
    assert_eq!(properties(shop)["dive-rs:toolchain"], "17");
    let parts: Vec<&str> = (shop["components"].as_array().unwrap().iter())
        .map(|c| c["purl"].as_str().unwrap())
        .collect();
    assert_eq!(
        parts,
        [
            "pkg:maven/com.google.guava/guava@32.1.2-jre",
            "pkg:maven/org.shaded/tiny@0.9",
            "pkg:maven/org.slf4j/slf4j-api@2.0.9",
            "pkg:maven/plain-lib@1.4",
        ]
    );
    let spdx = json_of(&["sbom", path.to_str().unwrap(), "--format", "spdx"]);
    let contains = (spdx["relationships"].as_array().unwrap().iter())
        .filter(|r| r["relationshipType"] == "CONTAINS")
        .count();
    // The image holds the jar, the jar its four archives.
    assert_eq!(contains, 1 + 4);
    if let Some(python) = validators() {
        validate(&python, &path);
    }
}

#[test]
fn spdx_with_files_is_refused_with_the_reason() {
    let (code, stdout, stderr) = run(&[
        "sbom",
        demo().to_str().unwrap(),
        "--format",
        "spdx",
        "--files",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty());
    assert!(stderr.contains("SHA-1"), "{stderr}");
}

//! Secrets in files, visible and hidden, and in the config and history: every form of one
//! image reports what its generator lists (`dive_testdata::secrets::expected`), each value
//! redacted, in the JSON that the schema checks.

use dive_core::Analysis;
use dive_testdata::secrets::{Expected, VALUES, expected, secrets_image};

use crate::common::{self, all_forms, analyses_of};

fn found(analysis: &Analysis) -> Vec<Expected> {
    let mut found: Vec<Expected> = analysis
        .secrets
        .iter()
        .filter(|s| s.source.name() != "annotation")
        .map(|s| {
            let place = s.path.as_deref().or(s.name.as_deref()).unwrap_or("");
            (
                s.source.name(),
                s.layer,
                &*place.to_owned().leak(),
                s.rule,
                s.hidden_by_layer,
                s.example,
            )
        })
        .collect();
    found.sort();
    found
}

#[test]
fn every_form_reports_the_generators_secrets_visible_and_hidden() {
    let built = dive_testdata::build(&secrets_image()).unwrap();
    let mut seen = 0;
    for form in all_forms(&built) {
        for (name, analysis) in analyses_of(&form) {
            assert_eq!(found(&analysis), expected(), "{name}");
            for secret in &analysis.secrets {
                assert!(secret.redacted.contains("[REDACTED"), "{name}: {secret:?}");
                assert_eq!(secret.visible, secret.hidden_by_layer.is_none(), "{name}");
            }
            let json = serde_json::to_string(&dive_core::report::to_json(&analysis)).unwrap();
            for value in VALUES {
                assert!(!json.contains(value), "{name}: the JSON holds {value}");
            }
            seen += 1;
        }
    }
    assert!(seen >= 12, "{seen} analyses");
}

#[test]
fn the_json_lists_secrets_as_its_schema_says() {
    let built = dive_testdata::build(&secrets_image()).unwrap();
    let bytes =
        dive_testdata::docker25(&[&built], dive_testdata::Compression::Gzip, false).unwrap();
    let analysis = common::analyze_stream(bytes);
    let json = dive_core::report::to_json(&analysis);
    common::assert_valid(&json, "analysis.v4.schema.json");
    let key = json["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["path"] == "root/.ssh/id_ed25519")
        .unwrap();
    assert_eq!(key["source"], "file");
    assert_eq!(key["layer"], 1);
    assert_eq!(key["hidden_by_layer"], 2);
    assert_eq!(key["visible"], false);
    assert_eq!(key["confidence"], "high");
    assert_eq!(key["line"], 1);
}

#[test]
fn a_saved_scan_and_the_layer_cache_keep_the_secrets() {
    let built = dive_testdata::build(&secrets_image()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("image.tar");
    std::fs::write(
        &image,
        dive_testdata::docker25(&[&built], dive_testdata::Compression::Zstd, false).unwrap(),
    )
    .unwrap();
    let analysis = common::analyze_path(&image);
    let scan = dir.path().join("scan.dive");
    dive_core::scan::save(&analysis, &scan).unwrap();
    let saved = std::fs::read(&scan).unwrap();
    for value in VALUES {
        assert!(
            !saved.windows(value.len()).any(|w| w == value.as_bytes()),
            "{value}"
        );
    }
    let loaded = common::analyze_path(&scan);
    assert_eq!(found(&loaded), expected(), "the saved scan");

    let cache = dir.path().join("cache");
    for round in ["stored", "loaded"] {
        let analysis = dive_core::AnalyzerBuilder::new()
            .cache(&cache)
            .build()
            .analyze(dive_core::Source::path(&image), &())
            .unwrap();
        assert_eq!(found(&analysis), expected(), "cache {round}");
    }
}

/// A real build: `podman build --isolation=chroot --build-arg HF_TOKEN=…` of a Dockerfile
/// that copies a key, deletes it in the next step (which uses the token), and copies a
/// `.env`. buildah records the build argument in the history as BuildKit does.
#[test]
fn a_real_podman_build_ships_its_build_argument_and_the_deleted_key() {
    use dive_testdata::podman::{BASE_TAG, base_rootfs};
    use dive_testdata::secrets::{DB_PASSWORD, HF_TOKEN, SSH_KEY};
    use dive_testdata::tools::{Tool, available};

    use crate::fix_podman::{Tags, podman};
    if !available(&[Tool::Program("podman"), Tool::Program("busybox")]) {
        return;
    }
    let busybox = std::process::Command::new("sh")
        .args(["-c", "command -v busybox"])
        .output()
        .unwrap()
        .stdout;
    let busybox = std::fs::read(String::from_utf8(busybox).unwrap().trim()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tag = "localhost/dive-rs-secrets:podman";
    let _tags = Tags(vec![BASE_TAG.to_owned(), tag.to_owned()]);
    std::fs::write(
        dir.path().join("rootfs.tar"),
        base_rootfs(&busybox).unwrap(),
    )
    .unwrap();
    podman(&["import", "--quiet", "rootfs.tar", BASE_TAG], dir.path());
    std::fs::write(dir.path().join("id_ed25519"), SSH_KEY).unwrap();
    std::fs::write(
        dir.path().join("app.env"),
        format!("DB_PASSWORD={DB_PASSWORD}\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!(
            "FROM {BASE_TAG}\nARG HF_TOKEN\nCOPY id_ed25519 /root/.ssh/id_ed25519\n\
             RUN rm /root/.ssh/id_ed25519 && test -n \"$HF_TOKEN\"\nCOPY app.env /app/.env\n"
        ),
    )
    .unwrap();
    let build_arg = format!("HF_TOKEN={HF_TOKEN}");
    podman(
        &[
            "build",
            "--isolation=chroot",
            "--quiet",
            "--build-arg",
            &build_arg,
            "--tag",
            tag,
            ".",
        ],
        dir.path(),
    );
    podman(
        &[
            "save",
            "--format",
            "docker-archive",
            "--output",
            "image.tar",
            tag,
        ],
        dir.path(),
    );
    let analysis = common::analyze_path(&dir.path().join("image.tar"));
    let found: Vec<(&str, &str, bool)> = (analysis.secrets.iter())
        .filter(|s| s.source.name() != "env")
        .map(|s| (s.source.name(), s.rule, s.visible))
        .collect();
    assert_eq!(
        found,
        [
            ("history", "huggingface-token", true),
            ("file", "ssh-private-key", false),
            ("file", "dotenv-secret", true),
        ],
        "{:#?}",
        analysis.secrets
    );
    let key = &analysis.secrets[1];
    let (added, hidden_by) = (key.layer.unwrap(), key.hidden_by_layer.unwrap());
    assert_eq!(hidden_by, added + 1, "deleted by the next step");
    assert_eq!(
        analysis.secrets[0].layer,
        Some(hidden_by),
        "the RUN that used the token"
    );
    let json = serde_json::to_string(&dive_core::report::to_json(&analysis)).unwrap();
    let summary = dive_core::report::summary(&analysis, Default::default());
    for value in [HF_TOKEN, DB_PASSWORD, "QyNTUxOQAAACDdiverssecretkeybody"] {
        assert!(!json.contains(value) && !summary.contains(value), "{value}");
    }
}

fn analysed(layers: Vec<dive_testdata::LayerSpec>) -> Analysis {
    let spec = dive_testdata::ImageSpec::new("secrets/case:1", layers);
    let built = dive_testdata::build(&spec).unwrap();
    let bytes = dive_testdata::docker_legacy(&[&built], false).unwrap();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), bytes).unwrap();
    common::analyze_path(file.path())
}

/// `COPY .env` then `RUN chown -R app /app`: the same bytes rewritten, still visible; one
/// finding, visible, in the layer that shows it, never "deleted".
#[test]
fn a_rewrite_of_the_same_bytes_is_no_hidden_secret() {
    use dive_testdata::{LayerSpec, Op, Stamp};
    let env = "DB_PASSWORD=c0rrect-h0rse-battery-staple\n";
    let chowned = Stamp {
        uid: 1000,
        gid: 1000,
        ..Stamp::default()
    };
    let analysis = analysed(vec![
        LayerSpec::new("COPY .env /app/.env", vec![Op::text("app/.env", env)]),
        LayerSpec::new(
            "RUN chown -R app /app",
            vec![Op::text("app/.env", env).stamped(chowned)],
        ),
    ]);
    let found: Vec<(Option<usize>, bool)> = (analysis.secrets.iter())
        .map(|s| (s.layer, s.visible))
        .collect();
    assert_eq!(found, [(Some(1), true)], "{:#?}", analysis.secrets);
}

/// Text files past the layer's allowance never keep a key from being read: named
/// credential files have their own.
#[test]
fn text_files_cannot_crowd_out_a_key() {
    use dive_testdata::secrets::SSH_KEY;
    use dive_testdata::{LayerSpec, Op};
    let filler = "{\"k\": 1}\n".repeat(64 << 10 >> 4 << 1);
    let mut ops: Vec<Op> = (0..1_100)
        .map(|i| Op::text(&format!("app/dist/chunk{i}.json"), filler.clone()))
        .collect();
    ops.push(Op::text("root/.ssh/id_rsa", SSH_KEY));
    let analysis = analysed(vec![LayerSpec::new("COPY . /", ops)]);
    let rules: Vec<&str> = analysis.secrets.iter().map(|s| s.rule).collect();
    assert_eq!(rules, ["ssh-private-key"]);
    assert!(
        (analysis.warnings.iter()).any(|w| w.message.contains("candidate files not read")),
        "{:?}",
        analysis.warnings
    );
}

/// Test fixtures full of keys never crowd out a real secret; the gate counts each distinct
/// value once, examples not at all.
#[test]
fn examples_never_crowd_out_a_real_secret_and_values_count_once() {
    use dive_core::report::gate::{self, Measured, Rules};
    use dive_testdata::secrets::SSH_KEY;
    use dive_testdata::{LayerSpec, Op};
    let mut ops: Vec<Op> = (0..300)
        .map(|i| Op::text(&format!("app/tests/fixtures/key{i}.pem"), SSH_KEY.repeat(8)))
        .collect();
    let env = "DB_PASSWORD=c0rrect-h0rse-battery-staple\n";
    ops.push(Op::text("app/.env", env));
    ops.push(Op::text("srv/.env", env));
    let analysis = analysed(vec![LayerSpec::new("COPY . /", ops)]);
    let real: Vec<&str> = (analysis.secrets.iter())
        .filter(|s| !s.example)
        .map(|s| s.path.as_deref().unwrap())
        .collect();
    assert_eq!(real, ["app/.env", "srv/.env"]);
    let examples = analysis.secrets.iter().filter(|s| s.example).count();
    assert_eq!(examples, 256, "examples kept apart, up to their count");
    let gate = gate::evaluate(&analysis, &Rules::dive_defaults());
    let secrets = gate.results.iter().find(|r| r.rule == "secrets").unwrap();
    assert_eq!(
        secrets.measured,
        Measured::Count(1),
        "one value in two files"
    );
}

/// BuildKit's provenance (`mode=max`) records build arguments' values, and manifests carry
/// annotations: both are read, redacted, with the argument's or annotation's name.
#[test]
fn provenance_build_arguments_and_annotations_are_read() {
    use dive_testdata::secrets::{GITHUB_TOKEN, HF_TOKEN};
    use dive_testdata::{LayoutOptions, attach_provenance, oci_layout};
    let mut spec = secrets_image();
    spec.annotations = vec![(
        "org.example.deploy-token".to_owned(),
        GITHUB_TOKEN.to_owned(),
    )];
    let built = dive_testdata::build(&spec).unwrap();
    let (mut files, paths) = oci_layout(&[&built], LayoutOptions::default()).unwrap();
    let digests: Vec<String> = paths[0]
        .iter()
        .map(|p| format!("sha256:{}", p.rsplit('/').next().unwrap()))
        .collect();
    let lines = vec![None; digests.len()];
    let args = [("HF_TOKEN", HF_TOKEN), ("PYTHON_VERSION", "3.11")];
    attach_provenance(&mut files, &digests, "FROM scratch\n", &lines, &args).unwrap();
    let dir = tempfile::tempdir().unwrap();
    files.write_dir(dir.path()).unwrap();
    let analysis = common::analyze_path(dir.path());
    let of = |source: &str| -> Vec<(&str, &str)> {
        (analysis.secrets.iter())
            .filter(|s| s.source.name() == source)
            .map(|s| (s.name.as_deref().unwrap(), s.rule))
            .collect()
    };
    assert_eq!(of("provenance"), [("HF_TOKEN", "huggingface-token")]);
    assert_eq!(
        of("annotation"),
        [("org.example.deploy-token", "github-token")]
    );
    let json = serde_json::to_string(&dive_core::report::to_json(&analysis)).unwrap();
    for value in VALUES {
        assert!(!json.contains(value), "{value}");
    }
}

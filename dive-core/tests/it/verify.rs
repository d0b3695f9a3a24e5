//! `--verify`: layer digests computed in the walking pass equal the generator's `diff_ids` and
//! `sha256sum` of the blobs; a changed byte anywhere in a layer is an error naming the layer.

use std::path::Path;
use std::process::Command;

use common::{Form, all_forms};
use dive_core::{Analysis, AnalyzerBuilder, Error, Source};

use crate::common;

fn verified(source: Source) -> Result<Analysis, Error> {
    AnalyzerBuilder::new()
        .verify(true)
        .build()
        .analyze(source, &())
}

/// `sha256:<hex>` of a file, as GNU coreutils computes it.
fn sha256sum(path: &Path) -> String {
    let output = Command::new("sha256sum").arg(path).output().unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    format!("sha256:{}", text.split_whitespace().next().unwrap())
}

#[test]
fn digests_equal_the_generators_diff_ids_and_sha256sum_in_every_form() {
    let built = dive_testdata::build(&dive_testdata::rich_image()).unwrap();
    let mut checked_blobs = 0;
    for form in all_forms(&built) {
        let mut runs: Vec<(String, Analysis, Option<std::path::PathBuf>)> = Vec::new();
        match &form {
            Form::Dir(name, dir) => runs.push((
                name.to_string(),
                verified(Source::path(dir.path())).unwrap(),
                Some(dir.path().to_owned()),
            )),
            Form::Tar(name, bytes) => {
                let file = tempfile::NamedTempFile::new().unwrap();
                std::fs::write(file.path(), bytes).unwrap();
                runs.push((
                    format!("{name} (file)"),
                    verified(Source::path(file.path())).unwrap(),
                    None,
                ));
                let stream = Source::reader("-", std::io::Cursor::new(bytes.clone()));
                runs.push((format!("{name} (stream)"), verified(stream).unwrap(), None));
            }
        }
        for (name, analysis, dir) in runs {
            assert!(analysis.image.verified, "{name}");
            for i in 0..analysis.layers.len() {
                let index = analysis.layer_index(i).unwrap();
                let digests = index.digests.as_ref().unwrap();
                assert_eq!(digests.tar, built.diff_ids[i], "{name}: layer {i}");
                let layer = &analysis.layers[i];
                if let Some(dir) = &dir {
                    assert_eq!(
                        digests.blob,
                        sha256sum(&dir.join(&layer.blob)),
                        "{name}: layer {i}"
                    );
                    checked_blobs += 1;
                }
            }
        }
    }
    assert!(checked_blobs >= 12);
}

/// Flips one byte of file content inside layer `layer` of a `docker save` tar.
fn tamper(archive: &mut [u8], analysis: &Analysis, layer: usize) -> String {
    let blob = &analysis.layers[layer].blob;
    let mut outer = tar::Archive::new(std::io::Cursor::new(&archive[..]));
    let start = outer
        .entries()
        .unwrap()
        .map(Result::unwrap)
        .find(|e| e.path().unwrap().to_string_lossy() == *blob)
        .unwrap()
        .raw_file_position();
    let entry = analysis
        .layer_index(layer)
        .unwrap()
        .entries
        .iter()
        .find(|e| e.size > 0)
        .unwrap();
    archive[(start + entry.data_offset()) as usize] ^= 0x55;
    String::from_utf8_lossy(&entry.path).into_owned()
}

#[test]
fn a_changed_byte_in_a_layer_passes_unverified_and_fails_verified() {
    let built = dive_testdata::build(&dive_testdata::rich_image()).unwrap();
    let mut bytes = dive_testdata::docker_legacy(&[&built], false).unwrap();
    let clean = common::analyze_stream(bytes.clone());
    tamper(&mut bytes, &clean, 1);
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &bytes).unwrap();

    // Without --verify the tar is still well formed: the change goes unseen.
    let unverified = common::analyze_path(file.path());
    assert!(!unverified.image.verified);

    for source in [
        Source::path(file.path()),
        Source::reader("-", std::io::Cursor::new(bytes.clone())),
    ] {
        let err = verified(source).unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, Error::Format { .. }), "{message}");
        assert!(
            message.contains("layer 1 (")
                && message.contains("the config's diff_id is")
                && message.contains(&built.diff_ids[1]),
            "{message}"
        );
    }
}

#[test]
fn a_blob_that_does_not_match_the_manifest_digest_is_named() {
    let built = dive_testdata::build(&dive_testdata::rich_image()).unwrap();
    let dir = common::oci_dir(&built, dive_testdata::Compression::None);
    let clean = common::analyze_path(dir.path());
    let blob = dir.path().join(&clean.layers[0].blob);
    let mut bytes = std::fs::read(&blob).unwrap();
    let entry = clean
        .layer_index(0)
        .unwrap()
        .entries
        .iter()
        .find(|e| e.size > 0)
        .unwrap();
    bytes[entry.data_offset() as usize] ^= 0x55;
    std::fs::write(&blob, &bytes).unwrap();
    let message = verified(Source::path(dir.path())).unwrap_err().to_string();
    assert!(
        message.contains("layer 0 (")
            && message.contains("the manifest's layer digest is")
            && message.contains(&sha256sum(&blob)),
        "{message}"
    );
}

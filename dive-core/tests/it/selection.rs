//! Choosing one image and one platform from inputs that hold several, and saying what is there.

use dive_core::{AnalyzerBuilder, Error, Source};
use dive_testdata::{Compression, LayoutOptions, MediaTypes};

fn two_platform_dir() -> tempfile::TempDir {
    let built: Vec<_> = dive_testdata::two_platforms()
        .iter()
        .map(|s| dive_testdata::build(s).unwrap())
        .collect();
    let refs: Vec<_> = built.iter().collect();
    let dir = tempfile::tempdir().unwrap();
    let options = LayoutOptions {
        compression: Compression::Zstd,
        media: MediaTypes::Oci,
        nested_index: true,
    };
    dive_testdata::oci_layout(&refs, options)
        .unwrap()
        .0
        .write_dir(dir.path())
        .unwrap();
    dir
}

fn server_size(analysis: &dive_core::Analysis) -> u64 {
    let id = analysis.tree.lookup(b"app/server").unwrap();
    analysis.tree.node(id).bytes
}

#[test]
fn a_multi_platform_index_defaults_to_linux_amd64_and_skips_attestations() {
    let dir = two_platform_dir();
    let analysis = AnalyzerBuilder::new()
        .build()
        .analyze(Source::path(dir.path()), &())
        .unwrap();
    assert_eq!(analysis.image.platform.as_deref(), Some("linux/amd64"));
    assert_eq!(server_size(&analysis), 40_000);
    assert_eq!(analysis.image.reference.as_deref(), Some("multi/app:1"));
}

#[test]
fn platform_picks_the_arm64_variant() {
    let dir = two_platform_dir();
    for wanted in ["linux/arm64", "linux/arm64/v8"] {
        let analysis = AnalyzerBuilder::new()
            .platform(wanted)
            .build()
            .analyze(Source::path(dir.path()), &())
            .unwrap();
        assert_eq!(
            analysis.image.platform.as_deref(),
            Some("linux/arm64/v8"),
            "{wanted}"
        );
        assert_eq!(server_size(&analysis), 50_000);
    }
}

#[test]
fn a_missing_platform_is_refused_with_the_list_of_what_is_there() {
    let dir = two_platform_dir();
    let err = AnalyzerBuilder::new()
        .platform("linux/s390x")
        .build()
        .analyze(Source::path(dir.path()), &())
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Selection { .. }), "{text}");
    assert!(
        text.contains("linux/amd64") && text.contains("linux/arm64/v8"),
        "{text}"
    );
    assert!(
        !text.contains("unknown"),
        "attestations are not offered: {text}"
    );
}

#[test]
fn a_bad_platform_string_is_explained() {
    let dir = two_platform_dir();
    let err = AnalyzerBuilder::new()
        .platform("arm64")
        .build()
        .analyze(Source::path(dir.path()), &())
        .unwrap_err();
    assert!(err.to_string().contains("os/arch"), "{err}");
}

fn two_image_archive() -> tempfile::NamedTempFile {
    let rich = dive_testdata::build(&dive_testdata::rich_image()).unwrap();
    let small = dive_testdata::build(&dive_testdata::two_platforms()[0]).unwrap();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        file.path(),
        dive_testdata::docker_legacy(&[&rich, &small], false).unwrap(),
    )
    .unwrap();
    file
}

#[test]
fn an_archive_with_two_images_lists_them_when_none_is_chosen() {
    let file = two_image_archive();
    let err = dive_core::analyze(Source::path(file.path())).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("2 images")
            && text.contains("fixture/rich:1.0")
            && text.contains("multi/app:1"),
        "{text}"
    );
    assert!(text.contains("--image"), "{text}");
}

#[test]
fn image_picks_by_tag_short_name_or_config_digest() {
    let file = two_image_archive();
    let by_tag = AnalyzerBuilder::new()
        .image("multi/app:1")
        .build()
        .analyze(Source::path(file.path()), &())
        .unwrap();
    assert_eq!(by_tag.image.reference.as_deref(), Some("multi/app:1"));
    let digest = by_tag.image.config_digest.clone();
    let short = &digest["sha256:".len().."sha256:".len() + 12];
    let by_digest = AnalyzerBuilder::new()
        .image(short)
        .build()
        .analyze(Source::path(file.path()), &())
        .unwrap();
    assert_eq!(by_digest.image.config_digest, digest);
    let err = AnalyzerBuilder::new()
        .image("nope:9")
        .build()
        .analyze(Source::path(file.path()), &())
        .unwrap_err();
    assert!(
        err.to_string().contains("no image matches \"nope:9\""),
        "{err}"
    );
}

#[test]
fn skopeo_style_prefixes_name_the_same_inputs() {
    let dir = two_platform_dir();
    let spec = format!("oci:{}:1", dir.path().display());
    let analysis = dive_core::analyze(Source::parse(&spec).unwrap()).unwrap();
    assert_eq!(analysis.image.platform.as_deref(), Some("linux/amd64"));
    let file = two_image_archive();
    let spec = format!("docker-archive:{}:fixture/rich:1.0", file.path().display());
    let analysis = dive_core::analyze(Source::parse(&spec).unwrap()).unwrap();
    assert_eq!(
        analysis.image.reference.as_deref(),
        Some("fixture/rich:1.0")
    );
    assert!(matches!(
        Source::parse("oci-archive:/no/such/file.tar"),
        Err(Error::Source { .. })
    ));
}

#[test]
fn a_manifest_naming_a_missing_blob_is_a_clear_error() {
    let built = dive_testdata::build(&dive_testdata::rich_image()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (files, layers) = dive_testdata::oci_layout(&[&built], LayoutOptions::default()).unwrap();
    files.write_dir(dir.path()).unwrap();
    std::fs::remove_file(dir.path().join(&layers[0][1])).unwrap();
    let err = dive_core::analyze(Source::path(dir.path())).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("layer 1 (sha256:") && text.contains("does not contain it"),
        "{text}"
    );
}

#[test]
fn a_directory_that_is_not_an_image_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let err = dive_core::analyze(Source::path(dir.path())).unwrap_err();
    assert!(err.to_string().contains("not a container image"), "{err}");
}

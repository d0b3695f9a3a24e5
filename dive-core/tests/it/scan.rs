//! Saved scans: written, opened again without the image, and equal to the original analysis.

use std::io::Write;

use common::{all_forms, analyses_of, analyze_path};
use dive_core::tree::HiddenReason;
use dive_core::{Analysis, AnalyzerBuilder, Error, InodeId, Source, report, scan};

use crate::common;

/// Everything a view or report reads, compared field by field.
fn assert_same(name: &str, original: &Analysis, loaded: &Analysis) {
    assert_eq!(
        report::to_json(original),
        report::to_json(loaded),
        "{name}: JSON"
    );
    assert_eq!(
        report::summary(original, Default::default()),
        report::summary(loaded, Default::default()),
        "{name}: summary"
    );
    assert_eq!(original.hidden, loaded.hidden, "{name}: hidden");
    for l in 0..original.layers.len() {
        assert_eq!(
            original.layer_changes(l),
            loaded.layer_changes(l),
            "{name}: changes"
        );
    }
    assert_eq!(original.warnings, loaded.warnings, "{name}: warnings");
    let owners = |a: &Analysis| -> Vec<Option<u32>> {
        (0..a.tree.inodes().len())
            .map(|i| a.attribution.owner_of(InodeId(i as u32)))
            .collect()
    };
    assert_eq!(owners(original), owners(loaded), "{name}: owners");
    assert_eq!(
        common::final_tree(original),
        common::final_tree(loaded),
        "{name}: tree"
    );
    for l in 0..original.layers.len() {
        let (a, b) = (
            original.layer_index(l).unwrap(),
            loaded.layer_index(l).unwrap(),
        );
        assert_eq!(a.entries, b.entries, "{name}: entries");
        assert_eq!(a.captured, b.captured, "{name}: captured");
    }
}

fn round_trip(analysis: &Analysis) -> (tempfile::TempDir, Analysis) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scan.dive");
    scan::save(analysis, &path).unwrap();
    assert!(scan::is_scan(&path));
    let loaded = analyze_path(&path);
    (dir, loaded)
}

#[test]
fn a_saved_scan_opens_to_the_same_analysis_in_every_form() {
    let spec = dive_testdata::rich_image();
    let built = dive_testdata::build(&spec).unwrap();
    let mut metadata_only = 0;
    for form in all_forms(&built) {
        for (name, original) in analyses_of(&form) {
            let (_dir, loaded) = round_trip(&original);
            assert_same(&name, &original, &loaded);
            metadata_only += original
                .hidden
                .iter()
                .filter(|h| h.reason == HiddenReason::MetadataOnly)
                .count();
        }
    }
    // Plain layers in a file are compared by reading contents during the merge; a scan
    // must keep what was read, or these would come back as "overwritten".
    assert!(metadata_only > 0, "the fixture has a chmod-only rewrite");
}

#[test]
fn the_demo_scan_is_small_and_the_image_is_not_needed() {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("demo.tar");
    std::fs::copy("../testdata/demo/ml-service.tar", &image).unwrap();
    let original = analyze_path(&image);
    let saved = dir.path().join("demo.dive");
    scan::save(&original, &saved).unwrap();
    std::fs::remove_file(&image).unwrap();
    let loaded = analyze_path(&saved);
    assert_same("demo", &original, &loaded);
    let size = std::fs::metadata(&saved).unwrap().len();
    assert!(
        size * 20 < original.image.size_compressed,
        "a scan holds metadata only: {size} bytes for a {} byte image",
        original.image.size_compressed
    );
}

fn open_error(bytes: &[u8]) -> String {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(bytes).unwrap();
    let err = AnalyzerBuilder::new()
        .build()
        .analyze(Source::path(file.path()), &())
        .unwrap_err();
    assert!(matches!(err, Error::Format { .. }), "{err}");
    err.to_string()
}

#[test]
fn other_formats_and_damaged_scans_are_refused_with_a_reason() {
    let original = analyze_path(std::path::Path::new("../testdata/demo/ml-service.tar"));
    let mut bytes = Vec::new();
    scan::write(&original, &mut bytes).unwrap();
    let header = 14;

    let mut older = bytes.clone();
    older[header..header + 4].copy_from_slice(&0u32.to_le_bytes());
    let message = open_error(&older);
    assert!(
        message.contains("format 0") && message.contains("scan the image again"),
        "{message}"
    );

    let message = open_error(&bytes[..bytes.len() / 2]);
    assert!(message.contains("damaged"), "{message}");

    let message = open_error(&bytes[..header + 2]);
    assert!(message.contains("inside its header"), "{message}");

    // A well-formed frame whose content is not a scan.
    let mut junk = bytes[..header + 4].to_vec();
    junk.extend(zstd::encode_all(&b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"[..], 1).unwrap());
    let message = open_error(&junk);
    assert!(message.contains("damaged"), "{message}");
}

/// A warning's layer (from the walk or the merge) comes back from a saved scan with its
/// index, digest and blob, and reads as it did.
#[test]
fn a_warnings_layer_survives_a_saved_scan() {
    use dive_testdata::raw::{archive, docker_save, file, link};
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("image.tar");
    let layers = vec![
        archive(&[file("etc/a", b"a")]),
        archive(&[link("etc/h", "etc/missing", b'1'), file("etc/b", b"b")]),
    ];
    std::fs::write(&image, docker_save(layers)).unwrap();
    let original = common::analyze_path(&image);
    let with_layer: Vec<_> = original
        .warnings
        .iter()
        .filter(|w| w.location.layer.as_ref().is_some_and(|l| l.index == 1))
        .collect();
    assert!(!with_layer.is_empty(), "{:?}", original.warnings);
    let (_keep, loaded) = round_trip(&original);
    assert_eq!(loaded.warnings, original.warnings);
    let shown: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert!(
        shown.iter().any(|w| w.contains(": layer 1 (sha256:")),
        "{shown:?}"
    );
}

/// An analysis made in two steps (the merge first, the attribution after, as the interactive
/// view makes it) is the analysis made in one, and so is its saved scan: the contents the
/// merge and the duplicates read are kept as in one step.
#[test]
fn an_analysis_made_in_two_steps_is_the_one_made_in_one() {
    let built = dive_testdata::build(&dive_testdata::rich_image()).unwrap();
    let mut compared = 0;
    for form in all_forms(&built) {
        let (name, _keep, path) = match &form {
            common::Form::Tar(name, bytes) => {
                let file = tempfile::NamedTempFile::new().unwrap();
                std::fs::write(file.path(), bytes).unwrap();
                let path = file.path().to_path_buf();
                (*name, Some(file), path)
            }
            common::Form::Dir(name, dir) => (*name, None, dir.path().to_path_buf()),
        };
        let analyzer = AnalyzerBuilder::new().build();
        let whole = analyzer.analyze(Source::path(&path), &()).unwrap();
        let (mut stepped, attributing) =
            analyzer.analyze_in_steps(Source::path(&path), &()).unwrap();
        assert!(stepped.attribution.packages.is_empty(), "{name}");
        assert_eq!(stepped.image.final_bytes, whole.image.final_bytes, "{name}");
        // Same-size rewrites of plain layers wait for their contents to be compared (a
        // stream hashed them as it passed); the rest is final.
        assert_eq!(stepped.hidden.len(), whole.hidden.len(), "{name}");
        for (early, done) in stepped.hidden.iter().zip(&whole.hidden) {
            if stepped.is_being_compared(early.inode) {
                compared += 1;
                assert_eq!(early.reason, HiddenReason::Overwritten, "{name}");
                assert_eq!(
                    (&early.path, early.bytes),
                    (&done.path, done.bytes),
                    "{name}"
                );
            } else {
                assert_eq!(early, done, "{name}");
            }
        }
        let attributed = attributing.run(&stepped);
        stepped.set_attribution(attributed);
        assert_same(name, &whole, &stepped);
        assert!(
            stepped
                .hidden
                .iter()
                .all(|h| !stepped.is_being_compared(h.inode))
        );
        let (_dir, loaded) = round_trip(&stepped);
        assert_same(name, &whole, &loaded);
    }
    assert!(
        compared > 0,
        "the fixture's chmod-only rewrite waits in plain layers"
    );
}

//! Truncated inputs never panic or hang: each gives an error that names the input, or an
//! analysis whose warnings say what is missing.

use std::io::Cursor;

use dive_core::{AnalyzerBuilder, Source};

fn cut_points(len: usize) -> Vec<usize> {
    let mut cuts: Vec<usize> = (0..len.min(96 * 1024)).step_by(512).collect();
    cuts.extend((0..len).step_by(7_919));
    for back in [1, 100, 511, 512, 513, 1024, 1500, 4096] {
        cuts.push(len.saturating_sub(back));
    }
    cuts.sort_unstable();
    cuts.dedup();
    cuts
}

fn check(name: &str, bytes: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.tar");
    let analyzer = AnalyzerBuilder::new().threads(1).build();
    let (mut errors, mut warned, mut clean) = (0, 0, 0);
    for cut in cut_points(bytes.len()) {
        let piece = &bytes[..cut];
        std::fs::write(&path, piece).unwrap();
        for source in [
            Source::path(&path),
            Source::reader("-", Cursor::new(piece.to_vec())),
        ] {
            let input = source.name();
            match analyzer.analyze(source, &()) {
                Err(err) => {
                    errors += 1;
                    assert!(
                        err.to_string().starts_with(&input),
                        "{name} cut at {cut}: error must name the input: {err}"
                    );
                }
                Ok(analysis) => {
                    let image = &analysis.image;
                    assert_eq!(
                        image.total_file_bytes,
                        image.final_bytes + image.hidden_bytes,
                        "{name} cut at {cut}"
                    );
                    if analysis.warnings.is_empty() {
                        clean += 1;
                    } else {
                        warned += 1;
                    }
                }
            }
        }
    }
    assert!(errors > 0, "{name}: losing the manifest must be an error");
    eprintln!("{name}: {errors} errors, {warned} analyses with warnings, {clean} clean");
}

#[test]
fn truncated_docker_archives_never_panic() {
    let built = dive_testdata::build(&dive_testdata::rich_image()).unwrap();
    check(
        "legacy",
        &dive_testdata::docker_legacy(&[&built], false).unwrap(),
    );
    check(
        "docker 25 gzip",
        &dive_testdata::docker25(&[&built], dive_testdata::Compression::Gzip, true).unwrap(),
    );
}

#[test]
fn truncated_oci_archives_never_panic() {
    let built = dive_testdata::build(&dive_testdata::rich_image()).unwrap();
    let options = dive_testdata::LayoutOptions {
        compression: dive_testdata::Compression::Zstd,
        ..Default::default()
    };
    check(
        "oci-archive zstd",
        &dive_testdata::oci_layout(&[&built], options)
            .unwrap()
            .0
            .to_tar()
            .unwrap(),
    );
}

/// A layer cut inside its data still gives every entry before the cut, and says where.
#[test]
fn a_layer_cut_in_the_middle_keeps_what_came_before() {
    let mut built = dive_testdata::build(&dive_testdata::rich_image()).unwrap();
    let keep = built.layers[0].len() / 2;
    built.layers[0].truncate(keep);
    let bytes = dive_testdata::docker_legacy(&[&built], false).unwrap();
    let analysis = dive_core::analyze(Source::reader("-", Cursor::new(bytes))).unwrap();
    let warning = analysis
        .warnings
        .iter()
        .find(|w| w.message.contains("truncated"))
        .unwrap_or_else(|| panic!("a truncation warning in {:#?}", analysis.warnings));
    assert!(
        warning.location.layer.as_ref().unwrap().index == 0,
        "{warning}"
    );
    assert!(warning.location.offset.is_some(), "{warning}");
    assert!(
        analysis.tree.lookup(b"bin/busybox").is_none(),
        "deleted by layer 1 as before"
    );
    assert!(analysis.layers[0].entries > 3);
}

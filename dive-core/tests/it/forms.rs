//! Every source form of one image gives the ledger the generator computed independently.

use common::{all_forms, analyses_of, assert_matches_ledger};
use dive_core::layer::Compression;
use dive_core::tree::HiddenReason;

use crate::common;

#[test]
fn every_form_by_path_and_by_stream_matches_the_generators_ledger() {
    let spec = dive_testdata::rich_image();
    let built = dive_testdata::build(&spec).unwrap();
    let ledger = dive_testdata::ledger(&spec);
    assert!(
        ledger.hidden_bytes > 0 && ledger.final_bytes > 0,
        "the fixture exercises both sides"
    );
    let mut seen = 0;
    for form in all_forms(&built) {
        for (name, analysis) in analyses_of(&form) {
            assert_matches_ledger(&name, &analysis, &ledger);
            assert_eq!(
                analysis
                    .image
                    .reference
                    .as_deref()
                    .map(|r| r.ends_with("rich:1.0")),
                Some(true),
                "{name}"
            );
            assert_eq!(
                analysis.image.platform.as_deref(),
                Some("linux/amd64"),
                "{name}"
            );
            for (i, layer) in analysis.layers.iter().enumerate() {
                assert_eq!(
                    layer.diff_id.as_deref(),
                    Some(built.diff_ids[i].as_str()),
                    "{name}: diff_id {i}"
                );
                assert_eq!(
                    layer.size_uncompressed,
                    built.layers[i].len() as u64,
                    "{name}: tar size {i}"
                );
                assert!(layer.digest.is_some(), "{name}: digest {i}");
                if layer.compression == Compression::None {
                    assert_eq!(layer.size_compressed, layer.size_uncompressed, "{name}");
                }
            }
            let commands: Vec<&str> = analysis
                .layers
                .iter()
                .map(|l| l.created_by.as_deref().unwrap_or(""))
                .collect();
            let expected: Vec<&str> = spec.layers.iter().map(|l| l.created_by.as_str()).collect();
            assert_eq!(
                commands, expected,
                "{name}: empty_layer history entries are skipped"
            );
            seen += 1;
        }
    }
    assert_eq!(seen, 14);
}

#[test]
fn compressed_layers_report_blob_digest_and_media_type() {
    let spec = dive_testdata::rich_image();
    let built = dive_testdata::build(&spec).unwrap();
    let bytes =
        dive_testdata::docker25(&[&built], dive_testdata::Compression::Gzip, false).unwrap();
    let analysis = common::analyze_stream(bytes);
    for (i, layer) in analysis.layers.iter().enumerate() {
        let blob =
            dive_testdata::compress(&built.layers[i], dive_testdata::Compression::Gzip).unwrap();
        assert_eq!(
            layer.digest.as_deref(),
            Some(dive_testdata::digest(&blob).as_str())
        );
        assert_eq!(layer.size_compressed, blob.len() as u64);
        assert_eq!(layer.compression, Compression::Gzip);
        assert_eq!(
            layer.media_type.as_deref(),
            Some("application/vnd.oci.image.layer.v1.tar+gzip")
        );
    }
}

#[test]
fn a_gzipped_docker_save_is_read_from_a_file_and_a_stream() {
    let spec = dive_testdata::rich_image();
    let built = dive_testdata::build(&spec).unwrap();
    let plain = dive_testdata::docker_legacy(&[&built], false).unwrap();
    let gz = dive_testdata::compress(&plain, dive_testdata::Compression::Gzip).unwrap();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &gz).unwrap();
    let ledger = dive_testdata::ledger(&spec);
    assert_matches_ledger(
        "docker save | gzip (file)",
        &common::analyze_path(file.path()),
        &ledger,
    );
    assert_matches_ledger(
        "docker save | gzip (stream)",
        &common::analyze_stream(gz),
        &ledger,
    );
}

#[test]
fn the_committed_demo_matches_its_generator() {
    let analysis = common::analyze_path(common::demo_path());
    let ledger = dive_testdata::ledger(&dive_testdata::demo_image());
    assert_matches_ledger(
        "demo (rerun `gen-testdata demo` if the generator changed)",
        &analysis,
        &ledger,
    );
    assert!(analysis.warnings.is_empty(), "{:?}", analysis.warnings);
}

/// Each entry says what it did to the image below it; the ledger's naive model agrees,
/// including a path deleted with its directory and set again by the same layer.
#[test]
fn every_entry_knows_whether_it_added_modified_or_removed() {
    use dive_testdata::{ImageSpec, LayerSpec, Op};
    let spec = ImageSpec::new(
        "changes:1",
        vec![
            LayerSpec::new(
                "base",
                vec![
                    Op::dir("app"),
                    Op::file("app/a.py", 100, 1),
                    Op::file("app/lib/b.so", 200, 2),
                    Op::dir("etc"),
                    Op::file("etc/keep", 10, 3),
                ],
            ),
            LayerSpec::new(
                "rework",
                vec![
                    Op::whiteout("app"),
                    Op::file("app/lib/b.so", 200, 4),
                    Op::file("app/new.py", 50, 5),
                    Op::whiteout("never-there"),
                    Op::opaque("etc"),
                    Op::opaque("empty"),
                    Op::file("etc/keep", 10, 3),
                ],
            ),
        ],
    );
    let built = dive_testdata::build(&spec).unwrap();
    let ledger = dive_testdata::ledger(&spec);
    let letters: String = ledger.layer_changes[1].iter().collect();
    assert_eq!(letters, "DMAdDdM", "the model's own view of layer 1");
    for form in all_forms(&built).iter().take(1) {
        for (name, analysis) in analyses_of(form) {
            assert_matches_ledger(&name, &analysis, &ledger);
        }
    }
}

/// Files rewritten at the same size: only equal content is a metadata-only change, whether
/// the two differ at an end, only in the middle, or not at all, large or small, in every form
/// (plain layers in a file are compared during the merge, streamed ones while walked).
#[test]
fn same_size_rewrites_are_told_apart_by_their_content_in_every_form() {
    fn noise(len: usize, mut state: u64) -> Vec<u8> {
        (0..len)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                (state >> 56) as u8
            })
            .collect()
    }
    let text = |path: &str, content: &[u8]| dive_testdata::Op::Text {
        path: path.as_bytes().to_vec(),
        content: content.to_vec(),
    };
    let flip = |mut content: Vec<u8>, at: usize| {
        content[at] ^= 0x5a;
        content
    };
    // Over a MiB: the merge hashes both copies on two threads.
    let big = noise(3 << 20, 7);
    let small = noise(9000, 11);
    let mid = big.len() / 2;
    let lower = ["same", "middle", "end", "start"]
        .iter()
        .flat_map(|n| {
            [
                text(&format!("big/{n}"), &big),
                text(&format!("small/{n}"), &small),
            ]
        })
        .collect();
    let upper = vec![
        text("big/same", &big),
        text("big/middle", &flip(big.clone(), mid)),
        text("big/end", &flip(big.clone(), big.len() - 1)),
        text("big/start", &flip(big.clone(), 0)),
        text("small/same", &small),
        text("small/middle", &flip(small.clone(), small.len() / 2)),
        text("small/end", &flip(small.clone(), small.len() - 1)),
        text("small/start", &flip(small.clone(), 0)),
    ];
    let spec = dive_testdata::ImageSpec::new(
        "rewrites:1",
        vec![
            dive_testdata::LayerSpec::new("COPY files /", lower),
            dive_testdata::LayerSpec::new("RUN touch and rewrite", upper),
        ],
    );
    let built = dive_testdata::build(&spec).unwrap();
    let mut seen = 0;
    for form in all_forms(&built) {
        for (name, analysis) in analyses_of(&form) {
            let mut reasons: Vec<(String, HiddenReason)> = analysis
                .hidden
                .iter()
                .map(|h| (String::from_utf8_lossy(&h.path).into_owned(), h.reason))
                .collect();
            reasons.sort();
            let expected: Vec<(String, HiddenReason)> = ["big", "small"]
                .iter()
                .flat_map(|dir| {
                    [
                        ("end", HiddenReason::Overwritten),
                        ("middle", HiddenReason::Overwritten),
                        ("same", HiddenReason::MetadataOnly),
                        ("start", HiddenReason::Overwritten),
                    ]
                    .map(|(n, reason)| (format!("{dir}/{n}"), reason))
                })
                .collect();
            assert_eq!(reasons, expected, "{name}");
            seen += 1;
        }
    }
    assert_eq!(seen, 14);
}

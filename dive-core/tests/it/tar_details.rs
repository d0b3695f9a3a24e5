//! Tar details that bite: PAX sizes above 8 GiB, missing end blocks, trailing garbage.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};

use dive_core::Source;
use dive_testdata::pax_record;
use dive_testdata::raw::{BLOCK, header, padded_len as padded};

use crate::common;

/// A legacy `docker save` whose only layer holds one 9 GiB file, written as a sparse file
/// so the test needs neither the disk nor the time for 9 GiB.
#[test]
fn a_file_above_8_gib_is_counted_at_its_pax_size() {
    const HUGE: u64 = 9 * 1024 * 1024 * 1024 + 12_345;
    let records = [
        pax_record(b"path", b"opt/models/llama-9g.safetensors"),
        pax_record(b"size", HUGE.to_string().as_bytes()),
    ]
    .concat();
    let layer_len = BLOCK + padded(records.len() as u64) + BLOCK + padded(HUGE) + 2 * BLOCK;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.tar");
    let mut out = File::create(&path).unwrap();
    // Outer member `layer.tar`: its size needs the GNU base-256 encoding.
    out.write_all(header(b"layer.tar", b'0', layer_len).as_bytes())
        .unwrap();
    let layer_start = BLOCK;
    out.write_all(header(b"PaxHeaders/x", b'x', records.len() as u64).as_bytes())
        .unwrap();
    out.write_all(&records).unwrap();
    out.seek(SeekFrom::Start(
        layer_start + BLOCK + padded(records.len() as u64),
    ))
    .unwrap();
    // The ustar size field says 0: only the PAX record tells the truth.
    out.write_all(header(b"truncated-name", b'0', 0).as_bytes())
        .unwrap();
    out.seek(SeekFrom::Start(layer_start + layer_len)).unwrap();
    let config = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:0000000000000000000000000000000000000000000000000000000000000000"]},"history":[{"created_by":"COPY llama /opt/models"}]}"#;
    let manifest = br#"[{"Config":"config.json","RepoTags":["huge:1"],"Layers":["layer.tar"]}]"#;
    for (name, bytes) in [
        ("config.json", &config[..]),
        ("manifest.json", &manifest[..]),
    ] {
        out.write_all(header(name.as_bytes(), b'0', bytes.len() as u64).as_bytes())
            .unwrap();
        out.write_all(bytes).unwrap();
        out.write_all(&vec![
            0;
            (padded(bytes.len() as u64) - bytes.len() as u64)
                as usize
        ])
        .unwrap();
    }
    out.write_all(&[0; 1024]).unwrap();
    drop(out);

    let analysis = dive_core::analyze(Source::path(&path)).unwrap();
    assert_eq!(analysis.image.final_bytes, HUGE);
    assert_eq!(analysis.layers[0].size_uncompressed, layer_len);
    let id = analysis
        .tree
        .lookup(b"opt/models/llama-9g.safetensors")
        .expect("the PAX path names the file");
    assert_eq!(analysis.tree.node(id).bytes, HUGE);
    assert!(analysis.warnings.is_empty(), "{:?}", analysis.warnings);
}

#[test]
fn a_layer_without_end_blocks_is_kept_whole_with_a_warning_naming_it() {
    let built = dive_testdata::build(&dive_testdata::rich_image()).unwrap();
    for bytes in [
        dive_testdata::docker_legacy(&[&built], false).unwrap(),
        dive_testdata::docker25(&[&built], dive_testdata::Compression::Gzip, false).unwrap(),
    ] {
        let analysis = common::analyze_stream(bytes);
        let texts: Vec<String> = analysis.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(texts.len(), 1, "{texts:#?}");
        assert!(
            texts[0].starts_with("-: layer 2 (sha256:")
                && texts[0].contains("without its two zero end blocks"),
            "{}",
            texts[0]
        );
        assert!(
            analysis.tree.lookup(b"var/log/x").is_some(),
            "the last entry is kept"
        );
    }
}

#[test]
fn bytes_after_the_end_blocks_are_reported_and_ignored() {
    let mut built = dive_testdata::build(&dive_testdata::rich_image()).unwrap();
    built.layers[0].extend_from_slice(b"trailing garbage after the end of the archive");
    let ledger = dive_testdata::ledger(&built.spec);
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        file.path(),
        dive_testdata::docker_legacy(&[&built], false).unwrap(),
    )
    .unwrap();
    let analysis = common::analyze_path(file.path());
    common::assert_matches_ledger("trailing garbage", &analysis, &ledger);
    assert!(analysis.warnings.iter().any(|w| {
        w.message.contains("non-zero bytes follow")
            && w.location.layer.as_ref().is_some_and(|l| l.index == 0)
    }));
}

/// dive's figures on a case small enough to compute by hand (see README, "dive's figures").
#[test]
fn dive_figures_follow_dives_formulas() {
    use dive_testdata::{ImageSpec, LayerSpec, Op};
    let spec = ImageSpec::new(
        "dive/figures:1",
        vec![
            LayerSpec::new(
                "base",
                vec![
                    Op::file("a", 100, 1),
                    Op::file("d/x", 50, 2),
                    Op::file("d/y", 30, 3),
                ],
            ),
            LayerSpec::new(
                "change",
                vec![
                    Op::file("a", 120, 4),
                    Op::whiteout("d"),
                    Op::file("b", 10, 5),
                ],
            ),
            LayerSpec::new("delete b", vec![Op::whiteout("b")]),
        ],
    );
    let built = dive_testdata::build(&spec).unwrap();
    let analysis = common::analyze_stream(dive_testdata::docker_legacy(&[&built], false).unwrap());
    // Leaves per path: a 100+120 (min 100), d/x 50, d/y 30, b 10+0 (min 0), and d's whiteout
    // 0: `d` has no tar entry of its own, so dive has no file info saying it is a directory
    // (tests/it/dive_figures.rs checks these rules against dive itself).
    let dive = analysis.image.dive;
    assert!(
        (dive.efficiency - 180.0 / 310.0).abs() < 1e-12,
        "{}",
        dive.efficiency
    );
    assert_eq!(
        dive.wasted_bytes, 230,
        "a and b are seen in two layers each"
    );
    assert!((dive.user_wasted_fraction - 230.0 / 130.0).abs() < 1e-12);
    // Our own figures: only a's new copy is visible; the old a, d/* and b are hidden.
    assert_eq!(analysis.image.final_bytes, 120);
    assert_eq!(analysis.image.hidden_bytes, 190);
}

/// Some builders omit a directory entry when a file becomes a directory; the file is then
/// hidden as overwritten and the new child is visible (umoci refuses such a layer).
#[test]
fn a_file_replaced_by_an_implied_directory_is_overwritten() {
    use dive_testdata::{ImageSpec, LayerSpec, Op};
    let spec = ImageSpec::new(
        "implied/dir:1",
        vec![
            LayerSpec::new(
                "file",
                vec![Op::file("data/blob", 5_000, 1), Op::file("keep", 10, 2)],
            ),
            LayerSpec::new("dir", vec![Op::file("data/blob/child", 100, 3)]),
        ],
    );
    let built = dive_testdata::build(&spec).unwrap();
    let ledger = dive_testdata::ledger(&spec);
    let analysis = common::analyze_stream(dive_testdata::docker_legacy(&[&built], false).unwrap());
    common::assert_matches_ledger("implied dir", &analysis, &ledger);
    assert_eq!(analysis.hidden.len(), 1);
    assert_eq!(
        analysis.hidden[0].reason,
        dive_core::tree::HiddenReason::Overwritten
    );
    assert_eq!(analysis.hidden[0].path, b"data/blob");
}

/// A tar that stops inside the padding after its last file (umoci 0.4 writes layers so) has
/// every entry whole: it ends without end blocks, it is not truncated. In every form, seeking
/// over the padding or streaming through it.
#[test]
fn a_layer_ending_inside_its_last_files_padding_is_whole() {
    let mut built = dive_testdata::build(&dive_testdata::rich_image()).unwrap();
    let ledger = dive_testdata::ledger(&built.spec);
    // Where the last member's data ends, as the `tar` crate reads the layer.
    let mut archive = tar::Archive::new(&built.layers[0][..]);
    let last = archive
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.raw_file_position(), e.size())
        })
        .last()
        .unwrap();
    let cut = last.0 + last.1;
    assert_ne!(
        last.1 % BLOCK,
        0,
        "the last file leaves padding to cut into"
    );
    built.layers[0].truncate(usize::try_from(cut).unwrap());
    for form in common::all_forms(&built) {
        for (name, analysis) in common::analyses_of(&form) {
            common::assert_matches_ledger(&name, &analysis, &ledger);
            let first: Vec<_> = analysis
                .warnings
                .iter()
                .filter(|w| w.location.layer.as_ref().is_some_and(|l| l.index == 0))
                .collect();
            assert_eq!(first.len(), 1, "{name}: {first:#?}");
            assert!(
                first[0]
                    .message
                    .contains("without its two zero end blocks (entries are complete)")
                    && first[0].location.offset == Some(cut),
                "{name}: {}",
                first[0]
            );
        }
    }
}

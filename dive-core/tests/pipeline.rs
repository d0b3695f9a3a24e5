//! The two-thread walk of compressed layers gives exactly what the one-thread walk gives,
//! on whole, truncated and damaged blobs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dive_core::layer::{LayerIndex, WalkOptions, walk_reader, walk_reader_threaded};

/// Equal walks; for a damaged stream, where the decoder notices the damage depends on how
/// much it was asked for at once, so the offset of that one warning and the decoded length
/// (with the tar digest over it) may differ, by less than one read.
fn same(name: &str, a: &LayerIndex, b: &LayerIndex, damaged: bool) {
    assert_eq!(a.entries, b.entries, "{name}: entries");
    if damaged {
        let texts = |i: &LayerIndex| -> Vec<(Option<String>, String)> {
            i.warnings
                .iter()
                .map(|w| (w.location.entry.clone(), w.message.clone()))
                .collect()
        };
        assert_eq!(texts(a), texts(b), "{name}: warnings");
    } else {
        assert_eq!(a.warnings, b.warnings, "{name}: warnings");
    }
    assert_eq!(a.compression, b.compression, "{name}");
    assert_eq!(a.size_compressed, b.size_compressed, "{name}");
    if damaged {
        assert!(
            a.size_uncompressed.abs_diff(b.size_uncompressed) <= 64 << 10,
            "{name}"
        );
    } else {
        assert_eq!(a.size_uncompressed, b.size_uncompressed, "{name}");
    }
    assert_eq!(a.file_bytes, b.file_bytes, "{name}");
    assert_eq!(a.captured, b.captured, "{name}");
    let blob = |i: &LayerIndex| i.digests.as_ref().map(|d| d.blob.clone());
    assert_eq!(blob(a), blob(b), "{name}: blob digest");
    if !damaged {
        assert_eq!(a.digests, b.digests, "{name}: digests");
    }
}

#[test]
fn threaded_and_sequential_walks_agree_on_whole_cut_and_damaged_blobs() {
    // The demo's pip layer is several MiB once decompressed: many chunks cross the threads.
    let built = dive_testdata::build(&dive_testdata::demo_image()).unwrap();
    let options = WalkOptions {
        verify: true,
        ..WalkOptions::default()
    };
    let mut compared = 0;
    for compression in [
        dive_testdata::Compression::Gzip,
        dive_testdata::Compression::Zstd,
    ] {
        for layer in &built.layers {
            let blob = dive_testdata::compress(layer, compression).unwrap();
            let mut damaged = blob.clone();
            let middle = damaged.len() / 2;
            damaged[middle] ^= 0xff;
            for (what, bytes) in [
                ("whole", blob.clone()),
                ("cut", blob[..blob.len() * 2 / 3].to_vec()),
                ("damaged", damaged),
            ] {
                let name = format!("{compression:?} {what} layer of {} bytes", layer.len());
                let one = walk_reader(std::io::Cursor::new(&bytes), &options);
                let two = walk_reader_threaded(std::io::Cursor::new(&bytes), &options);
                same(&name, &one, &two, what == "damaged");
                compared += 1;
            }
        }
    }
    assert!(compared >= 30);
}

//! Inputs the fuzzers (`fuzz/`) found, kept so that what they broke stays fixed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dive_core::layer::{LayerIndex, WalkOptions, walk_bytes, walk_reader, walk_reader_threaded};

fn check_walks_agree(name: &str) {
    let data = std::fs::read(format!(
        "{}/tests/data/fuzz/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let options = WalkOptions {
        verify: true,
        ..WalkOptions::default()
    };
    let seeking = walk_bytes(&data, &options);
    let streamed = walk_reader(&data[..], &options);
    let threaded = walk_reader_threaded(&data[..], &options);
    assert_eq!(shape(&seeking), shape(&streamed), "{name}");
    walks_agree(&streamed, &threaded, name);
}

/// One thread and two see the same entries, except that a decoder error loses what the
/// decoder had produced in the read that failed (flate2 returns the error, not the bytes):
/// the two-thread walk reads in 64 KiB steps, so it may stop up to 64 KiB earlier, and must
/// say so.
fn walks_agree(streamed: &LayerIndex, threaded: &LayerIndex, name: &str) {
    if streamed.warnings.is_empty() {
        assert_eq!(streamed.entries, threaded.entries, "{name}");
        return;
    }
    assert!(
        !threaded.warnings.is_empty(),
        "{name}: the damage must be reported"
    );
    assert!(
        streamed
            .entries
            .starts_with(&threaded.entries[..threaded.entries.len().saturating_sub(1)]),
        "{name}: two threads must see a prefix of what one sees"
    );
}

/// A gzip stream that breaks inside the first entry's data (found by `tar_walk`, which
/// asserted exact agreement): both walks must report it, and agree up to it.
#[test]
fn a_gzip_error_inside_an_entry_is_reported_by_both_walks() {
    check_walks_agree("tar_walk-gzip-error-mid-entry");
}

/// What every walk of the same bytes must agree on.
fn shape(index: &dive_core::layer::LayerIndex) -> Vec<(Vec<u8>, dive_core::layer::EntryKind, u64)> {
    index
        .entries
        .iter()
        .map(|e| (e.path.to_vec(), e.kind, e.size))
        .collect()
}

//! A layer blob of any bytes: walked by seeking (plain) or streaming (gzip, zstd), and as a
//! stream on one and two threads. No panic; the figures add up.
#![no_main]

use dive_core::layer::{WalkOptions, walk_bytes, walk_reader, walk_reader_threaded};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let options = WalkOptions {
        verify: true,
        ..WalkOptions::default()
    };
    let seeking = walk_bytes(data, &options);
    let streamed = walk_reader(data, &options);
    let threaded = walk_reader_threaded(data, &options);
    // Seeking skips file data, so only streams carry content hashes.
    assert_eq!(shape(&seeking), shape(&streamed));
    if streamed.warnings.is_empty() {
        assert_eq!(streamed.entries, threaded.entries);
    } else {
        // A decoder error loses the bytes of the read that failed, and the two walks read in
        // different steps: the damage is reported and the walks agree up to it.
        assert!(!threaded.warnings.is_empty());
        let agreed = threaded.entries.len().saturating_sub(1);
        assert!(streamed.entries.starts_with(&threaded.entries[..agreed]));
    }
    assert_eq!(
        streamed.file_bytes,
        streamed
            .entries
            .iter()
            .filter(|e| e.kind == dive_core::layer::EntryKind::File)
            .map(|e| e.size)
            .fold(0u64, u64::saturating_add)
    );
});

/// What every walk of the same bytes must agree on.
fn shape(index: &dive_core::layer::LayerIndex) -> Vec<(Vec<u8>, dive_core::layer::EntryKind, u64)> {
    index
        .entries
        .iter()
        .map(|e| (e.path.to_vec(), e.kind, e.size))
        .collect()
}

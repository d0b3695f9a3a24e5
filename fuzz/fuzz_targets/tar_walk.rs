//! A layer blob of any bytes: walked by seeking (plain) or streaming (gzip, zstd), and as a
//! stream on one and two threads; no panic, and the walks agree. The same bytes as a GNU
//! sparse member expand to the size its header says, or fail.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(disagreement) = dive_core::fuzzing::walks_agree(data) {
        panic!("{disagreement}");
    }
    let _ = dive_core::fuzzing::sparse_member(data);
});

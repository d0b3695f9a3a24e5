//! Inputs the fuzzers (`fuzz/`) found, kept so that what they broke stays fixed.

fn input(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/data/fuzz/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// A gzip stream that breaks inside the first entry's data (found by `tar_walk`, which
/// then asserted exact agreement): both walks must report it, and agree up to it.
#[test]
fn a_gzip_error_inside_an_entry_is_reported_by_both_walks() {
    dive_core::fuzzing::walks_agree(&input("tar_walk-gzip-error-mid-entry")).unwrap();
}

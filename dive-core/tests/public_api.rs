//! The public API of dive-core, committed as a list (`tests/public-api.txt`): a change to
//! what an embedder can name fails here until the list is written again on purpose, with
//! `UPDATE_SNAPSHOTS=yes cargo test -p dive-core --test public_api`. The list comes from
//! rustdoc JSON, which only the nightly toolchain writes.

use std::path::Path;

use dive_testdata::tools::{Tool, available};

#[test]
fn the_public_api_changes_only_on_purpose() {
    if !available(&[Tool::Toolchain("nightly")]) {
        return;
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    // A target directory of its own: nightly's artifacts never mix with the stable build's.
    let json = rustdoc_json::Builder::default()
        .toolchain("nightly")
        .manifest_path(manifest.join("Cargo.toml"))
        .target_dir(Path::new(env!("CARGO_TARGET_TMPDIR")).join("public-api"))
        .quiet(true)
        .build()
        .expect("rustdoc JSON of dive-core (cargo +nightly rustdoc)");
    // Auto traits and blanket impls follow from the rest, and change with the toolchain.
    let api = public_api::Builder::from_rustdoc_json(json)
        .omit_auto_trait_impls(true)
        .omit_blanket_impls(true)
        .build()
        .expect("the public items of dive-core's rustdoc JSON");
    api.assert_eq_or_update(manifest.join("tests/public-api.txt"));
}

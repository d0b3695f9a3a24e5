//! The public API of dive-core, committed as a list (`tests/public-api.txt`): a change to
//! what an embedder can name fails here until the list is written again on purpose, with
//! `UPDATE_SNAPSHOTS=yes cargo test -p dive-core --test public_api`. The list comes from
//! rustdoc JSON, which only the nightly toolchain writes. The face stays small on purpose:
//! at most 117 top-level items (types, traits, functions, constants), as rustdoc's item list
//! shows them; internals are `pub(crate)`, or behind the `unstable` feature. (100 after the
//! restructuring; `fix` added its ten: the plan, its parts, its error and the file cap; then
//! its options and the packages an edit keeps out; `secrets` its finding, source and
//! confidence, and what a layer's walk found in a file; the binary ecosystems the dependency a
//! program or archive records.)

use std::collections::HashMap;
use std::path::Path;

use dive_testdata::tools::{Tool, available};
use public_api::PublicItem;
use public_api::tokens::Token;

/// Most top-level items the face may hold (rustdoc's item list: `target/doc/dive_core/all.html`).
const MAX_TOP_LEVEL_ITEMS: usize = 117;

/// What rustdoc's item list counts: structs, enums, unions, traits, type aliases,
/// constants, statics, macros and free functions.
const TOP_LEVEL_KINDS: [&str; 9] = [
    "struct", "enum", "union", "trait", "type", "const", "static", "macro", "fn",
];

/// The item's kind (`struct`, `fn`, `mod`…), the first kind its rendering names.
fn kind(item: &PublicItem) -> Option<&str> {
    item.tokens().find_map(|token| match token {
        Token::Kind(kind) => Some(kind.as_str()),
        _ => None,
    })
}

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
    // A top-level item is one a module holds (a method's parent is its type or impl).
    let kinds: HashMap<_, _> = api.items().map(|item| (item.id(), kind(item))).collect();
    let top_level: Vec<String> = api
        .items()
        .filter(|item| {
            kind(item).is_some_and(|k| TOP_LEVEL_KINDS.contains(&k))
                && item
                    .parent_id()
                    .and_then(|p| kinds.get(&p).copied().flatten())
                    == Some("mod")
        })
        .map(ToString::to_string)
        .collect();
    api.assert_eq_or_update(manifest.join("tests/public-api.txt"));
    eprintln!("{} top-level public items", top_level.len());
    assert!(
        top_level.len() <= MAX_TOP_LEVEL_ITEMS,
        "dive-core's face holds {} top-level items, more than {MAX_TOP_LEVEL_ITEMS}: make the \
         new ones pub(crate), accessors of a type already public, or internals behind the \
         `unstable` feature\n{}",
        top_level.len(),
        top_level.join("\n")
    );
}

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

/// Fat binaries, one inside another's span, where a magic number straddles two pieces of
/// the stream (found by `elf`): however the stream is cut, the same ones are followed.
#[test]
fn fat_binaries_are_followed_alike_however_the_stream_is_cut() {
    dive_core::fuzzing::device_code_agrees(&input("elf-magic-across-a-piece-end")).unwrap();
}

/// A `.nv_fatbin` whose header says it runs far past the end of the file (found by `elf`):
/// only the file's bytes are counted.
#[test]
fn a_fat_binary_section_past_the_file_counts_only_the_files_bytes() {
    dive_core::fuzzing::device_code_agrees(&input("elf-section-past-the-file")).unwrap();
}

/// A `RUN` without a command whose layer (in the image built of the file's own `RUN`s)
/// holds pip's cache (found by `dockerfile_fix`): the cache mount was glued to the keyword
/// (`RUN--mount=…`) and the patched file no longer parsed; such a `RUN` takes no edit.
#[test]
fn a_run_without_a_command_takes_no_edit() {
    dive_core::fuzzing::fix_agrees(&input("dockerfile_fix-run-without-a-command")).unwrap();
}

/// A `RUN` folded into the one before it whose layer also holds caches (found by
/// `dockerfile_fix`): its cache edits went to the end of the text the fold removed, outside
/// any instruction; a folded `RUN` takes no other edit.
#[test]
fn a_folded_run_takes_no_other_edit() {
    dive_core::fuzzing::fix_agrees(&input("dockerfile_fix-cache-edit-in-a-folded-run")).unwrap();
}

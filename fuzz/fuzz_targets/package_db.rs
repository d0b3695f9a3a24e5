//! Package databases from any bytes: the first byte picks the parser (pip RECORD and
//! installed-files.txt, dpkg status and .list, apk installed, conda-meta JSON, npm package.json,
//! rpm's Packages in any of its forms).
#![no_main]

use dive_core::fuzzing::{DATABASE_PATHS, parse_database};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, content)) = data.split_first() else {
        return;
    };
    let path = DATABASE_PATHS[usize::from(pick) % DATABASE_PATHS.len()];
    let _ = parse_database(path, content);
});

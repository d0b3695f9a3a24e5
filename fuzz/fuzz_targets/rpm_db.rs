//! rpm's package database from any bytes: sqlite with its write-ahead log, Berkeley DB hash
//! or ndb, chosen by magic, and every header in it.
#![no_main]

use dive_core::fuzzing::rpm_database;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = rpm_database(data);
});

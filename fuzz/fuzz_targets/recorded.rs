//! What programs and archives record of their builds, from any bytes: a Java archive's
//! central directory, nested archives and entries; an ELF file's Go build info and cargo
//! auditable section, read in place and as they stream past.
#![no_main]

use dive_core::fuzzing::recorded;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = recorded(data);
});

//! The ELF section reader on any bytes: an answer or none, never a panic or a huge read.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(bytes) = dive_core::fuzzing::elf_debug_bytes(data) {
        assert!(bytes <= data.len() as u64);
    }
});

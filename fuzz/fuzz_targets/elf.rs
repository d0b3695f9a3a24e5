//! The ELF section reader and the CUDA fat binary reader on any bytes: an answer or none,
//! never a panic or a huge read; fat binaries read alike however the stream is cut.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(bytes) = dive_core::fuzzing::elf_debug_bytes(data) {
        assert!(bytes <= data.len() as u64);
    }
    if let Err(disagreement) = dive_core::fuzzing::device_code_agrees(data) {
        panic!("{disagreement}");
    }
});

//! `dive-rs fix` on a Dockerfile made of any bytes, against an image whose history is the
//! file's own `RUN`s: the plan must never panic, edit only inside the text, and leave a file
//! that parses (`dive_core::fuzzing::fix_agrees`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(problem) = dive_core::fuzzing::fix_agrees(data) {
        panic!("{problem}");
    }
});

//! dive-core's behaviour, checked on real images built by `dive-testdata`: one test binary,
//! so the suite links once. Peak-memory tests live in their own binaries (`memory.rs`,
//! `hostile.rs`): a process's peak RSS would otherwise include every test running beside them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod attribution;
mod base;
mod binaries;
mod budgets;
mod build_guard;
mod contents;
mod cross_check;
mod cuda;
mod diff;
mod dive_figures;
mod elf;
mod fix;
mod fix_podman;
mod forms;
mod fuzz_regressions;
mod gate;
mod html;
mod json;
mod pipeline;
mod progress;
mod random_stacks;
mod real_wheels;
mod reinstall;
mod rpm;
mod scan;
mod secrets;
mod selection;
mod tar_details;
mod truncated;
mod twice;
mod verify;

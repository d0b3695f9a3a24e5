//! `dive-rs`: see where every byte of a container image comes from.

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(dive_tui::cmd::run(std::env::args_os()))
}

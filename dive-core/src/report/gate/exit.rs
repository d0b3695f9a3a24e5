//! The exit statuses of `dive-rs ci` (and of every `dive-rs` command), kept beside the gate
//! that decides them so that each front end (the binary, the Python package) gives the same.
//! 0 means the command ran and, for the gate, that no rule failed.

/// A CI rule failed.
pub const EXIT_GATE_FAILED: u8 = 1;

/// The image could not be read, or the arguments or the rules are wrong.
pub const EXIT_UNREADABLE: u8 = 2;

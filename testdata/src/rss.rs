//! Peak memory of the running test process, for tests that bound what an analysis holds
//! (Linux: `/proc/self/status`, and `clear_refs` 5 resets the peak). The peak is one per
//! process: tests that measure it must run one at a time.

use std::io;

/// A `kB` field of `/proc/self/status` (`VmRSS:`, `VmHWM:`).
fn status_kib(field: &str) -> io::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| io::Error::other(format!("no {field} in /proc/self/status")))
}

/// Starts a new measurement: the peak drops to the current RSS, which is returned, so that
/// what a test's setup allocated does not mask what the analysis needs.
pub fn reset_peak_kib() -> io::Result<u64> {
    std::fs::write("/proc/self/clear_refs", "5")?;
    status_kib("VmRSS:")
}

/// The peak RSS since the last reset.
pub fn peak_kib() -> io::Result<u64> {
    status_kib("VmHWM:")
}

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

/// How a child process ended, and its peak RSS as the kernel counted it.
#[derive(Debug, Clone, Copy)]
pub struct ChildPeak {
    /// The exit code, or `None` when a signal ended it.
    pub code: Option<i32>,
    /// Its peak resident set, in KiB (`ru_maxrss`).
    pub peak_kib: u64,
}

/// Waits for `child` and reads its peak RSS from the kernel's accounting of that one child
/// (`wait4`): exact whatever else the test process runs, unlike `RUSAGE_CHILDREN`, which
/// mixes every child, or polling `/proc`, which misses a last-moment peak. The child must
/// not have been waited for; its stdout should go to a file (a pipe nobody reads would
/// stall it).
#[allow(unsafe_code)]
pub fn wait_with_peak(child: std::process::Child) -> io::Result<ChildPeak> {
    let pid = libc::pid_t::try_from(child.id()).map_err(io::Error::other)?;
    let mut status: libc::c_int = 0;
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `pid` is our own child, not yet reaped (std reaps only in `wait`, which was not
    // called); `status` and `usage` are valid for writes of their types for the call.
    let reaped = unsafe { libc::wait4(pid, &raw mut status, 0, usage.as_mut_ptr()) };
    if reaped != pid {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: wait4 filled `usage` for the child it reaped (and it was zeroed before).
    let usage = unsafe { usage.assume_init() };
    Ok(ChildPeak {
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        peak_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
    })
}

//! The modes `extract` gives what it writes: those of a non-root `tar -x`, the process
//! umask applied, setuid and setgid dropped, and no world-writable directory without the
//! sticky bit.

use std::sync::OnceLock;

/// The umask assumed when the process's cannot be read (no `/proc`): the common default,
/// which writes nothing group- or world-writable.
const FALLBACK_UMASK: u32 = 0o022;

/// The process umask, read once from `/proc/self/status` (`Umask:`, Linux 4.7 and later).
/// `umask(2)` can only read the mask by setting it, which races with any thread creating
/// a file meanwhile; the status file is read without changing anything.
pub(crate) fn process_umask() -> u32 {
    static UMASK: OnceLock<u32> = OnceLock::new();
    *UMASK.get_or_init(|| {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|status| parse_status(&status))
            .unwrap_or(FALLBACK_UMASK)
    })
}

/// The `Umask:` line of a `/proc/PID/status` text (octal).
fn parse_status(status: &str) -> Option<u32> {
    let value = status
        .lines()
        .find_map(|line| line.strip_prefix("Umask:"))?;
    u32::from_str_radix(value.trim(), 8)
        .ok()
        .map(|mask| mask & 0o777)
}

/// A file's mode: its permission bits less the umask; setuid, setgid and sticky dropped
/// (a user extracting an image must not get set-id programs out of it).
pub(crate) fn file_mode(mode: u32, umask: u32) -> u32 {
    mode & 0o777 & !umask
}

/// A directory's mode: its permission bits less the umask, setuid and setgid dropped. The
/// sticky bit is kept when the directory stays world-writable (an image's `/tmp`, 1777,
/// stays what `/tmp` must be when the tree is used as a root, and no user can remove or
/// rename another's files in it); a world-writable directory the image left without the
/// sticky bit loses its world-write bit instead, since anyone could otherwise replace what
/// was extracted into it. Either way no world-writable directory is left without the
/// sticky bit (what `umoci unpack` and `tar --no-overwrite-dir` guard against).
pub(crate) fn dir_mode(mode: u32, umask: u32) -> u32 {
    let permissions = mode & 0o777 & !umask;
    if permissions & 0o002 == 0 {
        permissions
    } else if mode & 0o1000 != 0 {
        permissions | 0o1000
    } else {
        permissions & !0o002
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_umask_line_of_proc_status_is_read_as_octal() {
        let status = "Name:\tdive-rs\nUmask:\t0027\nState:\tR (running)\n";
        assert_eq!(parse_status(status), Some(0o027));
        assert_eq!(parse_status("Name:\tx\n"), None);
        assert_eq!(parse_status("Umask:\tnope\n"), None);
    }

    #[test]
    fn this_process_umask_is_the_one_the_kernel_reports() {
        // A child inherits the umask; the shell's `umask` prints it.
        let shell = std::process::Command::new("sh")
            .args(["-c", "umask"])
            .output()
            .unwrap();
        let printed = String::from_utf8(shell.stdout).unwrap();
        assert_eq!(
            Some(process_umask()),
            u32::from_str_radix(printed.trim(), 8).ok()
        );
    }

    #[test]
    fn modes_lose_set_id_bits_and_the_umask() {
        assert_eq!(file_mode(0o6755, 0o022), 0o755);
        assert_eq!(file_mode(0o1666, 0o022), 0o644);
        assert_eq!(file_mode(0o666, 0), 0o666);
        assert_eq!(file_mode(0o640, 0o077), 0o600);
        // /tmp: sticky kept while world-writable, irrelevant once the umask removes that.
        assert_eq!(dir_mode(0o1777, 0), 0o1777);
        assert_eq!(dir_mode(0o1777, 0o022), 0o755);
        assert_eq!(dir_mode(0o1777, 0o002), 0o775);
        // World-writable without sticky: the world-write bit goes.
        assert_eq!(dir_mode(0o777, 0), 0o775);
        assert_eq!(dir_mode(0o2775, 0), 0o775);
        assert_eq!(dir_mode(0o755, 0o022), 0o755);
    }
}

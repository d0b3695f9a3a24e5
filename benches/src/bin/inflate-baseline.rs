//! The floor for a gzip layer: inflate one file with flate2 (the same zlib-rs backend and
//! features dive-rs uses) on one thread into nothing. `compare.sh` times it on the largest
//! layer; dive-rs's whole analysis is measured against it.
//!
//! The file is mapped and inflated straight from the map, so no read copies it first: a
//! `BufReader`'s buffer is only 16-byte aligned, and on this machine the kernel's copy into
//! such a buffer runs ~4x slower than into a page-aligned one, which made this floor lower
//! than it is (7.4 s instead of 6.5 s for the bench image's largest layer).

use std::io;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: inflate-baseline FILE.gz");
        return ExitCode::from(2);
    };
    let run = || -> io::Result<u64> {
        let file = std::fs::File::open(&path)?;
        // SAFETY: the bench's input is not modified while it is read.
        #[allow(unsafe_code)]
        let map = unsafe { memmap2::Mmap::map(&file)? };
        let mut decoder = flate2::bufread::MultiGzDecoder::new(&map[..]);
        io::copy(&mut decoder, &mut io::sink())
    };
    match run() {
        Ok(bytes) => {
            println!("{bytes}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("inflate-baseline: {}: {err}", path.to_string_lossy());
            ExitCode::from(1)
        }
    }
}

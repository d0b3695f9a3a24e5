//! The floor for a gzip layer: inflate one file with flate2 (the same zlib-rs backend and
//! features dive-rs uses) on one thread into nothing. `compare.sh` times it on the largest
//! layer; dive-rs's whole analysis is measured against it.

use std::io::{self, BufReader};
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: inflate-baseline FILE.gz");
        return ExitCode::from(2);
    };
    let run = || -> io::Result<u64> {
        let file = std::fs::File::open(&path)?;
        let mut decoder =
            flate2::read::MultiGzDecoder::new(BufReader::with_capacity(256 << 10, file));
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

//! The framing every file of ours shares: a magic line, the format number (u32,
//! little-endian), then a zstd frame of the postcard encoding of the value.

use std::io::{Read, Write};

use serde::{Deserialize, Serialize};

/// zstd level: these files are written once per run, so favour speed.
const LEVEL: i32 = 3;

/// Writes `magic`, the format number and `value` as zstd-compressed postcard.
pub(crate) fn write_framed<T: Serialize>(
    mut out: impl Write,
    magic: &[u8],
    format: u32,
    value: &T,
) -> std::io::Result<()> {
    let bytes = postcard::to_stdvec(value).map_err(std::io::Error::other)?;
    out.write_all(magic)?;
    out.write_all(&format.to_le_bytes())?;
    let mut encoder = zstd::Encoder::new(out, LEVEL)?;
    encoder.write_all(&bytes)?;
    encoder.finish()?.flush()
}

/// Why a framed file could not be read.
pub(crate) enum FrameError {
    /// Another format number than the one asked for.
    Format(u32),
    /// Cut, damaged or too large, in words.
    Damaged(String),
}

/// Reads what [`write_framed`] wrote, decoding at most `max` bytes.
pub(crate) fn read_framed<T: for<'de> Deserialize<'de>>(
    mut input: impl Read,
    magic: &[u8],
    format: u32,
    max: u64,
) -> std::result::Result<T, FrameError> {
    let mut head = vec![0u8; magic.len() + 4];
    input
        .read_exact(&mut head)
        .map_err(|_| FrameError::Damaged("it ends inside its header".to_owned()))?;
    if &head[..magic.len()] != magic {
        return Err(FrameError::Damaged(
            "it does not start as expected".to_owned(),
        ));
    }
    let mut number = [0u8; 4];
    number.copy_from_slice(&head[magic.len()..]);
    let found = u32::from_le_bytes(number);
    if found != format {
        return Err(FrameError::Format(found));
    }
    let damaged =
        |e: &dyn std::fmt::Display| FrameError::Damaged(format!("its data is damaged: {e}"));
    let mut bytes = Vec::new();
    zstd::Decoder::new(input)
        .map_err(|e| damaged(&e))?
        .take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| damaged(&e))?;
    if bytes.len() as u64 > max {
        return Err(FrameError::Damaged(format!(
            "it decodes to more than {max} bytes"
        )));
    }
    postcard::from_bytes(&bytes).map_err(|e| damaged(&e))
}

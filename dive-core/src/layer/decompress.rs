//! Recognise a blob's compression by its first bytes and undo it.

use std::io::{BufRead, Read};

use serde::{Deserialize, Serialize};

/// Compression of a layer blob, told by magic bytes, never by media type alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    /// A plain tar.
    #[default]
    None,
    /// gzip (`1f 8b`).
    Gzip,
    /// zstd (`28 b5 2f fd`).
    Zstd,
}

impl Compression {
    /// The name used in JSON and the summary.
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Gzip => "gzip",
            Self::Zstd => "zstd",
        }
    }
}

/// Tells the compression from the first bytes of a blob.
pub(crate) fn sniff(head: &[u8]) -> Compression {
    if head.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else {
        Compression::None
    }
}

/// Wraps `inner` in the decoder its compression needs.
pub(crate) fn decoder<'a, R: BufRead + 'a>(
    compression: Compression,
    inner: R,
) -> std::io::Result<Box<dyn Read + 'a>> {
    // The decoders read `inner`'s buffer in place: their `Read` variants would copy it into
    // a buffer of their own first (a malloc'd one, which the CPU copies into slowly).
    Ok(match compression {
        Compression::None => Box::new(inner),
        // Multi-member gzip is legal (pigz, concatenated streams): read every member.
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(inner)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(inner)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_bytes_decide() {
        assert_eq!(sniff(&[0x1f, 0x8b, 8, 0]), Compression::Gzip);
        assert_eq!(sniff(&[0x28, 0xb5, 0x2f, 0xfd, 0]), Compression::Zstd);
        assert_eq!(sniff(b"usr/\0\0\0"), Compression::None);
        assert_eq!(sniff(&[]), Compression::None);
    }
}

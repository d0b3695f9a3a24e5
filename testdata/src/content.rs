//! Deterministic file content: the same seed and size give the same bytes, streamed.

use std::io::{self, Read};

const BLOCK: usize = 4096;

/// Content of a generated file, produced on the fly.
#[derive(Debug, Clone)]
pub struct Content {
    block: Vec<u8>,
    remaining: u64,
    offset: usize,
}

impl Content {
    /// `size` bytes for `seed`: a 4 KiB pseudo-random block repeated, so gzip/zstd shrink it
    /// the way they shrink real binaries with repeated structure, and seeds differ.
    pub fn new(seed: u64, size: u64) -> Self {
        let mut state = seed ^ 0x9e37_79b9_7f4a_7c15;
        let mut block = Vec::with_capacity(BLOCK);
        while block.len() < BLOCK {
            state = splitmix(state);
            block.extend_from_slice(&state.to_le_bytes());
        }
        Content {
            block,
            remaining: size,
            offset: 0,
        }
    }

    /// All of it, for small files.
    pub fn to_vec(seed: u64, size: u64) -> Vec<u8> {
        let mut out = Vec::new();
        let _ = Content::new(seed, size).read_to_end(&mut out);
        out
    }
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Read for Content {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf
            .len()
            .min(BLOCK - self.offset)
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        buf[..n].copy_from_slice(&self.block[self.offset..self.offset + n]);
        self.offset = (self.offset + n) % BLOCK;
        self.remaining -= n as u64;
        Ok(n)
    }
}

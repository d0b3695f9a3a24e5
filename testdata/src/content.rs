//! Deterministic file content: the same seed and size give the same bytes, streamed.

use std::io::{self, Read};

use crate::cuda::{ElfSection, elf_of};

const BLOCK: usize = 4096;

/// Seeds with this bit give binary-like content: 512-byte segments, each either fresh random
/// bytes or the previous segment with one byte changed, so gzip and zstd shrink it to about
/// half and inflate it at the speed of real shared libraries (a repeated block would
/// compress 100:1 and inflate unrealistically fast).
pub const BINARY: u64 = 1 << 62;

const SEGMENT: usize = 512;

/// Content of a generated file, produced on the fly.
#[derive(Debug, Clone)]
pub struct Content {
    block: Vec<u8>,
    remaining: u64,
    offset: usize,
    /// For [`BINARY`] seeds, the generator's state (a new segment is made per block).
    binary: Option<u64>,
}

impl Content {
    /// `size` bytes for `seed`: a 4 KiB pseudo-random block repeated, so gzip/zstd shrink it
    /// the way they shrink real binaries with repeated structure, and seeds differ.
    pub fn new(seed: u64, size: u64) -> Self {
        let mut state = seed ^ 0x9e37_79b9_7f4a_7c15;
        let (len, binary) = if seed & BINARY == 0 {
            (BLOCK, None)
        } else {
            (SEGMENT, Some(state))
        };
        let mut block = Vec::with_capacity(len);
        while block.len() < len {
            state = splitmix(state);
            block.extend_from_slice(&state.to_le_bytes());
        }
        Content {
            block,
            remaining: size,
            offset: 0,
            binary,
        }
    }

    /// The next binary-like segment: fresh random bytes, or the last one with a byte changed.
    fn next_segment(&mut self, mut state: u64) -> u64 {
        state = splitmix(state);
        if state & 1 == 0 {
            for chunk in self.block.chunks_mut(8) {
                state = splitmix(state);
                chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
            }
        } else {
            let at = (state >> 8) as usize % SEGMENT;
            self.block[at] = (state >> 32) as u8;
        }
        state
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
        let len = self.block.len();
        let n = buf
            .len()
            .min(len - self.offset)
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        buf[..n].copy_from_slice(&self.block[self.offset..self.offset + n]);
        self.offset = (self.offset + n) % len;
        self.remaining -= n as u64;
        if self.offset == 0
            && let Some(state) = self.binary
        {
            self.binary = Some(self.next_segment(state));
        }
        Ok(n)
    }
}

/// An ELF64 little-endian shared object built to the ELF spec: `.text` of `text` bytes, a
/// `.debug_info` of `debug` bytes, `.symtab` of `symtab` bytes, a 16-byte `.strtab`, and a
/// NOBITS `.debug_nobits` claiming 1 GB that occupies nothing. Its debug bytes are
/// `debug + symtab + 16`; the section table sits at the end, as linkers put it.
pub fn elf_with_debug(text: usize, debug: usize, symtab: usize) -> Vec<u8> {
    let fill = |n: usize, seed: u8| {
        (0..n)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect::<Vec<u8>>()
    };
    let mut sections = vec![ElfSection::new(".text", fill(text, 1))];
    if debug > 0 {
        sections.push(ElfSection::new(".debug_info", fill(debug, 2)));
    }
    if symtab > 0 {
        sections.push(ElfSection::of_kind(".symtab", 2, fill(symtab, 3)));
        sections.push(ElfSection::of_kind(".strtab", 3, fill(16, 4)));
    }
    sections.push(ElfSection {
        claims: Some(1_000_000_000),
        ..ElfSection::of_kind(".debug_nobits", 8, Vec::new())
    });
    elf_of(3, 1, &sections)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::io::{Read, Write};

    use super::*;

    #[test]
    fn binary_content_is_exact_deterministic_and_about_half_compressible() {
        let size = 4 << 20;
        let a = Content::to_vec(BINARY | 7, size);
        assert_eq!(a.len() as u64, size);
        assert_eq!(a, Content::to_vec(BINARY | 7, size));
        assert_ne!(a, Content::to_vec(BINARY | 8, size));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&a).unwrap();
        let ratio = gz.finish().unwrap().len() as f64 / size as f64;
        assert!((0.4..0.65).contains(&ratio), "gzip ratio {ratio}");
        // A plain seed repeats one block: far more compressible.
        let mut plain = Vec::new();
        Content::new(7, size).read_to_end(&mut plain).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&plain).unwrap();
        assert!((gz.finish().unwrap().len() as f64) < size as f64 * 0.05);
    }
}

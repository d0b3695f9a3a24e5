//! A Go program's build info: the `.go.buildinfo` section Go 1.18 and later write (Go's
//! `debug/buildinfo` format), with the Go version, the main module and every dependency
//! module as `go version -m` shows them.
//!
//! The section starts with a 32-byte header (magic, pointer size, flags); with flag 2 the
//! version and the module info follow inline as two length-prefixed strings. Older Go wrote
//! pointers to strings elsewhere in memory: those binaries are named, not read.

use super::{BuildKind, Recorded};

/// The section's name.
pub(crate) const SECTION: &[u8] = b".go.buildinfo";
/// The first bytes of the section.
pub(crate) const MAGIC: &[u8; 14] = b"\xff Go buildinf:";
/// Go aligns the section's start to this, and its own search looks only there.
pub(crate) const ALIGN: u64 = 16;
/// Bytes of the build info read at most: its header and two strings (a large program's
/// module list is a few tens of KiB). The strings run past the section's own size: Go's
/// reader, too, reads on into the data segment.
pub(crate) const SECTION_MAX: usize = 1 << 20;
/// Bytes read first: the header and both lengths, and all of a small program's strings.
const FIRST_READ: usize = 4096;
/// Bytes before the strings.
const HEADER: usize = 32;
/// Header flag: the strings follow inline (Go 1.18+).
const INLINE: u8 = 2;

/// What the build info section `section` (its first bytes, up to [`SECTION_MAX`]) says;
/// an error sentence when it cannot be read.
pub(crate) fn parse(section: &[u8]) -> Result<Recorded, String> {
    if !section.starts_with(MAGIC) || section.len() < HEADER {
        return Err("Go build info does not start with its header".into());
    }
    if section[15] & INLINE == 0 {
        return Err("Go build info is in the form before Go 1.18 (pointers), not read".into());
    }
    let rest = &section[HEADER..];
    let (version, rest) = string(rest).ok_or("Go build info's version is cut short")?;
    let (modinfo, _) = string(rest).ok_or("Go build info's module list is cut short")?;
    let modinfo = strip_sentinels(modinfo);
    let text = String::from_utf8_lossy(modinfo);
    let mut recorded = modules(&text);
    let version = String::from_utf8_lossy(version);
    if !version.is_empty() {
        recorded.toolchain = Some(super::capped(&version, super::VERSION_MAX));
    }
    Ok(recorded)
}

/// The build info at `offset` of a file of `size` bytes, read with `read_at`: its first
/// bytes, then as many more as its two lengths say (within [`SECTION_MAX`]).
pub(crate) fn read(
    read_at: &mut dyn FnMut(u64, usize) -> Option<Vec<u8>>,
    offset: u64,
    size: u64,
) -> Option<Vec<u8>> {
    let available = usize::try_from(size.checked_sub(offset)?).unwrap_or(usize::MAX);
    let first = read_at(offset, available.min(FIRST_READ))?;
    match length(&first) {
        Some(needed) if needed > first.len() && needed <= available.min(SECTION_MAX) => {
            read_at(offset, needed)
        }
        _ => Some(first),
    }
}

/// How many bytes the build info starting `bytes` takes: the header and both strings, when
/// `bytes` holds both lengths.
fn length(bytes: &[u8]) -> Option<usize> {
    let rest = bytes.get(HEADER..)?;
    let (len, used) = uvarint(rest)?;
    let second = used.checked_add(usize::try_from(len).ok()?)?;
    let (len2, used2) = uvarint(rest.get(second..)?)?;
    HEADER
        .checked_add(second)?
        .checked_add(used2)?
        .checked_add(usize::try_from(len2).ok()?)
}

/// A string prefixed with its length as an unsigned varint, and what follows it.
fn string(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, used) = uvarint(bytes)?;
    let rest = bytes.get(used..)?;
    let len = usize::try_from(len).ok()?;
    (len <= rest.len()).then(|| rest.split_at(len))
}

/// An unsigned LEB128 varint (at most 10 bytes) and the bytes it took.
fn uvarint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, &byte) in bytes.iter().enumerate().take(10) {
        let part = u64::from(byte & 0x7f);
        value |= part.checked_shl(7 * i as u32)?;
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// The module info without the 16-byte markers Go puts around it.
fn strip_sentinels(modinfo: &[u8]) -> &[u8] {
    let len = modinfo.len();
    if len >= 33 && modinfo[len - 17] == b'\n' {
        &modinfo[16..len - 16]
    } else {
        modinfo
    }
}

/// The main module and the dependencies of a module info text (`path`, `mod`, `dep`, `=>`
/// lines, tab-separated).
fn modules(text: &str) -> Recorded {
    let mut path = None;
    let mut main: Option<(&str, Option<&str>)> = None;
    // Each dependency as recorded, a `=>` line replacing the one before it.
    let mut deps: Vec<(&str, Option<&str>)> = Vec::new();
    let mut last_is_dep = false;
    for line in text.lines() {
        let mut fields = line.split('\t');
        let key = fields.next().unwrap_or_default();
        let name = fields.next().unwrap_or_default();
        let version = fields.next().filter(|v| !v.is_empty() && *v != "(devel)");
        match key {
            "path" => path = Some(name),
            "mod" if !name.is_empty() => {
                main = Some((name, version));
                last_is_dep = false;
            }
            "dep" if !name.is_empty() => {
                deps.push((name, version));
                last_is_dep = true;
            }
            // A replacement keeps the module's name; a local one (no version) has none.
            "=>" if last_is_dep => {
                if let Some(dep) = deps.last_mut() {
                    dep.1 = version;
                }
            }
            "=>" => {
                if let Some(main) = main.as_mut() {
                    main.1 = version;
                }
            }
            _ => {}
        }
    }
    let (name, version) = main.unwrap_or((path.unwrap_or("command-line-arguments"), None));
    let mut recorded = Recorded::new(BuildKind::Go, name);
    recorded.version = version.map(|v| super::capped(v, super::VERSION_MAX));
    for (name, version) in deps {
        recorded.depend(name, version);
    }
    recorded.finish()
}

/// Finds the build info in a file streamed past: the first [`MAGIC`] at an [`ALIGN`]ed
/// offset, and up to [`SECTION_MAX`] bytes from there. What it costs: a search of each
/// byte, 13 bytes carried between chunks and the section once found.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// The last bytes of the chunk before (a magic may straddle two chunks).
    carry: Vec<u8>,
    /// Where the magic was found, and the bytes from there.
    found: Option<(u64, Vec<u8>)>,
}

impl Scan {
    /// Looks at the file's bytes `chunk`, which start at `pos`.
    pub(crate) fn feed(&mut self, pos: u64, chunk: &[u8]) {
        // The bytes carried and this chunk's first ones: a magic across the boundary.
        let carried = self.carry.len();
        let start = pos.saturating_sub(carried as u64);
        let mut joined = std::mem::take(&mut self.carry);
        joined.extend_from_slice(&chunk[..chunk.len().min(MAGIC.len() - 1)]);
        // The last one found counts: Go's section comes after the read-only data, where a
        // program may hold the magic as a string.
        let hit = Self::last_aligned(chunk, pos)
            .map(|at| pos + at as u64)
            .or_else(|| Self::last_aligned(&joined, start).map(|at| start + at as u64));
        match (hit, &mut self.found) {
            (Some(offset), _) => {
                let mut bytes = Vec::new();
                if offset < pos {
                    let from = usize::try_from(offset - start).unwrap_or(carried);
                    bytes.extend_from_slice(joined.get(from..carried).unwrap_or_default());
                }
                let from = usize::try_from(offset.saturating_sub(pos)).unwrap_or(chunk.len());
                let rest = chunk.get(from..).unwrap_or_default();
                bytes.extend_from_slice(&rest[..rest.len().min(SECTION_MAX - bytes.len())]);
                self.found = Some((offset, bytes));
            }
            (None, Some((_, bytes))) => {
                let room = SECTION_MAX.saturating_sub(bytes.len());
                bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            (None, None) => {}
        }
        let keep = MAGIC.len() - 1;
        self.carry = if chunk.len() >= keep {
            chunk[chunk.len() - keep..].to_vec()
        } else {
            joined[joined.len().saturating_sub(keep)..].to_vec()
        };
    }

    /// The last magic in `bytes` (which start at file offset `pos`) at an aligned offset that
    /// may start build info: a pointer size of 4 or 8 and the inline flag, where `bytes`
    /// holds them (a magic the data holds after the section must not replace it).
    fn last_aligned(bytes: &[u8], pos: u64) -> Option<usize> {
        memchr::memmem::find_iter(bytes, MAGIC)
            .filter(|&at| (pos + at as u64).is_multiple_of(ALIGN))
            .filter(|&at| match bytes.get(at + 14..at + 16) {
                Some(&[size, flags]) => matches!(size, 4 | 8) && flags & INLINE != 0,
                _ => true,
            })
            .last()
    }

    /// Where the magic was found and the bytes from there.
    pub(crate) fn finish(self) -> Option<(u64, Vec<u8>)> {
        self.found
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    use dive_testdata::binaries::go_buildinfo as buildinfo;

    const MODINFO: &str = "path\texample.com/cmd/tool\n\
        mod\texample.com/tool\tv1.4.0\th1:abc=\n\
        dep\tgolang.org/x/sys\tv0.1.0\th1:def=\n\
        dep\texample.com/local\tv0.0.0\n=>\t../local\t\n\
        dep\texample.com/old\tv1.0.0\th1:x=\n=>\texample.com/fork\tv1.0.1\th1:y=\n\
        build\tGOOS=linux\n";

    #[test]
    fn modules_and_replacements_read_as_go_version_m_shows_them() {
        let recorded = parse(&buildinfo("go1.22.1", MODINFO)).unwrap();
        assert_eq!(recorded.kind, BuildKind::Go);
        assert_eq!(recorded.name, "example.com/tool");
        assert_eq!(recorded.version.as_deref(), Some("v1.4.0"));
        assert_eq!(recorded.toolchain.as_deref(), Some("go1.22.1"));
        let deps: Vec<(&str, Option<&str>)> = (recorded.dependencies.iter())
            .map(|d| (d.name.as_str(), d.version.as_deref()))
            .collect();
        assert_eq!(
            deps,
            [
                ("example.com/local", None),
                ("example.com/old", Some("v1.0.1")),
                ("golang.org/x/sys", Some("v0.1.0")),
            ]
        );
    }

    #[test]
    fn what_is_not_build_info_is_an_error_never_a_panic() {
        let good = buildinfo("go1.22.1", MODINFO);
        for cut in 0..good.len() {
            let _ = parse(&good[..cut]);
        }
        let mut old = good.clone();
        old[15] = 0;
        assert!(parse(&old).unwrap_err().contains("before Go 1.18"));
        // A length of 2^63 and an endless varint.
        let mut huge = good[..HEADER].to_vec();
        huge.extend([0xff; 9]);
        huge.push(0x7f);
        assert!(parse(&huge).is_err());
        let mut endless = good[..HEADER].to_vec();
        endless.extend([0x80; 64]);
        assert!(parse(&endless).is_err());
    }

    #[test]
    fn reads_past_the_section_as_far_as_the_lengths_say() {
        let mut file = vec![0u8; 5000];
        let info = buildinfo("go1.21.0", &MODINFO.repeat(60));
        assert!(info.len() > FIRST_READ);
        file.extend(&info);
        file.extend([0u8; 100]);
        let size = file.len() as u64;
        let mut reads = Vec::new();
        let mut read_at = |o: u64, l: usize| {
            reads.push(l);
            file.get(o as usize..o as usize + l).map(<[u8]>::to_vec)
        };
        let bytes = read(&mut read_at, 5000, size).unwrap();
        assert_eq!(reads, [FIRST_READ, info.len()]);
        assert_eq!(parse(&bytes).unwrap().name, "example.com/tool");
    }

    #[test]
    fn the_scan_finds_aligned_build_info_across_chunks() {
        let mut file = vec![0u8; 3 * 4096];
        // A magic off the alignment, and one aligned before the section (a string in the
        // read-only data): not the build info.
        file[101..101 + MAGIC.len()].copy_from_slice(MAGIC);
        file[1024..1024 + MAGIC.len()].copy_from_slice(MAGIC);
        let at = 2 * 4096 + 16 * 7;
        let info = buildinfo("go1.22.1", MODINFO);
        file.splice(at..at + info.len(), info.iter().copied());
        for chunk in [1, 5, 13, 14, 4096, file.len()] {
            let mut scan = Scan::default();
            let mut pos = 0u64;
            for piece in file.chunks(chunk) {
                scan.feed(pos, piece);
                pos += piece.len() as u64;
            }
            let (offset, bytes) = scan.finish().unwrap();
            assert_eq!(offset, at as u64, "chunks of {chunk}");
            assert_eq!(parse(&bytes).unwrap().name, "example.com/tool");
        }
    }
}

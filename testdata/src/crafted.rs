//! Images written as an attacker would write them: each makes one stage of the analysis do
//! as much as its budget (docs/limits.md) allows, and made it do far more before the stage
//! was bounded. Written straight to disk as a legacy `docker save` tar, layers streamed and
//! never held in memory, at a scale: 1.0 is the size the budget table names, CI runs 0.1.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde_json::json;
use sha2::{Digest as _, Sha256};
use tar::{EntryType, Header};

use crate::cuda::{FatEntry, arch_sweep, fatbin};
use crate::large::{DockerArchive, Hashing, hex};

/// One crafted image: what it attacks, and how many of its unit it holds at full scale.
#[derive(Debug, Clone, Copy)]
pub struct Crafted {
    /// Its name, for `gen-testdata crafted NAME`.
    pub name: &'static str,
    /// The stage it attacks and how.
    pub attacks: &'static str,
    /// How many units it holds at scale 1.0.
    pub full: u64,
    /// What it counts.
    pub unit: &'static str,
}

/// Every crafted image.
pub const CRAFTED: &[Crafted] = &[
    Crafted {
        name: "fatbin-magic",
        attacks: "device code in a stream: one ELF file whose .nv_fatbin is the fat binary magic repeated, in a gzip layer (a failed chain per magic)",
        full: 256 << 20,
        unit: "bytes of magic",
    },
    Crafted {
        name: "fatbin-empty",
        attacks: "device code in a stream: one ELF file whose .nv_fatbin is valid empty 16-byte fat binaries repeated, in a gzip layer (a fat binary per 16 bytes)",
        full: 256 << 20,
        unit: "bytes of fat binaries",
    },
    Crafted {
        name: "fatbin-sections",
        attacks: "device code by sections: ELF files with 65,000 overlapping .nv_fatbin sections over 1 MiB of real fat binaries, in a plain and a gzip layer",
        full: 16,
        unit: "files per layer",
    },
    Crafted {
        name: "fatbin-nested",
        attacks: "device code by sections: fat binaries nested in each other, each failing at its last entry, in a plain layer (each read again from the next magic number)",
        full: 65_536,
        unit: "nested fat binaries",
    },
    Crafted {
        name: "fatbin-chains",
        attacks: "device code in a stream: 64 fat binaries followed at once, each waiting for bytes 60 KB on, over 256 MiB of magic numbers, in a gzip layer",
        full: 256 << 20,
        unit: "bytes",
    },
    Crafted {
        name: "fatbin-archs",
        attacks: "device code: one fat binary whose entries each claim another GPU architecture",
        full: (1 << 20) - 16,
        unit: "entries",
    },
    Crafted {
        name: "same-head",
        attacks: "duplicates: files of 8 KiB sharing their size and first 4 KiB, differing after, in a plain layer",
        full: 20_000,
        unit: "files",
    },
    Crafted {
        name: "identical",
        attacks: "duplicates: one duplicate group of identical 4 KiB files, in a gzip layer",
        full: 500_000,
        unit: "files",
    },
    Crafted {
        name: "deep-dirs",
        attacks: "the merge and dive's figures: chains of 2,000 nested directories with a file at each level, rewritten by a second layer",
        full: 16,
        unit: "chains",
    },
    Crafted {
        name: "implied-dirs",
        attacks: "the merge and dive's figures: files each at the end of a fresh chain of 2,030 directories no entry lists (a node and a key each, per entry)",
        full: 8_192,
        unit: "files",
    },
    Crafted {
        name: "whiteout-deep",
        attacks: "whiteouts: chains of 2,040 implied directories under two directories, deleted by a whiteout and an opaque marker in a second layer (a path per removed node)",
        full: 320,
        unit: "chains",
    },
    Crafted {
        name: "sparse-size",
        attacks: "sizes: GNU sparse files claiming a real size of 2^63 - 1 bytes each, in 512 bytes of tar (sums past 2^64)",
        full: 1_000,
        unit: "sparse files",
    },
    Crafted {
        name: "hardlinks",
        attacks: "hard links: one file and hard links to it",
        full: 1_000_000,
        unit: "hard links",
    },
    Crafted {
        name: "symlink-chain",
        attacks: "symlinks: a chain of links each naming the next, and a loop",
        full: 100_000,
        unit: "links",
    },
    Crafted {
        name: "pax-records",
        attacks: "the tar reader: files each with a PAX header of 4,000 bytes of tiny records",
        full: 200_000,
        unit: "files",
    },
    Crafted {
        name: "many-layers",
        attacks: "per-layer work: many layers of one small file each",
        full: 10_000,
        unit: "layers",
    },
    Crafted {
        name: "databases",
        attacks: "package databases: dist-info RECORD files of 16 MiB each (within --max-metadata), in a gzip layer: held whole until attributed",
        full: 200,
        unit: "databases",
    },
    Crafted {
        name: "sparse",
        attacks: "GNU sparse files in plain layers, whose data in the tar is not their content: two with one stored block at different places (no duplicates), one whose ELF sections point into the next file (no device code twice), and many claiming 16 MiB each over the entries after them (read whole before)",
        full: 2_000,
        unit: "sparse files claiming 16 MiB",
    },
    Crafted {
        name: "databases-wide",
        attacks: "package databases, each in its own gzip layer, whose lines name long or many paths: a RECORD of 250 lines of 4 KiB (2,000 directories each), an apk `F:` of 64 KiB under which 40,000 `R:` lines name files, a RECORD line of 32,000 components, dpkg status files of `a:b` lines and of 2-line packages, a distroless md5sums of empty paths, apk records of one name each, dpkg diversions (the five last of the size counted, within --max-metadata)",
        full: DATABASE_BYTES,
        unit: "bytes in each of the five largest databases",
    },
    Crafted {
        name: "databases-prefix",
        attacks: "package databases under directories of 3.8 KiB: a conda-meta JSON listing empty files (each the prefix itself), and a RECORD of 65,536 short lines, in a gzip layer each",
        full: 400_000,
        unit: "empty conda files",
    },
    Crafted {
        name: "rpm-headers",
        attacks: "rpm databases: an ndb Packages.db whose one header lists a million files in an image of a few entries, beside 2,000 headers whose counts run past their data or whose offsets leave it; a Berkeley DB hash Packages whose page headers, item offsets and overflow chains loop, in a gzip layer each",
        full: 1_000_000,
        unit: "files one header lists",
    },
    Crafted {
        name: "apt-docs",
        attacks: "findings: an apt-get install layer over a dpkg base that deletes /usr/share/doc/* (it rewrites the status file listing every package, which is no reinstall)",
        full: 1,
        unit: "image",
    },
    Crafted {
        name: "chown",
        attacks: "findings: chown -R over a dpkg base and a pip layer (every package's files and own record written again with the same bytes and times, another owner), which is no reinstall",
        full: 1,
        unit: "image",
    },
    Crafted {
        name: "secrets",
        attacks: "secrets: candidate files of 2 KiB each holding a token (each file its own bytes), half in a gzip layer after a .env of 2 KiB per candidate (2 GiB at full scale), half in a plain layer (heads read by seeking): only heads are read, within 64 MiB a layer",
        full: 1_000_000,
        unit: "candidate files",
    },
    Crafted {
        name: "recorded",
        attacks: "what programs and archives record, in a gzip layer and a plain one: ELF files whose cargo auditable section inflates past 8 MiB from 8 KiB, whose Go build info claims a string of 2^60 bytes, and whose build info lists 5,000 modules; jars whose end record claims a million entries, and jars holding a nested archive that inflates to 100 MiB from 100 KiB; once each, an ELF file whose early section table names 65,535 `.dep-v0` sections at one offset (a window each asked 256 GiB), and a 20 MiB jar whose stored nested archive holds five pom.properties near its end",
        full: 1_000,
        unit: "files of each kind in each layer",
    },
    Crafted {
        name: "warnings",
        attacks: "warnings: entries whose paths climb above / and hard links to nothing, one warning each, in a gzip layer",
        full: 1_000_000,
        unit: "entries",
    },
];

/// What a crafted image holds, for the checks and budgets of a test.
#[derive(Debug, Clone, Default)]
pub struct Written {
    /// The count its scale gave (files, bytes, layers: [`Crafted::unit`]).
    pub count: u64,
    /// Tar entries in all its layers.
    pub entries: u64,
    /// Bytes of the entries' paths.
    pub path_bytes: u64,
    /// Its layers.
    pub layers: usize,
    /// Bytes of its layers as tars.
    pub tar_bytes: u64,
    /// Bytes of the package databases it holds, which dive-rs reads whole (up to its caps).
    pub database_bytes: u64,
    /// Dependencies its programs and archives record (`recorded`).
    pub recorded_dependencies: u64,
}

/// Writes the crafted image `name` at `scale` to `out` (a legacy `docker save` tar).
pub fn write_crafted(name: &str, out: &Path, scale: f64) -> io::Result<Written> {
    let case = CRAFTED.iter().find(|c| c.name == name).ok_or_else(|| {
        io::Error::new(io::ErrorKind::NotFound, format!("no crafted image {name}"))
    })?;
    let count = ((case.full as f64 * scale).round() as u64).max(1);
    let mut image = Image::new(out, count);
    match name {
        "fatbin-magic" => {
            let units = count / 4;
            image.layer(true, |l| {
                let (len, elf) = elf_stream(
                    Units::new(Vec::new(), 4, units, |_, u| u.copy_from_slice(&MAGIC)),
                    units * 4,
                    &[(".nv_fatbin", 0, units * 4)],
                );
                l.file(b"usr/lib/libmagic.so", 0o755, len, elf)
            })?;
        }
        "fatbin-empty" => {
            let units = count / 16;
            image.layer(true, |l| {
                let (len, elf) = elf_stream(
                    Units::new(Vec::new(), 16, units, |_, u| {
                        u.copy_from_slice(&EMPTY_FATBIN);
                    }),
                    units * 16,
                    &[(".nv_fatbin", 0, units * 16)],
                );
                l.file(b"usr/lib/libempty.so", 0o755, len, elf)
            })?;
        }
        "fatbin-sections" => {
            let body = fatbin(&sections_sweep(), 7);
            let len = body.len() as u64;
            // Each section starts 8 bytes after the last and runs to the end: all overlap.
            let sections: Vec<(&str, u64, u64)> = (0..65_000u64)
                .map(|i| {
                    let start = (i * 8) % len;
                    (".nv_fatbin", start, len - start)
                })
                .collect();
            for gzip in [false, true] {
                image.layer(gzip, |l| {
                    for i in 0..count {
                        let (size, elf) = elf_stream(io::Cursor::new(body.clone()), len, &sections);
                        let name = format!("usr/lib/libsections-{}-{i}.so", u8::from(gzip));
                        l.file(name.as_bytes(), 0o755, size, elf)?;
                    }
                    Ok(())
                })?;
            }
        }
        "fatbin-nested" => {
            let data = nested_fatbins(count);
            let len = data.len() as u64;
            image.layer(false, |l| {
                let (size, elf) = elf_stream(&data[..], len, &[(".nv_fatbin", 0, len)]);
                l.file(b"usr/lib/libnested.so", 0o755, size, elf)
            })?;
        }
        "fatbin-chains" => {
            let data = waiting_chains(count.max(1 << 20));
            let len = data.len() as u64;
            image.layer(true, |l| {
                let (size, elf) = elf_stream(&data[..], len, &[(".nv_fatbin", 0, len)]);
                l.file(b"usr/lib/libchains.so", 0o755, size, elf)
            })?;
        }
        "fatbin-archs" => {
            let len = 16 + count * 64;
            image.layer(true, |l| {
                let (size, elf) = elf_stream(archs_fatbin(count), len, &[(".nv_fatbin", 0, len)]);
                l.file(b"usr/lib/libarchs.so", 0o755, size, elf)
            })?;
        }
        "same-head" => image.layer(false, |l| {
            for i in 0..count {
                let mut bytes = vec![0x5a; 8192];
                fill_random(&mut bytes[4096..], i + 1);
                l.file(format!("srv/same/f{i}").as_bytes(), 0o644, 8192, &bytes[..])?;
            }
            Ok(())
        })?,
        "identical" => image.layer(true, |l| {
            let mut bytes = vec![0; 4096];
            fill_random(&mut bytes, 42);
            for i in 0..count {
                l.file(
                    format!("srv/copies/{}/f{i}", i % 1000).as_bytes(),
                    0o644,
                    4096,
                    &bytes[..],
                )?;
            }
            Ok(())
        })?,
        "deep-dirs" => {
            for round in 0..2u64 {
                image.layer(false, |l| {
                    for chain in 0..count {
                        let mut path = format!("c{chain}").into_bytes();
                        for level in 0..DEPTH {
                            if round == 0 {
                                l.entry(EntryType::Directory, &path, 0o755, 0, None, io::empty())?;
                            }
                            let mut file = path.clone();
                            file.extend_from_slice(b"/f");
                            let data = [round as u8; 16];
                            l.file(&file, 0o644, 16, &data[..])?;
                            if level + 1 < DEPTH {
                                path.extend_from_slice(b"/d");
                            }
                        }
                    }
                    Ok(())
                })?;
            }
        }
        "implied-dirs" => image.layer(true, |l| {
            // As deep.py of the review: `x/<i>/` and 2,030 `a/` before each file.
            let chain = "a/".repeat(IMPLIED_DEPTH);
            for i in 0..count {
                let path = format!("x/{i:05}/{chain}f{i:07}");
                l.file(path.as_bytes(), 0o644, 16, &[1u8; 16][..])?;
            }
            Ok(())
        })?,
        "whiteout-deep" => {
            let chain = "a/".repeat(WHITEOUT_DEPTH);
            image.layer(true, |l| {
                for i in 0..count {
                    // Half under `top/`, deleted by a whiteout; half under `opq/`, hidden
                    // by an opaque marker.
                    let top = if i % 2 == 0 { "top" } else { "opq" };
                    let path = format!("{top}/d{i}/{chain}f");
                    l.file(path.as_bytes(), 0o644, 16, &[2u8; 16][..])?;
                }
                Ok(())
            })?;
            image.layer(true, |l| {
                l.file(b".wh.top", 0o644, 0, io::empty())?;
                l.file(b"opq/.wh..wh..opq", 0o644, 0, io::empty())
            })?;
        }
        "sparse-size" => image.layer(false, |l| {
            for i in 0..count {
                l.sparse(
                    format!("srv/sparse/s{i}").as_bytes(),
                    &[],
                    SPARSE_CLAIM,
                    &[],
                )?;
            }
            l.file(b"srv/plain", 0o644, 1, &b"x"[..])
        })?,
        "hardlinks" => image.layer(false, |l| {
            let bytes = vec![7u8; 4096];
            l.file(b"srv/original", 0o644, 4096, &bytes[..])?;
            for i in 0..count {
                let name = format!("srv/links/{}/l{i}", i % 1000);
                l.entry(
                    EntryType::Link,
                    name.as_bytes(),
                    0o644,
                    0,
                    Some(b"srv/original"),
                    io::empty(),
                )?;
            }
            Ok(())
        })?,
        "symlink-chain" => image.layer(false, |l| {
            l.file(b"srv/target", 0o644, 5, &b"found"[..])?;
            for i in 0..count {
                let name = format!("srv/chain/s{i}");
                // Alternately relative and absolute, as links in images are.
                let next = match (i + 1 == count, i % 2) {
                    (true, _) => "../target".to_owned(),
                    (false, 0) => format!("s{}", i + 1),
                    (false, _) => format!("/srv/chain/s{}", i + 1),
                };
                l.entry(
                    EntryType::Symlink,
                    name.as_bytes(),
                    0o777,
                    0,
                    Some(next.as_bytes()),
                    io::empty(),
                )?;
            }
            l.entry(
                EntryType::Symlink,
                b"srv/loop/a",
                0o777,
                0,
                Some(b"b"),
                io::empty(),
            )?;
            l.entry(
                EntryType::Symlink,
                b"srv/loop/b",
                0o777,
                0,
                Some(b"a"),
                io::empty(),
            )
        })?,
        "pax-records" => image.layer(true, |l| {
            let mut records = Vec::new();
            while records.len() + 9 <= 4000 {
                records.extend_from_slice(b"9 a=1234\n");
            }
            for i in 0..count {
                l.pax(&records)?;
                l.file(
                    format!("srv/pax/{}/f{i}", i % 1000).as_bytes(),
                    0o644,
                    1,
                    &b"x"[..],
                )?;
            }
            Ok(())
        })?,
        "many-layers" => {
            for i in 0..count {
                image.layer(false, |l| {
                    let bytes = [i as u8; 1024];
                    l.file(
                        format!("srv/layers/f{i}").as_bytes(),
                        0o644,
                        1024,
                        &bytes[..],
                    )
                })?;
            }
        }
        "secrets" => {
            // A GitHub token by its documented shape (ghp_ and 36 characters).
            const LINE: &[u8] = b"GITHUB_TOKEN=ghp_0123456789abcdefghijABCDEFGHIJ012345\n";
            let mut body = vec![b'#'; 2048];
            body[..LINE.len()].copy_from_slice(LINE);
            body[2047] = b'\n';
            for gzip in [true, false] {
                image.layer(gzip, |l| {
                    if gzip {
                        let lines = count * 2048 / LINE.len() as u64;
                        let data = Units::new(Vec::new(), LINE.len(), lines, |_, unit| {
                            unit.copy_from_slice(LINE);
                        });
                        l.file(b"app/.env", 0o644, lines * LINE.len() as u64, data)?;
                    }
                    // Each file its own bytes (a number after the token): no duplicate
                    // group of every candidate, whose cost is the duplicates' budget.
                    let mut body = body.clone();
                    for i in 0..count / 2 {
                        let layer = if gzip { "g" } else { "p" };
                        let path = format!("srv/{layer}/{}/c{i}.env", i % 1000);
                        body[LINE.len()..LINE.len() + 12]
                            .copy_from_slice(format!("#{i:011}").as_bytes());
                        l.file(path.as_bytes(), 0o644, 2048, &body[..])?;
                    }
                    Ok(())
                })?;
            }
        }
        "warnings" => image.layer(true, |l| {
            // Half climb above / (the walk warns), half are hard links to nothing (the
            // merge warns).
            for i in 0..count {
                if i % 2 == 0 {
                    let name = format!("../../x{i}");
                    l.entry(
                        EntryType::Regular,
                        name.as_bytes(),
                        0o644,
                        0,
                        None,
                        io::empty(),
                    )?;
                } else {
                    let name = format!("srv/dangling/l{i}");
                    let link = Some(&b"srv/missing"[..]);
                    l.entry(
                        EntryType::Link,
                        name.as_bytes(),
                        0o644,
                        0,
                        link,
                        io::empty(),
                    )?;
                }
            }
            Ok(())
        })?,
        "databases" => image.layer(true, |l| {
            let site = "usr/lib/python3/site-packages";
            for i in 0..count {
                let path = format!("{site}/pkg{i}-1.0.dist-info/RECORD");
                let lines = (RECORD_BYTES / 64) as u64;
                let record = Units::new(Vec::new(), 64, lines, move |j, line| {
                    let text = format!("pkg{i}/m{j:010}.py,sha256=");
                    line.fill(b'A');
                    line[..text.len()].copy_from_slice(text.as_bytes());
                    line[60..].copy_from_slice(b",99\n");
                });
                l.database(path.as_bytes(), lines * 64, record)?;
            }
            Ok(())
        })?,
        "sparse" => {
            let stored: Vec<u8> = (0..4096u32).map(|i| (i * 7 + 3) as u8).collect();
            for (name, next, at) in [("srv/a", "srv/f", 0), ("srv/b", "srv/g", 4096)] {
                image.layer(false, |l| {
                    l.sparse(name.as_bytes(), &stored, 8192, &[(at, 4096)])?;
                    l.file(next.as_bytes(), 0o644, 8192, &[b'F'; 8192][..])
                })?;
            }
            let fat = fatbin(&sections_sweep(), 9);
            let real_elf = elf_over(&fat, &[(".nv_fatbin", 0, fat.len() as u64)]);
            // Where the next file's fat binary lies in the tar, counted from this file's
            // data: its 4 KiB stored block, the next header, the next ELF header.
            let target = 4096 + 512 + 64;
            let mut lying = elf_over(&[], &[(".nv_fatbin", target - 64, fat.len() as u64)]);
            lying.resize(4096, 0);
            image.layer(false, |l| {
                l.sparse(b"opt/a.so", &lying, 1 << 20, &[(0, 4096)])?;
                l.file(b"opt/b.so", 0o755, real_elf.len() as u64, &real_elf[..])
            })?;
            image.layer(false, |l| {
                for i in 0..count {
                    let name = format!("srv/claims/s{i}");
                    l.sparse(name.as_bytes(), &[0; 4096], 16 << 20, &[(0, 4096)])?;
                }
                l.file(b"srv/filler", 0o644, 16 << 20, io::repeat(0).take(16 << 20))
            })?;
        }
        "databases-wide" => write_databases_wide(&mut image, count)?,
        "rpm-headers" => write_rpm_headers(&mut image, count)?,
        "recorded" => {
            write_recorded(&mut image, count)?;
            let mut written = image.finish()?;
            // The wide build infos' 5,000 modules, and the one nested archive of each jar.
            written.recorded_dependencies = 2 * count * (5_000 + 1);
            return Ok(written);
        }
        "databases-prefix" => write_databases_prefix(&mut image, count)?,
        "apt-docs" => {
            return write_spec(&crate::reinstall::apt_install_deleting_docs(), out, count);
        }
        "chown" => return write_spec(&crate::reinstall::chown_recursive(), out, count),
        _ => unreachable!("every crafted image has a writer"),
    }
    image.finish()
}

/// A small image from the generator's specs, written whole (they hold a few hundred KiB).
fn write_spec(spec: &crate::ImageSpec, out: &Path, count: u64) -> io::Result<Written> {
    let built = crate::build(spec)?;
    std::fs::write(out, crate::docker_legacy(&[&built], false)?)?;
    Ok(Written {
        count,
        entries: spec.layers.iter().map(|l| l.ops.len() as u64).sum(),
        path_bytes: spec
            .layers
            .iter()
            .flat_map(|l| &l.ops)
            .map(|op| op.path().len() as u64)
            .sum(),
        layers: spec.layers.len(),
        tar_bytes: built.layers.iter().map(|l| l.len() as u64).sum(),
        database_bytes: 0,
        recorded_dependencies: 0,
    })
}

/// Bytes of each RECORD of `databases`: a quarter of `--max-metadata`.
const RECORD_BYTES: usize = 16 << 20;

/// Bytes of each of the largest databases of `databases-wide`: as large as a layer's
/// allowance for databases (`--max-metadata`) lets one be.
const DATABASE_BYTES: u64 = (64 << 20) - 64;

/// A database of `prefix`, then as many units `text(index)` (all as long as the first) as
/// `bytes` holds.
fn database_of(
    layer: &mut Layer,
    path: &[u8],
    prefix: &[u8],
    bytes: u64,
    text: impl Fn(u64) -> String,
) -> io::Result<()> {
    let unit = text(0).len();
    let units = bytes.saturating_sub(prefix.len() as u64) / unit as u64;
    let size = prefix.len() as u64 + units * unit as u64;
    let make = move |i, unit: &mut [u8]| unit.copy_from_slice(text(i).as_bytes());
    layer.database(path, size, Units::new(prefix.to_vec(), unit, units, make))
}

/// `recorded`: `count` files of each hostile kind, in a gzip layer and a plain one.
fn write_recorded(image: &mut Image, count: u64) -> io::Result<()> {
    use crate::binaries::{go_buildinfo, zip_of, zlib};
    let bomb = zlib(&vec![b' '; 9 << 20]);
    let bomb_elf = elf_over(&bomb, &[(".dep-v0", 0, bomb.len() as u64)]);
    let mut endless = go_buildinfo("go1.22.1", "")[..32].to_vec();
    endless.extend([0xff; 8]);
    endless.push(0x10);
    let endless_elf = elf_over(&endless, &[(".go.buildinfo", 0, endless.len() as u64)]);
    let modules: String = (0..5_000)
        .map(|i| format!("dep\texample.com/module{i:05}\tv1.0.{i}\th1:x=\n"))
        .collect();
    let info = go_buildinfo(
        "go1.22.1",
        &format!("mod\texample.com/wide\tv1.0.0\n{modules}"),
    );
    let wide_elf = elf_over(&info, &[(".go.buildinfo", 0, info.len() as u64)]);
    // An end record alone, claiming a million entries in a directory of 1 MiB before it.
    let mut claims = b"PK\x05\x06\0\0\0\0".to_vec();
    claims.extend(0xFFFF_u16.to_le_bytes());
    claims.extend(0xFFFF_u16.to_le_bytes());
    claims.extend((1u32 << 20).to_le_bytes());
    claims.extend(0u32.to_le_bytes());
    claims.extend(0u16.to_le_bytes());
    let mut lying_jar = b"PK\x03\x04".to_vec();
    lying_jar.extend(vec![0; 100]);
    lying_jar.extend(claims);
    let nested = zip_of(&[("zeros.bin", &vec![0u8; 100 << 20], true)])?;
    let nesting = zip_of(&[("BOOT-INF/lib/zeros-1.0.jar", &nested, true)])?;
    let (many_sections, shaded) = (many_sections(), shaded_in_the_middle()?);
    for gzip in [true, false] {
        image.layer(gzip, |l| {
            let g = u8::from(gzip);
            let name = format!("usr/bin/sections-{g}");
            l.file(
                name.as_bytes(),
                0o755,
                many_sections.len() as u64,
                &many_sections[..],
            )?;
            let name = format!("app/{g}/shaded-1.0.jar");
            l.file(name.as_bytes(), 0o644, shaded.len() as u64, &shaded[..])?;
            for i in 0..count {
                for (kind, bytes) in [
                    ("bomb", &bomb_elf),
                    ("endless", &endless_elf),
                    ("wide", &wide_elf),
                ] {
                    let name = format!("usr/bin/{kind}-{}-{i}", u8::from(gzip));
                    l.file(name.as_bytes(), 0o755, bytes.len() as u64, &bytes[..])?;
                }
                for (kind, bytes) in [("lying", &lying_jar), ("nesting", &nesting)] {
                    let name = format!("app/{}/{kind}-{i}.jar", u8::from(gzip));
                    l.file(name.as_bytes(), 0o644, bytes.len() as u64, &bytes[..])?;
                }
            }
            Ok(())
        })?;
    }
    Ok(())
}

/// A 64-bit ELF file whose section table comes first and names 65,534 sections `.dep-v0`, all
/// at one offset, over 4 MiB of zeros.
fn many_sections() -> Vec<u8> {
    const ENTRY: usize = 64;
    let sections = 65_535usize;
    let names_at = 64 + sections * ENTRY;
    let names = b"\0.dep-v0\0\0\0\0\0\0\0";
    let data_at = (names_at + names.len()) as u64;
    let mut out = vec![0u8; 64];
    out[..7].copy_from_slice(b"\x7fELF\x02\x01\x01");
    out[16..18].copy_from_slice(&2u16.to_le_bytes());
    out[18..20].copy_from_slice(&62u16.to_le_bytes());
    out[0x28..0x30].copy_from_slice(&64u64.to_le_bytes());
    out[0x3A..0x3C].copy_from_slice(&(ENTRY as u16).to_le_bytes());
    out[0x3C..0x3E].copy_from_slice(&(sections as u16).to_le_bytes());
    let entry = |name: u32, kind: u32, offset: u64, size: u64| {
        let mut e = vec![0u8; ENTRY];
        e[..4].copy_from_slice(&name.to_le_bytes());
        e[4..8].copy_from_slice(&kind.to_le_bytes());
        e[24..32].copy_from_slice(&offset.to_le_bytes());
        e[32..40].copy_from_slice(&size.to_le_bytes());
        e
    };
    out.extend(entry(0, 3, names_at as u64, names.len() as u64));
    for _ in 1..sections {
        out.extend(entry(1, 1, data_at, 100));
    }
    out.extend_from_slice(names);
    out.resize(out.len() + (4 << 20), 0);
    out
}

/// A 20 MiB jar, all stored: its own pom, 2 MiB of classes, a nested archive holding five
/// `pom.properties` near its end (their windows fall inside the nested archive's tail), then
/// 17 MiB more: a streamed walk keeps neither whole.
fn shaded_in_the_middle() -> io::Result<Vec<u8>> {
    use crate::binaries::zip_of;
    let poms: Vec<(String, Vec<u8>)> = (0..5)
        .map(|i| {
            (
                format!("META-INF/maven/org.dep{i}/dep{i}/pom.properties"),
                format!("groupId=org.dep{i}\nartifactId=dep{i}\nversion={i}.0\n").into_bytes(),
            )
        })
        .collect();
    let mut entries: Vec<(&str, &[u8], bool)> = vec![("a.class", b"x", false)];
    entries.extend(poms.iter().map(|(n, b)| (n.as_str(), b.as_slice(), false)));
    let inner = zip_of(&entries)?;
    let own = b"groupId=com.example\nartifactId=shaded\nversion=1.0\n";
    let (pre, post) = (vec![0u8; 2 << 20], vec![0u8; 17 << 20]);
    zip_of(&[
        (
            "META-INF/maven/com.example/shaded/pom.properties",
            own,
            false,
        ),
        ("pre.bin", &pre, false),
        ("BOOT-INF/lib/inner-1.0.jar", &inner, false),
        ("big.bin", &post, false),
    ])
}

/// `rpm-headers`: one header listing `files` files under one directory, hostile headers
/// beside it, in an ndb database; a Berkeley DB hash file whose pages point at themselves.
fn write_rpm_headers(image: &mut Image, files: u64) -> io::Result<()> {
    use crate::rpm::{Value, header_blob, ndb_file, package_header};
    let names: Vec<Vec<u8>> = (0..files)
        .map(|i| format!("f{i:07}").into_bytes())
        .collect();
    let huge = header_blob(&[
        (1000, Value::Str("huge")),
        (1001, Value::Str("1")),
        (1116, Value::I32(vec![0; names.len()])),
        (1117, Value::Strs(names)),
        (1118, Value::Strs(vec![b"/srv/rpm/".to_vec()])),
    ]);
    let mut blobs = vec![huge];
    for i in 0..2_000u32 {
        let mut blob = package_header("bad", "1", &[("/srv/rpm/x".to_owned(), 1)]);
        if i % 2 == 0 {
            // Entry 1's count: past the data.
            blob[8 + 16 + 12..8 + 16 + 16].copy_from_slice(&0x0fff_ffffu32.to_be_bytes());
        } else {
            // Entry 2's offset: out of the data.
            blob[8 + 32 + 8..8 + 32 + 12].copy_from_slice(&(0x7000_0000 + i).to_be_bytes());
        }
        blobs.push(blob);
    }
    let ndb = ndb_file(&blobs);
    image.layer(true, |l| {
        l.file(b"srv/rpm/f0000000", 0o644, 1, &b"x"[..])?;
        l.database(
            b"usr/lib/sysimage/rpm/Packages.db",
            ndb.len() as u64,
            &ndb[..],
        )
    })?;
    // A hash database of 4 KiB pages, 16 MiB: each odd page a hash page whose one value is
    // off-page, 16 MiB long, its chain the next page, an overflow page that names itself
    // as the next.
    let pages = (16 << 20) / 4096u32;
    let mut bdb = vec![0u8; pages as usize * 4096];
    let le16 =
        |page: &mut [u8], at: usize, n: u16| page[at..at + 2].copy_from_slice(&n.to_le_bytes());
    let le32 =
        |page: &mut [u8], at: usize, n: u32| page[at..at + 4].copy_from_slice(&n.to_le_bytes());
    le32(&mut bdb, 12, 0x0006_1561);
    le32(&mut bdb, 16, 9);
    le32(&mut bdb, 20, 4096);
    bdb[25] = 8;
    le32(&mut bdb, 32, pages - 1);
    for p in 1..pages {
        let page = &mut bdb[p as usize * 4096..(p as usize + 1) * 4096];
        le32(page, 8, p);
        if p % 2 == 1 {
            le16(page, 20, 2);
            page[25] = 13;
            // Key: 5 bytes at the end (type 1, a 4-byte number); value: 12 bytes before it.
            le16(page, 26, 4091);
            le16(page, 28, 4079);
            page[4091] = 1;
            le32(page, 4092, p);
            page[4079] = 3;
            le32(page, 4083, p + 1);
            le32(page, 4087, 16 << 20);
        } else {
            le32(page, 16, p);
            le16(page, 20, 1);
            le16(page, 22, 4070);
            page[25] = 7;
        }
    }
    image.layer(true, |l| {
        l.database(b"var/lib/rpm/Packages", bdb.len() as u64, &bdb[..])
    })
}

/// `databases-wide`: each layer a database whose lines name long or many paths. Layers
/// are read newest first, and the databases of an image share one room: the newest name
/// paths too long to keep, which take no room; then the RECORD whose paths are kept
/// (claiming 2,000 directories each) spends it; the older ones are read without room, and
/// must stop as soon, or read on linearly keeping nothing.
fn write_databases_wide(image: &mut Image, bytes: u64) -> io::Result<()> {
    // dpkg diversions: three lines each, `/a<i>`, `/b<i>`, `x`.
    image.layer(true, |l| {
        database_of(l, b"var/lib/dpkg/diversions", b"", bytes, |i| {
            format!("/a{i:09}\n/b{i:09}\nx\n")
        })
    })?;
    // apk: records of a name each, `P:<i>` and a blank line.
    image.layer(true, |l| {
        database_of(l, b"lib/apk/db/installed", b"", bytes, |i| {
            format!("P:p{i:09}\n\n")
        })
    })?;
    // dpkg status: packages of two fields each.
    image.layer(true, |l| {
        database_of(l, b"var/lib/dpkg/status", b"", bytes, |i| {
            format!("Package: p{i:09}\nStatus: install ok installed\n\n")
        })
    })?;
    // distroless md5sums: 2-byte lines, each an empty path.
    image.layer(true, |l| {
        let path = b"var/lib/dpkg/status.d/x.md5sums";
        database_of(l, path, b"", bytes, |_| " \n".to_owned())
    })?;
    // dpkg status: one package, then `a:b` lines.
    image.layer(true, |l| {
        let path = b"var/lib/dpkg/status";
        database_of(l, path, b"Package: x\n", bytes, |_| "a:b\n".to_owned())
    })?;
    // A RECORD of 250 lines of 4 KiB, each 2,000 directories deep: read with the room
    // whole, its claims spend it.
    image.layer(true, |l| {
        let mut record = Vec::new();
        for i in 0..250 {
            record.extend(format!("d{i}/").as_bytes());
            record.extend(b"a/".repeat(2_000));
            record.extend(b"x.py,sha256=abc,1\n");
        }
        let path = b"usr/lib/python3/site-packages/wide-1.0.dist-info/RECORD";
        l.database(path, record.len() as u64, &record[..])
    })?;
    // One RECORD line of 32,000 components: 64 KB, longer than a path can be.
    image.layer(true, |l| {
        let mut record = b"long/".to_vec();
        record.extend(b"a/".repeat(32_000));
        record.extend(b"x.py,sha256=abc,1\n");
        let path = b"usr/lib/python3/site-packages/long-1.0.dist-info/RECORD";
        l.database(path, record.len() as u64, &record[..])
    })?;
    // The newest: apk, a directory of 64 KiB, 40,000 files in it.
    image.layer(true, |l| {
        let mut prefix = b"P:x\nV:1\nF:".to_vec();
        prefix.extend(std::iter::repeat_n(b'd', 1 << 16));
        prefix.push(b'\n');
        let len = prefix.len() as u64 + 40_000 * 4;
        l.database(
            b"lib/apk/db/installed",
            len,
            Units::new(prefix, 4, 40_000, |_, u| u.copy_from_slice(b"R:a\n")),
        )
    })
}

/// `databases-prefix`: paths under directories of 3.8 KiB, each listed in a few bytes.
fn write_databases_prefix(image: &mut Image, empty_files: u64) -> io::Result<()> {
    let long = |c: &str| vec![c.repeat(200); 19].join("/");
    // A RECORD of 65,536 short lines in a site directory of 3.8 KiB.
    image.layer(true, |l| {
        let path = format!("{}/deep-1.0.dist-info/RECORD", long("s"));
        let mut record = Vec::new();
        for i in 0..65_536 {
            record.extend(format!("a{i}\n").as_bytes());
        }
        l.database(path.as_bytes(), record.len() as u64, &record[..])
    })?;
    // The newest: a conda environment of 3.8 KiB whose package lists empty files.
    image.layer(true, |l| {
        let path = format!("{}/conda-meta/x-1-0.json", long("p"));
        let prefix = br#"{"name":"x","version":"1","files":["#.to_vec();
        let len = prefix.len() as u64 + empty_files * 3 + 4;
        let files = Units::new(prefix, 3, empty_files, |_, u| u.copy_from_slice(b"\"\","));
        // The last `,` is taken back by the closing `""]}`.
        let json = files.chain(&b"\"\"]}"[..]);
        l.database(path.as_bytes(), len, json)
    })
}

/// Levels of each chain of `deep-dirs`: paths of about 4,000 bytes, under `PATH_MAX`.
const DEPTH: u64 = 2_000;

/// Implied directories of each file of `implied-dirs` below `x/<i>/`: paths of 4,075
/// bytes, within `--max-path`.
pub const IMPLIED_DEPTH: usize = 2_030;

/// Implied directories of each chain of `whiteout-deep` below `top/d<i>/`.
pub const WHITEOUT_DEPTH: usize = 2_040;

/// The real size each file of `sparse-size` claims: the largest a base-256 field gives a
/// signed reader.
pub const SPARSE_CLAIM: u64 = (1 << 63) - 1;

/// The fat binary magic as it lies in a file.
const MAGIC: [u8; 4] = 0xBA55_ED50_u32.to_le_bytes();

/// A fat binary header of version 1, 16 bytes, with no entries.
const EMPTY_FATBIN: [u8; 16] = [0x50, 0xed, 0x55, 0xba, 1, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0];

/// Bytes that differ for each seed.
fn fill_random(bytes: &mut [u8], seed: u64) {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for chunk in bytes.chunks_mut(8) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
    }
}

/// A prefix, then `count` units of `unit` bytes each made by `make(index, unit)`, streamed.
struct Units<F> {
    prefix: io::Cursor<Vec<u8>>,
    unit: Vec<u8>,
    at: usize,
    next: u64,
    count: u64,
    make: F,
}

impl<F: FnMut(u64, &mut [u8])> Units<F> {
    fn new(prefix: Vec<u8>, unit: usize, count: u64, make: F) -> Self {
        Self {
            prefix: io::Cursor::new(prefix),
            unit: vec![0; unit],
            at: unit,
            next: 0,
            count,
            make,
        }
    }
}

impl<F: FnMut(u64, &mut [u8])> Read for Units<F> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.prefix.read(buf)?;
        if n > 0 {
            return Ok(n);
        }
        let mut filled = 0;
        while filled < buf.len() {
            if self.at == self.unit.len() {
                if self.next == self.count {
                    break;
                }
                (self.make)(self.next, &mut self.unit);
                self.next += 1;
                self.at = 0;
            }
            let take = (self.unit.len() - self.at).min(buf.len() - filled);
            buf[filled..filled + take].copy_from_slice(&self.unit[self.at..self.at + take]);
            self.at += take;
            filled += take;
        }
        Ok(filled)
    }
}

/// An ELF64 little-endian shared object: the header, `data_len` bytes of `data`, the
/// section names and the section table at the end, as linkers write it. Each section is
/// `(name, offset in data, size)`, and may overlap others. Its length and its bytes.
fn elf_stream<D: Read>(
    data: D,
    data_len: u64,
    sections: &[(&str, u64, u64)],
) -> (u64, impl Read + use<D>) {
    let mut names = b"\0".to_vec();
    let mut name_at: Vec<(String, u32)> = Vec::new();
    let mut table: Vec<(u32, u32, u64, u64)> = vec![(0, 0, 0, 0)];
    for &(name, offset, size) in sections {
        let at = if let Some(&(_, at)) = name_at.iter().find(|(n, _)| n == name) {
            at
        } else {
            let at = names.len() as u32;
            names.extend_from_slice(name.as_bytes());
            names.push(0);
            name_at.push((name.to_owned(), at));
            at
        };
        table.push((at, 1, 64 + offset, size));
    }
    let names_offset = 64 + data_len;
    let shstrtab = names.len() as u32;
    names.extend_from_slice(b".shstrtab\0");
    table.push((shstrtab, 3, names_offset, names.len() as u64));
    let mut tail = names;
    while !(names_offset + tail.len() as u64).is_multiple_of(8) {
        tail.push(0);
    }
    let shoff = names_offset + tail.len() as u64;
    crate::cuda::section_table(&table, &mut tail);
    let head = crate::cuda::elf_header(3, shoff, table.len(), table.len() - 1).to_vec();
    let len = 64 + data_len + tail.len() as u64;
    (
        len,
        io::Cursor::new(head)
            .chain(data.take(data_len))
            .chain(io::Cursor::new(tail)),
    )
}

/// Where a layer's tar goes: a file, through gzip or not.
enum Sink {
    Plain(BufWriter<File>),
    Gzip(Box<flate2::write::GzEncoder<BufWriter<File>>>),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Plain(w) => w.write(buf),
            Self::Gzip(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Plain(w) => w.flush(),
            Self::Gzip(w) => w.flush(),
        }
    }
}

impl Sink {
    fn finish(self) -> io::Result<()> {
        match self {
            Self::Plain(mut w) => w.flush(),
            Self::Gzip(w) => w.finish()?.flush(),
        }
    }
}

/// A layer being written: entries go straight to its file.
struct Layer {
    builder: tar::Builder<Hashing<Sink>>,
    entries: u64,
    path_bytes: u64,
    database_bytes: u64,
}

impl Layer {
    /// An entry with `path` as raw bytes (long ones through GNU long names, as the `tar`
    /// crate writes them).
    fn entry(
        &mut self,
        kind: EntryType,
        path: &[u8],
        mode: u32,
        size: u64,
        link: Option<&[u8]>,
        data: impl Read,
    ) -> io::Result<()> {
        let mut header = Header::new_gnu();
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_size(size);
        header.set_mtime(crate::layer::MTIME);
        if let Some(link) = link {
            let field = &mut header.as_old_mut().linkname;
            if link.len() > field.len() {
                return Err(io::Error::other("link target over 100 bytes"));
            }
            field[..link.len()].copy_from_slice(link);
        }
        self.entries += 1;
        self.path_bytes += path.len() as u64;
        if path.len() < 100 {
            header.as_old_mut().name[..path.len()].copy_from_slice(path);
            header.set_cksum();
            self.builder.append(&header, data)
        } else {
            use std::os::unix::ffi::OsStrExt;
            let path = Path::new(std::ffi::OsStr::from_bytes(path));
            self.builder.append_data(&mut header, path, data)
        }
    }

    fn file(&mut self, path: &[u8], mode: u32, size: u64, data: impl Read) -> io::Result<()> {
        self.entry(EntryType::Regular, path, mode, size, None, data)
    }

    /// A package database: a file dive-rs reads whole.
    fn database(&mut self, path: &[u8], size: u64, data: impl Read) -> io::Result<()> {
        self.database_bytes += size;
        self.file(path, 0o644, size, data)
    }

    /// A GNU sparse file (type `S`, old GNU format): `stored` bytes in the tar, placed by
    /// `segments` (offset, length; at most four) in a file of `real` bytes.
    fn sparse(
        &mut self,
        path: &[u8],
        stored: &[u8],
        real: u64,
        segments: &[(u64, u64)],
    ) -> io::Result<()> {
        let octal = |field: &mut [u8; 12], value: u64| {
            field.copy_from_slice(format!("{value:011o}\0").as_bytes());
        };
        let mut header = Header::new_gnu();
        header.set_entry_type(EntryType::GNUSparse);
        header.set_mode(0o644);
        header.set_size(stored.len() as u64);
        header.set_mtime(crate::layer::MTIME);
        header.as_old_mut().name[..path.len()].copy_from_slice(path);
        let gnu = header
            .as_gnu_mut()
            .ok_or_else(|| io::Error::other("not a GNU header"))?;
        for (slot, &(offset, len)) in gnu.sparse.iter_mut().zip(segments) {
            octal(&mut slot.offset, offset);
            octal(&mut slot.numbytes, len);
        }
        gnu.set_real_size(real);
        header.set_cksum();
        self.entries += 1;
        self.path_bytes += path.len() as u64;
        self.builder.append(&header, stored)
    }

    /// A PAX extended header holding `records` as they are, for the next entry.
    fn pax(&mut self, records: &[u8]) -> io::Result<()> {
        let mut header = Header::new_ustar();
        header.set_entry_type(EntryType::XHeader);
        header.set_size(records.len() as u64);
        header.set_mode(0o644);
        header.as_old_mut().name[..10].copy_from_slice(b"PaxHeaders");
        header.set_cksum();
        self.builder.append(&header, records)
    }
}

/// An image being written: each layer to a file beside the output, then packed.
struct Image {
    out: PathBuf,
    layers: Vec<(PathBuf, String)>,
    written: Written,
}

impl Image {
    fn new(out: &Path, count: u64) -> Self {
        Self {
            out: out.to_owned(),
            layers: Vec::new(),
            written: Written {
                count,
                ..Written::default()
            },
        }
    }

    fn layer(
        &mut self,
        gzip: bool,
        fill: impl FnOnce(&mut Layer) -> io::Result<()>,
    ) -> io::Result<()> {
        let path = self
            .out
            .with_extension(format!("layer{}", self.layers.len()));
        let file = BufWriter::with_capacity(1 << 20, File::create(&path)?);
        let sink = if gzip {
            Sink::Gzip(Box::new(flate2::write::GzEncoder::new(
                file,
                flate2::Compression::fast(),
            )))
        } else {
            Sink::Plain(file)
        };
        let mut layer = Layer {
            builder: tar::Builder::new(Hashing {
                inner: sink,
                hasher: Sha256::new(),
                len: 0,
            }),
            entries: 0,
            path_bytes: 0,
            database_bytes: 0,
        };
        fill(&mut layer)?;
        let Layer {
            builder,
            entries,
            path_bytes,
            database_bytes,
        } = layer;
        self.written.database_bytes += database_bytes;
        let hashing = builder.into_inner()?;
        self.written.entries += entries;
        self.written.path_bytes += path_bytes;
        self.written.tar_bytes += hashing.len;
        let diff_id = format!("sha256:{}", hex(&hashing.hasher.finalize()));
        hashing.inner.finish()?;
        self.layers.push((path, diff_id));
        Ok(())
    }

    fn finish(mut self) -> io::Result<Written> {
        let diff_ids: Vec<&str> = self.layers.iter().map(|(_, d)| d.as_str()).collect();
        let history: Vec<_> = (0..self.layers.len())
            .map(|i| json!({"created_by": format!("/bin/sh -c #(nop) crafted layer {i}")}))
            .collect();
        let config = serde_json::to_vec(&json!({"architecture": "amd64", "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": diff_ids}, "history": history}))?;
        let config_hex = hex(&Sha256::digest(&config));
        let mut archive = DockerArchive::create(&self.out)?;
        for (path, diff_id) in &self.layers {
            archive.append_layer(path, diff_id)?;
        }
        archive.finish(&config, &config_hex, "crafted:1")?;
        for (path, _) in &self.layers {
            std::fs::remove_file(path)?;
        }
        self.written.layers = self.layers.len();
        self.layers.clear();
        Ok(self.written)
    }
}

/// The entries of the one fat binary every file of `fatbin-sections` holds (seed 7).
pub fn sections_sweep() -> Vec<FatEntry> {
    arch_sweep(&[75, 80, 86, 89, 90], 200 << 10)
}

/// An ELF file in memory whose section bytes are `data`, with `sections` (name, offset in
/// `data`, size) over them, overlapping or not.
pub fn elf_over(data: &[u8], sections: &[(&str, u64, u64)]) -> Vec<u8> {
    let (len, mut elf) = elf_stream(data, data.len() as u64, sections);
    let mut out = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    elf.read_to_end(&mut out)
        .map_or_else(|_| Vec::new(), |_| out)
}

/// `len` bytes (rounded down to whole numbers) of the fat binary magic, repeated.
pub fn magic_run(len: u64) -> Vec<u8> {
    MAGIC.repeat(usize::try_from(len / 4).unwrap_or(0))
}

/// `len` bytes (rounded down) of valid empty fat binaries, one after another.
pub fn empty_fatbins(len: u64) -> Vec<u8> {
    EMPTY_FATBIN.repeat(usize::try_from(len / 16).unwrap_or(0))
}

/// One fat binary of `n` entries, each a 64-byte header claiming SASS for SM number `i`.
pub fn many_archs(n: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = archs_fatbin(n).read_to_end(&mut out);
    out
}

/// [`many_archs`], streamed.
fn archs_fatbin(n: u64) -> impl Read {
    let mut header = EMPTY_FATBIN.to_vec();
    header[8..16].copy_from_slice(&(n * 64).to_le_bytes());
    Units::new(header, 64, n, |i, u| {
        u.fill(0);
        u[0..2].copy_from_slice(&2u16.to_le_bytes());
        u[2..4].copy_from_slice(&0x0101u16.to_le_bytes());
        u[4..8].copy_from_slice(&64u32.to_le_bytes());
        u[0x1c..0x20].copy_from_slice(&(i as u32).to_le_bytes());
    })
}

/// `n` fat binaries nested in each other: the first holds `n` 64-byte entries, the last of
/// which runs past the end; at byte 0x30 of every entry begins another whose entries are the
/// ones after it. Each fails only at its last entry, so a reader that starts again after each
/// failure reads the same entries once per fat binary.
pub fn nested_fatbins(n: u64) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(&(n * 64).to_le_bytes());
    for k in 0..n {
        let mut entry = [0u8; 64];
        let padded: u64 = if k + 1 < n { 0 } else { 1 << 40 };
        entry[0..2].copy_from_slice(&2u16.to_le_bytes());
        entry[2..4].copy_from_slice(&0x0101u16.to_le_bytes());
        entry[4..8].copy_from_slice(&64u32.to_le_bytes());
        entry[8..16].copy_from_slice(&padded.to_le_bytes());
        entry[0x1c..0x20].copy_from_slice(&80u32.to_le_bytes());
        entry[0x30..0x34].copy_from_slice(&MAGIC);
        entry[0x34..0x36].copy_from_slice(&1u16.to_le_bytes());
        entry[0x36..0x38].copy_from_slice(&16u16.to_le_bytes());
        entry[0x38..0x40].copy_from_slice(&((n - 1 - k) * 64).to_le_bytes());
        out.extend_from_slice(&entry);
    }
    out
}

/// `len` bytes (a multiple of 4) of fat binary magic numbers in which 64 fat binaries begin
/// 16 bytes apart, each with one entry whose payload runs to the last 64 bytes: 64 chains
/// followed at once while every other magic number passes.
pub fn waiting_chains(len: u64) -> Vec<u8> {
    let mut data = magic_run(len);
    let len = data.len() as u64;
    for k in 0..64u64 {
        let start = 16 * k;
        let header = 60_000 + 48 * k;
        let at = (start + header) as usize;
        let s = start as usize;
        data[s + 4..s + 6].copy_from_slice(&1u16.to_le_bytes());
        data[s + 6..s + 8].copy_from_slice(&(header as u16).to_le_bytes());
        data[s + 8..s + 16].copy_from_slice(&(len - start - header).to_le_bytes());
        let mut entry = [0u8; 64];
        entry[0..2].copy_from_slice(&2u16.to_le_bytes());
        entry[2..4].copy_from_slice(&0x0101u16.to_le_bytes());
        entry[4..8].copy_from_slice(&64u32.to_le_bytes());
        entry[8..16].copy_from_slice(&((len - 64) - (start + header + 64)).to_le_bytes());
        entry[0x1c..0x20].copy_from_slice(&80u32.to_le_bytes());
        data[at..at + 64].copy_from_slice(&entry);
    }
    let mut last = [0u8; 64];
    last[0..2].copy_from_slice(&2u16.to_le_bytes());
    last[2..4].copy_from_slice(&0x0101u16.to_le_bytes());
    last[4..8].copy_from_slice(&64u32.to_le_bytes());
    let end = data.len();
    data[end - 64..].copy_from_slice(&last);
    data
}

//! The viewer's ELF summary reads a bounded part of a file however the file is crafted:
//! thousands of overlapping note and dynamic sections, a section table past the cap, and a
//! read far into a gzip layer stops when its watcher says so. Held bytes and openings are
//! counted by the summary itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use dive_core::contents::{ELF_STEP, ELF_SUMMARY_CAP, Version, Watch};
use dive_core::{AnalyzerBuilder, Error, Source};
use dive_testdata::{Compression, ImageSpec, LayerSpec, Op};

use crate::common;

const SHT_PROGBITS: u32 = 1;
const SHT_STRTAB: u32 = 3;
const SHT_DYNAMIC: u32 = 6;
const SHT_NOTE: u32 = 7;
const DT_NEEDED: u64 = 1;
const DT_SONAME: u64 = 14;

/// One section header: name offset, type, file offset, size, link.
type Section = (u32, u32, u64, u64, u32);

/// What a crafted file holds.
struct Crafted {
    /// Note sections, all starting inside one 1 MiB run of notes (the first at its start).
    notes: usize,
    /// Dynamic sections, all over the one dynamic table.
    dynamics: usize,
    /// `DT_NEEDED` entries of the dynamic table.
    needed: usize,
    /// Bytes of `.text` between the notes and the tables (a large library's code).
    text: usize,
    /// Section headers claimed (`e_shnum`) past those listed, the table padded to hold them.
    extra_headers: usize,
}

const BUILD_ID: [u8; 20] = [
    0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
];

/// An ELF64 little-endian shared object as `c` says, built by hand (no toolchain makes such
/// files): the notes start with a GNU build-id, the dynamic table names `libx.so.1` as
/// needed `c.needed` times and `libcrafted.so` as its SONAME.
fn crafted(c: &Crafted) -> Vec<u8> {
    let mut out = vec![0u8; 64];
    let le32 = |v: u32| v.to_le_bytes();
    // The notes: the build-id, then 16-byte notes up to 1 MiB.
    let notes_at = out.len() as u64;
    out.extend(le32(4));
    out.extend(le32(20));
    out.extend(le32(3));
    out.extend(b"GNU\0");
    out.extend(BUILD_ID);
    while (out.len() as u64) < notes_at + (1 << 20) {
        out.extend(le32(4));
        out.extend(le32(0));
        out.extend(le32(1));
        out.extend(b"XYZ\0");
    }
    let notes_len = out.len() as u64 - notes_at;
    let dynstr_at = out.len() as u64;
    let dynstr = b"\0libx.so.1\0libcrafted.so\0";
    out.extend(dynstr);
    while !out.len().is_multiple_of(8) {
        out.push(0);
    }
    let dynamic_at = out.len() as u64;
    for _ in 0..c.needed {
        out.extend(DT_NEEDED.to_le_bytes());
        out.extend(1u64.to_le_bytes());
    }
    out.extend(DT_SONAME.to_le_bytes());
    out.extend(11u64.to_le_bytes());
    out.extend([0u8; 16]);
    let dynamic_len = out.len() as u64 - dynamic_at;
    let text_at = out.len() as u64;
    out.extend((0..c.text).map(|i| (i as u8).wrapping_mul(7)));
    let names = b"\0.note.x\0.dynstr\0.dynamic\0.text\0.shstrtab\0";
    let shstrtab_at = out.len() as u64;
    out.extend(names);
    while !out.len().is_multiple_of(8) {
        out.push(0);
    }
    let mut table: Vec<Section> = vec![(0, 0, 0, 0, 0)];
    table.push((9, SHT_STRTAB, dynstr_at, dynstr.len() as u64, 0));
    let dynstr_index = 1;
    for i in 0..c.notes as u64 {
        // Every note section at its own offset and size, all over the same run.
        let shift = i * 4 % 4096;
        table.push((1, SHT_NOTE, notes_at + shift, notes_len - shift, 0));
    }
    for i in 0..c.dynamics as u64 {
        let shift = i % 8 * 16;
        table.push((
            17,
            SHT_DYNAMIC,
            dynamic_at + shift,
            dynamic_len - shift,
            dynstr_index,
        ));
    }
    table.push((26, SHT_PROGBITS, text_at, c.text as u64, 0));
    table.push((32, SHT_STRTAB, shstrtab_at, names.len() as u64, 0));
    let shstrndx = table.len() - 1;
    let shoff = out.len() as u64;
    for (name, kind, offset, size, link) in &table {
        let mut header = [0u8; 64];
        header[0..4].copy_from_slice(&name.to_le_bytes());
        header[4..8].copy_from_slice(&kind.to_le_bytes());
        header[24..32].copy_from_slice(&offset.to_le_bytes());
        header[32..40].copy_from_slice(&size.to_le_bytes());
        header[40..44].copy_from_slice(&link.to_le_bytes());
        out.extend(header);
    }
    out.extend(std::iter::repeat_n(0u8, c.extra_headers * 64));
    let shnum = table.len() + c.extra_headers;
    out[0..7].copy_from_slice(b"\x7fELF\x02\x01\x01");
    out[16..18].copy_from_slice(&3u16.to_le_bytes());
    out[18..20].copy_from_slice(&62u16.to_le_bytes());
    out[20..24].copy_from_slice(&1u32.to_le_bytes());
    out[40..48].copy_from_slice(&shoff.to_le_bytes());
    out[52..54].copy_from_slice(&64u16.to_le_bytes());
    out[58..60].copy_from_slice(&64u16.to_le_bytes());
    out[60..62].copy_from_slice(&u16::try_from(shnum).unwrap().to_le_bytes());
    out[62..64].copy_from_slice(&u16::try_from(shstrndx).unwrap().to_le_bytes());
    out
}

/// An image holding `bytes` as `usr/lib/crafted.so`, as a plain `docker save` and as a gzip
/// OCI layout; the paths, kept as long as the guards.
fn images(
    bytes: Vec<u8>,
) -> (
    Vec<tempfile::TempDir>,
    Vec<(&'static str, std::path::PathBuf)>,
) {
    let spec = ImageSpec::new(
        "crafted:1",
        vec![LayerSpec::new(
            "COPY crafted.so /usr/lib/",
            vec![Op::text("usr/lib/crafted.so", bytes)],
        )],
    );
    let built = dive_testdata::build(&spec).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.tar");
    std::fs::write(
        &plain,
        dive_testdata::docker_legacy(&[&built], false).unwrap(),
    )
    .unwrap();
    let oci = common::oci_dir(&built, Compression::Gzip);
    let gzip = oci.path().to_path_buf();
    (vec![dir, oci], vec![("plain", plain), ("gzip", gzip)])
}

#[test]
fn thousands_of_overlapping_notes_and_dynamic_sections_stay_within_the_cap() {
    let c = Crafted {
        notes: 10_000,
        dynamics: 2_000,
        needed: 20_000,
        text: 100_000,
        extra_headers: 0,
    };
    let bytes = crafted(&c);
    let size = bytes.len() as u64;
    let (_dir, images) = images(bytes);
    let analyzer = AnalyzerBuilder::new().build();
    let mut summaries = Vec::new();
    for (form, path) in images {
        let analysis = analyzer.analyze(Source::path(&path), &()).unwrap();
        let contents = analyzer.contents(Source::path(&path), &analysis).unwrap();
        let found = analysis
            .find(b"usr/lib/crafted.so", Version::Final)
            .unwrap();
        let summary = contents
            .elf_summary(&analysis, found.layer, found.entry)
            .unwrap()
            .unwrap();
        eprintln!(
            "{form}: {size} bytes, {:?}, left out {:?}",
            summary.read, summary.left_out
        );
        // A seeking read cache would have kept every note section whole: 10,000 MiB.
        assert!(
            summary.read.held <= ELF_SUMMARY_CAP,
            "{form}: {:?}",
            summary.read
        );
        assert!(
            summary.read.held + summary.read.passed <= 2 * size,
            "{form}"
        );
        if form == "gzip" {
            // Decoded from the layer's start once for the head and the table, once more
            // for what the sections point back at: not once per section.
            assert!(summary.read.opens <= 2, "{form}: {:?}", summary.read);
        }
        let hex: String = BUILD_ID.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(summary.build_id.as_deref(), Some(hex.as_str()), "{form}");
        assert_eq!(summary.soname.as_deref(), Some("libcrafted.so"), "{form}");
        assert_eq!(summary.needed.len(), 1024, "{form}");
        assert!(summary.needed.iter().all(|n| n == "libx.so.1"), "{form}");
        assert_eq!(summary.more_needed, 20_000 - 1024, "{form}");
        // Listed up to 1024; the rest counted, bytes and all.
        let listed = summary.sections.len() as u64;
        assert_eq!(listed, 1024, "{form}");
        // (`.dynstr`, `.text` and `.shstrtab` besides the notes and dynamic sections.)
        assert_eq!(
            listed + summary.more_sections.0,
            10_000 + 2_000 + 3,
            "{form}"
        );
        // Only so many note sections fit the cap: the others are said to be left out.
        assert!(
            summary
                .left_out
                .iter()
                .any(|l| l.ends_with(" note sections")),
            "{form}: {:?}",
            summary.left_out
        );
        summaries.push(summary);
    }
    // Plain and gzip tell the same, but for how they were read.
    let (mut plain, gzip) = (summaries[0].clone(), &summaries[1]);
    plain.read = gzip.read;
    assert_eq!(&plain, gzip);
}

#[test]
fn a_section_table_over_the_cap_is_left_out_and_said() {
    let c = Crafted {
        notes: 1,
        dynamics: 1,
        needed: 2,
        text: 1000,
        // 65,000 headers: a 4.2 MB table, past the 4 MiB cap.
        extra_headers: 65_000 - 6,
    };
    let (_dir, images) = images(crafted(&c));
    let analyzer = AnalyzerBuilder::new().build();
    for (form, path) in images {
        let analysis = analyzer.analyze(Source::path(&path), &()).unwrap();
        let contents = analyzer.contents(Source::path(&path), &analysis).unwrap();
        let found = analysis
            .find(b"usr/lib/crafted.so", Version::Final)
            .unwrap();
        let summary = contents
            .elf_summary(&analysis, found.layer, found.entry)
            .unwrap()
            .unwrap();
        assert!(summary.read.held <= ELF_SUMMARY_CAP, "{form}");
        assert_eq!(
            summary.left_out,
            ["the section table: 4.2 MB"],
            "{form}: {summary:?}"
        );
        assert!(summary.sections.is_empty(), "{form}");
        assert_eq!(summary.kind, "shared object");
    }
}

/// A summary of a file whose section table lies 40 MiB on in a gzip layer asks its watcher
/// at least every 64 KiB; told to stop, it stops at once.
#[test]
fn a_summary_stops_when_its_watcher_says_so() {
    let c = Crafted {
        notes: 1,
        dynamics: 1,
        needed: 2,
        text: 40 << 20,
        extra_headers: 0,
    };
    let size = crafted(&c).len() as u64;
    let (_dir, images) = images(crafted(&c));
    let (_, gzip) = &images[1];
    let analyzer = AnalyzerBuilder::new().build();
    let analysis = analyzer.analyze(Source::path(gzip), &()).unwrap();
    let contents = analyzer.contents(Source::path(gzip), &analysis).unwrap();
    let found = analysis
        .find(b"usr/lib/crafted.so", Version::Final)
        .unwrap();
    let counting = |stop_at: u64| {
        let calls = Arc::new(AtomicU64::new(0));
        let seen = Arc::clone(&calls);
        let watch: Watch = Arc::new(move |_, _| seen.fetch_add(1, Ordering::Relaxed) + 1 < stop_at);
        (calls, watch)
    };
    // Left alone: it reads to the table, asking all the way.
    let (calls, watch) = counting(u64::MAX);
    let summary = contents
        .elf_summary_watched(&analysis, found.layer, found.entry, &watch)
        .unwrap()
        .unwrap();
    assert_eq!(summary.soname.as_deref(), Some("libcrafted.so"));
    let asked = calls.load(Ordering::Relaxed);
    assert!(
        asked >= (size - (64 << 10)) / ELF_STEP,
        "asked {asked} times over {size} bytes"
    );
    // Told to stop at the fifth look: stopped there, long before the table.
    let (calls, watch) = counting(5);
    let err = contents
        .elf_summary_watched(&analysis, found.layer, found.entry, &watch)
        .unwrap_err();
    assert!(matches!(err, Error::Cancelled { .. }), "{err}");
    assert_eq!(calls.load(Ordering::Relaxed), 5);
}

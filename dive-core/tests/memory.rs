//! Memory does not grow with layer size: a 3 GB layer streamed from a generator (never held
//! anywhere) is analysed within a small, fixed peak RSS. Alone in its file so that the
//! process's high-water mark is this test's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Cursor, Read};

use dive_core::{AnalyzerBuilder, Source};
use dive_testdata::Content;

const BLOCK: u64 = 512;

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn member(name: &str, size: u64) -> Vec<u8> {
    let mut header = tar::Header::new_gnu();
    header.set_path(name).unwrap();
    header.set_size(size);
    header.set_mode(0o644);
    header.set_cksum();
    header.as_bytes().to_vec()
}

fn padding(size: u64) -> Cursor<Vec<u8>> {
    Cursor::new(vec![0; (size.div_ceil(BLOCK) * BLOCK - size) as usize])
}

/// A `docker save` stream with one layer holding one file of `size` bytes, produced lazily.
fn huge_archive(size: u64) -> impl Read + Send {
    let layer_len = BLOCK + size.div_ceil(BLOCK) * BLOCK + 2 * BLOCK;
    let config = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"history":[]}"#.to_vec();
    let manifest =
        br#"[{"Config":"config.json","RepoTags":["huge:1"],"Layers":["layer.tar"]}]"#.to_vec();
    let mut tail = Vec::new();
    for (name, bytes) in [("config.json", config), ("manifest.json", manifest)] {
        tail.extend(member(name, bytes.len() as u64));
        tail.extend_from_slice(&bytes);
        tail.extend(padding(bytes.len() as u64).into_inner());
    }
    tail.extend([0; 1024]);
    Cursor::new(member("layer.tar", layer_len))
        .chain(Cursor::new(member("opt/weights.bin", size)))
        .chain(Content::new(7, size))
        .chain(padding(size))
        .chain(Cursor::new(vec![0; 1024]))
        .chain(Cursor::new(tail))
}

#[test]
fn a_3_gb_streamed_layer_is_analysed_in_bounded_memory() {
    const SIZE: u64 = 3_000_000_000;
    let before = peak_rss_kib();
    let analysis = AnalyzerBuilder::new()
        .build()
        .analyze(Source::reader("-", huge_archive(SIZE)), &())
        .unwrap();
    let grown = peak_rss_kib().saturating_sub(before);
    assert_eq!(analysis.image.final_bytes, SIZE);
    assert!(analysis.warnings.is_empty(), "{:?}", analysis.warnings);
    eprintln!("peak RSS grew by {grown} KiB for a {SIZE}-byte layer");
    assert!(
        grown < 64 * 1024,
        "peak RSS grew by {grown} KiB: memory follows layer size"
    );
}

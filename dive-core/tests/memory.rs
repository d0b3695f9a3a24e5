//! Memory does not grow with layer size: a 3 GB layer streamed from a generator (never held
//! anywhere) is analysed within a small, fixed peak RSS. The process's peak is shared, so the
//! tests here take a lock and run one at a time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Cursor, Read};

use dive_core::{AnalyzerBuilder, Source};
use dive_testdata::Content;

const BLOCK: u64 = 512;

static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Resets the peak RSS to the current RSS (Linux `clear_refs` 5) and returns the current RSS,
/// so that what the setup allocated does not mask what the analysis needs.
fn reset_peak_rss_kib() -> u64 {
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    status_kib("VmRSS:")
}

fn peak_rss_kib() -> u64 {
    status_kib("VmHWM:")
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
    let _serial = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let before = reset_peak_rss_kib();
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

/// A plain archive on disk whose 200 MB file is rewritten (chmod) in a later layer: the
/// metadata-only check reads both copies, and no file page may stay in our RSS.
#[test]
fn reading_a_plain_archive_from_disk_keeps_file_pages_out_of_rss() {
    use dive_testdata::{ImageSpec, LayerSpec, Op};
    const SIZE: u64 = 200_000_000;
    let _serial = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let spec = ImageSpec::new(
        "rewrite/big:1",
        vec![
            LayerSpec::new("add", vec![Op::file("opt/lib.so", SIZE, 5)]),
            LayerSpec::new(
                "chmod",
                vec![Op::File {
                    path: b"opt/lib.so".to_vec(),
                    size: SIZE,
                    seed: 5,
                    mode: 0o755,
                }],
            ),
        ],
    );
    let built = dive_testdata::build(&spec).unwrap();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        file.path(),
        dive_testdata::docker_legacy(&[&built], false).unwrap(),
    )
    .unwrap();
    drop(built);
    let before = reset_peak_rss_kib();
    let analysis = AnalyzerBuilder::new()
        .build()
        .analyze(Source::path(file.path()), &())
        .unwrap();
    let grown = peak_rss_kib().saturating_sub(before);
    assert_eq!(analysis.hidden.len(), 1);
    assert_eq!(
        analysis.hidden[0].reason,
        dive_core::tree::HiddenReason::MetadataOnly
    );
    eprintln!(
        "peak RSS grew by {grown} KiB reading a {}-byte archive",
        2 * SIZE
    );
    assert!(
        grown < 64 * 1024,
        "peak RSS grew by {grown} KiB: file pages are held"
    );
}

//! Memory does not grow with layer size: a 3 GB layer streamed from a generator (never held
//! anywhere) is analysed within a small, fixed peak RSS. The process's peak is shared, so the
//! tests here take a lock and run one at a time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Cursor, Read};

use dive_core::{AnalyzerBuilder, Source};
use dive_testdata::Content;
use dive_testdata::raw::{self, BLOCK};

static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Analyses `source`; returns the analysis and how far the peak RSS rose above the RSS
/// before it (so that what the setup allocated does not count).
fn analyse_measuring_peak(source: Source) -> (dive_core::Analysis, u64) {
    let before = dive_testdata::rss::reset_peak_kib().unwrap();
    let analysis = AnalyzerBuilder::new().build().analyze(source, &()).unwrap();
    (
        analysis,
        dive_testdata::rss::peak_kib()
            .unwrap()
            .saturating_sub(before),
    )
}

/// Builds `spec` as a legacy `docker save` in a file, frees the bytes built, and analyses the
/// file measuring the peak as [`analyse_measuring_peak`] does.
fn analyse_on_disk(spec: &dive_testdata::ImageSpec) -> (dive_core::Analysis, u64) {
    let built = dive_testdata::build(spec).unwrap();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        file.path(),
        dive_testdata::docker_legacy(&[&built], false).unwrap(),
    )
    .unwrap();
    drop(built);
    analyse_measuring_peak(Source::path(file.path()))
}

/// The peak grew by less than 64 MiB, told with `what` the input was.
fn assert_bounded(grown_kib: u64, what: &str) {
    eprintln!("peak RSS grew by {grown_kib} KiB for {what}");
    assert!(
        grown_kib < 64 * 1024,
        "peak RSS grew by {grown_kib} KiB for {what}: memory follows the input's size"
    );
}

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn member(name: &str, size: u64) -> Vec<u8> {
    raw::header(name.as_bytes(), b'0', size).as_bytes().to_vec()
}

fn padding(size: u64) -> Cursor<Vec<u8>> {
    Cursor::new(raw::padding(size))
}

/// A `docker save` stream with one layer blob of `layer_len` bytes, produced lazily.
fn archive(layer_len: u64, layer: impl Read + Send) -> impl Read + Send {
    let config = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"history":[]}"#.to_vec();
    let manifest =
        br#"[{"Config":"config.json","RepoTags":["huge:1"],"Layers":["layer.tar"]}]"#.to_vec();
    let mut tail = padding(layer_len).into_inner();
    for (name, bytes) in [("config.json", config), ("manifest.json", manifest)] {
        tail.extend(member(name, bytes.len() as u64));
        tail.extend_from_slice(&bytes);
        tail.extend(padding(bytes.len() as u64).into_inner());
    }
    tail.extend([0; 1024]);
    Cursor::new(member("layer.tar", layer_len))
        .chain(layer)
        .chain(Cursor::new(tail))
}

/// A layer tar holding one file of `size` bytes of `content`.
fn one_file_layer(size: u64, content: impl Read + Send) -> (u64, impl Read + Send) {
    let layer_len = BLOCK + size.div_ceil(BLOCK) * BLOCK + 2 * BLOCK;
    let layer = Cursor::new(member("opt/weights.bin", size))
        .chain(content)
        .chain(padding(size))
        .chain(Cursor::new(vec![0; 1024]));
    (layer_len, layer)
}

/// A `docker save` stream with one layer holding one file of `size` bytes, produced lazily.
fn huge_archive(size: u64) -> impl Read + Send {
    let (layer_len, layer) = one_file_layer(size, Content::new(7, size));
    archive(layer_len, layer)
}

#[test]
fn a_3_gb_streamed_layer_is_analysed_in_bounded_memory() {
    const SIZE: u64 = 3_000_000_000;
    let _serial = one_at_a_time();
    let (analysis, grown) = analyse_measuring_peak(Source::reader("-", huge_archive(SIZE)));
    assert_eq!(analysis.image.final_bytes, SIZE);
    assert!(analysis.warnings.is_empty(), "{:?}", analysis.warnings);
    assert_bounded(grown, &format!("a {SIZE}-byte streamed layer"));
}

/// A plain archive on disk whose 200 MB file is rewritten (chmod) in a later layer: the
/// metadata-only check reads both copies, and no file page may stay in our RSS.
#[test]
fn reading_a_plain_archive_from_disk_keeps_file_pages_out_of_rss() {
    use dive_testdata::{ImageSpec, LayerSpec, Op};
    const SIZE: u64 = 200_000_000;
    let _serial = one_at_a_time();
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
    let (analysis, grown) = analyse_on_disk(&spec);
    assert_eq!(analysis.hidden.len(), 1);
    assert_eq!(
        analysis.hidden[0].reason,
        dive_core::tree::HiddenReason::MetadataOnly
    );
    // File pages read for the proof must not stay in RSS.
    assert_bounded(grown, &format!("a {}-byte archive on disk", 2 * SIZE));
}

/// Two large files with the same bytes at two paths of a plain archive on disk: finding them
/// duplicates compares them whole, and no file page may stay in our RSS.
#[test]
fn comparing_large_duplicates_keeps_file_pages_out_of_rss() {
    use dive_testdata::{ImageSpec, LayerSpec, Op};
    const SIZE: u64 = 150_000_000;
    let _serial = one_at_a_time();
    let spec = ImageSpec::new(
        "twice/big:1",
        vec![LayerSpec::new(
            "copy",
            vec![
                Op::file("opt/a/lib.so", SIZE, 9),
                Op::file("opt/b/lib.so", SIZE, 9),
            ],
        )],
    );
    let (analysis, grown) = analyse_on_disk(&spec);
    assert_eq!(analysis.attribution.duplicates.len(), 1);
    assert_eq!(analysis.attribution.duplicates[0].copies.len(), 2);
    assert_bounded(grown, &format!("two {SIZE}-byte duplicates on disk"));
}

/// Thirty thousand files of one size, all different, in a plain archive on disk: each one's
/// first bytes are read to tell them apart, and no file page may stay in our RSS.
#[test]
fn telling_same_size_files_apart_keeps_file_pages_out_of_rss() {
    use dive_testdata::{ImageSpec, LayerSpec, Op};
    const FILES: u64 = 30_000;
    const SIZE: u64 = 8_000;
    let _serial = one_at_a_time();
    let ops = (0..FILES)
        .map(|i| Op::file(&format!("srv/m{}/f{i}.py", i % 100), SIZE, i))
        .collect();
    let (analysis, grown) = analyse_on_disk(&ImageSpec::new(
        "same/size:1",
        vec![LayerSpec::new("add", ops)],
    ));
    assert_eq!(analysis.image.final_files, FILES);
    assert!(analysis.attribution.duplicates.is_empty());
    assert_bounded(grown, &format!("{FILES} files of {SIZE} bytes on disk"));
}

/// Bytes that zstd shrinks about 60×, a real ratio under the decompression-bomb cap: the
/// first KiB of every 64 KiB is noise, the rest zeros.
struct MostlyZeros {
    pos: u64,
    size: u64,
    noise: u64,
}

impl Read for MostlyZeros {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        const PERIOD: u64 = 64 << 10;
        let n = buf.len().min((self.size - self.pos) as usize);
        buf[..n].fill(0);
        let mut at = 0;
        while at < n {
            let into = ((self.pos + at as u64) % PERIOD) as usize;
            let run = (PERIOD as usize - into).min(n - at);
            let noisy = 1024usize.saturating_sub(into).min(run);
            for byte in &mut buf[at..at + noisy] {
                // xorshift64
                self.noise ^= self.noise << 13;
                self.noise ^= self.noise >> 7;
                self.noise ^= self.noise << 17;
                *byte = self.noise as u8;
            }
            at += run;
        }
        self.pos += n as u64;
        Ok(n)
    }
}

/// A zstd layer in an archive on disk is read, decoded and walked on three threads: what
/// they hold in flight is bounded, whatever the size of the file inside.
#[test]
fn a_2_gb_file_in_a_zstd_layer_is_analysed_in_bounded_memory() {
    const SIZE: u64 = 2_000_000_000;
    let _serial = one_at_a_time();
    let (_, mut layer) = one_file_layer(
        SIZE,
        MostlyZeros {
            pos: 0,
            size: SIZE,
            noise: 1,
        },
    );
    let mut encoder = zstd::Encoder::new(Vec::new(), 1).unwrap();
    std::io::copy(&mut layer, &mut encoder).unwrap();
    let blob = encoder.finish().unwrap();
    let mut file = tempfile::NamedTempFile::new().unwrap();
    let blob_len = blob.len() as u64;
    std::io::copy(&mut archive(blob_len, Cursor::new(blob)), &mut file).unwrap();
    let (analysis, grown) = analyse_measuring_peak(Source::path(file.path()));
    assert_eq!(analysis.image.final_bytes, SIZE);
    assert_eq!(analysis.image.size_compressed, blob_len);
    assert!(analysis.warnings.is_empty(), "{:?}", analysis.warnings);
    assert_bounded(grown, &format!("a {SIZE}-byte file in a zstd layer"));
}

/// Counts and hashes what it is given, holding none of it.
struct Digesting {
    hasher: sha2::Sha256,
    bytes: u64,
}

impl std::io::Write for Digesting {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        sha2::Digest::update(&mut self.hasher, buf);
        self.bytes += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `cat` of a 1 GB file out of a gzip layer streams it: the layer is decoded up to the
/// file and through it, and the peak RSS does not follow the file's size. The bytes are the
/// generator's, by SHA-256.
#[test]
fn cat_of_a_1_gb_file_from_a_gzip_layer_streams_in_bounded_memory() {
    use sha2::Digest as _;
    const SIZE: u64 = 1_000_000_000;
    let _serial = one_at_a_time();
    let content = || MostlyZeros {
        pos: 0,
        size: SIZE,
        noise: 3,
    };
    let (_, mut layer) = one_file_layer(SIZE, content());
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::copy(&mut layer, &mut encoder).unwrap();
    let blob = encoder.finish().unwrap();
    let mut file = tempfile::NamedTempFile::new().unwrap();
    std::io::copy(
        &mut archive(blob.len() as u64, Cursor::new(blob)),
        &mut file,
    )
    .unwrap();
    let analyzer = AnalyzerBuilder::new().build();
    let analysis = analyzer.analyze(Source::path(file.path()), &()).unwrap();
    let found = analysis
        .find(b"opt/weights.bin", dive_core::contents::Version::Final)
        .unwrap();
    let contents = analyzer
        .contents(Source::path(file.path()), &analysis)
        .unwrap();
    let mut out = Digesting {
        hasher: sha2::Sha256::new(),
        bytes: 0,
    };
    let before = dive_testdata::rss::reset_peak_kib().unwrap();
    let copied = contents
        .copy(&analysis, found.layer, found.entry, &mut out)
        .unwrap();
    let grown = dive_testdata::rss::peak_kib()
        .unwrap()
        .saturating_sub(before);
    assert_eq!((copied, out.bytes), (SIZE, SIZE));
    let mut truth = Digesting {
        hasher: sha2::Sha256::new(),
        bytes: 0,
    };
    std::io::copy(&mut content(), &mut truth).unwrap();
    assert_eq!(out.hasher.finalize(), truth.hasher.finalize());
    assert_bounded(
        grown,
        &format!("cat of a {SIZE}-byte file from a gzip layer"),
    );
}

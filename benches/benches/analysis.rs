//! Benchmarks of the building blocks and of whole analyses, on generated images.
//!
//! `cargo bench -p dive-benches`
// Benchmark set-up on generated data: a failure there is a bug in the bench, not input.
#![allow(clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dive_core::{AnalyzerBuilder, Source};
use dive_testdata::{
    BINARY, Compression, ImageSpec, LayerSpec, LayoutOptions, MediaTypes, Op, build, compress,
    demo_image, docker_legacy, docker25, oci_layout,
};

fn layer_walks(c: &mut Criterion) {
    let built = build(&demo_image()).expect("demo builds");
    // The pip layer: the largest, many files of every size.
    let plain = built.layers[2].clone();
    let gzip = compress(&plain, Compression::Gzip).expect("gzip");
    let zstd = compress(&plain, Compression::Zstd).expect("zstd");
    let mut group = c.benchmark_group("walk one layer");
    group.throughput(Throughput::Bytes(plain.len() as u64));
    group.bench_function("plain, seeking", |b| {
        b.iter(|| black_box(dive_core::layer::walk_bytes(&plain, &Default::default())));
    });
    group.bench_function("plain, streaming", |b| {
        b.iter(|| {
            black_box(dive_core::layer::walk_reader(
                &plain[..],
                &Default::default(),
            ))
        });
    });
    group.bench_function("gzip", |b| {
        b.iter(|| black_box(dive_core::layer::walk_bytes(&gzip, &Default::default())));
    });
    group.bench_function("zstd", |b| {
        b.iter(|| black_box(dive_core::layer::walk_bytes(&zstd, &Default::default())));
    });
    group.bench_function("gzip, decode and walk on two threads", |b| {
        b.iter(|| {
            black_box(dive_core::layer::walk_reader_threaded(
                &gzip[..],
                &Default::default(),
            ))
        });
    });
    group.finish();
}

/// A layer of binary-like libraries (about half compressible, like CUDA `.so` files).
fn binary_layer(seed: u64, bytes: u64) -> Vec<u8> {
    let ops = (0..8)
        .map(|i| Op::file(&format!("lib/part{i}.so"), bytes / 8, BINARY | (seed + i)))
        .collect();
    let spec = ImageSpec::new("blocks:1", vec![LayerSpec::new("RUN build", ops)]);
    build(&spec).expect("layer builds").layers.remove(0)
}

/// The floors the walks are measured against: decoding and hashing alone.
fn building_blocks(c: &mut Criterion) {
    let plain = binary_layer(1, 64 << 20);
    let gzip = compress(&plain, Compression::Gzip).expect("gzip");
    let zstd = compress(&plain, Compression::Zstd).expect("zstd");
    let mut group = c.benchmark_group("building blocks, 64 MiB of binary-like data");
    group.throughput(Throughput::Bytes(plain.len() as u64));
    group.sample_size(10);
    group.bench_function("inflate (flate2, zlib-rs)", |b| {
        b.iter(|| {
            let mut decoder = flate2::read::MultiGzDecoder::new(&gzip[..]);
            black_box(std::io::copy(&mut decoder, &mut std::io::sink()).expect("inflate"))
        });
    });
    group.bench_function("zstd decode", |b| {
        b.iter(|| {
            let mut decoder = zstd::stream::read::Decoder::new(&zstd[..]).expect("zstd");
            black_box(std::io::copy(&mut decoder, &mut std::io::sink()).expect("decode"))
        });
    });
    group.bench_function("sha256", |b| {
        use sha2::Digest as _;
        b.iter(|| black_box(sha2::Sha256::digest(&plain)));
    });
    group.bench_function("xxh3-128 (content hash)", |b| {
        b.iter(|| black_box(twox_hash::XxHash3_128::oneshot(&plain)));
    });
    group.bench_function("walk gzip, one thread", |b| {
        b.iter(|| {
            black_box(dive_core::layer::walk_reader(
                &gzip[..],
                &Default::default(),
            ))
        });
    });
    group.bench_function("walk gzip, two threads", |b| {
        b.iter(|| {
            black_box(dive_core::layer::walk_reader_threaded(
                &gzip[..],
                &Default::default(),
            ))
        });
    });
    group.finish();
}

/// Two equal compressed layers: one worker thread against two (the issue asks ≥ 1.8×).
fn two_layers(c: &mut Criterion) {
    let ops = |seed: u64| -> Vec<Op> {
        (0..8)
            .map(|i| {
                Op::file(
                    &format!("lib{seed}/part{i}.so"),
                    4 << 20,
                    BINARY | (seed + i),
                )
            })
            .collect()
    };
    let spec = ImageSpec::new(
        "two:1",
        vec![
            LayerSpec::new("RUN a", ops(100)),
            LayerSpec::new("RUN b", ops(200)),
        ],
    );
    let built = build(&spec).expect("builds");
    let dir = tempfile::tempdir().expect("tempdir");
    let options = LayoutOptions {
        compression: Compression::Gzip,
        media: MediaTypes::Oci,
        nested_index: false,
    };
    oci_layout(&[&built], options)
        .expect("layout")
        .0
        .write_dir(dir.path())
        .expect("write");
    let mut group = c.benchmark_group("two equal gzip layers of 32 MiB");
    group.sample_size(10);
    for threads in [1, 2] {
        let analyzer = AnalyzerBuilder::new().threads(threads).build();
        group.bench_function(format!("{threads} worker thread(s)"), |b| {
            b.iter(|| {
                black_box(
                    analyzer
                        .analyze(Source::path(dir.path()), &())
                        .expect("analyse"),
                )
            });
        });
    }
    group.finish();
}

fn whole_analyses(c: &mut Criterion) {
    let built = build(&demo_image()).expect("demo builds");
    let dir = tempfile::tempdir().expect("tempdir");
    let legacy = dir.path().join("legacy.tar");
    std::fs::write(&legacy, docker_legacy(&[&built], false).expect("legacy")).expect("write");
    let gz = docker25(&[&built], Compression::Gzip, false).expect("docker25");
    let gz_path = dir.path().join("docker25.tar");
    std::fs::write(&gz_path, &gz).expect("write");
    let analyzer = AnalyzerBuilder::new().build();
    let mut group = c.benchmark_group("analyse the demo");
    group.sample_size(20);
    group.bench_function("docker-archive file (mmap)", |b| {
        b.iter(|| {
            black_box(
                analyzer
                    .analyze(Source::path(&legacy), &())
                    .expect("analyse"),
            )
        });
    });
    group.bench_function("docker 25 gzip file", |b| {
        b.iter(|| {
            black_box(
                analyzer
                    .analyze(Source::path(&gz_path), &())
                    .expect("analyse"),
            )
        });
    });
    group.bench_function("docker 25 gzip stream", |b| {
        b.iter(|| {
            black_box(
                analyzer
                    .analyze(Source::reader("-", std::io::Cursor::new(gz.clone())), &())
                    .expect("analyse"),
            )
        });
    });
    group.finish();
}

/// Merging and attributing 100,000 entries, timed by reopening a saved scan (which skips
/// reading the image), beside the whole analysis of the same image for scale.
fn merge(c: &mut Criterion) {
    let built = build(&dive_testdata::wide_image(100_000)).expect("wide image builds");
    let dir = tempfile::tempdir().expect("tempdir");
    let image = dir.path().join("wide.tar");
    std::fs::write(&image, docker_legacy(&[&built], false).expect("legacy")).expect("write");
    let analyzer = AnalyzerBuilder::new().build();
    let analysis = analyzer
        .analyze(Source::path(&image), &())
        .expect("analyse");
    assert_eq!(
        analysis.image.final_files, 100_000,
        "the bench input is what it claims"
    );
    let scan = dir.path().join("wide.dive");
    dive_core::scan::save(&analysis, &scan).expect("save the scan");
    let mut group = c.benchmark_group("100k entries");
    group.sample_size(10);
    group.bench_function("merge and attribute (saved scan)", |b| {
        b.iter(|| black_box(analyzer.analyze(Source::path(&scan), &()).expect("open")));
    });
    group.bench_function("whole analysis (docker-archive file)", |b| {
        b.iter(|| {
            black_box(
                analyzer
                    .analyze(Source::path(&image), &())
                    .expect("analyse"),
            )
        });
    });
    group.finish();
}

/// What reading secrets costs the walk: one layer of 20,000 text files of 2 KiB, each a
/// candidate (`.js` in an app directory), against the same bytes under names that are none
/// (`.bin`), by seeking and streamed from gzip. The ratio of each pair is the pass's cost.
fn secrets_pass(c: &mut Criterion) {
    let text: String = "const config = { retries: 3, endpoint: '/v1/items' };\n"
        .repeat(40)
        .chars()
        .take(2048)
        .collect();
    let layer = |ext: &str| {
        let ops = (0..20_000)
            .map(|i| Op::text(&format!("app/src/m{}/file{i}.{ext}", i % 100), text.clone()))
            .collect();
        let spec = ImageSpec::new("bench/secrets:1", vec![LayerSpec::new("COPY . /app", ops)]);
        build(&spec).expect("builds").layers[0].clone()
    };
    let mut group = c.benchmark_group("secrets pass, 20,000 text files of 2 KiB");
    for (name, ext) in [("candidates", "js"), ("no candidates", "bin")] {
        let plain = layer(ext);
        let gzip = compress(&plain, Compression::Gzip).expect("gzip");
        group.throughput(Throughput::Bytes(plain.len() as u64));
        group.bench_function(format!("plain, seeking, {name}"), |b| {
            b.iter(|| black_box(dive_core::layer::walk_bytes(&plain, &Default::default())));
        });
        group.bench_function(format!("gzip, {name}"), |b| {
            b.iter(|| black_box(dive_core::layer::walk_bytes(&gzip, &Default::default())));
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    merge,
    secrets_pass,
    layer_walks,
    building_blocks,
    two_layers,
    whole_analyses
);
criterion_main!(benches);

//! Benchmarks of the building blocks and of whole analyses, on generated images.
//!
//! `cargo bench -p dive-benches`
// Benchmark set-up on generated data: a failure there is a bug in the bench, not input.
#![allow(clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dive_core::{AnalyzerBuilder, Source};
use dive_testdata::{Compression, build, compress, demo_image, docker_legacy, docker25};

fn layer_walks(c: &mut Criterion) {
    let built = build(&demo_image()).expect("demo builds");
    // The pip layer: the largest, many files of every size.
    let plain = built.layers[2].clone();
    let gzip = compress(&plain, Compression::Gzip).expect("gzip");
    let zstd = compress(&plain, Compression::Zstd).expect("zstd");
    let mut group = c.benchmark_group("walk one layer");
    group.throughput(Throughput::Bytes(plain.len() as u64));
    group.bench_function("plain, seeking", |b| {
        b.iter(|| black_box(dive_core::layer::walk_bytes(&plain, &Default::default())))
    });
    group.bench_function("plain, streaming", |b| {
        b.iter(|| {
            black_box(dive_core::layer::walk_reader(
                &plain[..],
                &Default::default(),
            ))
        })
    });
    group.bench_function("gzip", |b| {
        b.iter(|| black_box(dive_core::layer::walk_bytes(&gzip, &Default::default())))
    });
    group.bench_function("zstd", |b| {
        b.iter(|| black_box(dive_core::layer::walk_bytes(&zstd, &Default::default())))
    });
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
        })
    });
    group.bench_function("docker 25 gzip file", |b| {
        b.iter(|| {
            black_box(
                analyzer
                    .analyze(Source::path(&gz_path), &())
                    .expect("analyse"),
            )
        })
    });
    group.bench_function("docker 25 gzip stream", |b| {
        b.iter(|| {
            black_box(
                analyzer
                    .analyze(Source::reader("-", std::io::Cursor::new(gz.clone())), &())
                    .expect("analyse"),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, layer_walks, whole_analyses);
criterion_main!(benches);

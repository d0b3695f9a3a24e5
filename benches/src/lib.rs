//! Benchmarks live in benches/; this holds the inputs more than one of them builds.

use dive_testdata::{ImageSpec, LayerSpec, Op};

/// 100,000 small files in 500 package directories, like a big site-packages.
pub fn wide_image() -> ImageSpec {
    let ops = (0..100_000u64)
        .map(|i| {
            Op::file(
                &format!(
                    "usr/local/lib/python3.11/site-packages/pkg{}/sub{}/mod{i}.py",
                    i % 500,
                    i % 7
                ),
                i % 300,
                i,
            )
        })
        .collect();
    ImageSpec::new(
        "wide:1",
        vec![LayerSpec::new("RUN pip install everything", ops)],
    )
}

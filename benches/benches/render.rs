//! The interactive view on a 100k-entry image: one frame must draw well inside 16 ms
//! whatever the tree's size, because only visible rows are laid out.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use dive_core::{AnalyzerBuilder, Source};
use dive_testdata::{Compression, build, docker25, wide_image};
use dive_tui::tui::app::App;
use dive_tui::tui::render;
use dive_tui::tui::view::panes::Views;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;

fn frames(c: &mut Criterion) {
    let spec = wide_image(100_000);
    let built = build(&spec).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wide.tar");
    std::fs::write(
        &path,
        docker25(&[&built], Compression::None, false).unwrap(),
    )
    .unwrap();
    let analysis = AnalyzerBuilder::new()
        .build()
        .analyze(Source::parse(path.to_str().unwrap()).unwrap(), &())
        .unwrap();
    assert_eq!(
        analysis.image.final_files, 100_000,
        "the bench input is what it claims"
    );

    let mut group = c.benchmark_group("tui");
    group.sample_size(20);
    group.bench_function("build views, 100k entries", |b| {
        b.iter(|| Views::new(analysis.clone()));
    });
    let size = Rect::new(0, 0, 200, 60);
    let mut app = App::ready("wide.tar", Views::new(analysis), size);
    app.type_keys("2e");
    let rows = app.views().unwrap().tree.outline().rows().len();
    assert!(rows > 100_000, "expand-all shows every entry: {rows}");
    app.type_keys("<PageDown><PageDown><PageDown>");
    let mut terminal = Terminal::new(TestBackend::new(size.width, size.height)).unwrap();
    group.bench_function("draw one frame, 100k-row tree", |b| {
        b.iter(|| {
            terminal.draw(|frame| render::render(&app, frame)).unwrap();
        });
    });
    group.bench_function("key: page down in a 100k-row tree", |b| {
        b.iter(|| app.type_keys("<PageDown>"));
    });
    group.bench_function("key: collapse and expand all, 100k entries", |b| {
        b.iter(|| app.type_keys("Ee"));
    });
    group.finish();
}

criterion_group!(benches, frames);
criterion_main!(benches);

//! A whole image from any bytes, as `dive-rs -` reads stdin: outer tar (or gzip/zstd),
//! manifest, index, config, layers, merge, attribution. An error or an analysis, never a
//! panic; an analysis's ledger adds up.
#![no_main]

use dive_core::{AnalyzerBuilder, Source};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let analyzer = AnalyzerBuilder::new().threads(1).build();
    if let Ok(analysis) = analyzer.analyze(
        Source::reader("-", std::io::Cursor::new(data.to_vec())),
        &(),
    ) {
        let image = &analysis.image;
        assert_eq!(
            image.total_file_bytes,
            image.final_bytes + image.hidden_bytes
        );
        let _ = dive_core::report::to_json(&analysis);
    }
});

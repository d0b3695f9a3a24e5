//! Analyse an image streamed on stdin and print where its bytes are.
//!
//! `docker save app:1 | cargo run -p dive-core --example analyze-stdin`

use std::process::ExitCode;

use dive_core::{AnalyzerBuilder, Control, Event, Observer, Source};

/// Prints each layer as it is walked, to stderr.
struct Progress;

impl Observer for Progress {
    fn event(&self, event: &Event<'_>) -> Control {
        if let Event::LayerWalked {
            blob,
            entries,
            bytes,
            ..
        } = event
        {
            eprintln!("walked {blob}: {entries} entries, {bytes} bytes");
        }
        Control::Continue
    }
}

fn main() -> ExitCode {
    let analyzer = AnalyzerBuilder::new().build();
    match analyzer.analyze(Source::stdin(), &Progress) {
        Ok(analysis) => {
            let image = &analysis.image;
            println!(
                "{} bytes visible in {} files, {} hidden",
                image.final_bytes, image.final_files, image.hidden_bytes
            );
            for item in analysis.hidden.iter().take(5) {
                println!(
                    "hidden: {} ({} bytes) added in layer {}, {} by layer {}",
                    String::from_utf8_lossy(&item.path),
                    item.bytes,
                    item.added_in_layer,
                    item.reason.name(),
                    item.hidden_by_layer
                );
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("{err}");
            ExitCode::from(2)
        }
    }
}

//! What an observer hears: the bytes to read, the bytes read, the layers walked; and a stop
//! asked for in the middle of a layer ends the analysis.

use std::sync::Mutex;

use common::{Form, all_forms};
use dive_core::layer::{Compression, Strategy};
use dive_core::{AnalyzerBuilder, Control, Error, Event, Observer, Source};

use crate::common;

#[derive(Default)]
struct Heard {
    resolved: Option<(usize, u64)>,
    reads: Vec<u64>,
    walked: usize,
    strategies: Vec<Option<Strategy>>,
    merged: bool,
}

#[derive(Default)]
struct Recorder {
    heard: Mutex<Heard>,
    stop_after_bytes: Option<u64>,
}

impl Observer for Recorder {
    fn event(&self, event: &Event<'_>) -> Control {
        let mut heard = self.heard.lock().unwrap();
        match event {
            Event::Resolved {
                layers,
                stored_bytes,
            } => heard.resolved = Some((*layers, *stored_bytes)),
            Event::Read { stored_bytes } => {
                heard.reads.push(*stored_bytes);
                if self.stop_after_bytes.is_some_and(|b| *stored_bytes >= b) {
                    return Control::Stop;
                }
            }
            Event::LayerWalked { strategy, .. } => {
                heard.walked += 1;
                heard.strategies.push(*strategy);
            }
            Event::Merged => heard.merged = true,
            _ => {}
        }
        Control::Continue
    }
}

#[test]
fn every_stored_byte_is_reported_read_once_in_every_file_form() {
    let built = dive_testdata::build(&dive_testdata::rich_image()).unwrap();
    for form in all_forms(&built) {
        let (name, path, _keep) = match &form {
            Form::Dir(name, dir) => (*name, dir.path().to_owned(), None),
            Form::Tar(name, bytes) => {
                let file = tempfile::NamedTempFile::new().unwrap();
                std::fs::write(file.path(), bytes).unwrap();
                (*name, file.path().to_owned(), Some(file))
            }
        };
        let recorder = Recorder::default();
        let analysis = AnalyzerBuilder::new()
            .build()
            .analyze(Source::path(&path), &recorder)
            .unwrap();
        let heard = recorder.heard.into_inner().unwrap();
        let (layers, stored) = heard.resolved.unwrap();
        assert_eq!(layers, analysis.layers.len(), "{name}");
        // Each distinct blob once (a blob listed twice is walked once).
        let mut blobs: Vec<(&str, u64)> = analysis
            .layers
            .iter()
            .map(|l| (l.blob.as_str(), l.size_compressed))
            .collect();
        blobs.sort_unstable();
        blobs.dedup();
        let expected: u64 = blobs.iter().map(|(_, size)| size).sum();
        assert_eq!(stored, expected, "{name}");
        assert_eq!(heard.reads.last().copied(), Some(stored), "{name}");
        assert!(heard.reads.windows(2).all(|w| w[0] <= w[1]), "{name}");
        assert_eq!(heard.walked, blobs.len(), "{name}");
        // Plain blobs on disk are walked by seeking, compressed ones through the pipeline.
        let mut plain: Vec<&str> = analysis
            .layers
            .iter()
            .filter(|l| l.compression == Compression::None)
            .map(|l| l.blob.as_str())
            .collect();
        plain.sort_unstable();
        plain.dedup();
        let seeks = heard
            .strategies
            .iter()
            .filter(|s| **s == Some(Strategy::Seek));
        assert_eq!(seeks.count(), plain.len(), "{name}: {:?}", heard.strategies);
        let piped = heard
            .strategies
            .iter()
            .filter(|s| **s == Some(Strategy::Pipeline));
        assert_eq!(piped.count(), blobs.len() - plain.len(), "{name}");
        assert!(heard.merged, "{name}");
    }
}

#[test]
fn layers_of_a_stream_are_heard_as_walked_on_one_thread() {
    let built = dive_testdata::build(&dive_testdata::rich_image()).unwrap();
    let bytes =
        dive_testdata::docker25(&[&built], dive_testdata::Compression::Gzip, false).unwrap();
    let recorder = Recorder::default();
    AnalyzerBuilder::new()
        .build()
        .analyze(Source::reader("-", std::io::Cursor::new(bytes)), &recorder)
        .unwrap();
    let heard = recorder.heard.into_inner().unwrap();
    assert!(!heard.strategies.is_empty());
    assert!(
        heard
            .strategies
            .iter()
            .all(|s| *s == Some(Strategy::Stream)),
        "{:?}",
        heard.strategies
    );
}

#[test]
fn a_stop_in_the_middle_of_a_large_layer_ends_the_analysis() {
    // Two 40 MiB files in a plain layer: passing the first reports progress, and the stop
    // asked for then ends the walk before the second.
    let spec = dive_testdata::ImageSpec::new(
        "big:1",
        vec![dive_testdata::LayerSpec::new(
            "ADD big /",
            vec![
                dive_testdata::Op::file("a.bin", 40 << 20, 7),
                dive_testdata::Op::file("b.bin", 40 << 20, 8),
            ],
        )],
    );
    let built = dive_testdata::build(&spec).unwrap();
    let dir = common::oci_dir(&built, dive_testdata::Compression::None);
    let recorder = Recorder {
        stop_after_bytes: Some(1),
        ..Recorder::default()
    };
    let result = AnalyzerBuilder::new()
        .build()
        .analyze(Source::path(dir.path()), &recorder);
    assert!(matches!(result, Err(Error::Cancelled { .. })), "{result:?}");
    let heard = recorder.heard.into_inner().unwrap();
    assert_eq!(heard.reads.len(), 1, "the walk ended at the first report");
    assert!(heard.reads[0] < 80 << 20, "before the end of the layer");
    assert!(!heard.merged);
}

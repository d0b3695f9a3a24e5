//! What an observer hears: the bytes to read, the bytes read, the layers walked, the stages
//! after them; a stop asked for in the middle of a layer ends the analysis, and one asked
//! between two events (`Observer::stop_requested`) ends any stage after the reading.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use common::{Form, all_forms};
use dive_core::layer::{Compression, Strategy};
use dive_core::{AnalyzerBuilder, Control, Error, Event, Observer, Source, Stage};
use dive_testdata::{ImageSpec, LayerSpec, Op};

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

/// Hears the stages begin and counts the questions each asks (`stop_requested`); from the
/// `stop_at`th question of one stage on, answers "stop".
#[derive(Default)]
struct Stages {
    begun: Mutex<Vec<Stage>>,
    asked: Mutex<HashMap<Stage, usize>>,
    attributed: AtomicBool,
    stop_at: Option<(Stage, usize)>,
}

impl Observer for Stages {
    fn event(&self, event: &Event<'_>) -> Control {
        match event {
            Event::Stage(stage) => self.begun.lock().unwrap().push(*stage),
            Event::Attributed => self.attributed.store(true, Ordering::Relaxed),
            _ => {}
        }
        Control::Continue
    }

    fn stop_requested(&self) -> bool {
        let Some(&stage) = self.begun.lock().unwrap().last() else {
            return false;
        };
        let mut asked = self.asked.lock().unwrap();
        let count = asked.entry(stage).or_default();
        *count += 1;
        self.stop_at.is_some_and(|(s, k)| s == stage && *count >= k)
    }
}

/// 40,000 small files (a site-packages), 64 copies of one 8 KiB file, and a later layer that
/// writes those copies again unchanged (as `chmod` does): every stage has work.
fn staged_image() -> ImageSpec {
    let mut files: Vec<Op> = (0..40_000u64)
        .map(|i| {
            Op::file(
                &format!("usr/lib/python3/site-packages/p{}/m{i}.py", i % 100),
                100 + i % 50,
                i,
            )
        })
        .collect();
    let copies = || (0..64).map(|i| Op::file(&format!("opt/copies/c{i}.bin"), 8192, 7));
    files.extend(copies());
    ImageSpec::new(
        "staged:1",
        vec![
            LayerSpec::new("RUN pip install everything", files),
            LayerSpec::new("RUN chmod -R a+r /opt/copies", copies().collect()),
        ],
    )
}

#[test]
fn every_stage_after_the_reading_asks_whether_to_stop_as_it_goes() {
    let built = dive_testdata::build(&staged_image()).unwrap();
    let dir = common::oci_dir(&built, dive_testdata::Compression::None);
    let analyzer = AnalyzerBuilder::new().threads(2).build();
    let observer = Stages::default();
    let analysis = analyzer
        .analyze(Source::path(dir.path()), &observer)
        .unwrap();
    assert_eq!(
        *observer.begun.lock().unwrap(),
        [
            Stage::Merge,
            Stage::Compare,
            Stage::Owners,
            Stage::Duplicates,
            Stage::DeviceCode,
            Stage::Waste
        ]
    );
    assert!(observer.attributed.load(Ordering::Relaxed));
    // Asked through each stage, not only as it begins (once): the merge every 4,096
    // entries of each of its passes, owners and waste every block of 16 Ki files, the
    // comparison and the duplicates at every file they read.
    let asked = observer.asked.lock().unwrap().clone();
    let at_least = [
        (Stage::Merge, 2 * 40_000 / 4096),
        (Stage::Compare, 64),
        (Stage::Owners, 40_000 / (16 * 1024)),
        (Stage::Duplicates, 64),
        (Stage::Waste, 40_000 / (16 * 1024)),
    ];
    for (stage, within) in at_least {
        let count = asked.get(&stage).copied().unwrap_or(0);
        assert!(count > within, "{stage:?} asked {count} times: {asked:?}");
    }
    // The work is the same as without anyone to ask.
    assert_eq!(analysis.image.hidden_bytes, 64 * 8192);
    assert_eq!(analysis.attribution.duplicates[0].count, 64);
    let (mut stepped, attributing) = analyzer
        .analyze_in_steps(Source::path(dir.path()), &())
        .unwrap();
    stepped.set_attribution(attributing.run(&stepped));
    assert_eq!(
        dive_core::report::to_json(&analysis),
        dive_core::report::to_json(&stepped)
    );

    // A stop asked in the middle of any stage ends the analysis there: no later stage
    // begins, and it is cancelled.
    for (stage, _) in at_least {
        let observer = Stages {
            stop_at: Some((stage, 2)),
            ..Stages::default()
        };
        let result = analyzer.analyze(Source::path(dir.path()), &observer);
        assert!(
            matches!(result, Err(Error::Cancelled { .. })),
            "{stage:?}: {:?}",
            result.map(|_| ())
        );
        assert_eq!(
            observer.begun.lock().unwrap().last(),
            Some(&stage),
            "{stage:?}"
        );
        assert!(!observer.attributed.load(Ordering::Relaxed), "{stage:?}");
    }
}

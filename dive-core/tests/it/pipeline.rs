//! The two-thread walk of compressed layers gives exactly what the one-thread walk gives,
//! on whole, truncated and damaged blobs.

use dive_core::layer::{LayerIndex, WalkOptions, walk_reader, walk_reader_threaded};

/// Equal walks; for a damaged stream, where the decoder notices the damage depends on how
/// much it was asked for at once, so the offset of that one warning and the decoded length
/// (with the tar digest over it) may differ, by less than one read.
fn same(name: &str, a: &LayerIndex, b: &LayerIndex, damaged: bool) {
    assert_eq!(a.entries, b.entries, "{name}: entries");
    if damaged {
        let texts = |i: &LayerIndex| -> Vec<(Option<String>, String)> {
            i.warnings
                .iter()
                .map(|w| (w.location.entry.clone(), w.message.clone()))
                .collect()
        };
        assert_eq!(texts(a), texts(b), "{name}: warnings");
    } else {
        assert_eq!(a.warnings, b.warnings, "{name}: warnings");
    }
    assert_eq!(a.compression, b.compression, "{name}");
    assert_eq!(a.size_compressed, b.size_compressed, "{name}");
    if damaged {
        assert!(
            a.size_uncompressed.abs_diff(b.size_uncompressed) <= 64 << 10,
            "{name}"
        );
    } else {
        assert_eq!(a.size_uncompressed, b.size_uncompressed, "{name}");
    }
    assert_eq!(a.file_bytes, b.file_bytes, "{name}");
    assert_eq!(a.captured, b.captured, "{name}");
    let blob = |i: &LayerIndex| i.digests.as_ref().map(|d| d.blob.clone());
    assert_eq!(blob(a), blob(b), "{name}: blob digest");
    if !damaged {
        assert_eq!(a.digests, b.digests, "{name}: digests");
    }
}

/// The demo's layers, gzip and zstd compressed, each with a name (the demo's pip layer is
/// several MiB once decompressed: many chunks cross the threads).
fn compressed_demo_layers() -> Vec<(String, Vec<u8>)> {
    let built = dive_testdata::build(&dive_testdata::demo_image()).unwrap();
    let mut blobs = Vec::new();
    for compression in [
        dive_testdata::Compression::Gzip,
        dive_testdata::Compression::Zstd,
    ] {
        for layer in &built.layers {
            let name = format!("{compression:?} layer of {} bytes", layer.len());
            blobs.push((name, dive_testdata::compress(layer, compression).unwrap()));
        }
    }
    blobs
}

fn verifying() -> WalkOptions {
    WalkOptions {
        verify: true,
        ..WalkOptions::default()
    }
}

#[test]
fn threaded_and_sequential_walks_agree_on_whole_cut_and_damaged_blobs() {
    let mut compared = 0;
    for (layer, blob) in compressed_demo_layers() {
        let mut damaged = blob.clone();
        let middle = damaged.len() / 2;
        damaged[middle] ^= 0xff;
        for (what, bytes) in [
            ("whole", blob.clone()),
            ("cut", blob[..blob.len() * 2 / 3].to_vec()),
            ("damaged", damaged),
        ] {
            let name = format!("{what} {layer}");
            let one = walk_reader(std::io::Cursor::new(&bytes), &verifying());
            let two = walk_reader_threaded(std::io::Cursor::new(&bytes), &verifying());
            same(&name, &one, &two, what == "damaged");
            compared += 1;
        }
    }
    assert!(compared >= 30);
}

/// A reader as a pipe or a failing disk behaves: at most `step` bytes per read, and an
/// error once `fail_at` bytes were read.
struct Awkward<'a> {
    data: &'a [u8],
    at: usize,
    step: usize,
    fail_at: Option<usize>,
}

impl std::io::Read for Awkward<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let limit = self.fail_at.unwrap_or(self.data.len()).min(self.data.len());
        if self.at >= limit && self.fail_at.is_some() {
            return Err(std::io::Error::other("the disk went away"));
        }
        let n = buf.len().min(self.step).min(limit - self.at);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[test]
fn threaded_and_sequential_walks_agree_on_short_reads_and_read_errors() {
    let mut failures = 0;
    for (layer, blob) in compressed_demo_layers() {
        // One-byte reads of a large blob would only make the test slow.
        let step = if blob.len() < 64 << 10 { 1 } else { 4097 };
        for (step, fail_at) in [
            (step, None),
            (1 << 20, None),
            (step, Some(blob.len() / 2)),
            (1 << 20, Some(blob.len() / 3)),
        ] {
            let reader = || Awkward {
                data: &blob,
                at: 0,
                step,
                fail_at,
            };
            let name = format!("{layer} read {step} at a time, failing at {fail_at:?}");
            let one = walk_reader(reader(), &verifying());
            let two = walk_reader_threaded(reader(), &verifying());
            same(&name, &one, &two, fail_at.is_some());
            if let Some(at) = fail_at {
                assert_eq!(two.size_compressed, at as u64, "{name}");
                let told = two
                    .warnings
                    .iter()
                    .any(|w| w.message.contains("the disk went away"));
                assert!(told, "{name}: {:?}", two.warnings);
                failures += 1;
            } else {
                assert!(two.warnings.is_empty(), "{name}: {:?}", two.warnings);
                assert_eq!(two.size_compressed, blob.len() as u64, "{name}");
            }
        }
    }
    assert!(failures >= 10);
}

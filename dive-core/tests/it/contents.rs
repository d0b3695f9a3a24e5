//! Files read back out of an image (`Analyzer::contents`) are the bytes a second reader, the
//! `tar` crate, finds in the layer tars the generator wrote: every file of every layer, and
//! every file of the final image, in every form that can be read twice.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;

use common::{Form, all_forms};
use dive_core::contents::{Version, check_rereadable};
use dive_core::layer::EntryKind;
use dive_core::{Analysis, Analyzer, AnalyzerBuilder, Error, Source};

use crate::common;

type Files = BTreeMap<Vec<u8>, Vec<u8>>;

/// A path as dive-core stores it: no leading `./` or `/`, no trailing `/`.
fn normal(path: &[u8]) -> Vec<u8> {
    let path = path.strip_prefix(b"./").unwrap_or(path);
    let path = path.strip_prefix(b"/").unwrap_or(path);
    path.strip_suffix(b"/").unwrap_or(path).to_vec()
}

/// Each regular file of a layer tar, last copy of a path winning, read with the tar crate.
fn layer_files(tar_bytes: &[u8]) -> Files {
    let mut files = Files::new();
    let mut archive = tar::Archive::new(tar_bytes);
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = normal(&entry.path_bytes());
        let name = path.rsplit(|&b| b == b'/').next().unwrap_or_default();
        if entry.header().entry_type().is_file() && !name.starts_with(b".wh.") {
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            files.insert(path, data);
        }
    }
    files
}

/// The final image's files, by a naive merge of the tar crate's view: files replace, hard
/// links copy their target, whiteouts and opaque markers delete, anything else replaces a file.
fn final_files(layers: &[Vec<u8>]) -> Files {
    let mut files = Files::new();
    let under = |dir: &[u8], path: &[u8]| {
        path.len() > dir.len() && path.starts_with(dir) && path[dir.len()] == b'/'
    };
    for tar_bytes in layers {
        let mut archive = tar::Archive::new(tar_bytes.as_slice());
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = normal(&entry.path_bytes());
            let (dir, name) = match path.iter().rposition(|&b| b == b'/') {
                Some(i) => (path[..i].to_vec(), path[i + 1..].to_vec()),
                None => (Vec::new(), path.clone()),
            };
            if name == b".wh..wh..opq" {
                files.retain(|p, _| !under(&dir, p));
                continue;
            }
            if let Some(target) = name.strip_prefix(b".wh.") {
                let gone = if dir.is_empty() {
                    target.to_vec()
                } else {
                    [&dir[..], b"/", target].concat()
                };
                files.retain(|p, _| *p != gone && !under(&gone, p));
                continue;
            }
            let kind = entry.header().entry_type();
            if !kind.is_dir() {
                // Anything but a directory replaces a directory, and what was under it.
                files.retain(|p, _| !under(&path, p));
            }
            if kind.is_file() {
                let mut data = Vec::new();
                entry.read_to_end(&mut data).unwrap();
                files.insert(path, data);
            } else if kind.is_hard_link() {
                let target = normal(&entry.link_name_bytes().unwrap());
                if let Some(data) = files.get(&target).cloned() {
                    files.insert(path, data);
                }
            } else {
                files.remove(&path);
            }
        }
    }
    files
}

fn read(
    analyzer: &Analyzer,
    path: &PathBuf,
    analysis: &Analysis,
    found: (usize, usize),
) -> Vec<u8> {
    let contents = analyzer.contents(Source::path(path), analysis).unwrap();
    let mut out = Vec::new();
    let n = contents.copy(analysis, found.0, found.1, &mut out).unwrap();
    assert_eq!(n, out.len() as u64);
    out
}

#[test]
fn every_file_of_every_layer_and_of_the_final_image_reads_back_exactly() {
    let spec = dive_testdata::rich_image();
    let built = dive_testdata::build(&spec).unwrap();
    let per_layer: Vec<Files> = built.layers.iter().map(|l| layer_files(l)).collect();
    let final_image = final_files(&built.layers);
    assert!(final_image.len() > 10 && per_layer.iter().any(|l| !l.is_empty()));
    let analyzer = AnalyzerBuilder::new().build();
    let mut checked = 0;
    for form in all_forms(&built) {
        let (name, path, _keep) = match form {
            Form::Dir(name, dir) => (name, dir.path().to_path_buf(), Some(dir)),
            Form::Tar(name, bytes) => {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("image.tar");
                std::fs::write(&path, bytes).unwrap();
                (name, path, Some(dir))
            }
        };
        let analysis = analyzer.analyze(Source::path(&path), &()).unwrap();
        let contents = analyzer.contents(Source::path(&path), &analysis).unwrap();
        for (l, files) in per_layer.iter().enumerate() {
            for (file, bytes) in files {
                let found = analysis.find(file, Version::Layer(l)).unwrap_or_else(|| {
                    panic!("{name}: layer {l}: {}", String::from_utf8_lossy(file))
                });
                let mut got = Vec::new();
                contents
                    .copy(&analysis, found.layer, found.entry, &mut got)
                    .unwrap();
                assert!(
                    got == *bytes,
                    "{name}: layer {l}: {}",
                    String::from_utf8_lossy(file)
                );
                checked += 1;
            }
        }
        let listed: Vec<Vec<u8>> = common::final_tree(&analysis)
            .into_iter()
            .filter(|(_, (kind, _, _))| matches!(kind, '-' | 'h'))
            .map(|(path, _)| path)
            .collect();
        let expected: Vec<Vec<u8>> = final_image.keys().cloned().collect();
        assert_eq!(listed, expected, "{name}: final files");
        for (file, bytes) in &final_image {
            let found = analysis.find(file, Version::Final).unwrap();
            assert_eq!(found.kind, EntryKind::File);
            assert!(
                read(&analyzer, &path, &analysis, (found.layer, found.entry)) == *bytes,
                "{name}: final {}",
                String::from_utf8_lossy(file)
            );
            checked += 1;
        }
    }
    assert!(checked > 100, "{checked}");
}

#[test]
fn a_symlink_is_followed_only_when_asked_and_a_loop_ends() {
    use dive_testdata::{ImageSpec, LayerSpec, Op};
    let spec = ImageSpec::new(
        "links:1",
        vec![LayerSpec::new(
            "COPY / /",
            vec![
                Op::file("etc/real.conf", 11, 1),
                Op::symlink("etc/rel", "real.conf"),
                Op::symlink("etc/abs", "/etc/rel"),
                Op::symlink("etc/up", "../../../etc/abs"),
                Op::symlink("loop/a", "b"),
                Op::symlink("loop/b", "a"),
            ],
        )],
    );
    let built = dive_testdata::build(&spec).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("links.tar");
    std::fs::write(
        &path,
        dive_testdata::docker_legacy(&[&built], false).unwrap(),
    )
    .unwrap();
    let analysis = dive_core::analyze(Source::path(&path)).unwrap();
    let link = analysis.find(b"/etc/up", Version::Final).unwrap();
    assert_eq!(link.kind, EntryKind::Symlink);
    assert_eq!(link.link.as_deref(), Some(&b"../../../etc/abs"[..]));
    for start in ["etc/rel", "/etc/abs", "etc/up"] {
        let found = analysis.follow(start.as_bytes()).unwrap();
        assert_eq!((found.kind, found.size), (EntryKind::File, 11), "{start}");
    }
    assert_eq!(analysis.follow(b"loop/a"), None);
}

#[test]
fn inputs_that_cannot_be_read_twice_are_refused_with_what_to_do() {
    let demo = common::demo_path();
    let analysis = dive_core::analyze(Source::path(demo)).unwrap();
    let analyzer = AnalyzerBuilder::new().build();
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("demo.tar.gz");
    let bytes = std::fs::read(demo).unwrap();
    std::fs::write(
        &gz,
        dive_testdata::compress(&bytes, dive_testdata::Compression::Gzip).unwrap(),
    )
    .unwrap();
    let scan = dir.path().join("demo.dive");
    dive_core::scan::save(&analysis, &scan).unwrap();
    let cases = [
        (
            Source::reader("-", std::io::Cursor::new(bytes.clone())),
            "docker save IMAGE -o",
        ),
        (Source::path(&gz), "decompress it first"),
        (Source::path(&scan), "saved scan holds no file contents"),
    ];
    for (source, advice) in cases {
        let early = check_rereadable(&source).unwrap_err();
        assert!(matches!(early, Error::Source { .. }), "{early}");
        assert!(early.to_string().contains(advice), "{early}");
        let late = analyzer.contents(source, &analysis).unwrap_err();
        assert!(late.to_string().contains(advice), "{late}");
    }
    // Another image at the same path is not read as if it were the analysed one.
    let other = dir.path().join("other.tar");
    let spec = dive_testdata::rich_image();
    let built = dive_testdata::build(&spec).unwrap();
    std::fs::write(
        &other,
        dive_testdata::docker_legacy(&[&built], false).unwrap(),
    )
    .unwrap();
    let err = analyzer
        .contents(Source::path(&other), &analysis)
        .unwrap_err();
    assert!(err.to_string().contains("analyse it again"), "{err}");
}

#[test]
fn a_truncated_layer_fails_with_the_entrys_offset() {
    use dive_testdata::{ImageSpec, LayerSpec, Op};
    let spec = ImageSpec::new(
        "cut:1",
        vec![LayerSpec::new(
            "COPY / /",
            vec![Op::file("opt/big.bin", 300_000, 7)],
        )],
    );
    let built = dive_testdata::build(&spec).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let oci = common::oci_dir(&built, dive_testdata::Compression::Gzip);
    let analyzer = AnalyzerBuilder::new().build();
    let analysis = analyzer.analyze(Source::path(oci.path()), &()).unwrap();
    let blob = oci.path().join(&analysis.layers[0].blob);
    let whole = std::fs::read(&blob).unwrap();
    // The image is analysed whole, then its layer loses its second half.
    std::fs::write(&blob, &whole[..whole.len() / 2]).unwrap();
    let found = analysis.find(b"opt/big.bin", Version::Final).unwrap();
    let contents = analyzer
        .contents(Source::path(oci.path()), &analysis)
        .unwrap();
    let err = contents
        .copy(&analysis, found.layer, found.entry, &mut std::io::sink())
        .unwrap_err();
    let text = err.to_string();
    let offset = analysis
        .entry(found.layer, found.entry)
        .unwrap()
        .data_offset;
    assert!(
        text.contains(&format!("@{offset}")) && text.contains("opt/big.bin"),
        "{text}"
    );
    drop(dir);
}

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

mod elf_bounds;
mod follow;
mod hostile;
mod modes;

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
    let mut forms = all_forms(&built);
    // `docker save | gzip > image.tar.gz`: read again from its start for every file, with
    // the skopeo form's layer symlinks followed.
    let outer: Vec<Form> = forms
        .iter()
        .filter_map(|form| match form {
            Form::Tar("docker-archive legacy, skopeo symlinks", bytes) => Some(Form::Tar(
                "docker-archive legacy, skopeo symlinks, gzip'd",
                dive_testdata::compress(bytes, dive_testdata::Compression::Gzip).unwrap(),
            )),
            Form::Tar("docker 25 gzip, nested index", bytes) => Some(Form::Tar(
                "docker 25 gzip, nested index, zstd'd",
                dive_testdata::compress(bytes, dive_testdata::Compression::Zstd).unwrap(),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(outer.len(), 2);
    forms.extend(outer);
    for form in forms {
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
fn inputs_that_cannot_be_read_twice_are_refused_with_what_to_do() {
    let demo = common::demo_path();
    let analysis = dive_core::analyze(Source::path(demo)).unwrap();
    let analyzer = AnalyzerBuilder::new().build();
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(demo).unwrap();
    let scan = dir.path().join("demo.dive");
    dive_core::scan::save(&analysis, &scan).unwrap();
    let cases = [
        (
            Source::reader("-", std::io::Cursor::new(bytes.clone())),
            "docker save IMAGE -o",
        ),
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
    // A compressed archive is read again from its start, so a changed one shows when a
    // file is read: its layer blob is not there.
    let gz = dir.path().join("other.tar.gz");
    std::fs::write(
        &gz,
        dive_testdata::compress(
            &std::fs::read(&other).unwrap(),
            dive_testdata::Compression::Gzip,
        )
        .unwrap(),
    )
    .unwrap();
    let contents = analyzer.contents(Source::path(&gz), &analysis).unwrap();
    let found = analysis.find(b"app/main.py", Version::Final).unwrap();
    let err = contents
        .copy(&analysis, found.layer, found.entry, &mut Vec::new())
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("no longer holds the layer blob"), "{text}");
    assert!(
        text.contains("analyse it again") && text.contains("other.tar.gz"),
        "{text}"
    );
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
        .data_offset();
    assert!(
        text.contains(&format!("@{offset}")) && text.contains("opt/big.bin"),
        "{text}"
    );
    drop(dir);
}

/// Every path under `root`, with what it is: `-` file (its bytes), `l` symlink (its target),
/// `d` directory; modes without the file type.
fn walk_dir(root: &std::path::Path) -> BTreeMap<Vec<u8>, (char, Vec<u8>, u32)> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::PermissionsExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = path.symlink_metadata().unwrap();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .as_os_str()
                .as_bytes()
                .to_vec();
            let mode = meta.permissions().mode() & 0o7777;
            let (kind, data) = if meta.file_type().is_symlink() {
                (
                    'l',
                    std::fs::read_link(&path)
                        .unwrap()
                        .as_os_str()
                        .as_bytes()
                        .to_vec(),
                )
            } else if meta.is_dir() {
                stack.push(path.clone());
                ('d', Vec::new())
            } else {
                ('-', std::fs::read(&path).unwrap())
            };
            out.insert(rel, (kind, data, mode));
        }
    }
    out
}

#[test]
fn extract_writes_the_final_image_and_a_layers_hidden_version_in_every_form() {
    use dive_core::contents::ExtractOptions;
    use std::os::unix::fs::MetadataExt;
    let spec = dive_testdata::rich_image();
    let built = dive_testdata::build(&spec).unwrap();
    let final_image = final_files(&built.layers);
    let per_layer: Vec<Files> = built.layers.iter().map(|l| layer_files(l)).collect();
    let analyzer = AnalyzerBuilder::new().build();
    for form in all_forms(&built) {
        let keep = tempfile::tempdir().unwrap();
        let (name, path) = match &form {
            Form::Dir(name, dir) => (*name, dir.path().to_path_buf()),
            Form::Tar(name, bytes) => {
                let path = keep.path().join("image.tar");
                std::fs::write(&path, bytes).unwrap();
                (*name, path)
            }
        };
        let analysis = analyzer.analyze(Source::path(&path), &()).unwrap();
        let contents = analyzer.contents(Source::path(&path), &analysis).unwrap();
        let out = keep.path().join("out");
        let done = contents
            .extract(
                &analysis,
                &[b"/"],
                Version::Final,
                &out,
                // No umask: the modes on disk are the image's, less special bits.
                ExtractOptions::default().umask(0),
            )
            .unwrap();
        assert!(done.skipped.is_empty(), "{name}: {:?}", done.skipped);
        let disk = walk_dir(&out);
        let files: Files = disk
            .iter()
            .filter(|(_, (kind, _, _))| *kind == '-')
            .map(|(p, (_, data, _))| (p.clone(), data.clone()))
            .collect();
        assert!(
            files == final_image,
            "{name}: extracted files differ from the naive merge"
        );
        // Kinds, modes (special bits dropped; implied directories 0755) and link targets
        // as the analysis has them.
        for (p, (kind, size, mode)) in common::final_tree(&analysis) {
            let (disk_kind, data, disk_mode) = &disk[&p];
            let kind = if kind == 'h' { '-' } else { kind };
            assert_eq!(*disk_kind, kind, "{name}: {}", String::from_utf8_lossy(&p));
            let node = analysis.tree.node(analysis.tree.lookup(&p).unwrap());
            let expected_mode = if node.entry.is_none() {
                0o755
            } else {
                mode & 0o777
            };
            if kind != 'l' {
                assert_eq!(
                    *disk_mode,
                    expected_mode,
                    "{name}: {}",
                    String::from_utf8_lossy(&p)
                );
            }
            if kind == '-' {
                assert_eq!(data.len() as u64, size);
            }
        }
        // bin/sh and bin/ls share one content: one file, one hard link.
        let (sh, ls) = (
            out.join("bin/sh").metadata().unwrap(),
            out.join("bin/ls").metadata().unwrap(),
        );
        assert_eq!((sh.ino(), sh.nlink()), (ls.ino(), 2), "{name}");

        // Again: refused without --force, done with it.
        let again = contents.extract(
            &analysis,
            &[b"/bin"],
            Version::Final,
            &out,
            ExtractOptions::default(),
        );
        assert!(again.unwrap_err().to_string().contains("--force"), "{name}");
        contents
            .extract(
                &analysis,
                &[b"/bin"],
                Version::Final,
                &out,
                ExtractOptions::force(true).umask(0),
            )
            .unwrap();
        assert_eq!(walk_dir(&out), disk, "{name}: --force rewrote the same");

        // Each layer's own files, hidden ones included.
        for (l, expected) in per_layer.iter().enumerate() {
            let out = keep.path().join(format!("layer{l}"));
            let done = contents.extract(
                &analysis,
                &[b"/"],
                Version::Layer(l),
                &out,
                ExtractOptions::default(),
            );
            let Ok(_) = done else {
                assert!(expected.is_empty(), "{name}: layer {l}");
                continue;
            };
            let files: Files = walk_dir(&out)
                .into_iter()
                .filter(|(_, (kind, _, _))| *kind == '-')
                .map(|(p, (_, data, _))| (p, data))
                .filter(|(p, _)| expected.contains_key(p))
                .collect();
            assert!(files == *expected, "{name}: layer {l}");
        }
    }
}

/// What a row of the hostile-layers table expects, besides nothing written outside.
enum Said {
    /// `extract` skipped a path, saying this (the final image's run or the layer's).
    Skipped(&'static str),
    /// The analysis warned this (the entry never reaches `extract`).
    Warned(&'static str),
    /// This path is on disk below the directory with this mode (umask 022), and is a file
    /// holding these bytes.
    Wrote(String, u32, &'static [u8]),
}

/// A row of the hostile-layers table: what, the layer's tar members, what is expected.
type Case = (&'static str, Vec<Vec<u8>>, Vec<Said>);

/// Hostile layers: whatever an image holds, `extract` writes nothing outside its directory
/// and says what it skipped, with `openat2` and through the `O_NOFOLLOW` walk it falls back
/// to where `openat2` is refused. The directory sits beside a sentinel the links aim at.
#[test]
fn extract_never_writes_outside_its_directory() {
    use dive_core::contents::ExtractOptions;
    use dive_testdata::raw::{archive, docker_save, extension, file, header, link, member};
    let deep: String = vec!["d"; 2000].join("/");
    let cases: Vec<Case> = vec![
        (
            "symlink to / then a file through it",
            vec![link("evil", "/", b'2'), file("evil/etc/x", b"pwned")],
            vec![
                Said::Skipped("a directory is in the way"),
                Said::Wrote("evil/etc/x".into(), 0o644, b"pwned"),
            ],
        ),
        (
            "symlink to .. then a file under it",
            vec![link("up", "../../..", b'2'), file("up/escaped", b"pwned")],
            vec![
                Said::Skipped("a directory is in the way"),
                Said::Wrote("up/escaped".into(), 0o644, b"pwned"),
            ],
        ),
        (
            "symlink to the sentinel then a file",
            vec![link("s", "SENTINEL", b'2'), file("s/x", b"pwned")],
            vec![
                Said::Skipped("a directory is in the way"),
                Said::Wrote("s/x".into(), 0o644, b"pwned"),
            ],
        ),
        (
            "hard link to a path outside the image",
            vec![link("h", "../../etc/passwd", b'1'), file("ok", b"ok")],
            vec![
                Said::Warned("hardlink target is missing or climbs above /"),
                Said::Skipped("a hard link whose target is in no layer"),
                Said::Wrote("ok".into(), 0o644, b"ok"),
            ],
        ),
        (
            "hard link to a missing file",
            vec![link("h2", "etc/missing", b'1'), file("ok", b"ok")],
            vec![
                Said::Skipped("a hard link whose target is in no layer"),
                Said::Wrote("ok".into(), 0o644, b"ok"),
            ],
        ),
        (
            "a FIFO and a device",
            vec![
                member(&header(b"fifo", b'6', 0), b""),
                member(&header(b"tty", b'3', 0), b""),
                file("ok", b"ok"),
            ],
            vec![
                Said::Skipped("a FIFO is never made"),
                Said::Skipped("a character device is never made"),
            ],
        ),
        (
            "climbing and absolute names",
            vec![
                file("../../../climbed", b"pwned"),
                file("/abs/file", b"abs"),
            ],
            vec![
                Said::Warned("path climbs above / with `..`; entry skipped"),
                Said::Wrote("abs/file".into(), 0o644, b"abs"),
            ],
        ),
        (
            "a path 2000 directories deep",
            vec![
                extension(b'L', format!("{deep}/bottom").as_bytes()),
                file("ignored", b"deep"),
            ],
            vec![Said::Wrote(format!("{deep}/bottom"), 0o644, b"deep")],
        ),
        (
            "setuid, setgid and sticky bits",
            vec![member(
                &{
                    let mut h = header(b"suid", b'0', 2);
                    h.set_mode(0o7755);
                    h.set_cksum();
                    h
                },
                b"ok",
            )],
            vec![Said::Wrote("suid".into(), 0o755, b"ok")],
        ),
    ];
    let mut checked = 0;
    for without_openat2 in [false, true] {
        for (what, members, said) in &cases {
            let what = format!("{what} (openat2: {})", !without_openat2);
            let t = tempfile::tempdir().unwrap();
            let sentinel = t.path().join("sentinel");
            std::fs::create_dir(&sentinel).unwrap();
            let members: Vec<Vec<u8>> = members
                .iter()
                .map(|m| {
                    let text = sentinel.display().to_string();
                    replace(m, b"SENTINEL", text.as_bytes())
                })
                .collect();
            let image = t.path().join("image.tar");
            std::fs::write(&image, docker_save(vec![archive(&members)])).unwrap();
            let analyzer = AnalyzerBuilder::new().build();
            let analysis = analyzer.analyze(Source::path(&image), &()).unwrap();
            let contents = analyzer.contents(Source::path(&image), &analysis).unwrap();
            let out = t.path().join("out");
            let mut reasons = Vec::new();
            for version in [Version::Final, Version::Layer(0)] {
                let options = ExtractOptions::force(true)
                    .umask(0o022)
                    .without_openat2(without_openat2);
                let done = contents
                    .extract(&analysis, &[b"/"], version, &out, options)
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
                assert!(!without_openat2 || !done.openat2, "{what}");
                reasons.extend(done.skipped.iter().map(|s| s.reason.clone()));
            }
            let warnings: Vec<String> = analysis
                .warnings
                .iter()
                .map(|w| w.message.clone())
                .collect();
            let disk = walk_dir(&out);
            for expected in said {
                match expected {
                    Said::Skipped(reason) => assert!(
                        reasons.iter().any(|r| r == reason),
                        "{what}: no {reason:?} in {reasons:?}"
                    ),
                    Said::Warned(warning) => assert!(
                        warnings.iter().any(|w| w.contains(warning)),
                        "{what}: no {warning:?} in {warnings:?}"
                    ),
                    Said::Wrote(path, mode, bytes) => {
                        let entry = disk.get(path.as_bytes());
                        assert_eq!(entry, Some(&('-', bytes.to_vec(), *mode)), "{what}: {path}");
                    }
                }
                checked += 1;
            }
            assert!(
                std::fs::read_dir(&sentinel).unwrap().next().is_none(),
                "{what}: wrote into the sentinel"
            );
            let top: Vec<String> = std::fs::read_dir(t.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            assert_eq!(top.len(), 3, "{what}: {top:?}");
            for (p, (kind, _, mode)) in disk {
                assert!(
                    mode & 0o7000 == 0,
                    "{what}: {} keeps special bits",
                    String::from_utf8_lossy(&p)
                );
                assert!(matches!(kind, '-' | 'd' | 'l'), "{what}");
            }
        }
    }
    assert_eq!(checked, 2 * cases.iter().map(|c| c.2.len()).sum::<usize>());
}

/// `bytes` with every `from` replaced by `to`, the tar header's checksum made right again.
fn replace(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let Some(at) = bytes.windows(from.len()).position(|w| w == from) else {
        return bytes.to_vec();
    };
    let mut out = bytes.to_vec();
    let mut field = to.to_vec();
    field.resize(100.min(out.len() - at), 0);
    out[at..at + field.len().min(100)].copy_from_slice(&field[..field.len().min(100)]);
    let mut header = tar::Header::new_old();
    header.as_mut_bytes().copy_from_slice(&out[..512]);
    header.set_cksum();
    out[..512].copy_from_slice(header.as_bytes());
    out
}

/// A pre-existing symlink in the directory (left by an earlier extract of a hostile image)
/// is never followed, even with --force.
#[test]
fn a_symlink_already_in_the_directory_is_never_followed() {
    use dive_core::contents::ExtractOptions;
    let demo = common::demo_path();
    let analyzer = AnalyzerBuilder::new().build();
    let analysis = analyzer.analyze(Source::path(demo), &()).unwrap();
    let contents = analyzer.contents(Source::path(demo), &analysis).unwrap();
    let t = tempfile::tempdir().unwrap();
    let (out, outside) = (t.path().join("out"), t.path().join("outside"));
    std::fs::create_dir_all(&out).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, out.join("etc")).unwrap();
    for without_openat2 in [false, true] {
        // Without --force: refused, the link named.
        let refused = contents
            .extract(
                &analysis,
                &[b"/etc/os-release"],
                Version::Final,
                &out,
                ExtractOptions::default().without_openat2(without_openat2),
            )
            .unwrap_err()
            .to_string();
        assert!(
            refused.ends_with(
                "1 of the paths to write are there already (the first: /etc); --force replaces them"
            ),
            "{refused}"
        );
        let done = contents
            .extract(
                &analysis,
                &[b"/etc"],
                Version::Final,
                &out,
                ExtractOptions::force(true).without_openat2(without_openat2),
            )
            .unwrap();
        assert!(
            std::fs::read_dir(&outside).unwrap().next().is_none(),
            "wrote through the symlink (openat2: {})",
            !without_openat2
        );
        assert!(done.written.is_empty(), "{:?}", done.written);
        assert!(
            done.skipped
                .iter()
                .any(|s| s.reason == "a symlink is in the way at /etc (never followed)"),
            "{:?}",
            done.skipped
        );
        assert!(
            std::fs::symlink_metadata(out.join("etc"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }
}

/// A read that decodes far into a compressed layer tells its watcher how far it is, and
/// stops when the watcher says so; in a compressed `docker save` read again, the search
/// for the layer's blob does too.
#[test]
fn a_watched_read_reports_progress_and_stops_when_told() {
    use dive_testdata::{ImageSpec, LayerSpec, Op};
    use std::sync::{Arc, Mutex};
    let spec = ImageSpec::new(
        "deep:1",
        vec![LayerSpec::new(
            "COPY / /",
            vec![
                Op::file("opt/a.bin", 40 << 20, 3),
                Op::file("opt/z.txt", 1000, 4),
            ],
        )],
    );
    let built = dive_testdata::build(&spec).unwrap();
    let oci = common::oci_dir(&built, dive_testdata::Compression::Gzip);
    let analyzer = AnalyzerBuilder::new().build();
    let analysis = analyzer.analyze(Source::path(oci.path()), &()).unwrap();
    let contents = analyzer
        .contents(Source::path(oci.path()), &analysis)
        .unwrap();
    let found = analysis.find(b"opt/z.txt", Version::Final).unwrap();
    let seen: Arc<Mutex<Vec<(u64, u64)>>> = Arc::default();
    let log = Arc::clone(&seen);
    let watch: dive_core::contents::Watch = Arc::new(move |done, total| {
        log.lock().unwrap().push((done, total));
        true
    });
    let mut bytes = Vec::new();
    let mut reader = contents
        .open_watched(&analysis, found.layer, found.entry, 0, &watch)
        .unwrap();
    std::io::Read::read_to_end(&mut reader, &mut bytes).unwrap();
    assert_eq!(bytes.len(), 1000);
    let seen = seen.lock().unwrap().clone();
    assert!(seen.len() >= 5, "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0].0 < w[1].0), "{seen:?}");
    // Decoded up to the file's header (its type is read there: a sparse file is mapped).
    let offset = analysis
        .entry(found.layer, found.entry)
        .unwrap()
        .header_offset;
    assert!(
        seen.iter()
            .all(|&(done, total)| total == offset && done < offset),
        "{seen:?}"
    );
    // Told to stop after the second look: cancelled, naming the file.
    let stop: dive_core::contents::Watch = Arc::new(|done, _| done < 8 << 20);
    let err = contents
        .open_watched(&analysis, found.layer, found.entry, 0, &stop)
        .unwrap_err();
    assert!(matches!(err, Error::Cancelled { .. }), "{err}");
    // A compressed docker save: the search for the layer blob stops too.
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("deep.tar.gz");
    let tar = dive_testdata::docker_legacy(&[&built], false).unwrap();
    std::fs::write(
        &gz,
        dive_testdata::compress(&tar, dive_testdata::Compression::Gzip).unwrap(),
    )
    .unwrap();
    let analysis = analyzer.analyze(Source::path(&gz), &()).unwrap();
    let contents = analyzer.contents(Source::path(&gz), &analysis).unwrap();
    let found = analysis.find(b"opt/z.txt", Version::Final).unwrap();
    let never: dive_core::contents::Watch = Arc::new(|_, _| false);
    let err = contents
        .open_watched(&analysis, found.layer, found.entry, 0, &never)
        .unwrap_err();
    assert!(matches!(err, Error::Cancelled { .. }), "{err}");
}

/// A GNU sparse member (what `tar --sparse` writes: data fragments and a map, holes left
/// out) reads back as the whole file, holes as zeros, in a plain and a gzip layer, from its
/// start or a page inside it, and by `extract`. GNU tar makes the member; the file it was
/// made from is the truth.
#[test]
fn a_gnu_sparse_file_reads_back_whole() {
    use std::io::{Seek, SeekFrom, Write};
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    let path = src.join("disk.img");
    let mut file = std::fs::File::create(&path).unwrap();
    // Six fragments (more than the four the header holds: the map goes on in an extension
    // block) and a hole at the end.
    for i in 0..6u64 {
        file.seek(SeekFrom::Start(i * 100_000)).unwrap();
        let fragment: Vec<u8> = (0..4096).map(|b| (b as u8) ^ (i as u8 + 1)).collect();
        file.write_all(&fragment).unwrap();
    }
    file.set_len(1_000_000).unwrap();
    drop(file);
    let truth = std::fs::read(&path).unwrap();
    let tar = dir.path().join("layer.tar");
    let status = std::process::Command::new("tar")
        .args(["--sparse", "--format=gnu", "-cf"])
        .arg(&tar)
        .arg("-C")
        .arg(&src)
        .arg("disk.img")
        .status()
        .unwrap();
    assert!(status.success());
    let layer = std::fs::read(&tar).unwrap();
    assert_eq!(layer[156], b'S', "GNU tar wrote no sparse member here");
    assert!(layer.len() < 200_000, "the holes are not stored");
    let gz = dive_testdata::compress(&layer, dive_testdata::Compression::Gzip).unwrap();
    for (name, blob) in [("plain", layer.clone()), ("gzip", gz)] {
        let image = dir.path().join(format!("{name}.tar"));
        std::fs::write(&image, dive_testdata::raw::docker_save(vec![blob])).unwrap();
        let analyzer = AnalyzerBuilder::new().build();
        let analysis = analyzer.analyze(Source::path(&image), &()).unwrap();
        let contents = analyzer.contents(Source::path(&image), &analysis).unwrap();
        let found = analysis.find(b"disk.img", Version::Final).unwrap();
        assert_eq!(found.size, 1_000_000, "{name}");
        let mut whole = Vec::new();
        contents
            .copy(&analysis, found.layer, found.entry, &mut whole)
            .unwrap();
        assert!(whole == truth, "{name}: cat differs");
        let mut page = Vec::new();
        contents
            .open_at(&analysis, found.layer, found.entry, 150_000)
            .unwrap()
            .read_to_end(&mut page)
            .unwrap();
        assert!(page == truth[150_000..], "{name}: a page inside differs");
        let out = dir.path().join(format!("out-{name}"));
        contents
            .extract(
                &analysis,
                &[b"disk.img".as_slice()],
                Version::Final,
                &out,
                dive_core::contents::ExtractOptions::default(),
            )
            .unwrap();
        assert!(
            std::fs::read(out.join("disk.img")).unwrap() == truth,
            "{name}: extract differs"
        );
    }
}

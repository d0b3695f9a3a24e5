//! The hostile-names image (`gen-testdata hostile`) taken out: names with terminal controls,
//! bidi overrides and invalid UTF-8 arrive byte for byte below the directory and nowhere
//! else, links pointing out of the image (absolute, relative above the root, a hard link
//! climbing out) are written as links or skipped and never followed, reasons are escaped,
//! and file bytes are exact; with `openat2` and through the `O_NOFOLLOW` walk alike.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use dive_core::contents::{ExtractOptions, Version};
use dive_core::escape::needs_escape;
use dive_core::{AnalyzerBuilder, Source};
use dive_testdata::{Compression, Content, HOSTILE, build, docker25, hostile_image, hostile_notes};

use super::walk_dir;

fn at(root: &Path, name: &[u8]) -> std::path::PathBuf {
    root.join(OsStr::from_bytes(name))
}

#[test]
fn the_hostile_image_reads_and_extracts_exactly_and_only_below_the_directory() {
    let t = tempfile::tempdir().unwrap();
    // The temporary directory is two levels down, so that `../../../escaped…` would land in
    // a place this test can look at: `t/a/b` holds the image, the sentinel and the outputs.
    let base = t.path().join("a/b");
    std::fs::create_dir_all(&base).unwrap();
    let sentinel = base.join("sentinel");
    std::fs::create_dir(&sentinel).unwrap();
    let image = base.join("hostile.tar");
    let bytes = docker25(
        &[&build(&hostile_image()).unwrap()],
        Compression::Gzip,
        false,
    )
    .unwrap();
    std::fs::write(&image, bytes).unwrap();
    let analyzer = AnalyzerBuilder::new().build();
    let analysis = analyzer.analyze(Source::path(&image), &()).unwrap();
    let contents = analyzer.contents(Source::path(&image), &analysis).unwrap();

    // `cat`'s bytes: exact, whatever the name.
    let title = format!("app/{HOSTILE}title").into_bytes();
    let notes = format!("app/{HOSTILE}notes.txt").into_bytes();
    let files: [(&[u8], Vec<u8>); 3] = [
        (&title, Content::to_vec(2, 70_000)),
        (b"app/bad\xff\xfe\nname.bin", Content::to_vec(3, 60_000)),
        (&notes, hostile_notes().into_bytes()),
    ];
    for (path, expected) in &files {
        let found = analysis.find(path, Version::Final).unwrap();
        let mut got = Vec::new();
        contents
            .copy(&analysis, found.layer, found.entry, &mut got)
            .unwrap();
        assert!(got == *expected, "{}", String::from_utf8_lossy(path));
    }
    // The name that climbs out is not in the image at all, and warned about.
    assert!(analysis.find(b"escaped", Version::Final).is_none());

    // Links pointing out of the image, written as they are and never followed.
    let links = [
        (format!("app/link{HOSTILE}"), format!("/{HOSTILE}")),
        (
            format!("app/up{HOSTILE}"),
            "../../../../../../../../tmp".to_owned(),
        ),
        ("app/hostpasswd".to_owned(), "/etc/passwd".to_owned()),
    ];
    let mut runs = 0;
    for without_openat2 in [false, true] {
        for version in [Version::Final, Version::Layer(0), Version::Layer(1)] {
            let out = base.join(format!("out-{without_openat2}"));
            let options = ExtractOptions::force(true).without_openat2(without_openat2);
            let done = contents
                .extract(&analysis, &[b"/"], version, &out, options)
                .unwrap_or_else(|e| panic!("{version:?}: {e}"));
            if without_openat2 {
                assert!(!done.openat2);
            }
            for skipped in &done.skipped {
                assert!(
                    !skipped.reason.chars().any(needs_escape),
                    "{version:?}: {:?}",
                    skipped.reason
                );
            }
            if version != Version::Layer(1) {
                // The hard link climbing out has no target in the image: never linked.
                assert!(
                    done.skipped.iter().any(|s| s.path == b"app/passwd-link"
                        && s.reason == "a hard link whose target is in no layer"),
                    "{version:?}: {:?}",
                    done.skipped
                );
                assert!(!out.join("app/passwd-link").exists());
            }
            runs += 1;
        }
    }
    assert_eq!(runs, 6);
    for without_openat2 in [false, true] {
        let out = base.join(format!("out-{without_openat2}"));
        let disk = walk_dir(&out);
        for (path, expected) in &files {
            assert!(
                std::fs::read(at(&out, path)).unwrap() == *expected,
                "{}",
                String::from_utf8_lossy(path)
            );
        }
        for (path, target) in &links {
            let link = std::fs::read_link(at(&out, path.as_bytes())).unwrap();
            assert_eq!(link.as_os_str().as_bytes(), target.as_bytes(), "{path:?}");
        }
        // Every name on disk is one the image holds (the final image or a layer), as bytes.
        for path in disk.keys() {
            let written_by_a_layer = (0..analysis.layers.len())
                .any(|l| analysis.find(path, Version::Layer(l)).is_some());
            assert!(
                analysis.node_of(path).is_some() || written_by_a_layer,
                "{}: not in the image",
                String::from_utf8_lossy(path)
            );
        }
    }
    // Nothing anywhere else: the sentinel is empty, beside the outputs stand only the
    // image and the sentinel, and nothing climbed to where `../../../` would lead.
    assert!(std::fs::read_dir(&sentinel).unwrap().next().is_none());
    let mut beside: Vec<String> = std::fs::read_dir(&base)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    beside.sort();
    assert_eq!(beside, ["hostile.tar", "out-false", "out-true", "sentinel"]);
    for up in [t.path().to_path_buf(), t.path().join("a")] {
        let names: Vec<_> = std::fs::read_dir(&up)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{}: {names:?}", up.display());
    }
    let climbed = at(
        &base.join("out-false"),
        format!("../../../escaped{HOSTILE}").as_bytes(),
    );
    assert!(!climbed.exists(), "{}", climbed.display());
}

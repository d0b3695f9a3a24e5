//! The modes `extract` leaves on disk: a non-root `tar -x`'s. The umask is taken off, setuid
//! and setgid are dropped, a world-writable directory keeps its sticky bit (or, without one,
//! loses its world-write bit), with `openat2` and through the `O_NOFOLLOW` walk alike.

use std::os::unix::fs::PermissionsExt;

use dive_core::contents::{ExtractOptions, Version};
use dive_core::{AnalyzerBuilder, Source};
use dive_testdata::{ImageSpec, LayerSpec, Op, docker_legacy};

fn dir(path: &str, mode: u32) -> Op {
    Op::Dir {
        path: path.as_bytes().to_vec(),
        mode,
    }
}

fn file(path: &str, mode: u32) -> Op {
    Op::File {
        path: path.as_bytes().to_vec(),
        size: 10,
        seed: 1,
        mode,
    }
}

/// The mode on disk, special bits included.
fn mode_of(path: &std::path::Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

/// The umask this process runs with, as a child shell reports it.
fn process_umask() -> u32 {
    let out = std::process::Command::new("sh")
        .args(["-c", "umask"])
        .output()
        .unwrap();
    u32::from_str_radix(String::from_utf8(out.stdout).unwrap().trim(), 8).unwrap()
}

#[test]
fn extracted_modes_are_a_users_tar_x_with_the_umask_and_no_unguarded_world_write() {
    let spec = ImageSpec::new(
        "modes:1",
        vec![LayerSpec::new(
            "COPY / /",
            vec![
                dir("tmp", 0o1777),
                file("tmp/own", 0o600),
                dir("shared", 0o777),
                dir("group", 0o2775),
                dir("private", 0o700),
                file("world", 0o666),
                file("suid", 0o4755),
                file("sgid", 0o2711),
                file("sticky", 0o1644),
            ],
        )],
    );
    let built = dive_testdata::build(&spec).unwrap();
    let t = tempfile::tempdir().unwrap();
    let image = t.path().join("modes.tar");
    std::fs::write(&image, docker_legacy(&[&built], false).unwrap()).unwrap();
    let analyzer = AnalyzerBuilder::new().build();
    let analysis = analyzer.analyze(Source::path(&image), &()).unwrap();
    // The analysis keeps the special bits: they are dropped on the way out, not before.
    let tmp = analysis.tree.node(analysis.node_of(b"tmp").unwrap());
    assert_eq!(tmp.mode & 0o7777, 0o1777);
    let contents = analyzer.contents(Source::path(&image), &analysis).unwrap();
    // Path, then the mode expected under umask 000, 022 and 027.
    let expected = [
        ("tmp", [0o1777, 0o755, 0o750]),
        ("tmp/own", [0o600, 0o600, 0o600]),
        ("shared", [0o775, 0o755, 0o750]),
        ("group", [0o775, 0o755, 0o750]),
        ("private", [0o700, 0o700, 0o700]),
        ("world", [0o666, 0o644, 0o640]),
        ("suid", [0o755, 0o755, 0o750]),
        ("sgid", [0o711, 0o711, 0o710]),
        ("sticky", [0o644, 0o644, 0o640]),
    ];
    for without_openat2 in [false, true] {
        for (i, umask) in [0o000, 0o022, 0o027].into_iter().enumerate() {
            let out = t.path().join(format!("out-{umask:o}-{without_openat2}"));
            let options = ExtractOptions::default()
                .umask(umask)
                .without_openat2(without_openat2);
            let done = contents
                .extract(&analysis, &[b"/"], Version::Final, &out, options)
                .unwrap();
            assert!(done.skipped.is_empty(), "{:?}", done.skipped);
            if without_openat2 {
                assert!(!done.openat2, "the O_NOFOLLOW walk was asked for");
            }
            for (path, modes) in expected {
                assert_eq!(
                    format!("{:o}", mode_of(&out.join(path))),
                    format!("{:o}", modes[i]),
                    "{path} with umask {umask:03o}, openat2 {}",
                    !without_openat2
                );
            }
        }
    }
    // Without a umask given, the process's applies.
    let umask = process_umask();
    let out = t.path().join("out-process");
    contents
        .extract(
            &analysis,
            &[b"/world", b"/shared"],
            Version::Final,
            &out,
            ExtractOptions::default(),
        )
        .unwrap();
    assert_eq!(mode_of(&out.join("world")), 0o666 & !umask);
    assert_eq!(mode_of(&out.join("shared")), 0o775 & !umask);
}

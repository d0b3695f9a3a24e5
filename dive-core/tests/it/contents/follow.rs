//! Symlinks followed in every component of a path, as the kernel follows them inside a root:
//! on a merged-/usr image, against the kernel itself (`openat2` with `RESOLVE_IN_ROOT` on the
//! same tree written to disk), in the final image and in one layer's view.

use std::os::unix::ffi::OsStrExt;

use dive_core::contents::{Contents, FollowError, MAX_LINKS, Version};
use dive_core::layer::EntryKind;
use dive_core::{Analysis, AnalyzerBuilder, Source};
use dive_testdata::links::{CHAIN, merged_usr_image, seeds};
use dive_testdata::{Content, docker_legacy};
use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use crate::common;

/// The merged-/usr image, analysed, with its files readable.
fn merged_usr(dir: &std::path::Path) -> (Analysis, Contents) {
    let built = dive_testdata::build(&merged_usr_image()).unwrap();
    let path = dir.join("merged-usr.tar");
    std::fs::write(&path, docker_legacy(&[&built], false).unwrap()).unwrap();
    let analyzer = AnalyzerBuilder::new().build();
    let analysis = analyzer.analyze(Source::path(&path), &()).unwrap();
    let contents = analyzer.contents(Source::path(&path), &analysis).unwrap();
    (analysis, contents)
}

fn bytes(contents: &Contents, analysis: &Analysis, path: &str, version: Version) -> Vec<u8> {
    let found = analysis
        .follow(path.as_bytes(), version)
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(found.kind, EntryKind::File, "{path}");
    let mut out = Vec::new();
    contents
        .copy(analysis, found.layer, found.entry, &mut out)
        .unwrap();
    out
}

#[test]
fn every_component_is_followed_on_a_merged_usr_image() {
    let dir = tempfile::tempdir().unwrap();
    let (analysis, contents) = merged_usr(dir.path());
    let read = |path: &str, version| bytes(&contents, &analysis, path, version);
    let upgraded = Content::to_vec(seeds::LIBC_UPGRADED, 2_400);
    let loader = Content::to_vec(seeds::LOADER, 1_500);
    for (path, expected) in [
        // `/lib` → `usr/lib`: a link among the directories.
        ("/lib/x86_64-linux-gnu/libc.so.6", &upgraded),
        // A link to a link: `libc.so` → `libc.so.6`, through `/lib`.
        ("/lib/x86_64-linux-gnu/libc.so", &upgraded),
        // `/lib64` → `usr/lib64`, whose loader is an absolute link through `/lib`.
        ("/lib64/ld-linux-x86-64.so.2", &loader),
        // `..` from where the link led (`usr/lib`), not from its name.
        ("/usr/local/libdir/../lib64/ld-linux-x86-64.so.2", &loader),
        // Above the root stays at the root.
        ("/../../../lib/x86_64-linux-gnu/libc.so.6", &upgraded),
        ("lib//./x86_64-linux-gnu/libc.so.6", &upgraded),
    ] {
        assert!(read(path, Version::Final) == *expected, "{path}");
    }
    // `/bin/..` is `/usr`: its doc, not the decoy at the root a lexical `..` would find.
    assert_eq!(
        read("/bin/../share/doc/x", Version::Final),
        Content::to_vec(seeds::USR_DOC, 700)
    );
    assert_eq!(
        read("/usr/lib/x86_64-linux-gnu/up", Version::Final),
        b"ID=debian\nVERSION_ID=\"12\"\n"
    );
    assert_eq!(
        analysis
            .resolve(b"/lib64/ld-linux-x86-64.so.2", Version::Final)
            .unwrap(),
        b"usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
    );
    // 40 links are followed, the 41st is refused, naming the path and the link.
    assert_eq!(
        read("/chain/1", Version::Final),
        Content::to_vec(seeds::CHAIN_END, 300)
    );
    let too_long = analysis.follow(b"/chain/0", Version::Final).unwrap_err();
    assert!(
        matches!(too_long, FollowError::TooManyLinks { ref at, .. } if *at == format!("chain/{}", CHAIN - 1).into_bytes()),
        "{too_long:?}"
    );
    assert_eq!(
        too_long.to_string(),
        format!(
            "/chain/0: more than {MAX_LINKS} symlinks to follow (a loop, or a chain that long); \
             the next was /chain/40"
        )
    );
    let looped = analysis.follow(b"/loop/a", Version::Final).unwrap_err();
    assert!(
        looped
            .to_string()
            .starts_with("/loop/a: more than 40 symlinks"),
        "{looped}"
    );
    for (path, message) in [
        (
            "/broken",
            "/broken: there is no /nowhere in the final image",
        ),
        (
            "/lib/x86_64-linux-gnu/missing.so",
            "/lib/x86_64-linux-gnu/missing.so: there is no \
             /usr/lib/x86_64-linux-gnu/missing.so in the final image",
        ),
        (
            "/lib/x86_64-linux-gnu/libc.so.6/x",
            "/lib/x86_64-linux-gnu/libc.so.6/x: /usr/lib/x86_64-linux-gnu/libc.so.6 is a \
             file, not a directory",
        ),
    ] {
        let err = analysis
            .follow(path.as_bytes(), Version::Final)
            .unwrap_err();
        assert_eq!(err.to_string(), message);
    }
}

#[test]
fn a_layers_view_follows_the_links_it_did_not_write_in_the_final_image() {
    let dir = tempfile::tempdir().unwrap();
    let (analysis, contents) = merged_usr(dir.path());
    let path = "/lib/x86_64-linux-gnu/libc.so.6";
    // Layer 1 rewrote libc but not `/lib`: its version, through the base's link.
    assert_eq!(
        bytes(&contents, &analysis, path, Version::Layer(1)),
        Content::to_vec(seeds::LIBC_UPGRADED, 2_400)
    );
    // Layer 0's version is hidden in the final image, and still reachable.
    assert_eq!(
        bytes(&contents, &analysis, path, Version::Layer(0)),
        Content::to_vec(seeds::LIBC_BASE, 2_000)
    );
    // The loader is the base's: layer 1 wrote no entry there.
    let err = analysis
        .follow(b"/lib64/ld-linux-x86-64.so.2", Version::Layer(1))
        .unwrap_err();
    assert!(
        matches!(err, FollowError::NoEntry { ref at, .. } if at == b"usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
        "{err:?}"
    );
}

/// What the kernel says about `path` inside `root`: the file's bytes, or the error.
fn kernel_read(root: &std::os::fd::OwnedFd, path: &str) -> Result<Vec<u8>, Errno> {
    let fd = rustix::fs::openat2(
        root,
        path,
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::IN_ROOT,
    )?;
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut std::fs::File::from(fd), &mut out)
        .map_err(|e| Errno::from_io_error(&e).unwrap_or(Errno::IO))?;
    Ok(out)
}

/// The final image written to disk (directories, files, symlinks with their exact targets)
/// and read back by the kernel with every link resolved inside it: dive-core's answer for
/// each path is the kernel's, bytes or error.
#[test]
fn following_agrees_with_the_kernel_inside_the_same_tree() {
    let dir = tempfile::tempdir().unwrap();
    let (analysis, contents) = merged_usr(dir.path());
    let root = dir.path().join("rootfs");
    std::fs::create_dir(&root).unwrap();
    for (path, (kind, _, _)) in common::final_tree(&analysis) {
        let on_disk = root.join(std::ffi::OsStr::from_bytes(&path));
        let found = analysis.find(&path, Version::Final).unwrap();
        match kind {
            'd' => std::fs::create_dir_all(&on_disk).unwrap(),
            'l' => std::os::unix::fs::symlink(
                std::ffi::OsStr::from_bytes(found.link.as_deref().unwrap()),
                &on_disk,
            )
            .unwrap(),
            _ => {
                let mut file = std::fs::File::create(&on_disk).unwrap();
                contents
                    .copy(&analysis, found.layer, found.entry, &mut file)
                    .unwrap();
            }
        }
    }
    let root_fd = rustix::fs::open(
        &root,
        OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .unwrap();
    if let Err(e) = kernel_read(&root_fd, "etc/os-release") {
        // openat2 arrived in Linux 5.6; some seccomp filters refuse it.
        assert!(
            std::env::var_os("CI").is_none(),
            "openat2 RESOLVE_IN_ROOT refused under CI: {e}"
        );
        eprintln!("skipped: openat2 RESOLVE_IN_ROOT refused here ({e})");
        return;
    }
    let paths = [
        "lib/x86_64-linux-gnu/libc.so.6",
        "lib/x86_64-linux-gnu/libc.so",
        "lib64/ld-linux-x86-64.so.2",
        "usr/local/libdir/../lib64/ld-linux-x86-64.so.2",
        "../../../lib/x86_64-linux-gnu/libc.so.6",
        "bin/../share/doc/x",
        "usr/lib/x86_64-linux-gnu/up",
        "chain/1",
        "chain/0",
        "chain/40",
        "loop/a",
        "broken",
        "lib/x86_64-linux-gnu/missing.so",
        "lib/x86_64-linux-gnu/libc.so.6/x",
        "usr/local/libdir/x86_64-linux-gnu/../../../etc/os-release",
        "share/doc/x",
    ];
    let mut agreed = 0;
    for path in paths {
        let kernel = kernel_read(&root_fd, path);
        let ours = match analysis.follow(path.as_bytes(), Version::Final) {
            Ok(found) => {
                let mut out = Vec::new();
                contents
                    .copy(&analysis, found.layer, found.entry, &mut out)
                    .unwrap();
                Ok(out)
            }
            Err(FollowError::Missing { .. }) => Err(Errno::NOENT),
            Err(FollowError::NotDir { .. }) => Err(Errno::NOTDIR),
            Err(FollowError::TooManyLinks { .. }) => Err(Errno::LOOP),
            Err(e) => panic!("{path}: {e}"),
        };
        assert!(
            kernel == ours,
            "{path}: the kernel says {:?}, dive-core {:?}",
            kernel.as_ref().map(Vec::len),
            ours.as_ref().map(Vec::len)
        );
        agreed += 1;
    }
    assert_eq!(agreed, paths.len());
    // The chain is as long as the kernel's limit allows, and no longer.
    assert_eq!(kernel_read(&root_fd, "chain/0"), Err(Errno::LOOP));
    assert!(kernel_read(&root_fd, "chain/1").is_ok());
}

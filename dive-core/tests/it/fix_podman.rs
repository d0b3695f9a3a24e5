//! The proof a user would ask for: each Dockerfile built for real with podman
//! (`--isolation=chroot`, on a busybox base with stand-ins for pip and apt-get), `fix`
//! planned on the saved image, the patched Dockerfile built again, and the second image
//! ships exactly the claimed bytes of file content less, with the same final file system
//! apart from the removed cache files. The same images read through `podman:REF` (the real
//! engine, not the stand-in script `docker:` keeps) give the same analysis as their saved tar.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use dive_core::fix::{FixOptions, plan};
use dive_core::{Analysis, EntryKind, Source, WasteClass, analyze};
use dive_testdata::podman::{BASE_TAG, PodmanCase, base_rootfs, podman_cases};
use dive_testdata::tools::{Tool, available};

/// Tar headers and padding of the layers a fold removes, and of entries that move between
/// layers: what the uncompressed tars may differ by beyond the file bytes claimed.
const TAR_TOLERANCE: u64 = 64 * 1024;

/// What buildah writes into every `RUN` layer for the runtime's mounts (empty files and
/// directories): a `RUN` that a fold or `COPY --chmod` removes takes them along.
const RUN_MOUNT_POINTS: [&str; 7] = [
    "etc/hosts",
    "etc/hostname",
    "etc/resolv.conf",
    "dev",
    "proc",
    "run",
    "sys",
];

/// The databases that list every package (their size follows what is installed).
const DATABASES: [&str; 2] = ["var/lib/dpkg/status", "var/lib/apt/extended_states"];

/// Bytes of every version of [`DATABASES`] in every layer.
fn databases(analysis: &Analysis) -> u64 {
    (0..analysis.layers.len())
        .flat_map(|l| analysis.layer_entries(l).unwrap_or_default())
        .filter(|e| DATABASES.iter().any(|d| &*e.path == d.as_bytes()))
        .map(|e| e.size)
        .sum()
}

/// Images this test tagged, removed when it ends (the disk of a CI machine is not ours).
pub(crate) struct Tags(pub(crate) Vec<String>);

impl Drop for Tags {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            let _ = Command::new("podman")
                .arg("rmi")
                .arg("--force")
                .args(&self.0)
                .output();
        }
    }
}

pub(crate) fn podman(args: &[&str], dir: &Path) -> String {
    let out = Command::new("podman")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "podman {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Builds `dockerfile` with the case's context as `tag` and saves it; the analysis.
fn build_and_read(case: &PodmanCase, dockerfile: &str, tag: &str, dir: &Path) -> Analysis {
    let context = dir.join(tag.replace([':', '/'], "_"));
    std::fs::create_dir_all(&context).unwrap();
    std::fs::write(context.join("Dockerfile"), dockerfile).unwrap();
    for (path, bytes) in &case.context {
        std::fs::write(context.join(path), bytes).unwrap();
    }
    podman(
        &["build", "--isolation=chroot", "--quiet", "--tag", tag, "."],
        &context,
    );
    let saved = context.join("image.tar");
    let saved_arg = saved.to_string_lossy().into_owned();
    podman(
        &[
            "save",
            "--format",
            "docker-archive",
            "--output",
            &saved_arg,
            tag,
        ],
        dir,
    );
    let analysis = analyze(Source::path(&saved)).unwrap();
    std::fs::remove_file(&saved).unwrap();
    analysis
}

/// The final file system: each visible path, what it is, its size and mode.
fn final_files(analysis: &Analysis) -> BTreeSet<(String, char, u64, u32)> {
    let tree = &analysis.tree;
    tree.walk()
        .filter(|&id| tree.node(id).alive && id != dive_core::NodeId::ROOT)
        .map(|id| {
            let node = tree.node(id);
            let size = node.inode.map_or(0, |inode| tree.inode(inode).size);
            let kind = node.kind.letter();
            let mode = if node.kind == EntryKind::Symlink {
                0
            } else {
                node.mode & 0o7777
            };
            (
                String::from_utf8_lossy(&tree.path(id)).into_owned(),
                kind,
                size,
                mode,
            )
        })
        .collect()
}

#[test]
fn rebuilt_patched_images_ship_less_by_the_bytes_claimed() {
    if !available(&[Tool::Program("podman"), Tool::Program("busybox")]) {
        return;
    }
    let busybox_path = String::from_utf8(
        Command::new("sh")
            .args(["-c", "command -v busybox"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let busybox = std::fs::read(busybox_path.trim()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut tags = Tags(vec![BASE_TAG.to_owned()]);
    std::fs::write(
        dir.path().join("rootfs.tar"),
        base_rootfs(&busybox).unwrap(),
    )
    .unwrap();
    podman(&["import", "--quiet", "rootfs.tar", BASE_TAG], dir.path());

    for case in podman_cases() {
        let original_tag = format!("localhost/dive-rs-fix-{}:original", case.name);
        let patched_tag = format!("localhost/dive-rs-fix-{}:patched", case.name);
        tags.0.push(original_tag.clone());
        tags.0.push(patched_tag.clone());
        let original = build_and_read(&case, &case.dockerfile, &original_tag, dir.path());
        let plan = plan(
            &original,
            "Dockerfile",
            case.dockerfile.as_bytes(),
            &FixOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let mut patched_classes: BTreeSet<&str> = plan
            .classes
            .iter()
            .filter(|c| c.patched > 0)
            .map(|c| c.class.name())
            .collect();
        let dropped: BTreeSet<&str> = plan
            .fixes
            .iter()
            .flat_map(|f| &f.packages)
            .map(|p| p.name.as_str())
            .collect();
        if !dropped.is_empty() {
            patched_classes.insert("recommends");
        }
        let want: BTreeSet<&str> = case.patches.iter().copied().collect();
        assert_eq!(patched_classes, want, "{}: {:#?}", case.name, plan.fixes);
        let patched_text = plan.patched();
        let patched = build_and_read(&case, &patched_text, &patched_tag, dir.path());

        // File content: exactly the claimed bytes less, apt's and dpkg's databases aside
        // (they list every package: a package not installed is a paragraph less there).
        let (databases_before, databases_after) = (databases(&original), databases(&patched));
        assert_eq!(
            (original.image.total_file_bytes - databases_before)
                - (patched.image.total_file_bytes - databases_after),
            plan.saving,
            "{}:\n{patched_text}",
            case.name
        );
        // The tars: the same, tar headers and padding aside.
        let tars = original.image.size_uncompressed
            - patched.image.size_uncompressed
            - (databases_before - databases_after);
        eprintln!(
            "{}: {} edits claim {} B; file bytes {} -> {}; tars {} B smaller",
            case.name,
            plan.fixes.len(),
            plan.saving,
            original.image.total_file_bytes,
            patched.image.total_file_bytes,
            tars
        );
        assert!(
            tars.abs_diff(plan.saving) <= TAR_TOLERANCE,
            "{}: tars {tars} vs claimed {}",
            case.name,
            plan.saving
        );
        // The final file system: the same paths, kinds, sizes and modes, except the cache
        // files the edits keep out.
        let (mut before, mut after) = (final_files(&original), final_files(&patched));
        for files in [&mut before, &mut after] {
            files.retain(|(path, ..)| !DATABASES.contains(&path.as_str()));
        }
        let gone: Vec<_> = before.difference(&after).collect();
        let new: Vec<_> = after.difference(&before).collect();
        assert!(
            new.is_empty(),
            "{}: new in the patched image: {new:?}",
            case.name
        );
        for (path, ..) in &gone {
            // A cache file, or a path beside or below one in its directory (apt's lock and
            // `partial/` go with `rm -rf /var/lib/apt/lists/*`).
            let parent = path.rsplit_once('/').map_or("", |(p, _)| p);
            let cache = |p: &str| {
                WasteClass::of(p.as_bytes(), None).is_some_and(|c| want.contains(c.name()))
            };
            let in_cache_dir = before.iter().any(|(p, k, ..)| {
                *k != 'd'
                    && (p.starts_with(&format!("{path}/")) || p.starts_with(&format!("{parent}/")))
                    && cache(p)
            });
            // A package not installed: its file and its dpkg list.
            let package = dropped.iter().any(|p| {
                *path == format!("usr/bin/{p}") || *path == format!("var/lib/dpkg/info/{p}.list")
            });
            let cache_dir =
                cache(path) || in_cache_dir || package || RUN_MOUNT_POINTS.contains(&path.as_str());
            assert!(cache_dir, "{}: {path} is gone", case.name);
        }
    }
}

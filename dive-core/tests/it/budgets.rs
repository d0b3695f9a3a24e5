//! The time budgets of docs/limits.md, held by what the analysis counts (contents read back,
//! steps taken grouping duplicates), never by a clock: on the crafted images that made the
//! stages quadratic (`dive_testdata::crafted`), the counts stay linear in the candidates.
//! Their memory is held in dive-tui's `crafted.rs`, in a child process.

use dive_core::Analysis;
use dive_core::attribution::Evidence;
use dive_testdata::crafted::{Written, write_crafted};

use crate::common;

/// Writes the crafted image `name` at `scale` and analyses it from the file.
fn crafted(name: &str, scale: f64) -> (Written, Analysis) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{name}.tar"));
    let written = write_crafted(name, &path, scale).unwrap();
    (written, common::analyze_path(&path))
}

#[test]
fn files_sharing_size_and_head_are_each_read_once() {
    // 2,000 files of 8 KiB with one first 4 KiB: each is compared by its head, then read
    // whole once. Comparing each against every set found before read a million times more.
    let (written, analysis) = crafted("same-head", 0.1);
    let files = written.count;
    assert_eq!(files, 2_000);
    assert!(analysis.attribution.duplicates.is_empty());
    let work = analysis.work();
    assert!(work.content_reads <= 2 * files, "{work:?}");
    assert!(work.content_bytes <= files * (8192 + 4096), "{work:?}");
    assert!(
        work.content_bytes >= files * 8192,
        "the whole contents were read: {work:?}"
    );
}

#[test]
fn one_large_group_of_identical_files_takes_linear_steps() {
    // 20,000 identical files streamed from a gzip layer: one group, proven by the hashes
    // the walk took (nothing read back), put together in a few steps per path. Looking up
    // each copy's first path among all the rows took 200 million.
    let (written, analysis) = crafted("identical", 0.04);
    let files = written.count;
    assert_eq!(files, 20_000);
    let groups = &analysis.attribution.duplicates;
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].count as u64, files);
    assert_eq!(groups[0].evidence, Evidence::Blake3);
    assert_eq!(groups[0].reclaimable_bytes, (files - 1) * 4096);
    let work = analysis.work();
    assert_eq!(work.content_reads, 0, "{work:?}");
    assert!(work.duplicate_steps <= 4 * files, "{work:?}");
}

#[test]
fn an_apt_step_deleting_docs_is_no_reinstall() {
    let (_, analysis) = crafted("apt-docs", 1.0);
    assert!(
        analysis.attribution.reinstalls.is_empty(),
        "{:?}",
        analysis.attribution.reinstalls
    );
}

#[test]
fn same_size_rewrites_are_read_at_their_ends_then_once_whole() {
    use dive_core::tree::HiddenReason;
    use dive_testdata::{Compression, ImageSpec, LayerSpec, Op};
    // 300 files of 64 KiB: a later layer sets the mode of 200 (same bytes) and rewrites
    // 100 with other bytes of the same size. Each pair is told apart by 4 KiB at each end;
    // only the 200 alike are read whole, once each side: never more than that, whatever
    // the pairs hold.
    const SIZE: u64 = 64 << 10;
    let file = |i: u64, seed: u64, mode: u32| Op::File {
        path: format!("srv/f{i}").into_bytes(),
        size: SIZE,
        seed,
        mode,
    };
    let spec = ImageSpec::new(
        "rewrites:1",
        vec![
            LayerSpec::new(
                "COPY srv /srv",
                (0..300).map(|i| file(i, i, 0o644)).collect(),
            ),
            LayerSpec::new(
                "RUN chmod and rewrite",
                (0..300)
                    .map(|i| {
                        if i < 200 {
                            file(i, i, 0o755)
                        } else {
                            file(i, 1_000 + i, 0o644)
                        }
                    })
                    .collect(),
            ),
        ],
    );
    let built = dive_testdata::build(&spec).unwrap();
    let dir = common::oci_dir(&built, Compression::None);
    let analysis = common::analyze_path(dir.path());
    let reason = |r: HiddenReason| analysis.hidden.iter().filter(|h| h.reason == r).count();
    assert_eq!(reason(HiddenReason::MetadataOnly), 200);
    assert_eq!(reason(HiddenReason::Overwritten), 100);
    // Per pair two 4 KiB ends of each side; the 200 alike whole, both sides; then the
    // duplicates' 4 KiB head of each of the 300 final files (all of one size).
    let work = analysis.work();
    assert_eq!(work.content_reads, 300 * 4 + 200 * 2 + 300, "{work:?}");
    assert_eq!(
        work.content_bytes,
        300 * 4 * 4096 + 200 * 2 * SIZE + 300 * 4096,
        "{work:?}"
    );
}

#[test]
fn sparse_files_are_not_read_in_place() {
    // 200 sparse files claiming 16 MiB each over the entries after them, sharing a size
    // and a head: each read whole before (3 GiB). Now only the real files' heads and the
    // two alike 8 KiB files whole.
    let (written, analysis) = crafted("sparse", 0.1);
    assert_eq!(written.count, 200);
    let work = analysis.work();
    assert_eq!(work.content_bytes, 3 * 4096 + 2 * 8192, "{work:?}");
    assert_eq!(analysis.attribution.cuda.files.len(), 1);
}

#[test]
fn package_databases_are_built_and_hashed_within_their_room() {
    // Databases naming long or many paths, or many packages, in few bytes: what attributing
    // builds (joins, normalises) and hashes into claims stays within a few times the room
    // of the image (16 MiB + twice its entry paths' bytes for paths, 4 MiB + half for
    // names), whatever the databases hold. Claiming each ancestor of a RECORD line of
    // 32,000 components copied 1 GB; 400,000 empty conda files under a 3.8 KiB prefix
    // built 1.5 GB.
    for name in ["databases-wide", "databases-prefix"] {
        let (written, analysis) = crafted(name, 0.1);
        let room = (20 << 20) + 3 * written.path_bytes;
        let work = analysis.work();
        assert!(work.database_bytes <= 4 * room, "{name}: {work:?}");
        // Not nothing: the newest databases were read with the room whole.
        assert!(work.database_bytes >= 1 << 20, "{name}: {work:?}");
    }
}

#[test]
fn deep_paths_are_keyed_in_about_one_pass_over_their_bytes() {
    // dive's figures, the allowance of directories and the whiteouts key every directory
    // of every path. Hashing each ancestor of a 4 KiB path from scratch hashed 4 MiB per
    // path, a thousand times its bytes; keyed name by name, each name once while it is
    // the same as the path before's, the whole image costs about one pass over its paths.
    for name in ["deep-dirs", "implied-dirs", "whiteout-deep"] {
        let (written, analysis) = crafted(name, 0.1);
        let hashed = analysis.work().path_bytes_hashed;
        assert!(
            hashed > 0 && hashed <= 2 * written.path_bytes,
            "{name}: {hashed} bytes hashed for {} bytes of paths",
            written.path_bytes
        );
    }
}

#[test]
fn implied_directories_are_bounded_by_the_entries() {
    // 819 files, each under 2,032 directories no entry lists: the tree keeps those within
    // one per entry and 65,536, not the 1.7 million the paths name.
    let (written, analysis) = crafted("implied-dirs", 0.1);
    let bound = 2 * written.entries + 65_537;
    let nodes = analysis.tree.node_count() as u64;
    assert!(
        nodes <= bound,
        "{nodes} nodes for {} entries",
        written.entries
    );
    assert!(nodes > 65_000, "{nodes} nodes: the allowance is spent");
    let skipped = analysis
        .warnings
        .iter()
        .filter(|w| w.message.contains("allowance"))
        .count();
    assert_eq!(skipped, 100, "the first hundred skipped entries are named");
}

#[test]
fn secrets_read_heads_only_within_a_layers_allowance() {
    // 50,000 candidates of 2 KiB in a gzip layer after a .env of 200 MB, and 50,000 in a
    // plain layer read by seeking: 64 MiB of heads a layer at most, the .env's first 64 KiB.
    let (written, analysis) = crafted("secrets", 0.1);
    assert_eq!(written.count, 100_000);
    let read = analysis.work().secret_bytes;
    let allowance = 2 * (64 << 20);
    assert!(read <= allowance, "{read}");
    assert!(
        read >= allowance - 2 * 2048 - 65_536,
        "the allowance was used: {read}"
    );
    let env: Vec<_> = (analysis.secrets.iter())
        .filter(|s| s.path.as_deref() == Some("app/.env"))
        .collect();
    assert_eq!(env.len(), 8, "the head's values, at most 8 a file");
    assert!(env.iter().all(|s| s.line.unwrap() <= 8));
}

#[test]
fn rpm_databases_are_read_within_their_room_and_once() {
    // One header listing 100,000 files in an image of three entries: the paths kept stay
    // within the room (65,536 and twice the entries), the 2,000 hostile headers are each
    // refused, and the Berkeley DB file whose chains loop is read once, page by page.
    let (written, analysis) = crafted("rpm-headers", 0.1);
    assert_eq!(written.count, 100_000);
    let work = analysis.work();
    let room = (20 << 20) + 3 * written.path_bytes;
    assert!(work.database_bytes <= 4 * room, "{work:?}");
    let huge = analysis
        .attribution
        .packages
        .iter()
        .find(|p| p.name == "huge")
        .expect("the header listing every file");
    assert_eq!((huge.files, huge.bytes), (1, 1));
    let warnings: Vec<String> = analysis.warnings.iter().map(ToString::to_string).collect();
    let said = |what: &str| warnings.iter().any(|w| w.contains(what));
    assert!(said("2000 package headers were damaged"), "{warnings:#?}");
    assert!(said("var/lib/rpm/Packages"), "{warnings:#?}");
    assert!(
        said("list more paths than the image holds entries"),
        "{warnings:#?}"
    );
}

#[test]
fn what_programs_and_archives_record_is_read_within_its_caps() {
    // 50 files of each kind in each layer: bombs inflate within the layer's 256 MiB, each
    // file keeps 4,096 modules, a layer 16,384; lying lengths and directories are refused.
    let (written, analysis) = crafted("recorded", 0.05);
    assert_eq!(written.count, 50);
    let warnings: Vec<String> = analysis.warnings.iter().map(ToString::to_string).collect();
    let said = |what: &str| warnings.iter().any(|w| w.contains(what));
    assert!(said("inflates past 8388608 bytes"), "{warnings:#?}");
    assert!(said("this layer's inflate past"), "{warnings:#?}");
    assert!(
        said("Go build info's version is cut short"),
        "{warnings:#?}"
    );
    assert!(said("record more than 16384"), "{warnings:#?}");
    let packages = &analysis.attribution.packages;
    let named = |name: &str| packages.iter().filter(|p| p.name == name).count();
    // Every program and archive is a package; about four files' lists fit a layer's count
    // (the archives' take a few), in both layers; the rest are said.
    assert_eq!(named("example.com/wide"), 2 * 50);
    let listing = (packages.iter())
        .filter(|p| p.name == "example.com/wide" && p.dependencies.len() == 4096)
        .count();
    assert!((6..=8).contains(&listing), "{listing}");
    let kept: usize = packages.iter().map(|p| p.dependencies.len()).sum();
    assert!(kept <= 2 * 16_384, "{kept}");
    // The archives are named by their file names; nothing holds the inflated bytes.
    assert_eq!(named("nesting"), 2 * 50);
    // The jar whose nested archive's poms lie in its tail reads the same streamed or not.
    let shaded: Vec<Vec<String>> = (packages.iter())
        .filter(|p| p.name == "com.example:shaded")
        .map(|p| p.dependencies.iter().map(|d| d.name.clone()).collect())
        .collect();
    assert_eq!(shaded.len(), 2);
    assert_eq!(shaded[0], shaded[1]);
    assert_eq!(shaded[0].len(), 6, "{shaded:?}");
}

//! rpm's package database in its three forms (`dive_testdata::rpm`): packages that
//! `rpmbuild` built, installed by the real `rpm` into a root, one layer per step. Every
//! package's bytes must equal what `rpm -q` says its installed files hold (and its `SIZE`
//! when nothing was left out), in a sqlite database as rpm wrote it, in the Berkeley DB
//! form `db5.3_load` writes from the same headers (read back by rpm's `bdb_ro` too), and in
//! the ndb form (checked against the headers only: no tool here writes or reads it).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use dive_core::Analysis;
use dive_core::attribution::Ecosystem;
use dive_testdata::rpm::{
    DbForm, RpmFile, RpmImage, RpmSpec, TOOLS, add_live_wal_layer, bdb_file, rpm, rpm_image,
};
use dive_testdata::tools::available;
use dive_testdata::{Compression, Ledger};

use crate::common;

/// What `rpm -q` says of one installed package.
#[derive(Debug, Default)]
struct Installed {
    version: String,
    size: u64,
    /// Σ sizes of its regular files rpm put on disk.
    written: u64,
    /// Σ sizes rpm gives its symbolic links (their targets' lengths): in `SIZE`, while a
    /// link's tar entry holds no bytes.
    links: u64,
    /// Whether it left files out (`--excludedocs`).
    left_out: bool,
}

/// `rpm -qa` of the root: name → what rpm says.
fn installed(root: &Path) -> BTreeMap<String, Installed> {
    let mut packages: BTreeMap<String, Installed> = BTreeMap::new();
    let text = rpm(
        root,
        &[
            "-qa",
            "--qf",
            "P\t%{NAME}\t%{EPOCH}\t%{VERSION}-%{RELEASE}\t%{SIZE}\n\
             [F\t%{=NAME}\t%{FILESIZES}\t%{FILESTATES}\t%{FILEFLAGS:fflags}\t%{FILEMODES:perms}\n]",
        ],
    )
    .unwrap();
    for line in String::from_utf8(text).unwrap().lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        match fields[..] {
            ["P", name, epoch, vr, size] => {
                let package = packages.entry(name.to_owned()).or_default();
                package.version = if epoch == "(none)" {
                    vr.to_owned()
                } else {
                    format!("{epoch}:{vr}")
                };
                package.size = size.parse().unwrap();
            }
            ["F", name, size, state, flags, perms] => {
                let package = packages.entry(name.to_owned()).or_default();
                if state != "0" {
                    package.left_out = true;
                } else if perms.starts_with('-') && !flags.contains('g') {
                    package.written += size.parse::<u64>().unwrap();
                } else if perms.starts_with('l') {
                    package.links += size.parse::<u64>().unwrap();
                }
            }
            _ => panic!("unexpected rpm output {line:?}"),
        }
    }
    packages
}

/// The image, checked against the generator's ledger, analysed from a plain OCI layout
/// (read in place) and a gzip one (streamed).
fn analyses(image: &RpmImage) -> Vec<Analysis> {
    let ledger: Ledger = dive_testdata::ledger(&image.spec);
    let built = dive_testdata::build(&image.spec).unwrap();
    [Compression::None, Compression::Gzip]
        .into_iter()
        .map(|compression| {
            let dir = common::oci_dir(&built, compression);
            let analysis = common::analyze_path(dir.path());
            common::assert_matches_ledger(&image.spec.tag, &analysis, &ledger);
            common::assert_attribution_adds_up(&image.spec.tag, &analysis);
            analysis
        })
        .collect()
}

fn check_form(form: DbForm) {
    if !available(&TOOLS) {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let image = rpm_image(work.path(), form).unwrap();
    let expected = installed(&image.root);
    assert_eq!(expected.len(), 9, "{expected:?}");
    for analysis in analyses(&image) {
        let attribution = &analysis.attribution;
        let rpms: BTreeMap<&str, _> = attribution
            .packages
            .iter()
            .filter(|p| p.ecosystem == Ecosystem::Rpm)
            .map(|p| (p.name.as_str(), p))
            .collect();
        for (name, rpm) in &expected {
            let package = rpms
                .get(name.as_str())
                .unwrap_or_else(|| panic!("{form:?}: {name} missing"));
            assert_eq!(package.bytes, rpm.written, "{form:?}: {name}");
            assert_eq!(package.hidden_bytes, 0, "{form:?}: {name}");
            assert_eq!(
                package.version.as_deref(),
                Some(rpm.version.as_str()),
                "{form:?}: {name}"
            );
            assert_eq!(package.declared_bytes, Some(rpm.size), "{form:?}: {name}");
            if !rpm.left_out {
                assert_eq!(
                    package.bytes + rpm.links,
                    rpm.size,
                    "{form:?}: {name} is its SIZE"
                );
            }
        }
        // Erased by the last layer: every byte hidden, none gone.
        let erased = rpms["gcc-c++"];
        assert_eq!(
            (erased.bytes, erased.hidden_bytes),
            (0, 2_100_000),
            "{form:?}"
        );
        assert!(!erased.installed);
        assert!(expected.keys().all(|name| rpms[name.as_str()].installed));
        assert_eq!(rpms.len(), expected.len() + 1, "{form:?}: {rpms:?}");
        let family = |name: &str| rpms[name].family.as_deref();
        assert_eq!(family("libcublas-12-4"), Some("cuda"));
        assert_eq!(family("cuda-cudart-12-4"), Some("cuda"));
        for toolchain in ["gcc", "gcc-c++", "glibc-devel", "kernel-headers"] {
            assert_eq!(family(toolchain), Some("toolchain"), "{toolchain}");
        }
        let owned: u64 = rpms.values().map(|p| p.bytes).sum();
        let share = owned as f64 / analysis.image.final_bytes as f64;
        assert!(share >= 0.99, "{form:?}: rpm owns {share:.4} of the bytes");
        assert!(analysis.warnings.is_empty(), "{:?}", analysis.warnings);
    }
}

#[test]
fn rpm_sqlite_database_attributes_every_installed_byte() {
    check_form(DbForm::Sqlite);
}

#[test]
fn rpm_berkeley_db_attributes_every_installed_byte() {
    check_form(DbForm::Bdb);
}

#[test]
fn rpm_ndb_attributes_every_installed_byte() {
    check_form(DbForm::Ndb);
}

#[test]
fn the_berkeley_db_form_is_what_rpm_reads() {
    // The check of the fixture itself: rpm's own bdb_ro backend lists the packages of a
    // Packages file db5.3_load wrote, in both byte orders, with a header over a page.
    if !available(&TOOLS) {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let image = rpm_image(work.path(), DbForm::Sqlite).unwrap();
    let blobs = image.headers.last().unwrap();
    assert!(blobs.iter().any(|b| b.len() > 4096));
    let names = |root: &Path| -> Vec<String> {
        let out = Command::new("rpm")
            .arg("--root")
            .arg(root)
            .args(["--dbpath", "/var/lib/rpm", "--define", "_db_backend bdb_ro"])
            .args(["-qa", "--qf", "%{NAME}\n"])
            .output()
            .unwrap();
        let mut names: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        names.sort();
        names
    };
    let mut expected: Vec<String> = installed(&image.root).into_keys().collect();
    expected.sort();
    for big_endian in [false, true] {
        let root = work.path().join(format!("bdb-{big_endian}"));
        let db = root.join("var/lib/rpm");
        std::fs::create_dir_all(&db).unwrap();
        let file = bdb_file(&work.path().join("dump"), blobs, 512, big_endian).unwrap();
        std::fs::write(db.join("Packages"), file).unwrap();
        assert_eq!(names(&root), expected, "big endian: {big_endian}");
    }
}

/// The sqlite image with one more layer: `late-tool` (one file of `size` bytes) installed,
/// rpm's transaction left in the write-ahead log ([`add_live_wal_layer`]); the scratch
/// directory and the database with its log as that layer leaves them. `None` (the check
/// skipped) without rpm or python3.
fn with_live_wal(size: u64) -> Option<(tempfile::TempDir, RpmImage, std::path::PathBuf)> {
    if !available(&TOOLS) || !available(&[dive_testdata::tools::Tool::Program("python3")]) {
        return None;
    }
    let work = tempfile::tempdir().unwrap();
    let mut image = rpm_image(work.path(), DbForm::Sqlite).unwrap();
    let extra = RpmSpec {
        name: "late-tool",
        epoch: None,
        version: "1.0",
        release: "1",
        license: "MIT",
        files: vec![RpmFile::File("/usr/bin/late-tool", size, 99)],
    };
    let live = add_live_wal_layer(work.path(), &mut image, &extra).unwrap();
    Some((work, image, live))
}

#[test]
fn a_write_ahead_log_left_alone_in_a_layer_counts() {
    // The last layer holds a package's files and rpm's `-wal` with its transaction, not the
    // database: without the log, the package is not in the database and its bytes unowned.
    let Some((work, image, live)) = with_live_wal(700_000) else {
        return;
    };
    // rpm itself finds it only with the log.
    let root = work.path().join("wal-root");
    std::fs::create_dir_all(root.join("var/lib/rpm")).unwrap();
    std::fs::copy(
        live.join("rpmdb.sqlite"),
        root.join("var/lib/rpm/rpmdb.sqlite"),
    )
    .unwrap();
    let listed =
        |root: &Path| String::from_utf8(rpm(root, &["-qa", "--qf", "%{NAME}\n"]).unwrap()).unwrap();
    assert!(!listed(&root).contains("late-tool"));
    std::fs::copy(
        live.join("rpmdb.sqlite-wal"),
        root.join("var/lib/rpm/rpmdb.sqlite-wal"),
    )
    .unwrap();
    assert!(listed(&root).contains("late-tool"));
    for analysis in analyses(&image) {
        let late = analysis
            .attribution
            .packages
            .iter()
            .find(|p| p.name == "late-tool")
            .expect("the package the log holds");
        assert_eq!(
            (late.ecosystem, late.bytes, late.layers.as_slice()),
            (Ecosystem::Rpm, 700_000, &[4][..])
        );
        assert_eq!(late.version.as_deref(), Some("1.0-1"));
        assert!(analysis.warnings.is_empty(), "{:?}", analysis.warnings);
    }
}

#[test]
fn damaged_rpm_databases_keep_what_they_can_and_say_where() {
    // An ndb database (no tool needed) of three headers: one fine, one whose counts run past
    // its data, one whose offsets leave it; and a sqlite database that is not one.
    use dive_testdata::rpm::{ndb_file, package_header};
    use dive_testdata::{ImageSpec, LayerSpec, Op};
    let good = package_header("good", "1", &[("/usr/bin/good".to_owned(), 5_000)]);
    let mut counts = package_header("counts", "1", &[("/usr/bin/counts".to_owned(), 5)]);
    counts[0..4].copy_from_slice(&60_000u32.to_be_bytes());
    let mut offsets = package_header("offsets", "1", &[("/usr/bin/offsets".to_owned(), 5)]);
    offsets[8 + 16 + 8..8 + 16 + 12].copy_from_slice(&0x7fff_0000u32.to_be_bytes());
    let spec = ImageSpec::new(
        "suse/damaged:1",
        vec![LayerSpec::new(
            "ADD rootfs.tar /",
            vec![
                Op::file("usr/bin/good", 5_000, 1),
                Op::file("usr/bin/counts", 5, 2),
                Op::text(
                    "usr/lib/sysimage/rpm/Packages.db",
                    ndb_file(&[counts, good, offsets]),
                ),
                Op::text(
                    "var/lib/rpm/rpmdb.sqlite",
                    b"SQLite format 3\0 and then nothing".to_vec(),
                ),
            ],
        )],
    );
    let built = dive_testdata::build(&spec).unwrap();
    let dir = common::oci_dir(&built, Compression::None);
    let analysis = common::analyze_path(dir.path());
    let names: Vec<&str> = analysis
        .attribution
        .packages
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["good"]);
    assert_eq!(analysis.attribution.packages[0].bytes, 5_000);
    let warnings: Vec<String> = analysis.warnings.iter().map(ToString::to_string).collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("usr/lib/sysimage/rpm/Packages.db")
                && w.contains("2 package headers were damaged")),
        "{warnings:#?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("var/lib/rpm/rpmdb.sqlite") && w.contains("damaged at byte")),
        "{warnings:#?}"
    );
}

/// The rpm packages of `spec` analysed from a plain OCI layout: name → (bytes, hidden).
fn rpm_packages(spec: &dive_testdata::ImageSpec) -> (BTreeMap<String, (u64, u64)>, Vec<String>) {
    let built = dive_testdata::build(spec).unwrap();
    let dir = common::oci_dir(&built, Compression::None);
    let analysis = common::analyze_path(dir.path());
    common::assert_attribution_adds_up(&spec.tag, &analysis);
    let packages = analysis
        .attribution
        .packages
        .iter()
        .filter(|p| p.ecosystem == Ecosystem::Rpm)
        .map(|p| (p.name.clone(), (p.bytes, p.hidden_bytes)))
        .collect();
    (
        packages,
        analysis.warnings.iter().map(ToString::to_string).collect(),
    )
}

#[test]
fn the_database_a_layer_leaves_is_the_one_rpm_would_open() {
    // No tool needed: ndb files from the headers the generator writes. rpm opens the first
    // of rpmdb.sqlite, Packages.db, Packages in its directory, and a deleted one is gone.
    use dive_testdata::rpm::{ndb_file, package_header};
    use dive_testdata::{ImageSpec, LayerSpec, Op};
    let db = |name: &'static str, file: &str| {
        ndb_file(&[package_header(name, "1", &[(format!("/{file}"), 100)])])
    };
    let base = || {
        vec![
            Op::file("usr/bin/a", 100, 1),
            Op::file("usr/bin/x", 100, 2),
            Op::text("usr/lib/sysimage/rpm/Packages.db", db("a", "usr/bin/a")),
        ]
    };
    let image = |layers: Vec<Vec<Op>>| {
        let layers = layers
            .into_iter()
            .enumerate()
            .map(|(i, ops)| LayerSpec::new(&format!("RUN step {i}"), ops))
            .collect();
        rpm_packages(&ImageSpec::new("rpm/history:1", layers))
    };
    // A whiteout of the database, or an opaque directory over it: no package is final, and
    // what it owned is unowned (its bytes still in the image).
    for deletion in [
        Op::whiteout("usr/lib/sysimage/rpm/Packages.db"),
        Op::opaque("usr/lib/sysimage/rpm"),
        Op::whiteout("usr/lib/sysimage"),
    ] {
        let (packages, _) = image(vec![base(), vec![deletion.clone()]]);
        assert!(packages.is_empty(), "{deletion:?}: {packages:?}");
    }
    // A stale Berkeley DB name beside the database rpm opens: not read.
    let (packages, _) = image(vec![
        base(),
        vec![Op::text(
            "usr/lib/sysimage/rpm/Packages",
            db("stale", "usr/bin/x"),
        )],
    ]);
    assert_eq!(packages.keys().collect::<Vec<_>>(), ["a"]);
    // Deleted, the database below it is the one rpm opens.
    let (packages, _) = image(vec![
        vec![
            Op::file("usr/bin/x", 100, 2),
            Op::text("usr/lib/sysimage/rpm/Packages", db("older", "usr/bin/x")),
        ],
        base(),
        vec![Op::whiteout("usr/lib/sysimage/rpm/Packages.db")],
    ]);
    assert_eq!(packages.keys().collect::<Vec<_>>(), ["older"]);
    // Layer 1 wrote /usr/bin/x again over layer 0's copy: hidden, and its own too.
    assert_eq!(packages["older"], (100, 100));
    // One that cannot be read is not replaced by an older form: its packages are unknown.
    let (packages, warnings) = image(vec![
        base(),
        vec![Op::text(
            "usr/lib/sysimage/rpm/rpmdb.sqlite",
            b"not sqlite".to_vec(),
        )],
    ]);
    assert!(packages.is_empty(), "{packages:?}");
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("not a database rpm writes")),
        "{warnings:?}"
    );
}

#[test]
fn logs_alone_in_many_layers_read_the_database_below_within_a_budget() {
    // 40 layers each holding only a write-ahead log with a transaction: each would read the
    // database below it again. Past the bytes the image's databases hold, they are not read
    // (a warning says so); the last one, the final database, always is.
    let Some((_work, mut image, _)) = with_live_wal(7_000) else {
        return;
    };
    let wal = image
        .spec
        .layers
        .last()
        .unwrap()
        .ops
        .last()
        .unwrap()
        .clone();
    for i in 0..40 {
        let layer = dive_testdata::LayerSpec::new(&format!("RUN true # {i}"), vec![wal.clone()]);
        image.spec.layers.push(layer);
    }
    let built = dive_testdata::build(&image.spec).unwrap();
    let dir = common::oci_dir(&built, Compression::None);
    let analysis = common::analyze_path(dir.path());
    let late = analysis
        .attribution
        .packages
        .iter()
        .find(|p| p.name == "late-tool")
        .unwrap();
    assert_eq!(late.bytes, 7_000);
    let warnings: Vec<String> = analysis.warnings.iter().map(ToString::to_string).collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("rpm databases not read")),
        "{warnings:?}"
    );
    assert!(
        analysis.work().database_bytes < 64 << 20,
        "{:?}",
        analysis.work()
    );
}

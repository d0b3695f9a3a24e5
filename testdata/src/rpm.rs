//! Red Hat-family images whose rpm database the real rpm wrote: packages built by
//! `rpmbuild` from specs made here, installed into a root with `rpm --root R -i --nodeps
//! --noscripts`, one layer per step (the root's changes, as a builder's snapshot makes
//! them). Debian's `rpm` 4.18 writes only sqlite; the Berkeley DB form is written from the
//! same headers by Berkeley DB's own `db5.3_load`, and the ndb form by [`ndb_file`] (rpm's
//! layout; no tool here writes it, so it is checked against the headers only).
//!
//! Needs `rpm`, `rpmbuild` and (for the Berkeley DB form) `db5.3_load`: callers check
//! [`TOOLS`] with [`crate::tools::available`].

use std::collections::BTreeMap;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::content::Content;
use crate::spec::{ImageSpec, LayerSpec, Op, Stamp};
use crate::tools::Tool;

/// What the rpm images need.
pub const TOOLS: [Tool; 3] = [
    Tool::Program("rpm"),
    Tool::Program("rpmbuild"),
    Tool::Program("db5.3_load"),
];

/// The magic that starts a header outside a database (`rpmdb --exportdb` writes it).
const HEADER_MAGIC: [u8; 8] = [0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0];

/// One file of a package, as its spec's `%files` lists it.
#[derive(Debug, Clone)]
pub enum RpmFile {
    /// A file of `size` bytes made from `seed`.
    File(&'static str, u64, u64),
    /// `%config(noreplace)`.
    Config(&'static str, u64, u64),
    /// `%doc`: not installed under `--excludedocs`.
    Doc(&'static str, u64, u64),
    /// `%ghost`: owned, never written.
    Ghost(&'static str),
    /// `%dir`.
    Dir(&'static str),
    /// A symbolic link.
    Symlink(&'static str, &'static str),
    /// `count` files `{prefix}{i}.py` of `size` bytes each, from `seed + i`: a header
    /// larger than a page.
    Many(&'static str, u64, u64, u64),
}

/// A package to build.
#[derive(Debug, Clone)]
pub struct RpmSpec {
    /// `Name:`.
    pub name: &'static str,
    /// `Epoch:`, if any.
    pub epoch: Option<u32>,
    /// `Version:`.
    pub version: &'static str,
    /// `Release:`.
    pub release: &'static str,
    /// `License:`.
    pub license: &'static str,
    /// `%files`.
    pub files: Vec<RpmFile>,
}

/// Which database form an image carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbForm {
    /// `var/lib/rpm/rpmdb.sqlite` as rpm wrote it (RHEL 9, Fedora).
    Sqlite,
    /// `var/lib/rpm/Packages`, Berkeley DB hash (RHEL 8, Amazon Linux 2), from the same
    /// headers.
    Bdb,
    /// `usr/lib/sysimage/rpm/Packages.db` (SUSE), from the same headers.
    Ndb,
}

/// A step of the image: what rpm does in one layer.
#[derive(Debug, Clone)]
pub enum Step {
    /// `rpm --initdb` and install these packages.
    Install(Vec<&'static str>),
    /// Install with `--excludedocs`.
    InstallNoDocs(Vec<&'static str>),
    /// `rpm -e` these packages.
    Erase(Vec<&'static str>),
}

/// A built image and the root it was made from, for `rpm --root` to read back.
#[derive(Debug)]
pub struct RpmImage {
    /// The image.
    pub spec: ImageSpec,
    /// The final root (its database in sqlite form, whatever the image carries).
    pub root: PathBuf,
    /// Each layer's header blobs (as `rpmdb --exportdb` gives them, without the magic).
    pub headers: Vec<Vec<Vec<u8>>>,
}

/// The packages of the Red Hat-family image: a base, a CUDA runtime, a toolchain, and
/// one package whose docs are not installed. About 31 MB of files in all.
pub fn packages() -> Vec<RpmSpec> {
    use RpmFile::{Config, Dir, Doc, File, Ghost, Many, Symlink};
    let spec = |name, version, release, files| RpmSpec {
        name,
        epoch: None,
        version,
        release,
        license: "MIT",
        files,
    };
    vec![
        RpmSpec {
            epoch: Some(2),
            license: "LGPL-2.1-or-later AND GPL-2.0-or-later",
            ..spec(
                "glibc",
                "2.34",
                "100.el9",
                vec![
                    File("/usr/lib64/libc.so.6", 2_400_000, 1),
                    File("/usr/lib64/libm.so.6", 900_000, 2),
                    Symlink("/usr/lib64/libc.so", "libc.so.6"),
                    Config("/etc/ld.so.conf", 28, 3),
                    Ghost("/etc/ld.so.cache"),
                    Dir("/usr/lib64/gconv"),
                    File("/usr/lib64/gconv/UTF-16.so", 40_000, 4),
                ],
            )
        },
        spec(
            "bash",
            "5.1.8",
            "9.el9",
            vec![
                File("/usr/bin/bash", 1_400_000, 5),
                Symlink("/usr/bin/sh", "bash"),
                Doc("/usr/share/doc/bash/README", 3_000, 6),
            ],
        ),
        spec(
            "python3-libs",
            "3.9.18",
            "3.el9",
            vec![
                File("/usr/lib64/libpython3.9.so.1.0", 3_500_000, 7),
                File("/usr/lib64/python3.9/os.py", 39_000, 8),
                File("/usr/lib64/python3.9/json/__init__.py", 14_000, 9),
                Many("/usr/lib64/python3.9/encodings/cp", 120, 2_500, 100),
            ],
        ),
        spec(
            "cuda-cudart-12-4",
            "12.4.127",
            "1",
            vec![
                File(
                    "/usr/local/cuda-12.4/lib64/libcudart.so.12.4.127",
                    700_000,
                    10,
                ),
                Symlink(
                    "/usr/local/cuda-12.4/lib64/libcudart.so.12",
                    "libcudart.so.12.4.127",
                ),
            ],
        ),
        spec(
            "libcublas-12-4",
            "12.4.5.8",
            "1",
            vec![
                File(
                    "/usr/local/cuda-12.4/lib64/libcublas.so.12.4.5.8",
                    9_000_000,
                    11,
                ),
                File(
                    "/usr/local/cuda-12.4/lib64/libcublasLt.so.12.4.5.8",
                    9_000_000,
                    12,
                ),
            ],
        ),
        spec(
            "gcc",
            "11.4.1",
            "3.el9",
            vec![
                File("/usr/bin/gcc", 1_100_000, 13),
                File("/usr/libexec/gcc/x86_64-redhat-linux/11/cc1", 2_900_000, 14),
            ],
        ),
        spec(
            "gcc-c++",
            "11.4.1",
            "3.el9",
            vec![
                File("/usr/bin/g++", 1_100_000, 15),
                File(
                    "/usr/libexec/gcc/x86_64-redhat-linux/11/cc1plus",
                    1_000_000,
                    16,
                ),
            ],
        ),
        spec(
            "glibc-devel",
            "2.34",
            "100.el9",
            vec![
                File("/usr/include/stdio.h", 31_000, 17),
                File("/usr/lib64/libc_nonshared.a", 60_000, 18),
            ],
        ),
        spec(
            "kernel-headers",
            "5.14.0",
            "427.el9",
            vec![File("/usr/include/linux/types.h", 2_000, 19)],
        ),
        spec(
            "tzdata",
            "2024a",
            "1.el9",
            vec![
                File("/usr/share/zoneinfo/UTC", 114, 20),
                Doc("/usr/share/doc/tzdata/README", 9_000, 21),
            ],
        ),
    ]
}

/// The steps of the Red Hat-family image: a base, then CUDA and a toolchain, then `gcc-c++`
/// erased again (its bytes hidden, not gone).
pub fn steps() -> Vec<(&'static str, Step)> {
    vec![
        (
            "ADD ubi9-base.tar /",
            Step::Install(vec!["glibc", "bash", "python3-libs"]),
        ),
        (
            "RUN dnf install -y cuda-cudart-12-4 libcublas-12-4 gcc gcc-c++ glibc-devel kernel-headers",
            Step::Install(vec![
                "cuda-cudart-12-4",
                "libcublas-12-4",
                "gcc",
                "gcc-c++",
                "glibc-devel",
                "kernel-headers",
            ]),
        ),
        (
            "RUN dnf install -y --setopt=tsflags=nodocs tzdata",
            Step::InstallNoDocs(vec!["tzdata"]),
        ),
        ("RUN dnf remove -y gcc-c++", Step::Erase(vec!["gcc-c++"])),
    ]
}

/// Builds the Red Hat-family image in `work` (a scratch directory) with its database in
/// `form`.
pub fn rpm_image(work: &Path, form: DbForm) -> io::Result<RpmImage> {
    rpm_image_of(work, form, &packages(), &steps())
}

/// Builds an image of `packages` installed by `steps` in `work`, its database in `form`.
pub fn rpm_image_of(
    work: &Path,
    form: DbForm,
    packages: &[RpmSpec],
    steps: &[(&str, Step)],
) -> io::Result<RpmImage> {
    let built = work.join("rpms");
    let mut files = BTreeMap::new();
    for package in packages {
        files.insert(package.name, build_package(work, &built, package)?);
    }
    let root = work.join("root");
    std::fs::create_dir_all(root.join("etc"))?;
    std::fs::write(
        root.join("etc/os-release"),
        "NAME=\"Red Hat Enterprise Linux\"\nVERSION_ID=\"9.4\"\nID=\"rhel\"\n\
         PRETTY_NAME=\"Red Hat Enterprise Linux 9.4 (Plow)\"\n",
    )?;
    rpm(&root, &["--initdb"])?;
    let mut layers = Vec::new();
    let mut headers = Vec::new();
    let mut before = Snapshot::new();
    for (created_by, step) in steps {
        let (args, names): (&[&str], _) = match step {
            Step::Install(names) => (&["-i"], names),
            Step::InstallNoDocs(names) => (&["-i", "--excludedocs"], names),
            Step::Erase(names) => (&["-e"], names),
        };
        let mut command: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        command.extend(["--nodeps", "--noscripts", "--nosignature"].map(str::to_owned));
        for name in names {
            command.push(match step {
                Step::Erase(_) => (*name).to_owned(),
                _ => files[name].display().to_string(),
            });
        }
        let command: Vec<&str> = command.iter().map(String::as_str).collect();
        rpm(&root, &command)?;
        let blobs = export(&root)?;
        let mut now = Snapshot::of(&root)?;
        now.set_form(form, &blobs, work)?;
        layers.push(LayerSpec::new(created_by, now.changes_since(&before)));
        headers.push(blobs);
        before = now;
    }
    Ok(RpmImage {
        spec: ImageSpec::new("ubi9/cuda:rpm", layers),
        root,
        headers,
    })
}

/// Adds a layer to `image` in which `extra` was installed and rpm's sqlite database was
/// left with its last transaction in the write-ahead log, not yet copied into the database
/// (a build killed before rpm closed it): the layer holds the package's files and
/// `rpmdb.sqlite-wal`, and the database file is the previous layer's. Python's sqlite3 (the
/// engine rpm links) writes the transaction. Returns a directory holding the database and
/// its log as the layer leaves them, for rpm to read back.
pub fn add_live_wal_layer(
    work: &Path,
    image: &mut RpmImage,
    extra: &RpmSpec,
) -> io::Result<PathBuf> {
    let db = image.root.join("var/lib/rpm/rpmdb.sqlite");
    let before_db = std::fs::read(&db)?;
    let before = Snapshot::of(&image.root)?;
    let file = build_package(work, &work.join("rpms"), extra)?;
    let file = file.display().to_string();
    rpm(
        &image.root,
        &["-i", "--nodeps", "--noscripts", "--nosignature", &file],
    )?;
    let blobs = export(&image.root)?;
    let known = image.headers.last().cloned().unwrap_or_default();
    let new: Vec<&Vec<u8>> = blobs.iter().filter(|b| !known.contains(b)).collect();
    let [blob] = new[..] else {
        return Err(io::Error::other(
            "installing one package added another count of headers",
        ));
    };
    let live = work.join("live-wal");
    std::fs::create_dir_all(&live)?;
    let copy = work.join("live-wal-writer");
    std::fs::create_dir_all(&copy)?;
    std::fs::write(copy.join("rpmdb.sqlite"), before_db)?;
    std::fs::write(copy.join("header.bin"), blob)?;
    // Commit, copy the files while the connection is open, and leave without the
    // checkpoint a clean close would run.
    let script = [
        "import os, shutil, sqlite3, sys",
        "src, out = sys.argv[1], sys.argv[2]",
        "c = sqlite3.connect(os.path.join(src, 'rpmdb.sqlite'))",
        "c.execute('PRAGMA journal_mode=WAL')",
        "c.execute('PRAGMA wal_autocheckpoint=0')",
        "blob = open(os.path.join(src, 'header.bin'), 'rb').read()",
        "c.execute('INSERT INTO Packages (blob) VALUES (?)', (blob,))",
        "c.commit()",
        "for name in ('rpmdb.sqlite', 'rpmdb.sqlite-wal'):",
        "    shutil.copy(os.path.join(src, name), os.path.join(out, name))",
        "os._exit(0)",
    ]
    .join("\n");
    let output = Command::new("python3")
        .args(["-c", &script])
        .arg(&copy)
        .arg(&live)
        .output()?;
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "python3 sqlite3: {}",
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    let mut now = Snapshot::of(&image.root)?;
    now.nodes
        .retain(|path, _| !path.starts_with(b"var/lib/rpm/"));
    let mut ops = now.changes_since(&before);
    ops.retain(|op| !matches!(op, Op::Whiteout { .. }));
    ops.push(Op::text(
        "var/lib/rpm/rpmdb.sqlite-wal",
        std::fs::read(live.join("rpmdb.sqlite-wal"))?,
    ));
    image.spec.layers.push(LayerSpec::new(
        &format!(
            "RUN dnf install -y {}  # killed before rpm closed its database",
            extra.name
        ),
        ops,
    ));
    image.headers.push(blobs);
    Ok(live)
}

/// `rpm --root ROOT --dbpath /var/lib/rpm ARGS`, failing with its stderr.
pub fn rpm(root: &Path, args: &[&str]) -> io::Result<Vec<u8>> {
    let output = Command::new("rpm")
        .arg("--root")
        .arg(root)
        .args(["--dbpath", "/var/lib/rpm"])
        .args(args)
        .output()?;
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "rpm {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(output.stdout)
}

/// Writes `package`'s spec and files under `work` and builds it with `rpmbuild`.
fn build_package(work: &Path, out: &Path, package: &RpmSpec) -> io::Result<PathBuf> {
    let sources = work.join("sources").join(package.name);
    let tree = sources.join("root");
    let mut listed = String::new();
    for file in &package.files {
        let (path, line) = match *file {
            RpmFile::File(path, size, seed) => (write(&tree, path, size, seed)?, ""),
            RpmFile::Config(path, size, seed) => {
                (write(&tree, path, size, seed)?, "%config(noreplace) ")
            }
            RpmFile::Doc(path, size, seed) => (write(&tree, path, size, seed)?, "%doc "),
            RpmFile::Ghost(path) => (path.to_owned(), "%ghost "),
            RpmFile::Dir(path) => {
                std::fs::create_dir_all(tree.join(&path[1..]))?;
                (path.to_owned(), "%dir ")
            }
            RpmFile::Symlink(path, target) => {
                let at = tree.join(&path[1..]);
                std::fs::create_dir_all(at.parent().unwrap_or(&tree))?;
                let _ = std::fs::remove_file(&at);
                std::os::unix::fs::symlink(target, at)?;
                (path.to_owned(), "")
            }
            RpmFile::Many(prefix, count, size, seed) => {
                for i in 0..count {
                    let path = write(&tree, &format!("{prefix}{i}.py"), size, seed + i)?;
                    listed.push_str(&format!("{path}\n"));
                }
                continue;
            }
        };
        listed.push_str(&format!("{line}{path}\n"));
    }
    std::fs::create_dir_all(&tree)?;
    let epoch = package
        .epoch
        .map(|e| format!("Epoch: {e}\n"))
        .unwrap_or_default();
    let spec = format!(
        "Name: {}\n{epoch}Version: {}\nRelease: {}\nSummary: test package\nLicense: {}\n\
         BuildArch: noarch\n%description\nA package of dive-rs's tests.\n\
         %install\ncp -a %{{_sourcedir}}/root/. %{{buildroot}}/\n%files\n{listed}",
        package.name, package.version, package.release, package.license
    );
    let spec_path = sources.join(format!("{}.spec", package.name));
    std::fs::write(&spec_path, spec)?;
    let output = Command::new("rpmbuild")
        .arg("--quiet")
        .args([
            "--define",
            &format!("_topdir {}", work.join("top").display()),
        ])
        .args(["--define", &format!("_sourcedir {}", sources.display())])
        .args(["--define", &format!("_rpmdir {}", out.display())])
        // Stored, not compressed: the payload's size does not matter, the build's time does.
        .args(["--define", "_binary_payload w0.ufdio"])
        .args(["--define", "__os_install_post %{nil}"])
        .args(["--define", "debug_package %{nil}"])
        .arg("-bb")
        .arg(&spec_path)
        .output()?;
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "rpmbuild {}: {}",
            package.name,
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    let epochless = format!(
        "{}-{}-{}.noarch.rpm",
        package.name, package.version, package.release
    );
    Ok(out.join("noarch").join(epochless))
}

/// Writes a file of `size` bytes from `seed` at `path` under `tree`; returns `path`.
fn write(tree: &Path, path: &str, size: u64, seed: u64) -> io::Result<String> {
    let at = tree.join(&path[1..]);
    std::fs::create_dir_all(at.parent().unwrap_or(tree))?;
    std::fs::write(&at, Content::to_vec(seed, size))?;
    std::fs::set_permissions(&at, std::fs::Permissions::from_mode(0o755))?;
    Ok(path.to_owned())
}

/// The header blobs of the root's database, as `rpmdb --exportdb` writes them, without
/// their magic.
pub fn export(root: &Path) -> io::Result<Vec<Vec<u8>>> {
    let output = Command::new("rpmdb")
        .arg("--root")
        .arg(root)
        .args(["--dbpath", "/var/lib/rpm", "--exportdb"])
        .output()?;
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "rpmdb --exportdb: {}",
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    split_export(&output.stdout)
}

/// Splits an export into blobs: magic, then `il`, `dl`, and `8 + 16 il + dl` bytes.
fn split_export(mut bytes: &[u8]) -> io::Result<Vec<Vec<u8>>> {
    let mut blobs = Vec::new();
    while !bytes.is_empty() {
        let bad = || io::Error::other("rpmdb --exportdb wrote something other than headers");
        let rest = bytes.strip_prefix(&HEADER_MAGIC[..]).ok_or_else(bad)?;
        let word = |at: usize| -> io::Result<usize> {
            let b = rest.get(at..at + 4).ok_or_else(bad)?;
            Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        };
        let len = 8 + 16 * word(0)? + word(4)?;
        blobs.push(rest.get(..len).ok_or_else(bad)?.to_vec());
        bytes = &rest[len..];
    }
    Ok(blobs)
}

/// Berkeley DB hash `Packages` holding `blobs` as rpm stored them (key: the header number
/// in the file's byte order; key 0: the largest number), written by `db5.3_load` at
/// `page_size`, big-endian when `big_endian`.
pub fn bdb_file(
    work: &Path,
    blobs: &[Vec<u8>],
    page_size: u32,
    big_endian: bool,
) -> io::Result<Vec<u8>> {
    let number = |n: u32| {
        if big_endian {
            n.to_be_bytes()
        } else {
            n.to_le_bytes()
        }
    };
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let mut dump = String::from("VERSION=3\nformat=bytevalue\ntype=hash\nHEADER=END\n");
    dump.push_str(&format!(
        " {}\n {}\n",
        hex(&number(0)),
        hex(&number(blobs.len() as u32))
    ));
    for (i, blob) in blobs.iter().enumerate() {
        dump.push_str(&format!(
            " {}\n {}\n",
            hex(&number(i as u32 + 1)),
            hex(blob)
        ));
    }
    dump.push_str("DATA=END\n");
    std::fs::create_dir_all(work)?;
    let text = work.join("dump.txt");
    let db = work.join("Packages");
    let _ = std::fs::remove_file(&db);
    std::fs::write(&text, dump)?;
    let mut command = Command::new("db5.3_load");
    command.args(["-c", &format!("db_pagesize={page_size}")]);
    if big_endian {
        command.args(["-c", "db_lorder=4321"]);
    }
    let output = command.arg("-f").arg(&text).arg(&db).output()?;
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "db5.3_load: {}",
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    std::fs::read(db)
}

/// An ndb `Packages.db` holding `blobs`, as rpm's `lib/backend/ndb/rpmpkg.c` lays it out:
/// a 32-byte header, one page of 16-byte slots, then each blob in 16-byte blocks between
/// its `BlbS` head and its `BlbE` tail with an Adler-32 of head, blob and padding.
pub fn ndb_file(blobs: &[Vec<u8>]) -> Vec<u8> {
    const SLOT_PAGE: usize = 4096;
    let slot_pages = (32 + 16 * blobs.len()).div_ceil(SLOT_PAGE).max(1);
    let mut file = vec![0u8; slot_pages * SLOT_PAGE];
    let le = |n: u32| n.to_le_bytes();
    file[..4].copy_from_slice(b"RpmP");
    file[8..12].copy_from_slice(&le(1));
    file[12..16].copy_from_slice(&le(slot_pages as u32));
    file[16..20].copy_from_slice(&le(blobs.len() as u32 + 1));
    for (i, blob) in blobs.iter().enumerate() {
        let blkoff = file.len() / 16;
        let blkcnt = (16 + blob.len() + 12).div_ceil(16);
        let mut record = Vec::with_capacity(blkcnt * 16);
        record.extend_from_slice(b"BlbS");
        record.extend_from_slice(&le(i as u32 + 1));
        record.extend_from_slice(&le(1));
        record.extend_from_slice(&le(blob.len() as u32));
        record.extend_from_slice(blob);
        record.resize(blkcnt * 16 - 12, 0);
        let sum = adler32(&record);
        record.extend_from_slice(&le(sum));
        record.extend_from_slice(&le(blob.len() as u32));
        record.extend_from_slice(b"BlbE");
        file.extend_from_slice(&record);
        let slot = 32 + 16 * i;
        file[slot..slot + 4].copy_from_slice(b"Slot");
        file[slot + 4..slot + 8].copy_from_slice(&le(i as u32 + 1));
        file[slot + 8..slot + 12].copy_from_slice(&le(blkoff as u32));
        file[slot + 12..slot + 16].copy_from_slice(&le(blkcnt as u32));
    }
    // The remaining slots of the pages are free, each with its magic.
    for slot in (32 + 16 * blobs.len()..slot_pages * SLOT_PAGE).step_by(16) {
        file[slot..slot + 4].copy_from_slice(b"Slot");
    }
    file
}

/// RFC 1950's Adler-32.
fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in bytes {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

/// One path of a root as a layer holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Dir(u32),
    File(Vec<u8>, u32),
    Link(Vec<u8>),
}

/// A root's paths (relative, as bytes).
#[derive(Debug, Default)]
struct Snapshot {
    nodes: BTreeMap<Vec<u8>, Node>,
}

impl Snapshot {
    fn new() -> Self {
        Self::default()
    }

    fn of(root: &Path) -> io::Result<Self> {
        use std::os::unix::ffi::OsStrExt;
        let mut nodes = BTreeMap::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir)? {
                let path = entry?.path();
                let meta = path.symlink_metadata()?;
                let rel = path
                    .strip_prefix(root)
                    .map_err(io::Error::other)?
                    .as_os_str()
                    .as_bytes()
                    .to_vec();
                let mode = meta.mode() & 0o7777;
                let node = if meta.is_dir() {
                    stack.push(path.clone());
                    Node::Dir(mode)
                } else if meta.file_type().is_symlink() {
                    Node::Link(std::fs::read_link(&path)?.as_os_str().as_bytes().to_vec())
                } else {
                    Node::File(std::fs::read(&path)?, mode)
                };
                nodes.insert(rel, node);
            }
        }
        Ok(Self { nodes })
    }

    /// Puts the database in `form`: the sqlite files give way to a Berkeley DB or ndb
    /// file of the same headers.
    fn set_form(&mut self, form: DbForm, blobs: &[Vec<u8>], work: &Path) -> io::Result<()> {
        let file = match form {
            DbForm::Sqlite => return Ok(()),
            DbForm::Bdb => (
                b"var/lib/rpm/Packages".to_vec(),
                bdb_file(&work.join("bdb"), blobs, 4096, false)?,
            ),
            DbForm::Ndb => {
                for dir in [&b"usr/lib/sysimage"[..], b"usr/lib/sysimage/rpm"] {
                    self.nodes.insert(dir.to_vec(), Node::Dir(0o755));
                }
                (
                    b"usr/lib/sysimage/rpm/Packages.db".to_vec(),
                    ndb_file(blobs),
                )
            }
        };
        self.nodes
            .retain(|path, _| !path.starts_with(b"var/lib/rpm/rpmdb.sqlite"));
        self.nodes.insert(file.0, Node::File(file.1, 0o644));
        Ok(())
    }

    /// The ops that turn `before` into this: what is new or changed, in path order, and a
    /// whiteout for each removed path whose parent stays.
    fn changes_since(&self, before: &Snapshot) -> Vec<Op> {
        let mut ops = Vec::new();
        for (path, node) in &self.nodes {
            if before.nodes.get(path) == Some(node) {
                continue;
            }
            let p = String::from_utf8_lossy(path);
            ops.push(match node {
                Node::Dir(_) => Op::dir(&p),
                Node::File(content, mode) => Op::text(&p, content.clone()).stamped(Stamp {
                    mode: Some(*mode),
                    ..Stamp::default()
                }),
                Node::Link(target) => Op::symlink(&p, &String::from_utf8_lossy(target)),
            });
        }
        for path in before.nodes.keys() {
            let parent = path.iter().rposition(|&b| b == b'/').map(|i| &path[..i]);
            let parent_stays = parent.is_none_or(|p| self.nodes.contains_key(p));
            if !self.nodes.contains_key(path) && parent_stays {
                ops.push(Op::whiteout(&String::from_utf8_lossy(path)));
            }
        }
        ops
    }
}

/// The value of a header entry, for [`header_blob`].
#[derive(Debug, Clone)]
pub enum Value {
    /// `STRING`.
    Str(&'static str),
    /// `STRING_ARRAY`.
    Strs(Vec<Vec<u8>>),
    /// INT16 array.
    I16(Vec<u16>),
    /// INT32 array.
    I32(Vec<u32>),
    /// INT64 array.
    I64(Vec<u64>),
    /// CHAR array.
    Chars(Vec<u8>),
}

/// A header blob as a database stores it (no magic), with an immutable region over every
/// entry as an installed package's has; entries in the order given (rpm sorts them by tag).
pub fn header_blob(entries: &[(u32, Value)]) -> Vec<u8> {
    let mut index = Vec::new();
    let mut data = Vec::new();
    let entry = |index: &mut Vec<u8>, tag: u32, kind: u32, offset: i32, count: u32| {
        for word in [tag, kind, offset as u32, count] {
            index.extend_from_slice(&word.to_be_bytes());
        }
    };
    for (tag, value) in entries {
        let (kind, align, count, bytes) = match value {
            Value::Str(s) => (6, 1, 1, [s.as_bytes(), b"\0"].concat()),
            Value::Strs(v) => (
                8,
                1,
                v.len(),
                v.iter()
                    .flat_map(|s| s.iter().copied().chain([0]))
                    .collect(),
            ),
            Value::I16(v) => (
                3,
                2,
                v.len(),
                v.iter().flat_map(|n| n.to_be_bytes()).collect(),
            ),
            Value::I32(v) => (
                4,
                4,
                v.len(),
                v.iter().flat_map(|n| n.to_be_bytes()).collect(),
            ),
            Value::I64(v) => (
                5,
                8,
                v.len(),
                v.iter().flat_map(|n| n.to_be_bytes()).collect(),
            ),
            Value::Chars(v) => (1, 1, v.len(), v.clone()),
        };
        while data.len() % align != 0 {
            data.push(0);
        }
        entry(&mut index, *tag, kind, data.len() as i32, count as u32);
        data.extend_from_slice(&bytes);
    }
    let il = entries.len() as u32 + 1;
    let mut region = Vec::new();
    entry(&mut region, 63, 7, data.len() as i32, 16);
    let mut trailer = Vec::new();
    entry(&mut trailer, 63, 7, -(16 * il as i32), 16);
    data.extend_from_slice(&trailer);
    let mut blob = Vec::new();
    blob.extend_from_slice(&il.to_be_bytes());
    blob.extend_from_slice(&(data.len() as u32).to_be_bytes());
    blob.extend_from_slice(&region);
    blob.extend_from_slice(&index);
    blob.extend_from_slice(&data);
    blob
}

/// The header of package `name` listing `files` (absolute paths), each of `size` bytes.
pub fn package_header(
    name: &'static str,
    version: &'static str,
    files: &[(String, u64)],
) -> Vec<u8> {
    let mut dirs: Vec<Vec<u8>> = Vec::new();
    let mut indexes = Vec::new();
    let mut bases = Vec::new();
    for (path, _) in files {
        let (dir, base) = path.rsplit_once('/').unwrap_or(("", path));
        let dir = format!("{dir}/").into_bytes();
        let at = dirs.iter().position(|d| *d == dir).unwrap_or_else(|| {
            dirs.push(dir);
            dirs.len() - 1
        });
        indexes.push(at as u32);
        bases.push(base.as_bytes().to_vec());
    }
    let total: u64 = files.iter().map(|(_, s)| s).sum();
    header_blob(&[
        (1000, Value::Str(name)),
        (1001, Value::Str(version)),
        (1002, Value::Str("1")),
        (1009, Value::I32(vec![total as u32])),
        (1022, Value::Str("x86_64")),
        (
            1028,
            Value::I32(files.iter().map(|(_, s)| *s as u32).collect()),
        ),
        (1030, Value::I16(vec![0o100_644; files.len()])),
        (1116, Value::I32(indexes)),
        (1117, Value::Strs(bases)),
        (1118, Value::Strs(dirs)),
    ])
}

//! Images where a later layer installs packages again, and ones where it only seems to.
//!
//! All but the apk one start from a Debian base with a dpkg database as dpkg writes it
//! (`status` with every package, `info/<name>.list` and `.md5sums`, docs under
//! `usr/share/doc/<name>/`); the pip ones add a layer of dists with their
//! `*.dist-info/RECORD`. The packages are described by the public tables below, so a test
//! can count the bytes a reinstall hides from them rather than from the analysis.
//!
//! Entries carry the times the tools give them, which is what tells an install from
//! `chown -R`: pip writes every file at install time; dpkg and apk give a package's files
//! (and dpkg its `.md5sums`) the times in the package archive, the same each time that
//! version is installed, while dpkg writes `.list` and `status` at install time; `chown -R`
//! and `chmod -R` write each file again with its time as it was.

use std::collections::BTreeMap;

use sha2::{Digest as _, Sha256};

use crate::content::Content;
use crate::fixtures::wheel_of;
use crate::spec::{ImageSpec, LayerSpec, Op, Stamp};

/// When the packages of the bases were built, the time their files carry (the default
/// time of every generated entry).
pub const BUILT_AT: u64 = crate::MTIME;

/// When the pip layer of these images ran: thirty days after the base.
pub const INSTALLED_AT: u64 = BUILT_AT + 30 * 86_400;

/// When the last layer of each image ran: ten minutes after the pip layer.
pub const LAST_STEP_AT: u64 = INSTALLED_AT + 600;

/// `SOURCE_DATE_EPOCH` of [`rewrite_timestamp`]'s examples: after the base was built, before
/// its own layers ran.
pub const SOURCE_DATE_EPOCH: u64 = BUILT_AT + 86_400;

/// Where pip installs in these images (Debian's python3 with pip: `/usr/local`).
pub const SITE: &str = "usr/local/lib/python3.11/dist-packages";

/// A Debian or Alpine package: what its database says of it and the files it installs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OsPackage {
    /// `Package:` (apk `P:`).
    pub name: &'static str,
    /// `Version:` (apk `V:`).
    pub version: &'static str,
    /// Its files as (path, size, seed); those under `etc/` are conffiles.
    pub files: &'static [(&'static str, u64, u64)],
}

/// The packages of the base image.
pub const BASE_DEBS: [OsPackage; 3] = [
    OsPackage {
        name: "alpha",
        version: "1.0-1",
        files: &[
            ("usr/bin/alpha", 48_000, 501),
            ("usr/lib/x86_64-linux-gnu/libalpha.so.1", 120_000, 502),
            ("usr/share/doc/alpha/copyright", 1_800, 503),
            ("usr/share/doc/alpha/changelog.Debian.gz", 2_400, 504),
        ],
    },
    OsPackage {
        name: "beta",
        version: "2.3-1",
        files: &[
            ("etc/beta.conf", 600, 511),
            ("usr/bin/beta", 30_000, 512),
            ("usr/share/doc/beta/copyright", 1_500, 513),
            ("usr/share/doc/beta/changelog.Debian.gz", 3_100, 514),
            ("usr/share/doc/beta/README.Debian", 900, 515),
        ],
    },
    OsPackage {
        name: "gamma",
        version: "0.9-2",
        files: &[
            ("usr/lib/x86_64-linux-gnu/libgamma.so.0", 75_000, 521),
            ("usr/share/doc/gamma/copyright", 1_200, 522),
            ("usr/share/doc/gamma/changelog.Debian.gz", 5_500, 523),
        ],
    },
];

/// What the apt layer of [`apt_install_deleting_docs`] installs: a tool and its library. Their
/// docs are deleted in the same layer, so the layer never ships them.
pub const APT_INSTALLED: [OsPackage; 2] = [
    OsPackage {
        name: "libcurl4",
        version: "7.88.1-10",
        files: &[("usr/lib/x86_64-linux-gnu/libcurl.so.4.8.0", 90_000, 531)],
    },
    OsPackage {
        name: "curl",
        version: "7.88.1-10",
        files: &[("usr/bin/curl", 26_000, 532)],
    },
];

/// A dist as a wheel installs it: files relative to [`SITE`] as (path, size, seed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wheel {
    /// Its name as the dist-info spells it.
    pub name: &'static str,
    /// Version.
    pub version: &'static str,
    /// Its files, besides the dist-info's METADATA and RECORD.
    pub files: &'static [(&'static str, u64, u64)],
}

/// The dists the pip layer of [`pip_force_reinstall`] and [`pip_upgrade`] installs.
pub const PIP_INSTALLED: [Wheel; 3] = [
    Wheel {
        name: "requests",
        version: "2.31.0",
        files: &[
            ("requests/__init__.py", 4_900, 541),
            ("requests/api.py", 6_400, 542),
            ("requests/models.py", 35_000, 543),
            ("requests/sessions.py", 30_000, 544),
        ],
    },
    URLLIB3_OLD,
    Wheel {
        name: "idna",
        version: "3.6",
        files: &[
            ("idna/__init__.py", 900, 561),
            ("idna/idnadata.py", 44_000, 562),
        ],
    },
];

/// urllib3 as layer 1 installs it; [`pip_upgrade`] replaces it with [`URLLIB3_NEW`].
pub const URLLIB3_OLD: Wheel = Wheel {
    name: "urllib3",
    version: "1.26.18",
    files: &[
        ("urllib3/__init__.py", 2_800, 551),
        ("urllib3/connectionpool.py", 40_000, 552),
        ("urllib3/util/retry.py", 22_000, 553),
        ("urllib3/packages/six.py", 34_000, 554),
    ],
};

/// urllib3 after `pip install --upgrade`: the same modules rewritten, `packages/six.py`
/// gone, `_version.py` new.
pub const URLLIB3_NEW: Wheel = Wheel {
    name: "urllib3",
    version: "2.2.1",
    files: &[
        ("urllib3/__init__.py", 6_900, 571),
        ("urllib3/connectionpool.py", 43_000, 572),
        ("urllib3/util/retry.py", 18_000, 573),
        ("urllib3/_version.py", 100, 574),
    ],
};

/// The packages of the Alpine base of [`apk_add_then_upgrade`].
pub const ALPINE_BASE: [OsPackage; 4] = [
    OsPackage {
        name: "musl",
        version: "1.2.4-r2",
        files: &[("lib/ld-musl-x86_64.so.1", 600_000, 601)],
    },
    OsPackage {
        name: "busybox",
        version: "1.36.1-r15",
        files: &[
            ("bin/busybox", 820_000, 602),
            ("etc/securetty", 200, 603),
            ("etc/udhcpd.conf", 5_600, 604),
        ],
    },
    OsPackage {
        name: "alpine-baselayout-data",
        version: "3.4.3-r2",
        files: &[
            ("etc/hosts", 80, 611),
            ("etc/motd", 280, 612),
            ("etc/profile", 1_400, 613),
            ("etc/shells", 40, 614),
        ],
    },
    OsPackage {
        name: "ca-certificates-bundle",
        version: "20240226-r0",
        files: &[("etc/ssl/certs/ca-certificates.crt", 220_000, 615)],
    },
];

/// What `apk add ca-certificates` installs in [`apk_add_then_upgrade`].
pub const APK_INSTALLED: OsPackage = OsPackage {
    name: "ca-certificates",
    version: "20240226-r0",
    files: &[
        ("usr/sbin/update-ca-certificates", 14_000, 621),
        ("etc/ca-certificates.conf", 6_000, 622),
    ],
};

/// busybox after `apk upgrade busybox` in [`apk_add_then_upgrade`]: a new binary, the same
/// two config files.
pub const BUSYBOX_UPGRADED: OsPackage = OsPackage {
    name: "busybox",
    version: "1.36.1-r19",
    files: &[
        ("bin/busybox", 824_000, 625),
        ("etc/securetty", 200, 603),
        ("etc/udhcpd.conf", 5_600, 604),
    ],
};

/// The ops of a wheel installed into [`SITE`]: its files, METADATA and RECORD.
pub fn wheel_ops(wheel: &Wheel) -> Vec<Op> {
    wheel_of(SITE, wheel.name, wheel.version, wheel.files)
}

/// The files dpkg keeps for a package in `var/lib/dpkg/info/`, as (path, content): the
/// `.list` of every path it installed (directories too) and the `.md5sums` of its files.
pub fn deb_info(deb: &OsPackage) -> Vec<(String, Vec<u8>)> {
    let mut dirs: Vec<String> = Vec::new();
    for (path, _, _) in deb.files {
        let mut at = 0;
        while let Some(slash) = path[at..].find('/') {
            at += slash + 1;
            let dir = format!("/{}", &path[..at - 1]);
            if !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
    }
    let mut list = String::from("/.\n");
    for dir in dirs {
        list.push_str(&dir);
        list.push('\n');
    }
    let mut md5sums = String::new();
    for (path, size, seed) in deb.files {
        list.push_str(&format!("/{path}\n"));
        // 32 hex digits in md5sums' place: dive-rs never checks them.
        md5sums.push_str(&format!("{}  {path}\n", digest32(*seed, *size)));
    }
    vec![
        (
            format!("var/lib/dpkg/info/{}.list", deb.name),
            list.into_bytes(),
        ),
        (
            format!("var/lib/dpkg/info/{}.md5sums", deb.name),
            md5sums.into_bytes(),
        ),
    ]
}

fn digest32(seed: u64, size: u64) -> String {
    Sha256::digest(Content::to_vec(seed, size))
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `ops` written at `mtime`.
pub fn written_at(ops: Vec<Op>, mtime: u64) -> Vec<Op> {
    ops.into_iter()
        .map(|op| op.stamped(Stamp::at(mtime)))
        .collect()
}

/// What dpkg writes installing `deb` at `mtime`: its files and `.md5sums` with the times in
/// the `.deb` ([`BUILT_AT`]), its `.list` at `mtime`.
pub fn dpkg_installs(deb: &OsPackage, mtime: u64) -> Vec<Op> {
    deb_ops(deb)
        .into_iter()
        .map(|op| {
            if op.path().ends_with(b".list") {
                op.stamped(Stamp::at(mtime))
            } else {
                op
            }
        })
        .collect()
}

/// Every op of an installed Debian package: its files, then its `.list` and `.md5sums`.
pub fn deb_ops(deb: &OsPackage) -> Vec<Op> {
    let mut ops: Vec<Op> = deb
        .files
        .iter()
        .map(|&(path, size, seed)| Op::file(path, size, seed))
        .collect();
    ops.extend(
        deb_info(deb)
            .into_iter()
            .map(|(path, content)| Op::text(&path, content)),
    );
    ops
}

/// `var/lib/dpkg/status` listing `debs` (each installed), sorted by name as dpkg writes it.
pub fn dpkg_status(debs: &[OsPackage]) -> String {
    let mut debs = debs.to_vec();
    debs.sort_by_key(|d| d.name);
    let mut out = String::new();
    for deb in debs {
        let size_kib = deb.files.iter().map(|f| f.1).sum::<u64>().div_ceil(1024);
        out.push_str(&format!(
            "Package: {}\nStatus: install ok installed\nPriority: optional\nSection: utils\n\
             Installed-Size: {size_kib}\nMaintainer: Debian <debian@example.org>\n\
             Architecture: amd64\nVersion: {}\n",
            deb.name, deb.version
        ));
        let conffiles: Vec<String> = deb
            .files
            .iter()
            .filter(|f| f.0.starts_with("etc/"))
            .map(|&(path, size, seed)| format!(" /{path} {}", digest32(seed, size)))
            .collect();
        if !conffiles.is_empty() {
            out.push_str(&format!("Conffiles:\n{}\n", conffiles.join("\n")));
        }
        out.push_str(&format!(
            "Description: the {} package\n  of a generated image\n\n",
            deb.name
        ));
    }
    out
}

/// The dpkg log after `lines` more actions: apt appends to it in every layer that runs it.
fn dpkg_log(lines: usize) -> String {
    (0..lines)
        .map(|i| {
            format!(
                "2026-12-0{} 10:00:{i:02} status installed pkg:amd64 1\n",
                1 + i % 8
            )
        })
        .collect()
}

/// The base every image here starts from: a Debian rootfs with [`BASE_DEBS`].
fn debian_base() -> LayerSpec {
    let mut ops = vec![
        Op::dir("etc"),
        Op::text(
            "etc/os-release",
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n",
        ),
        Op::text("etc/debian_version", "12.5\n"),
        Op::file("etc/ld.so.cache", 8_000, 580),
        Op::dir("usr/share/doc"),
    ];
    for deb in &BASE_DEBS {
        ops.extend(deb_ops(deb));
    }
    ops.push(Op::text("var/lib/dpkg/status", dpkg_status(&BASE_DEBS)));
    ops.push(Op::file("var/cache/debconf/templates.dat", 40_000, 581));
    ops.push(Op::text("var/log/dpkg.log", dpkg_log(6)));
    LayerSpec::new("/bin/sh -c #(nop) ADD file:6f3e2b0c9d1a in / ", ops)
}

/// The apt step that used to look like three reinstalls (issue #37): over the base,
/// `apt-get install -y curl`, a `sed -i` on beta's conffile and `rm -rf /usr/share/doc/*`
/// in one layer. The layer rewrites `status` (listing every package), adds curl's and
/// libcurl4's files and dpkg records, overwrites beta's conffile and deletes every base
/// package's docs with whiteouts. No package is installed again; the docs ship hidden as
/// deleted bytes.
pub fn apt_install_deleting_docs() -> ImageSpec {
    let mut all: Vec<OsPackage> = BASE_DEBS.to_vec();
    all.extend(APT_INSTALLED);
    let mut ops = written_at(
        vec![
            Op::text("var/lib/dpkg/status-old", dpkg_status(&BASE_DEBS)),
            Op::text("var/lib/dpkg/status", dpkg_status(&all)),
        ],
        LAST_STEP_AT,
    );
    for deb in &APT_INSTALLED {
        ops.extend(dpkg_installs(deb, LAST_STEP_AT));
    }
    ops.extend(written_at(
        vec![
            Op::dir("usr/share/doc"),
            Op::file("etc/beta.conf", 640, 590),
            Op::file("etc/ld.so.cache", 8_400, 591),
            Op::file("var/cache/debconf/templates.dat", 41_000, 592),
            Op::text("var/log/dpkg.log", dpkg_log(14)),
            Op::text(
                "var/lib/apt/extended_states",
                "Package: curl\nArchitecture: amd64\nAuto-Installed: 0\n",
            ),
        ],
        LAST_STEP_AT,
    ));
    for deb in &BASE_DEBS {
        ops.push(Op::whiteout(&format!("usr/share/doc/{}", deb.name)));
    }
    image(
        "reinstall/apt-docs:1",
        "RUN /bin/sh -c apt-get update && apt-get install -y curl && sed -i s/on/off/ /etc/beta.conf && rm -rf /usr/share/doc/* /var/lib/apt/lists/*",
        ops,
        false,
    )
}

/// `apt-get install --reinstall alpha` over the base: dpkg writes alpha's files again
/// (the same bytes), its `.list` and `.md5sums`, and `status` (listing every package).
/// alpha 1.0-1 from layer 0 is installed again at 1.0-1 in layer 1: every file of it ships
/// twice. beta and gamma are only listed by the new `status`. As dpkg does, alpha's files
/// and `.md5sums` keep the times in its `.deb`; its `.list` is written at install time, the
/// one sign of the install besides `status`.
pub fn apt_reinstall() -> ImageSpec {
    let alpha = BASE_DEBS[0];
    let mut ops = written_at(
        vec![
            Op::text("var/lib/dpkg/status-old", dpkg_status(&BASE_DEBS)),
            Op::text("var/lib/dpkg/status", dpkg_status(&BASE_DEBS)),
        ],
        LAST_STEP_AT,
    );
    ops.extend(dpkg_installs(&alpha, LAST_STEP_AT));
    ops.extend(written_at(
        vec![
            Op::file("etc/ld.so.cache", 8_000, 593),
            Op::text("var/log/dpkg.log", dpkg_log(10)),
        ],
        LAST_STEP_AT,
    ));
    image(
        "reinstall/apt-reinstall:1",
        "RUN /bin/sh -c apt-get update && apt-get install -y --reinstall alpha && rm -rf /var/lib/apt/lists/*",
        ops,
        false,
    )
}

/// `pip install --force-reinstall --no-deps requests==2.31.0` over a layer that installed
/// [`PIP_INSTALLED`]. pip deletes the dist's directories and writes them again, so under
/// overlayfs both `requests/` and its dist-info come back opaque with the same files, written
/// at install time. requests 2.31.0 from layer 1 is installed again at 2.31.0 in layer 2;
/// urllib3 and idna are not.
pub fn pip_force_reinstall() -> ImageSpec {
    let requests = PIP_INSTALLED[0];
    let mut ops = vec![
        Op::opaque(&format!("{SITE}/requests")),
        Op::opaque(&format!(
            "{SITE}/{}-{}.dist-info",
            requests.name, requests.version
        )),
    ];
    ops.extend(written_at(wheel_ops(&requests), LAST_STEP_AT));
    image(
        "reinstall/pip-force:1",
        "RUN /bin/sh -c pip install --force-reinstall --no-deps requests==2.31.0",
        ops,
        true,
    )
}

/// `pip install --upgrade urllib3==2.2.1` over a layer that installed [`PIP_INSTALLED`]:
/// the old `urllib3-1.26.18.dist-info` is whited out and `urllib3-2.2.1.dist-info` added;
/// the modules both versions have are overwritten in place, `packages/` (gone in 2.x) is
/// deleted, `_version.py` is new. urllib3 1.26.18 from layer 1 is replaced by 2.2.1 in layer
/// 2: every byte of the old copy ships hidden, overwritten or deleted.
pub fn pip_upgrade() -> ImageSpec {
    let mut ops = vec![
        Op::whiteout(&format!(
            "{SITE}/{}-{}.dist-info",
            URLLIB3_OLD.name, URLLIB3_OLD.version
        )),
        Op::whiteout(&format!("{SITE}/urllib3/packages")),
    ];
    ops.extend(written_at(wheel_ops(&URLLIB3_NEW), LAST_STEP_AT));
    image(
        "reinstall/pip-upgrade:1",
        "RUN /bin/sh -c pip install --upgrade urllib3==2.2.1",
        ops,
        true,
    )
}

/// `lib/apk/db/installed` listing `packages`: per package its fields, then each directory
/// (`F:`) followed by its files (`R:`), as apk writes it.
pub fn apk_installed(packages: &[OsPackage]) -> String {
    let mut out = String::new();
    for package in packages {
        let size: u64 = package.files.iter().map(|f| f.1).sum();
        out.push_str(&format!(
            "C:Q1{}=\nP:{}\nV:{}\nA:x86_64\nI:{size}\nT:the {} package\nL:MIT\n",
            &digest32(size, 1)[..26],
            package.name,
            package.version,
            package.name
        ));
        let mut dir: Option<&str> = None;
        for &(path, size, seed) in package.files {
            let (parent, name) = path.rsplit_once('/').unwrap_or(("", path));
            if dir != Some(parent) {
                out.push_str(&format!("F:{parent}\n"));
                dir = Some(parent);
            }
            out.push_str(&format!("R:{name}\nZ:Q1{}=\n", &digest32(seed, size)[..26]));
        }
        out.push('\n');
    }
    out
}

/// Two apk steps over an Alpine base of [`ALPINE_BASE`]. Layer 1 runs
/// `apk add ca-certificates` and a `sed -i` on `/etc/profile`: apk rewrites `installed`,
/// which lists every package, the new package's trigger writes ca-certificates-bundle's one
/// file again with the same bytes, and the sed edits one of alpine-baselayout-data's files.
/// None of them is installed again. Layer 2 runs `apk upgrade busybox`: busybox 1.36.1-r15
/// from layer 0 is replaced by 1.36.1-r19, all three of its files written again. apk gives
/// a package's files the times in its `.apk`: the new build's are a week later.
pub fn apk_add_then_upgrade() -> ImageSpec {
    let file_ops = |package: &OsPackage| -> Vec<Op> {
        package
            .files
            .iter()
            .map(|&(path, size, seed)| Op::file(path, size, seed))
            .collect()
    };
    let mut base = vec![Op::text("etc/alpine-release", "3.19.1\n")];
    for package in &ALPINE_BASE {
        base.extend(file_ops(package));
    }
    base.push(Op::text(
        "lib/apk/db/installed",
        apk_installed(&ALPINE_BASE),
    ));
    let mut added = ALPINE_BASE.to_vec();
    added.push(APK_INSTALLED);
    let mut add = file_ops(&APK_INSTALLED);
    let mut rewritten = file_ops(&ALPINE_BASE[3]);
    rewritten.extend([
        Op::file("etc/profile", 1_450, 630),
        Op::text("lib/apk/db/installed", apk_installed(&added)),
    ]);
    // The trigger, the sed and apk write at install time.
    add.extend(written_at(rewritten, INSTALLED_AT));
    let upgraded: Vec<OsPackage> = added
        .iter()
        .map(|p| {
            if p.name == "busybox" {
                BUSYBOX_UPGRADED
            } else {
                *p
            }
        })
        .collect();
    let mut upgrade = written_at(file_ops(&BUSYBOX_UPGRADED), BUILT_AT + 7 * 86_400);
    upgrade.extend(written_at(
        vec![Op::text("lib/apk/db/installed", apk_installed(&upgraded))],
        LAST_STEP_AT,
    ));
    ImageSpec::new(
        "reinstall/apk:1",
        vec![
            LayerSpec::new("/bin/sh -c #(nop) ADD file:0d7a5c2b9e1f in / ", base),
            LayerSpec::new(
                "RUN /bin/sh -c apk add --no-cache ca-certificates && sed -i s/022/027/ /etc/profile",
                add,
            ),
            LayerSpec::new("RUN /bin/sh -c apk upgrade --no-cache busybox", upgrade),
        ],
    )
}

/// The base, for pip images a `pip install` layer of [`PIP_INSTALLED`], then `last`.
fn image(tag: &str, step: &str, last: Vec<Op>, pip: bool) -> ImageSpec {
    let mut layers = if pip { pip_base() } else { vec![debian_base()] };
    layers.push(LayerSpec::new(step, last));
    ImageSpec::new(tag, layers)
}

/// The Debian base, then a `pip install` layer of [`PIP_INSTALLED`] written at
/// [`INSTALLED_AT`].
fn pip_base() -> Vec<LayerSpec> {
    let mut ops = vec![Op::dir(SITE)];
    for wheel in &PIP_INSTALLED {
        ops.extend(wheel_ops(wheel));
    }
    vec![
        debian_base(),
        LayerSpec::new(
            "RUN /bin/sh -c pip install requests==2.31.0 urllib3==1.26.18 idna==3.6",
            written_at(ops, INSTALLED_AT),
        ),
    ]
}

/// What `chown -R` or `chmod -R` over `dirs` writes on top of `layers`: every directory,
/// file and text they leave under `dirs` again, in path order, with the same bytes and
/// modification time and the stamp `change` gives (from the stamp and mode it had). Paths
/// deleted by a whiteout are not left.
pub fn rewritten_metadata(
    layers: &[LayerSpec],
    dirs: &[&str],
    change: impl Fn(Stamp, u32) -> Stamp,
) -> Vec<Op> {
    let under = |path: &[u8]| {
        dirs.iter().any(|d| {
            path.strip_prefix(d.as_bytes())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(b"/"))
        })
    };
    let mut left: BTreeMap<Vec<u8>, &Op> = BTreeMap::new();
    for op in layers.iter().flat_map(|l| &l.ops) {
        match op.unstamped() {
            Op::Whiteout { path } => {
                left.retain(|p, _| !(p == path || p.starts_with(&[&path[..], b"/"].concat())));
            }
            Op::Opaque { dir } => left.retain(|p, _| !p.starts_with(&[&dir[..], b"/"].concat())),
            Op::Dir { .. } | Op::File { .. } | Op::Text { .. } if under(op.path()) => {
                left.insert(op.path().to_vec(), op);
            }
            _ => {}
        }
    }
    left.into_values()
        .map(|op| {
            let stamp = change(op.stamp(), op.mode());
            op.clone().stamped(stamp)
        })
        .collect()
}

/// The owner `chown -R app:app` gives in [`chown_recursive`].
pub const APP_UID: u32 = 1000;

/// The module the `sed -i` of [`chown_recursive`] edits (relative to [`SITE`]), its size
/// (unchanged) and the seed of its new bytes.
pub const SED_EDITED: (&str, u64, u64) = ("requests/api.py", 6_400, 545);

/// The directories [`chown_recursive`] and [`chmod_recursive`] walk: every dpkg and pip
/// package's files under `/usr` and dpkg's database, each package's own record included.
pub const REWRITTEN_DIRS: [&str; 2] = ["usr", "var/lib/dpkg"];

/// `chown -R app:app /usr /var/lib/dpkg && sed -i … requests/api.py` over the pip image:
/// every file of the base's dpkg packages under `/usr`, every pip dist and dpkg's records
/// (`status`, each `.list` and `.md5sums`, each dist-info) written again with the same bytes
/// and times, owned by [`APP_UID`]; the `sed` gives one module of requests new bytes and a
/// new time. No package is installed again: the old copies ship hidden as metadata-only
/// rewrites, the edited module as overwritten.
pub fn chown_recursive() -> ImageSpec {
    let mut layers = pip_base();
    let owned = Stamp {
        uid: APP_UID,
        gid: APP_UID,
        ..Stamp::default()
    };
    let mut ops = rewritten_metadata(&layers, &REWRITTEN_DIRS, |stamp, _| Stamp {
        mtime: stamp.mtime,
        ..owned
    });
    let (module, size, seed) = SED_EDITED;
    let edited = format!("{SITE}/{module}");
    for op in &mut ops {
        if op.path() == edited.as_bytes() {
            *op = Op::file(&edited, size, seed).stamped(Stamp {
                mtime: LAST_STEP_AT,
                ..owned
            });
        }
    }
    layers.push(LayerSpec::new(
        "RUN /bin/sh -c chown -R app:app /usr /var/lib/dpkg && sed -i s/timeout=None/timeout=30/ /usr/local/lib/python3.11/dist-packages/requests/api.py",
        ops,
    ));
    ImageSpec::new("reinstall/chown:1", layers)
}

/// `chmod -R g=u /usr /var/lib/dpkg` over the pip image (as images meant to run under an
/// arbitrary uid do): every file and directory there written again with the same bytes,
/// owner and time, its group bits made its owner's (0644 → 0664, 0755 → 0775). No package
/// is installed again: the old copies ship hidden as metadata-only rewrites.
pub fn chmod_recursive() -> ImageSpec {
    let mut layers = pip_base();
    let ops = rewritten_metadata(&layers, &REWRITTEN_DIRS, |stamp, mode| Stamp {
        mode: Some((mode & !0o070) | ((mode & 0o700) >> 3)),
        ..stamp
    });
    layers.push(LayerSpec::new(
        "RUN /bin/sh -c chmod -R g=u /usr /var/lib/dpkg",
        ops,
    ));
    ImageSpec::new("reinstall/chmod:1", layers)
}

/// `spec` as BuildKit's `rewrite-timestamp` exports it with `SOURCE_DATE_EPOCH=epoch`: every
/// time later than `epoch` set to it. Its own layers' times then all read `epoch`; a base
/// built before keeps its own.
pub fn rewrite_timestamp(mut spec: ImageSpec, epoch: u64) -> ImageSpec {
    for layer in &mut spec.layers {
        for op in &mut layer.ops {
            let stamp = op.stamp();
            if stamp.mtime > epoch {
                *op = op.clone().stamped(Stamp {
                    mtime: epoch,
                    ..stamp
                });
            }
        }
    }
    spec.tag = match spec.tag.rsplit_once(':') {
        Some((name, version)) => format!("{name}-epoch:{version}"),
        None => format!("{}-epoch", spec.tag),
    };
    spec
}

/// Bytes the ops write: file sizes and text lengths (links, directories and whiteouts
/// write none).
pub fn bytes_of(ops: &[Op]) -> u64 {
    ops.iter()
        .map(|op| match op.unstamped() {
            Op::File { size, .. } | Op::PaxFile { size, .. } => *size,
            Op::Text { content, .. } => content.len() as u64,
            _ => 0,
        })
        .sum()
}

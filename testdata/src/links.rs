//! Symlinks as distributions lay them out, for tests of following them: a merged-/usr root
//! (Debian 12, Ubuntu 24.04), links whose targets are links, `..` after a link, a loop and a
//! chain just past the kernel's limit.

use crate::spec::{ImageSpec, LayerSpec, Op};

/// Links a chain holds in [`merged_usr_image`]: `chain/0 → 1 → … → 41`, a file. From
/// `chain/1` the file is 40 links away (what Linux follows at most), from `chain/0` 41.
pub const CHAIN: u32 = 41;

/// Seeds of the files [`merged_usr_image`] holds, by what the test expects to read.
pub mod seeds {
    /// `usr/lib/x86_64-linux-gnu/libc.so.6` as layer 0 wrote it.
    pub const LIBC_BASE: u64 = 1;
    /// The same path as layer 1 rewrote it (the final image's).
    pub const LIBC_UPGRADED: u64 = 4;
    /// `usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2`.
    pub const LOADER: u64 = 2;
    /// `usr/share/doc/x`, reached from `/bin/../share/doc/x`.
    pub const USR_DOC: u64 = 3;
    /// `share/doc/x` at the root: what a resolver that takes `..` by name would read.
    pub const DECOY_DOC: u64 = 9;
    /// `chain/41`, the end of the chain.
    pub const CHAIN_END: u64 = 5;
}

/// A merged-/usr image: `/lib`, `/lib64`, `/bin` are links into `usr/`, the loader link
/// `usr/lib64/ld-linux-x86-64.so.2` is absolute and goes through `/lib`, a link climbs above
/// the root, another ends nowhere, two form a loop, and a chain is one link longer than
/// Linux follows. Layer 1 rewrites `libc.so.6` (and, as layers do, its directories) but
/// not `/lib`.
pub fn merged_usr_image() -> ImageSpec {
    let mut base = vec![
        Op::dir("usr"),
        Op::dir("usr/lib"),
        Op::dir("usr/lib/x86_64-linux-gnu"),
        Op::dir("usr/lib64"),
        Op::dir("usr/bin"),
        Op::dir("usr/local"),
        Op::dir("usr/share"),
        Op::dir("usr/share/doc"),
        Op::symlink("lib", "usr/lib"),
        Op::symlink("lib64", "usr/lib64"),
        Op::symlink("bin", "usr/bin"),
        Op::file(
            "usr/lib/x86_64-linux-gnu/libc.so.6",
            2_000,
            seeds::LIBC_BASE,
        ),
        Op::file(
            "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
            1_500,
            seeds::LOADER,
        ),
        Op::symlink(
            "usr/lib64/ld-linux-x86-64.so.2",
            "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
        ),
        Op::symlink("usr/lib/x86_64-linux-gnu/libc.so", "libc.so.6"),
        Op::symlink("usr/local/libdir", "/lib"),
        Op::symlink(
            "usr/lib/x86_64-linux-gnu/up",
            "../../../../../../etc/os-release",
        ),
        Op::file("usr/share/doc/x", 700, seeds::USR_DOC),
        Op::dir("share"),
        Op::dir("share/doc"),
        Op::file("share/doc/x", 900, seeds::DECOY_DOC),
        Op::dir("etc"),
        Op::text("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n"),
        Op::symlink("broken", "/nowhere/at/all"),
        Op::dir("loop"),
        Op::symlink("loop/a", "b"),
        Op::symlink("loop/b", "a"),
        Op::dir("chain"),
    ];
    for link in 0..CHAIN {
        base.push(Op::symlink(
            &format!("chain/{link}"),
            &(link + 1).to_string(),
        ));
    }
    base.push(Op::file(&format!("chain/{CHAIN}"), 300, seeds::CHAIN_END));
    let upgrade = vec![
        Op::dir("usr"),
        Op::dir("usr/lib"),
        Op::dir("usr/lib/x86_64-linux-gnu"),
        Op::file(
            "usr/lib/x86_64-linux-gnu/libc.so.6",
            2_400,
            seeds::LIBC_UPGRADED,
        ),
    ];
    ImageSpec::new(
        "merged-usr:12",
        vec![
            LayerSpec::new("ADD rootfs.tar /", base),
            LayerSpec::new("RUN apt-get upgrade -y", upgrade),
        ],
    )
}

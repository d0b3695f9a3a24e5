//! Real builds for `dive-rs fix`: a base image small enough to write here (the host's static
//! busybox, with stand-ins for pip and apt-get that leave their caches where the real tools
//! do) and Dockerfiles that `podman build --isolation=chroot` builds on this machine without a
//! network. A test builds each Dockerfile and its patched version and checks that the second
//! image ships less by exactly the bytes `fix` claimed.
//!
//! The stand-ins write what the real tools write, sizes aside: pip a wheel's files into
//! site-packages and the downloads into `~/.cache/pip/http-v2/` unless `--no-cache-dir`;
//! `apt-get update` the lists into `/var/lib/apt/lists/`, `apt-get install` (which fails
//! without lists, as apt's does) the `.deb` into `/var/cache/apt/archives/` and the package's
//! files, `apt-get clean` removes the archives and `pkgcache.bin` as apt's `clean` does.
//! Contents come from `/dev/urandom`: no two files share bytes, so no saving hides behind a
//! duplicate.

use std::io;

/// The stand-in for pip.
const PIP: &str = r#"#!/bin/sh
# pip's stand-in: a wheel's files into site-packages, its download into pip's cache.
set -e
[ "$1" = install ] || { echo "pip (stand-in): only install" >&2; exit 2; }
shift
cache=1
for a in "$@"; do [ "$a" = --no-cache-dir ] && cache=0; done
site=/usr/local/lib/python3.11/site-packages
for a in "$@"; do
  case "$a" in -*) continue ;; esac
  name=${a%%=*}
  mkdir -p "$site/$name"
  head -c 600000 /dev/urandom > "$site/$name/__init__.py"
  if [ "$cache" = 1 ]; then
    mkdir -p "${HOME:-/root}/.cache/pip/http-v2/$name"
    head -c 1500000 /dev/urandom > "${HOME:-/root}/.cache/pip/http-v2/$name/body"
  fi
done
"#;

/// The stand-in for apt-get.
const APT_GET: &str = r#"#!/bin/sh
# apt-get's stand-in: lists on update, archives and files on install, archives gone on clean.
set -e
lists=/var/lib/apt/lists
case "$1" in
  update)
    mkdir -p "$lists/partial"
    : > "$lists/lock"
    head -c 2000000 /dev/urandom > "$lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages"
    head -c 150000 /dev/urandom > "$lists/deb.debian.org_debian_dists_bookworm_InRelease"
    ;;
  install)
    shift
    [ -f "$lists/deb.debian.org_debian_dists_bookworm_InRelease" ] ||
      { echo "E: Unable to locate package $*" >&2; exit 100; }
    mkdir -p /var/cache/apt/archives/partial
    for p in "$@"; do
      case "$p" in -*) continue ;; esac
      head -c 700000 /dev/urandom > "/var/cache/apt/archives/${p}_1.0_amd64.deb"
      head -c 300000 /dev/urandom > "/usr/bin/$p"
      chmod 755 "/usr/bin/$p"
    done
    head -c 1000000 /dev/urandom > /var/cache/apt/pkgcache.bin
    ;;
  clean)
    rm -rf /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/* /var/cache/apt/*.bin
    ;;
  *) echo "apt-get (stand-in): $1?" >&2; exit 2 ;;
esac
"#;

/// The busybox applets the Dockerfiles and the stand-ins run.
const APPLETS: &[&str] = &[
    "sh", "rm", "mkdir", "head", "chmod", "chown", "cat", "echo", "ls", "touch", "true", "test",
    "[", "printf", "cp", "mv",
];

/// The base image's root file system as a tar: `busybox` (the bytes of the host's static
/// build), its applets as links in `/bin`, the two stand-ins, `/root` and `/tmp`.
pub fn base_rootfs(busybox: &[u8]) -> io::Result<Vec<u8>> {
    let mut tar = tar::Builder::new(Vec::new());
    let dir = |tar: &mut tar::Builder<Vec<u8>>, path: &str, mode: u32| {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Directory);
        header.set_mode(mode);
        header.set_size(0);
        tar.append_data(&mut header, path, io::empty())
    };
    let file = |tar: &mut tar::Builder<Vec<u8>>, path: &str, bytes: &[u8], mode: u32| {
        let mut header = tar::Header::new_gnu();
        header.set_mode(mode);
        header.set_size(bytes.len() as u64);
        tar.append_data(&mut header, path, bytes)
    };
    for (path, mode) in [
        ("bin", 0o755),
        ("usr", 0o755),
        ("usr/bin", 0o755),
        ("usr/local", 0o755),
        ("usr/local/bin", 0o755),
        ("root", 0o700),
        ("tmp", 0o1777),
        ("etc", 0o755),
    ] {
        dir(&mut tar, path, mode)?;
    }
    file(&mut tar, "bin/busybox", busybox, 0o755)?;
    for applet in APPLETS {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_mode(0o777);
        header.set_size(0);
        tar.append_link(&mut header, format!("bin/{applet}"), "busybox")?;
    }
    file(&mut tar, "usr/local/bin/pip", PIP.as_bytes(), 0o755)?;
    file(&mut tar, "usr/bin/apt-get", APT_GET.as_bytes(), 0o755)?;
    file(
        &mut tar,
        "etc/passwd",
        b"root:x:0:0:root:/root:/bin/sh\n",
        0o644,
    )?;
    tar.into_inner()
}

/// The tag the tests import the base as.
pub const BASE_TAG: &str = "localhost/dive-rs-fix-base:1";

/// A Dockerfile to build, its build context, and the hadolint-free facts a test checks.
#[derive(Debug, Clone)]
pub struct PodmanCase {
    /// A short name (also the image's tag).
    pub name: &'static str,
    /// The Dockerfile.
    pub dockerfile: String,
    /// Files of the build context: (path, bytes).
    pub context: Vec<(&'static str, Vec<u8>)>,
    /// The waste classes `fix` must patch.
    pub patches: &'static [&'static str],
}

/// The Dockerfiles built for real.
pub fn podman_cases() -> Vec<PodmanCase> {
    let from = format!("FROM {BASE_TAG}\n");
    vec![
        PodmanCase {
            name: "pip-cache",
            dockerfile: format!("{from}RUN pip install torch==2.3.0 numpy\n"),
            context: vec![],
            patches: &["pip-cache"],
        },
        PodmanCase {
            name: "pip-cache-mount",
            dockerfile: format!("# syntax=docker/dockerfile:1\n{from}RUN pip install triton\n"),
            context: vec![],
            patches: &["pip-cache"],
        },
        PodmanCase {
            name: "apt-caches",
            dockerfile: format!("{from}RUN apt-get update \\\n    && apt-get install -y curl jq\n"),
            context: vec![],
            patches: &["apt-archives", "apt-lists"],
        },
        PodmanCase {
            name: "delete-later",
            dockerfile: format!(
                "{from}RUN mkdir -p /opt/sdk && head -c 3000000 /dev/urandom > /opt/sdk/docs.tar \
                 && head -c 500000 /dev/urandom > /opt/sdk/tool\n\
                 RUN rm -f /opt/sdk/docs.tar && chmod 700 /opt/sdk/tool\n"
            ),
            context: vec![],
            patches: &["hidden-deleted", "hidden-metadata-only"],
        },
        PodmanCase {
            name: "chmod-later",
            dockerfile: format!(
                "{from}COPY entrypoint.sh /usr/local/bin/entrypoint.sh\n\
                 RUN chmod 755 /usr/local/bin/entrypoint.sh\n\
                 CMD [\"/usr/local/bin/entrypoint.sh\"]\n"
            ),
            context: vec![("entrypoint.sh", {
                let mut script = b"#!/bin/sh\necho ready\n".to_vec();
                script.resize(250_000, b'#');
                script
            })],
            patches: &["hidden-metadata-only"],
        },
    ]
}

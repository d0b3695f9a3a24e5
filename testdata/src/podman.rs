//! Real builds for `dive-rs fix`: a base image small enough to write here (the host's static
//! busybox, with stand-ins for pip and apt-get that leave their caches where the real tools
//! do) and Dockerfiles that `podman build --isolation=chroot` builds on this machine without a
//! network. A test builds each Dockerfile and its patched version and checks that the second
//! image ships less by exactly the bytes `fix` claimed.
//!
//! The stand-ins write what the real tools write, sizes aside: pip a wheel's files into
//! site-packages and the downloads into `~/.cache/pip/http-v2/` unless `--no-cache-dir`;
//! `apt-get update` the lists into `/var/lib/apt/lists/`, `apt-get install` (which fails
//! without lists, as apt's does) each package with its Depends and, unless
//! `--no-install-recommends`, its Recommends: the `.deb` into `/var/cache/apt/archives/`, the
//! package's file, its dpkg status paragraph and list, apt's `Auto-Installed` mark for what
//! it pulled in; `apt-get clean` removes the archives and `pkgcache.bin` as apt's `clean`
//! does.
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
# apt-get's stand-in: lists on update; on install each package with its Depends and (unless
# --no-install-recommends) its Recommends, from the table in `repo`: its file, its archive,
# its dpkg status paragraph and list, and apt's auto-installed mark; archives gone on clean.
set -e
lists=/var/lib/apt/lists
status=/var/lib/dpkg/status
extended=/var/lib/apt/extended_states
# name -> "depends|recommends|size"
repo() {
  case "$1" in
    curl) echo "libcurl4|ca-certificates krb5-locales|300000" ;;
    libcurl4) echo "|krb5-locales|200000" ;;
    ca-certificates) echo "openssl||150000" ;;
    openssl) echo "||250000" ;;
    krb5-locales) echo "||180000" ;;
    *) echo "||300000" ;;
  esac
}
joined() {
  local out="" w
  for w in "$@"; do out="${out:+$out, }$w"; done
  echo "$out"
}
install_pkg() {
  local p=$1 auto=$2 spec deps rest recs size d
  if [ -f "/var/lib/dpkg/info/$p.list" ]; then return 0; fi
  spec=$(repo "$p")
  deps=${spec%%|*}
  rest=${spec#*|}
  recs=${rest%%|*}
  size=${rest#*|}
  for d in $deps; do install_pkg "$d" 1; done
  if [ "$recommends" = 1 ]; then
    for d in $recs; do install_pkg "$d" 1; done
  fi
  head -c 700000 /dev/urandom > "/var/cache/apt/archives/${p}_1.0_amd64.deb"
  head -c "$size" /dev/urandom > "/usr/bin/$p"
  chmod 755 "/usr/bin/$p"
  echo "/usr/bin/$p" > "/var/lib/dpkg/info/$p.list"
  {
    printf 'Package: %s\nStatus: install ok installed\nPriority: optional\n' "$p"
    printf 'Architecture: amd64\nVersion: 1.0\n'
    if [ -n "$deps" ]; then printf 'Depends: %s\n' "$(joined $deps)"; fi
    if [ -n "$recs" ]; then printf 'Recommends: %s\n' "$(joined $recs)"; fi
    printf 'Description: %s (stand-in)\n\n' "$p"
  } >> "$status"
  if [ "$auto" = 1 ]; then
    printf 'Package: %s\nArchitecture: amd64\nAuto-Installed: 1\n\n' "$p" >> "$extended"
  fi
}
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
    mkdir -p /var/cache/apt/archives/partial /var/lib/dpkg/info /var/lib/apt
    recommends=1
    for p in "$@"; do
      if [ "$p" = --no-install-recommends ]; then recommends=0; fi
    done
    for p in "$@"; do
      case "$p" in -*) continue ;; esac
      install_pkg "$p" 0
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
            dockerfile: format!(
                "{from}RUN apt-get update \\\n    && apt-get install -y --no-install-recommends curl jq\n"
            ),
            context: vec![],
            patches: &["apt-archives", "apt-lists"],
        },
        PodmanCase {
            name: "install-recommends",
            dockerfile: format!(
                "{from}RUN apt-get update && apt-get install -y curl \\\n    \
                 && apt-get clean && rm -rf /var/lib/apt/lists/*\n"
            ),
            context: vec![],
            patches: &["recommends"],
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

//! Dockerfiles and the images built from them, for `dive-rs fix`: each image's history is
//! written exactly as BuildKit writes it (`RUN /bin/sh -c CMD # buildkit`, continuation
//! lines joined and comment lines dropped; `COPY SRC DST # buildkit`; the base image's own
//! `#(nop)` lines first), and each case says which edits are sure (with the bytes the
//! generator wrote for them: the ledger a test checks `fix` against) and which findings must
//! only be listed.

use crate::spec::{ImageSpec, LayerSpec, Op};

/// A Dockerfile, the image built from it, and what `fix` must make of them.
#[derive(Debug, Clone)]
pub struct FixCase {
    /// A short name for messages.
    pub name: &'static str,
    /// The Dockerfile's bytes.
    pub dockerfile: String,
    /// The image.
    pub image: ImageSpec,
    /// The edits: (first line of the instruction changed, waste classes, bytes saved).
    pub fixes: Vec<(usize, &'static [&'static str], u64)>,
    /// The hadolint rules the edits clear.
    pub clears: &'static [&'static str],
    /// Waste classes that must be listed, not patched, with the line they are listed at.
    pub listed: Vec<(&'static str, usize)>,
    /// Planned with `--cpu-only`.
    pub cpu_only: bool,
}

/// The base image's layer: a few files, written by another Dockerfile.
fn base_layer() -> LayerSpec {
    LayerSpec::new(
        "/bin/sh -c #(nop) ADD file:5e2b0d3a7c1f in / ",
        vec![
            Op::dir("bin"),
            Op::file("bin/sh", 120_000, 1),
            Op::dir("etc"),
            Op::text("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n"),
        ],
    )
}

fn image(tag: &str, layers: Vec<LayerSpec>) -> ImageSpec {
    let mut all = vec![base_layer()];
    all.extend(layers);
    ImageSpec::new(tag, all)
}

/// pip's cache files in a layer: (path, size, seed) of each, and their total.
fn pip_cache(home: &str, seed: u64) -> (Vec<Op>, u64) {
    let files = [
        (
            format!("{home}/.cache/pip/http-v2/a/b/c/0f1e2d3c"),
            3_100_000,
        ),
        (
            format!("{home}/.cache/pip/http-v2/d/e/f/4b5a6978"),
            1_250_000,
        ),
        (format!("{home}/.cache/pip/selfcheck/1a2b.json"), 180),
    ];
    let total = files.iter().map(|(_, s)| s).sum();
    let ops = files
        .iter()
        .enumerate()
        .map(|(i, (p, s))| Op::file(p, *s, seed + i as u64))
        .collect();
    (ops, total)
}

/// apt's lists and downloaded archives in a layer, and the two totals.
fn apt_caches(seed: u64) -> (Vec<Op>, u64, u64) {
    let lists = [
        (
            "var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4",
            9_120_000,
        ),
        (
            "var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease",
            151_000,
        ),
    ];
    let archives = [
        ("var/cache/apt/archives/curl_7.88.1-10_amd64.deb", 315_000),
        ("var/cache/apt/pkgcache.bin", 27_000_000),
    ];
    let mut ops = vec![Op::file("var/lib/apt/lists/lock", 0, seed)];
    let mut n = seed + 1;
    for (path, size) in lists.iter().chain(&archives) {
        ops.push(Op::file(path, *size, n));
        n += 1;
    }
    ops.push(Op::file("var/cache/apt/archives/lock", 0, n));
    let sum = |list: &[(&str, u64)]| list.iter().map(|(_, s)| s).sum();
    (ops, sum(&lists), sum(&archives))
}

/// Every case.
pub fn fix_cases() -> Vec<FixCase> {
    vec![
        crlf_continuations(),
        copy_then_chmod(),
        fold_a_delete(),
        forms_fix_leaves_alone(),
        hostile_cache_path(),
        apt_lists_read_later(),
        shells(),
        chmod_the_image_chose(),
        endings_that_take_nothing(),
        caches_that_are_read(),
        mounts_and_syntax(),
        install_recommends(),
        cpu_index(),
        os_package_caches(),
    ]
}

/// dnf's, yum's and apk's caches, each left by the `RUN` whose package manager wrote it:
/// each removed at the end of that `RUN` with the manager's own clean and the directory
/// (`rm -rf /var/cache/apk/*` for apk, whose `--no-cache` would write none). A `RUN` that
/// only lists files leaves its zypper cache listed: no zypper ran there.
fn os_package_caches() -> FixCase {
    let dockerfile = "FROM registry.access.redhat.com/ubi9/ubi:9.4\n\
        RUN dnf install -y --setopt=tsflags=nodocs gcc\n\
        RUN yum install -y make\n\
        RUN apk add curl\n\
        RUN ls /var/cache\n"
        .to_owned();
    let files = |paths: &[(&str, u64)], seed: u64| -> (Vec<Op>, u64) {
        let ops = paths
            .iter()
            .enumerate()
            .map(|(i, (p, size))| Op::file(p, *size, seed + i as u64))
            .collect();
        (ops, paths.iter().map(|(_, s)| s).sum())
    };
    let (mut dnf, dnf_bytes) = files(
        &[
            (
                "var/cache/dnf/baseos-044cae74d71fe9ea/repodata/primary.xml.zst",
                2_400_000,
            ),
            (
                "var/cache/dnf/appstream-25485261a76941d3/packages/gcc-11.4.1.rpm",
                3_300_000,
            ),
            ("var/cache/dnf/expired_repos.json", 2),
        ],
        400,
    );
    dnf.push(Op::file("usr/bin/gcc", 1_100_000, 410));
    let (mut yum, yum_bytes) = files(
        &[(
            "var/cache/yum/x86_64/9/baseos/packages/make-4.3.rpm",
            560_000,
        )],
        420,
    );
    yum.push(Op::file("usr/bin/make", 260_000, 421));
    let (mut apk, apk_bytes) = files(
        &[("var/cache/apk/APKINDEX.7d1b3a2f.tar.gz", 1_300_000)],
        430,
    );
    apk.push(Op::file("usr/bin/curl", 250_000, 431));
    let (zypp, _) = files(&[("var/cache/zypp/raw/repo-oss/repomd.xml", 90_000)], 440);
    FixCase {
        name: "os-package-caches",
        dockerfile,
        image: image(
            "fix/os-caches:1",
            vec![
                LayerSpec::new(
                    "RUN /bin/sh -c dnf install -y --setopt=tsflags=nodocs gcc # buildkit",
                    dnf,
                ),
                LayerSpec::new("RUN /bin/sh -c yum install -y make # buildkit", yum),
                LayerSpec::new("RUN /bin/sh -c apk add curl # buildkit", apk),
                LayerSpec::new("RUN /bin/sh -c ls /var/cache # buildkit", zypp),
            ],
        ),
        fixes: vec![
            (2, &["dnf-cache"], dnf_bytes),
            (3, &["dnf-cache"], yum_bytes),
            (4, &["apk-cache"], apk_bytes),
        ],
        cpu_only: false,
        clears: &["DL3040", "DL3032"],
        listed: vec![("zypper-cache", 5)],
    }
}

/// CRLF line ends, `ARG` before `FROM`, a named stage, a comment inside a continuation, the
/// leading-`&&` style: the apt lists and archives removed at the end of their `RUN` on a new
/// line of the same style, `--no-cache-dir` after a `pip install` that ends its line.
fn crlf_continuations() -> FixCase {
    let dockerfile = [
        "# syntax=docker/dockerfile:1",
        "ARG PY=3.11",
        "FROM python:${PY}-slim AS runtime",
        "RUN apt-get update \\",
        "    # the lists for curl",
        "    && apt-get install -y --no-install-recommends curl",
        "RUN pip install \\",
        "      torch==2.3.0 \\",
        "      numpy==1.26.4",
        "COPY app.py /app/app.py",
        "CMD [\"python\", \"/app/app.py\"]",
        "",
    ]
    .join("\r\n");
    let (mut apt, lists, archives) = apt_caches(100);
    apt.push(Op::file("usr/bin/curl", 250_000, 120));
    let (mut pip, cache) = pip_cache("root", 200);
    pip.push(Op::file(
        "usr/local/lib/python3.11/site-packages/torch/lib/libtorch_cpu.so",
        4_000_000,
        210,
    ));
    FixCase {
        name: "crlf-continuations",
        dockerfile,
        image: image(
            "fix/crlf:1",
            vec![
                LayerSpec::new(
                    "RUN /bin/sh -c apt-get update     && apt-get install -y --no-install-recommends curl # buildkit",
                    apt,
                ),
                LayerSpec::new(
                    "RUN /bin/sh -c pip install       torch==2.3.0       numpy==1.26.4 # buildkit",
                    pip,
                ),
                LayerSpec::new(
                    "COPY app.py /app/app.py # buildkit",
                    vec![Op::text("app/app.py", "print('hi')\n")],
                ),
            ],
        ),
        fixes: vec![
            (4, &["apt-archives"], archives),
            (4, &["apt-lists"], lists),
            (7, &["pip-cache"], cache),
        ],
        cpu_only: false,
        clears: &["DL3009", "DL3042"],
        listed: vec![],
    }
}

/// A script copied, then made executable by the next step: `COPY --chmod` with the mode the
/// later layer wrote (755), and that `RUN` gone. A copied model deleted later is listed: its
/// `COPY` cannot take a delete.
fn copy_then_chmod() -> FixCase {
    let dockerfile = "FROM debian:12-slim\n\
        COPY entrypoint.sh /usr/local/bin/entrypoint.sh\n\
        RUN chmod +x /usr/local/bin/entrypoint.sh\n\
        COPY model.bin /opt/model.bin\n\
        RUN rm -f /opt/model.bin\n\
        ENTRYPOINT [\"/usr/local/bin/entrypoint.sh\"]\n"
        .to_owned();
    let script = "usr/local/bin/entrypoint.sh";
    let script_bytes = 4_096;
    FixCase {
        name: "copy-then-chmod",
        dockerfile,
        image: image(
            "fix/chmod:1",
            vec![
                LayerSpec::new(
                    "COPY entrypoint.sh /usr/local/bin/entrypoint.sh # buildkit",
                    vec![Op::file(script, script_bytes, 300)],
                ),
                LayerSpec::new(
                    "RUN /bin/sh -c chmod +x /usr/local/bin/entrypoint.sh # buildkit",
                    vec![Op::File {
                        path: script.as_bytes().to_vec(),
                        size: script_bytes,
                        seed: 300,
                        mode: 0o755,
                    }],
                ),
                LayerSpec::new(
                    "COPY model.bin /opt/model.bin # buildkit",
                    vec![Op::file("opt/model.bin", 2_500_000, 301)],
                ),
                LayerSpec::new(
                    "RUN /bin/sh -c rm -f /opt/model.bin # buildkit",
                    vec![Op::whiteout("opt/model.bin")],
                ),
            ],
        ),
        fixes: vec![(2, &["hidden-metadata-only"], script_bytes)],
        cpu_only: false,
        clears: &[],
        listed: vec![("hidden-deleted", 4)],
    }
}

/// A download deleted by the next `RUN` (trailing-`&&` continuation style): the delete
/// folded into the download's `RUN`, the later `RUN` removed.
fn fold_a_delete() -> FixCase {
    let dockerfile = "FROM debian:12-slim\n\
        RUN mkdir -p /opt/sdk && \\\n\
        \x20   tar -C /opt/sdk -xf /tmp/sdk.tar\n\
        RUN rm -rf /opt/sdk/docs /opt/sdk/samples\n\
        ENV PATH=/opt/sdk/bin:$PATH\n"
        .to_owned();
    let docs = [
        ("opt/sdk/docs/index.html", 700_000u64),
        ("opt/sdk/docs/api.pdf", 5_300_000),
    ];
    let samples = [("opt/sdk/samples/a.bin", 1_000_000u64)];
    let mut sdk = vec![Op::file("opt/sdk/bin/sdk", 800_000, 400)];
    for (i, (path, size)) in docs.iter().chain(&samples).enumerate() {
        sdk.push(Op::file(path, *size, 401 + i as u64));
    }
    let deleted = docs.iter().chain(&samples).map(|(_, s)| s).sum();
    FixCase {
        name: "fold-a-delete",
        dockerfile,
        image: image(
            "fix/fold:1",
            vec![
                LayerSpec::new(
                    "RUN /bin/sh -c mkdir -p /opt/sdk &&     tar -C /opt/sdk -xf /tmp/sdk.tar # buildkit",
                    sdk,
                ),
                LayerSpec::new(
                    "RUN /bin/sh -c rm -rf /opt/sdk/docs /opt/sdk/samples # buildkit",
                    vec![
                        Op::whiteout("opt/sdk/docs"),
                        Op::whiteout("opt/sdk/samples"),
                    ],
                ),
            ],
        ),
        fixes: vec![(2, &["hidden-deleted"], deleted)],
        cpu_only: false,
        clears: &[],
        listed: vec![],
    }
}

/// Caches `fix` must not touch: a heredoc `RUN` and an exec-form `RUN` wrote pip caches
/// (listed at their lines), a `RUN` ending in a shell comment wrote apt lists.
fn forms_fix_leaves_alone() -> FixCase {
    let dockerfile = "# syntax=docker/dockerfile:1\n\
        FROM debian:12-slim\n\
        RUN <<EOF\n\
        pip install numpy\n\
        EOF\n\
        RUN [\"pip\", \"install\", \"torch\"]\n\
        RUN apt-get update # the lists stay for the next build\n"
        .to_owned();
    let (heredoc_cache, _) = pip_cache("root", 500);
    let (exec_cache, _) = pip_cache("home/app", 510);
    let (apt, ..) = apt_caches(520);
    FixCase {
        name: "forms-fix-leaves-alone",
        dockerfile,
        image: image(
            "fix/forms:1",
            vec![
                LayerSpec::new(
                    "RUN /bin/sh -c pip install numpy\n # buildkit",
                    heredoc_cache,
                ),
                LayerSpec::new("RUN pip install torch # buildkit", exec_cache),
                LayerSpec::new(
                    "RUN /bin/sh -c apt-get update # the lists stay for the next build # buildkit",
                    apt,
                ),
            ],
        ),
        fixes: vec![],
        cpu_only: false,
        clears: &[],
        listed: vec![("pip-cache", 3), ("pip-cache", 6), ("apt-lists", 7)],
    }
}

/// A cache under a home directory whose name holds shell syntax: the image names it, so it is
/// never written into a command; listed. npm's cache of a plain home is removed.
fn hostile_cache_path() -> FixCase {
    let dockerfile = "FROM node:20-slim\n\
        RUN npm ci && npm run build\n"
        .to_owned();
    let npm = [("root/.npm/_cacache/content-v2/sha512/ab/cd", 2_000_000u64)];
    let hostile = [(
        "home/x$(touch${IFS}pwned)`id`/.npm/_cacache/index-v5/aa",
        700_000u64,
    )];
    let mut ops = Vec::new();
    for (i, (path, size)) in npm.iter().chain(&hostile).enumerate() {
        ops.push(Op::file(path, *size, 600 + i as u64));
    }
    FixCase {
        name: "hostile-cache-path",
        dockerfile,
        image: image(
            "fix/hostile:1",
            vec![LayerSpec::new(
                "RUN /bin/sh -c npm ci && npm run build # buildkit",
                ops,
            )],
        ),
        fixes: vec![(2, &["npm-cache"], npm[0].1)],
        cpu_only: false,
        clears: &[],
        listed: vec![("npm-cache", 2)],
    }
}

/// apt's lists that a later `RUN` installs from without updating them: kept (listed); the
/// archives are still cleaned.
fn apt_lists_read_later() -> FixCase {
    let dockerfile = "FROM debian:12-slim\n\
        RUN apt-get update && apt-get install -y curl\n\
        RUN apt-get install -y jq\n"
        .to_owned();
    let (apt, _, archives) = apt_caches(700);
    FixCase {
        name: "apt-lists-read-later",
        dockerfile,
        image: image(
            "fix/apt-later:1",
            vec![
                LayerSpec::new(
                    "RUN /bin/sh -c apt-get update && apt-get install -y curl # buildkit",
                    apt,
                ),
                LayerSpec::new(
                    "RUN /bin/sh -c apt-get install -y jq # buildkit",
                    vec![Op::file("usr/bin/jq", 300_000, 720)],
                ),
            ],
        ),
        fixes: vec![(2, &["apt-archives"], archives)],
        cpu_only: false,
        clears: &[],
        listed: vec![("apt-lists", 2)],
    }
}

/// A `SHELL` with options is still a POSIX shell: its apt caches are patched; a `RUN` under a
/// `SHELL` that is not one (PowerShell reads `&&` otherwise) is listed.
fn shells() -> FixCase {
    let dockerfile = "FROM debian:12-slim\n\
        SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\n\
        RUN apt-get update && apt-get install -y curl\n\
        SHELL [\"pwsh\", \"-Command\"]\n\
        RUN npm ci\n"
        .to_owned();
    let (apt, lists, archives) = apt_caches(800);
    FixCase {
        name: "shells",
        dockerfile,
        image: image(
            "fix/shells:1",
            vec![
                LayerSpec::new(
                    "RUN /bin/bash -o pipefail -c apt-get update && apt-get install -y curl # buildkit",
                    apt,
                ),
                LayerSpec::new(
                    "RUN pwsh -Command npm ci # buildkit",
                    vec![Op::file("root/.npm/_cacache/index-v5/ab", 400_000, 820)],
                ),
            ],
        ),
        fixes: vec![(3, &["apt-archives"], archives), (3, &["apt-lists"], lists)],
        cpu_only: false,
        clears: &["DL3009"],
        listed: vec![("npm-cache", 5)],
    }
}

/// The `chmod` the Dockerfile names, not the mode the image shows: a later layer whose mode
/// (6777) is not what `chmod +x` makes of the copied file's is listed, not written into a
/// `COPY --chmod`. A directory copied, then one file of it chmodded: listed (the next build's
/// directory may hold more files).
fn chmod_the_image_chose() -> FixCase {
    let dockerfile = "FROM debian:12-slim\n\
        COPY tool /usr/local/bin/tool\n\
        RUN chmod +x /usr/local/bin/tool\n\
        COPY conf/ /etc/app/\n\
        RUN chmod 600 /etc/app/x.conf\n"
        .to_owned();
    let changed = |path: &str, size: u64, seed: u64, mode: u32| Op::File {
        path: path.as_bytes().to_vec(),
        size,
        seed,
        mode,
    };
    FixCase {
        name: "chmod-the-image-chose",
        dockerfile,
        image: image(
            "fix/chmod-image:1",
            vec![
                LayerSpec::new(
                    "COPY tool /usr/local/bin/tool # buildkit",
                    vec![Op::file("usr/local/bin/tool", 9_000, 900)],
                ),
                LayerSpec::new(
                    "RUN /bin/sh -c chmod +x /usr/local/bin/tool # buildkit",
                    vec![changed("usr/local/bin/tool", 9_000, 900, 0o6777)],
                ),
                LayerSpec::new(
                    "COPY conf/ /etc/app/ # buildkit",
                    vec![Op::file("etc/app/x.conf", 3_000, 901)],
                ),
                LayerSpec::new(
                    "RUN /bin/sh -c chmod 600 /etc/app/x.conf # buildkit",
                    vec![changed("etc/app/x.conf", 3_000, 901, 0o600)],
                ),
            ],
        ),
        fixes: vec![],
        cpu_only: false,
        clears: &[],
        listed: vec![("hidden-metadata-only", 2), ("hidden-metadata-only", 4)],
    }
}

/// Commands that cannot take `&& more` at their end: a comment after `;`, and a last line
/// that ends with the escape character before a comment line.
fn endings_that_take_nothing() -> FixCase {
    let dockerfile = "FROM debian:12-slim\n\
        RUN apt-get update && apt-get install -y curl;# then jq\n\
        RUN npm ci \\\n\
        # nothing follows\n"
        .to_owned();
    let (apt, ..) = apt_caches(1000);
    FixCase {
        name: "endings-that-take-nothing",
        dockerfile,
        image: image(
            "fix/endings:1",
            vec![
                LayerSpec::new(
                    "RUN /bin/sh -c apt-get update && apt-get install -y curl;# then jq # buildkit",
                    apt,
                ),
                LayerSpec::new(
                    "RUN /bin/sh -c npm ci # buildkit",
                    vec![Op::file("root/.npm/_cacache/x", 50_000, 1010)],
                ),
            ],
        ),
        fixes: vec![],
        cpu_only: false,
        clears: &[],
        listed: vec![("apt-lists", 2), ("npm-cache", 3)],
    }
}

/// Caches something still reads: apt lists a later stage installs from (`apt-get -y
/// install`, in a stage built on this one), a uv cache a venv links into, and poetry's
/// virtualenvs (not a cache: only its `artifacts/` go).
fn caches_that_are_read() -> FixCase {
    let dockerfile = "FROM debian:12-slim AS base\n\
        RUN apt-get update && apt-get install -y curl\n\
        RUN uv venv /opt/venv && uv pip install --link-mode symlink numpy\n\
        RUN poetry install\n\
        FROM base AS test\n\
        RUN apt-get -y install jq\n\
        FROM base AS final\n\
        CMD [\"poetry\", \"run\", \"app\"]\n"
        .to_owned();
    let (apt, _, archives) = apt_caches(1100);
    let uv = vec![
        Op::file("root/.cache/uv/archive-v0/ab/numpy/core.so", 800_000, 1120),
        Op::symlink(
            "opt/venv/lib/python3.11/site-packages/numpy",
            "/root/.cache/uv/archive-v0/ab/numpy",
        ),
    ];
    let poetry = vec![
        Op::file(
            "root/.cache/pypoetry/artifacts/aa/app-1.0.whl",
            120_000,
            1130,
        ),
        Op::file(
            "root/.cache/pypoetry/virtualenvs/app-py3.11/lib/site.py",
            90_000,
            1131,
        ),
    ];
    FixCase {
        name: "caches-that-are-read",
        dockerfile,
        image: image(
            "fix/read:1",
            vec![
                LayerSpec::new(
                    "RUN /bin/sh -c apt-get update && apt-get install -y curl # buildkit",
                    apt,
                ),
                LayerSpec::new(
                    "RUN /bin/sh -c uv venv /opt/venv && uv pip install --link-mode symlink numpy # buildkit",
                    uv,
                ),
                LayerSpec::new("RUN /bin/sh -c poetry install # buildkit", poetry),
            ],
        ),
        fixes: vec![
            (2, &["apt-archives"], archives),
            (4, &["poetry-cache"], 120_000),
        ],
        cpu_only: false,
        clears: &[],
        listed: vec![("apt-lists", 2), ("uv-cache", 3)],
    }
}

/// A `RUN` that mounts over its cache now (the image comes from a build before the mount:
/// BuildKit does not record mounts in the history) is listed; a `# syntax=` older than 1.2
/// gets `--no-cache-dir`, not a cache mount; a pip named by its path gets the flag too.
fn mounts_and_syntax() -> FixCase {
    let dockerfile = "# syntax=docker/dockerfile:1.0\n\
        FROM debian:12-slim\n\
        RUN --mount=type=cache,target=/root/.npm npm ci\n\
        RUN pip install -U pip && /opt/venv/bin/pip install numpy\n"
        .to_owned();
    let (pip, cache) = pip_cache("root", 1200);
    FixCase {
        name: "mounts-and-syntax",
        dockerfile,
        image: image(
            "fix/mounts:1",
            vec![
                LayerSpec::new(
                    "RUN /bin/sh -c npm ci # buildkit",
                    vec![Op::file("root/.npm/_cacache/y", 60_000, 1210)],
                ),
                LayerSpec::new(
                    "RUN /bin/sh -c pip install -U pip && /opt/venv/bin/pip install numpy # buildkit",
                    pip,
                ),
            ],
        ),
        fixes: vec![(4, &["pip-cache"], cache)],
        cpu_only: false,
        clears: &["DL3042"],
        listed: vec![("npm-cache", 3)],
    }
}

/// A Debian package as apt installs it: its status paragraph (with `extra` fields), its
/// `extended_states` stanza when apt installed it only for another, its files and its
/// `info/<name>.list`; and the bytes it owns (files and list).
#[derive(Debug, Clone)]
pub struct Deb {
    /// Its name.
    pub name: &'static str,
    /// More status fields (`Depends: …\n`).
    pub extra: &'static str,
    /// apt installed it for another package.
    pub auto: bool,
    /// Its files: (path, size).
    pub files: &'static [(&'static str, u64)],
}

impl Deb {
    /// Its status paragraph.
    pub fn paragraph(&self) -> String {
        format!(
            "Package: {}\nStatus: install ok installed\nPriority: optional\nArchitecture: amd64\n\
             Version: 1.0\n{}Description: {}\n  a package\n\n",
            self.name, self.extra, self.name
        )
    }

    fn list(&self) -> String {
        self.files.iter().map(|(f, _)| format!("/{f}\n")).collect()
    }

    /// Its files and list, contents from `seed`.
    pub fn ops(&self, seed: u64) -> Vec<Op> {
        let mut ops: Vec<Op> = self
            .files
            .iter()
            .enumerate()
            .map(|(i, (path, size))| Op::file(path, *size, seed + i as u64))
            .collect();
        ops.push(Op::text(
            &format!("var/lib/dpkg/info/{}.list", self.name),
            self.list(),
        ));
        ops
    }

    /// The bytes it owns: its files and its list.
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|(_, s)| s).sum::<u64>() + self.list().len() as u64
    }
}

/// A layer that installs `new` over `before`: the files, dpkg's status listing every package
/// and apt's `extended_states` listing every auto-installed one.
pub fn apt_layer(created_by: &str, before: &[&Deb], new: &[&Deb], seed: u64) -> LayerSpec {
    let mut ops = Vec::new();
    for (i, deb) in new.iter().enumerate() {
        ops.extend(deb.ops(seed + 10 * i as u64));
    }
    let all: Vec<&&Deb> = before.iter().chain(new).collect();
    let status: String = all.iter().map(|d| d.paragraph()).collect();
    let extended: String = all
        .iter()
        .filter(|d| d.auto)
        .map(|d| {
            format!(
                "Package: {}\nArchitecture: amd64\nAuto-Installed: 1\n\n",
                d.name
            )
        })
        .collect();
    ops.push(Op::text("var/lib/dpkg/status", status));
    ops.push(Op::text("var/lib/apt/extended_states", extended));
    LayerSpec::new(created_by, ops)
}

/// `apt-get install` without `--no-install-recommends`: curl's Recommends pulled in
/// ca-certificates (with openssl), publicsuffix and krb5-locales. The flag goes after each
/// `install` of the `RUN`, ca-certificates is named to stay, and the saving is the bytes
/// of the packages only Recommends explain and nothing later needs: krb5-locales, and
/// publicsuffix is not one, since the next `RUN` installs wget, which depends on it.
fn install_recommends() -> FixCase {
    let dockerfile = "FROM debian:12-slim\n\
        RUN apt-get update \\\n\
        \x20   && DEBIAN_FRONTEND=noninteractive apt-get -y install curl \\\n\
        \x20   && rm -rf /var/lib/apt/lists/*\n\
        RUN apt-get update && apt-get install -y --no-install-recommends wget \\\n\
        \x20   && rm -rf /var/lib/apt/lists/*\n"
        .to_owned();
    let libc = Deb {
        name: "libc6",
        extra: "Priority: required\n",
        auto: false,
        files: &[("usr/lib/x86_64-linux-gnu/libc.so.6", 1_900_000)],
    };
    let curl = Deb {
        name: "curl",
        extra: "Depends: libc6 (>= 2.34), libcurl4 (= 7.88.1-10)\n\
                Recommends: ca-certificates, publicsuffix | krb5-locales\n",
        auto: false,
        files: &[("usr/bin/curl", 260_000)],
    };
    let libcurl = Deb {
        name: "libcurl4",
        extra: "Depends: libc6\nRecommends: krb5-locales\n",
        auto: true,
        files: &[("usr/lib/x86_64-linux-gnu/libcurl.so.4", 700_000)],
    };
    let certs = Deb {
        name: "ca-certificates",
        extra: "Depends: openssl (>= 1.1.1), debconf (>= 0.5) | debconf-2.0\n",
        auto: true,
        files: &[("usr/share/ca-certificates/mozilla/ISRG_Root_X1.crt", 1_939)],
    };
    let openssl = Deb {
        name: "openssl",
        extra: "Depends: libc6\n",
        auto: true,
        files: &[("usr/bin/openssl", 1_100_000)],
    };
    let suffix = Deb {
        name: "publicsuffix",
        extra: "",
        auto: true,
        files: &[("usr/share/publicsuffix/public_suffix_list.dat", 230_000)],
    };
    let locales = Deb {
        name: "krb5-locales",
        extra: "",
        auto: true,
        files: &[
            ("usr/share/locale/de/LC_MESSAGES/mit-krb5.mo", 120_000),
            ("usr/share/locale/ru/LC_MESSAGES/mit-krb5.mo", 180_000),
        ],
    };
    let wget = Deb {
        name: "wget",
        extra: "Depends: libc6, publicsuffix\n",
        auto: false,
        files: &[("usr/bin/wget", 540_000)],
    };
    let mut base = base_layer();
    base.ops.extend(libc.ops(1300));
    base.ops
        .push(Op::text("var/lib/dpkg/status", libc.paragraph()));
    FixCase {
        name: "install-recommends",
        dockerfile,
        image: ImageSpec::new(
            "fix/recommends:1",
            vec![
                base,
                apt_layer(
                    "RUN /bin/sh -c apt-get update     && DEBIAN_FRONTEND=noninteractive apt-get -y install curl     && rm -rf /var/lib/apt/lists/* # buildkit",
                    &[&libc],
                    &[&curl, &libcurl, &certs, &openssl, &suffix, &locales],
                    1310,
                ),
                apt_layer(
                    "RUN /bin/sh -c apt-get update && apt-get install -y --no-install-recommends wget     && rm -rf /var/lib/apt/lists/* # buildkit",
                    &[&libc, &curl, &libcurl, &certs, &openssl, &suffix, &locales],
                    &[&wget],
                    1400,
                ),
            ],
        ),
        fixes: vec![(2, &["recommends"], locales.bytes())],
        cpu_only: false,
        clears: &["DL3015"],
        listed: vec![],
    }
}

/// The bytes `ops` write: what the packages they install own.
fn ops_bytes(ops: &[Op]) -> u64 {
    ops.iter()
        .map(|op| match op {
            Op::File { size, .. } => *size,
            Op::Text { content, .. } => content.len() as u64,
            _ => 0,
        })
        .sum()
}

/// The `RUN` that installed a CUDA build of torch (its CUDA libraries, the nvidia wheel and
/// triton it pulled in) in an image that runs without a GPU (`--cpu-only`): PyTorch's CPU
/// index, saving the CUDA wheels and torch's CUDA libraries. numpy stays; so does the
/// nvidia wheel the next `RUN` names itself.
pub fn cpu_index() -> FixCase {
    use crate::fixtures::wheel;
    let site = "usr/local/lib/python3.11/site-packages";
    let dockerfile = "FROM python:3.11-slim\n\
        RUN pip install --no-cache-dir torch==2.3.0 numpy\n\
        RUN pip install --no-cache-dir nvidia-nccl-cu12==2.20.5\n\
        COPY app.py /app/app.py\n"
        .to_owned();
    let torch = wheel(
        site,
        "torch",
        "2.3.0",
        &[
            ("torch/__init__.py", 12_000),
            ("torch/lib/libtorch_cpu.so", 400_000),
            ("torch/lib/libtorch_cuda.so", 900_000),
            ("torch/lib/libc10_cuda.so", 50_000),
        ],
        1500,
    );
    let cublas = wheel(
        site,
        "nvidia_cublas_cu12",
        "12.1.3.1",
        &[("nvidia/cublas/lib/libcublas.so.12", 700_000)],
        1510,
    );
    let triton = wheel(
        site,
        "triton",
        "2.3.0",
        &[("triton/_C/libtriton.so", 300_000)],
        1520,
    );
    let numpy = wheel(
        site,
        "numpy",
        "1.26.4",
        &[("numpy/core/_multiarray_umath.so", 100_000)],
        1530,
    );
    let nccl = wheel(
        site,
        "nvidia_nccl_cu12",
        "2.20.5",
        &[("nvidia/nccl/lib/libnccl.so.2", 200_000)],
        1540,
    );
    let saving = ops_bytes(&cublas) + ops_bytes(&triton) + 900_000 + 50_000;
    let mut install = Vec::new();
    for ops in [torch, cublas, triton, numpy] {
        install.extend(ops);
    }
    FixCase {
        name: "cpu-index",
        dockerfile,
        image: image(
            "fix/cpu:1",
            vec![
                LayerSpec::new(
                    "RUN /bin/sh -c pip install --no-cache-dir torch==2.3.0 numpy # buildkit",
                    install,
                ),
                LayerSpec::new(
                    "RUN /bin/sh -c pip install --no-cache-dir nvidia-nccl-cu12==2.20.5 # buildkit",
                    nccl,
                ),
                LayerSpec::new(
                    "COPY app.py /app/app.py # buildkit",
                    vec![Op::text("app/app.py", "import torch\n")],
                ),
            ],
        ),
        fixes: vec![(2, &["cpu-index"], saving)],
        listed: vec![],
        cpu_only: true,
        clears: &[],
    }
}

/// [`cpu_index`] with a second torch and cublas in a venv, installed by the same `RUN`: one
/// edit for the `RUN`, each wheel's bytes claimed once.
pub fn cpu_index_two_sites() -> FixCase {
    use crate::fixtures::wheel;
    let mut case = cpu_index();
    let venv = "opt/venv/lib/python3.11/site-packages";
    let command = "pip install --no-cache-dir torch==2.3.0 numpy && /opt/venv/bin/pip install --no-cache-dir torch==2.3.0";
    case.name = "cpu-index-two-sites";
    case.dockerfile = case.dockerfile.replace(
        "RUN pip install --no-cache-dir torch==2.3.0 numpy\n",
        &format!("RUN {command}\n"),
    );
    let layer = &mut case.image.layers[1];
    layer.created_by = format!("RUN /bin/sh -c {command} # buildkit");
    let torch = wheel(
        venv,
        "torch",
        "2.3.0",
        &[
            ("torch/__init__.py", 12_000),
            ("torch/lib/libtorch_cuda.so", 700_000),
        ],
        1600,
    );
    let cublas = wheel(
        venv,
        "nvidia_cublas_cu12",
        "12.1.3.1",
        &[("nvidia/cublas/lib/libcublas.so.12", 300_000)],
        1610,
    );
    let extra = ops_bytes(&cublas) + 700_000;
    layer.ops.extend(torch);
    layer.ops.extend(cublas);
    if let Some(fix) = case.fixes.first_mut() {
        fix.2 += extra;
    }
    case
}

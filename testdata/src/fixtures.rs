//! The images tests and the demo use.

use base64::Engine as _;
use sha2::{Digest as _, Sha256};

use crate::content::Content;
use crate::cuda::{CudaFile, ElfSection, FatEntry, arch_sweep, cuda_library, elf_of};
use crate::spec::{ImageSpec, LayerSpec, Op, TarStyle};

/// Every tar detail a layer reader must get right, in three layers: `./` names, long and
/// non-UTF-8 names, PAX path and size, hardlinks (whose target is later deleted), whiteouts
/// of files and directories, an opaque directory with a same-layer child, type changes both
/// ways, a metadata-only rewrite, a duplicate entry within one layer, and missing end blocks.
pub fn rich_image() -> ImageSpec {
    let long = format!(
        "usr/share/doc/{}/README",
        "a-very-long-directory-name".repeat(6)
    );
    let base = LayerSpec {
        created_by: "ADD rootfs.tar /".into(),
        style: TarStyle {
            dot_slash: true,
            no_end_blocks: false,
        },
        ops: vec![
            Op::dir("bin"),
            Op::file("bin/busybox", 300_000, 1),
            Op::hardlink("bin/sh", "bin/busybox"),
            Op::hardlink("bin/ls", "bin/sh"),
            Op::dir("etc"),
            Op::text("etc/os-release", "ID=fixture\nVERSION_ID=1\n"),
            Op::file("etc/config", 4_000, 8),
            Op::dir("usr"),
            Op::dir("usr/lib"),
            Op::file("usr/lib/libbig.so", 2_000_000, 2),
            Op::symlink("usr/lib/libbig.so.1", "libbig.so"),
            Op::file(&long, 1_000, 3),
            Op::File {
                path: b"usr/share/caf\xe9.txt".to_vec(),
                size: 500,
                seed: 4,
                mode: 0o644,
            },
            Op::file("tmp/cache/a", 10_000, 5),
            Op::file("tmp/cache/b", 20_000, 6),
            Op::file("opt/app/old1", 3_000, 7),
            Op::file("data/blob", 5_000, 9),
            Op::file("srv/x/inner", 6_000, 10),
        ],
    };
    let change = LayerSpec::new(
        "RUN rm -rf /tmp/cache /etc/config /bin/busybox && chmod 755 /usr/lib/libbig.so",
        vec![
            Op::whiteout("tmp/cache"),
            Op::whiteout("etc/config"),
            Op::whiteout("bin/busybox"),
            Op::opaque("opt/app"),
            Op::file("opt/app/new", 700, 11),
            Op::File { path: b"usr/lib/libbig.so".to_vec(), size: 2_000_000, seed: 2, mode: 0o755 },
            Op::dir("data/blob"),
            Op::file("data/blob/child", 100, 12),
            Op::file("srv/x", 50, 13),
            Op::PaxFile { path: "usr/share/pax/ünïcødé-名前-file-with-a-name-longer-than-one-hundred-bytes-for-the-ustar-name-field.bin".as_bytes().to_vec(), size: 77_777, seed: 14 },
        ],
    );
    let last = LayerSpec {
        created_by: "RUN echo ID=changed > /etc/os-release && make install".into(),
        style: TarStyle {
            dot_slash: false,
            no_end_blocks: true,
        },
        ops: vec![
            Op::text("etc/os-release", "ID=changed\n"),
            Op::whiteout("never/existed"),
            Op::file("usr/local/bin/tool", 1_234, 15),
            Op::hardlink("usr/local/bin/tool2", "usr/local/bin/tool"),
            Op::file("var/log/x", 100, 16),
            Op::file("var/log/x", 200, 17),
        ],
    };
    let mut image = ImageSpec::new("fixture/rich:1.0", vec![base, change, last]);
    image.empty_steps = vec![(1, "ENV A=b".into()), (2, "WORKDIR /app".into())];
    image
}

/// `files` small files in 500 package directories, like a big site-packages; paths are
/// 60–70 bytes.
pub fn wide_image(files: u64) -> ImageSpec {
    let ops = (0..files)
        .map(|i| {
            Op::file(
                &format!(
                    "usr/local/lib/python3.11/site-packages/pkg{}/sub{}/mod{i}.py",
                    i % 500,
                    i % 7
                ),
                i % 300,
                i,
            )
        })
        .collect();
    ImageSpec::new(
        "wide:1",
        vec![LayerSpec::new("RUN pip install everything", ops)],
    )
}

/// The same small app for linux/amd64 and linux/arm64/v8 (arm64's binary is larger).
pub fn two_platforms() -> Vec<ImageSpec> {
    let spec = |arch: &str, variant: Option<&str>, size: u64| {
        let mut image = ImageSpec::new(
            "multi/app:1",
            vec![
                LayerSpec::new(
                    "ADD base /",
                    vec![Op::dir("etc"), Op::text("etc/hostname", "multi\n")],
                ),
                LayerSpec::new("COPY app /app", vec![Op::file("app/server", size, 40)]),
            ],
        );
        arch.clone_into(&mut image.arch);
        image.variant = variant.map(str::to_owned);
        image
    };
    vec![
        spec("amd64", None, 40_000),
        spec("arm64", Some("v8"), 50_000),
    ]
}

/// A wheel: its files, a RECORD listing them with real sha256 digests, and its METADATA.
pub(crate) fn wheel(
    site: &str,
    dist: &str,
    version: &str,
    files: &[(&str, u64)],
    seed: u64,
) -> Vec<Op> {
    let info = format!("{dist}-{version}.dist-info");
    let mut ops = Vec::new();
    let mut record = String::new();
    for (i, (path, size)) in files.iter().enumerate() {
        let seed = seed * 1000 + i as u64;
        let hash = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(Sha256::digest(Content::to_vec(seed, *size)));
        record.push_str(&format!("{path},sha256={hash},{size}\n"));
        // pip installs `../../../bin/x` entries where they point.
        ops.push(Op::file(&resolve(&format!("{site}/{path}")), *size, seed));
    }
    let metadata = format!("Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n");
    record.push_str(&format!("{info}/METADATA,,\n{info}/RECORD,,\n"));
    ops.push(Op::text(&format!("{site}/{info}/METADATA"), metadata));
    ops.push(Op::text(&format!("{site}/{info}/RECORD"), record));
    ops
}

/// Resolves `..` components, as the installer does with RECORD paths.
fn resolve(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            ".." => {
                parts.pop();
            }
            "" | "." => {}
            other => parts.push(other),
        }
    }
    parts.join("/")
}

fn dpkg_package(name: &str, version: &str, installed_kb: u64, files: &[&str]) -> (String, Op) {
    let status = format!(
        "Package: {name}\nStatus: install ok installed\nPriority: optional\nArchitecture: amd64\nVersion: {version}\nInstalled-Size: {installed_kb}\nDescription: {name}\n\n"
    );
    let list: String = files.iter().map(|f| format!("/{f}\n")).collect();
    (
        status,
        Op::text(&format!("var/lib/dpkg/info/{name}.list"), list),
    )
}

/// The Hugging Face token the demo was built with (a build argument; `huggingface-cli
/// login` wrote it to a file the next step deletes). Not a real token.
pub const DEMO_HF_TOKEN: &str = "hf_DemoOnlyNotARealTokenDiveRsSecrets01";
/// The database password in the demo's `app/.env` (in a URL).
pub const DEMO_DB_PASSWORD: &str = "Tr0ub4dor-and-3-demo";
/// The API key in the demo's `app/.env`.
pub const DEMO_OPENAI_KEY: &str = "sk-proj-DemoOnlyNotARealKeyDiveRs0123";

/// The bundled demo: a miniature ML service, the shape of a real torch+CUDA image, with the
/// secrets such images ship: a token in a build argument, the login file it left in a layer
/// the next step hides, and a `.env`.
pub fn demo_image() -> ImageSpec {
    let site = "usr/local/lib/python3.11/dist-packages";
    let mut base_ops = vec![
        Op::dir("etc"),
        Op::text(
            "etc/os-release",
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n",
        ),
        Op::text("etc/debian_version", "12.5\n"),
        Op::file("usr/bin/bash", 1_265_648, 100),
        Op::file("usr/bin/ls", 151_344, 101),
        Op::file("usr/bin/cp", 151_152, 102),
        Op::file("usr/bin/perl", 3_926_496, 103),
        Op::hardlink("usr/bin/perl5.36.0", "usr/bin/perl"),
        Op::file("usr/lib/x86_64-linux-gnu/libc.so.6", 1_922_136, 104),
        Op::file(
            "usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30",
            2_260_296,
            105,
        ),
        Op::symlink(
            "usr/lib/x86_64-linux-gnu/libstdc++.so.6",
            "libstdc++.so.6.0.30",
        ),
    ];
    let mut status = String::new();
    for (name, version, kb, files) in [
        ("bash", "5.2.15-2+b2", 7163, vec!["usr/bin/bash"]),
        (
            "coreutils",
            "9.1-1",
            18062,
            vec!["usr/bin/ls", "usr/bin/cp"],
        ),
        (
            "perl-base",
            "5.36.0-7+deb12u1",
            7631,
            vec!["usr/bin/perl", "usr/bin/perl5.36.0"],
        ),
        (
            "libc6",
            "2.36-9+deb12u4",
            12986,
            vec!["usr/lib/x86_64-linux-gnu/libc.so.6"],
        ),
        (
            "libstdc++6",
            "12.2.0-14",
            2882,
            vec![
                "usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30",
                "usr/lib/x86_64-linux-gnu/libstdc++.so.6",
            ],
        ),
    ] {
        let (entry, list) = dpkg_package(name, version, kb, &files);
        status.push_str(&entry);
        base_ops.push(list);
    }
    base_ops.push(Op::text("var/lib/dpkg/status", status.clone()));

    let mut toolchain_ops = vec![
        Op::file("usr/lib/gcc/x86_64-linux-gnu/12/cc1", 30_871_304, 110),
        Op::file("usr/lib/gcc/x86_64-linux-gnu/12/cc1plus", 33_254_856, 111),
        Op::file("usr/bin/x86_64-linux-gnu-gcc-12", 1_015_688, 112),
        Op::symlink("usr/bin/gcc", "x86_64-linux-gnu-gcc-12"),
        Op::file(
            "usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0",
            7_432_256,
            113,
        ),
        Op::file("usr/bin/python3.11", 6_839_016, 114),
        Op::file(
            "var/cache/apt/archives/gcc-12_12.2.0-14_amd64.deb",
            20_012_544,
            115,
        ),
        Op::file(
            "var/cache/apt/archives/cpp-12_12.2.0-14_amd64.deb",
            9_801_232,
            116,
        ),
        Op::file(
            "var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4",
            9_140_215,
            117,
        ),
    ];
    for (name, version, kb, files) in [
        (
            "gcc-12",
            "12.2.0-14",
            36_714,
            vec![
                "usr/bin/x86_64-linux-gnu-gcc-12",
                "usr/lib/gcc/x86_64-linux-gnu/12/cc1",
            ],
        ),
        (
            "cpp-12",
            "12.2.0-14",
            32_512,
            vec!["usr/lib/gcc/x86_64-linux-gnu/12/cc1plus"],
        ),
        (
            "python3.11-minimal",
            "3.11.2-6",
            6_890,
            vec!["usr/bin/python3.11"],
        ),
        (
            "libpython3.11",
            "3.11.2-6",
            7_280,
            vec!["usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0"],
        ),
    ] {
        let (entry, list) = dpkg_package(name, version, kb, &files);
        status.push_str(&entry);
        toolchain_ops.push(list);
    }
    toolchain_ops.push(Op::text("var/lib/dpkg/status", status));

    let mut pip_ops = vec![
        Op::file(
            "root/.cache/pip/http-v2/a/1/b/c/d/9f8e7d6c5b4a39281706f5e4d3c2b1a0",
            21_470_113,
            120,
        ),
        Op::file(
            "root/.cache/pip/http-v2/e/2/f/0/a/0a1b2c3d4e5f60718293a4b5c6d7e8f9",
            12_006_331,
            121,
        ),
        Op::file("root/.cache/pip/selfcheck/5a0b2c.json", 212, 122),
    ];
    let mut py = |dist: &str, version: &str, files: &[(&str, u64)], seed: u64| {
        pip_ops.extend(wheel(site, dist, version, files, seed));
    };
    py(
        "torch",
        "2.3.0",
        &[
            ("torch/__init__.py", 78_512),
            ("torch/functional.py", 76_134),
            ("torch/lib/libtorch_cpu.so", 45_103_220),
            ("torch/lib/libtorch_cuda.so", 29_881_400),
            ("torch/lib/libc10.so", 1_240_008),
            ("torch/testing/_internal/common_utils.py", 215_331),
            ("torch/__pycache__/__init__.cpython-311.pyc", 61_220),
        ],
        200,
    );
    py(
        "nvidia_cublas_cu12",
        "12.1.3.1",
        &[
            ("nvidia/cublas/lib/libcublasLt.so.12", 48_312_960),
            ("nvidia/cublas/lib/libcublas.so.12", 22_103_112),
            ("nvidia/cublas/include/cublas_v2.h", 15_011),
            ("nvidia/cublas/__init__.py", 0),
        ],
        201,
    );
    py(
        "nvidia_cudnn_cu12",
        "8.9.2.26",
        &[
            ("nvidia/cudnn/lib/libcudnn.so.8", 40_201_144),
            ("nvidia/cudnn/include/cudnn.h", 99_112),
            ("nvidia/cudnn/__init__.py", 0),
        ],
        202,
    );
    py(
        "triton",
        "2.3.0",
        &[
            ("triton/_C/libtriton.so", 16_331_872),
            ("triton/__init__.py", 1_251),
            ("triton/compiler/compiler.py", 14_880),
        ],
        203,
    );
    py(
        "numpy",
        "1.26.4",
        &[
            (
                "numpy/core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so",
                6_102_616,
            ),
            ("numpy/__init__.py", 17_102),
            ("numpy/core/tests/test_multiarray.py", 390_120),
            ("numpy/__pycache__/__init__.cpython-311.pyc", 13_554),
        ],
        204,
    );

    // `huggingface-cli login` keeps the token where the next step deletes it: hidden, and
    // shipped by this layer all the same.
    pip_ops.push(Op::text(
        "root/.cache/huggingface/token",
        format!("{DEMO_HF_TOKEN}\n"),
    ));

    let libtorch = format!("{site}/torch/lib/libtorch_cpu.so");
    let cleanup = vec![
        Op::whiteout("root/.cache/pip"),
        Op::whiteout("root/.cache/huggingface"),
        Op::File {
            path: libtorch.into_bytes(),
            size: 45_103_220,
            seed: 200_002,
            mode: 0o755,
        },
    ];
    let app = vec![
        Op::dir("app"),
        Op::text(
            "app/main.py",
            "from fastapi import FastAPI\napp = FastAPI()\n",
        ),
        Op::file("app/model.onnx", 12_400_000, 130),
        Op::text("app/config.yaml", "log_level: debug\n"),
        // `COPY app/ /app` copies the developer's .env too.
        Op::text(
            "app/.env",
            format!(
                "LOG_LEVEL=info\nDATABASE_URL=postgresql://ml:{DEMO_DB_PASSWORD}@db.internal:5432/features\nOPENAI_API_KEY={DEMO_OPENAI_KEY}\n"
            ),
        ),
    ];
    let model = vec![Op::file("app/model.onnx", 12_650_000, 131)];

    let mut image = ImageSpec::new(
        "demo/ml-service:1.0",
        vec![
            LayerSpec::new("/bin/sh -c #(nop) ADD file:4f3b2a1c0d9e in / ", base_ops),
            // BuildKit records the build argument before every RUN after `ARG HF_TOKEN`.
            LayerSpec::new(
                &format!(
                    "RUN |1 HF_TOKEN={DEMO_HF_TOKEN} /bin/sh -c apt-get update && apt-get install -y gcc g++ python3 python3-pip # buildkit"
                ),
                toolchain_ops,
            ),
            LayerSpec::new(
                &format!(
                    "RUN |1 HF_TOKEN={DEMO_HF_TOKEN} /bin/sh -c pip install torch==2.3.0 triton numpy nvidia-cublas-cu12 nvidia-cudnn-cu12 && huggingface-cli login --token $HF_TOKEN # buildkit"
                ),
                pip_ops,
            ),
            LayerSpec::new(
                &format!(
                    "RUN |1 HF_TOKEN={DEMO_HF_TOKEN} /bin/sh -c rm -rf /root/.cache/pip /root/.cache/huggingface && chmod +x /usr/local/lib/python3.11/dist-packages/torch/lib/libtorch_cpu.so # buildkit"
                ),
                cleanup,
            ),
            LayerSpec::new("COPY app/ /app", app),
            LayerSpec::new("COPY model.onnx /app/model.onnx", model),
        ],
    );
    image.empty_steps = vec![
        (1, "ENV PYTHONUNBUFFERED=1".into()),
        (4, "WORKDIR /app".into()),
    ];
    image
}

/// The demo's base image: its first two layers (Debian, then the toolchain), byte for byte,
/// tagged `debian-with-gcc:12`; `--base` with it marks those two layers of the demo.
pub fn demo_base_image() -> ImageSpec {
    let mut demo = demo_image();
    demo.layers.truncate(2);
    let mut base = ImageSpec::new("debian-with-gcc:12", demo.layers);
    base.empty_steps = demo
        .empty_steps
        .into_iter()
        .filter(|(at, _)| *at < 2)
        .collect();
    base
}

/// The demo after a Dockerfile change, for diffs: the same base, toolchain, cleanup and app
/// layers (byte for byte); in the pip layer nvidia-cudnn is gone, torch is 2.4.0 with a
/// larger `libtorch_cuda.so` (35,000,000 bytes), and einops 0.8.0 is new; the model grew to
/// 20,000,000 bytes.
pub fn demo_image_v2() -> ImageSpec {
    let site = "usr/local/lib/python3.11/dist-packages";
    let mut image = demo_image();
    image.tag = "demo/ml-service:1.1".into();
    let torch_files = [
        ("torch/__init__.py", 78_512),
        ("torch/functional.py", 76_134),
        ("torch/lib/libtorch_cpu.so", 45_103_220),
        ("torch/lib/libtorch_cuda.so", 35_000_000),
        ("torch/lib/libc10.so", 1_240_008),
        ("torch/testing/_internal/common_utils.py", 215_331),
        ("torch/__pycache__/__init__.cpython-311.pyc", 61_220),
    ];
    let pip = &mut image.layers[2].ops;
    let gone = |op: &Op| {
        let path = String::from_utf8_lossy(op.path()).into_owned();
        let rest = path.strip_prefix(site).unwrap_or("");
        rest.starts_with("/nvidia/cudnn")
            || rest.starts_with("/nvidia_cudnn_cu12-")
            || rest.starts_with("/torch/")
            || rest.starts_with("/torch-2.3.0.dist-info")
    };
    pip.retain(|op| !gone(op));
    pip.extend(wheel(site, "torch", "2.4.0", &torch_files, 200));
    pip.extend(wheel(
        site,
        "einops",
        "0.8.0",
        &[("einops/__init__.py", 5_000), ("einops/einops.py", 30_000)],
        205,
    ));
    image.layers[2].created_by =
        "RUN pip install torch==2.4.0 triton numpy nvidia-cublas-cu12 einops".into();
    image.layers[5].ops = vec![Op::file("app/model.onnx", 20_000_000, 132)];
    image
}

/// Ownership in every ecosystem dive-rs reads, with the tricky cases: a dist spread over two
/// layers (its `__pycache__` added later), the `nvidia/` namespace shared by two wheels,
/// RECORD entries that climb (`../../../bin`) or name missing files, an egg-info, conda-meta,
/// dpkg with `:amd64` list names and a diversion, distroless `status.d`, apk, nested npm packages, a pip
/// cache deleted later, and a dist uninstalled by a later layer.
pub fn owned_image() -> ImageSpec {
    let site = "usr/local/lib/python3.11/site-packages";
    let dpkg = vec![
        Op::text(
            "var/lib/dpkg/status",
            "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.36\nInstalled-Size: 10\n\nPackage: wrapper\nStatus: install ok installed\nVersion: 1\n\nPackage: gcc-12\nStatus: install ok installed\nArchitecture: amd64\nVersion: 12.2.0\nInstalled-Size: 20\n\nPackage: old\nStatus: deinstall ok config-files\nVersion: 1\n",
        ),
        Op::text(
            "var/lib/dpkg/info/libc6:amd64.list",
            "/.\n/usr\n/usr/lib/libc.so.6\n",
        ),
        Op::text("var/lib/dpkg/info/gcc-12.list", "/usr/bin/gcc-12\n"),
        // dpkg-divert --package wrapper --rename /usr/lib/libc.so.6: libc6's file moved aside.
        Op::text("var/lib/dpkg/info/wrapper.list", "/usr/lib/libc.so.6\n"),
        Op::text(
            "var/lib/dpkg/diversions",
            "/usr/lib/libc.so.6\n/usr/lib/libc.so.6.distrib\nwrapper\n",
        ),
        Op::file("usr/lib/libc.so.6.distrib", 1_000, 1),
        Op::file("usr/lib/libc.so.6", 300, 20),
        Op::file("usr/bin/gcc-12", 2_000, 2),
        Op::text(
            "var/lib/dpkg/status.d/tzdata",
            "Package: tzdata\nVersion: 2024a\nInstalled-Size: 1\n",
        ),
        Op::text(
            "var/lib/dpkg/status.d/tzdata.md5sums",
            "d41d8cd98f00b204e9800998ecf8427e  usr/share/zoneinfo/UTC\n",
        ),
        Op::file("usr/share/zoneinfo/UTC", 114, 3),
        Op::text(
            "lib/apk/db/installed",
            "P:musl\nV:1.2.4\nI:600\nF:lib\nR:ld-musl-x86_64.so.1\n\n",
        ),
        Op::file("lib/ld-musl-x86_64.so.1", 600, 4),
        Op::text("etc/hostname", "owned\n"),
    ];
    let mut pip = vec![Op::file("root/.cache/pip/wheels/ab/torch.whl", 50_000, 5)];
    pip.extend(wheel(
        site,
        "torch",
        "2.3.0",
        &[
            ("torch/__init__.py", 300),
            ("torch/lib/libtorch.so", 40_000),
            ("../../../bin/torchrun", 120),
        ],
        300,
    ));
    pip.extend(wheel(
        site,
        "nvidia_cublas_cu12",
        "12.1",
        &[
            ("nvidia/cublas/lib/libcublas.so", 30_000),
            ("nvidia/__init__.py", 0),
        ],
        301,
    ));
    pip.extend(wheel(
        site,
        "nvidia_cudnn_cu12",
        "8.9",
        &[
            ("nvidia/cudnn/lib/libcudnn.so", 20_000),
            ("nvidia/__init__.py", 0),
        ],
        302,
    ));
    pip.extend(wheel(
        site,
        "leftover",
        "1.0",
        &[("leftover/core.py", 7_000)],
        303,
    ));
    // A RECORD entry whose file is not in the image must not count.
    pip.push(Op::text(
        &format!("{site}/ghost-1.0.dist-info/RECORD"),
        "ghost/missing.py,sha256=x,10\nghost-1.0.dist-info/RECORD,,\n",
    ));
    pip.push(Op::text(
        "usr/lib/python3/dist-packages/six-1.16.0.egg-info/installed-files.txt",
        "../six.py\nPKG-INFO\n",
    ));
    pip.push(Op::file("usr/lib/python3/dist-packages/six.py", 900, 6));
    pip.push(Op::text(
        "usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO",
        "Name: six\n",
    ));
    pip.push(Op::text(
        "opt/conda/conda-meta/zlib-1.2.13-h5eee18b_0.json",
        r#"{"name":"zlib","version":"1.2.13","files":["lib/libz.so.1.2.13"]}"#,
    ));
    pip.push(Op::file("opt/conda/lib/libz.so.1.2.13", 100_000, 7));
    pip.push(Op::text(
        "app/node_modules/express/package.json",
        r#"{"name":"express","version":"4.19.2"}"#,
    ));
    pip.push(Op::file("app/node_modules/express/lib/router.js", 3_000, 8));
    pip.push(Op::text(
        "app/node_modules/express/node_modules/debug/package.json",
        r#"{"name":"debug","version":"2.6.9"}"#,
    ));
    pip.push(Op::file(
        "app/node_modules/express/node_modules/debug/src/index.js",
        500,
        9,
    ));
    let later = vec![
        // Written after install: owned by the dist whose directory holds it, unrecorded.
        Op::file(
            &format!("{site}/torch/__pycache__/__init__.cpython-311.pyc"),
            800,
            10,
        ),
        Op::file(&format!("{site}/nvidia/cublas/__pycache__/x.pyc"), 70, 11),
        // In the shared namespace itself: nobody's.
        Op::file(
            &format!("{site}/nvidia/__pycache__/__init__.cpython-311.pyc"),
            60,
            12,
        ),
        Op::whiteout("root/.cache/pip"),
        // `pip uninstall leftover`.
        Op::whiteout(&format!("{site}/leftover")),
        Op::whiteout(&format!("{site}/leftover-1.0.dist-info")),
        Op::file("app/server.js", 4_000, 13),
    ];
    ImageSpec::new(
        "owned/app:1",
        vec![
            LayerSpec::new("ADD rootfs /", dpkg),
            LayerSpec::new(
                "RUN pip install torch nvidia-cublas-cu12 nvidia-cudnn-cu12 leftover && npm ci",
                pip,
            ),
            LayerSpec::new(
                "RUN python -c 'import torch' && pip uninstall -y leftover && rm -rf /root/.cache/pip",
                later,
            ),
        ],
    )
}

/// Terminal controls an image can carry in a name: a window title (OSC 0), a clipboard write
/// (OSC 52, here `rm -rf ~`), a screen clear (CSI 2 J), an 8-bit CSI (U+009B), a right-to-left
/// override (U+202E) and a carriage return. No `\n`, `-` or `,`, so that it fits any field
/// (dpkg's lines, a dist-info name, a RECORD row).
pub const HOSTILE: &str = "\x1b]0;OWNED\x07\x1b]52;c;cm0gLXJmIH4K\x07\x1b[2J\u{9b}31m\u{202e}\r\t";

/// Every place an image can put text that reaches people, holding [`HOSTILE`]: file and
/// directory names (one with invalid UTF-8 and a newline), a symlink target, a pip dist and a
/// dpkg package (name and version), the tag, the Dockerfile steps, a text file's lines, an
/// ELF file's section names, and warnings (a hard link whose target is missing, another whose
/// target climbs out, a name that climbs out with `..`). Links point out of the image:
/// absolute to the root and to a host file, relative above the root. The escapes test reads
/// every human-readable output of it; the contents tests take its files out (`cat`,
/// `extract`, the viewer).
pub fn hostile_image() -> ImageSpec {
    hostile_image_holding(HOSTILE)
}

/// Code points XML 1.0 forbids beyond C0 controls: the noncharacters U+FFFE and U+FFFF.
pub const NOT_XML: &str = "\u{fffe}\u{ffff}";

/// [`hostile_image`] with `text` in place of [`HOSTILE`] (the same rules: no `\n`, `-` or `,`).
pub fn hostile_image_holding(text: &str) -> ImageSpec {
    let site = "usr/local/lib/python3.11/site-packages";
    let evil = format!("evil{text}");
    // dpkg trims a field's ends: the controls stand inside the name and the version.
    let (status, list) = dpkg_package(
        &format!("{evil}deb"),
        &format!("1.0{text}x"),
        4,
        &["usr/bin/evil"],
    );
    let mut base = vec![
        Op::text("var/lib/dpkg/status", status),
        list,
        Op::file("usr/bin/evil", 4_000, 1),
        Op::file(&format!("app/{text}title"), 70_000, 2),
        Op::File {
            path: b"app/bad\xff\xfe\nname.bin".to_vec(),
            size: 60_000,
            seed: 3,
            mode: 0o644,
        },
        Op::symlink(&format!("app/link{text}"), &format!("/{text}")),
        Op::file(&format!("root/.cache/pip/{text}.whl"), 50_000, 4),
        Op::text(&format!("app/{text}notes.txt"), hostile_notes()),
        // An ELF file whose section names carry the controls, for the viewer's summary.
        Op::text(
            "app/evil.so",
            elf_of(
                3,
                8,
                &[ElfSection::new(&format!(".text{text}"), vec![0x90; 64])],
            ),
        ),
        Op::symlink(&format!("app/up{text}"), "../../../../../../../../tmp"),
        Op::symlink("app/hostpasswd", "/etc/passwd"),
        Op::hardlink("app/passwd-link", "../../../etc/passwd"),
        Op::File {
            path: format!("../../../escaped{text}").into_bytes(),
            size: 100,
            seed: 6,
            mode: 0o644,
        },
    ];
    base.extend(wheel(
        site,
        &evil,
        &format!("2.0{text}"),
        &[("evilpkg/core.so", 30_000)],
        5,
    ));
    let step = format!("RUN echo {text} \x1b]0;STEPOWNED\x07\nnext line");
    let hidden_by = vec![
        Op::whiteout(&format!("root/.cache/pip/{text}.whl")),
        Op::hardlink(&format!("app/hard{text}"), &format!("app/gone{text}")),
    ];
    let mut spec = ImageSpec::new(
        &format!("hostile/app{text}:1.0"),
        vec![
            LayerSpec::new(&step, base),
            LayerSpec::new(&format!("RUN rm -rf /root/.cache # {text}"), hidden_by),
        ],
    );
    spec.empty_steps.push((1, format!("ENV X={text}")));
    spec
}

/// The lines of the hostile image's `app/{HOSTILE}notes.txt`: terminal controls inside a
/// text file's contents, for the viewer.
pub fn hostile_notes() -> String {
    format!("first line {HOSTILE}\nsecond line\n")
}

/// Names that are markup, for the HTML report: a tag with an event handler, the end of a
/// script element, an attribute break-out, an entity, and invalid UTF-8, in file names, a
/// dpkg package and a pip dist (name and version), the tag, the Dockerfile steps and a hidden
/// file. Each carries `alert(`: a page made from it must hold no element or attribute with it.
pub fn markup_image() -> ImageSpec {
    let site = "usr/local/lib/python3.11/site-packages";
    let (status, list) = dpkg_package(
        "x<img src=x onerror=alert(1)>",
        "1.0\"><svg onload=alert(2)>",
        4,
        &["usr/bin/markup"],
    );
    let mut base = vec![
        Op::text("var/lib/dpkg/status", status),
        list,
        Op::file("usr/bin/markup", 4_000, 1),
        Op::file("app/<img src=x onerror=alert(3)>.bin", 90_000, 2),
        Op::file("app/\"><svg onload=alert(4)>.so", 80_000, 3),
        Op::file("app/&amp;<b onclick=alert(5)>bold.txt", 70_000, 4),
        Op::File {
            path: b"app/bad\xff<i onmouseover=alert(6)>.bin".to_vec(),
            size: 60_000,
            seed: 5,
            mode: 0o644,
        },
        Op::file(
            "root/.cache/pip/<img src=x onerror=alert(7)>.whl",
            50_000,
            6,
        ),
    ];
    base.extend(wheel(
        site,
        "<script>alert(8)",
        "2.0<style>",
        &[("evilpkg/<iframe src=javascript:alert(9)>.so", 30_000)],
        7,
    ));
    let hide = vec![Op::whiteout(
        "root/.cache/pip/<img src=x onerror=alert(7)>.whl",
    )];
    ImageSpec::new(
        "markup/</script><script>alert(10)</script>:1",
        vec![
            LayerSpec::new(
                "RUN echo '</script><script>alert(11)</script>' \"><svg onload=alert(12)> </style>",
                base,
            ),
            LayerSpec::new(
                "RUN rm -rf /root/.cache # <img src=x onerror=alert(13)>",
                hide,
            ),
        ],
    )
}

/// A wheel whose files have chosen contents (`(path, size, seed)`: equal size and seed give
/// equal bytes), with its RECORD and METADATA.
pub(crate) fn wheel_of(
    site: &str,
    dist: &str,
    version: &str,
    files: &[(&str, u64, u64)],
) -> Vec<Op> {
    let files: Vec<(&str, WheelFile)> = files
        .iter()
        .map(|&(path, size, seed)| (path, WheelFile::Seeded(size, seed)))
        .collect();
    wheel_with(site, dist, version, &files)
}

/// A file of a generated wheel: seeded content, or bytes given.
enum WheelFile {
    Seeded(u64, u64),
    Bytes(Vec<u8>),
}

/// A dist as pip installs it: its files, METADATA and a RECORD with their real hashes.
fn wheel_with(site: &str, dist: &str, version: &str, files: &[(&str, WheelFile)]) -> Vec<Op> {
    let info = format!("{dist}-{version}.dist-info");
    let mut ops = Vec::new();
    let mut record = String::new();
    for (path, file) in files {
        let full = format!("{site}/{path}");
        let (op, bytes) = match file {
            WheelFile::Seeded(size, seed) => {
                (Op::file(&full, *size, *seed), Content::to_vec(*seed, *size))
            }
            WheelFile::Bytes(bytes) => (Op::text(&full, bytes.clone()), bytes.clone()),
        };
        let hash = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(&bytes));
        record.push_str(&format!("{path},sha256={hash},{}\n", bytes.len()));
        ops.push(op);
    }
    let metadata = format!("Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n");
    record.push_str(&format!("{info}/METADATA,,\n{info}/RECORD,,\n"));
    ops.push(Op::text(&format!("{site}/{info}/METADATA"), metadata));
    ops.push(Op::text(&format!("{site}/{info}/RECORD"), record));
    ops
}

/// The same bytes shipped twice, every way the duplicates issue names, beside look-alikes
/// that are not: one dist in a venv and in `~/.local`; a CUDA runtime vendored by triton and
/// shipped again by its `nvidia-*` wheel; two identical copies inside torch; a file and a
/// hard link to it whose target a later layer `chmod`s (the link keeps the old copy); a file
/// copied again by a later layer; torch reinstalled at another version by a later layer.
/// Not duplicates: two files of one size with different bytes, two equal in their first
/// 4 KiB only, a hard link, and copies under 4 KiB.
pub fn twice_image() -> ImageSpec {
    let venv = "opt/venv/lib/python3.11/site-packages";
    let local = "root/.local/lib/python3.11/site-packages";
    let idna = [
        ("idna/core.py", 8_000, 11),
        ("idna/idnadata.py", 50_000, 12),
    ];
    let torch = |version: &str, cpu: (u64, u64), init_seed: u64| {
        wheel_of(
            venv,
            "torch",
            version,
            &[
                ("torch/__init__.py", 5_000, init_seed),
                ("torch/lib/libtorch_cpu.so", cpu.0, cpu.1),
                ("torch/lib/libgomp.so.1", 60_000, 61),
                ("torch/lib/libgomp-copy.so.1", 60_000, 61),
            ],
        )
    };
    let first_4k_equal = |tail: u64| {
        let mut bytes = Content::to_vec(5, 4096);
        bytes.extend(Content::to_vec(tail, 4096));
        bytes
    };
    let mut base = wheel_of(venv, "idna", "3.20", &idna);
    base.extend(wheel_of(local, "idna", "3.20", &idna));
    base.push(Op::file("etc/big.conf", 9_000, 91));
    let mut deps = wheel_of(
        venv,
        "triton",
        "3.1.0",
        &[
            ("triton/__init__.py", 3_000, 20),
            ("triton/backends/nvidia/lib/libcudart.so.12", 200_000, 21),
        ],
    );
    deps.extend(wheel_of(
        venv,
        "nvidia_cuda_runtime_cu12",
        "12.4.127",
        &[("nvidia/cuda_runtime/lib/libcudart.so.12", 200_000, 21)],
    ));
    deps.extend(torch("2.9.0", (300_000, 31), 32));
    deps.extend([
        Op::file("app/a.bin", 10_000, 51),
        Op::file("app/b.bin", 10_000, 52),
        Op::text("app/c.dat", first_4k_equal(53)),
        Op::text("app/d.dat", first_4k_equal(54)),
        Op::file("app/data.bin", 20_000, 71),
        Op::hardlink("app/data-link.bin", "app/data.bin"),
        Op::file("app/model.bin", 30_000, 81),
        Op::hardlink("app/model-link.bin", "app/model.bin"),
        Op::file("app/small1.txt", 100, 95),
        Op::file("app/small2.txt", 100, 95),
    ]);
    let mut upgrade = vec![Op::whiteout(&format!("{venv}/torch-2.9.0.dist-info"))];
    upgrade.extend(torch("2.10.0", (320_000, 33), 34));
    upgrade.extend([
        // chmod: the file is written again; the hard link keeps the layer-1 copy.
        Op::File {
            path: b"app/model.bin".to_vec(),
            size: 30_000,
            seed: 81,
            mode: 0o755,
        },
        Op::file("srv/big.conf", 9_000, 91),
    ]);
    ImageSpec::new(
        "twice/app:1",
        vec![
            LayerSpec::new(
                "RUN pip install idna==3.20 && pip install --user idna==3.20",
                base,
            ),
            LayerSpec::new(
                "RUN pip install torch==2.9.0 triton && cp -r app /app",
                deps,
            ),
            LayerSpec::new(
                "RUN pip install torch==2.10.0 && chmod +x /app/model.bin && cp /etc/big.conf /srv/",
                upgrade,
            ),
        ],
    )
}

/// The CUDA libraries of [`cuda_image`], by path, with what the generator put in them:
/// `nvidia-cublas` (SASS for seven GPU generations and PTX; cuBLASLt with fat binaries in
/// `.rodata` too, an `sm_90a` and an `sm_100f` entry), torch's CUDA library (LTO-IR,
/// compressed entries, two fat binaries), an unowned executable, and torch's and triton's
/// host-only ELF files (none).
pub fn cuda_files() -> Vec<(String, CudaFile)> {
    let site = "usr/local/lib/python3.11/site-packages";
    let sweep = arch_sweep(&[50, 60, 70, 75, 80, 86, 90], 40_000);
    let files = [
        (
            format!("{site}/nvidia/cublas/lib/libcublas.so.12"),
            cuda_library(
                3,
                30_000,
                &[sweep.clone(), arch_sweep(&[80, 90], 9_000)],
                &[],
                1,
            ),
        ),
        (
            format!("{site}/nvidia/cublas/lib/libcublasLt.so.12"),
            cuda_library(
                3,
                20_000,
                &[vec![
                    FatEntry::sass(80, 30_000),
                    FatEntry::sass(90, 35_000).specific(),
                ]],
                &[vec![
                    FatEntry::sass(90, 25_000),
                    FatEntry::sass(100, 27_000).family(),
                ]],
                2,
            ),
        ),
        (
            format!("{site}/torch/lib/libtorch_cuda.so"),
            cuda_library(
                3,
                50_000,
                &[
                    vec![
                        FatEntry::sass(80, 60_000).compressed(),
                        FatEntry::sass(86, 61_000).compressed(),
                        FatEntry::sass(90, 62_005),
                    ],
                    vec![FatEntry::ptx(90, 20_001), FatEntry::ltoir(90, 15_000)],
                ],
                &[],
                3,
            ),
        ),
        (
            "usr/local/bin/cuda-app".to_owned(),
            cuda_library(2, 8_000, &[arch_sweep(&[75, 89], 12_000)], &[], 4),
        ),
    ];
    files.into_iter().collect()
}

/// A torch + CUDA image in small: the files of [`cuda_files`] in the wheels that ship them
/// (`nvidia-cublas-cu12`, `torch`), host-only libraries beside them (`libtorch_cpu.so`,
/// `libc10_cuda.so`, `libcaffe2_nvrtc.so`, triton's `ptxas`), and a later layer of damaged
/// fat binaries (entries past their fat binary, a fat binary past its section, a zero-size
/// entry header).
pub fn cuda_image() -> ImageSpec {
    let site = "usr/local/lib/python3.11/site-packages";
    let files = cuda_files();
    let file = |path: &str| {
        files
            .iter()
            .find(|(p, _)| p.ends_with(path))
            .map_or(WheelFile::Seeded(10, 1), |(_, f)| {
                WheelFile::Bytes(f.bytes.clone())
            })
    };
    let host = |text: u64, seed: u64| WheelFile::Bytes(cuda_library(3, text, &[], &[], seed).bytes);
    let mut install = wheel_with(
        site,
        "nvidia_cublas_cu12",
        "12.4.5.8",
        &[
            ("nvidia/cublas/lib/libcublas.so.12", file("libcublas.so.12")),
            (
                "nvidia/cublas/lib/libcublasLt.so.12",
                file("libcublasLt.so.12"),
            ),
            (
                "nvidia/cublas/include/cublas.h",
                WheelFile::Seeded(3_000, 5),
            ),
        ],
    );
    install.extend(wheel_with(
        site,
        "torch",
        "2.5.1",
        &[
            ("torch/__init__.py", WheelFile::Seeded(4_000, 6)),
            ("torch/lib/libtorch_cuda.so", file("libtorch_cuda.so")),
            ("torch/lib/libtorch_cpu.so", host(90_000, 7)),
            ("torch/lib/libc10_cuda.so", host(11_000, 8)),
            ("torch/lib/libcaffe2_nvrtc.so", host(7_000, 9)),
        ],
    ));
    install.extend(wheel_with(
        site,
        "triton",
        "3.1.0",
        &[
            ("triton/__init__.py", WheelFile::Seeded(2_000, 10)),
            ("triton/backends/nvidia/bin/ptxas", host(33_000, 11)),
        ],
    ));
    let app = files
        .iter()
        .find(|(p, _)| p.ends_with("cuda-app"))
        .map(|(_, f)| f.bytes.clone())
        .unwrap_or_default();
    install.push(Op::text("usr/local/bin/cuda-app", app));
    let mut damaged = Vec::new();
    for (name, fatbin) in damaged_fatbins() {
        damaged.push(Op::text(
            &format!("opt/damaged/{name}"),
            crate::cuda::elf_of(3, 16, &[crate::cuda::ElfSection::new(".nv_fatbin", fatbin)]),
        ));
    }
    ImageSpec::new(
        "cuda/app:1",
        vec![
            LayerSpec::new(
                "RUN pip install torch==2.5.1 nvidia-cublas-cu12 triton && cp cuda-app /usr/local/bin/",
                install,
            ),
            LayerSpec::new("COPY damaged/ /opt/damaged/", damaged),
        ],
    )
}

/// `.nv_fatbin` sections that lie, by file name: an entry whose payload runs past its fat
/// binary, a fat binary that runs past its section, an entry header of size 0 (a reader
/// that trusted it would read the same header forever).
pub fn damaged_fatbins() -> Vec<(&'static str, Vec<u8>)> {
    let good = crate::cuda::fatbin(&[FatEntry::sass(80, 1_000)], 70);
    let mut entry_past = good.clone();
    entry_past[16 + 8..16 + 16].copy_from_slice(&(1u64 << 40).to_le_bytes());
    let mut fatbin_past = good.clone();
    fatbin_past[8..16].copy_from_slice(&(1u64 << 50).to_le_bytes());
    let mut zero_header = good;
    zero_header[16 + 4..16 + 8].copy_from_slice(&0u32.to_le_bytes());
    zero_header[16 + 8..16 + 16].copy_from_slice(&0u64.to_le_bytes());
    vec![
        ("libentry-past.so", entry_past),
        ("libfatbin-past.so", fatbin_past),
        ("libzero-header.so", zero_header),
    ]
}

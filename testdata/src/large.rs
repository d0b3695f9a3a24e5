//! A large image shaped like a torch+CUDA service, written straight to disk.
//!
//! Layers stream from the generator into files (never held in memory), then are packed as
//! a legacy `docker save` tar and a Docker 25 one, and compressed into OCI layout
//! directories (gzip, zstd).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::json;
use sha2::{Digest as _, Sha256};

use crate::content::BINARY;
use crate::spec::{ImageSpec, LayerSpec, Op};

/// A writer that hashes what passes through it.
pub(crate) struct Hashing<W> {
    pub(crate) inner: W,
    pub(crate) hasher: Sha256,
    pub(crate) len: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A base layer of 3,000 small documents and 400 tools (about 120 MB).
fn base_layer() -> Vec<Op> {
    let mut base = vec![Op::dir("usr"), Op::dir("usr/bin")];
    for i in 0..3_000u64 {
        base.push(Op::file(
            &format!("usr/share/doc/pkg{}/file{i}.txt", i % 300),
            2_000 + (i * 37) % 9_000,
            10_000 + i,
        ));
    }
    for i in 0..400u64 {
        base.push(Op::file(
            &format!("usr/bin/tool{i}"),
            50_000 + (i * 7_919) % 400_000,
            20_000 + i,
        ));
    }
    base
}

/// The spec of a large image of about `gb` GB of file content: a base with thousands of
/// small files, a site-packages layer with a few 100 MB – 1 GB libraries and thousands of
/// `.py` files, and a cleanup layer that deletes a cache and rewrites one library.
pub fn large_image(gb: f64) -> ImageSpec {
    let target = (gb * 1e9) as u64;
    let base = base_layer();
    let site = "usr/local/lib/python3.11/site-packages";
    let mut pkgs = Vec::new();
    let mut small = 0u64;
    for i in 0..47_000u64 {
        let size = 1_000 + (i * 104_729) % 30_000;
        small += size;
        pkgs.push(Op::file(
            &format!("{site}/pkg{}/sub{}/module{i}.py", i % 200, i % 17),
            size,
            30_000 + i,
        ));
    }
    pkgs.push(Op::file(
        "root/.cache/pip/http/big-wheel.whl",
        300_000_000.min(target / 10),
        BINARY | 9,
    ));
    let mut left = target.saturating_sub(small + 500_000_000);
    let mut n = 0u64;
    while left > 0 {
        let size =
            [900_000_000u64, 450_000_000, 250_000_000, 120_000_000][(n % 4) as usize].min(left);
        pkgs.push(Op::file(
            &format!("{site}/nvidia/lib{n}/libcuda_part{n}.so"),
            size,
            BINARY | (40_000 + n),
        ));
        left -= size;
        n += 1;
    }
    let cleanup = vec![
        Op::whiteout("root/.cache/pip"),
        Op::File {
            path: format!("{site}/nvidia/lib0/libcuda_part0.so").into_bytes(),
            size: 900_000_000u64.min(target),
            seed: BINARY | 0x9c40,
            mode: 0o755,
        },
    ];
    ImageSpec::new(
        "large/torch-cuda:1",
        vec![
            LayerSpec::new("ADD rootfs /", base),
            LayerSpec::new("RUN pip install torch", pkgs),
            LayerSpec::new(
                "RUN rm -rf /root/.cache/pip && chmod +x libcuda_part0.so",
                cleanup,
            ),
        ],
    )
}

/// Writes `docker-archive.tar`, `docker25.tar`, `oci-gzip/` and `oci-zstd/` for
/// [`large_image`] into `dir`.
pub fn write_large(dir: &Path, gb: f64) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let spec = large_image(gb);
    let mut diff_ids = Vec::new();
    let mut layer_files = Vec::new();
    for (i, layer) in spec.layers.iter().enumerate() {
        let (path, diff_id) = write_layer(dir, i, layer)?;
        diff_ids.push(diff_id);
        layer_files.push(path);
    }
    let (config, config_hex) = config(&spec, &diff_ids)?;

    // docker-archive (legacy layout, plain layers).
    let mut archive = DockerArchive::create(&dir.join("docker-archive.tar"))?;
    for (path, diff_id) in layer_files.iter().zip(&diff_ids) {
        archive.append_layer(path, diff_id)?;
    }
    archive.finish(&config, &config_hex, &spec.tag)?;

    write_docker25(
        dir,
        &layer_files,
        &diff_ids,
        &config,
        &config_hex,
        &spec.tag,
    )?;
    for compression in [Compressor::Gzip, Compressor::Zstd] {
        write_oci(dir, &layer_files, &config, &config_hex, compression)?;
    }
    for path in layer_files {
        std::fs::remove_file(path)?;
    }
    Ok(())
}

/// Writes layer `index` of an image as a plain tar file in `dir`: its path and `diff_id`.
fn write_layer(dir: &Path, index: usize, layer: &LayerSpec) -> io::Result<(PathBuf, String)> {
    let path = dir.join(format!("layer{index}.tar"));
    let mut out = Hashing {
        inner: BufWriter::new(File::create(&path)?),
        hasher: Sha256::new(),
        len: 0,
    };
    {
        let mut builder = tar::Builder::new(&mut out);
        crate::layer::write_ops(&mut builder, layer)?;
        builder.finish()?;
    }
    out.flush()?;
    eprintln!("layer {index}: {} bytes", out.len);
    Ok((path, format!("sha256:{}", hex(&out.hasher.finalize()))))
}

/// The image config of `spec` with these `diff_ids`: its bytes and their SHA-256 in hex.
fn config(spec: &ImageSpec, diff_ids: &[String]) -> io::Result<(Vec<u8>, String)> {
    let history: Vec<_> = spec
        .layers
        .iter()
        .map(|l| json!({"created_by": l.created_by}))
        .collect();
    let config = serde_json::to_vec(&json!({"architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids}, "history": history}))?;
    let config_hex = hex(&Sha256::digest(&config));
    Ok((config, config_hex))
}

/// A legacy `docker save` tar written layer by layer.
pub(crate) struct DockerArchive {
    archive: tar::Builder<BufWriter<File>>,
    layers: Vec<String>,
}

impl DockerArchive {
    pub(crate) fn create(path: &Path) -> io::Result<Self> {
        Ok(Self {
            archive: tar::Builder::new(BufWriter::new(File::create(path)?)),
            layers: Vec::new(),
        })
    }

    pub(crate) fn append_layer(&mut self, path: &Path, diff_id: &str) -> io::Result<()> {
        let name = format!("{}/layer.tar", &diff_id["sha256:".len()..]);
        self.archive.append_path_with_name(path, &name)?;
        self.layers.push(name);
        Ok(())
    }

    pub(crate) fn finish(mut self, config: &[u8], config_hex: &str, tag: &str) -> io::Result<()> {
        append_bytes(&mut self.archive, &format!("{config_hex}.json"), config)?;
        let manifest = serde_json::to_vec(
            &json!([{"Config": format!("{config_hex}.json"), "RepoTags": [tag], "Layers": self.layers}]),
        )?;
        append_bytes(&mut self.archive, "manifest.json", &manifest)?;
        self.archive.into_inner()?.flush()
    }
}

/// The spec of the image the issue's ≥ 100× target names, shaped like a real torch+CUDA
/// service of about 12.2 GB: a base, one ~11.6 GB pip layer of ~33k entries (the CUDA
/// wheels, torch, triton, ~30k `.py` files and a 4.4 GB pip cache), a layer that deletes
/// the cache, and one that `chmod`s ~60 MB of libraries (same bytes, new mode) and
/// `strip`s a 450 MB library to 400 MB.
pub fn torch_cuda_image() -> ImageSpec {
    let base = base_layer();
    let site = "usr/local/lib/python3.11/site-packages";
    let mut pip = Vec::new();
    for i in 0..30_000u64 {
        pip.push(Op::file(
            &format!("{site}/torch/_sub{}/part{}/module{i}.py", i % 150, i % 13),
            1_000 + (i * 104_729) % 29_000,
            30_000 + i,
        ));
    }
    // (path, size, seed): nvidia-* 4.3 GB, torch 1.7 GB, triton 594 MB.
    let mut libs: Vec<(String, u64, u64)> = Vec::new();
    let nvidia = [
        ("cublas", 700_000_000u64),
        ("cudnn", 1_000_000_000),
        ("cusparse", 270_000_000),
        ("cufft", 280_000_000),
        ("curand", 100_000_000),
        ("cusolver", 300_000_000),
        ("nccl", 230_000_000),
        ("cuda_nvrtc", 60_000_000),
        ("cusparselt", 220_000_000),
        ("nvjitlink", 60_000_000),
    ];
    for (n, (name, total)) in nvidia.iter().enumerate() {
        for part in 0..4u64 {
            libs.push((
                format!("{site}/nvidia/{name}/lib/lib{name}{part}.so.12"),
                total / 4,
                50_000 + n as u64 * 10 + part,
            ));
        }
    }
    libs.push((
        format!("{site}/nvidia/cudnn/lib/libcudnn_big.so.9"),
        1_200_000_000,
        50_900,
    ));
    libs.push((
        format!("{site}/torch/lib/libtorch_cuda.so"),
        450_000_000,
        51_000,
    ));
    libs.push((
        format!("{site}/torch/lib/libtorch_cpu.so"),
        500_000_000,
        51_001,
    ));
    for i in 0..10u64 {
        libs.push((
            format!("{site}/torch/lib/libtorch_extra{i}.so"),
            69_000_000,
            51_010 + i,
        ));
    }
    for i in 0..6u64 {
        libs.push((
            format!("{site}/torch/lib/libshm{i}.so"),
            10_000_000,
            51_100 + i,
        ));
    }
    libs.push((
        format!("{site}/triton/backends/nvidia/bin/ptxas"),
        594_000_000,
        51_200,
    ));
    for (path, size, seed) in &libs {
        pip.push(Op::file(path, *size, BINARY | seed));
    }
    for i in 0..2_200u64 {
        pip.push(Op::file(
            &format!("root/.cache/pip/http/{}/{}/chunk{i}", i % 16, i % 7),
            2_000_000,
            BINARY | (60_000 + i),
        ));
    }
    let cleanup = vec![Op::whiteout("root/.cache/pip")];
    let mut tune = Vec::new();
    for (path, size, seed) in libs.iter().filter(|(p, ..)| p.contains("/libshm")) {
        tune.push(Op::File {
            path: path.clone().into_bytes(),
            size: *size,
            seed: BINARY | seed,
            mode: 0o755,
        });
    }
    let stripped_seed = 51_999;
    tune.push(Op::file(
        &format!("{site}/torch/lib/libtorch_cuda.so"),
        400_000_000,
        BINARY | stripped_seed,
    ));
    ImageSpec::new(
        "large/torch-cuda-shaped:1",
        vec![
            LayerSpec::new("ADD rootfs /", base),
            LayerSpec::new("RUN pip install torch torchvision", pip),
            LayerSpec::new("RUN rm -rf /root/.cache/pip", cleanup),
            LayerSpec::new(
                "RUN chmod +x torch/lib/libshm*.so && strip torch/lib/libtorch_cuda.so",
                tune,
            ),
        ],
    )
}

/// The Dockerfile [`torch_cuda_image`] is built from: its history lines are kaniko's
/// (`RUN` + the command as written), and the `WORKDIR` wrote no layer.
pub const TORCH_CUDA_DOCKERFILE: &str = "\
FROM python:3.11-slim
RUN pip install torch torchvision
RUN rm -rf /root/.cache/pip
WORKDIR /usr/local/lib/python3.11/site-packages
RUN chmod +x torch/lib/libshm*.so && strip torch/lib/libtorch_cuda.so
";

/// `spec` with every file's size divided by `divisor` (at least one byte): the same paths,
/// layers, rewrites and deletes, for tests that need the shape of a large image and not its
/// bytes.
pub fn shrunk(spec: &ImageSpec, divisor: u64) -> ImageSpec {
    let mut small = spec.clone();
    for layer in &mut small.layers {
        for op in &mut layer.ops {
            if let Op::File { size, .. } = op {
                *size = (*size / divisor).max(1);
            }
        }
    }
    small
}

/// Writes `docker-archive.tar` of [`torch_cuda_image`] into `dir`, each layer's file
/// removed once packed (the disk holds the archive and one layer at most).
pub fn write_torch_cuda(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let spec = torch_cuda_image();
    let mut archive = DockerArchive::create(&dir.join("docker-archive.tar"))?;
    let mut diff_ids = Vec::new();
    for (i, layer) in spec.layers.iter().enumerate() {
        let (path, diff_id) = write_layer(dir, i, layer)?;
        archive.append_layer(&path, &diff_id)?;
        std::fs::remove_file(&path)?;
        diff_ids.push(diff_id);
    }
    let (config, config_hex) = config(&spec, &diff_ids)?;
    archive.finish(&config, &config_hex, &spec.tag)
}

/// `docker25.tar`: the layout `docker save` writes since Docker 25 (an OCI layout with
/// Docker's `manifest.json`), plain layers, as xray and other tools read it.
fn write_docker25(
    dir: &Path,
    layer_files: &[std::path::PathBuf],
    diff_ids: &[String],
    config: &[u8],
    config_hex: &str,
    tag: &str,
) -> io::Result<()> {
    let mut archive = tar::Builder::new(BufWriter::new(File::create(dir.join("docker25.tar"))?));
    let mut descriptors = Vec::new();
    let mut layers = Vec::new();
    for (path, diff_id) in layer_files.iter().zip(diff_ids) {
        let name = format!("blobs/sha256/{}", &diff_id["sha256:".len()..]);
        archive.append_path_with_name(path, &name)?;
        descriptors.push(
            json!({"mediaType": "application/vnd.oci.image.layer.v1.tar",
            "digest": diff_id, "size": std::fs::metadata(path)?.len()}),
        );
        layers.push(name);
    }
    let config_name = format!("blobs/sha256/{config_hex}");
    append_bytes(&mut archive, &config_name, config)?;
    let (manifest, manifest_hex) = oci_manifest(config, config_hex, descriptors)?;
    append_bytes(
        &mut archive,
        &format!("blobs/sha256/{manifest_hex}"),
        &manifest,
    )?;
    let index = oci_index(
        &manifest,
        &manifest_hex,
        json!({"io.containerd.image.name": tag, "org.opencontainers.image.ref.name": "1"}),
    )?;
    append_bytes(&mut archive, "index.json", &index)?;
    let docker =
        serde_json::to_vec(&json!([{"Config": config_name, "RepoTags": [tag], "Layers": layers}]))?;
    append_bytes(&mut archive, "manifest.json", &docker)?;
    append_bytes(
        &mut archive,
        "oci-layout",
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )?;
    archive.into_inner()?.flush()
}

#[derive(Debug, Clone, Copy)]
enum Compressor {
    Gzip,
    Zstd,
}

/// An OCI layout of the plain layers in `layer_files`, compressed as `compression` says
/// (gzip at the fast level and zstd at level 3, as builders do by default for speed).
fn write_oci(
    dir: &Path,
    layer_files: &[std::path::PathBuf],
    config: &[u8],
    config_hex: &str,
    compression: Compressor,
) -> io::Result<()> {
    let (name, media) = match compression {
        Compressor::Gzip => ("oci-gzip", "application/vnd.oci.image.layer.v1.tar+gzip"),
        Compressor::Zstd => ("oci-zstd", "application/vnd.oci.image.layer.v1.tar+zstd"),
    };
    let oci = dir.join(name);
    std::fs::create_dir_all(oci.join("blobs/sha256"))?;
    let mut descriptors = Vec::new();
    for path in layer_files {
        let tmp = oci.join("blobs/tmp");
        let mut out = Hashing {
            inner: BufWriter::new(File::create(&tmp)?),
            hasher: Sha256::new(),
            len: 0,
        };
        match compression {
            Compressor::Gzip => {
                let mut encoder =
                    flate2::write::GzEncoder::new(&mut out, flate2::Compression::fast());
                io::copy(&mut File::open(path)?, &mut encoder)?;
                encoder.finish()?;
            }
            Compressor::Zstd => {
                let mut encoder = zstd::stream::Encoder::new(&mut out, 3)?;
                io::copy(&mut File::open(path)?, &mut encoder)?;
                encoder.finish()?;
            }
        }
        out.flush()?;
        let digest = hex(&out.hasher.finalize());
        std::fs::rename(&tmp, oci.join("blobs/sha256").join(&digest))?;
        descriptors.push(
            json!({"mediaType": media, "digest": format!("sha256:{digest}"), "size": out.len}),
        );
    }
    std::fs::write(oci.join("blobs/sha256").join(config_hex), config)?;
    let (manifest, manifest_hex) = oci_manifest(config, config_hex, descriptors)?;
    std::fs::write(oci.join("blobs/sha256").join(&manifest_hex), &manifest)?;
    std::fs::write(
        oci.join("index.json"),
        oci_index(
            &manifest,
            &manifest_hex,
            json!({"org.opencontainers.image.ref.name": "1"}),
        )?,
    )?;
    std::fs::write(oci.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    Ok(())
}

/// An OCI image manifest of `config` and the layer descriptors, and its digest's hex.
fn oci_manifest(
    config: &[u8],
    config_hex: &str,
    layers: Vec<serde_json::Value>,
) -> io::Result<(Vec<u8>, String)> {
    let manifest = serde_json::to_vec(
        &json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": format!("sha256:{config_hex}"), "size": config.len()},
        "layers": layers}),
    )?;
    let digest = hex(&Sha256::digest(&manifest));
    Ok((manifest, digest))
}

/// An OCI index of the one manifest, annotated.
fn oci_index(
    manifest: &[u8],
    manifest_hex: &str,
    annotations: serde_json::Value,
) -> io::Result<Vec<u8>> {
    Ok(serde_json::to_vec(
        &json!({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": format!("sha256:{manifest_hex}"),
        "size": manifest.len(), "annotations": annotations}]}),
    )?)
}

fn append_bytes<W: Write>(
    archive: &mut tar::Builder<W>,
    name: &str,
    bytes: &[u8],
) -> io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_mode(0o644);
    header.set_size(bytes.len() as u64);
    header.set_mtime(crate::layer::MTIME);
    archive.append_data(&mut header, name, bytes)
}

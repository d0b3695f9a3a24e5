//! A large image shaped like a torch+CUDA service, written straight to disk.
//!
//! Layers stream from the generator into files (never held in memory), then are packed as
//! a legacy `docker save` tar and a Docker 25 one, and compressed into OCI layout
//! directories (gzip, zstd).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use serde_json::json;
use sha2::{Digest as _, Sha256};

use crate::content::BINARY;
use crate::spec::{ImageSpec, LayerSpec, Op};

/// A writer that hashes what passes through it.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    len: u64,
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

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The spec of a large image of about `gb` GB of file content: a base with thousands of
/// small files, a site-packages layer with a few 100 MB – 1 GB libraries and thousands of
/// `.py` files, and a cleanup layer that deletes a cache and rewrites one library.
pub fn large_image(gb: f64) -> ImageSpec {
    let target = (gb * 1e9) as u64;
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
        let path = dir.join(format!("layer{i}.tar"));
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
        diff_ids.push(format!("sha256:{}", hex(&out.hasher.finalize())));
        layer_files.push(path);
        eprintln!("layer {i}: {} bytes", out.len);
    }
    let history: Vec<_> = spec
        .layers
        .iter()
        .map(|l| json!({"created_by": l.created_by}))
        .collect();
    let config = serde_json::to_vec(&json!({"architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids}, "history": history}))?;
    let config_hex = hex(&Sha256::digest(&config));

    // docker-archive (legacy layout, plain layers).
    let mut archive = tar::Builder::new(BufWriter::new(File::create(
        dir.join("docker-archive.tar"),
    )?));
    let mut layers = Vec::new();
    for (i, path) in layer_files.iter().enumerate() {
        let name = format!("{}/layer.tar", &diff_ids[i]["sha256:".len()..]);
        archive.append_path_with_name(path, &name)?;
        layers.push(name);
    }
    append_bytes(&mut archive, &format!("{config_hex}.json"), &config)?;
    let manifest = serde_json::to_vec(
        &json!([{"Config": format!("{config_hex}.json"), "RepoTags": [spec.tag], "Layers": layers}]),
    )?;
    append_bytes(&mut archive, "manifest.json", &manifest)?;
    archive.into_inner()?.flush()?;

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

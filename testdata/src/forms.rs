//! Write a built image in every form: legacy and Docker 25+ `docker save`, OCI dir and tar.

use std::io::{self, Write};
use std::path::Path;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::layer::{MTIME, layer_tar};
use crate::spec::ImageSpec;

/// Layer compression for the forms that allow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain tar.
    None,
    /// gzip.
    Gzip,
    /// zstd.
    Zstd,
}

/// Which media type names the manifest uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaTypes {
    /// `application/vnd.oci.image.*`.
    Oci,
    /// `application/vnd.docker.*` (what `docker push` of older engines wrote).
    Docker,
}

/// An image with its layer tars and config, ready to be written in any form.
#[derive(Debug, Clone)]
pub struct BuiltImage {
    /// What it was built from.
    pub spec: ImageSpec,
    /// Uncompressed layer tars.
    pub layers: Vec<Vec<u8>>,
    /// `sha256:` digests of the layer tars.
    pub diff_ids: Vec<String>,
    /// The config JSON.
    pub config: Vec<u8>,
}

/// `sha256:<hex>` of `bytes`.
pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(bytes)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hex_of(digest: &str) -> &str {
    digest.strip_prefix("sha256:").unwrap_or(digest)
}

/// Builds layer tars and the config of `spec`.
pub fn build(spec: &ImageSpec) -> io::Result<BuiltImage> {
    let layers: Vec<Vec<u8>> = spec
        .layers
        .iter()
        .map(layer_tar)
        .collect::<io::Result<_>>()?;
    let diff_ids: Vec<String> = layers.iter().map(|l| digest(l)).collect();
    let mut history = Vec::new();
    for (i, layer) in spec.layers.iter().enumerate() {
        for (_, step) in spec.empty_steps.iter().filter(|(at, _)| *at == i) {
            history.push(
                json!({"created": "2024-01-01T00:00:00Z", "created_by": step, "empty_layer": true}),
            );
        }
        history.push(json!({"created": "2024-01-01T00:00:00Z", "created_by": layer.created_by}));
    }
    let mut env =
        vec!["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_owned()];
    env.extend(spec.env.iter().cloned());
    let mut config = json!({
        "architecture": spec.arch,
        "os": spec.os,
        "config": {"Env": env},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    });
    if let Some(variant) = &spec.variant {
        config["variant"] = json!(variant);
    }
    if !spec.labels.is_empty() {
        let labels: serde_json::Map<String, serde_json::Value> = (spec.labels.iter())
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        config["config"]["Labels"] = serde_json::Value::Object(labels);
    }
    Ok(BuiltImage {
        spec: spec.clone(),
        layers,
        diff_ids,
        config: to_bytes(&config),
    })
}

fn to_bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// Compresses a layer tar.
pub fn compress(data: &[u8], compression: Compression) -> io::Result<Vec<u8>> {
    match compression {
        Compression::None => Ok(data.to_vec()),
        Compression::Gzip => {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            encoder.write_all(data)?;
            encoder.finish()
        }
        Compression::Zstd => zstd::encode_all(data, 3),
    }
}

/// Files of an image layout in the order they are written (blobs first, as Docker does).
#[derive(Debug, Clone, Default)]
pub struct Files {
    /// (path, bytes).
    pub files: Vec<(String, Vec<u8>)>,
    /// (path, target) symlinks.
    pub symlinks: Vec<(String, String)>,
}

impl Files {
    fn add(&mut self, path: impl Into<String>, bytes: Vec<u8>) {
        let path = path.into();
        if !self.files.iter().any(|(p, _)| *p == path) {
            self.files.push((path, bytes));
        }
    }

    fn blob(&mut self, bytes: Vec<u8>) -> (String, u64) {
        let d = digest(&bytes);
        let size = bytes.len() as u64;
        self.add(format!("blobs/sha256/{}", hex_of(&d)), bytes);
        (d, size)
    }

    /// Writes the files into a directory.
    pub fn write_dir(&self, dir: &Path) -> io::Result<()> {
        for (path, bytes) in &self.files {
            let full = dir.join(path);
            if let Some(parent) = full.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(full, bytes)?;
        }
        for (path, target) in &self.symlinks {
            let full = dir.join(path);
            if let Some(parent) = full.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::os::unix::fs::symlink(target, full)?;
        }
        Ok(())
    }

    /// Packs the files into one tar, in order.
    pub fn to_tar(&self) -> io::Result<Vec<u8>> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, bytes) in &self.files {
            let mut header = tar::Header::new_gnu();
            header.set_mode(0o644);
            header.set_mtime(MTIME);
            header.set_size(bytes.len() as u64);
            builder.append_data(&mut header, path, &bytes[..])?;
        }
        for (path, target) in &self.symlinks {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_mode(0o777);
            header.set_mtime(MTIME);
            header.set_size(0);
            builder.append_link(&mut header, path, target)?;
        }
        builder.into_inner()
    }
}

/// How an OCI layout lists its images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayoutOptions {
    /// Layer compression.
    pub compression: Compression,
    /// Media type names.
    pub media: MediaTypes,
    /// One top-level image index (with an attestation manifest) holding all images as
    /// platforms, as `docker buildx` and the containerd store write; else a flat index.json.
    pub nested_index: bool,
}

impl Default for LayoutOptions {
    fn default() -> Self {
        Self {
            compression: Compression::Gzip,
            media: MediaTypes::Oci,
            nested_index: false,
        }
    }
}

fn layer_media_type(media: MediaTypes, compression: Compression) -> &'static str {
    match (media, compression) {
        (MediaTypes::Docker, Compression::None) => "application/vnd.docker.image.rootfs.diff.tar",
        (MediaTypes::Docker, Compression::Gzip) => {
            "application/vnd.docker.image.rootfs.diff.tar.gzip"
        }
        (_, Compression::None) => "application/vnd.oci.image.layer.v1.tar",
        (_, Compression::Gzip) => "application/vnd.oci.image.layer.v1.tar+gzip",
        (_, Compression::Zstd) => "application/vnd.oci.image.layer.v1.tar+zstd",
    }
}

/// The tag part of `name:tag`.
fn tag_of(tag: &str) -> &str {
    tag.rsplit_once(':').map_or("latest", |(_, t)| t)
}

/// The OCI layout files of `images`; also returns each image's layer blob paths.
pub fn oci_layout(
    images: &[&BuiltImage],
    options: LayoutOptions,
) -> io::Result<(Files, Vec<Vec<String>>)> {
    let mut files = Files::default();
    let (manifest_type, config_type) = match options.media {
        MediaTypes::Oci => (
            "application/vnd.oci.image.manifest.v1+json",
            "application/vnd.oci.image.config.v1+json",
        ),
        MediaTypes::Docker => (
            "application/vnd.docker.distribution.manifest.v2+json",
            "application/vnd.docker.container.image.v1+json",
        ),
    };
    let mut descriptors = Vec::new();
    let mut layer_paths = Vec::new();
    for image in images {
        let mut layers = Vec::new();
        let mut paths = Vec::new();
        for tar in &image.layers {
            let (d, size) = files.blob(compress(tar, options.compression)?);
            paths.push(format!("blobs/sha256/{}", hex_of(&d)));
            layers.push(json!({"mediaType": layer_media_type(options.media, options.compression), "digest": d, "size": size}));
        }
        let (config_digest, config_size) = files.blob(image.config.clone());
        let mut manifest = json!({
            "schemaVersion": 2,
            "mediaType": manifest_type,
            "config": {"mediaType": config_type, "digest": config_digest, "size": config_size},
            "layers": layers,
        });
        if !image.spec.annotations.is_empty() {
            manifest["annotations"] = image
                .spec
                .annotations
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect();
        }
        let (d, size) = files.blob(to_bytes(&manifest));
        let mut platform = json!({"architecture": image.spec.arch, "os": image.spec.os});
        if let Some(variant) = &image.spec.variant {
            platform["variant"] = json!(variant);
        }
        descriptors.push(json!({
            "mediaType": manifest_type,
            "digest": d,
            "size": size,
            "platform": platform,
            "annotations": {
                "io.containerd.image.name": image.spec.tag,
                "org.opencontainers.image.ref.name": tag_of(&image.spec.tag),
            },
        }));
        layer_paths.push(paths);
    }
    let top = if options.nested_index {
        // An attestation manifest, as buildx attaches: must be skipped, never chosen.
        let attestation = json!({"schemaVersion": 2, "mediaType": manifest_type,
            "config": {"mediaType": config_type, "digest": digest(b"{}"), "size": 2}, "layers": []});
        files.blob(b"{}".to_vec());
        let (ad, asize) = files.blob(to_bytes(&attestation));
        let mut nested = descriptors.clone();
        nested.push(
            json!({"mediaType": manifest_type, "digest": ad, "size": asize,
            "platform": {"architecture": "unknown", "os": "unknown"},
            "annotations": {"vnd.docker.reference.type": "attestation-manifest"}}),
        );
        let index = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": nested});
        let (d, size) = files.blob(to_bytes(&index));
        let tag = &images
            .first()
            .map(|i| i.spec.tag.clone())
            .unwrap_or_default();
        vec![
            json!({"mediaType": "application/vnd.oci.image.index.v1+json", "digest": d, "size": size,
            "annotations": {"io.containerd.image.name": tag, "org.opencontainers.image.ref.name": tag_of(tag)}}),
        ]
    } else {
        descriptors
    };
    let index = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": top});
    files.add("index.json", to_bytes(&index));
    files.add("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec());
    Ok((files, layer_paths))
}

/// Attaches BuildKit's provenance attestation (SLSA v1, `mode=max`) to the first image of
/// a flat OCI layout as `oci_layout` writes it: an attestation manifest beside the image
/// manifest in index.json, whose one layer is the in-toto statement. Layer `i` was written
/// by the step at line `lines[i]` of `dockerfile` (`None`: the base image's, which BuildKit
/// locates nowhere); `layer_digests` are the manifest's layer digests; `build_args` are
/// recorded as BuildKit records them (`request.args`, `build-arg:NAME`).
pub fn attach_provenance(
    files: &mut Files,
    layer_digests: &[String],
    dockerfile: &str,
    lines: &[Option<usize>],
    build_args: &[(&str, &str)],
) -> io::Result<()> {
    use base64::Engine as _;
    let index_at = files
        .files
        .iter()
        .position(|(p, _)| p == "index.json")
        .ok_or_else(|| io::Error::other("no index.json"))?;
    let mut index: serde_json::Value = serde_json::from_slice(&files.files[index_at].1)?;
    let manifest = index["manifests"][0]["digest"]
        .as_str()
        .ok_or_else(|| io::Error::other("no manifest"))?
        .to_owned();
    let mut locations = serde_json::Map::new();
    let mut layers = serde_json::Map::new();
    for (i, line) in lines.iter().enumerate() {
        let step = format!("step{i}");
        let chain: Vec<serde_json::Value> = layer_digests[..=i]
            .iter()
            .map(|d| json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": 1}))
            .collect();
        layers.insert(format!("{step}:0"), json!([chain]));
        let location = match line {
            Some(line) => {
                json!({"locations": [{"ranges": [{"start": {"line": line}, "end": {"line": line}}]}]})
            }
            None => json!({}),
        };
        locations.insert(step, location);
    }
    let data = base64::engine::general_purpose::STANDARD.encode(dockerfile);
    let args: serde_json::Map<String, serde_json::Value> = (build_args.iter())
        .map(|(k, v)| (format!("build-arg:{k}"), json!(v)))
        .collect();
    let statement = json!({
        "_type": "https://in-toto.io/Statement/v1",
        "predicateType": "https://slsa.dev/provenance/v1",
        "subject": [{"name": "pkg:docker/fix@latest", "digest": {"sha256": manifest.trim_start_matches("sha256:")}}],
        "predicate": {
            "buildDefinition": {
                "buildType": "https://github.com/moby/buildkit/blob/master/docs/attestations/slsa-definitions.md",
                "externalParameters": {"request": {"frontend": "dockerfile.v0", "args": args}},
            },
            "runDetails": {"metadata": {"buildkit_metadata": {
                "source": {"locations": locations, "infos": [{"filename": "Dockerfile", "language": "Dockerfile", "data": data}]},
                "layers": layers,
            }}},
        },
    });
    let (statement_digest, statement_size) = files.blob(to_bytes(&statement));
    let (empty, _) = files.blob(b"{}".to_vec());
    let attestation = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": empty, "size": 2},
        "layers": [{"mediaType": "application/vnd.in-toto+json", "digest": statement_digest, "size": statement_size,
            "annotations": {"in-toto.io/predicate-type": "https://slsa.dev/provenance/v1"}}],
    });
    let (d, size) = files.blob(to_bytes(&attestation));
    index["manifests"]
        .as_array_mut()
        .ok_or_else(|| io::Error::other("index.json lists no manifests"))?
        .push(json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d, "size": size,
            "platform": {"architecture": "unknown", "os": "unknown"},
            "annotations": {"vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": manifest}}));
    files.files[index_at].1 = to_bytes(&index);
    Ok(())
}

/// A Docker 25+ `docker save`: an OCI layout plus `manifest.json`, blobs first.
pub fn docker25(
    images: &[&BuiltImage],
    compression: Compression,
    nested_index: bool,
) -> io::Result<Vec<u8>> {
    let options = LayoutOptions {
        compression,
        media: MediaTypes::Oci,
        nested_index,
    };
    let (mut files, layer_paths) = oci_layout(images, options)?;
    let manifest: Vec<Value> = images
        .iter()
        .zip(layer_paths)
        .map(|(image, layers)| {
            json!({"Config": format!("blobs/sha256/{}", hex_of(&digest(&image.config))), "RepoTags": [image.spec.tag], "Layers": layers})
        })
        .collect();
    files.add("manifest.json", to_bytes(&Value::Array(manifest)));
    files.add("repositories", to_bytes(&repositories(images)));
    files.to_tar()
}

fn repositories(images: &[&BuiltImage]) -> Value {
    let mut repos = serde_json::Map::new();
    for image in images {
        let (name, tag) = image
            .spec
            .tag
            .rsplit_once(':')
            .unwrap_or((&image.spec.tag, "latest"));
        let top = image.diff_ids.last().map_or("", |d| hex_of(d));
        repos.insert(name.to_owned(), json!({ tag: top }));
    }
    Value::Object(repos)
}

/// A legacy `docker save` (Docker ≤ 24): `<id>/layer.tar`, `<config>.json`, `manifest.json`.
/// With `symlinked`, layers are stored as `<diffid>.tar` and `<id>/layer.tar` links to them,
/// as skopeo writes.
/// Builds `spec` and writes it as a legacy `docker save` archive at `path`.
pub fn save_docker_archive(spec: &crate::ImageSpec, path: &Path) -> io::Result<()> {
    let built = build(spec)?;
    std::fs::write(path, docker_legacy(&[&built], false)?)
}

pub fn docker_legacy(images: &[&BuiltImage], symlinked: bool) -> io::Result<Vec<u8>> {
    let mut files = Files::default();
    let mut manifest = Vec::new();
    for image in images {
        let mut parent = String::new();
        let mut layers = Vec::new();
        for (tar, diff_id) in image.layers.iter().zip(&image.diff_ids) {
            let id = hex_of(&digest(format!("{parent}{diff_id}").as_bytes())).to_owned();
            files.add(format!("{id}/VERSION"), b"1.0".to_vec());
            files.add(
                format!("{id}/json"),
                to_bytes(&json!({"id": id, "parent": parent})),
            );
            if symlinked {
                files.add(format!("{}.tar", hex_of(diff_id)), tar.clone());
                files.symlinks.push((
                    format!("{id}/layer.tar"),
                    format!("../{}.tar", hex_of(diff_id)),
                ));
            } else {
                files.add(format!("{id}/layer.tar"), tar.clone());
            }
            layers.push(format!("{id}/layer.tar"));
            parent = id;
        }
        let config_name = format!("{}.json", hex_of(&digest(&image.config)));
        files.add(config_name.clone(), image.config.clone());
        manifest
            .push(json!({"Config": config_name, "RepoTags": [image.spec.tag], "Layers": layers}));
    }
    files.add("manifest.json", to_bytes(&Value::Array(manifest)));
    files.add("repositories", to_bytes(&repositories(images)));
    files.to_tar()
}

//! From an input's metadata to one image: which config, which layers in which order.
//!
//! `manifest.json` (any `docker save`) wins when present: a Docker 25+ archive from the
//! containerd store carries an index naming every platform but blobs for only the saved
//! one, and `manifest.json` lists exactly what is there. Its OCI manifest, when found, adds
//! media types. Without `manifest.json`, `index.json` is walked (nested indexes included).

use std::collections::{HashMap, HashSet};

use oci_spec::image::{Descriptor, ImageIndex, ImageManifest, MediaType};
use serde::Deserialize;

use super::names::{blob_path, digest_from_path, name_matches};
use super::plan::{BaseAnnotation, HistoryEntry, Layout, Plan, PlannedLayer, Platform, Selector};
use super::provenance::{PREDICATE_TYPE, Provenance, REFERENCE_DIGEST, SLSA_PROVENANCE};
use super::run_config::RunConfig;
use super::store::Store;
use crate::digest::sha256;
use crate::error::{Error, Location, Result, Warning};
use crate::limits::Limits;
use crate::secrets::{Secret, SecretSource, env_pairs, named_values};

const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const REF_NAME: &str = "org.opencontainers.image.ref.name";
const CONTAINERD_NAME: &str = "io.containerd.image.name";
const REFERENCE_TYPE: &str = "vnd.docker.reference.type";
/// Nested indexes read for a provenance attestation when no index was chosen.
const MAX_PROVENANCE_INDEXES: usize = 4;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ConfigFile {
    #[serde(default)]
    os: Option<String>,
    #[serde(default)]
    architecture: Option<String>,
    #[serde(default)]
    variant: Option<String>,
    #[serde(default)]
    rootfs: Option<RootFs>,
    #[serde(default)]
    history: Option<Vec<HistoryEntry>>,
    /// The run settings: `Env` and `Labels` are read for secrets only (leniently, and
    /// without building a tree of the config: `run_config.rs`).
    #[serde(default)]
    config: Option<RunConfig>,
}

impl ConfigFile {
    /// The secrets of the config's `Env` and labels and of `annotations` (the manifest's,
    /// the index entry's), each redacted.
    fn secrets(&self, annotations: &[Option<&HashMap<String, String>>]) -> Vec<Secret> {
        let run = self.config.as_ref();
        let env = run.map_or(&[][..], |r| r.env.as_slice());
        let labels = (run.map_or(&[][..], |r| r.labels.as_slice()).iter())
            .map(|(k, v)| (k.as_str(), v.as_str()));
        let mut found = named_values(SecretSource::Env, env_pairs(env));
        found.extend(named_values(SecretSource::Label, labels));
        for map in annotations.iter().flatten() {
            let pairs = map.iter().map(|(k, v)| (k.as_str(), v.as_str()));
            found.extend(named_values(SecretSource::Annotation, pairs));
        }
        found
    }
}

#[derive(Debug, Default, Deserialize)]
struct RootFs {
    #[serde(default)]
    diff_ids: Vec<String>,
}

/// Finds the image to analyse in `store`.
pub(crate) fn resolve(
    input: &str,
    store: &dyn Store,
    selector: &Selector,
    limits: &Limits,
) -> Result<Plan> {
    let resolver = Resolver {
        input,
        store,
        index_depth: limits.index_depth,
    };
    if let Some(bytes) = store.read_meta("manifest.json")? {
        return resolver.docker(&bytes, selector);
    }
    if let Some(bytes) = store.read_meta("index.json")? {
        return resolver.oci(&bytes, selector);
    }
    let mut message = "not a container image: neither manifest.json (docker save) nor index.json (OCI layout) found".to_owned();
    if let Some(warning) = store.warnings().first() {
        message.push_str(&format!("; {warning}"));
    }
    Err(Error::format(Location::input(input), message))
}

struct Resolver<'a> {
    input: &'a str,
    store: &'a dyn Store,
    /// Deepest nesting of indexes followed.
    index_depth: usize,
}

/// An image on offer: the names it answers to and how to describe it in a list.
struct Candidate<T> {
    names: Vec<String>,
    label: String,
    item: T,
}

impl Resolver<'_> {
    fn location(&self, path: &str) -> Location {
        Location::input(self.input).entry(path.as_bytes())
    }

    fn json<T: for<'de> Deserialize<'de>>(&self, path: &str, bytes: &[u8]) -> Result<T> {
        serde_json::from_slice(bytes)
            .map_err(|e| Error::format(self.location(path), format!("invalid JSON: {e}")))
    }

    fn required_meta(&self, path: &str, what: &str) -> Result<Vec<u8>> {
        self.store.read_meta(path)?.ok_or_else(|| {
            Error::format(
                self.location(path),
                format!("{what} is missing from the image"),
            )
        })
    }

    /// Reads a blob named by digest and checks the digest (sha256 only; these are small).
    fn blob_by_digest(&self, digest: &str, what: &str) -> Result<Vec<u8>> {
        let path = blob_path(digest).ok_or_else(|| {
            Error::format(
                Location::input(self.input),
                format!("{what} digest {digest:?} is malformed"),
            )
        })?;
        let bytes = self.required_meta(&path, what)?;
        if digest.starts_with("sha256:") {
            let actual = sha256(&bytes);
            if actual != digest.to_ascii_lowercase() {
                return Err(Error::format(
                    self.location(&path),
                    format!("{what} does not match its digest ({actual})"),
                ));
            }
        }
        Ok(bytes)
    }

    fn docker(&self, bytes: &[u8], selector: &Selector) -> Result<Plan> {
        let entries: Vec<DockerEntry> = self.json("manifest.json", bytes)?;
        let candidates = entries
            .into_iter()
            .map(|entry| {
                let tags = entry.repo_tags.clone().unwrap_or_default();
                let config_digest = digest_from_path(&entry.config);
                let mut names = tags.clone();
                names.extend(config_digest.clone());
                let label = match (tags.is_empty(), &config_digest) {
                    (false, _) => tags.join(", "),
                    (true, Some(digest)) => format!("<untagged> config {digest}"),
                    (true, None) => format!("<untagged> config {}", entry.config),
                };
                Candidate {
                    names,
                    label,
                    item: entry,
                }
            })
            .collect();
        let entry = self.choose(candidates, selector.image.as_deref(), "manifest.json")?;
        let config_bytes = self.required_meta(&entry.config, "image config")?;
        let config_digest = sha256(&config_bytes);
        let config: ConfigFile = self.json(&entry.config, &config_bytes)?;
        let platform = config_platform(&config);
        check_platform(self.input, selector, platform.as_ref())?;
        let mut layers: Vec<PlannedLayer> = entry
            .layers
            .iter()
            .map(|path| PlannedLayer {
                path: path.clone(),
                digest: digest_from_path(path),
                media_type: None,
            })
            .collect();
        let mut warnings = Vec::new();
        let mut manifest_digest = None;
        let mut base = BaseAnnotation::default();
        let mut provenance = None;
        let mut secrets = Vec::new();
        // Docker 25+ also writes the OCI manifest: take media types from it when it matches.
        if let Ok(Some(index)) = self.store.read_meta("index.json")
            && let Ok(Some((digest, manifest))) =
                self.find_manifest_for_config(&index, &config_digest)
        {
            if manifest.layers().len() == layers.len() {
                for (layer, desc) in layers.iter_mut().zip(manifest.layers()) {
                    layer.media_type = Some(desc.media_type().to_string());
                    layer
                        .digest
                        .get_or_insert_with(|| desc.digest().to_string());
                }
                let (found, build_args) = self.provenance(&index, None, &digest);
                provenance = found;
                secrets = build_args;
                secrets.extend(config.secrets(&[manifest.annotations().as_ref()]));
                manifest_digest = Some(digest);
                base = BaseAnnotation::from_annotations(manifest.annotations().as_ref());
            } else {
                warnings.push(Warning::new(
                    Location::input(self.input),
                    "index.json's manifest lists a different number of layers than manifest.json; used manifest.json",
                ));
            }
        }
        if manifest_digest.is_none() {
            secrets = config.secrets(&[]);
        }
        Ok(Plan {
            layout: Layout::DockerArchive,
            reference: entry.repo_tags.as_ref().and_then(|t| t.first().cloned()),
            platform,
            manifest_digest,
            config_digest,
            layers,
            diff_ids: config.rootfs.map(|r| r.diff_ids).unwrap_or_default(),
            history: config.history.unwrap_or_default(),
            base,
            provenance,
            secrets,
            warnings,
        })
    }

    /// Walks an OCI index for an image manifest whose config has `config_digest`.
    fn find_manifest_for_config(
        &self,
        index: &[u8],
        config_digest: &str,
    ) -> Result<Option<(String, ImageManifest)>> {
        let index: ImageIndex = self.json("index.json", index)?;
        let mut leaves = Vec::new();
        self.collect_manifests(index.manifests(), 0, &mut HashSet::new(), &mut leaves)?;
        for (desc, _) in leaves {
            let digest = desc.digest().to_string();
            let Ok(bytes) = self.blob_by_digest(&digest, "image manifest") else {
                continue;
            };
            let Ok(manifest) = serde_json::from_slice::<ImageManifest>(&bytes) else {
                continue;
            };
            if manifest.config().digest().to_string() == config_digest {
                return Ok(Some((digest, manifest)));
            }
        }
        Ok(None)
    }

    fn oci(&self, bytes: &[u8], selector: &Selector) -> Result<Plan> {
        let index: ImageIndex = self.json("index.json", bytes)?;
        let candidates = index
            .manifests()
            .iter()
            .filter(|d| !is_attestation(d))
            .map(|desc| {
                let annotations = desc.annotations().clone().unwrap_or_default();
                let mut names: Vec<String> = [REF_NAME, CONTAINERD_NAME]
                    .iter()
                    .filter_map(|k| annotations.get(*k).cloned())
                    .collect();
                let label = names
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "<unnamed>".to_owned());
                let label = format!("{label} ({})", desc.digest());
                names.push(desc.digest().to_string());
                Candidate {
                    names,
                    label,
                    item: desc.clone(),
                }
            })
            .collect();
        let top = self.choose(candidates, selector.image.as_deref(), "index.json")?;
        let reference = top
            .annotations()
            .as_ref()
            .and_then(|a| a.get(CONTAINERD_NAME).or_else(|| a.get(REF_NAME)).cloned());
        let mut variants = Vec::new();
        self.collect_manifests(
            std::slice::from_ref(&top),
            0,
            &mut HashSet::new(),
            &mut variants,
        )?;
        let (desc, offered) = self.choose_platform(variants, selector)?;
        let manifest_digest = desc.digest().to_string();
        let manifest_bytes = self.blob_by_digest(&manifest_digest, "image manifest")?;
        let manifest: ImageManifest = self.json(
            &blob_path(&manifest_digest).unwrap_or_default(),
            &manifest_bytes,
        )?;
        let (provenance, mut secrets) = self.provenance(bytes, Some(&top), &manifest_digest);
        let config_digest = manifest.config().digest().to_string();
        let config_bytes = self.blob_by_digest(&config_digest, "image config")?;
        let config: ConfigFile = self.json(
            &blob_path(&config_digest).unwrap_or_default(),
            &config_bytes,
        )?;
        secrets.extend(config.secrets(&[
            manifest.annotations().as_ref(),
            top.annotations().as_ref(),
        ]));
        let platform = config_platform(&config).or(offered);
        check_platform(self.input, selector, platform.as_ref())?;
        let layers = manifest
            .layers()
            .iter()
            .map(|d| {
                let digest = d.digest().to_string();
                PlannedLayer {
                    path: blob_path(&digest).unwrap_or_default(),
                    digest: Some(digest),
                    media_type: Some(d.media_type().to_string()),
                }
            })
            .collect();
        Ok(Plan {
            layout: Layout::Oci,
            reference,
            platform,
            manifest_digest: Some(manifest_digest),
            config_digest,
            layers,
            diff_ids: config.rootfs.map(|r| r.diff_ids).unwrap_or_default(),
            history: config.history.unwrap_or_default(),
            base: BaseAnnotation::from_annotations(manifest.annotations().as_ref()),
            provenance,
            secrets,
            warnings: Vec::new(),
        })
    }

    /// BuildKit's provenance of image manifest `manifest`: the attestation manifest that
    /// `index` (index.json) or the index `top` it chose lists for it, and that manifest's
    /// provenance layer. `None` when there is none, or any part is missing or unreadable:
    /// the history is matched instead. Reads at most [`MAX_PROVENANCE_INDEXES`] nested
    /// indexes and two blobs, each within `--max-metadata`.
    fn provenance(
        &self,
        index: &[u8],
        top: Option<&Descriptor>,
        manifest: &str,
    ) -> (Option<Provenance>, Vec<Secret>) {
        self.provenance_statement(index, top, manifest)
            .map_or_else(Default::default, |s| Provenance::parse_with_secrets(&s))
    }

    /// The bytes of the in-toto statement [`Resolver::provenance`] reads.
    fn provenance_statement(
        &self,
        index: &[u8],
        top: Option<&Descriptor>,
        manifest: &str,
    ) -> Option<Vec<u8>> {
        let index: ImageIndex = serde_json::from_slice(index).ok()?;
        let mut listed: Vec<Descriptor> = index.manifests().clone();
        // The index chosen, or (from `manifest.json`, which names none) the first few that
        // index.json lists: a Docker 25+ archive keeps BuildKit's index there.
        let nested: Vec<Descriptor> = match top {
            Some(top) => vec![top.clone()],
            None => listed.iter().take(MAX_PROVENANCE_INDEXES).cloned().collect(),
        };
        for desc in nested
            .iter()
            .filter(|d| matches!(d.media_type(), MediaType::ImageIndex))
        {
            let Ok(bytes) = self.blob_by_digest(desc.digest().as_ref(), "image index") else {
                continue;
            };
            if let Ok(nested) = serde_json::from_slice::<ImageIndex>(&bytes) {
                listed.extend(nested.manifests().iter().cloned());
            }
        }
        let attestation = listed.iter().find(|d| {
            d.annotations().as_ref().is_some_and(|a| {
                a.get(REFERENCE_TYPE).map(String::as_str) == Some("attestation-manifest")
                    && a.get(REFERENCE_DIGEST).map(String::as_str) == Some(manifest)
            })
        })?;
        let bytes = self
            .blob_by_digest(attestation.digest().as_ref(), "attestation manifest")
            .ok()?;
        let attestation: ImageManifest = serde_json::from_slice(&bytes).ok()?;
        let layer = attestation.layers().iter().find(|l| {
            l.annotations()
                .as_ref()
                .and_then(|a| a.get(PREDICATE_TYPE))
                .is_some_and(|t| t.starts_with(SLSA_PROVENANCE))
        })?;
        self.blob_by_digest(layer.digest().as_ref(), "provenance attestation")
            .ok()
    }

    /// Expands index descriptors into image manifests with their platforms.
    fn collect_manifests(
        &self,
        descriptors: &[Descriptor],
        depth: usize,
        seen: &mut HashSet<String>,
        out: &mut Vec<(Descriptor, Option<Platform>)>,
    ) -> Result<()> {
        for desc in descriptors.iter().filter(|d| !is_attestation(d)) {
            let digest = desc.digest().to_string();
            let is_index = matches!(desc.media_type(), MediaType::ImageIndex)
                || desc.media_type().to_string() == DOCKER_MANIFEST_LIST;
            if !is_index {
                let platform = desc.platform().as_ref().map(|p| Platform {
                    os: p.os().to_string(),
                    arch: p.architecture().to_string(),
                    variant: p.variant().clone(),
                });
                out.push((desc.clone(), platform));
                continue;
            }
            if depth >= self.index_depth {
                return Err(Error::format(
                    Location::input(self.input),
                    format!(
                        "image index {digest} nests deeper than {} levels (--max-index-depth)",
                        self.index_depth
                    ),
                ));
            }
            if !seen.insert(digest.clone()) {
                return Err(Error::format(
                    Location::input(self.input),
                    format!("image index {digest} is reached twice: the indexes loop or repeat"),
                ));
            }
            let bytes = self.blob_by_digest(&digest, "image index")?;
            let nested: ImageIndex = self.json(&blob_path(&digest).unwrap_or_default(), &bytes)?;
            self.collect_manifests(nested.manifests(), depth + 1, seen, out)?;
        }
        Ok(())
    }

    fn choose_platform(
        &self,
        variants: Vec<(Descriptor, Option<Platform>)>,
        selector: &Selector,
    ) -> Result<(Descriptor, Option<Platform>)> {
        let list = |v: &[(Descriptor, Option<Platform>)]| {
            v.iter()
                .map(|(d, p)| {
                    format!(
                        "{} ({})",
                        p.as_ref()
                            .map_or("unknown platform".to_owned(), Platform::to_string),
                        d.digest()
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        if variants.len() == 1 && selector.platform.is_none() {
            return variants
                .into_iter()
                .next()
                .ok_or_else(|| unreachable_selection(self.input));
        }
        let wanted = selector
            .platform
            .clone()
            .unwrap_or_else(Platform::linux_amd64);
        let matching: Vec<_> = variants
            .iter()
            .filter(|(_, p)| p.as_ref().is_some_and(|p| wanted.accepts(p)))
            .cloned()
            .collect();
        match matching.len() {
            1 => matching
                .into_iter()
                .next()
                .ok_or_else(|| unreachable_selection(self.input)),
            0 => Err(Error::Selection {
                location: Location::input(self.input),
                message: format!(
                    "no image for platform {wanted}; available: {}; choose one with --platform",
                    list(&variants)
                ),
            }),
            _ => Err(Error::Selection {
                location: Location::input(self.input),
                message: format!(
                    "several images match platform {wanted}: {}; name the variant with --platform os/arch/variant",
                    list(&matching)
                ),
            }),
        }
    }

    fn choose<T>(
        &self,
        candidates: Vec<Candidate<T>>,
        wanted: Option<&str>,
        what: &str,
    ) -> Result<T> {
        let labels = |c: &[Candidate<T>]| {
            c.iter()
                .map(|c| c.label.clone())
                .collect::<Vec<_>>()
                .join("; ")
        };
        let all = labels(&candidates);
        if candidates.is_empty() {
            return Err(Error::format(self.location(what), "lists no image"));
        }
        let mut chosen: Vec<Candidate<T>> = match wanted {
            Some(wanted) => candidates
                .into_iter()
                .filter(|c| c.names.iter().any(|n| name_matches(n, wanted)))
                .collect(),
            None => candidates,
        };
        match (chosen.len(), wanted) {
            (1, _) => chosen
                .pop()
                .map(|c| c.item)
                .ok_or_else(|| unreachable_selection(self.input)),
            (0, Some(wanted)) => Err(Error::Selection {
                location: Location::input(self.input),
                message: format!("no image matches {wanted:?}; the input holds: {all}"),
            }),
            (_, Some(wanted)) => Err(Error::Selection {
                location: Location::input(self.input),
                message: format!(
                    "{wanted:?} matches several images: {}; give a full tag or digest",
                    labels(&chosen)
                ),
            }),
            (n, None) => Err(Error::Selection {
                location: Location::input(self.input),
                message: format!(
                    "the input holds {n} images: {all}; choose one with --image TAG|DIGEST"
                ),
            }),
        }
    }
}

fn unreachable_selection(input: &str) -> Error {
    Error::Selection {
        location: Location::input(input),
        message: "no image could be chosen".to_owned(),
    }
}

fn check_platform(input: &str, selector: &Selector, found: Option<&Platform>) -> Result<()> {
    match (&selector.platform, found) {
        (Some(wanted), Some(found)) if !wanted.accepts(found) => Err(Error::Selection {
            location: Location::input(input),
            message: format!("the image is for {found}, not {wanted}"),
        }),
        _ => Ok(()),
    }
}

fn config_platform(config: &ConfigFile) -> Option<Platform> {
    Some(Platform {
        os: config.os.clone()?,
        arch: config.architecture.clone()?,
        variant: config.variant.clone(),
    })
}

fn is_attestation(desc: &Descriptor) -> bool {
    let by_annotation = desc
        .annotations()
        .as_ref()
        .is_some_and(|a| a.contains_key(REFERENCE_TYPE));
    let by_platform = desc
        .platform()
        .as_ref()
        .is_some_and(|p| p.os().to_string() == "unknown");
    by_annotation || by_platform
}

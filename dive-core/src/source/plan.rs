//! What resolving an input decides: the image chosen, its platform, layout, config, history
//! and layers in manifest order, and what the user asked to choose by.

use std::fmt;

use serde::Deserialize;

use crate::error::Warning;

/// `os/arch[/variant]`, as `--platform` takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// Operating system, e.g. `linux`.
    pub os: String,
    /// CPU architecture, e.g. `amd64`.
    pub arch: String,
    /// Variant, e.g. `v8`.
    pub variant: Option<String>,
}

impl Platform {
    /// Parses `os/arch[/variant]`.
    pub fn parse(text: &str) -> Option<Platform> {
        let mut parts = text.split('/');
        let os = parts.next().filter(|s| !s.is_empty())?.to_owned();
        let arch = parts.next().filter(|s| !s.is_empty())?.to_owned();
        let variant = parts.next().filter(|s| !s.is_empty()).map(str::to_owned);
        parts
            .next()
            .is_none()
            .then_some(Platform { os, arch, variant })
    }

    pub(crate) fn linux_amd64() -> Platform {
        Platform {
            os: "linux".into(),
            arch: "amd64".into(),
            variant: None,
        }
    }

    /// Whether `self`, as asked for, accepts `other`, as offered (a missing variant accepts any).
    pub(crate) fn accepts(&self, other: &Platform) -> bool {
        self.os == other.os
            && self.arch == other.arch
            && (self.variant.is_none() || self.variant == other.variant)
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.arch)?;
        if let Some(variant) = &self.variant {
            write!(f, "/{variant}")?;
        }
        Ok(())
    }
}

/// Which image and platform to take from an input holding several.
#[derive(Debug, Clone, Default)]
pub(crate) struct Selector {
    pub image: Option<String>,
    pub platform: Option<Platform>,
}

/// The layout an image was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// `docker save` with `manifest.json` (any Docker version).
    DockerArchive,
    /// OCI image layout (directory or tar).
    Oci,
    /// A registry, over the OCI distribution API.
    Registry,
}

/// One layer as the manifest names it.
#[derive(Debug, Clone)]
pub(crate) struct PlannedLayer {
    pub path: String,
    pub digest: Option<String>,
    pub media_type: Option<String>,
}

/// One history entry of the image config.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct HistoryEntry {
    #[serde(default)]
    pub created_by: Option<String>,
    #[serde(default)]
    pub empty_layer: Option<bool>,
}

/// The image chosen, with everything the analysis needs from its metadata.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub layout: Layout,
    pub reference: Option<String>,
    pub platform: Option<Platform>,
    pub manifest_digest: Option<String>,
    pub config_digest: String,
    pub layers: Vec<PlannedLayer>,
    pub diff_ids: Vec<String>,
    pub history: Vec<HistoryEntry>,
    /// The base image the manifest names (`org.opencontainers.image.base.name`, `.digest`).
    pub base: BaseAnnotation,
    /// BuildKit's provenance attestation of the image, when the input carries one.
    pub provenance: Option<super::provenance::Provenance>,
    /// Secrets of the config's `Env` and labels, the annotations and the provenance's
    /// build arguments, redacted (the values are not kept).
    pub secrets: Vec<crate::secrets::Secret>,
    pub warnings: Vec<Warning>,
}

/// The base image an image manifest's annotations name (BuildKit writes them for `FROM`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct BaseAnnotation {
    /// `org.opencontainers.image.base.name`, e.g. `docker.io/library/python:3.11-slim`.
    pub name: Option<String>,
    /// `org.opencontainers.image.base.digest`: the base's manifest digest.
    pub digest: Option<String>,
}

impl BaseAnnotation {
    /// The annotations' base image, from a manifest's annotations.
    pub(crate) fn from_annotations(
        annotations: Option<&std::collections::HashMap<String, String>>,
    ) -> Self {
        // Shown as the image's base: a credential in it (a registry URL's password) is
        // shown redacted, as the annotation's finding is.
        let get = |key: &str| {
            let value = annotations.and_then(|a| a.get(key))?;
            Some(crate::secrets::redact_history(value, 0, None).0)
        };
        Self {
            name: get("org.opencontainers.image.base.name"),
            digest: get("org.opencontainers.image.base.digest"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_parses_with_and_without_variant() {
        assert_eq!(
            Platform::parse("linux/arm64/v8")
                .map(|p| p.to_string())
                .as_deref(),
            Some("linux/arm64/v8")
        );
        assert_eq!(
            Platform::parse("linux/amd64")
                .map(|p| p.to_string())
                .as_deref(),
            Some("linux/amd64")
        );
        assert_eq!(Platform::parse("linux"), None);
        assert_eq!(Platform::parse("a/b/c/d"), None);
    }
}

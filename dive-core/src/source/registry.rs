//! An image in a registry, read over the OCI distribution API: manifests and configs are
//! fetched whole (capped), layer blobs are streamed into the walk and never touch the disk.
//!
//! The store looks like an OCI layout to the resolver: `index.json` names the reference's
//! manifest, and `blobs/sha256/…` fetches a manifest or a blob by digest, so choosing a
//! platform, index depth and digest checks are the same code as for a directory.

use std::collections::{HashMap, HashSet};
use std::io::{self, Read};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt as _;
use oci_client::client::{BlobResponse, ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::manifest::{
    IMAGE_MANIFEST_LIST_MEDIA_TYPE, IMAGE_MANIFEST_MEDIA_TYPE, OCI_IMAGE_INDEX_MEDIA_TYPE,
    OCI_IMAGE_MEDIA_TYPE,
};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use tokio::runtime::Runtime;
use tokio::sync::mpsc;

use super::names::blob_digest;
use super::registry_options::{PlainHttp, RegistryOptions, credentials, is_loopback};
use super::store::{
    Fetch, Fetched, LayerInput, Part, PartNote, Store, check_metadata_cap, metadata_over_cap,
};
use crate::error::{Error, Location, Result, Warning};

/// Manifest forms asked for; a registry answers with one of them.
const MANIFEST_TYPES: [&str; 4] = [
    OCI_IMAGE_INDEX_MEDIA_TYPE,
    OCI_IMAGE_MEDIA_TYPE,
    IMAGE_MANIFEST_LIST_MEDIA_TYPE,
    IMAGE_MANIFEST_MEDIA_TYPE,
];
/// Chunks of a blob in flight between the network and the walk.
const IN_FLIGHT: usize = 64;

/// A registry image, opened: its top manifest fetched, the rest on demand.
pub(crate) struct RegistryStore {
    input: String,
    runtime: Arc<Runtime>,
    client: Arc<Client>,
    reference: Reference,
    auth: RegistryAuth,
    meta_cap: u64,
    index_json: Vec<u8>,
    /// The reference's manifest, as fetched by tag: (digest, bytes).
    top: (String, Vec<u8>),
    /// Digests known to name manifests (the top one, children of indexes read so far).
    manifests: Mutex<HashSet<String>>,
    /// Layer sizes from the image manifests read so far, by digest.
    layer_sizes: Mutex<HashMap<String, u64>>,
    warnings: Vec<Warning>,
}

impl std::fmt::Debug for RegistryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryStore")
            .field("reference", &self.reference.whole())
            .finish_non_exhaustive()
    }
}

impl RegistryStore {
    /// Connects, authenticates and fetches the reference's manifest.
    pub(crate) fn open(
        input: &str,
        reference: &str,
        options: &RegistryOptions,
        meta_cap: u64,
    ) -> Result<Self> {
        let failed = |message: String| Error::Remote {
            location: Location::input(input),
            message,
        };
        let reference = Reference::from_str(reference)
            .map_err(|e| failed(format!("not an image reference: {e}")))?;
        let host = reference.resolve_registry().to_owned();
        let protocol = match options.plain_http {
            PlainHttp::Always => ClientProtocol::Http,
            PlainHttp::Loopback if is_loopback(&host) => ClientProtocol::Http,
            PlainHttp::Loopback | PlainHttp::Never => ClientProtocol::Https,
        };
        let config = ClientConfig {
            protocol,
            // The resolver chooses among platforms, as for every other source.
            platform_resolver: None,
            connect_timeout: Some(Duration::from_secs(15)),
            read_timeout: Some(Duration::from_secs(60)),
            user_agent: concat!("dive-rs/", env!("CARGO_PKG_VERSION")),
            ..ClientConfig::default()
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("dive-rs-registry")
            .enable_all()
            .build()
            .map_err(|e| failed(format!("cannot start the network threads: {e}")))?;
        let client = Client::new(config);
        let auth = credentials(&options.credentials, &reference).map_err(|e| {
            failed(format!(
                "cannot read the stored credentials for {host}: {e} (--creds USER:PASSWORD \
                 gives them, --no-creds pulls anonymously)"
            ))
        })?;
        let (bytes, digest) = runtime
            .block_on(client.pull_manifest_raw(&reference, &auth, &MANIFEST_TYPES))
            .map_err(|e| failed(describe(&e, &reference)))?;
        check_metadata_cap(input, "manifest", bytes.len(), meta_cap)?;
        let media_type = media_type_of(&bytes);
        let index_json = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "manifests": [{
                "mediaType": media_type,
                "digest": digest,
                "size": bytes.len(),
                "annotations": {"org.opencontainers.image.ref.name": reference.whole()},
            }],
        }))
        .map_err(|e| failed(format!("cannot describe the manifest: {e}")))?;
        let store = Self {
            input: input.to_owned(),
            runtime: Arc::new(runtime),
            client: Arc::new(client),
            reference,
            auth,
            meta_cap,
            index_json,
            manifests: Mutex::new(HashSet::from([digest.clone()])),
            layer_sizes: Mutex::default(),
            top: (digest, bytes.into()),
            warnings: Vec::new(),
        };
        store.learn(&store.top.1);
        Ok(store)
    }

    fn failed(&self, message: String) -> Error {
        Error::Remote {
            location: Location::input(&self.input),
            message,
        }
    }

    fn manifest(&self, digest: &str) -> Result<Vec<u8>> {
        if digest == self.top.0 {
            return Ok(self.top.1.clone());
        }
        let at = self.reference.clone_with_digest(digest.to_owned());
        let (bytes, _) = self
            .runtime
            .block_on(
                self.client
                    .pull_manifest_raw(&at, &self.auth, &MANIFEST_TYPES),
            )
            .map_err(|e| self.failed(describe(&e, &at)))?;
        check_metadata_cap(&self.input, digest, bytes.len(), self.meta_cap)?;
        self.learn(&bytes);
        Ok(bytes.into())
    }

    /// Notes the children of an index and the layer sizes of an image manifest.
    fn learn(&self, bytes: &[u8]) {
        #[derive(serde::Deserialize)]
        struct Descriptor {
            digest: String,
            #[serde(default)]
            size: u64,
        }
        #[derive(serde::Deserialize)]
        struct Listing {
            #[serde(default)]
            manifests: Vec<Descriptor>,
            #[serde(default)]
            layers: Vec<Descriptor>,
        }
        let Ok(listing) = serde_json::from_slice::<Listing>(bytes) else {
            return; // The resolver reports malformed JSON with its path.
        };
        if let Ok(mut manifests) = self.manifests.lock() {
            manifests.extend(listing.manifests.into_iter().map(|d| d.digest));
        }
        if let Ok(mut sizes) = self.layer_sizes.lock() {
            sizes.extend(listing.layers.into_iter().map(|d| (d.digest, d.size)));
        }
    }

    /// A small blob (a config), read up to the metadata cap.
    fn small_blob(&self, digest: &str) -> Result<Vec<u8>> {
        let cap = self.meta_cap;
        let fetched = self.runtime.block_on(async {
            let mut stream = blob_chunks(&self.client, &self.reference, digest).await?;
            let mut bytes = Vec::new();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk?;
                if (bytes.len() + chunk.len()) as u64 > cap {
                    return Ok(None);
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(Some(bytes))
        });
        match fetched {
            Ok(Some(bytes)) => Ok(bytes),
            Ok(None) => Err(metadata_over_cap(&self.input, digest, None, cap)),
            Err(message) => Err(self.failed(message)),
        }
    }
}

impl Store for RegistryStore {
    fn read_meta(&self, path: &str) -> Result<Option<Vec<u8>>> {
        if path == "index.json" {
            return Ok(Some(self.index_json.clone()));
        }
        let Some(digest) = blob_digest(path) else {
            return Ok(None);
        };
        let is_manifest = self
            .manifests
            .lock()
            .is_ok_and(|m| m.contains(digest.as_str()));
        if is_manifest {
            self.manifest(&digest).map(Some)
        } else {
            self.small_blob(&digest).map(Some)
        }
    }

    fn layer(&self, path: &str) -> Result<Option<LayerInput>> {
        let Some(digest) = blob_digest(path) else {
            return Ok(None);
        };
        let size = self
            .layer_sizes
            .lock()
            .ok()
            .and_then(|s| s.get(&digest).copied())
            .unwrap_or(0);
        Ok(Some(LayerInput::Fetch(Arc::new(RemoteBlob {
            input: self.input.clone(),
            runtime: Arc::clone(&self.runtime),
            client: Arc::clone(&self.client),
            reference: self.reference.clone(),
            digest,
            size,
        }))))
    }

    fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    fn remote(&self) -> bool {
        true
    }
}

/// One layer blob in the registry.
struct RemoteBlob {
    input: String,
    runtime: Arc<Runtime>,
    client: Arc<Client>,
    reference: Reference,
    digest: String,
    size: u64,
}

impl std::fmt::Debug for RemoteBlob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteBlob")
            .field("digest", &self.digest)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl Fetch for RemoteBlob {
    fn size(&self) -> u64 {
        self.size
    }

    fn digest(&self) -> &str {
        &self.digest
    }

    fn open(&self) -> Fetched {
        let (tx, rx) = mpsc::channel::<Chunk>(IN_FLIGHT);
        let client = Arc::clone(&self.client);
        let reference = self.reference.clone();
        let digest = self.digest.clone();
        let size = self.size;
        // The task reads the blob to its end even when the walk has stopped early (the tar's
        // end blocks come before the gzip trailer): only the whole blob proves its digest.
        let task = self.runtime.spawn(async move {
            let mut stream = blob_chunks(&client, &reference, &digest).await?;
            let mut seen = 0u64;
            let mut walking = true;
            while let Some(chunk) = stream.next().await {
                let chunk = chunk?;
                seen += chunk.len() as u64;
                if seen > size {
                    return Err(format!(
                        "blob {digest}: the registry sent more than the manifest's {size} bytes"
                    ));
                }
                if walking && tx.send(Ok(chunk)).await.is_err() {
                    walking = false;
                }
            }
            if seen < size {
                return Err(format!(
                    "blob {digest}: the registry sent {seen} of its {size} bytes"
                ));
            }
            Ok(())
        });
        let runtime = Arc::clone(&self.runtime);
        let input = self.input.clone();
        Fetched {
            reader: Box::new(ChannelReader {
                rx,
                chunk: Vec::new(),
                at: 0,
            }),
            finish: Box::new(move || {
                let outcome = runtime
                    .block_on(task)
                    .unwrap_or_else(|e| Err(format!("the download failed: {e}")));
                outcome.map_err(|message| Error::Remote {
                    location: Location::input(input),
                    message,
                })
            }),
        }
    }

    fn open_part(&self, offset: u64, len: Option<u64>) -> Result<Part> {
        let client = Arc::clone(&self.client);
        let reference = self.reference.clone();
        let digest = self.digest.clone();
        let ranged = offset > 0 || len.is_some();
        let response = self.runtime.block_on(async {
            if ranged {
                client
                    .pull_blob_stream_partial(&reference, digest.as_str(), offset, len)
                    .await
            } else {
                client
                    .pull_blob_stream(&reference, digest.as_str())
                    .await
                    .map(BlobResponse::Full)
            }
        });
        let response = response.map_err(|e| Error::Remote {
            location: Location::input(&self.input),
            message: describe(&e, &self.reference),
        })?;
        let (stream, mut skip, note) = match response {
            BlobResponse::Partial(stream) => (stream, 0, PartNote::Range),
            BlobResponse::Full(stream) if ranged => (stream, offset, PartNote::RangeIgnored),
            BlobResponse::Full(stream) => (stream, 0, PartNote::FromStart),
        };
        let (tx, rx) = mpsc::channel::<Chunk>(IN_FLIGHT);
        let mut left = len.unwrap_or(u64::MAX);
        // Only the part is read: the transfer stops at its end or when the reader is dropped.
        self.runtime.spawn(async move {
            let mut stream = stream;
            while left > 0 {
                let Some(chunk) = stream.next().await else {
                    break;
                };
                let chunk = match chunk {
                    Ok(chunk) => chunk,
                    Err(e) => {
                        let message = format!("blob {digest} arrived damaged or cut short: {e}");
                        let _ = tx.send(Err(message)).await;
                        break;
                    }
                };
                let mut bytes = &chunk[..];
                let dropped = bytes.len().min(usize::try_from(skip).unwrap_or(usize::MAX));
                bytes = &bytes[dropped..];
                skip -= dropped as u64;
                let kept = bytes.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                left -= kept as u64;
                if kept > 0 && tx.send(Ok(bytes[..kept].to_vec())).await.is_err() {
                    break;
                }
            }
        });
        Ok(Part {
            reader: Box::new(ChannelReader {
                rx,
                chunk: Vec::new(),
                at: 0,
            }),
            note,
        })
    }
}

/// A blob's bytes as they arrive (the client checks them against the digest at the end);
/// every error names the blob.
async fn blob_chunks(
    client: &Client,
    reference: &Reference,
    digest: &str,
) -> std::result::Result<
    impl futures_util::Stream<Item = std::result::Result<Vec<u8>, String>> + Unpin + use<>,
    String,
> {
    let stream = client
        .pull_blob_stream(reference, digest)
        .await
        .map_err(|e| describe(&e, reference))?;
    let digest = digest.to_owned();
    Ok(stream.map(move |chunk| {
        chunk
            .map(Vec::from)
            .map_err(|e| format!("blob {digest} arrived damaged or cut short: {e}"))
    }))
}

/// Bytes of a blob, or why the transfer failed.
type Chunk = std::result::Result<Vec<u8>, String>;

/// The walk's side of a blob download.
struct ChannelReader {
    rx: mpsc::Receiver<Chunk>,
    chunk: Vec<u8>,
    at: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.chunk.len() {
            match self.rx.blocking_recv() {
                Some(Ok(chunk)) => {
                    self.chunk = chunk;
                    self.at = 0;
                }
                Some(Err(message)) => return Err(io::Error::other(message)),
                // The download ended or failed; `finish` tells which.
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fn media_type_of(manifest: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Typed {
        #[serde(rename = "mediaType")]
        media_type: Option<String>,
        manifests: Option<serde_json::Value>,
    }
    match serde_json::from_slice::<Typed>(manifest) {
        Ok(Typed {
            media_type: Some(t),
            ..
        }) => t,
        Ok(Typed {
            manifests: Some(_), ..
        }) => OCI_IMAGE_INDEX_MEDIA_TYPE.to_owned(),
        _ => OCI_IMAGE_MEDIA_TYPE.to_owned(),
    }
}

/// The client's error in words, with what to do about the common ones.
fn describe(err: &OciDistributionError, reference: &Reference) -> String {
    let host = reference.resolve_registry();
    match err {
        OciDistributionError::UnauthorizedError { url } => format!(
            "401 Unauthorized at {url}: the registry wants credentials (`docker login {host}`, \
             or --creds USER:PASSWORD)"
        ),
        OciDistributionError::AuthenticationFailure(reason) => {
            format!("{host} refused the credentials: {}", reason.trim())
        }
        OciDistributionError::RegistryError { envelope, url } => {
            let codes: Vec<String> = envelope
                .errors
                .iter()
                .map(|e| format!("{:?}: {}", e.code, e.message))
                .collect();
            let hint = if url.contains("/manifests/") {
                format!(" (no image {} in {host})", reference.whole())
            } else {
                String::new()
            };
            format!("{url}: {}{hint}", codes.join("; "))
        }
        OciDistributionError::ServerError { code, url, message } => {
            let reason = match code {
                403 => "403 Forbidden: these credentials may not pull this image",
                404 => "404 Not Found",
                _ => "",
            };
            let message: String = message.trim().chars().take(200).collect();
            if reason.is_empty() {
                format!("HTTP {code} at {url}: {message}")
            } else {
                format!("{reason} at {url}: {message}")
            }
        }
        OciDistributionError::RequestError(e) => {
            let mut text = format!("cannot reach {host}: {e}");
            let mut source = std::error::Error::source(e);
            while let Some(cause) = source {
                text.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            if e.is_connect() && !text.contains("http://") {
                text.push_str(" (for a registry without TLS on this machine, add --insecure)");
            }
            text
        }
        other => format!("{host}: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::registry_options::looks_like_reference;

    #[test]
    fn loopback_hosts_are_recognised_with_and_without_ports() {
        for host in ["localhost", "localhost:5000", "127.0.0.1:80", "[::1]:5000"] {
            assert!(is_loopback(host), "{host}");
        }
        for host in ["example.com", "10.0.0.1:5000", "localhost.example.com"] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[test]
    fn references_are_told_from_paths() {
        for spec in [
            "localhost:5000/app:1",
            "ghcr.io/org/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "ubuntu:24.04",
        ] {
            assert!(looks_like_reference(spec), "{spec}");
        }
        for spec in ["./app.tar", "/tmp/x", "image.tar", "scan.json", "Bad Name"] {
            assert!(!looks_like_reference(spec), "{spec}");
        }
    }

    #[test]
    fn blob_paths_give_digests() {
        assert_eq!(
            blob_digest("blobs/sha256/abc").as_deref(),
            Some("sha256:abc")
        );
        assert_eq!(blob_digest("index.json"), None);
        assert_eq!(blob_digest("blobs/sha256/a/b"), None);
    }
}

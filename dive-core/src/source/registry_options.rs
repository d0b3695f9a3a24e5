//! Who a registry source asks and how: plain HTTP or not, which credentials, and what
//! reads as a registry reference.

use std::str::FromStr;

use oci_client::Reference;
use oci_client::secrets::RegistryAuth;

/// How to reach a registry.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct RegistryOptions {
    /// When plain HTTP may be used instead of HTTPS.
    pub plain_http: PlainHttp,
    /// Who to be.
    pub credentials: Credentials,
}

impl RegistryOptions {
    /// HTTPS, credentials from the Docker configuration.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets when plain HTTP may be used.
    #[must_use]
    pub fn plain_http(mut self, plain_http: PlainHttp) -> Self {
        self.plain_http = plain_http;
        self
    }

    /// Sets the credentials.
    #[must_use]
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = credentials;
        self
    }
}

/// When plain HTTP (no TLS) may be used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlainHttp {
    /// Never: HTTPS with certificate checks.
    #[default]
    Never,
    /// For a registry on a loopback address (`localhost`, `127.0.0.1`, `[::1]`) only.
    Loopback,
    /// For any registry: credentials and images cross the network in the clear.
    Always,
}

/// Credentials for a registry.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum Credentials {
    /// From `$DOCKER_CONFIG/config.json` (or `~/.docker/config.json`): `auths` entries and
    /// credential helpers, as `docker login` left them; anonymous when none match.
    #[default]
    DockerConfig,
    /// No credentials.
    Anonymous,
    /// A user name and password (or token).
    Basic {
        /// User name.
        user: String,
        /// Password or token.
        password: String,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::DockerConfig => f.write_str("DockerConfig"),
            Credentials::Anonymous => f.write_str("Anonymous"),
            Credentials::Basic { user, .. } => f
                .debug_struct("Basic")
                .field("user", user)
                .finish_non_exhaustive(),
        }
    }
}

/// Whether `spec` reads as an image reference (`host/repo:tag`, `repo@sha256:…`).
pub(crate) fn looks_like_reference(spec: &str) -> bool {
    let pathish = spec.starts_with(['/', '.', '~'])
        || [".tar", ".tgz", ".gz", ".zst", ".json", ".scan"]
            .iter()
            .any(|ext| spec.ends_with(ext));
    !pathish && Reference::from_str(spec).is_ok()
}

pub(super) fn is_loopback(host: &str) -> bool {
    let name = host
        .rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(host, |(name, _)| name);
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name == "localhost"
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

pub(super) fn credentials(
    credentials: &Credentials,
    reference: &Reference,
) -> std::result::Result<RegistryAuth, String> {
    match credentials {
        Credentials::Anonymous => Ok(RegistryAuth::Anonymous),
        Credentials::Basic { user, password } => {
            Ok(RegistryAuth::Basic(user.clone(), password.clone()))
        }
        Credentials::DockerConfig => {
            use docker_credential::{CredentialRetrievalError as E, DockerCredential};
            // `docker login` files Docker Hub under its old index address.
            let server = match reference.resolve_registry() {
                "index.docker.io" | "registry-1.docker.io" | "docker.io" => {
                    "https://index.docker.io/v1/".to_owned()
                }
                host => host.to_owned(),
            };
            match docker_credential::get_credential(&server) {
                Ok(DockerCredential::UsernamePassword(user, password)) => {
                    Ok(RegistryAuth::Basic(user, password))
                }
                Ok(DockerCredential::IdentityToken(token)) => Ok(RegistryAuth::Bearer(token)),
                Err(E::ConfigNotFound | E::NoCredentialConfigured | E::ConfigReadError) => {
                    Ok(RegistryAuth::Anonymous)
                }
                Err(e) => Err(e.to_string()),
            }
        }
    }
}

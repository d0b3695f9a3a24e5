//! Package URLs (github.com/package-url/purl-spec): `pkg:TYPE/NAMESPACE/NAME@VERSION?QUALIFIERS`,
//! each component percent-encoded, qualifiers sorted by key.

use crate::attribution::{Ecosystem, Package};

/// The operating system an image says it is (`/etc/os-release`).
#[derive(Debug, Clone, Default)]
pub(super) struct Distro {
    /// `ID`, e.g. `rhel`, `debian`, `alpine`.
    pub id: Option<String>,
    /// `VERSION_ID`.
    pub version: Option<String>,
    /// `PRETTY_NAME`.
    pub pretty: Option<String>,
}

/// The purl of `package` in an image of `distro`.
pub(super) fn of(package: &Package, distro: &Distro) -> String {
    let name = package.name.as_str();
    let version = package.version.as_deref();
    let distro_qualifier = match (&distro.id, &distro.version) {
        (Some(id), Some(version)) => Some(format!("{id}-{version}")),
        _ => None,
    };
    let arch = package.arch.clone();
    match package.ecosystem {
        Ecosystem::Pip => {
            // PyPI names are compared lowercase with `_` as `-`.
            let name = name.to_ascii_lowercase().replace('_', "-");
            build("pypi", None, &name, version, vec![])
        }
        Ecosystem::Conda => build("conda", None, name, version, vec![]),
        Ecosystem::Npm => {
            // The purl spec lowercases npm names (the registry refuses new uppercase ones).
            let name = name.to_ascii_lowercase();
            match name.strip_prefix('@').and_then(|n| n.split_once('/')) {
                Some((scope, bare)) => {
                    build("npm", Some(&format!("@{scope}")), bare, version, vec![])
                }
                None => build("npm", None, &name, version, vec![]),
            }
        }
        Ecosystem::Dpkg => {
            let vendor = (distro.id.as_deref().unwrap_or("debian")).to_ascii_lowercase();
            let qualifiers = vec![("arch", arch), ("distro", distro_qualifier)];
            build("deb", Some(&vendor), name, version, qualifiers)
        }
        Ecosystem::Apk => {
            let vendor = (distro.id.as_deref().unwrap_or("alpine")).to_ascii_lowercase();
            let qualifiers = vec![("arch", arch), ("distro", distro_qualifier)];
            build("apk", Some(&vendor), name, version, qualifiers)
        }
        Ecosystem::Rpm => {
            // `rhel` is Red Hat's: the namespace its own SBOMs use.
            let vendor = match distro.id.as_deref() {
                Some("rhel") | None => "redhat".to_owned(),
                Some(id) if id.starts_with("opensuse") => "opensuse".to_owned(),
                Some(id) => id.to_ascii_lowercase(),
            };
            let (epoch, version) = match version.and_then(|v| v.split_once(':')) {
                Some((epoch, rest)) if epoch.bytes().all(|b| b.is_ascii_digit()) => {
                    (Some(epoch.to_owned()), Some(rest))
                }
                _ => (None, version),
            };
            let qualifiers = vec![
                ("arch", arch),
                ("distro", distro_qualifier),
                ("epoch", epoch),
            ];
            build("rpm", Some(&vendor), name, version, qualifiers)
        }
        Ecosystem::Go | Ecosystem::Cargo | Ecosystem::Maven => {
            recorded(package.ecosystem, name, version)
        }
    }
}

/// The purl of a module, crate or archive a binary or Java archive records: Go's module
/// path splits into namespace and name at its last `/`, Maven's `group:artifact` at `:`.
pub(super) fn recorded(ecosystem: Ecosystem, name: &str, version: Option<&str>) -> String {
    match ecosystem {
        // The purl spec lowercases Go's; Maven's group and artifact keep their case.
        Ecosystem::Go => {
            let name = name.to_ascii_lowercase();
            match name.rsplit_once('/') {
                Some((namespace, bare)) => build("golang", Some(namespace), bare, version, vec![]),
                None => build("golang", None, &name, version, vec![]),
            }
        }
        Ecosystem::Maven => match name.split_once(':') {
            Some((group, artifact)) => build("maven", Some(group), artifact, version, vec![]),
            None => build("maven", None, name, version, vec![]),
        },
        _ => build("cargo", None, name, version, vec![]),
    }
}

fn build(
    kind: &str,
    namespace: Option<&str>,
    name: &str,
    version: Option<&str>,
    qualifiers: Vec<(&str, Option<String>)>,
) -> String {
    let mut purl = format!("pkg:{kind}/");
    // Each segment of a namespace is encoded apart: `/` separates them.
    if let Some(namespace) = namespace {
        for segment in namespace.split('/').filter(|s| !s.is_empty()) {
            // `.` and `..` would read as paths: the spec forbids them as segments.
            if segment.bytes().all(|b| b == b'.') {
                purl.push_str(&"%2E".repeat(segment.len()));
            } else {
                purl.push_str(&encode(segment));
            }
            purl.push('/');
        }
    }
    purl.push_str(&encode(name));
    if let Some(version) = version {
        purl.push('@');
        purl.push_str(&encode(version));
    }
    let mut qualifiers: Vec<(&str, String)> = qualifiers
        .into_iter()
        .filter_map(|(k, v)| Some((k, v.filter(|v| !v.is_empty())?)))
        .collect();
    qualifiers.sort();
    for (i, (key, value)) in qualifiers.iter().enumerate() {
        purl.push(if i == 0 { '?' } else { '&' });
        purl.push_str(key);
        purl.push('=');
        purl.push_str(&encode(value));
    }
    purl
}

/// Percent-encodes all but the characters a purl component may hold as they are.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'-' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(ecosystem: Ecosystem, name: &str, version: &str, arch: Option<&str>) -> Package {
        Package {
            ecosystem,
            name: name.to_owned(),
            version: Some(version.to_owned()),
            location: String::new(),
            family: None,
            bytes: 0,
            files: 0,
            unrecorded_bytes: 0,
            hidden_bytes: 0,
            declared_bytes: None,
            layers: Vec::new(),
            arch: arch.map(str::to_owned),
            license: None,
            installed: true,
            dependencies: Vec::new(),
            toolchain: None,
        }
    }

    #[test]
    fn purls_follow_each_types_rules() {
        let rhel = Distro {
            id: Some("rhel".into()),
            version: Some("9.4".into()),
            pretty: None,
        };
        let cases = [
            (
                package(Ecosystem::Rpm, "glibc", "2:2.34-100.el9", Some("x86_64")),
                "pkg:rpm/redhat/glibc@2.34-100.el9?arch=x86_64&distro=rhel-9.4&epoch=2",
            ),
            (
                package(Ecosystem::Pip, "Nvidia_CUBLAS_cu12", "12.4.5.8", None),
                "pkg:pypi/nvidia-cublas-cu12@12.4.5.8",
            ),
            (
                package(Ecosystem::Npm, "@Types/Node", "20.1.0", None),
                "pkg:npm/%40types/node@20.1.0",
            ),
            (
                package(Ecosystem::Dpkg, "libc6", "2.36-9+deb12u4", None),
                "pkg:deb/rhel/libc6@2.36-9%2Bdeb12u4?distro=rhel-9.4",
            ),
        ];
        for (package, expected) in cases {
            assert_eq!(of(&package, &rhel), expected);
        }
        let none = Distro::default();
        assert_eq!(
            of(
                &package(Ecosystem::Apk, "musl", "1.2.5-r0", Some("x86_64")),
                &none
            ),
            "pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64"
        );
    }
}

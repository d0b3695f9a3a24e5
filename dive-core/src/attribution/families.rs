//! Families group packages the way people talk about an image: "the CUDA wheels", "the toolchain".

use globset::{Glob, GlobMatcher};
use serde::Deserialize;

use super::package::Ecosystem;
use crate::error::{Error, Location, Result};

/// Family rules from a config file, tried before the built-in table.
///
/// ```toml
/// [families]
/// acme = ["acme-*", "dpkg:libacme*"]   # globs over package names, optionally `ecosystem:`
/// nvidia = ["cupy-cuda*"]              # adds to a built-in family
/// ```
/// Names are matched lowercase with `_` and `.` as `-` (`nvidia_cublas_cu12` is
/// `nvidia-cublas-cu12`), so one glob covers a wheel, its dist-info and its `PyPI` name.
#[derive(Debug, Clone, Default)]
pub struct FamilyRules {
    rules: Vec<(String, Option<Ecosystem>, GlobMatcher)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FamilyFile {
    #[serde(default)]
    families: std::collections::BTreeMap<String, Vec<String>>,
}

impl FamilyRules {
    /// Parses the TOML text of a families file; `origin` names it in errors.
    pub fn from_toml(origin: &str, text: &str) -> Result<FamilyRules> {
        let error = |message: String| Error::Config {
            location: Location::input(origin),
            message,
        };
        let file: FamilyFile = toml::from_str(text).map_err(|e| error(e.to_string()))?;
        let mut rules = Vec::new();
        for (family, globs) in file.families {
            for pattern in globs {
                let (ecosystem, glob) = match pattern.split_once(':') {
                    Some((eco, glob)) => (Some(ecosystem_named(eco).ok_or_else(|| error(format!("{pattern:?}: unknown ecosystem {eco:?} (pip, conda, dpkg, apk, npm, rpm)")))?), glob),
                    None => (None, pattern.as_str()),
                };
                let matcher = Glob::new(&normalise(glob))
                    .map_err(|e| error(format!("{pattern:?}: {e}")))?
                    .compile_matcher();
                rules.push((family.clone(), ecosystem, matcher));
            }
        }
        Ok(FamilyRules { rules })
    }

    /// The family of a package: the first matching rule, else the built-in table.
    pub fn family_of(&self, ecosystem: Ecosystem, name: &str) -> Option<String> {
        let normal = normalise(name);
        self.rules
            .iter()
            .find(|(_, eco, glob)| eco.is_none_or(|e| e == ecosystem) && glob.is_match(&normal))
            .map(|(family, _, _)| family.clone())
            .or_else(|| family_of(ecosystem, name).map(str::to_owned))
    }
}

/// Lowercase with `_` and `.` as `-`, as package names are compared.
pub(crate) fn normalise(name: &str) -> String {
    name.to_ascii_lowercase().replace(['_', '.'], "-")
}

/// `pip`, `dpkg`… as written before a `:` in a glob.
pub(crate) fn ecosystem_named(name: &str) -> Option<Ecosystem> {
    [
        Ecosystem::Pip,
        Ecosystem::Conda,
        Ecosystem::Dpkg,
        Ecosystem::Apk,
        Ecosystem::Npm,
        Ecosystem::Rpm,
        Ecosystem::Go,
        Ecosystem::Cargo,
        Ecosystem::Maven,
    ]
    .into_iter()
    .find(|e| e.name() == name)
}

/// Name prefixes of CUDA runtime packages, as conda and Debian/NVIDIA repositories spell them.
const CUDA: [&str; 10] = [
    "cuda-",
    "libcublas",
    "libcudnn",
    "libnccl",
    "libcufft",
    "libcurand",
    "libcusparse",
    "libcusolver",
    "libnvjitlink",
    "libnpp",
];

/// Family of a package by the built-in table, or `None`.
pub fn family_of(ecosystem: Ecosystem, name: &str) -> Option<&'static str> {
    let name = normalise(name);
    let n = name.as_str();
    let starts = |prefixes: &[&str]| prefixes.iter().any(|p| n.starts_with(p));
    match ecosystem {
        Ecosystem::Pip | Ecosystem::Conda => {
            if n.starts_with("nvidia-") {
                Some("nvidia")
            } else if matches!(n, "torch" | "torchvision" | "torchaudio" | "pytorch") {
                Some("torch")
            } else if matches!(n, "triton" | "pytorch-triton") {
                Some("triton")
            } else if starts(&CUDA) {
                Some("cuda")
            } else if matches!(n, "gcc" | "gxx" | "binutils" | "make" | "cmake" | "ninja")
                || starts(&["gcc-", "gxx-", "binutils-"])
            {
                Some("toolchain")
            } else if n == "python" {
                Some("python")
            } else {
                None
            }
        }
        Ecosystem::Dpkg | Ecosystem::Apk => {
            if starts(&CUDA) {
                Some("cuda")
            } else if matches!(
                n,
                "make" | "build-essential" | "gcc" | "g++" | "cpp" | "musl-dev" | "libc-dev"
            ) || starts(&["gcc-", "g++-", "cpp-", "binutils", "libgcc-", "libstdc++-"])
                && !n.starts_with("libgcc-s")
                || n.ends_with("-dev")
            {
                Some("toolchain")
            } else if starts(&["python3", "libpython3", "python-"]) || n == "python" {
                Some("python")
            } else {
                None
            }
        }
        Ecosystem::Rpm => {
            if starts(&CUDA) {
                Some("cuda")
            } else if matches!(
                n,
                "make" | "gcc" | "gcc-c++" | "gcc-gfortran" | "cpp" | "binutils" | "kernel-headers"
            ) || starts(&["gcc-toolset-", "binutils-", "devtoolset-"])
                || n.ends_with("-devel")
            {
                Some("toolchain")
            } else if starts(&["python3", "python-"]) || n == "python" {
                Some("python")
            } else {
                None
            }
        }
        Ecosystem::Npm | Ecosystem::Go | Ecosystem::Cargo | Ecosystem::Maven => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_big_families_are_recognised() {
        assert_eq!(
            family_of(Ecosystem::Pip, "nvidia_cublas_cu12"),
            Some("nvidia")
        );
        assert_eq!(family_of(Ecosystem::Pip, "torch"), Some("torch"));
        assert_eq!(family_of(Ecosystem::Pip, "triton"), Some("triton"));
        assert_eq!(family_of(Ecosystem::Dpkg, "gcc-12"), Some("toolchain"));
        assert_eq!(family_of(Ecosystem::Dpkg, "libc6-dev"), Some("toolchain"));
        assert_eq!(
            family_of(Ecosystem::Dpkg, "libstdc++-12-dev"),
            Some("toolchain")
        );
        assert_eq!(family_of(Ecosystem::Dpkg, "libgcc-s1"), None);
        assert_eq!(family_of(Ecosystem::Dpkg, "cuda-cudart-12-1"), Some("cuda"));
        assert_eq!(
            family_of(Ecosystem::Dpkg, "python3.11-minimal"),
            Some("python")
        );
        assert_eq!(family_of(Ecosystem::Pip, "numpy"), None);
        assert_eq!(family_of(Ecosystem::Rpm, "libcublas-12-4"), Some("cuda"));
        assert_eq!(family_of(Ecosystem::Rpm, "libnccl"), Some("cuda"));
        assert_eq!(family_of(Ecosystem::Rpm, "gcc-c++"), Some("toolchain"));
        assert_eq!(family_of(Ecosystem::Rpm, "glibc-devel"), Some("toolchain"));
        assert_eq!(family_of(Ecosystem::Rpm, "kernel-headers"), Some("toolchain"));
        assert_eq!(family_of(Ecosystem::Rpm, "glibc"), None);
        assert_eq!(family_of(Ecosystem::Rpm, "python3-libs"), Some("python"));
    }
}

//! The rules file: dive's `.dive-ci` `rules:` section as it is, and our `dive-rs:` section.
//!
//! ```yaml
//! rules:                          # dive's three rules, dive's defaults and spellings
//!   lowestEfficiency: 0.95        # "disabled" skips a rule
//!   highestWastedBytes: 20MB
//!   highestUserWastedPercent: 0.20
//! dive-rs:
//!   final-size: <= 2GB            # a bare size means "at most"; `<`, `<=`, `==` are accepted
//!   compressed-size: 800MB
//!   layers: 20
//!   largest-layer: 1GB
//!   hidden: 50MB
//!   packages: { torch: <= 2GB, nvidia: == 0 }     # a family, else packages, by glob
//!   forbidden-packages: [gcc*, "*-dev", "dpkg:libssl*"]
//!   waste: { pip-cache: == 0 }
//!   paths: { "/root/.cache/**": == 0 }
//!   cuda-archs: [sm_80, sm_90]    # the GPUs the image runs on
//!   cuda-other-archs: <= 1GB      # device code none of them can run
//!   secrets: == 0                 # on unless "disabled": secrets that are not test data
//! ```

use std::fmt;

use globset::{Glob, GlobMatcher};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use crate::attribution::{Ecosystem, WasteClass};
use crate::error::{Error, Location, Result};
use crate::limits::parse_size;

/// dive's defaults: efficiency at least 0.9, user wasted at most 0.1, wasted bytes disabled.
const DEFAULT_LOWEST_EFFICIENCY: &str = "0.9";
const DEFAULT_HIGHEST_WASTED_BYTES: &str = "disabled";
const DEFAULT_HIGHEST_USER_WASTED_PERCENT: &str = "0.1";

/// A parsed rules file, ready to evaluate.
#[derive(Debug, Clone)]
pub struct Rules {
    /// Where the rules came from (a file name, or `dive's defaults`).
    pub origin: String,
    pub(crate) lowest_efficiency: Option<f64>,
    pub(crate) highest_wasted_bytes: Option<u64>,
    pub(crate) highest_user_wasted: Option<f64>,
    pub(crate) ours: Vec<OwnRule>,
    /// The GPUs the image runs on (`cuda-archs`), by SM number; empty when not said.
    pub cuda_archs: Vec<u32>,
}

/// One of our rules with its limit.
#[derive(Debug, Clone)]
pub(crate) struct OwnRule {
    pub name: String,
    pub kind: OwnKind,
    pub limit: Limit,
}

#[derive(Debug, Clone)]
pub(crate) enum OwnKind {
    FinalSize,
    CompressedSize,
    Layers,
    LargestLayer,
    Hidden,
    DuplicatePackages,
    Reinstalled,
    CudaOtherArchs,
    Secrets,
    Package(NameGlob),
    Forbidden(Vec<NameGlob>),
    Waste(WasteClass),
    Path(GlobMatcher),
}

/// A glob over package (or family) names, optionally limited to one ecosystem.
#[derive(Debug, Clone)]
pub(crate) struct NameGlob {
    pub text: String,
    pub ecosystem: Option<Ecosystem>,
    pub family_only: bool,
    pub package_only: bool,
    pub glob: GlobMatcher,
}

/// `<= n`, `< n` or `== n`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Limit {
    pub op: Op,
    pub value: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    AtMost,
    Below,
    Equal,
}

impl Limit {
    pub fn holds(self, measured: u64) -> bool {
        match self.op {
            Op::AtMost => measured <= self.value,
            Op::Below => measured < self.value,
            Op::Equal => measured == self.value,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self.op {
            Op::AtMost => "<=",
            Op::Below => "<",
            Op::Equal => "==",
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    rules: DiveSection,
    #[serde(default, rename = "dive-rs")]
    ours: OurSection,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct DiveSection {
    #[serde(default, rename = "lowestEfficiency")]
    lowest_efficiency: Option<Scalar>,
    #[serde(default, rename = "highestWastedBytes")]
    highest_wasted_bytes: Option<Scalar>,
    #[serde(default, rename = "highestUserWastedPercent")]
    highest_user_wasted_percent: Option<Scalar>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct OurSection {
    final_size: Option<Scalar>,
    compressed_size: Option<Scalar>,
    layers: Option<Scalar>,
    largest_layer: Option<Scalar>,
    hidden: Option<Scalar>,
    duplicate_packages: Option<Scalar>,
    reinstalled: Option<Scalar>,
    cuda_archs: Option<Vec<String>>,
    cuda_other_archs: Option<Scalar>,
    secrets: Option<Scalar>,
    #[serde(default)]
    packages: Ordered,
    #[serde(default)]
    forbidden_packages: Vec<String>,
    #[serde(default)]
    waste: Ordered,
    #[serde(default)]
    paths: Ordered,
}

/// A YAML scalar as written: dive's values may be numbers or text (`20MB`, `disabled`).
#[derive(Deserialize, Clone)]
#[serde(untagged)]
enum Scalar {
    Bool(bool),
    Int(u64),
    Float(f64),
    Text(String),
}

impl Scalar {
    fn text(&self) -> String {
        match self {
            Scalar::Bool(b) => b.to_string(),
            Scalar::Int(n) => n.to_string(),
            Scalar::Float(x) => x.to_string(),
            Scalar::Text(t) => t.trim().to_owned(),
        }
    }
}

/// A mapping kept in file order, so results list rules as written.
#[derive(Default)]
struct Ordered(Vec<(String, Scalar)>);

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Pairs;
        impl<'de> Visitor<'de> for Pairs {
            type Value = Ordered;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping of names to limits")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
                let mut pairs = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, Scalar>()? {
                    if pairs.iter().any(|(k, _): &(String, Scalar)| *k == key) {
                        return Err(de::Error::custom(format!("{key:?} is listed twice")));
                    }
                    pairs.push((key, value));
                }
                Ok(Ordered(pairs))
            }
        }
        deserializer.deserialize_map(Pairs)
    }
}

/// dive's three rule values from the command line (`--lowestEfficiency 0.9`), as text.
#[derive(Debug, Clone, Default)]
pub struct DiveOverrides {
    /// `lowestEfficiency`.
    pub lowest_efficiency: Option<String>,
    /// `highestWastedBytes`.
    pub highest_wasted_bytes: Option<String>,
    /// `highestUserWastedPercent`.
    pub highest_user_wasted_percent: Option<String>,
}

impl Rules {
    /// dive's default rules, as dive applies them without a `.dive-ci`.
    pub fn dive_defaults() -> Rules {
        Rules::from_yaml("dive's defaults", "").unwrap_or_else(|_| Rules {
            origin: "dive's defaults".to_owned(),
            lowest_efficiency: Some(0.9),
            highest_wasted_bytes: None,
            highest_user_wasted: Some(0.1),
            ours: Vec::new(),
            cuda_archs: Vec::new(),
        })
    }

    /// Parses a rules file; `origin` names it in errors. Unknown rule names are errors.
    pub fn from_yaml(origin: &str, text: &str) -> Result<Rules> {
        Self::parse(origin, text, &DiveOverrides::default())
    }

    /// Parses a rules file, with dive's rules overridden from the command line.
    pub fn parse(origin: &str, text: &str, overrides: &DiveOverrides) -> Result<Rules> {
        let error = |message: String| Error::Config {
            location: Location::input(origin),
            message,
        };
        // An empty file (or one holding only comments) is dive's defaults.
        let file: File = if text.lines().all(|l| {
            let l = l.trim();
            l.is_empty() || l.starts_with('#') || l == "---"
        }) {
            File::default()
        } else {
            serde_saphyr::from_str(text).map_err(|e| error(e.to_string()))?
        };
        let dive = file.rules;
        let pick = |cli: &Option<String>, file: Option<Scalar>, default: &str| {
            cli.clone()
                .or_else(|| file.map(|s| s.text()))
                .unwrap_or_else(|| default.to_owned())
        };
        let lowest = pick(
            &overrides.lowest_efficiency,
            dive.lowest_efficiency,
            DEFAULT_LOWEST_EFFICIENCY,
        );
        let wasted = pick(
            &overrides.highest_wasted_bytes,
            dive.highest_wasted_bytes,
            DEFAULT_HIGHEST_WASTED_BYTES,
        );
        let user = pick(
            &overrides.highest_user_wasted_percent,
            dive.highest_user_wasted_percent,
            DEFAULT_HIGHEST_USER_WASTED_PERCENT,
        );
        let cuda_archs = cuda_archs(&file.ours).map_err(error)?;
        Ok(Rules {
            cuda_archs,
            origin: origin.to_owned(),
            lowest_efficiency: dive_ratio("lowestEfficiency", &lowest).map_err(error)?,
            highest_wasted_bytes: dive_bytes("highestWastedBytes", &wasted).map_err(error)?,
            highest_user_wasted: dive_ratio("highestUserWastedPercent", &user).map_err(error)?,
            ours: own_rules(file.ours).map_err(error)?,
        })
    }

    /// How many rules there are, dive's three included.
    pub fn len(&self) -> usize {
        3 + self.ours.len()
    }

    /// Never: dive's three rules are always listed (perhaps disabled).
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// dive's spellings of "off": empty, `disabled`, `off`, `false`, in any case.
fn disabled(text: &str) -> bool {
    let text = text.trim().to_ascii_lowercase();
    matches!(text.as_str(), "" | "disabled" | "off" | "false")
}

fn dive_ratio(name: &str, text: &str) -> std::result::Result<Option<f64>, String> {
    if disabled(text) {
        return Ok(None);
    }
    match text.parse::<f64>() {
        Ok(x) if x.is_finite() && (0.0..=1.0).contains(&x) => Ok(Some(x)),
        _ => Err(format!(
            "{name}: {text:?} is not a ratio between 0 and 1 (or \"disabled\")"
        )),
    }
}

fn dive_bytes(name: &str, text: &str) -> std::result::Result<Option<u64>, String> {
    if disabled(text) {
        return Ok(None);
    }
    parse_size(text)
        .map(Some)
        .ok_or_else(|| format!("{name}: {text:?} is not a size like 20MB (or \"disabled\")"))
}

fn limit(rule: &str, scalar: &Scalar, count: bool) -> std::result::Result<Limit, String> {
    let text = scalar.text();
    let (op, rest) = if let Some(rest) = text.strip_prefix("<=") {
        (Op::AtMost, rest)
    } else if let Some(rest) = text.strip_prefix("==") {
        (Op::Equal, rest)
    } else if let Some(rest) = text.strip_prefix('<') {
        (Op::Below, rest)
    } else if text.starts_with(['>', '=', '!']) {
        return Err(format!(
            "{rule}: {text:?}: limits are maxima, written `<= 2GB`, `< 2GB`, `== 0` or `2GB`"
        ));
    } else {
        (Op::AtMost, text.as_str())
    };
    let rest = rest.trim();
    let value = if count {
        rest.parse::<u64>().ok()
    } else {
        parse_size(rest)
    };
    let what = if count {
        "a count"
    } else {
        "a size like 300MB, 2GB, 1.5GiB"
    };
    value
        .map(|value| Limit { op, value })
        .ok_or_else(|| format!("{rule}: {rest:?} is not {what}"))
}

fn name_glob(text: &str) -> std::result::Result<NameGlob, String> {
    let (mut family_only, mut package_only, mut ecosystem) = (false, false, None);
    let mut glob = text;
    if let Some((prefix, rest)) = text.split_once(':') {
        match prefix {
            "family" => family_only = true,
            "package" => package_only = true,
            other => {
                ecosystem = Some(crate::attribution::families::ecosystem_named(other).ok_or_else(
                    || format!("{text:?}: unknown prefix {other:?} (family, package, pip, conda, dpkg, apk, npm, rpm)"),
                )?);
                package_only = true;
            }
        }
        glob = rest;
    }
    let matcher = Glob::new(&crate::attribution::families::normalise(glob))
        .map_err(|e| format!("{text:?}: {e}"))?
        .compile_matcher();
    Ok(NameGlob {
        text: text.to_owned(),
        ecosystem,
        family_only,
        package_only,
        glob: matcher,
    })
}

/// `cuda-archs: [sm_80, sm_90]` as SM numbers; `cuda-other-archs` needs them.
fn cuda_archs(section: &OurSection) -> std::result::Result<Vec<u32>, String> {
    let names = section.cuda_archs.as_deref().unwrap_or_default();
    let mut gpus = Vec::new();
    for name in names {
        let gpu = crate::attribution::parse_gpu_arch(name).ok_or_else(|| {
            format!("cuda-archs: {name:?} is not a GPU architecture like sm_80, sm_90a or 8.6")
        })?;
        if !gpus.contains(&gpu) {
            gpus.push(gpu);
        }
    }
    if section.cuda_other_archs.is_some() && gpus.is_empty() {
        return Err(
            "cuda-other-archs needs the GPUs the image runs on: cuda-archs: [sm_80, sm_90]"
                .to_owned(),
        );
    }
    Ok(gpus)
}

fn own_rules(section: OurSection) -> std::result::Result<Vec<OwnRule>, String> {
    let mut rules = Vec::new();
    let mut add = |name: &str, kind: OwnKind, scalar: &Scalar, count: bool| {
        rules.push(OwnRule {
            name: name.to_owned(),
            kind,
            limit: limit(name, scalar, count)?,
        });
        Ok::<(), String>(())
    };
    for (name, kind, scalar, count) in [
        ("final-size", OwnKind::FinalSize, &section.final_size, false),
        (
            "compressed-size",
            OwnKind::CompressedSize,
            &section.compressed_size,
            false,
        ),
        ("layers", OwnKind::Layers, &section.layers, true),
        (
            "largest-layer",
            OwnKind::LargestLayer,
            &section.largest_layer,
            false,
        ),
        ("hidden", OwnKind::Hidden, &section.hidden, false),
        (
            "duplicate-packages",
            OwnKind::DuplicatePackages,
            &section.duplicate_packages,
            true,
        ),
        (
            "reinstalled",
            OwnKind::Reinstalled,
            &section.reinstalled,
            false,
        ),
        (
            "cuda-other-archs",
            OwnKind::CudaOtherArchs,
            &section.cuda_other_archs,
            false,
        ),
    ] {
        if let Some(scalar) = scalar {
            add(name, kind, scalar, count)?;
        }
    }
    for (pattern, scalar) in &section.packages.0 {
        let glob = name_glob(pattern)?;
        add(
            &format!("packages.{pattern}"),
            OwnKind::Package(glob),
            scalar,
            false,
        )?;
    }
    if !section.forbidden_packages.is_empty() {
        let globs = section
            .forbidden_packages
            .iter()
            .map(|p| name_glob(p))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        add(
            "forbidden-packages",
            OwnKind::Forbidden(globs),
            &Scalar::Int(0),
            true,
        )?;
    }
    for (class, scalar) in &section.waste.0 {
        let found = WasteClass::ALL
            .into_iter()
            .find(|c| c.name() == class)
            .ok_or_else(|| {
                let names: Vec<&str> = WasteClass::ALL.iter().map(|c| c.name()).collect();
                format!(
                    "waste.{class}: unknown waste class; known: {}",
                    names.join(", ")
                )
            })?;
        add(
            &format!("waste.{class}"),
            OwnKind::Waste(found),
            scalar,
            false,
        )?;
    }
    for (pattern, scalar) in &section.paths.0 {
        let relative = pattern.trim_start_matches('/');
        let glob = globset::GlobBuilder::new(relative)
            .literal_separator(true)
            .build()
            .map_err(|e| format!("paths.{pattern}: {e}"))?
            .compile_matcher();
        add(
            &format!("paths.{pattern}"),
            OwnKind::Path(glob),
            scalar,
            false,
        )?;
    }
    // On by default, after the file's own: a shipped credential fails the gate unless the
    // file says `secrets: disabled`.
    match &section.secrets {
        Some(scalar) if disabled(&scalar.text()) => {}
        Some(scalar) => add("secrets", OwnKind::Secrets, scalar, true)?,
        None => add(
            "secrets",
            OwnKind::Secrets,
            &Scalar::Text("== 0".to_owned()),
            true,
        )?,
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(parse_size("2GB"), Some(2_000_000_000));
        assert_eq!(parse_size("1.5GiB"), Some(1_610_612_736));
        assert_eq!(parse_size("300MB"), Some(300_000_000));
        assert_eq!(parse_size("20 MB"), Some(20_000_000));
        assert_eq!(parse_size("0"), Some(0));
        assert_eq!(parse_size("12KiB"), Some(12_288));
        assert_eq!(parse_size("lots"), None);
    }

    #[test]
    fn limits_take_an_operator_or_mean_at_most() {
        let l = |text: &str| limit("r", &Scalar::Text(text.to_owned()), false);
        assert_eq!(
            l("2GB").map(|l| (l.op, l.value)),
            Ok((Op::AtMost, 2_000_000_000))
        );
        assert_eq!(l("<= 2GB").map(|l| l.op), Ok(Op::AtMost));
        assert_eq!(l("< 1kB").map(|l| (l.op, l.value)), Ok((Op::Below, 1000)));
        assert_eq!(l("== 0").map(|l| (l.op, l.value)), Ok((Op::Equal, 0)));
        assert!(l(">= 2GB").is_err_and(|e| e.contains("maxima")));
        assert!(l("== lots").is_err_and(|e| e.contains("not a size")));
        assert!(limit("layers", &Scalar::Text("1.5".into()), true).is_err());
    }
}

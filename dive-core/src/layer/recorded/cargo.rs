//! A Rust program's `cargo auditable` section (`.dep-v0`): zlib-compressed JSON listing
//! every crate of the build, the root crate marked, build-time-only crates marked `build`.

use serde::Deserialize;

use super::{BuildKind, InflateBudget, Recorded};

/// The section's name.
pub(crate) const SECTION: &[u8] = b".dep-v0";
/// Bytes of the section read at most (cargo auditable compresses a few hundred crates into
/// a few KiB).
pub(crate) const SECTION_MAX: usize = 4 << 20;
/// Bytes it may inflate to; more is refused, as `auditable-info` refuses past its limit.
const INFLATED_MAX: u64 = 8 << 20;

/// The JSON's root.
#[derive(Deserialize)]
struct Info {
    packages: Vec<Crate>,
}

/// One crate of the build.
#[derive(Deserialize)]
struct Crate {
    name: String,
    version: String,
    /// `runtime` (the default) or `build`: in the build only, not in the program.
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    root: bool,
}

/// What the section's bytes `section` say, inflated within `budget`; an error sentence when
/// they cannot be read.
pub(crate) fn parse(section: &[u8], budget: &mut InflateBudget) -> Result<Recorded, String> {
    let json = super::inflate(flate2::read::ZlibDecoder::new(section), INFLATED_MAX, budget)
        .map_err(|err| format!("cargo auditable data {err}"))?;
    let info: Info = serde_json::from_slice(&json)
        .map_err(|err| format!("cargo auditable data is not its JSON: {err}"))?;
    let root = info.packages.iter().find(|c| c.root);
    let name = root.map_or("unknown", |c| c.name.as_str());
    let mut recorded = Recorded::new(BuildKind::Cargo, name);
    recorded.version = root.map(|c| super::capped(&c.version, super::VERSION_MAX));
    for krate in &info.packages {
        if krate.root || krate.kind.as_deref() == Some("build") {
            continue;
        }
        recorded.depend(&krate.name, Some(&krate.version));
    }
    Ok(recorded.finish())
}

#[cfg(test)]
mod tests {
    use dive_testdata::binaries::zlib;

    use super::*;

    #[test]
    fn the_root_crate_with_its_runtime_crates() {
        let json = br#"{"packages":[{"name":"buildonly","version":"0.1.0","source":"local","kind":"build"},{"name":"tool","version":"0.2.0","source":"local","dependencies":[0,2],"root":true},{"name":"serde","version":"1.0.210","source":"crates.io","dependencies":[]}],"format":1}"#;
        let recorded = parse(&zlib(json), &mut InflateBudget::new(1 << 20)).unwrap();
        assert_eq!(recorded.kind, BuildKind::Cargo);
        assert_eq!((recorded.name.as_str(), recorded.version.as_deref()), ("tool", Some("0.2.0")));
        assert_eq!(recorded.dependencies.len(), 1);
        assert_eq!(recorded.dependencies[0].name, "serde");
    }

    #[test]
    fn a_bomb_and_junk_are_refused() {
        let mut budget = InflateBudget::new(1 << 30);
        let bomb = zlib(&vec![b' '; (INFLATED_MAX + 10) as usize]);
        assert!(bomb.len() < 64 << 10);
        assert!(parse(&bomb, &mut budget).unwrap_err().contains("inflates past"));
        assert_eq!(budget.spent(), INFLATED_MAX);
        assert!(parse(b"not zlib", &mut budget).is_err());
        assert!(parse(&zlib(b"{\"packages\": 3}"), &mut budget).is_err());
        // A layer's allowance, spent: nothing more is inflated.
        let mut small = InflateBudget::new(1 << 20);
        assert!(parse(&bomb, &mut small).unwrap_err().contains("allowance"));
        assert!(small.exhausted());
        assert_eq!(small.spent(), 1 << 20);
    }
}

//! BuildKit's provenance attestation (`--provenance=mode=max`): which Dockerfile line wrote
//! each layer, exactly, where the history only gives a command to match.
//!
//! BuildKit stores it beside the image in the index: a manifest annotated
//! `vnd.docker.reference.type: attestation-manifest` and `vnd.docker.reference.digest: <the
//! image manifest>`, whose layer (`in-toto.io/predicate-type: https://slsa.dev/provenance/…`)
//! is an in-toto statement. Its BuildKit metadata (SLSA v1:
//! `predicate.runDetails.metadata.buildkit_metadata`; v0.2:
//! `predicate.metadata["https://mobyproject.org/buildkit@v1#metadata"]`) holds `layers`
//! (`"step<N>:<output>"` → the layer chains of that step's result, each a list of
//! descriptors, its own layer last), `source.locations` (`"step<N>"` → the ranges of the
//! Dockerfile that made the step, lines 1-based) and `source.infos` (each source file's name
//! and bytes).
//!
//! Budget: the statement is one blob within `--max-metadata`, parsed once; what is kept is a
//! map entry per layer digest it names and the source files' bytes (within the blob's size).

use std::collections::HashMap;

use base64::Engine as _;
use serde_json::Value;

/// The annotation naming the image manifest an attestation manifest describes.
pub(crate) const REFERENCE_DIGEST: &str = "vnd.docker.reference.digest";
/// The annotation naming an in-toto layer's predicate.
pub(crate) const PREDICATE_TYPE: &str = "in-toto.io/predicate-type";
/// What provenance predicates' types begin with (v0.2 and v1).
pub(crate) const SLSA_PROVENANCE: &str = "https://slsa.dev/provenance/";

/// The layers a provenance attestation places in a Dockerfile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Provenance {
    /// Each source file BuildKit read: its name and bytes.
    pub(crate) sources: Vec<(String, Vec<u8>)>,
    /// Layer digest (`sha256:…`) → (source index, first line, 1-based) of the step that
    /// wrote it. A layer two steps claim at different lines is left out.
    pub(crate) layers: HashMap<String, (usize, usize)>,
}

impl Provenance {
    /// The provenance an in-toto statement holds, if it is BuildKit's with layers and
    /// source locations (`mode=max`).
    #[cfg(test)]
    pub(crate) fn parse(statement: &[u8]) -> Option<Provenance> {
        Self::parse_with_secrets(statement).0
    }

    /// The provenance an in-toto statement holds, and the secrets among the build
    /// arguments it records (`mode=max` keeps their values), redacted.
    pub(crate) fn parse_with_secrets(
        statement: &[u8],
    ) -> (Option<Provenance>, Vec<crate::secrets::Secret>) {
        let Ok(statement) = serde_json::from_slice::<Value>(statement) else {
            return (None, Vec::new());
        };
        let Some(predicate) = statement.get("predicate") else {
            return (None, Vec::new());
        };
        let args = predicate
            .pointer("/buildDefinition/externalParameters/request/args")
            .or_else(|| predicate.pointer("/invocation/parameters/args"))
            .and_then(Value::as_object);
        let pairs = args.into_iter().flatten().filter_map(|(key, value)| {
            Some((key.strip_prefix("build-arg:")?, value.as_str()?))
        });
        let secrets =
            crate::secrets::named_values(crate::secrets::SecretSource::Provenance, pairs);
        (Self::layers_of(predicate), secrets)
    }

    fn layers_of(predicate: &Value) -> Option<Provenance> {
        let metadata = predicate
            .pointer("/runDetails/metadata/buildkit_metadata")
            .or_else(|| {
                predicate
                    .get("metadata")?
                    .get("https://mobyproject.org/buildkit@v1#metadata")
            })?;
        let source = metadata.get("source")?;
        let sources: Vec<(String, Vec<u8>)> = source
            .get("infos")?
            .as_array()?
            .iter()
            .map(|info| {
                let name = info.get("filename").and_then(Value::as_str).unwrap_or("");
                let data = info
                    .get("data")
                    .and_then(Value::as_str)
                    .and_then(|d| base64::engine::general_purpose::STANDARD.decode(d).ok())
                    .unwrap_or_default();
                (name.to_owned(), data)
            })
            .collect();
        let locations = source.get("locations")?.as_object()?;
        let mut layers: HashMap<String, Option<(usize, usize)>> = HashMap::new();
        for (key, chains) in metadata.get("layers")?.as_object()? {
            let step = key.split(':').next().unwrap_or(key);
            let Some(at) = locations.get(step).and_then(first_line) else {
                continue;
            };
            for chain in chains.as_array().into_iter().flatten() {
                let last = chain.as_array().and_then(|c| c.last());
                let Some(digest) = last.and_then(|d| d.get("digest")).and_then(Value::as_str)
                else {
                    continue;
                };
                layers
                    .entry(digest.to_owned())
                    .and_modify(|seen| {
                        if *seen != Some(at) {
                            *seen = None;
                        }
                    })
                    .or_insert(Some(at));
            }
        }
        let layers: HashMap<String, (usize, usize)> = layers
            .into_iter()
            .filter_map(|(digest, at)| Some((digest, at?)))
            .collect();
        (!layers.is_empty()).then_some(Provenance { sources, layers })
    }
}

/// The (source index, first line) of a step's locations: the first range of its first
/// location.
fn first_line(locations: &Value) -> Option<(usize, usize)> {
    let location = locations.get("locations")?.as_array()?.first()?;
    let source = location
        .get("sourceIndex")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let line = location
        .get("ranges")?
        .as_array()?
        .first()?
        .pointer("/start/line")?
        .as_u64()?;
    Some((usize::try_from(source).ok()?, usize::try_from(line).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A statement in BuildKit's SLSA v1 shape: two layers of two steps, one a base layer
    /// whose step has no location, and a digest two steps claim at different lines.
    #[test]
    fn layers_map_to_the_lines_of_their_steps() {
        let data = base64::engine::general_purpose::STANDARD.encode("FROM x\nRUN a\nRUN b\n");
        let statement = serde_json::json!({
            "_type": "https://in-toto.io/Statement/v1",
            "predicateType": "https://slsa.dev/provenance/v1",
            "predicate": {"runDetails": {"metadata": {"buildkit_metadata": {
                "source": {
                    "infos": [{"filename": "Dockerfile", "data": data}],
                    "locations": {
                        "step1": {"locations": [{"ranges": [{"start": {"line": 2}, "end": {"line": 2}}]}]},
                        "step2": {"locations": [{"ranges": [{"start": {"line": 3}, "end": {"line": 3}}]}]},
                        "step3": {"locations": [{"ranges": [{"start": {"line": 1}}]}]},
                        "step0": {}
                    }
                },
                "layers": {
                    "step0:0": [[{"digest": "sha256:base"}]],
                    "step1:0": [[{"digest": "sha256:base"}, {"digest": "sha256:a"}]],
                    "step2:0": [[{"digest": "sha256:base"}, {"digest": "sha256:a"}, {"digest": "sha256:b"}]],
                    "step3:0": [[{"digest": "sha256:twice"}]],
                    "step2:1": [[{"digest": "sha256:twice"}]]
                }
            }}}}
        });
        let provenance = Provenance::parse(statement.to_string().as_bytes()).unwrap();
        assert_eq!(provenance.sources[0].0, "Dockerfile");
        assert_eq!(provenance.sources[0].1, b"FROM x\nRUN a\nRUN b\n");
        let mut layers: Vec<_> = provenance.layers.into_iter().collect();
        layers.sort();
        assert_eq!(
            layers,
            [
                ("sha256:a".to_owned(), (0, 2)),
                ("sha256:b".to_owned(), (0, 3))
            ]
        );
    }

    /// SLSA v0.2 keeps the same metadata under BuildKit's own key.
    #[test]
    fn slsa_v02_statements_are_read_too() {
        let statement = serde_json::json!({
            "predicateType": "https://slsa.dev/provenance/v0.2",
            "predicate": {"metadata": {"https://mobyproject.org/buildkit@v1#metadata": {
                "source": {
                    "infos": [{"filename": "Dockerfile"}],
                    "locations": {"step1": {"locations": [{"sourceIndex": 0,
                        "ranges": [{"start": {"line": 7}}]}]}}
                },
                "layers": {"step1:0": [[{"digest": "sha256:a"}]]}
            }}}
        });
        let provenance = Provenance::parse(statement.to_string().as_bytes()).unwrap();
        assert_eq!(provenance.layers["sha256:a"], (0, 7));
    }

    /// A crafted statement of 5,000 steps, each naming a chain of 100 layers (a real one
    /// names every layer below each step): what is kept is one entry per last layer, not
    /// per descriptor.
    #[test]
    fn long_chains_keep_one_entry_per_layer() {
        let mut locations = serde_json::Map::new();
        let mut layers = serde_json::Map::new();
        for step in 0..5_000 {
            let chain: Vec<serde_json::Value> = (0..100)
                .map(|i| serde_json::json!({"digest": format!("sha256:{step}-{i}")}))
                .collect();
            layers.insert(format!("step{step}:0"), serde_json::json!([chain]));
            locations.insert(
                format!("step{step}"),
                serde_json::json!({"locations": [{"ranges": [{"start": {"line": step + 1}}]}]}),
            );
        }
        let statement = serde_json::json!({"predicate": {"runDetails": {"metadata": {
            "buildkit_metadata": {"source": {"infos": [{"filename": "Dockerfile"}],
            "locations": locations}, "layers": layers}}}}});
        let provenance = Provenance::parse(statement.to_string().as_bytes()).unwrap();
        assert_eq!(provenance.layers.len(), 5_000);
        assert_eq!(provenance.layers["sha256:4999-99"], (0, 5_000));
    }

    #[test]
    fn min_mode_and_other_statements_hold_none() {
        let min = serde_json::json!({"predicate": {"runDetails": {"metadata": {
            "buildkit_metadata": {"vcs": {}}}}}});
        assert!(Provenance::parse(min.to_string().as_bytes()).is_none());
        assert!(Provenance::parse(b"not json").is_none());
        assert!(Provenance::parse(b"[1, 2]").is_none());
    }
}

//! CycloneDX 1.6 JSON.

use serde_json::{Value, json};

use crate::Analysis;

use super::model::{Bom, Component, gather};
use super::{TOOL, VERSION, image_name, now, sha256_hex, uuid};

/// The CycloneDX 1.6 document of `analysis`; with `files`, each component's visible files
/// as evidence (`evidence.occurrences`).
pub(super) fn cyclonedx(analysis: &Analysis, files: bool) -> Value {
    let bom = gather(analysis, files);
    let mut components: Vec<Value> = bom
        .components
        .iter()
        .enumerate()
        .map(|(i, c)| component(i, c))
        .collect();
    let mut refs: Vec<String> = (0..bom.components.len()).map(reference).collect();
    // What each binary or archive is built from: its nested components.
    let mut graph = vec![json!({ "ref": "image", "dependsOn": [] })];
    for (i, c) in bom.components.iter().enumerate() {
        let built_from: Vec<String> = (0..c.dependencies.len()).map(|j| part(i, j)).collect();
        if !built_from.is_empty() {
            graph.push(json!({ "ref": reference(i), "dependsOn": built_from }));
        }
    }
    // Scanners find the operating system's packages' advisories through it.
    if let Some(id) = &bom.distro.id {
        let mut os = json!({ "type": "operating-system", "bom-ref": "os", "name": id });
        if let Some(version) = &bom.distro.version {
            os["version"] = json!(version);
        }
        if let Some(pretty) = &bom.distro.pretty {
            os["description"] = json!(pretty);
        }
        components.insert(0, os);
        refs.insert(0, "os".to_owned());
    }
    json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": format!("urn:uuid:{}", uuid(analysis, &format!("cyclonedx {files}"))),
        "version": 1,
        "metadata": {
            "timestamp": now(),
            "tools": { "components": [{ "type": "application", "name": TOOL, "version": VERSION }] },
            "component": image(&bom),
        },
        "components": components,
        "dependencies": with_image(graph, refs),
    })
}

/// The dependency graph with the image depending on every top-level component.
fn with_image(mut graph: Vec<Value>, refs: Vec<String>) -> Vec<Value> {
    graph[0]["dependsOn"] = json!(refs);
    graph
}

/// The reference of dependency `j` of component `i`.
fn part(i: usize, j: usize) -> String {
    format!("package-{i}-{j}")
}

fn reference(i: usize) -> String {
    format!("package-{i}")
}

/// The image: a container, its version the config digest.
fn image(bom: &Bom<'_>) -> Value {
    let facts = &bom.analysis.image;
    let mut properties = vec![
        property("dive-rs:final_bytes", facts.final_bytes),
        property("dive-rs:hidden_bytes", facts.hidden_bytes),
        property("dive-rs:layers", facts.layer_count),
        property("dive-rs:removed_package_bytes", bom.removed_bytes()),
    ];
    if let Some(digest) = &facts.manifest_digest {
        properties.push(property("dive-rs:manifest_digest", digest));
    }
    if let Some(pretty) = &bom.distro.pretty {
        properties.push(property("dive-rs:os", pretty));
    }
    let mut image = json!({
        "type": "container",
        "bom-ref": "image",
        "name": image_name(bom.analysis),
        "version": facts.config_digest,
        "properties": properties,
    });
    if let Some(hex) = sha256_hex(&facts.config_digest) {
        image["hashes"] = json!([{ "alg": "SHA-256", "content": hex }]);
    }
    image
}

fn component(i: usize, c: &Component<'_>) -> Value {
    let p = c.package;
    let mut component = json!({
        "type": "library",
        "bom-ref": reference(i),
        "name": p.name,
        "purl": c.purl,
        "properties": c.properties().into_iter().map(|(n, v)| property(&n, v)).collect::<Vec<_>>(),
    });
    if let Some(version) = &p.version {
        component["version"] = json!(version);
    }
    if let Some(license) = &p.license {
        // A name, not an SPDX id: databases write what their packagers wrote.
        component["licenses"] = json!([{ "license": { "name": license } }]);
    }
    if !c.dependencies.is_empty() {
        let parts: Vec<Value> = (c.dependencies.iter().enumerate())
            .map(|(j, d)| {
                let mut part = json!({
                    "type": "library",
                    "bom-ref": part(i, j),
                    "name": d.name,
                    "purl": d.purl,
                });
                if let Some(version) = &d.version {
                    part["version"] = json!(version);
                }
                part
            })
            .collect();
        component["components"] = json!(parts);
    }
    if !c.files.is_empty() {
        let occurrences: Vec<Value> = c.files.iter().map(|f| json!({ "location": f })).collect();
        component["evidence"] = json!({ "occurrences": occurrences });
    }
    component
}

fn property(name: &str, value: impl ToString) -> Value {
    json!({ "name": name, "value": value.to_string() })
}

//! SPDX 2.3 JSON. SPDX has no free properties: our figures go in one annotation per package
//! (`name=value` lines). Files are not listed: an SPDX 2.3 file needs a SHA-1 of its
//! content, which the analysis does not compute.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::Analysis;

use super::model::{Component, gather};
use super::{TOOL, VERSION, image_name, now, sha256_hex, uuid};

/// The SPDX 2.3 document of `analysis`.
pub(super) fn spdx(analysis: &Analysis) -> Value {
    let bom = gather(analysis, false);
    let created = now();
    let tool = format!("Tool: {TOOL}-{VERSION}");
    // Each license text once, as a LicenseRef: a database's license is not checked against
    // SPDX's list, and an SPDX expression must be.
    let mut licenses: BTreeMap<&str, String> = BTreeMap::new();
    for c in &bom.components {
        if let Some(license) = &c.package.license {
            let next = format!("LicenseRef-dive-rs-{}", licenses.len() + 1);
            licenses.entry(license.as_str()).or_insert(next);
        }
    }
    let facts = &analysis.image;
    let mut image = json!({
        "SPDXID": "SPDXRef-Image",
        "name": image_name(analysis),
        "versionInfo": facts.config_digest,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "primaryPackagePurpose": "CONTAINER",
        "comment": format!(
            "dive-rs: {} bytes in the final image, {} hidden by later layers ({} of them of \
             packages later layers removed), {} layers",
            facts.final_bytes,
            facts.hidden_bytes,
            bom.removed_bytes(),
            facts.layer_count
        ),
    });
    if let Some(hex) = sha256_hex(&facts.config_digest) {
        image["checksums"] = json!([{ "algorithm": "SHA256", "checksumValue": hex }]);
    }
    let mut packages = vec![image];
    let mut relationships = vec![json!({
        "spdxElementId": "SPDXRef-DOCUMENT",
        "relationshipType": "DESCRIBES",
        "relatedSpdxElement": "SPDXRef-Image",
    })];
    if let Some(id) = &bom.distro.id {
        let mut os = json!({
            "SPDXID": "SPDXRef-OperatingSystem",
            "name": id,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "primaryPackagePurpose": "OPERATING-SYSTEM",
        });
        if let Some(version) = &bom.distro.version {
            os["versionInfo"] = json!(version);
        }
        packages.push(os);
        relationships.push(json!({
            "spdxElementId": "SPDXRef-Image",
            "relationshipType": "CONTAINS",
            "relatedSpdxElement": "SPDXRef-OperatingSystem",
        }));
    }
    for (i, c) in bom.components.iter().enumerate() {
        let id = format!("SPDXRef-Package-{i}");
        packages.push(package(&id, c, &licenses, &tool, &created));
        relationships.push(json!({
            "spdxElementId": "SPDXRef-Image",
            "relationshipType": "CONTAINS",
            "relatedSpdxElement": id,
        }));
        // A program links the modules it is built from; an archive holds its own.
        let how = match c.package.ecosystem {
            crate::attribution::Ecosystem::Maven => "CONTAINS",
            _ => "STATIC_LINK",
        };
        for (j, d) in c.dependencies.iter().enumerate() {
            let part = format!("{id}-{j}");
            let mut dependency = json!({
                "SPDXID": part,
                "name": d.name,
                "downloadLocation": "NOASSERTION",
                "filesAnalyzed": false,
                "externalRefs": [{
                    "referenceCategory": "PACKAGE-MANAGER",
                    "referenceType": "purl",
                    "referenceLocator": d.purl,
                }],
            });
            if let Some(version) = &d.version {
                dependency["versionInfo"] = json!(version);
            }
            packages.push(dependency);
            relationships.push(json!({
                "spdxElementId": id,
                "relationshipType": how,
                "relatedSpdxElement": part,
            }));
        }
    }
    let extracted: Vec<Value> = licenses
        .iter()
        .map(|(text, id)| json!({ "licenseId": id, "extractedText": text, "name": text }))
        .collect();
    let mut document = json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": image_name(analysis),
        "documentNamespace": format!(
            "https://spdx.org/spdxdocs/{TOOL}-{}",
            uuid(analysis, "spdx")
        ),
        "creationInfo": { "created": created, "creators": [tool] },
        "packages": packages,
        "relationships": relationships,
    });
    if !extracted.is_empty() {
        document["hasExtractedLicensingInfos"] = json!(extracted);
    }
    document
}

fn package(
    id: &str,
    c: &Component<'_>,
    licenses: &BTreeMap<&str, String>,
    tool: &str,
    created: &str,
) -> Value {
    let p = c.package;
    let declared = p
        .license
        .as_deref()
        .and_then(|l| licenses.get(l))
        .map_or("NOASSERTION", String::as_str);
    // One `name=value` line each: a value from the image (a location) cannot start a line.
    let figures: Vec<String> = c
        .properties()
        .into_iter()
        .map(|(name, value)| format!("{name}={}", one_line(&value)))
        .collect();
    let mut package = json!({
        "SPDXID": id,
        "name": p.name,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": declared,
        "copyrightText": "NOASSERTION",
        "externalRefs": [{
            "referenceCategory": "PACKAGE-MANAGER",
            "referenceType": "purl",
            "referenceLocator": c.purl,
        }],
        "annotations": [{
            "annotationDate": created,
            "annotationType": "OTHER",
            "annotator": tool,
            "comment": figures.join("\n"),
        }],
    });
    if let Some(version) = &p.version {
        package["versionInfo"] = json!(version);
    }
    package
}

/// `text` on one line: backslashes, line feeds and carriage returns escaped.
fn one_line(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}

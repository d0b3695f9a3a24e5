//! The versioned JSON document (`schema/analysis.v4.schema.json` describes every field).

use serde::Serialize;

use crate::analysis::{Analysis, LayerFacts};
use crate::attribution::{
    DuplicateGroup, FamilyTotal, Package, Reinstall, UnownedDir, Waste, without_gpu,
};
use crate::error::Warning;
use crate::layer::Arch;
use crate::tree::HiddenReason;

/// Version of the JSON document; bumped on any incompatible change.
pub const JSON_SCHEMA_VERSION: u32 = 4;

/// How many of the largest files the JSON lists.
const LARGEST_FILES: usize = 100;

#[derive(Serialize)]
struct Document<'a> {
    schema_version: u32,
    tool: Tool,
    input: &'a str,
    image: Image<'a>,
    layers: &'a [LayerFacts],
    hidden: Vec<Hidden>,
    largest_files: Vec<Largest>,
    packages: &'a [Package],
    families: &'a [FamilyTotal],
    unowned: &'a [UnownedDir],
    waste: &'a [Waste],
    duplicates: &'a [DuplicateGroup],
    reinstalls: &'a [Reinstall],
    cuda: Cuda<'a>,
    secrets: &'a [crate::secrets::Secret],
    warnings: &'a [Warning],
}

#[derive(Serialize)]
struct Cuda<'a> {
    device_bytes: u64,
    container_bytes: u64,
    by_arch: Vec<ArchBytes>,
    by_family: Vec<FamilyBytes>,
    by_package: Vec<PackageBytes<'a>>,
    files: Vec<CudaFileJson<'a>>,
    gpus: Option<Gpus>,
    without_gpu: Vec<CpuOnly>,
}

#[derive(Serialize)]
struct ArchBytes {
    arch: String,
    kind: String,
    bytes: u64,
}

fn arch_bytes(pairs: &[(Arch, u64)]) -> Vec<ArchBytes> {
    pairs
        .iter()
        .map(|(arch, bytes)| ArchBytes {
            arch: arch.to_string(),
            kind: arch.kind.name(),
            bytes: *bytes,
        })
        .collect()
}

#[derive(Serialize)]
struct FamilyBytes {
    family: String,
    bytes: u64,
}

#[derive(Serialize)]
struct PackageBytes<'a> {
    name: &'a str,
    ecosystem: crate::attribution::Ecosystem,
    location: &'a str,
    bytes: u64,
}

#[derive(Serialize)]
struct CudaFileJson<'a> {
    #[serde(flatten)]
    path: JsonPath,
    layer: usize,
    package: Option<&'a str>,
    scan: &'static str,
    device_bytes: u64,
    container_bytes: u64,
    embedded_bytes: u64,
    by_arch: Vec<ArchBytes>,
}

#[derive(Serialize)]
struct Gpus {
    archs: Vec<String>,
    not_for_your_gpus_bytes: u64,
    newest_ptx_bytes: u64,
    by_arch: Vec<ArchBytes>,
    files: Vec<GpuFile>,
}

#[derive(Serialize)]
struct GpuFile {
    #[serde(flatten)]
    path: JsonPath,
    bytes: u64,
}

#[derive(Serialize)]
struct CpuOnly {
    what: String,
    bytes: u64,
    files: u64,
}

fn cuda(analysis: &Analysis) -> Cuda<'_> {
    let attribution = &analysis.attribution;
    let cuda = &attribution.cuda;
    let package = |p: u32| attribution.packages.get(p as usize);
    let gpus = (!analysis.gpus.is_empty()).then(|| {
        let not_for = cuda.not_for(&analysis.gpus);
        Gpus {
            archs: analysis.gpus.iter().map(|g| format!("sm_{g}")).collect(),
            not_for_your_gpus_bytes: not_for.bytes,
            newest_ptx_bytes: not_for.newest_ptx_bytes,
            by_arch: arch_bytes(&not_for.by_arch),
            files: not_for
                .files
                .iter()
                .map(|&(i, bytes)| GpuFile {
                    path: JsonPath::new(&analysis.tree.path(cuda.files[i].node)),
                    bytes,
                })
                .collect(),
        }
    });
    Cuda {
        device_bytes: cuda.device_bytes,
        container_bytes: cuda.container_bytes,
        by_arch: arch_bytes(&cuda.by_arch),
        by_family: cuda
            .by_family(&attribution.packages)
            .into_iter()
            .map(|(family, bytes)| FamilyBytes { family, bytes })
            .collect(),
        by_package: cuda
            .by_package()
            .into_iter()
            .filter_map(|(p, bytes)| {
                let p = package(p)?;
                Some(PackageBytes {
                    name: &p.name,
                    ecosystem: p.ecosystem,
                    location: &p.location,
                    bytes,
                })
            })
            .collect(),
        files: cuda
            .files
            .iter()
            .map(|f| CudaFileJson {
                path: JsonPath::new(&analysis.tree.path(f.node)),
                layer: f.layer,
                package: f.owner.and_then(package).map(|p| p.name.as_str()),
                scan: f.code.scan.name(),
                device_bytes: f.code.device_bytes(),
                container_bytes: f.code.container_bytes,
                embedded_bytes: f.code.embedded_bytes,
                by_arch: arch_bytes(&f.code.by_arch),
            })
            .collect(),
        gpus,
        without_gpu: without_gpu(&analysis.tree, &attribution.packages, cuda)
            .into_iter()
            .map(|p| CpuOnly {
                what: p.what,
                bytes: p.bytes,
                files: p.files,
            })
            .collect(),
    }
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct Image<'a> {
    reference: Option<&'a str>,
    platform: Option<&'a str>,
    layout: crate::source::Layout,
    manifest_digest: Option<&'a str>,
    config_digest: &'a str,
    layer_count: usize,
    size_compressed: u64,
    size_uncompressed: u64,
    total_file_bytes: u64,
    final_bytes: u64,
    final_files: u64,
    hidden_bytes: u64,
    efficiency: f64,
    dive_efficiency: f64,
    dive_wasted_bytes: u64,
    dive_user_wasted_percent: f64,
    base: Option<&'a crate::analysis::BaseImage>,
    base_bytes: u64,
    own_bytes: u64,
}

#[derive(Serialize)]
struct Hidden {
    #[serde(flatten)]
    path: JsonPath,
    bytes: u64,
    added_in_layer: usize,
    hidden_by_layer: usize,
    reason: HiddenReason,
}

#[derive(Serialize)]
struct Largest {
    #[serde(flatten)]
    path: JsonPath,
    bytes: u64,
    layer: usize,
}

/// A path as `/usr/lib/x`; non-UTF-8 bytes become U+FFFD and the exact bytes go in `path_hex`.
#[derive(Serialize)]
struct JsonPath {
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    path_hex: Option<String>,
}

impl JsonPath {
    fn new(raw: &[u8]) -> Self {
        let mut full = Vec::with_capacity(raw.len() + 1);
        full.push(b'/');
        full.extend_from_slice(raw);
        match String::from_utf8(full) {
            Ok(path) => JsonPath {
                path,
                path_hex: None,
            },
            Err(err) => {
                let bytes = err.into_bytes();
                JsonPath {
                    path: String::from_utf8_lossy(&bytes).into_owned(),
                    path_hex: Some(crate::digest::hex(&bytes)),
                }
            }
        }
    }
}

/// The analysis as the versioned JSON document.
pub fn to_json(analysis: &Analysis) -> serde_json::Value {
    let facts = &analysis.image;
    let document = Document {
        schema_version: JSON_SCHEMA_VERSION,
        tool: Tool {
            name: "dive-rs",
            version: env!("CARGO_PKG_VERSION"),
        },
        input: &analysis.input,
        image: Image {
            reference: facts.reference.as_deref(),
            platform: facts.platform.as_deref(),
            layout: facts.layout,
            manifest_digest: facts.manifest_digest.as_deref(),
            config_digest: &facts.config_digest,
            layer_count: facts.layer_count,
            size_compressed: facts.size_compressed,
            size_uncompressed: facts.size_uncompressed,
            total_file_bytes: facts.total_file_bytes,
            final_bytes: facts.final_bytes,
            final_files: facts.final_files,
            hidden_bytes: facts.hidden_bytes,
            efficiency: facts.efficiency,
            dive_efficiency: facts.dive.efficiency,
            dive_wasted_bytes: facts.dive.wasted_bytes,
            dive_user_wasted_percent: facts.dive.user_wasted_fraction,
            base: facts.base.as_ref(),
            base_bytes: facts.base_bytes,
            own_bytes: facts.own_bytes,
        },
        layers: &analysis.layers,
        hidden: analysis
            .hidden
            .iter()
            .map(|h| Hidden {
                path: JsonPath::new(&h.path),
                bytes: h.bytes,
                added_in_layer: h.added_in_layer,
                hidden_by_layer: h.hidden_by_layer,
                reason: h.reason,
            })
            .collect(),
        largest_files: analysis
            .largest_files(LARGEST_FILES)
            .into_iter()
            .map(|f| Largest {
                path: JsonPath::new(&analysis.tree.path(f.node)),
                bytes: f.bytes,
                layer: f.layer,
            })
            .collect(),
        packages: &analysis.attribution.packages,
        families: &analysis.attribution.families,
        unowned: &analysis.attribution.unowned,
        waste: &analysis.attribution.waste,
        duplicates: &analysis.attribution.duplicates,
        reinstalls: &analysis.attribution.reinstalls,
        cuda: cuda(analysis),
        secrets: &analysis.secrets,
        warnings: &analysis.warnings,
    };
    serde_json::to_value(document).unwrap_or(serde_json::Value::Null)
}

//! CUDA device code of the final image: per file, package, family and GPU architecture;
//! what none of a list of GPUs can run; and what a deployment without a GPU leaves out.

use std::collections::BTreeMap;

use super::package::Package;
use crate::layer::{Arch, DeviceCode, LayerIndex};
use crate::tree::{FileTree, NodeId};

/// Device code in the files the image ships (hidden files are not counted).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cuda {
    /// Bytes of fat binary entries, every file.
    pub device_bytes: u64,
    /// Bytes of fat binary containers: headers and padding.
    pub container_bytes: u64,
    /// Entry bytes by architecture, in architecture order.
    pub by_arch: Vec<(Arch, u64)>,
    /// Every file with device code, most device bytes first.
    pub files: Vec<CudaFile>,
}

/// One file's device code, where it lives and who owns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CudaFile {
    /// `/usr/lib/x.so`.
    pub path: String,
    /// Its node in the final tree.
    pub node: NodeId,
    /// The layer whose copy ships.
    pub layer: usize,
    /// Index of its package in [`Attribution::packages`](super::Attribution::packages).
    pub owner: Option<u32>,
    /// What its fat binaries hold.
    pub code: DeviceCode,
}

/// Device code that none of the GPUs named can run: what an arch-specific build saves at most.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotForGpus {
    /// The GPUs, by SM number (86 for `sm_86`).
    pub gpus: Vec<u32>,
    /// Entry bytes none of them runs.
    pub bytes: u64,
    /// Those bytes by architecture.
    pub by_arch: Vec<(Arch, u64)>,
    /// Bytes of each file's newest PTX, kept apart: it serves GPUs newer than any here.
    pub newest_ptx_bytes: u64,
    /// (index into [`Cuda::files`], bytes none of the GPUs runs), most bytes first.
    pub files: Vec<(usize, u64)>,
}

impl Cuda {
    /// Whether the image holds any device code.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Device bytes by package index, most first.
    pub fn by_package(&self) -> Vec<(u32, u64)> {
        let mut by: BTreeMap<u32, u64> = BTreeMap::new();
        for file in &self.files {
            if let Some(p) = file.owner {
                *by.entry(p).or_default() += file.code.device_bytes();
            }
        }
        let mut out: Vec<(u32, u64)> = by.into_iter().collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        out
    }

    /// Device bytes by family (`nvidia`, `torch`; `unowned` for files of no package), most
    /// first.
    pub fn by_family(&self, packages: &[Package]) -> Vec<(String, u64)> {
        let mut by: BTreeMap<String, u64> = BTreeMap::new();
        for file in &self.files {
            let family = file
                .owner
                .and_then(|p| packages.get(p as usize))
                .map_or("unowned", |p| p.family.as_deref().unwrap_or("other"));
            *by.entry(family.to_owned()).or_default() += file.code.device_bytes();
        }
        let mut out: Vec<(String, u64)> = by.into_iter().collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        out
    }

    /// The device code none of `gpus` (SM numbers) can run; each file's newest PTX is
    /// counted apart, never as theirs to drop.
    #[doc(hidden)]
    pub fn not_for(&self, gpus: &[u32]) -> NotForGpus {
        let mut out = NotForGpus {
            gpus: gpus.to_vec(),
            ..NotForGpus::default()
        };
        let mut by_arch: BTreeMap<Arch, u64> = BTreeMap::new();
        for (i, file) in self.files.iter().enumerate() {
            let newest = file.code.newest_ptx();
            let mut unused = 0;
            for &(arch, bytes) in &file.code.by_arch {
                if Some(arch) == newest {
                    out.newest_ptx_bytes += bytes;
                } else if !gpus.iter().any(|&gpu| arch.runs_on(gpu)) {
                    unused += bytes;
                    *by_arch.entry(arch).or_default() += bytes;
                }
            }
            if unused > 0 {
                out.bytes += unused;
                out.files.push((i, unused));
            }
        }
        out.files.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        out.by_arch = by_arch.into_iter().collect();
        out
    }
}

/// One part of the image that a deployment without a GPU leaves out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuOnlyPart {
    /// What it is: a package, or torch's CUDA libraries and where they are.
    pub what: String,
    /// Its bytes in the image.
    pub bytes: u64,
    /// Its files.
    pub files: u64,
}

/// torch's own CUDA libraries in `torch/lib`, by name.
pub(crate) fn is_torch_cuda_library(name: &[u8]) -> bool {
    name.starts_with(b"libtorch_cuda")
        || name.starts_with(b"libc10_cuda")
        || name.starts_with(b"libcaffe2_nvrtc")
}

/// The CUDA parts of the image, each with its bytes: the `nvidia` and `cuda` families; when
/// torch is a CUDA build (its `torch/lib` holds `libtorch_cuda*.so`), torch's CUDA libraries
/// (by name, and any file there with device code) and triton. What a CPU build of the same
/// packages leaves out, as an estimate: a CPU wheel is built differently.
pub fn without_gpu(tree: &FileTree, packages: &[Package], cuda: &Cuda) -> Vec<CpuOnlyPart> {
    let mut parts: Vec<CpuOnlyPart> = packages
        .iter()
        .filter(|p| matches!(p.family.as_deref(), Some("nvidia" | "cuda")) && p.bytes > 0)
        .map(|p| CpuOnlyPart {
            what: p.name.clone(),
            bytes: p.bytes,
            files: p.files,
        })
        .collect();
    let mut cuda_torch = false;
    for torch in packages
        .iter()
        .filter(|p| p.name == "torch" && p.ecosystem == super::package::Ecosystem::Pip)
    {
        let dir = format!("{}/torch/lib", torch.location.trim_matches('/'));
        let Some(lib) = tree.lookup(dir.as_bytes()) else {
            continue;
        };
        let mut part = CpuOnlyPart {
            what: format!("torch's CUDA libraries in /{dir}"),
            bytes: 0,
            files: 0,
        };
        for &child in &tree.node(lib).children {
            let node = tree.node(child);
            let name = tree.name(child);
            let with_code = || cuda.files.iter().any(|f| f.node == child);
            if node.files == 1 && (is_torch_cuda_library(name) || with_code()) {
                cuda_torch |= name.starts_with(b"libtorch_cuda");
                part.bytes += node.bytes;
                part.files += 1;
            }
        }
        if part.files > 0 {
            parts.push(part);
        }
    }
    if cuda_torch {
        parts.extend(
            packages
                .iter()
                .filter(|p| p.family.as_deref() == Some("triton") && p.bytes > 0)
                .map(|p| CpuOnlyPart {
                    what: p.name.clone(),
                    bytes: p.bytes,
                    files: p.files,
                }),
        );
    }
    parts.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.what.cmp(&b.what)));
    parts
}

/// A GPU as `--gpu-arch` names it: `sm_86`, `sm_90a`, `86`, `8.6`; its SM number.
pub fn parse_gpu_arch(text: &str) -> Option<u32> {
    let text = text.trim();
    let number = text.strip_prefix("sm_").unwrap_or(text);
    let number = number.trim_end_matches(['a', 'f']);
    let sm = match number.split_once('.') {
        Some((major, minor)) if minor.len() == 1 => {
            major.parse::<u32>().ok()? * 10 + minor.parse::<u32>().ok()?
        }
        Some(_) => return None,
        None => number.parse().ok()?,
    };
    (10..=1000).contains(&sm).then_some(sm)
}

/// The device code of the files the final tree shows, with their owners.
pub(super) fn device_code(
    tree: &FileTree,
    layers: &[&LayerIndex],
    inode_owner: &[Option<u32>],
) -> Cuda {
    let mut cuda = Cuda::default();
    if layers.iter().all(|l| l.device.is_empty()) {
        return cuda;
    }
    let mut by_arch: BTreeMap<Arch, u64> = BTreeMap::new();
    for id in tree.walk() {
        let node = tree.node(id);
        let Some(inode) = node.inode.filter(|_| node.files == 1) else {
            continue;
        };
        let content = tree.inode(inode);
        let Some(code) = layers
            .get(content.layer as usize)
            .and_then(|l| l.device_code(content.entry))
        else {
            continue;
        };
        cuda.device_bytes += code.device_bytes();
        cuda.container_bytes += code.container_bytes;
        for &(arch, bytes) in &code.by_arch {
            *by_arch.entry(arch).or_default() += bytes;
        }
        cuda.files.push(CudaFile {
            path: format!("/{}", String::from_utf8_lossy(&tree.path(id))),
            node: id,
            layer: content.layer as usize,
            owner: inode_owner.get(inode.0 as usize).copied().flatten(),
            code: code.clone(),
        });
    }
    cuda.by_arch = by_arch.into_iter().collect();
    cuda.files.sort_by(|a, b| {
        b.code
            .device_bytes()
            .cmp(&a.code.device_bytes())
            .then_with(|| a.path.cmp(&b.path))
    });
    cuda
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::{ArchVariant, CodeKind};

    fn arch(kind: CodeKind, sm: u32, variant: ArchVariant) -> Arch {
        Arch { kind, sm, variant }
    }

    #[test]
    fn which_gpu_runs_which_code_follows_the_cuda_compatibility_rules() {
        use ArchVariant::{Family, Generic, Specific};
        use CodeKind::{LtoIr, Ptx, Sass};
        let sm80 = arch(Sass, 80, Generic);
        assert!(sm80.runs_on(80) && sm80.runs_on(86) && sm80.runs_on(89));
        assert!(!sm80.runs_on(90) && !sm80.runs_on(75));
        let sm90a = arch(Sass, 90, Specific);
        assert!(sm90a.runs_on(90) && !sm90a.runs_on(100));
        let sm100f = arch(Sass, 100, Family);
        assert!(sm100f.runs_on(100) && sm100f.runs_on(103) && !sm100f.runs_on(120));
        let ptx = arch(Ptx, 80, Generic);
        assert!(ptx.runs_on(80) && ptx.runs_on(90) && ptx.runs_on(120) && !ptx.runs_on(75));
        assert!(arch(LtoIr, 90, Generic).runs_on(100));
        assert_eq!(sm90a.to_string(), "sm_90a");
        assert_eq!(ptx.to_string(), "compute_80");
        assert_eq!(arch(LtoIr, 90, Generic).to_string(), "lto_90");
        assert_eq!(sm100f.to_string(), "sm_100f");
    }

    #[test]
    fn gpus_are_named_as_people_write_them() {
        for (text, sm) in [
            ("sm_86", Some(86)),
            ("86", Some(86)),
            ("8.6", Some(86)),
            ("sm_90a", Some(90)),
            (" sm_100 ", Some(100)),
            ("12.0", Some(120)),
            ("sm_", None),
            ("compute_x", None),
            ("8.66", None),
            ("5", None),
        ] {
            assert_eq!(parse_gpu_arch(text), sm, "{text}");
        }
    }
}

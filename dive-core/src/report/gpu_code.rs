//! The GPU device code as people read it: the summary's section, the report's lines and its
//! two findings (code for GPUs not named with `--gpu-arch`; the CUDA parts a deployment
//! without a GPU leaves out).

use super::finding::Finding;
use crate::analysis::Analysis;
use crate::attribution::without_gpu;
use crate::escape::escape;
use crate::layer::Arch;

/// Architectures shown on one line before the rest are counted.
const ARCHS_SHOWN: usize = 16;

/// `sm_80 1.2 MB, sm_90 1.3 MB, compute_90 20 kB`, in architecture order.
pub(crate) fn arch_line(pairs: &[(Arch, u64)], size: &dyn Fn(u64) -> String) -> String {
    let mut parts: Vec<String> = pairs
        .iter()
        .take(ARCHS_SHOWN)
        .map(|(arch, bytes)| format!("{arch} {}", size(*bytes)))
        .collect();
    if pairs.len() > ARCHS_SHOWN {
        parts.push(format!("and {} more", pairs.len() - ARCHS_SHOWN));
    }
    parts.join(", ")
}

/// The GPUs named, as `sm_80, sm_90`.
fn gpu_names(gpus: &[u32]) -> String {
    gpus.iter()
        .map(|g| format!("sm_{g}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The summary's section: totals, by architecture, by family, the largest files and, with
/// `--gpu-arch`, what none of the GPUs runs. Empty when the image holds no device code.
pub(crate) fn summary_lines(
    analysis: &Analysis,
    size: &dyn Fn(u64) -> String,
    top: usize,
) -> Vec<String> {
    let attribution = &analysis.attribution;
    let cuda = &attribution.cuda;
    if cuda.is_empty() {
        return Vec::new();
    }
    let mut lines = vec![
        format!(
            "GPU device code (CUDA fat binaries): {} in {} file{}, plus {} of fat binary headers \
             and padding",
            size(cuda.device_bytes),
            cuda.files.len(),
            if cuda.files.len() == 1 { "" } else { "s" },
            size(cuda.container_bytes)
        ),
        format!("  by architecture: {}", arch_line(&cuda.by_arch, size)),
    ];
    let families: Vec<String> = cuda
        .by_family(&attribution.packages)
        .iter()
        .map(|(family, bytes)| format!("{} {}", escape(family), size(*bytes)))
        .collect();
    lines.push(format!("  by family: {}", families.join(", ")));
    for file in cuda.files.iter().take(top) {
        let archs: Vec<String> = file
            .code
            .by_arch
            .iter()
            .map(|(a, _)| a.to_string())
            .collect();
        lines.push(format!(
            "{:>10}  {}  ({}; {})",
            size(file.code.device_bytes()),
            escape(&file.path),
            archs.join(" "),
            file.code.scan.name()
        ));
    }
    if cuda.files.len() > top {
        lines.push(format!(
            "  … {} more files in --json",
            cuda.files.len() - top
        ));
    }
    if !analysis.gpus.is_empty() {
        let not_for = cuda.not_for(&analysis.gpus);
        lines.push(format!(
            "  not for your GPUs ({}): {} of device code none of them can run, an upper bound \
             of what building for them only saves; {} of newest PTX kept apart for GPUs to come",
            gpu_names(&analysis.gpus),
            size(not_for.bytes),
            size(not_for.newest_ptx_bytes)
        ));
        if !not_for.by_arch.is_empty() {
            lines.push(format!(
                "    by architecture: {}",
                arch_line(&not_for.by_arch, size)
            ));
        }
    }
    lines
}

/// The report's lines under "Where the bytes are": the device code by architecture and, with
/// `--gpu-arch`, what none of the GPUs runs. None without device code.
pub(crate) fn report_lines(analysis: &Analysis, size: &dyn Fn(u64) -> String) -> Vec<String> {
    let cuda = &analysis.attribution.cuda;
    if cuda.is_empty() {
        return Vec::new();
    }
    let mut lines = vec![format!(
        "GPU device code: {} in {} files ({})",
        size(cuda.device_bytes),
        cuda.files.len(),
        arch_line(&cuda.by_arch, size)
    )];
    if !analysis.gpus.is_empty() {
        let not_for = cuda.not_for(&analysis.gpus);
        lines.push(format!(
            "Not for your GPUs ({}): {} of device code none of them can run (an upper bound of \
             what building for them only saves)",
            gpu_names(&analysis.gpus),
            size(not_for.bytes)
        ));
    }
    lines
}

/// The findings about device code: with `--gpu-arch`, the code none of the GPUs runs; and
/// what a deployment without a GPU leaves out. Both conditional.
pub(crate) fn findings(analysis: &Analysis, size: &dyn Fn(u64) -> String) -> Vec<Finding> {
    let attribution = &analysis.attribution;
    let cuda = &attribution.cuda;
    let mut out = Vec::new();
    if !analysis.gpus.is_empty() {
        let not_for = cuda.not_for(&analysis.gpus);
        if not_for.bytes > 0 {
            let files: Vec<String> = not_for
                .files
                .iter()
                .take(4)
                .map(|&(i, bytes)| format!("{} ({})", cuda.files[i].path, size(bytes)))
                .collect();
            out.push(Finding {
                title: format!(
                    "device code not for your GPUs ({}) ships in the image",
                    gpu_names(&analysis.gpus)
                ),
                class: None,
                saving: not_for.bytes,
                conditional: true,
                when: Some(format!(
                    "If the image runs only on the GPUs named ({})",
                    gpu_names(&analysis.gpus)
                )),
                evidence: vec![
                    format!(
                        "code none of them can run, by architecture: {}",
                        arch_line(&not_for.by_arch, size)
                    ),
                    format!(
                        "in {} files, largest: {}",
                        not_for.files.len(),
                        files.join(", ")
                    ),
                    format!(
                        "an upper bound of what building for these GPUs only saves; each \
                         file's newest PTX ({}) is kept, for GPUs to come",
                        size(not_for.newest_ptx_bytes)
                    ),
                ],
                fix: "build the CUDA code you compile for these GPUs only \
                      (TORCH_CUDA_ARCH_LIST, CMAKE_CUDA_ARCHITECTURES, nvcc -gencode); \
                      prebuilt wheels ship every architecture"
                    .to_owned(),
            });
        }
    }
    let parts = without_gpu(&analysis.tree, &attribution.packages, cuda);
    if !parts.is_empty() {
        let saving = parts.iter().map(|p| p.bytes).sum();
        let mut evidence: Vec<String> = parts
            .iter()
            .take(8)
            .map(|p| {
                let files = if p.files == 1 { "file" } else { "files" };
                format!("{} {} ({} {files})", p.what, size(p.bytes), p.files)
            })
            .collect();
        if parts.len() > 8 {
            evidence.push(format!("and {} more parts", parts.len() - 8));
        }
        evidence.push(
            "the bytes of the CUDA parts in this image: an estimate of what a CPU build of \
             the same packages leaves out (a CPU wheel is built differently, so its size is \
             not predicted to the byte)"
                .to_owned(),
        );
        out.push(Finding {
            title: "CUDA libraries ship in the image: needed only where it runs on a GPU"
                .to_owned(),
            class: None,
            saving,
            conditional: true,
            when: Some("If the image runs without a GPU".to_owned()),
            evidence,
            fix: "for CPU-only deployments install torch from the CPU index (pip install \
                  torch --index-url https://download.pytorch.org/whl/cpu): no nvidia-* \
                  wheels, no triton, no CUDA libraries in torch/lib"
                .to_owned(),
        });
    }
    out
}

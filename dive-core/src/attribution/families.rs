//! Families group packages the way people talk about an image: "the CUDA wheels", "the toolchain".

use super::Ecosystem;

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
    let name = name.to_ascii_lowercase().replace(['_', '.'], "-");
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
        Ecosystem::Npm => None,
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
    }
}

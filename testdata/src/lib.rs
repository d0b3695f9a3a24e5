//! dive-testdata: small real container images in every form, and the facts they hold.
//!
//! Images are described as operations per layer ([`ImageSpec`]), written with the same
//! crates that write users' images (`tar`, `flate2`, `zstd`), in every layout dive-rs reads,
//! and accompanied by a [`Ledger`] computed by an independent, naive model.

pub mod binaries;
mod content;
pub mod crafted;
mod cuda;
pub mod dockerfiles;
pub mod fix_cases;
mod fixtures;
mod forms;
pub mod large;
mod layer;
mod ledger;
pub mod links;
pub mod podman;
pub mod raw;
pub mod reinstall;
pub mod rpm;
pub mod rss;
pub mod secrets;
mod spec;
pub mod tools;

pub use content::{BINARY, Content, elf_with_debug};
pub use cuda::{CudaFile, ElfSection, FatEntry, arch_sweep, cuda_library, elf_of, fatbin};
pub use fixtures::{
    DEMO_DB_PASSWORD, DEMO_HF_TOKEN, DEMO_OPENAI_KEY, HOSTILE, cuda_files, cuda_image,
    damaged_fatbins, demo_base_image, demo_image, demo_image_v2, hostile_image, hostile_notes,
    markup_image, owned_image, rich_image, twice_image, two_platforms, wide_image,
};
pub use fixtures::{NOT_XML, hostile_image_holding};
pub use forms::{
    BuiltImage, Compression, Files, LayoutOptions, MediaTypes, attach_provenance, build, compress,
    digest, docker_legacy, docker25, oci_layout, save_docker_archive,
};
pub use layer::{MTIME, layer_tar, pax_record, write_ops};
pub use ledger::{FinalEntry, HiddenFact, Ledger, ledger};
pub use spec::{ImageSpec, LayerSpec, Op, Stamp, TarStyle};

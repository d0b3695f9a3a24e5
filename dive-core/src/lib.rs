//! dive-core: attribute every byte of a container image to a layer and a path.
//!
//! It opens an image from a `docker save` tar (legacy or Docker 25+), an OCI image layout
//! (directory or tar), a stream, a container engine (`docker:REF`, `podman:REF`) or, with the
//! `registry` feature, a registry (`registry:REF`), walks every layer's tar entries in parallel, applies
//! whiteouts, merges the file tree in manifest order and keeps an exact byte ledger:
//! `Σ layer file bytes = final bytes + hidden bytes`, each hidden byte with its evidence.
//!
//! # The face
//!
//! - **Analysing**: [`analyze`] for one image with the defaults; [`AnalyzerBuilder`] →
//!   [`Analyzer`] for a reusable engine with its options ([`Limits`], [`Platform`],
//!   [`FamilyRules`], the GPUs of [`AnalyzerBuilder::parse_gpu_arch`]). An [`Observer`]
//!   hears [`Event`]s and answers [`Control::Stop`] to stop; [`Analyzer::analyze_in_steps`]
//!   hands back the merged image ([`Attributed`], [`Attributing`]) before owners and waste
//!   are found.
//! - **Inputs**: [`Source`] (a path, `-`, `docker:REF`, `podman:REF`, or with the `registry`
//!   feature `registry:REF` and its `RegistryOptions`).
//! - **The result**: [`Analysis`], plain data with indices instead of references: the
//!   image's and each layer's facts ([`ImageFacts`], [`LayerFacts`]), the merged
//!   [`FileTree`] ([`Node`], [`Inode`]), hidden content and why ([`HiddenItem`]), each
//!   layer's own entries ([`Analysis::layer_entries`], [`LayerEntry`]), owners, families,
//!   waste, duplicates, reinstalls and CUDA device code ([`Attribution`]), and the
//!   [`Warning`]s.
//! - **Outputs**: the pure functions of [`report`]: the summary, JSON, findings and the
//!   optimisation report, the HTML page, [`report::diff`] of two analyses and
//!   [`report::gate`] (CI rules, their verdict and the exit codes).
//! - **Files**: [`contents`] reads a version of a path back out of the image (`cat`) and
//!   extracts files below a directory; [`scan`] saves an analysis and opens it again
//!   without the image.
//! - **Names from an image** reach people only through [`escape`].
//! - **Errors**: [`Error`] when the image cannot be understood (each with its [`Location`]),
//!   [`Warning`] for what did not stop the analysis.
//!
//! Nothing else is public. The `unstable` feature (off by default) opens internals to the
//! fuzz targets, the benches and the tests: hidden from these docs and free to change in any
//! release.
//!
//! ```
//! use dive_core::{AnalyzerBuilder, Source, escape, report};
//!
//! // The demo image bundled with the repository; any `docker save` tar, OCI layout or `-` works.
//! let analyzer = AnalyzerBuilder::new().threads(2).build();
//! let analysis = analyzer.analyze(Source::parse("../testdata/demo/ml-service.tar")?, &())?;
//! let image = &analysis.image;
//! assert_eq!(image.total_file_bytes, image.final_bytes + image.hidden_bytes);
//! println!("{} bytes visible, {} hidden", analysis.image.final_bytes, analysis.image.hidden_bytes);
//! for item in analysis.hidden.iter().take(3) {
//!     println!("{} hidden by layer {}", escape::escape_path(&item.path), item.hidden_by_layer);
//! }
//! print!("{}", report::summary(&analysis, Default::default()));
//! # Ok::<(), dive_core::Error>(())
//! ```
#![deny(missing_docs)]

/// A module that is public, hidden from the docs, with the `unstable` feature (for the fuzz
/// targets, the benches and the tests) and private without it.
macro_rules! unstable_mod {
    ($(#[$attr:meta])* $name:ident) => {
        $(#[$attr])*
        #[cfg(feature = "unstable")]
        #[doc(hidden)]
        pub mod $name;
        $(#[$attr])*
        #[cfg(not(feature = "unstable"))]
        mod $name;
    };
}

/// A re-export that is public, hidden from the docs, with the `unstable` feature and
/// crate-wide without it.
macro_rules! unstable_use {
    ($($path:tt)*) => {
        #[cfg(feature = "unstable")]
        #[doc(hidden)]
        pub use $($path)*;
        #[cfg(not(feature = "unstable"))]
        #[allow(unused_imports)]
        pub(crate) use $($path)*;
    };
}

mod aligned;
mod analysis;
unstable_mod!(attribution);
pub mod contents;
mod digest;
mod dockerfile;
mod engine;
mod error;
pub mod escape;
pub mod fix;
unstable_mod!(fuzzing);
unstable_mod!(layer);
mod limits;
mod path;
mod persist;
pub mod report;
pub mod secrets;
unstable_mod!(source);
mod stage;
unstable_mod!(tree);

// The analyzer, its options and what it tells an observer.
pub use engine::{
    Analyzer, AnalyzerBuilder, Attributed, Attributing, Control, Event, Observer, analyze,
};
pub use limits::Limits;
pub use stage::Stage;

// Where an image comes from.
#[cfg(feature = "registry")]
pub use source::{Credentials, PlainHttp, RegistryOptions};
pub use source::{Engine, Layout, PartNote, Platform, Source};

// The analysis and its records.
pub use analysis::{
    Analysis, BaseImage, BaseLayers, BaseSource, EntryContents, ImageFacts, LargeFile, LayerFacts,
};
pub use attribution::{
    Attribution, Cuda, CudaFile, DuplicateCause, DuplicateGroup, Ecosystem, FamilyRules,
    FamilyTotal, LayerBytes, Package, Reinstall, UnownedDir, Waste, WasteClass, WastePath,
};
pub use layer::{Arch, Compression, Dependency, DeviceCode, EntryKind, LayerEntry, Strategy};
pub use tree::{
    DiveFigures, EntryChange, FileTree, HiddenItem, HiddenReason, Inode, InodeId, Node, NodeId,
};

pub mod scan {
    //! Saved scans: an analysis written to a file ([`save`]) and opened again without the
    //! image (a [`Source`](crate::Source) whose path [`is_scan`]).
    pub use crate::persist::scan::{is_scan, save};
    unstable_use!(crate::persist::scan::{MAX_SCAN_BYTES, SCAN_FORMAT, write});
}

// Errors and warnings.
pub use error::{Error, LayerRef, Location, Result, Warning};

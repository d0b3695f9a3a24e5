//! dive-core: attribute every byte of a container image to a layer and a path.
//!
//! It opens an image from a `docker save` tar (legacy or Docker 25+), an OCI image layout
//! (directory or tar), a stream, a container engine (`docker:REF`, `podman:REF`) or, with the
//! `registry` feature, a registry (`registry:REF`), walks every layer's tar entries in parallel, applies
//! whiteouts, merges the file tree in manifest order and keeps an exact byte ledger:
//! `Σ layer file bytes = final bytes + hidden bytes`, each hidden byte with its evidence.
//!
//! Data flows top to bottom: [`source`] → [`layer`] → [`tree`] → [`Analysis`] → [`report`];
//! [`scan`] saves an analysis and opens it again without the image; [`report::gate`] checks
//! one against CI rules; [`report::diff`] compares two. Names from an image reach people only through
//! [`escape`].
//!
//! ```
//! use dive_core::{AnalyzerBuilder, Source, report};
//!
//! // The demo image bundled with the repository; any `docker save` tar, OCI layout or `-` works.
//! let analyzer = AnalyzerBuilder::new().threads(2).build();
//! let analysis = analyzer.analyze(Source::parse("../testdata/demo/ml-service.tar")?, &())?;
//! let image = &analysis.image;
//! assert_eq!(image.total_file_bytes, image.final_bytes + image.hidden_bytes);
//! println!("{} bytes visible, {} hidden", analysis.image.final_bytes, analysis.image.hidden_bytes);
//! for item in analysis.hidden.iter().take(3) {
//!     println!("{} hidden by layer {}", String::from_utf8_lossy(&item.path), item.hidden_by_layer);
//! }
//! print!("{}", report::summary(&analysis, Default::default()));
//! # Ok::<(), dive_core::Error>(())
//! ```
#![deny(missing_docs)]

mod aligned;
mod analysis;
pub mod attribution;
pub mod contents;
mod digest;
mod dockerfile;
mod engine;
mod error;
pub mod escape;
#[doc(hidden)]
pub mod fuzzing;
pub mod layer;
mod limits;
mod path;
mod persist;
pub mod report;
pub mod source;
mod stage;
pub mod tree;

pub use analysis::{
    Analysis, BaseImage, BaseLayers, BaseSource, EntryContents, ImageFacts, LargeFile, LayerFacts,
};
pub use engine::{
    Analyzer, AnalyzerBuilder, Attributed, Attributing, Control, Event, Observer, analyze,
};
pub use error::{Error, LayerRef, Location, Result, Warning};
pub use limits::Limits;
pub use persist::scan;
pub use source::{Platform, Source};
pub use stage::Stage;

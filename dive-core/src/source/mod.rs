//! Where an image comes from: a file, a directory, or a stream; detected by content.

mod archive;
mod blob;
mod daemon;
mod dir;
mod names;
mod plan;
mod provenance;
#[cfg(feature = "registry")]
mod registry;
#[cfg(feature = "registry")]
mod registry_options;
mod resolve;
mod restream;
mod run_config;
mod spec;
mod store;
mod stream;

use std::fs::File;

pub(crate) use blob::Blob;
pub use daemon::Engine;
pub use plan::{BaseAnnotation, Layout, Platform};
pub(crate) use plan::{Plan, Selector};
pub(crate) use provenance::Provenance;
#[cfg(feature = "registry")]
pub use registry_options::{Credentials, PlainHttp, RegistryOptions};
pub(crate) use resolve::resolve;
pub(crate) use restream::Restream;
pub use spec::{Source, Watch};
pub use store::PartNote;

pub(crate) use store::{Fetch, LayerInput, Store};

use crate::error::{Error, Location, Result};
use crate::layer::{Compression, LayerIndex, Strategy, WalkOptions, sniff};

/// Opens a source into a store; streams are scanned to the end here.
pub(crate) fn open(
    source: Source,
    options: &WalkOptions,
    on_layer: &mut dyn FnMut(&str, &LayerIndex, Strategy) -> bool,
) -> Result<(String, Box<dyn Store>, Option<String>)> {
    match source {
        Source::Path { path, reference } => {
            let input = path.display().to_string();
            if path.is_dir() {
                return Ok((
                    input.clone(),
                    Box::new(dir::DirStore::open(&input, &path, options.capture_limit)?),
                    reference,
                ));
            }
            let file = File::open(&path).map_err(|e| Error::io(Location::input(&input), e))?;
            let blob = Blob::map_file(file).map_err(|e| Error::io(Location::input(&input), e))?;
            if sniff(blob.bytes()) == Compression::None {
                let store = archive::ArchiveStore::open(&input, blob, options.capture_limit)?;
                Ok((input, Box::new(store), reference))
            } else {
                // A compressed archive (`docker save | gzip`) cannot be indexed in place.
                let store = stream::StreamStore::scan(&input, blob.reader(), options, on_layer)?;
                Ok((input, Box::new(store), reference))
            }
        }
        Source::Reader { name, reader } => {
            let store = stream::StreamStore::scan(&name, reader, options, on_layer)?;
            Ok((name, Box::new(store), None))
        }
        #[cfg(feature = "registry")]
        Source::Registry {
            ref reference,
            options: ref remote,
        } => {
            let name = source.name();
            let store =
                registry::RegistryStore::open(&name, reference, remote, options.capture_limit)?;
            Ok((name, Box::new(store), None))
        }
        Source::Engine {
            engine,
            ref reference,
        } => {
            let name = source.name();
            let store = daemon::scan(&name, engine, reference, options, on_layer)?;
            Ok((name, Box::new(store), None))
        }
    }
}

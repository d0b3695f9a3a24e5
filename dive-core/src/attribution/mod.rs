//! Who owns every byte: the package databases found in the image, and families of packages.
//!
//! Databases are read from the small files the walk captured. A visible file's owner comes
//! from the databases visible at the end; a hidden one's from those, else from any version of
//! a database an earlier layer shipped (a package later uninstalled still owns its files).
//! An exact file claim wins over a directory claim; a directory counts for one package only
//! (a namespace dir such as `nvidia/`, shared by many wheels, is split by their RECORDs).

mod apk;
mod claims;
mod conda;
mod databases;
mod device_code;
mod dpkg;
mod duplicates;
pub(crate) mod families;
mod npm;
mod owners;
mod package;
mod python;
mod reinstalls;
mod room;
mod rpm;
mod waste;

pub(crate) use databases::{OS_RELEASE, is_database, parse_database};
pub(crate) use dpkg::{EXTENDED_STATES as APT_EXTENDED_STATES, STATUS as DPKG_STATUS};
pub use device_code::{Cuda, CudaFile, parse_gpu_arch, without_gpu};
pub(crate) use device_code::is_torch_cuda_library;
unstable_use!(device_code::{CpuOnlyPart, NotForGpus});
pub use duplicates::{DuplicateCause, DuplicateGroup, MIN_DUPLICATE_SIZE};
unstable_use!(duplicates::Evidence);
pub use families::FamilyRules;
unstable_use!(families::family_of);
pub(crate) use owners::attribute;
pub use owners::{Attribution, FamilyTotal, UnownedDir};
pub use package::{Ecosystem, Package};
pub(crate) use reinstalls::RULE as REINSTALL_RULE;
pub use reinstalls::Reinstall;
pub(crate) use room::Room;
pub(crate) use waste::hidden_class;
pub use waste::{LayerBytes, Waste, WasteClass, WastePath, classify};

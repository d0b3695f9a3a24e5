//! What a binary or an archive records of its own build: a Go program's build info, a Rust
//! program's `cargo auditable` section, a jar's Maven coordinates and the jars inside it.
//!
//! Read from a bounded window of each candidate file in the walk's own pass (the sections
//! of an ELF file, a jar's central directory and the entries it names), never a second pass
//! over the file. Every string and list is capped here, so what a layer keeps is bounded
//! however the file lies.

use serde::{Deserialize, Serialize};

use super::elf_sections::Section;

pub(crate) mod cargo;
pub(crate) mod go;
pub(crate) mod jar;
mod kept;
mod zip;

pub(crate) use kept::Kept;


/// Longest name kept (a Go module path, a crate name, Maven `group:artifact`).
pub(crate) const NAME_MAX: usize = 512;
/// Longest version kept.
pub(crate) const VERSION_MAX: usize = 128;
/// Dependencies kept per file; more are counted in [`Recorded::unlisted`].
pub(crate) const DEPENDENCIES_MAX: usize = 4096;

/// The sections a streamed ELF file keeps when its section table comes before them (as Go's
/// linker writes it), with the bytes kept from each one's start.
pub(crate) const SECTIONS: &[(&[u8], u64)] = &[
    (go::SECTION, go::SECTION_MAX as u64),
    (cargo::SECTION, cargo::SECTION_MAX as u64),
];

/// How a file records its build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BuildKind {
    /// A Go program's build info (`.go.buildinfo`).
    Go,
    /// A Rust program built with `cargo auditable` (`.dep-v0`).
    Cargo,
    /// A Java archive (`META-INF/maven/**/pom.properties`, `MANIFEST.MF`).
    Maven,
}

/// One dependency a file records.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Dependency {
    /// Module path, crate name or Maven `group:artifact`.
    pub name: String,
    /// Its version, when recorded.
    pub version: Option<String>,
}

/// What one binary or archive records of its build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recorded {
    /// How it records it.
    pub kind: BuildKind,
    /// The main module, the root crate or the jar's own `group:artifact`.
    pub name: String,
    /// Its version, when recorded (Go's `(devel)` is none).
    pub version: Option<String>,
    /// What built it, when recorded (`go1.22.1`; a jar's `Build-Jdk`).
    pub toolchain: Option<String>,
    /// The dependencies it records, sorted, each once.
    pub dependencies: Vec<Dependency>,
    /// Dependencies past the 4,096 a file keeps, counted.
    pub unlisted: u64,
}

impl Recorded {
    /// A record of `kind` named `name` (capped), with no version or dependencies yet.
    pub(crate) fn new(kind: BuildKind, name: &str) -> Self {
        Self {
            kind,
            name: capped(name, NAME_MAX),
            version: None,
            toolchain: None,
            dependencies: Vec::new(),
            unlisted: 0,
        }
    }

    /// Adds a dependency (name and version capped), counted past [`DEPENDENCIES_MAX`].
    pub(crate) fn depend(&mut self, name: &str, version: Option<&str>) {
        if self.dependencies.len() >= DEPENDENCIES_MAX {
            self.unlisted += 1;
            return;
        }
        self.dependencies.push(Dependency {
            name: capped(name, NAME_MAX),
            version: version.map(|v| capped(v, VERSION_MAX)),
        });
    }

    /// Sorts the dependencies and keeps each once (the last step of every reader).
    pub(crate) fn finish(mut self) -> Self {
        self.dependencies.sort();
        self.dependencies.dedup();
        self.dependencies.shrink_to_fit();
        self
    }
}

/// Bytes a layer's programs and archives may inflate together (cargo auditable data, a
/// jar's entries and nested archives): deflate turns a few KiB into megabytes, so what a
/// layer may cost in inflating is held apart from what it holds.
#[derive(Debug)]
pub(crate) struct InflateBudget {
    remaining: u64,
    spent: u64,
    exhausted: bool,
}

impl InflateBudget {
    /// An allowance of `bytes`.
    pub(crate) fn new(bytes: u64) -> Self {
        Self {
            remaining: bytes,
            spent: 0,
            exhausted: false,
        }
    }

    /// Bytes the next inflation may still produce.
    pub(crate) fn remaining(&self) -> u64 {
        self.remaining
    }

    /// Charges `bytes` inflated; past the allowance it is spent for good.
    pub(crate) fn charge(&mut self, bytes: u64) {
        self.spent = self.spent.saturating_add(bytes);
        if bytes > self.remaining {
            self.exhausted = true;
        }
        self.remaining = self.remaining.saturating_sub(bytes);
    }

    /// Marks it spent: an inflation stopped at its end.
    pub(crate) fn exhaust(&mut self) {
        self.exhausted = true;
        self.remaining = 0;
    }

    /// Whether an inflation stopped at its end.
    pub(crate) fn exhausted(&self) -> bool {
        self.exhausted
    }

    /// Bytes inflated so far.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn spent(&self) -> u64 {
        self.spent
    }
}

/// Inflates `reader` into memory, at most `max` bytes and what `budget` allows: the bytes, or
/// why not (over `max`, the budget spent, the stream damaged).
pub(crate) fn inflate(
    reader: impl std::io::Read,
    max: u64,
    budget: &mut InflateBudget,
) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let cap = max.min(budget.remaining());
    let mut out = Vec::new();
    let read = reader.take(cap.saturating_add(1)).read_to_end(&mut out);
    budget.charge((out.len() as u64).min(cap));
    read.map_err(|err| format!("does not inflate: {err}"))?;
    if out.len() as u64 > cap {
        if cap < max {
            budget.exhaust();
            return Err("not inflated: the layer's allowance for inflating is spent".into());
        }
        return Err(format!("inflates past {max} bytes; not read"));
    }
    Ok(out)
}

/// `text` cut to at most `max` bytes, at a character boundary.
pub(crate) fn capped(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// What the sections of an ELF file of `size` bytes record of its build: Go's build info or
/// cargo auditable's data, read with `read_at` (`None` where its bytes are not at hand), or for Go from
/// `scanned`, the build info a streamed file's scan found ([`go::Scan`]). `None` when it
/// records nothing; an error sentence when what it records cannot be read.
pub(crate) fn of_elf(
    sections: &[Section],
    size: u64,
    read_at: &mut dyn FnMut(u64, usize) -> Option<Vec<u8>>,
    scanned: Option<(u64, Vec<u8>)>,
    budget: &mut InflateBudget,
) -> Option<Result<Recorded, String>> {
    let named = |name: &[u8]| sections.iter().find(|s| s.name == name);
    if let Some(section) = named(go::SECTION) {
        // A streamed file's scan found it where its section lies, or the bytes are at hand.
        let bytes = match scanned {
            Some((at, bytes)) if at == section.offset => Some(bytes),
            _ => go::read(read_at, section.offset, size),
        };
        return Some(match bytes {
            Some(bytes) => go::parse(&bytes),
            None => Err("Go build info could not be read where its section lies".into()),
        });
    }
    let section = named(cargo::SECTION)?;
    if section.size > cargo::SECTION_MAX as u64 {
        return Some(Err(format!(
            "cargo auditable data of {} bytes is over the {}-byte cap; not read",
            section.size,
            cargo::SECTION_MAX
        )));
    }
    let bytes = usize::try_from(section.size)
        .ok()
        .and_then(|len| read_at(section.offset, len));
    Some(match bytes {
        Some(bytes) => cargo::parse(&bytes, budget),
        None => Err("cargo auditable data lies outside the bytes a streamed layer keeps of \
                     this file; not read"
            .into()),
    })
}


//! A Java archive's Maven identity and dependencies: `META-INF/maven/**/pom.properties`,
//! `META-INF/MANIFEST.MF` and the jars nested in `BOOT-INF/lib/`, `WEB-INF/lib/` and `lib/`.
//!
//! Read through [`super::zip`] with positioned reads: the tail, the central directory and
//! the few entries it names, never the whole file. Nested jars are opened one level deep,
//! stored ones in place, deflated ones inflated into memory and charged to the layer's
//! [`InflateBudget`]. Warnings are counts in plain sentences, never text from the archive.

use super::zip::{self, COMPRESSED_MAX, DEFLATED, Entry, EntryFault, Fault, STORED, Source};
use super::{BuildKind, InflateBudget, NAME_MAX, Recorded, VERSION_MAX, capped};

/// Largest `pom.properties` or `MANIFEST.MF` read; longer ones are cut.
pub(crate) const ENTRY_MAX: u64 = 64 << 10;
/// Largest nested archive inflated into memory.
pub(crate) const NESTED_MAX: u64 = 16 << 20;
/// `pom.properties` entries kept per archive.
pub(crate) const POMS_MAX: usize = 4096;
/// Nested archives kept per archive.
pub(crate) const NESTED_COUNT_MAX: usize = 4096;

/// Whether a file with this path (a normalised tar path like `app/lib/x.jar`) and size is
/// worth reading as a Java archive.
pub(crate) fn is_candidate(path: &[u8], size: u64) -> bool {
    size >= 22 && archive_stem(path).len() < path.len()
}

/// Whether these first bytes start a zip (`PK\x03\x04`, or `PK\x05\x06` for an empty one).
pub(crate) fn is_zip(head: &[u8]) -> bool {
    head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06")
}

/// `name` without its `.jar`, `.war` or `.ear` (any case); `name` itself without one.
fn archive_stem(name: &[u8]) -> &[u8] {
    let (stem, ext) = name.split_at(name.len().saturating_sub(4));
    let archive = [b".jar", b".war", b".ear"]
        .iter()
        .any(|e| ext.eq_ignore_ascii_case(*e));
    if archive { stem } else { name }
}

/// What the jar of `size` bytes records, with warnings, read through `read_at`.
/// `file_name` is the jar's last path component. `None` when it is not a zip at all.
pub(crate) fn read_jar(
    file_name: &[u8],
    size: u64,
    read_at: &mut dyn FnMut(u64, usize) -> Option<Vec<u8>>,
    budget: &mut InflateBudget,
) -> Option<(Recorded, Vec<String>)> {
    let mut src = Source::new(read_at, size);
    let mut notes = Notes::default();
    let contents = match read_contents(&mut src, &mut notes, budget, true) {
        Ok(contents) => contents,
        Err(fault) => {
            // A file that does not start like a zip and has no readable directory is none.
            if src.read(0, 4).is_some_and(|head| !is_zip(&head)) {
                return None;
            }
            notes.central = Some(fault);
            Contents::default()
        }
    };
    let file_name = String::from_utf8_lossy(file_name);
    let (mut recorded, own) = identify(&file_name, &contents);
    recorded.toolchain = contents.manifest.as_ref().and_then(Manifest::toolchain);
    depend_poms(&mut recorded, &contents.poms, own);
    for nested in &contents.nested {
        depend_nested(&mut recorded, &mut src, nested, &mut notes, budget);
    }
    notes.exhausted |= src.exhausted;
    Some((recorded.finish(), notes.sentences()))
}

/// The Maven coordinates one `pom.properties` gives.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pom {
    /// `groupId`, when given.
    group: Option<String>,
    /// `artifactId`.
    artifact: String,
    /// `version`, when given.
    version: Option<String>,
}

impl Pom {
    /// Its `group:artifact` (just `artifact` without a group).
    fn name(&self) -> String {
        match &self.group {
            Some(group) => format!("{group}:{}", self.artifact),
            None => self.artifact.clone(),
        }
    }
}

/// The main-section headers of a `MANIFEST.MF` that name or date an archive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Manifest {
    /// `Implementation-Title`.
    title: Option<String>,
    /// `Implementation-Version`.
    version: Option<String>,
    /// `Implementation-Vendor-Id` (a Maven group).
    vendor_id: Option<String>,
    /// `Bundle-SymbolicName`, without its parameters.
    symbolic_name: Option<String>,
    /// `Bundle-Version`.
    bundle_version: Option<String>,
    /// `Build-Jdk-Spec`.
    jdk_spec: Option<String>,
    /// `Build-Jdk`.
    build_jdk: Option<String>,
    /// `Created-By`.
    created_by: Option<String>,
}

impl Manifest {
    /// The name (`vendor:title`, `title` or the bundle name) and version it gives, if named.
    fn identity(&self) -> Option<(String, Option<&str>)> {
        let name = match (&self.symbolic_name, &self.title, &self.vendor_id) {
            (Some(symbolic), _, _) => symbolic.clone(),
            (None, Some(title), Some(vendor)) => format!("{vendor}:{title}"),
            (None, Some(title), None) => title.clone(),
            (None, None, _) => return None,
        };
        Some((
            name,
            self.version.as_deref().or(self.bundle_version.as_deref()),
        ))
    }

    /// The JDK that built it: `Build-Jdk-Spec`, `Build-Jdk`, or a `Created-By` that is a version.
    fn toolchain(&self) -> Option<String> {
        let created = self
            .created_by
            .as_deref()
            .and_then(|c| c.split_whitespace().next());
        let jdk = created.filter(|c| {
            c.starts_with(|d: char| d.is_ascii_digit())
                && c.chars()
                    .all(|d| d.is_ascii_alphanumeric() || "._-+".contains(d))
        });
        self.jdk_spec
            .as_deref()
            .or(self.build_jdk.as_deref())
            .or(jdk)
            .map(|t| capped(t, VERSION_MAX))
    }
}

/// A jar nested in the archive: its entry and its file name (for the name fallback).
#[derive(Debug, Clone)]
struct Nested {
    /// The last component of its path, capped.
    file_name: String,
    /// Its central-directory record.
    entry: Entry,
}

/// What one archive's wanted entries say.
#[derive(Debug, Default)]
struct Contents {
    /// Every `pom.properties` that names an artifact.
    poms: Vec<Pom>,
    /// The main section of `MANIFEST.MF`.
    manifest: Option<Manifest>,
    /// The nested jars (of an outer archive only), not yet opened.
    nested: Vec<Nested>,
}

/// The entries worth reading, picked from the central directory as it is walked.
#[derive(Debug, Default)]
struct Wanted {
    /// The `pom.properties` entries, up to [`POMS_MAX`].
    poms: Vec<Entry>,
    /// The first `META-INF/MANIFEST.MF`.
    manifest: Option<Entry>,
    /// The nested jars, up to [`NESTED_COUNT_MAX`].
    nested: Vec<Nested>,
    /// Poms and nested archives past their caps.
    over_cap: u64,
}

impl Wanted {
    /// Keeps `entry` when its name is one of the wanted; nested jars only when `outer`.
    fn offer(&mut self, name: &[u8], entry: Entry, outer: bool) {
        if is_pom(name) {
            if self.poms.len() < POMS_MAX {
                self.poms.push(entry);
            } else {
                self.over_cap += 1;
            }
        } else if name.eq_ignore_ascii_case(b"META-INF/MANIFEST.MF") {
            self.manifest.get_or_insert(entry);
        } else if let Some(file) = nested_file(name).filter(|_| outer) {
            if self.nested.len() < NESTED_COUNT_MAX {
                let file_name = capped(&String::from_utf8_lossy(file), NAME_MAX);
                self.nested.push(Nested { file_name, entry });
            } else {
                self.over_cap += 1;
            }
        }
    }
}

/// Whether `name` is `META-INF/maven/<group>/<artifact>/pom.properties`.
pub(super) fn is_pom(name: &[u8]) -> bool {
    let Some(middle) = name
        .strip_prefix(b"META-INF/maven/")
        .and_then(|n| n.strip_suffix(b"/pom.properties"))
    else {
        return false;
    };
    let mut parts = middle.split(|&b| b == b'/');
    matches!((parts.next(), parts.next(), parts.next()), (Some(g), Some(a), None) if !g.is_empty() && !a.is_empty())
}

/// The file name of a jar nested in a library folder (`BOOT-INF/lib/x.jar`, `WEB-INF/lib/`,
/// an ear's `lib/`), when `name` is one.
pub(super) fn nested_file(name: &[u8]) -> Option<&[u8]> {
    let prefixes: [&[u8]; 3] = [b"BOOT-INF/lib/", b"WEB-INF/lib/", b"lib/"];
    let file = prefixes.iter().find_map(|p| name.strip_prefix(*p))?;
    let jar = file.len() > 4 && file.get(file.len() - 4..)?.eq_ignore_ascii_case(b".jar");
    (jar && !file.contains(&b'/')).then_some(file)
}

/// The wanted entries of the archive in `src`, read; nested jars listed only when `outer`.
fn read_contents(
    src: &mut Source,
    notes: &mut Notes,
    budget: &mut InflateBudget,
    outer: bool,
) -> Result<Contents, Fault> {
    let central = zip::find_central(src)?;
    let directory = src
        .read(central.offset, central.len)
        .ok_or(Fault::Unavailable)?;
    let mut wanted = Wanted::default();
    let whole = zip::records(&directory, &central, |name, entry| {
        wanted.offer(name, entry, outer);
    });
    drop(directory);
    notes.short_directory |= !whole;
    notes.over_cap += wanted.over_cap;
    let mut poms = Vec::new();
    for entry in &wanted.poms {
        if let Some(pom) = read_small(src, entry, notes, budget).and_then(|bytes| parse_pom(&bytes))
        {
            poms.push(pom);
        }
    }
    let manifest = wanted
        .manifest
        .and_then(|e| read_small(src, &e, notes, budget))
        .map(|b| parse_manifest(&b));
    Ok(Contents {
        poms,
        manifest,
        nested: wanted.nested,
    })
}

/// Where `entry`'s data starts, when it is stored or deflated, not encrypted, and sound.
fn locate(src: &mut Source, entry: &Entry, notes: &mut Notes) -> Option<u64> {
    if entry.encrypted || (entry.method != STORED && entry.method != DEFLATED) {
        notes.unsupported += 1;
        return None;
    }
    zip::data_start(src, entry)
        .map_err(|fault| notes.fault(fault))
        .ok()
}

/// A small entry's bytes (a pom or a manifest), at most [`ENTRY_MAX`] of them.
fn read_small(
    src: &mut Source,
    entry: &Entry,
    notes: &mut Notes,
    budget: &mut InflateBudget,
) -> Option<Vec<u8>> {
    let start = locate(src, entry, notes)?;
    if entry.method == STORED {
        let bytes = src.read(start, entry.compressed.min(ENTRY_MAX));
        if bytes.is_none() {
            notes.fault(EntryFault::Unavailable);
        }
        notes.cut += u64::from(bytes.is_some() && entry.compressed > ENTRY_MAX);
        return bytes;
    }
    match inflate(src, start, entry, ENTRY_MAX, notes, budget)? {
        Inflated::Whole(bytes) => Some(bytes),
        Inflated::Over(bytes) => {
            notes.cut += 1;
            Some(bytes)
        }
    }
}

/// What inflating gave: all of the entry, or its first bytes when it is longer than asked.
enum Inflated {
    /// The whole entry.
    Whole(Vec<u8>),
    /// Its first bytes, up to the cap asked for.
    Over(Vec<u8>),
}

/// `entry`'s deflated data at `start`, at most `max` bytes of it, charged to `budget`.
fn inflate(
    src: &mut Source,
    start: u64,
    entry: &Entry,
    max: u64,
    notes: &mut Notes,
    budget: &mut InflateBudget,
) -> Option<Inflated> {
    let allowed = max.min(budget.remaining());
    if allowed == 0 {
        notes.budget_out = true;
        budget.exhaust();
        return None;
    }
    let mut bytes = zip::inflate(src, start, entry, allowed)
        .map_err(|fault| notes.fault(fault))
        .ok()?;
    budget.charge((bytes.len() as u64).min(allowed));
    if bytes.len() as u64 <= allowed {
        return Some(Inflated::Whole(bytes));
    }
    if allowed < max {
        notes.budget_out = true;
        budget.exhaust();
        return None;
    }
    bytes.truncate(max as usize);
    Some(Inflated::Over(bytes))
}

/// The contents of a nested jar, read one level deep: stored in place, deflated in memory.
fn open_nested(
    src: &mut Source,
    entry: &Entry,
    notes: &mut Notes,
    budget: &mut InflateBudget,
) -> Option<Contents> {
    if entry.method == DEFLATED
        && (entry.uncompressed > NESTED_MAX || entry.compressed > COMPRESSED_MAX)
    {
        notes.too_large += 1;
        return None;
    }
    let start = locate(src, entry, notes)?;
    if entry.method == STORED {
        let len = entry.compressed;
        // Reads of the nested jar are reads of the outer one, shifted: no copy.
        let mut shifted = |offset: u64, want: usize| {
            let end = offset.checked_add(want as u64)?;
            if end > len {
                return None;
            }
            src.read(start.checked_add(offset)?, want as u64)
        };
        return nested_contents(&mut Source::new(&mut shifted, len), notes, budget);
    }
    let bytes = match inflate(src, start, entry, NESTED_MAX, notes, budget)? {
        Inflated::Whole(bytes) => bytes,
        Inflated::Over(_) => {
            notes.too_large += 1;
            return None;
        }
    };
    let mut in_memory = |offset: u64, want: usize| {
        let from = usize::try_from(offset).ok()?;
        bytes.get(from..from.checked_add(want)?).map(<[u8]>::to_vec)
    };
    nested_contents(
        &mut Source::new(&mut in_memory, bytes.len() as u64),
        notes,
        budget,
    )
}

/// The contents of the nested jar in `inner`, its faults counted in `notes`.
fn nested_contents(
    inner: &mut Source,
    notes: &mut Notes,
    budget: &mut InflateBudget,
) -> Option<Contents> {
    let contents = read_contents(inner, notes, budget, false);
    notes.exhausted |= inner.exhausted;
    match contents {
        Ok(contents) => Some(contents),
        Err(Fault::Unavailable) => {
            notes.unavailable += 1;
            None
        }
        Err(_) => {
            notes.broken_nested += 1;
            None
        }
    }
}

/// Lists a nested jar (its identity, else its file name) and the other poms it holds.
fn depend_nested(
    recorded: &mut Recorded,
    src: &mut Source,
    nested: &Nested,
    notes: &mut Notes,
    budget: &mut InflateBudget,
) {
    let contents = open_nested(src, &nested.entry, notes, budget).unwrap_or_default();
    let (identity, own) = identify(&nested.file_name, &contents);
    depend(recorded, &identity.name, identity.version.as_deref());
    depend_poms(recorded, &contents.poms, own);
}

/// Lists every pom but the archive's own (at `own`).
fn depend_poms(recorded: &mut Recorded, poms: &[Pom], own: Option<usize>) {
    for (index, pom) in poms.iter().enumerate() {
        if Some(index) != own {
            depend(recorded, &pom.name(), pom.version.as_deref());
        }
    }
}

/// Lists a dependency, unless it is the archive itself.
fn depend(recorded: &mut Recorded, name: &str, version: Option<&str>) {
    if name != recorded.name || version != recorded.version.as_deref() {
        recorded.depend(name, version);
    }
}

/// An archive's record named from its own pom, else its manifest, else its file name; and
/// which pom was its own.
fn identify(file_name: &str, contents: &Contents) -> (Recorded, Option<usize>) {
    let (stem_name, stem_version) = split_file_name(file_name);
    let poms = &contents.poms;
    let own = poms
        .iter()
        .position(|p| p.artifact == stem_name)
        .or((poms.len() == 1).then_some(0));
    let (name, version) = if let Some(pom) = own.and_then(|i| poms.get(i)) {
        (pom.name(), pom.version.as_deref())
    } else if let Some((name, version)) = contents.manifest.as_ref().and_then(Manifest::identity) {
        (name, version.or(stem_version))
    } else {
        let manifest = contents.manifest.as_ref();
        let version = stem_version
            .or(manifest.and_then(|m| m.version.as_deref().or(m.bundle_version.as_deref())));
        (stem_name.to_owned(), version)
    };
    let mut recorded = Recorded::new(BuildKind::Maven, &name);
    recorded.version = version.map(|v| capped(v, VERSION_MAX));
    (recorded, own)
}

/// A jar's file name as name and version: `foo-bar-1.2.jar` is `foo-bar` at `1.2` (cut at
/// the last `-` before a digit); without such a `-`, the whole stem and no version.
fn split_file_name(file_name: &str) -> (&str, Option<&str>) {
    let stem = std::str::from_utf8(archive_stem(file_name.as_bytes())).unwrap_or(file_name);
    if stem.is_empty() {
        return (file_name, None);
    }
    let cut = stem
        .as_bytes()
        .windows(2)
        .rposition(|pair| matches!(pair, [b'-', d] if d.is_ascii_digit()));
    match cut.and_then(|at| Some((stem.get(..at)?, stem.get(at + 1..)?))) {
        Some((name, version)) if !name.is_empty() => (name, Some(version)),
        _ => (stem, None),
    }
}

/// The coordinates a `pom.properties` gives, when it names an artifact.
fn parse_pom(bytes: &[u8]) -> Option<Pom> {
    let text = String::from_utf8_lossy(bytes);
    let (mut group, mut artifact, mut version) = (None, None, None);
    let mut take = |line: &str| {
        let Some((key, value)) = property(line) else {
            return;
        };
        let slot = match key {
            "groupId" => (&mut group, NAME_MAX),
            "artifactId" => (&mut artifact, NAME_MAX),
            "version" => (&mut version, VERSION_MAX),
            _ => return,
        };
        *slot.0 = (!value.is_empty()).then(|| capped(value, slot.1));
    };
    // A line ending in an odd number of backslashes goes on in the next one.
    let mut logical = String::new();
    for line in text.lines() {
        let line = line.trim_start();
        if logical.is_empty() && (line.starts_with('#') || line.starts_with('!')) {
            continue;
        }
        let backslashes = line.bytes().rev().take_while(|&b| b == b'\\').count();
        if let Some(part) = line.strip_suffix('\\').filter(|_| backslashes % 2 == 1) {
            logical.push_str(part);
        } else {
            logical.push_str(line);
            take(&logical);
            logical.clear();
        }
    }
    take(&logical);
    Some(Pom {
        group,
        artifact: artifact?,
        version,
    })
}

/// A properties line's key and value (`key=value`, `key: value` or `key value`), trimmed.
fn property(line: &str) -> Option<(&str, &str)> {
    let line = line.trim_start();
    let key_end = line
        .find(|c: char| c == '=' || c == ':' || c.is_whitespace())
        .unwrap_or(line.len());
    let (key, rest) = line.split_at_checked(key_end)?;
    let rest = rest.trim_start();
    let value = rest.strip_prefix(['=', ':']).unwrap_or(rest);
    (!key.is_empty()).then(|| (key, value.trim()))
}

/// The main section of a `MANIFEST.MF` (up to its first blank line).
fn parse_manifest(bytes: &[u8]) -> Manifest {
    let text = String::from_utf8_lossy(bytes);
    let mut manifest = Manifest::default();
    let mut header: Option<(&str, String)> = None;
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        // A continuation line starts with one space, dropped when joined.
        if let Some(more) = line.strip_prefix(' ') {
            if let Some((_, value)) = header.as_mut() {
                value.push_str(more);
            }
            continue;
        }
        if let Some((key, value)) = header.take() {
            manifest.set(key, &value);
        }
        if line.is_empty() {
            break;
        }
        header = line
            .split_once(':')
            .map(|(key, value)| (key.trim(), value.trim_start().to_owned()));
    }
    if let Some((key, value)) = header {
        manifest.set(key, &value);
    }
    manifest
}

impl Manifest {
    /// Keeps the header `key` (any case) when it is one of those wanted.
    fn set(&mut self, key: &str, value: &str) {
        let value = value.trim();
        let (slot, value) = match key.to_ascii_lowercase().as_str() {
            "implementation-title" => (&mut self.title, value),
            "implementation-version" => (&mut self.version, value),
            "implementation-vendor-id" => (&mut self.vendor_id, value),
            // `org.example.core;singleton:=true`: the parameters are not the name.
            "bundle-symbolicname" => (
                &mut self.symbolic_name,
                value.split(';').next().unwrap_or("").trim(),
            ),
            "bundle-version" => (&mut self.bundle_version, value),
            "build-jdk-spec" => (&mut self.jdk_spec, value),
            "build-jdk" => (&mut self.build_jdk, value),
            "created-by" => (&mut self.created_by, value),
            _ => return,
        };
        *slot = (!value.is_empty()).then(|| capped(value, NAME_MAX));
    }
}

/// What went wrong while reading one jar (its nested ones included), counted.
#[derive(Debug, Default)]
struct Notes {
    /// The outer central directory was not read.
    central: Option<Fault>,
    /// The directory held fewer records than its end record counts.
    short_directory: bool,
    /// Wanted entries (or nested directories) whose bytes were not available.
    unavailable: u64,
    /// Wanted entries with a bad header, offset or deflate stream.
    corrupt: u64,
    /// Wanted entries encrypted or compressed some other way.
    unsupported: u64,
    /// Poms or manifests cut at [`ENTRY_MAX`].
    cut: u64,
    /// Nested jars larger than [`NESTED_MAX`] inflated.
    too_large: u64,
    /// Nested jars whose central directory could not be read.
    broken_nested: u64,
    /// Poms and nested jars past their caps.
    over_cap: u64,
    /// The layer's inflate budget ran out.
    budget_out: bool,
    /// Reads went past the allowance of the archive's size.
    exhausted: bool,
}

impl Notes {
    /// Counts an entry that could not be read.
    fn fault(&mut self, fault: EntryFault) {
        match fault {
            EntryFault::Unavailable => self.unavailable += 1,
            EntryFault::Corrupt => self.corrupt += 1,
        }
    }

    /// The warnings, as sentences.
    fn sentences(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(fault) = self.central {
            let why = match fault {
                Fault::NotFound => "has no end of central directory record",
                Fault::Unavailable => "has its central directory outside the bytes kept",
                Fault::Outside => "places its central directory outside the file",
                Fault::TooLarge => "has a central directory larger than 16 MiB",
                Fault::TooMany => "counts more than 1048576 entries",
            };
            out.push(format!(
                "The archive {why}; it is named from its file name only."
            ));
        }
        if self.short_directory {
            out.push(
                "A central directory holds fewer records than its end record counts.".to_owned(),
            );
        }
        let counts = [
            (
                self.unavailable,
                "Entries not available in the bytes kept (nested jars are listed by file name)",
            ),
            (
                self.corrupt,
                "Entries skipped for a bad header, offset or deflate stream",
            ),
            (
                self.unsupported,
                "Entries encrypted or compressed other than stored or deflate, not read",
            ),
            (
                self.cut,
                "Maven descriptors or manifests longer than 64 KiB, cut",
            ),
            (
                self.too_large,
                "Nested jars larger than 16 MiB inflated, listed by file name",
            ),
            (
                self.broken_nested,
                "Nested jars without a readable central directory, listed by file name",
            ),
            (
                self.over_cap,
                "Poms or nested jars past the limit of 4096, not read",
            ),
        ];
        for (count, what) in counts.into_iter().filter(|(count, _)| *count > 0) {
            out.push(format!("{what}: {count}."));
        }
        if self.budget_out {
            out.push(
                "The layer's budget of inflated bytes ran out; later entries were not inflated."
                    .to_owned(),
            );
        }
        if self.exhausted {
            out.push(
                "Entries overlap: reading stopped at three times the archive's size.".to_owned(),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Write};
    use std::time::{Duration, Instant};

    use ::zip::write::SimpleFileOptions;
    use ::zip::{CompressionMethod, ZipWriter};

    use super::*;

    /// Entries (name, bytes, deflated) written into a zip in memory.
    fn archive(entries: &[(&str, &[u8], bool)]) -> Vec<u8> {
        let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
        for &(name, data, deflate) in entries {
            let method = if deflate {
                CompressionMethod::Deflated
            } else {
                CompressionMethod::Stored
            };
            writer
                .start_file(
                    name,
                    SimpleFileOptions::default().compression_method(method),
                )
                .unwrap();
            writer.write_all(data).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    /// A `pom.properties` as Maven writes it.
    fn pom(group: &str, artifact: &str, version: &str) -> Vec<u8> {
        format!("#Generated by Maven\n#Mon Jan 01 00:00:00 UTC 2024\ngroupId={group}\nartifactId={artifact}\nversion={version}\n")
            .into_bytes()
    }

    /// Where a pom of `group:artifact` lives in a jar.
    fn pom_path(group: &str, artifact: &str) -> String {
        format!("META-INF/maven/{group}/{artifact}/pom.properties")
    }

    /// `len` pseudo-random bytes (incompressible filler).
    fn noise(len: usize, mut seed: u64) -> Vec<u8> {
        (0..len).map(|_| xorshift(&mut seed) as u8).collect()
    }

    /// The next number of a xorshift64 sequence.
    fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    /// `read_jar` over `bytes`, where only the offsets `available` allows can be read.
    fn read_where(
        file_name: &str,
        bytes: &[u8],
        budget: &mut InflateBudget,
        available: impl Fn(u64, u64) -> bool,
    ) -> Option<(Recorded, Vec<String>)> {
        let mut read_at = |offset: u64, len: usize| {
            let from = usize::try_from(offset).ok()?;
            available(offset, offset + len as u64)
                .then(|| bytes.get(from..from + len).map(<[u8]>::to_vec))?
        };
        read_jar(
            file_name.as_bytes(),
            bytes.len() as u64,
            &mut read_at,
            budget,
        )
    }

    /// `read_jar` over all of `bytes` with a large budget; it must be a zip.
    fn read(file_name: &str, bytes: &[u8]) -> (Recorded, Vec<String>) {
        read_where(
            file_name,
            bytes,
            &mut InflateBudget::new(1 << 30),
            |_, _| true,
        )
        .unwrap()
    }

    /// The dependencies as (name, version) pairs.
    fn deps(recorded: &Recorded) -> Vec<(&str, Option<&str>)> {
        recorded
            .dependencies
            .iter()
            .map(|d| (d.name.as_str(), d.version.as_deref()))
            .collect()
    }

    /// Where the end of central directory record starts.
    fn end_record(bytes: &[u8]) -> usize {
        bytes.windows(4).rposition(|w| w == b"PK\x05\x06").unwrap()
    }

    /// Where each central-directory record starts, by name (a plain zip: no prefix, no ZIP64).
    fn central_records(bytes: &[u8]) -> std::collections::HashMap<String, usize> {
        let field = |at: usize| usize::from(u16::from_le_bytes([bytes[at], bytes[at + 1]]));
        let end = end_record(bytes);
        let mut at = u32::from_le_bytes(bytes[end + 16..end + 20].try_into().unwrap()) as usize;
        let mut records = std::collections::HashMap::new();
        while bytes[at..].starts_with(b"PK\x01\x02") {
            let name =
                String::from_utf8(bytes[at + 46..at + 46 + field(at + 28)].to_vec()).unwrap();
            records.insert(name, at);
            at += 46 + field(at + 28) + field(at + 30) + field(at + 32);
        }
        records
    }

    /// Where the central-directory record named `name` starts.
    fn central_record(bytes: &[u8], name: &str) -> usize {
        central_records(bytes)[name]
    }

    const MANIFEST: &[u8] = b"Manifest-Version: 1.0\r\nCreated-By: Maven JAR Plugin 3.3.0\r\nBuild-Jdk-Spec: 17\r\n\
        Implementation-Title: demo\r\nImplementation-Version: 1.2.0\r\n\r\nName: other/\r\nBuild-Jdk-Spec: 99\r\n";

    /// A nested library: its own pom (unless `group` is empty) and a class.
    fn library(group: &str, artifact: &str, version: &str, deflate: bool) -> Vec<u8> {
        let own_pom = pom(group, artifact, version);
        let path = pom_path(group, artifact);
        let mut entries: Vec<(&str, &[u8], bool)> =
            vec![("a/B.class", b"\xca\xfe\xba\xbe", deflate)];
        if !group.is_empty() {
            entries.push((&path, &own_pom, deflate));
        }
        archive(&entries)
    }

    /// A Spring Boot fat jar: its own pom, `a` (with a shaded `x`) and `b` with poms, `c`
    /// without one, all stored; `filler` bytes of noise between the libraries and the end.
    fn fat_jar(filler: usize) -> Vec<u8> {
        let own_pom = pom("com.example", "app", "0.1.0");
        let a_pom = pom("org.a", "a", "1.0");
        let x_pom = pom("org.x", "x", "9");
        let a = archive(&[
            (&pom_path("org.a", "a"), &a_pom, true),
            (&pom_path("org.x", "x"), &x_pom, true),
            ("a/Filler.class", &noise(filler, 7), false),
        ]);
        let b = library("org.b", "b", "2.1", false);
        let c = library("", "", "", true);
        archive(&[
            (
                "META-INF/MANIFEST.MF",
                b"Manifest-Version: 1.0\nBuild-Jdk-Spec: 21\n",
                true,
            ),
            (&pom_path("com.example", "app"), &own_pom, true),
            ("BOOT-INF/lib/a-1.0.jar", &a, false),
            ("BOOT-INF/lib/b-2.1.jar", &b, false),
            ("BOOT-INF/lib/c-3.0.0.jar", &c, false),
            ("BOOT-INF/classes/z.bin", &noise(filler, 9), false),
        ])
    }

    #[test]
    fn candidates_and_zip_heads() {
        assert!(is_candidate(b"app/lib/x.jar", 22));
        assert!(is_candidate(b"srv/ROOT.WAR", 1000));
        assert!(is_candidate(b"a.Ear", 1000));
        assert!(!is_candidate(b"app/lib/x.jar", 21));
        assert!(!is_candidate(b"app/lib/x.jar.sha1", 1000));
        assert!(!is_candidate(b"jar", 1000));
        assert!(!is_candidate(b"x.zip", 1000));
        assert!(is_zip(b"PK\x03\x04rest"));
        assert!(is_zip(b"PK\x05\x06"));
        assert!(!is_zip(b"PK\x01\x02"));
        assert!(!is_zip(b"PK"));
        assert!(!is_zip(b"\x7fELF"));
    }

    #[test]
    fn plain_maven_jar() {
        let pom = b"# comment\n! also a comment\n  version = 1.2.0\ngroupId:com.example\nartifactId demo\n";
        let jar = archive(&[
            ("META-INF/MANIFEST.MF", MANIFEST, true),
            (&pom_path("com.example", "demo"), pom, true),
            ("com/example/Demo.class", b"\xca\xfe\xba\xbe", true),
        ]);
        let (recorded, warnings) = read("demo-1.2.0.jar", &jar);
        assert_eq!(recorded.kind, BuildKind::Maven);
        assert_eq!(recorded.name, "com.example:demo");
        assert_eq!(recorded.version.as_deref(), Some("1.2.0"));
        // The main section's, not the per-entry section's.
        assert_eq!(recorded.toolchain.as_deref(), Some("17"));
        assert!(recorded.dependencies.is_empty());
        assert!(warnings.is_empty(), "{warnings:?}");
        assert!(
            read_where(
                "demo.jar",
                b"not a zip at all, not at all",
                &mut InflateBudget::new(1),
                |_, _| true
            )
            .is_none()
        );
    }

    #[test]
    fn spring_boot_fat_jar() {
        let jar = fat_jar(100);
        let (recorded, warnings) = read("app.jar", &jar);
        assert_eq!(
            (recorded.name.as_str(), recorded.version.as_deref()),
            ("com.example:app", Some("0.1.0"))
        );
        assert_eq!(recorded.toolchain.as_deref(), Some("21"));
        let expected = [
            ("c", Some("3.0.0")),
            ("org.a:a", Some("1.0")),
            ("org.b:b", Some("2.1")),
            ("org.x:x", Some("9")),
        ];
        assert_eq!(deps(&recorded), expected);
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn war_with_deflated_libraries() {
        let a = library("org.a", "a", "1.0", true);
        let b = library("org.b", "b-core", "2.0", false);
        let war = archive(&[
            ("WEB-INF/web.xml", b"<web-app/>", true),
            ("WEB-INF/lib/a-1.0.jar", &a, true),
            ("WEB-INF/lib/b-core-2.0.jar", &b, true),
            ("WEB-INF/lib/notes.txt", b"not a jar", true),
            ("WEB-INF/lib/deeper/d-1.jar", &a, true),
        ]);
        let mut budget = InflateBudget::new(1 << 30);
        let (recorded, warnings) =
            read_where("shop-4.2.war", &war, &mut budget, |_, _| true).unwrap();
        assert_eq!(
            (recorded.name.as_str(), recorded.version.as_deref()),
            ("shop", Some("4.2"))
        );
        assert_eq!(
            deps(&recorded),
            [("org.a:a", Some("1.0")), ("org.b:b-core", Some("2.0"))]
        );
        assert!(warnings.is_empty(), "{warnings:?}");
        // Both libraries and a's deflated pom were inflated, and charged.
        assert!(
            budget.spent() >= (a.len() + b.len()) as u64,
            "{}",
            budget.spent()
        );
    }

    #[test]
    fn shaded_jar_lists_the_other_poms() {
        let jar = archive(&[
            (
                &pom_path("org.slf4j", "slf4j-api"),
                &pom("org.slf4j", "slf4j-api", "2.0.9"),
                true,
            ),
            (
                &pom_path("com.example", "tool"),
                &pom("com.example", "tool", "3.0"),
                true,
            ),
            (
                &pom_path("com.google.guava", "guava"),
                &pom("com.google.guava", "guava", "31.1-jre"),
                false,
            ),
        ]);
        let (recorded, _) = read("tool-3.0-shaded.jar", &jar);
        assert_eq!(
            (recorded.name.as_str(), recorded.version.as_deref()),
            ("com.example:tool", Some("3.0"))
        );
        assert_eq!(
            deps(&recorded),
            [
                ("com.google.guava:guava", Some("31.1-jre")),
                ("org.slf4j:slf4j-api", Some("2.0.9"))
            ]
        );
        // Renamed past recognition: no pom is its own, so the manifest-less name is the file's.
        let (renamed, _) = read("bundle.jar", &jar);
        assert_eq!((renamed.name.as_str(), renamed.version), ("bundle", None));
        assert_eq!(renamed.dependencies.len(), 3);
    }

    #[test]
    fn manifest_only_jars() {
        let osgi = b"Manifest-Version: 1.0\nBundle-SymbolicName: org.lib.core;singleton:=true\nBundle-Version: 4.5.6\nBuild-Jdk: 11.0.2\n";
        let (recorded, warnings) = read(
            "core.jar",
            &archive(&[("META-INF/MANIFEST.MF", osgi, true)]),
        );
        assert_eq!(
            (recorded.name.as_str(), recorded.version.as_deref()),
            ("org.lib.core", Some("4.5.6"))
        );
        assert_eq!(recorded.toolchain.as_deref(), Some("11.0.2"));
        assert!(warnings.is_empty());
        let plain = b"Implementation-Title: very-long-na\r\n me\r\nImplementation-Vendor-Id: org.vendor\r\n\
            Implementation-Version: 7.1\r\nCreated-By: 17.0.2 (Eclipse Adoptium)\r\n";
        let (recorded, _) = read("x.jar", &archive(&[("meta-inf/manifest.mf", plain, false)]));
        assert_eq!(
            (recorded.name.as_str(), recorded.version.as_deref()),
            ("org.vendor:very-long-name", Some("7.1"))
        );
        assert_eq!(recorded.toolchain.as_deref(), Some("17.0.2"));
        let ant = b"Created-By: Apache Ant 1.10\nImplementation-Version: 2.0\n";
        let (recorded, _) = read("tool.jar", &archive(&[("META-INF/MANIFEST.MF", ant, true)]));
        assert_eq!(
            (
                recorded.name.as_str(),
                recorded.version.as_deref(),
                recorded.toolchain
            ),
            ("tool", Some("2.0"), None)
        );
    }

    #[test]
    fn name_only_fallback() {
        let jar = archive(&[("foo/Bar.class", b"\xca\xfe\xba\xbe", true)]);
        let (recorded, warnings) = read("foo-bar-1.2.3-SNAPSHOT.jar", &jar);
        assert_eq!(
            (recorded.name.as_str(), recorded.version.as_deref()),
            ("foo-bar", Some("1.2.3-SNAPSHOT"))
        );
        assert!(warnings.is_empty());
        let cases = [
            ("guava-31.1-jre.jar", ("guava", Some("31.1-jre"))),
            (
                "commons-lang3-3.12.0.JAR",
                ("commons-lang3", Some("3.12.0")),
            ),
            (
                "log4j-1.2-api-2.17.1.jar",
                ("log4j-1.2-api", Some("2.17.1")),
            ),
            ("plain.war", ("plain", None)),
            ("-1.0.jar", ("-1.0", None)),
            (".jar", (".jar", None)),
            ("trailing-.jar", ("trailing-", None)),
        ];
        for (file, expected) in cases {
            assert_eq!(split_file_name(file), expected, "{file}");
        }
    }

    #[test]
    fn properties_and_manifest_parsing_edges() {
        let pom =
            parse_pom(b"groupId=org.\\\n    example\nartifactId=a\\\\\nversion=\n\xff\xfe=\\")
                .unwrap();
        assert_eq!(
            pom,
            Pom {
                group: Some("org.example".into()),
                artifact: "a\\\\".into(),
                version: None
            }
        );
        assert!(parse_pom(b"groupId=g\nversion=1").is_none());
        let long = format!(
            "artifactId={}\nversion={}",
            "a".repeat(5000),
            "1".repeat(5000)
        );
        let pom = parse_pom(long.as_bytes()).unwrap();
        assert_eq!(
            (pom.artifact.len(), pom.version.map(|v| v.len())),
            (NAME_MAX, Some(VERSION_MAX))
        );
        let manifest = parse_manifest(
            b" orphan continuation\nno colon here\nBundle-SymbolicName: ;x\nBUNDLE-VERSION:1",
        );
        assert_eq!(manifest.symbolic_name, None);
        assert_eq!(manifest.bundle_version.as_deref(), Some("1"));
    }

    #[test]
    fn zip64_archive_with_many_entries() {
        let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
        let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
        for i in 0..70_000 {
            writer.start_file(format!("d/{i}"), stored).unwrap();
        }
        // large_file puts this entry's sizes in a ZIP64 extra field.
        writer
            .start_file(pom_path("org.big", "big"), stored.large_file(true))
            .unwrap();
        writer.write_all(&pom("org.big", "big", "5.0")).unwrap();
        let jar = writer.finish().unwrap().into_inner();
        assert!(
            jar.windows(4).any(|w| w == b"PK\x06\x06"),
            "no ZIP64 end record"
        );
        let started = Instant::now();
        let (recorded, warnings) = read("big.jar", &jar);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(
            (recorded.name.as_str(), recorded.version.as_deref()),
            ("org.big:big", Some("5.0"))
        );
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn streamed_layer_keeps_only_head_and_tail() {
        let jar = fat_jar(100 << 10);
        let size = jar.len() as u64;
        let tail = size - (64 << 10);
        let requested = std::cell::Cell::new(0);
        let kept = |from: u64, to: u64| {
            let kept = to <= 4096 || from >= tail;
            requested.set(requested.get() + u64::from(kept) * (to - from));
            kept
        };
        let (recorded, warnings) =
            read_where("app.jar", &jar, &mut InflateBudget::new(1 << 30), kept).unwrap();
        assert_eq!(
            (recorded.name.as_str(), recorded.version.as_deref()),
            ("com.example:app", Some("0.1.0"))
        );
        assert_eq!(recorded.toolchain.as_deref(), Some("21"));
        assert_eq!(
            deps(&recorded),
            [("a", Some("1.0")), ("b", Some("2.1")), ("c", Some("3.0.0"))]
        );
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("not available"), "{warnings:?}");
        // Bounded reads: the tail, the directory and the pom, nothing like the whole file.
        assert!(
            requested.get() < (80 << 10),
            "{} of {size}",
            requested.get()
        );
        // With everything available, a, b and c are read where they lie.
        let (recorded, _) = read("app.jar", &jar);
        assert_eq!(recorded.dependencies.len(), 4);
    }

    /// `jar` with the end record's field at `field` set to `value` (little-endian, `width` bytes).
    fn patched_end(jar: &[u8], field: usize, value: u64, width: usize) -> Vec<u8> {
        let mut jar = jar.to_vec();
        let at = end_record(&jar) + field;
        jar[at..at + width].copy_from_slice(&value.to_le_bytes()[..width]);
        jar
    }

    #[test]
    fn hostile_end_records() {
        let jar = archive(&[
            ("META-INF/MANIFEST.MF", MANIFEST, true),
            (
                &pom_path("com.example", "demo"),
                &pom("com.example", "demo", "1.0"),
                true,
            ),
        ]);
        let size = jar.len() as u64;
        let cases = [
            (patched_end(&jar, 16, size + 1000, 4), "outside the file"),
            (patched_end(&jar, 12, 0xFFFF_FFFF, 4), "outside the file"),
            (
                patched_end(&patched_end(&jar, 16, 0, 4), 12, 20 << 20, 4),
                "outside the file",
            ),
        ];
        for (bad, why) in cases {
            let (recorded, warnings) = read("demo-9.jar", &bad);
            assert_eq!(
                (recorded.name.as_str(), recorded.version.as_deref()),
                ("demo", Some("9"))
            );
            assert_eq!(warnings.len(), 1, "{warnings:?}");
            assert!(warnings[0].contains(why), "{warnings:?}");
        }
        // A count of 0xFFFF over a directory of two records: both read, the shortfall told.
        let (recorded, warnings) = read("demo-9.jar", &patched_end(&jar, 10, 0xFFFF, 2));
        assert_eq!(recorded.name, "com.example:demo");
        assert!(
            warnings.iter().any(|w| w.contains("fewer records")),
            "{warnings:?}"
        );
        // No end record at all: a truncated zip is still a jar, named from its file name.
        let (recorded, warnings) = read("demo-9.jar", &jar[..jar.len() / 2]);
        assert_eq!(recorded.name, "demo");
        assert!(
            warnings[0].contains("no end of central directory"),
            "{warnings:?}"
        );
    }

    #[test]
    fn oversized_central_directory_is_refused() {
        // 20 MiB of directory: real records, many and long-named.
        let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
        let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
        let long = "n".repeat(4000);
        for i in 0..5200 {
            writer.start_file(format!("{long}{i}"), stored).unwrap();
        }
        let jar = writer.finish().unwrap().into_inner();
        let (recorded, warnings) = read("huge-1.jar", &jar);
        assert_eq!(recorded.name, "huge");
        assert!(warnings[0].contains("larger than 16 MiB"), "{warnings:?}");
    }

    #[test]
    fn local_header_offset_past_the_end() {
        let path = pom_path("com.example", "demo");
        let mut jar = archive(&[
            ("META-INF/MANIFEST.MF", MANIFEST, true),
            (&path, &pom("com.example", "demo", "1.0"), true),
        ]);
        let at = central_record(&jar, &path) + 42;
        jar[at..at + 4].copy_from_slice(&0x7FFF_FFF0_u32.to_le_bytes());
        let (recorded, warnings) = read("demo-9.jar", &jar);
        // The manifest still names it.
        assert_eq!(
            (recorded.name.as_str(), recorded.version.as_deref()),
            ("demo", Some("1.2.0"))
        );
        assert_eq!(
            warnings,
            ["Entries skipped for a bad header, offset or deflate stream: 1."]
        );
    }

    /// A fat jar whose deflated `bomb-1.0.jar` inflates to 100 MiB of zeros.
    fn bomb_jar(declared: Option<u32>) -> Vec<u8> {
        let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
        let deflated = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
        writer
            .start_file("BOOT-INF/lib/bomb-1.0.jar", deflated)
            .unwrap();
        let zeros = vec![0; 1 << 20];
        for _ in 0..100 {
            writer.write_all(&zeros).unwrap();
        }
        let mut jar = writer.finish().unwrap().into_inner();
        if let Some(declared) = declared {
            let at = central_record(&jar, "BOOT-INF/lib/bomb-1.0.jar") + 24;
            jar[at..at + 4].copy_from_slice(&declared.to_le_bytes());
        }
        jar
    }

    #[test]
    fn nested_deflate_bomb_stops_at_its_cap() {
        let jar = bomb_jar(Some(1000));
        assert!(jar.len() < 200 << 10, "{}", jar.len());
        let mut budget = InflateBudget::new(1 << 30);
        let (recorded, warnings) = read_where("app.jar", &jar, &mut budget, |_, _| true).unwrap();
        assert_eq!(deps(&recorded), [("bomb", Some("1.0"))]);
        assert_eq!(budget.spent(), NESTED_MAX);
        assert_eq!(
            warnings,
            ["Nested jars larger than 16 MiB inflated, listed by file name: 1."]
        );
        // Honest about its size, it is not inflated at all.
        let mut budget = InflateBudget::new(1 << 30);
        let (recorded, _) =
            read_where("app.jar", &bomb_jar(None), &mut budget, |_, _| true).unwrap();
        assert_eq!((recorded.dependencies.len(), budget.spent()), (1, 0));
    }

    #[test]
    fn inflate_budget_runs_out_across_nested_jars() {
        let libraries: Vec<(String, Vec<u8>)> = (0..30)
            .map(|i| {
                let pom = pom("org.n", &format!("n{i}"), "1.0");
                let jar = archive(&[
                    (&pom_path("org.n", &format!("n{i}")), &pom, false),
                    ("f", &noise(100 << 10, i + 1), false),
                ]);
                (format!("WEB-INF/lib/n{i}-1.0.jar"), jar)
            })
            .collect();
        let entries: Vec<(&str, &[u8], bool)> = libraries
            .iter()
            .map(|(n, j)| (n.as_str(), j.as_slice(), true))
            .collect();
        let war = archive(&entries);
        let mut budget = InflateBudget::new(1 << 20);
        let (recorded, warnings) = read_where("site.war", &war, &mut budget, |_, _| true).unwrap();
        assert_eq!(recorded.dependencies.len(), 30);
        let by_pom = recorded
            .dependencies
            .iter()
            .filter(|d| d.name.starts_with("org.n:"))
            .count();
        assert!((5..=10).contains(&by_pom), "{by_pom}");
        assert!(budget.spent() <= 1 << 20 && budget.remaining() == 0);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("budget"), "{warnings:?}");
    }

    #[test]
    fn aliased_nested_entries_stay_within_the_read_allowance() {
        // One stored nested jar with a 1 MiB directory, and 3000 records that all point at it.
        let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
        let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
        for i in 0..10_000 {
            writer
                .start_file(format!("{}/{i}", "d".repeat(90)), stored)
                .unwrap();
        }
        let big = writer.finish().unwrap().into_inner();
        let names: Vec<String> = (0..3000).map(|i| format!("lib/n{i}.jar")).collect();
        let mut entries: Vec<(&str, &[u8], bool)> = vec![("lib/big-1.jar", &big, false)];
        entries.extend(names.iter().map(|n| (n.as_str(), &b"x"[..], false)));
        let mut jar = archive(&entries);
        let records = central_records(&jar);
        let first = records["lib/big-1.jar"];
        let fields = jar[first + 20..first + 28].to_vec();
        let local = jar[first + 42..first + 46].to_vec();
        for name in &names {
            let at = records[name];
            jar[at + 20..at + 28].copy_from_slice(&fields);
            jar[at + 42..at + 46].copy_from_slice(&local);
        }
        let read = std::cell::Cell::new(0);
        let started = Instant::now();
        let counted = |from: u64, to: u64| {
            read.set(read.get() + to - from);
            true
        };
        let (recorded, warnings) =
            read_where("app.jar", &jar, &mut InflateBudget::new(1 << 30), counted).unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        assert!(
            read.get() <= 3 * jar.len() as u64 + (64 << 10),
            "{} of {}",
            read.get(),
            jar.len()
        );
        assert_eq!(recorded.dependencies.len(), 3001);
        assert!(
            warnings.iter().any(|w| w.contains("three times")),
            "{warnings:?}"
        );
    }

    #[test]
    fn random_mutations_never_panic() {
        let original = fat_jar(64);
        let deflated_nested = library("org.d", "d", "4.0", true);
        let mut base = original.clone();
        // A deflated nested jar too, so mutations reach the in-memory path.
        base.truncate(0);
        base.extend(archive(&[
            ("META-INF/MANIFEST.MF", MANIFEST, true),
            ("BOOT-INF/lib/inner.jar", &original, false),
            ("lib/d-4.0.jar", &deflated_nested, true),
            (
                &pom_path("com.example", "outer"),
                &pom("com.example", "outer", "1"),
                true,
            ),
        ]));
        let (recorded, _) = read("outer.jar", &base);
        assert_eq!(recorded.name, "com.example:outer");
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let started = Instant::now();
        for _ in 0..10_000 {
            let mut bytes = base.clone();
            let len = bytes.len() as u64;
            for _ in 0..=xorshift(&mut state) % 8 {
                let roll = xorshift(&mut state);
                // Half the changes land in the directory and end record at the back.
                let at = if roll & 1 == 0 {
                    roll % len
                } else {
                    len - 1 - (roll >> 1) % 400.min(len)
                };
                bytes[at as usize] = (roll >> 32) as u8;
            }
            if xorshift(&mut state).is_multiple_of(16) {
                bytes.truncate((xorshift(&mut state) % len) as usize);
            }
            let mut budget = InflateBudget::new(64 << 20);
            let result = read_where("outer.jar", &bytes, &mut budget, |_, _| true);
            if let Some((recorded, warnings)) = result {
                assert!(warnings.len() <= 12);
                assert!(recorded.dependencies.len() <= super::super::DEPENDENCIES_MAX);
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{:?}",
            started.elapsed()
        );
    }
}

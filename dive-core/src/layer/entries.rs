//! The walk state: every tar member the reader yields becomes a [`LayerEntry`] (whiteouts,
//! hardlinks, captured package databases, ELF debug bytes and CUDA device code, content
//! hashes of streamed files), with a warning for whatever is wrong, shared by the seeking
//! and streaming walks.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::io::{self, Read, Seek};

use tar::EntryType;
use twox_hash::XxHash3_128;

use super::decompress::Compression;
use super::elf_sections;
use super::fatbin::DeviceCode;
use super::fatbin_scan::Scanner;
use super::index::{Captured, ContentHash, EntryKind, LayerEntry, LayerIndex};
use super::options::WalkOptions;
use super::positioned_elf::{device_code_at, positioned};
use super::recorded::{self, InflateBudget, Kept, Recorded, go, jar};
use super::tar_input::Input;
use super::tar_reader::{BLOCK, Data, Member, TarError, TarReader};
use crate::aligned::AlignedBuf;
use crate::error::{EntryWarnings, Location, Warning};
use crate::path::{EntryPath, classify, normalize};
use crate::secrets::{Candidate, FileSecret, PREFIX_BYTES, file_wanted, scan_file};

/// The largest real size a GNU sparse file is counted at: 16 TiB, ext4's largest file.
/// A sparse file's real size is the one size in a tar no bytes back (`/var/log/lastlog`
/// with a large uid claims 1.2 TB in a few KiB); a crafted header claims up to 2^64 - 1.
pub(crate) const SPARSE_REAL_SIZE_MAX: u64 = 1 << 44;

/// Package database bytes a layer may hold per entry before it, beyond `--max-metadata`.
const CAPTURED_PER_ENTRY: u64 = 1024;
/// Bytes of candidate files read for secrets per layer and kind of candidate (heads of at
/// most [`PREFIX_BYTES`] each, a small one charged [`SECRET_CHARGE_MIN`]): named credential
/// files have their own allowance, so that text files cannot crowd out a key.
pub(crate) const SECRET_BYTES_PER_LAYER: u64 = 64 << 20;
/// What one candidate costs at least against the allowance: its regexes run however small
/// it is.
const SECRET_CHARGE_MIN: u64 = 1024;
/// Secrets kept per layer; more are counted in a warning (and by the gate).
const SECRETS_KEPT_PER_LAYER: usize = 1024;
/// Findings in test data, documentation and examples kept per layer, apart from the
/// others, so that examples never crowd out a real secret.
const EXAMPLES_KEPT_PER_LAYER: usize = 256;
/// Architecture records of CUDA device code kept per layer (24 bytes each, 1.5 MiB): a
/// layer of CUDA wheels holds a few thousand.
const DEVICE_ROWS_KEPT: usize = 1 << 16;
/// Dependencies of binaries and Java archives kept per layer: each costs about 1 KiB across
/// the analysis and its JSON (16 MiB); a layer of a large Java application or of a hundred Go
/// tools records a few thousand.
const RECORDED_DEPENDENCIES_KEPT: usize = 1 << 14;
/// Bytes a layer's programs and Java archives may inflate together (cargo auditable data,
/// `pom.properties`, manifests and compressed nested archives), one file at a time.
const INFLATE_PER_LAYER: u64 = 256 << 20;

/// Walk state shared by the seeking and streaming modes.
pub(super) struct Walk {
    hash_contents: bool,
    options: WalkOptions,
    captured: Vec<(u32, Captured)>,
    pub(super) entries: Vec<LayerEntry>,
    /// Device code of the ELF files that have some, by entry index.
    device: Vec<(u32, DeviceCode)>,
    /// Content hashes of a streamed walk, one per entry.
    hashes: Vec<Option<ContentHash>>,
    /// ELF debug bytes of the files that have some, by entry index.
    debug: Vec<(u32, u64)>,
    /// Secrets of the files that hold some, by entry index.
    secrets: Vec<(u32, FileSecret)>,
    /// What binaries and Java archives record of their builds, by entry index.
    recorded: Vec<(u32, Recorded)>,
    /// Dependencies those records hold, against [`RECORDED_DEPENDENCIES_KEPT`].
    recorded_dependencies: usize,
    /// Records kept without their dependencies: the layer's files record too many.
    unkept_recorded: u64,
    /// What the layer's programs and Java archives may still inflate.
    inflate: InflateBudget,
    /// Bytes of candidate files read for secrets, against [`SECRET_BYTES_PER_LAYER`]: named
    /// credential files, then other text files.
    secret_bytes: u64,
    /// What the candidates were charged, by kind (named, text).
    secret_charged: [u64; 2],
    /// Example findings kept, against [`EXAMPLES_KEPT_PER_LAYER`].
    examples_kept: usize,
    /// The walk stopped at damaged or truncated data (not at a cap).
    damaged: bool,
    /// Candidate files not read: the layer's candidates passed the cap.
    secret_unread: u64,
    /// Secrets found and not kept: the layer held more than [`SECRETS_KEPT_PER_LAYER`].
    secret_unkept: u64,
    /// Some entry is a hard link: [`Walk::resolve_links`] has work to do at the end.
    hardlinks: bool,
    path_seed: u64,
    warnings: Vec<Warning>,
    /// Warnings about single entries, a hundred kept.
    entry_warnings: EntryWarnings,
    /// Bytes of the package databases captured so far.
    captured_bytes: u64,
    /// Architecture rows of the device code kept so far, against [`DEVICE_ROWS_KEPT`].
    device_rows: usize,
    /// Files whose device code was not kept: the layer held too much.
    unkept_device: u64,
    file_bytes: u64,
    /// End of the last complete entry (header + padded data).
    end_of_entries: u64,
    failed: bool,
}

impl Walk {
    fn path_key(&self, path: &[u8]) -> u128 {
        XxHash3_128::oneshot_with_seed(self.path_seed, path)
    }

    pub(super) fn new(hash_contents: bool, options: WalkOptions) -> Self {
        Self {
            hash_contents,
            options,
            captured: Vec::new(),
            entries: Vec::new(),
            device: Vec::new(),
            hashes: Vec::new(),
            debug: Vec::new(),
            secrets: Vec::new(),
            recorded: Vec::new(),
            recorded_dependencies: 0,
            unkept_recorded: 0,
            inflate: InflateBudget::new(INFLATE_PER_LAYER),
            secret_bytes: 0,
            secret_charged: [0; 2],
            examples_kept: 0,
            damaged: false,
            secret_unread: 0,
            secret_unkept: 0,
            hardlinks: false,
            path_seed: RandomState::new().hash_one(0u8),
            warnings: Vec::new(),
            entry_warnings: EntryWarnings::default(),
            captured_bytes: 0,
            device_rows: 0,
            unkept_device: 0,
            file_bytes: 0,
            end_of_entries: 0,
            failed: false,
        }
    }

    /// A warning about one entry: kept or counted ([`EntryWarnings`]).
    pub(super) fn warn(&mut self, location: Location, message: impl Into<String>) {
        self.entry_warnings.push(Warning::new(location, message));
    }

    /// A warning about the layer as a whole (it ends early, it cannot be read): always kept,
    /// and at most a few per layer.
    pub(super) fn warn_layer(&mut self, location: Location, message: impl Into<String>) {
        self.warnings.push(Warning::new(location, message));
    }

    pub(super) fn run<I: Input>(&mut self, tar: &mut TarReader<I>) {
        loop {
            match tar.next_member() {
                Ok(Some(member)) => {
                    self.add(member, tar);
                    if self.failed {
                        break;
                    }
                }
                Ok(None) => break,
                Err(err) => {
                    self.fail(err);
                    break;
                }
            }
        }
    }

    fn fail(&mut self, err: TarError) {
        self.failed = true;
        self.damaged = true;
        let mut location = Location::default().offset(err.offset);
        let message = if err.in_data {
            // The input ended inside the data of the last entry read.
            if let Some(last) = self.entries.last() {
                location = location.entry(&last.path);
            }
            "layer tar is truncated inside this entry's data; later entries are missing".to_owned()
        } else if err.offset == 0 && !err.truncated {
            format!("layer is not a tar: {}", err.message)
        } else if err.truncated {
            format!("{}; later entries are missing", err.message)
        } else {
            format!(
                "layer tar is damaged, later entries are missing: {}",
                err.message
            )
        };
        self.warn_layer(location, message);
    }

    fn add<I: Input>(&mut self, member: Member, tar: &mut TarReader<I>) {
        self.end_of_entries = member.end();
        if let Some(mut warning) = member.unusable_warning(Location::default()) {
            warning.message.push_str(" (--max-path)");
            self.entry_warnings.push(warning);
            return;
        }
        let Member {
            header_offset,
            data_offset,
            entry_type: etype,
            path: raw_path,
            link,
            stored: _,
            mut size,
            mode,
            uid,
            gid,
            mtime,
            notes,
            unusable: _,
        } = member;
        let here = || Location::default().offset(header_offset).entry(&raw_path);
        for note in notes {
            let location = here();
            self.warn(location, note);
        }

        let kind = match etype {
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => EntryKind::File,
            EntryType::Directory => EntryKind::Dir,
            EntryType::Symlink => EntryKind::Symlink,
            EntryType::Link => EntryKind::Hardlink,
            EntryType::Char => EntryKind::CharDevice,
            EntryType::Block => EntryKind::BlockDevice,
            EntryType::Fifo => EntryKind::Fifo,
            // Volume labels describe the archive, not a file.
            other if other.as_byte() == b'V' => return,
            other => {
                let location = here();
                return self.warn(
                    location,
                    format!(
                        "entry type {:?} is not a file; skipped",
                        other.as_byte() as char
                    ),
                );
            }
        };
        let Some(path) = normalize(&raw_path) else {
            let location = here();
            return self.warn(location, "path climbs above / with `..`; entry skipped");
        };
        let (path, kind) = match classify(path) {
            EntryPath::Plain(path) if path.is_empty() => return, // the root directory itself
            EntryPath::Plain(path) => (path, kind),
            EntryPath::Whiteout(target) => (target, EntryKind::Whiteout),
            EntryPath::Opaque(dir) => (dir, EntryKind::Opaque),
            EntryPath::AufsMeta => return,
        };
        if etype == EntryType::GNUSparse {
            let location = here();
            let message = if size > SPARSE_REAL_SIZE_MAX {
                let claimed = size;
                size = SPARSE_REAL_SIZE_MAX;
                format!(
                    "GNU sparse file claims a real size of {claimed} bytes, more than any \
                     file holds; counted at {size} bytes"
                )
            } else {
                format!("GNU sparse file: counted at its real size of {size} bytes")
            };
            self.warn(location, message);
        }

        let Some(mut record) =
            LayerEntry::new(path.into_boxed_slice(), kind, header_offset, data_offset)
        else {
            let location = here();
            return self.warn(location, "entry headers span over 4 GiB; entry skipped");
        };
        record.size = if kind == EntryKind::File { size } else { 0 };
        record.mode = mode;
        record.uid = u32::try_from(uid).unwrap_or(u32::MAX);
        record.gid = u32::try_from(gid).unwrap_or(u32::MAX);
        record.mtime = mtime;
        record.sparse = etype == EntryType::GNUSparse;
        let mut content_hash = None;
        match kind {
            EntryKind::Symlink => record.link = link.map(Vec::into_boxed_slice),
            EntryKind::Hardlink => {
                if let Some(target) = link.as_deref().and_then(normalize) {
                    self.hardlinks = true;
                    record.link = Some(target.into_boxed_slice());
                } else {
                    let location = here();
                    self.warn(
                        location,
                        "hardlink target is missing or climbs above /; kept as an empty file",
                    );
                }
            }
            _ => {}
        }
        let index = u32::try_from(self.entries.len()).unwrap_or(u32::MAX);
        // Sparse data is a map and fragments, not the file: only real files are read.
        let readable = kind == EntryKind::File && etype != EntryType::GNUSparse;
        let wanted = readable && (self.options.capture)(&record.path);
        if wanted && size > self.options.capture_limit {
            let location = here();
            self.warn(
                location,
                format!(
                    "package database of {size} bytes is over the {}-byte cap \
                     (--max-metadata); not read, so its packages stay unowned",
                    self.options.capture_limit
                ),
            );
        }
        // All of a layer's databases together: a crafted layer of many large ones would
        // otherwise be held whole (real ones hold about 100 bytes per file they list).
        let allowance = self
            .options
            .capture_limit
            .saturating_add(CAPTURED_PER_ENTRY.saturating_mul(self.entries.len() as u64));
        let fits = self.captured_bytes.saturating_add(size) <= allowance;
        if wanted && size <= self.options.capture_limit && !fits {
            let location = here();
            self.warn(
                location,
                format!(
                    "package database not read: this layer's databases pass {allowance} \
                     bytes (--max-metadata and {CAPTURED_PER_ENTRY} bytes per entry); its \
                     packages stay unowned"
                ),
            );
        }
        let capture = wanted && size <= self.options.capture_limit && fits;
        if capture {
            self.captured_bytes += size;
            // Small metadata files (package databases) are the only contents ever kept.
            let mut content = Vec::with_capacity(usize::try_from(size).unwrap_or(0).min(1 << 20));
            match tar.data().read_to_end(&mut content) {
                Ok(_) => {
                    if self.hash_contents {
                        content_hash = Some(ContentHash::of(&content));
                    }
                    match Captured::new(&content) {
                        Ok(kept) => self.captured.push((index, kept)),
                        Err(err) => self.warn(here(), format!("package database not kept: {err}")),
                    }
                }
                Err(err) => self.unreadable_data(here(), &err),
            }
        } else if readable && self.hash_contents {
            let head_len = file_wanted(&record.path, size).and_then(|c| self.secret_head(c, size));
            let mut head = head_len.map(|len| (Vec::with_capacity(len), len));
            let mut archive = jar::is_candidate(&record.path, size).then(|| Kept::new(size));
            match hash_and_sample(tar.data(), size, head.as_mut(), archive.as_mut()) {
                Ok((hash, sample)) => {
                    if let Some((head, _)) = head {
                        self.keep_secrets(index, &record.path, &head);
                    }
                    content_hash = Some(hash);
                    if let Some(Elf {
                        sample,
                        scanner,
                        go,
                    }) = sample
                    {
                        let sections =
                            elf_sections::sections(size, &mut |o, l| sample.read_at(o, l))
                                .unwrap_or_default();
                        self.keep_debug_bytes(index, elf_sections::debug_bytes(&sections, size));
                        let (code, warnings) = scanner.finish(&sections);
                        self.keep_device_code(index, code, warnings, &here);
                        let found = recorded::of_elf(
                            &sections,
                            size,
                            &mut |o, l| sample.read_at(o, l),
                            go.finish(),
                            &mut self.inflate,
                        );
                        self.keep_recorded(index, found, &here);
                    }
                    if let Some(kept) = archive.filter(|k| jar::is_zip(k.head())) {
                        let name = crate::path::split_last(&record.path).1;
                        let found = jar::read_jar(
                            name,
                            size,
                            &mut |o, l| kept.read_at(o, l),
                            &mut self.inflate,
                        );
                        self.keep_archive(index, found, &here);
                    }
                }
                Err(err) => self.unreadable_data(here(), &err),
            }
        }

        if kind == EntryKind::File {
            self.file_bytes = self.file_bytes.saturating_add(record.size);
        }
        self.entries.push(record);
        if self.hash_contents {
            self.hashes.push(content_hash);
        }
        if self.entries.len() as u64 > self.options.entry_limit {
            self.failed = true;
            let location = Location::default().offset(header_offset);
            self.warn_layer(
                location,
                format!(
                    "more than {} entries (--max-entries); the rest of the layer is not read",
                    self.options.entry_limit
                ),
            );
        }
    }

    /// Keeps a file's ELF debug bytes when it has some (entries come in tar order).
    fn keep_debug_bytes(&mut self, index: u32, bytes: u64) {
        if bytes > 0 {
            self.debug.push((index, bytes));
        }
    }

    /// How many bytes of a secrets candidate of `size` bytes to read, within the layer's
    /// allowance for its kind ([`SECRET_BYTES_PER_LAYER`]); `None` counts it as not read.
    fn secret_head(&mut self, candidate: Candidate, size: u64) -> Option<usize> {
        let len = size.min(PREFIX_BYTES as u64);
        let charged = &mut self.secret_charged[usize::from(candidate == Candidate::Text)];
        let charge = len.max(SECRET_CHARGE_MIN);
        if charged.saturating_add(charge) > SECRET_BYTES_PER_LAYER {
            self.secret_unread += 1;
            return None;
        }
        *charged += charge;
        self.secret_bytes += len;
        usize::try_from(len).ok()
    }

    /// Keeps what a candidate's head holds (entries come in tar order): examples and the
    /// others each up to their own count.
    fn keep_secrets(&mut self, index: u32, path: &[u8], head: &[u8]) {
        for secret in scan_file(path, head) {
            if secret.example {
                if self.examples_kept < EXAMPLES_KEPT_PER_LAYER {
                    self.examples_kept += 1;
                    self.secrets.push((index, secret));
                }
            } else if self.secrets.len() - self.examples_kept >= SECRETS_KEPT_PER_LAYER {
                self.secret_unkept += 1;
            } else {
                self.secrets.push((index, secret));
            }
        }
    }

    /// Reads the heads of a seekable layer's secrets candidates ([`file_wanted`]): one
    /// positioned read each, within the layer's allowance.
    pub(super) fn resolve_secrets<R: Read + Seek>(&mut self, reader: &mut R) {
        let mut head = Vec::new();
        for index in 0..self.entries.len() {
            let entry = &self.entries[index];
            if entry.kind != EntryKind::File || entry.sparse {
                continue;
            }
            let Some(candidate) = file_wanted(&entry.path, entry.size) else {
                continue;
            };
            let (base, size) = (entry.data_offset(), entry.size);
            let Some(len) = self.secret_head(candidate, size) else {
                continue;
            };
            head.clear();
            let read = reader
                .seek(io::SeekFrom::Start(base))
                .and_then(|_| reader.by_ref().take(len as u64).read_to_end(&mut head));
            if read.is_err() {
                continue;
            }
            let path = self.entries[index].path.clone();
            self.keep_secrets(u32::try_from(index).unwrap_or(u32::MAX), &path, &head);
        }
    }

    /// Keeps a file's device code and says what was wrong with its fat binaries.
    fn keep_device_code(
        &mut self,
        index: u32,
        code: Option<DeviceCode>,
        warnings: Vec<String>,
        here: &dyn Fn() -> Location,
    ) {
        for warning in warnings {
            self.warn(here(), format!("CUDA device code: {warning}"));
        }
        let Some(code) = code else { return };
        if self.device_rows + code.by_arch.len() > DEVICE_ROWS_KEPT {
            self.unkept_device += 1;
            return;
        }
        self.device_rows += code.by_arch.len();
        self.device.push((index, code));
    }

    /// Reads the debug bytes, the device code and the recorded build of possible ELF files of
    /// a seekable layer (a few KiB each, unless `cuda_deep` asks for every ELF file whole), and
    /// what its Java archives record.
    pub(super) fn resolve_elf<R: Read + Seek>(&mut self, reader: &mut R) {
        let deep = self.options.cuda_deep;
        for index in 0..self.entries.len() {
            let entry = &self.entries[index];
            if entry.kind != EntryKind::File || entry.sparse {
                continue;
            }
            // In entry order with the ELF files, as a streamed walk meets them: the layer's
            // count of dependencies is spent the same way.
            if jar::is_candidate(&entry.path, entry.size) {
                self.resolve_archive(reader, index);
                continue;
            }
            if !may_be_elf(&entry.path, entry.size) {
                continue;
            }
            let (base, size, header_offset) =
                (entry.data_offset(), entry.size, entry.header_offset);
            let Some((sections, (code, warnings))) = device_code_at(reader, base, size, deep)
            else {
                continue;
            };
            let path = self.entries[index].path.clone();
            let here = || Location::default().offset(header_offset).entry(&path);
            let index = u32::try_from(index).unwrap_or(u32::MAX);
            self.keep_debug_bytes(index, elf_sections::debug_bytes(&sections, size));
            self.keep_device_code(index, code, warnings, &here);
            let found = recorded::of_elf(
                &sections,
                size,
                &mut positioned(reader, base, size),
                None,
                &mut self.inflate,
            );
            self.keep_recorded(index, found, &here);
        }
    }

    /// Keeps what a binary records of its build, within the layer's count of dependencies,
    /// or says why it cannot be read.
    fn keep_recorded(
        &mut self,
        index: u32,
        found: Option<Result<Recorded, String>>,
        here: &dyn Fn() -> Location,
    ) {
        match found {
            None => {}
            Some(Err(problem)) => self.warn(here(), problem),
            Some(Ok(mut recorded)) => {
                let dependencies = recorded.dependencies.len();
                if self.recorded_dependencies + dependencies > RECORDED_DEPENDENCIES_KEPT {
                    // The program stays a package; what it lists is counted, not kept.
                    self.unkept_recorded += 1;
                    recorded.unlisted += dependencies as u64;
                    recorded.dependencies = Vec::new();
                }
                self.recorded_dependencies += recorded.dependencies.len();
                self.recorded.push((index, recorded));
            }
        }
    }

    /// Keeps what a Java archive records, with what was wrong with it.
    fn keep_archive(
        &mut self,
        index: u32,
        found: Option<(Recorded, Vec<String>)>,
        here: &dyn Fn() -> Location,
    ) {
        let Some((recorded, warnings)) = found else {
            return;
        };
        for warning in warnings {
            self.warn(here(), format!("Java archive: {warning}"));
        }
        self.keep_recorded(index, Some(Ok(recorded)), here);
    }

    /// Reads what the Java archive at entry `index` of a seekable layer records: its central
    /// directory and the entries it names, by positioned reads.
    fn resolve_archive<R: Read + Seek>(&mut self, reader: &mut R, index: usize) {
        let entry = &self.entries[index];
        let (base, size, header_offset) = (entry.data_offset(), entry.size, entry.header_offset);
        let mut read_at = positioned(reader, base, size);
        if !read_at(0, 4).is_some_and(|head| jar::is_zip(&head)) {
            return;
        }
        let path = self.entries[index].path.clone();
        let name = crate::path::split_last(&path).1;
        let found = jar::read_jar(name, size, &mut read_at, &mut self.inflate);
        let here = || Location::default().offset(header_offset).entry(&path);
        self.keep_archive(u32::try_from(index).unwrap_or(u32::MAX), found, &here);
    }

    /// The walk cannot go past a file whose data ends early.
    fn unreadable_data(&mut self, location: Location, err: &io::Error) {
        self.failed = true;
        self.damaged = true;
        self.warn_layer(
            location,
            format!("file data is truncated or unreadable: {err}"),
        );
    }

    /// Whether the walk stopped at damaged or truncated data (and said so).
    pub(super) fn damaged(&self) -> bool {
        self.damaged
    }

    pub(super) fn tail_start(&self) -> u64 {
        self.end_of_entries
    }

    /// Warns when the tar lacks its end blocks or carries data after them.
    pub(super) fn check_tail(&mut self, total: u64, nonzero_after: u64) {
        if self.failed {
            return;
        }
        let tail = total.saturating_sub(self.end_of_entries);
        if tail < 2 * BLOCK && total > 0 {
            // A tar that stops inside its last member's padding ends before that member's
            // padded end: the warning points at the true end.
            self.warn_layer(
                Location::default().offset(self.end_of_entries.min(total)),
                "layer tar ends without its two zero end blocks (entries are complete)",
            );
        }
        if nonzero_after > 0 {
            self.warn_layer(
                Location::default().offset(self.end_of_entries),
                format!("{nonzero_after} non-zero bytes follow the end of the layer tar; ignored"),
            );
        }
    }

    /// Points every hard link at the file entry it shares content with: the last regular
    /// file at its target's path before it (a link to a link shares the first file's). Paths
    /// are keyed by a seeded 128-bit hash rather than a copy (an image cannot choose
    /// colliding paths without the seed).
    fn resolve_links(&mut self) {
        let mut files_by_path: HashMap<u128, u32> = HashMap::new();
        for index in 0..self.entries.len() {
            let entry = &self.entries[index];
            let key = self.path_key(&entry.path);
            match entry.kind {
                EntryKind::File => {
                    files_by_path.insert(key, u32::try_from(index).unwrap_or(u32::MAX));
                }
                EntryKind::Hardlink => {
                    let target = entry
                        .link
                        .as_deref()
                        .and_then(|target| files_by_path.get(&self.path_key(target)).copied());
                    self.entries[index].set_link_entry(target);
                    if let Some(target) = target {
                        files_by_path.insert(key, target);
                    }
                }
                _ => {
                    files_by_path.remove(&key);
                }
            }
        }
    }

    pub(super) fn finish(mut self, size_uncompressed: u64) -> LayerIndex {
        if self.secret_unread > 0 {
            let message = format!(
                "secrets: {} candidate files not read: this layer's candidates pass \
                 {SECRET_BYTES_PER_LAYER} bytes (named credential files and other text files \
                 each)",
                self.secret_unread
            );
            self.warn_layer(Location::default(), message);
        }
        if self.secret_unkept > 0 {
            let message = format!(
                "secrets: {} more values found and not listed: the layer holds more than \
                 {SECRETS_KEPT_PER_LAYER} (the gate counts them)",
                self.secret_unkept
            );
            self.warn_layer(Location::default(), message);
        }
        if self.unkept_device > 0 {
            let message = format!(
                "CUDA device code of {} files not kept: the layer's files hold more than \
                 {DEVICE_ROWS_KEPT} architecture records",
                self.unkept_device
            );
            self.warn_layer(Location::default(), message);
        }
        if self.unkept_recorded > 0 {
            let message = format!(
                "the dependencies {} programs and Java archives record are not listed: the \
                 layer's files record more than {RECORDED_DEPENDENCIES_KEPT}",
                self.unkept_recorded
            );
            self.warn_layer(Location::default(), message);
        }
        if self.inflate.exhausted() {
            let message = format!(
                "programs and Java archives: this layer's inflate past {INFLATE_PER_LAYER} \
                 bytes; later ones are read without what they compress (archives named from \
                 their file names)"
            );
            self.warn_layer(Location::default(), message);
        }
        let mut warnings = std::mem::take(&mut self.entry_warnings).finish(Location::default());
        warnings.append(&mut self.warnings);
        self.warnings = warnings;
        // Most layers hold no hard link: the paths are hashed only for those that do.
        if self.hardlinks {
            self.resolve_links();
        }
        // The layer is complete: give back what doubling the vector reserved.
        self.entries.shrink_to_fit();
        self.hashes.shrink_to_fit();
        LayerIndex {
            entries: self.entries,
            compression: Compression::None,
            size_compressed: 0,
            size_uncompressed,
            file_bytes: self.file_bytes,
            warnings: self.warnings,
            captured: self.captured,
            digests: None,
            device: self.device,
            hashes: self.hashes,
            debug: self.debug,
            secrets: self.secrets,
            recorded: self.recorded,
            secret_bytes: self.secret_bytes,
            secret_unkept: self.secret_unkept,
        }
    }
}

/// What a streamed ELF file keeps to be read at its end.
struct Elf {
    /// Its header, section table and tail.
    sample: elf_sections::Sample,
    /// Its fat binaries, followed.
    scanner: Scanner,
    /// Its Go build info, searched for.
    go: go::Scan,
}

/// Hashes a streamed file (BLAKE3, as the merge hashes files of mapped layers) and, when
/// it is an ELF file, keeps its header and tail, follows its fat binaries and looks for Go's
/// build info; fills `head` with its first bytes, up to the length given with it, and
/// `archive` with what a Java archive's reading needs.
fn hash_and_sample<I: Input>(
    mut content: Data<'_, I>,
    size: u64,
    mut head: Option<&mut (Vec<u8>, usize)>,
    mut archive: Option<&mut Kept>,
) -> io::Result<(ContentHash, Option<Elf>)> {
    let mut hasher = blake3::Hasher::new();
    let mut elf = Elf {
        sample: elf_sections::Sample::new(size, recorded::SECTIONS),
        scanner: Scanner::new(size),
        go: go::Scan::default(),
    };
    let mut pos = 0u64;
    let mut take = |chunk: &[u8]| {
        hasher.update(chunk);
        if let Some((head, len)) = head.as_deref_mut() {
            let room = len.saturating_sub(head.len());
            head.extend_from_slice(&chunk[..chunk.len().min(room)]);
        }
        if let Some(kept) = archive.as_deref_mut() {
            kept.take(pos, chunk);
        }
        if elf.sample.is_elf() != Some(false) {
            elf.scanner.feed(chunk);
            elf.sample.take(pos, chunk);
            elf.go.feed(pos, chunk);
        }
        pos += chunk.len() as u64;
    };
    loop {
        match content.read_with(&mut take) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok((
        ContentHash::finish(&hasher),
        (elf.sample.is_elf() == Some(true)).then_some(elf),
    ))
}

/// Whether a file in a seekable layer may be ELF and is worth one 64-byte read to find out.
fn may_be_elf(path: &[u8], size: u64) -> bool {
    const TEXT: [&[u8]; 24] = [
        b"py", b"pyc", b"pyi", b"txt", b"h", b"hpp", b"json", b"md", b"html", b"js", b"ts", b"css",
        b"yaml", b"yml", b"toml", b"cfg", b"ini", b"rst", b"csv", b"xml", b"pem", b"mo", b"png",
        b"svg",
    ];
    let name = crate::path::split_last(path).1;
    let ext = name
        .iter()
        .rposition(|&b| b == b'.')
        .map(|i| &name[i + 1..]);
    size >= elf_sections::HEADER as u64 && !ext.is_some_and(|e| TEXT.contains(&e))
}

/// The content hash the merge and duplicates compare, of a file of `size` bytes read with
/// positioned reads: large reads, few system calls, and no file pages left in RSS as a map
/// would leave them.
pub(crate) fn hash_content(mut content: impl Read, size: u64) -> io::Result<ContentHash> {
    let mut hasher = blake3::Hasher::new();
    let mut buf = AlignedBuf::new(usize::try_from(size).unwrap_or(usize::MAX).min(256 << 10));
    loop {
        match content.read(&mut buf) {
            Ok(0) => return Ok(ContentHash::finish(&hasher)),
            Ok(n) => {
                hasher.update(&buf[..n]);
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
}

//! Files and directories taken out of the image into a directory they cannot leave: symlinks
//! are written as links and never followed, hard links inside the set stay links, no device
//! or FIFO is made, modes are a non-root `tar -x`'s (umask applied, setuid and setgid
//! dropped, no world-writable directory without the sticky bit: `modes`), owners are not
//! set, files arrive under a temporary name and are renamed into place, and directory modes
//! come last (a read-only directory would refuse its own files).

use std::collections::{HashMap, HashSet};
use std::io::{self, Read};
use std::os::fd::OwnedFd;
use std::path::Path;

use rustix::fs::{
    AtFlags, FileType, Mode, OFlags, Timespec, Timestamps, fchmod, futimens, linkat, openat,
    renameat, statat, symlinkat, unlinkat,
};
use rustix::io::Errno;

use super::beneath::{Beneath, Blocked};
use super::modes::{dir_mode, file_mode};
use super::reread::{Contents, Version};
use crate::analysis::Analysis;
use crate::error::{Error, Location, Result};
use crate::escape::escape_path;
use crate::layer::EntryKind;

/// How `extract` treats what is already in the directory, and the modes it writes.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct ExtractOptions {
    /// Replace files and symlinks already there (a symlink in the way of a directory is
    /// still never followed).
    pub force: bool,
    /// The mask taken off every mode written; `None`: the process umask, as `tar -x` run
    /// by a user applies it.
    pub umask: Option<u32>,
    /// Open directories component by component with `O_NOFOLLOW` even where `openat2`
    /// answers: the way taken where a kernel or a seccomp filter refuses `openat2`, which
    /// tests turn on to hold it to the same guarantees.
    pub without_openat2: bool,
}

impl ExtractOptions {
    /// Replacing what is there, or not.
    pub fn force(force: bool) -> Self {
        Self {
            force,
            ..Self::default()
        }
    }

    /// With `mask` taken off every mode instead of the process umask.
    #[must_use]
    pub fn umask(mut self, mask: u32) -> Self {
        self.umask = Some(mask & 0o777);
        self
    }

    /// Without `openat2`: directories opened component by component with `O_NOFOLLOW`.
    #[must_use]
    pub fn without_openat2(mut self, without: bool) -> Self {
        self.without_openat2 = without;
        self
    }
}

/// What `extract` wrote and what it left out, path by path.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Extracted {
    /// Paths written (relative to the directory, as in the image), with what they are.
    pub written: Vec<(Vec<u8>, EntryKind)>,
    /// Paths left out, with the reason.
    pub skipped: Vec<Skipped>,
    /// Bytes of file content written.
    pub bytes: u64,
    /// How files came from a registry (not checked against the layer's digest), if they did.
    pub note: Option<crate::source::PartNote>,
    /// Whether directories were opened with `openat2` (`false`: component by component
    /// with `O_NOFOLLOW`, because `openat2` was refused or turned off).
    pub openat2: bool,
}

/// A path `extract` left out.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Skipped {
    /// The path in the image.
    pub path: Vec<u8>,
    /// Why, in words (names in it escaped).
    pub reason: String,
}

/// One path to write.
#[derive(Debug, Clone)]
struct Item {
    path: Vec<u8>,
    kind: EntryKind,
    mode: u32,
    /// `None` for a directory no entry made (its time is the extraction's).
    mtime: Option<u64>,
    link: Option<Box<[u8]>>,
    /// For files: the entry holding the bytes.
    content: Option<(usize, usize)>,
}

impl Contents {
    /// Writes `paths` (files or whole directories) of the final image, or of layer `N`'s own
    /// entries, below `dir`, each at its path in the image (`dir/usr/lib/…`). Refuses, before
    /// writing anything, when a file or symlink to be written is already there, unless
    /// `options.force`.
    pub fn extract(
        &self,
        analysis: &Analysis,
        paths: &[&[u8]],
        version: Version,
        dir: &Path,
        options: ExtractOptions,
    ) -> Result<Extracted> {
        let mut done = Extracted::default();
        let items = collect(analysis, paths, version, &mut done.skipped)
            .map_err(|message| Error::format(Location::input(&self.input), message))?;
        let io_error = |e: io::Error| Error::io(Location::input(dir.display().to_string()), e);
        let beneath = Beneath::open(dir, !options.without_openat2).map_err(io_error)?;
        if !options.force {
            let there = existing(&beneath, &items);
            if let Some(first) = there.first() {
                return Err(Error::format(
                    Location::input(dir.display().to_string()),
                    format!(
                        "{} of the paths to write are there already (the first: {}); \
                         --force replaces them",
                        there.len(),
                        escape_path(first)
                    ),
                ));
            }
        }
        let mut writer = Writer {
            beneath: &beneath,
            umask: options.umask.unwrap_or_else(super::modes::process_umask),
            done: &mut done,
            written_files: HashSet::new(),
            dirs: Vec::new(),
        };
        for item in items.iter().filter(|i| i.kind == EntryKind::Dir) {
            writer.dir(item);
        }
        // Files of each layer in one pass over it.
        let mut by_layer: HashMap<usize, Vec<&Item>> = HashMap::new();
        for item in items.iter().filter(|i| i.kind == EntryKind::File) {
            if let Some((layer, _)) = item.content {
                by_layer.entry(layer).or_default().push(item);
            }
        }
        let mut layers: Vec<usize> = by_layer.keys().copied().collect();
        layers.sort_unstable();
        for layer in layers {
            let group = &by_layer[&layer];
            // The first path of each content is written; the others link to it.
            let mut first_of: HashMap<usize, Vec<&Item>> = HashMap::new();
            for item in group {
                if let Some((_, entry)) = item.content {
                    first_of.entry(entry).or_default().push(item);
                }
            }
            let entries: Vec<usize> = first_of.keys().copied().collect();
            let mut note = None;
            self.read_each(analysis, layer, &entries, &mut |entry, reader| {
                note = note.or(reader.note());
                let Some(paths) = first_of.get(&entry) else {
                    return Ok(());
                };
                writer.file(paths[0], reader);
                Ok(())
            })?;
            writer.done.note = writer.done.note.or(note);
            for paths in first_of.values() {
                for item in &paths[1..] {
                    writer.hard_link(item, &paths[0].path);
                }
            }
        }
        for item in items.iter().filter(|i| i.kind == EntryKind::Symlink) {
            writer.symlink(item);
        }
        writer.finish_dirs();
        done.openat2 = beneath.uses_openat2();
        Ok(done)
    }
}

/// Everything under `paths` in the version asked for, parents before children.
fn collect(
    analysis: &Analysis,
    paths: &[&[u8]],
    version: Version,
    skipped: &mut Vec<Skipped>,
) -> std::result::Result<Vec<Item>, String> {
    let mut items: Vec<Item> = Vec::new();
    for raw in paths {
        let path = crate::path::normalize(raw).unwrap_or_default();
        let shown = escape_path(&path);
        // The directories above it get the final image's modes (else 0755), as tar gives.
        let mut end = 0;
        while let Some(i) = path[end..].iter().position(|&b| b == b'/') {
            end += i;
            let node = analysis
                .node_of(&path[..end])
                .map(|id| analysis.tree.node(id));
            items.push(Item {
                path: path[..end].to_vec(),
                kind: EntryKind::Dir,
                mode: node
                    .filter(|n| n.kind == EntryKind::Dir && n.entry.is_some())
                    .map_or(0o755, |n| n.mode),
                mtime: None,
                link: None,
                content: None,
            });
            end += 1;
        }
        match version {
            Version::Final => {
                let id = analysis
                    .node_of(&path)
                    .ok_or_else(|| format!("{shown}: not in the final image"))?;
                let tree = &analysis.tree;
                let mut stack = vec![id];
                while let Some(id) = stack.pop() {
                    let node = tree.node(id);
                    if !node.alive {
                        continue;
                    }
                    stack.extend(node.children.iter().rev().copied());
                    let entry = node
                        .entry
                        .and_then(|e| analysis.entry(node.layer as usize, e as usize));
                    let content = node.inode.map(|i| {
                        let inode = tree.inode(i);
                        (inode.layer as usize, inode.entry as usize)
                    });
                    let kind = match node.kind {
                        EntryKind::Hardlink => EntryKind::File,
                        kind => kind,
                    };
                    items.push(Item {
                        path: tree.path(id),
                        kind,
                        // A directory implied by a deeper path has no mode of its own.
                        mode: if entry.is_none() { 0o755 } else { node.mode },
                        mtime: entry.map(|e| e.mtime),
                        link: entry
                            .and_then(|e| e.link.clone())
                            .filter(|_| kind == EntryKind::Symlink),
                        content,
                    });
                }
            }
            Version::Layer(layer) => {
                let index = analysis
                    .layer_index(layer)
                    .ok_or_else(|| format!("the image has no layer {layer}"))?;
                let under = |p: &[u8]| {
                    path.is_empty()
                        || p == path.as_slice()
                        || (p.len() > path.len() && p.starts_with(&path) && p[path.len()] == b'/')
                };
                let mut last: HashMap<&[u8], usize> = HashMap::new();
                for (e, entry) in index.entries.iter().enumerate() {
                    if under(&entry.path) {
                        last.insert(&entry.path, e);
                    }
                }
                if last.is_empty() {
                    return Err(format!("{shown}: layer {layer} wrote nothing there"));
                }
                let mut chosen: Vec<usize> = last.into_values().collect();
                chosen.sort_unstable_by(|a, b| index.entries[*a].path.cmp(&index.entries[*b].path));
                for e in chosen {
                    let entry = &index.entries[e];
                    let mut item = Item {
                        path: entry.path.to_vec(),
                        kind: entry.kind,
                        mode: entry.mode,
                        mtime: Some(entry.mtime),
                        link: entry
                            .link
                            .clone()
                            .filter(|_| entry.kind == EntryKind::Symlink),
                        content: (entry.kind == EntryKind::File).then_some((layer, e)),
                    };
                    if entry.kind == EntryKind::Hardlink {
                        match analysis.find(&entry.path, Version::Layer(layer)) {
                            Some(found) if found.kind == EntryKind::File => {
                                item.kind = EntryKind::File;
                                item.content = Some((found.layer, found.entry));
                            }
                            _ => {
                                skipped.push(Skipped {
                                    path: item.path,
                                    reason: "a hard link whose target is in no layer".into(),
                                });
                                continue;
                            }
                        }
                    }
                    items.push(item);
                }
            }
        }
    }
    // Implied parents are made as needed; what is not written is said.
    items.retain(|item| match item.kind {
        // A hard link whose target the walk could not find (outside the image, missing).
        EntryKind::File if item.content.is_none() => {
            skipped.push(Skipped {
                path: item.path.clone(),
                reason: "a hard link whose target is in no layer".into(),
            });
            false
        }
        EntryKind::File | EntryKind::Dir | EntryKind::Symlink => true,
        kind => {
            let reason = match kind {
                EntryKind::Whiteout | EntryKind::Opaque => {
                    "a deletion marker: there is nothing to write".to_owned()
                }
                kind => format!("a {} is never made", kind.name()),
            };
            skipped.push(Skipped {
                path: item.path.clone(),
                reason,
            });
            false
        }
    });
    items.retain(|item| !item.path.is_empty());
    items.sort_by(|a, b| a.path.cmp(&b.path));
    items.dedup_by(|a, b| a.path == b.path);
    Ok(items)
}

/// The non-directories to write that are there already (directories are written into).
fn existing(beneath: &Beneath, items: &[Item]) -> Vec<Vec<u8>> {
    items
        .iter()
        .filter(|item| {
            let (parent, name) = split(&item.path);
            let Ok(fd) = beneath.dir(parent, false) else {
                return false;
            };
            match statat(&*fd, name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(stat) => {
                    item.kind != EntryKind::Dir
                        || FileType::from_raw_mode(stat.st_mode) != FileType::Directory
                }
                Err(_) => false,
            }
        })
        .map(|item| item.path.clone())
        .collect()
}

/// `a/b/c` as (`a/b`, `c`).
fn split(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (&[], path),
    }
}

fn timestamps(mtime: u64) -> Timestamps {
    let time = Timespec {
        tv_sec: i64::try_from(mtime).unwrap_or(i64::MAX),
        tv_nsec: 0,
    };
    Timestamps {
        last_access: time,
        last_modification: time,
    }
}

struct Writer<'a> {
    beneath: &'a Beneath,
    /// Taken off every mode written.
    umask: u32,
    done: &'a mut Extracted,
    /// Files written, for hard links to them.
    written_files: HashSet<Vec<u8>>,
    /// Directories made or written into, with their mode and time, applied last.
    dirs: Vec<(Vec<u8>, u32, Option<u64>)>,
}

impl Writer<'_> {
    fn skip(&mut self, path: &[u8], reason: impl Into<String>) {
        self.done.skipped.push(Skipped {
            path: path.to_vec(),
            reason: reason.into(),
        });
    }

    fn parent(&mut self, path: &[u8]) -> Option<std::rc::Rc<OwnedFd>> {
        let (parent, _) = split(path);
        match self.beneath.dir(parent, true) {
            Ok(fd) => Some(fd),
            Err(blocked) => {
                self.skip(path, blocked.reason());
                None
            }
        }
    }

    fn dir(&mut self, item: &Item) {
        match self.beneath.dir(&item.path, true) {
            Ok(_) => {
                self.dirs.push((item.path.clone(), item.mode, item.mtime));
                self.done.written.push((item.path.clone(), EntryKind::Dir));
            }
            Err(Blocked::NotDir(p)) if p == item.path && self.replace(&item.path) => {
                self.dir(item);
            }
            Err(blocked) => self.skip(&item.path, blocked.reason()),
        }
    }

    /// With `--force`, removes the non-directory at `path`; whether it did.
    fn replace(&mut self, path: &[u8]) -> bool {
        let (parent, name) = split(path);
        let Ok(fd) = self.beneath.dir(parent, false) else {
            return false;
        };
        self.beneath.forget();
        unlinkat(&*fd, name, AtFlags::empty()).is_ok()
    }

    fn file(&mut self, item: &Item, reader: &mut dyn Read) {
        let Some(parent) = self.parent(&item.path) else {
            return;
        };
        let (_, name) = split(&item.path);
        let temp = format!(
            ".dive-rs-{}-{}",
            std::process::id(),
            self.done.written.len()
        );
        let mode = Mode::from_raw_mode(file_mode(item.mode, self.umask));
        let flags =
            OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let written = openat(&*parent, temp.as_str(), flags, Mode::from_raw_mode(0o600))
            .map_err(io::Error::from)
            .and_then(|fd| {
                let mut file = std::fs::File::from(fd);
                let bytes = io::copy(reader, &mut file)?;
                fchmod(&file, mode)?;
                if let Some(mtime) = item.mtime {
                    futimens(&file, &timestamps(mtime))?;
                }
                Ok(bytes)
            })
            .and_then(|bytes| {
                renameat(&*parent, temp.as_str(), &*parent, name)?;
                Ok(bytes)
            });
        match written {
            Ok(bytes) => {
                self.done.bytes += bytes;
                self.written_files.insert(item.path.clone());
                self.done.written.push((item.path.clone(), EntryKind::File));
            }
            Err(e) => {
                let _ = unlinkat(&*parent, temp.as_str(), AtFlags::empty());
                let reason = if e.raw_os_error() == Some(Errno::ISDIR.raw_os_error()) {
                    "a directory is in the way".to_owned()
                } else {
                    e.to_string()
                };
                self.skip(&item.path, reason);
            }
        }
    }

    fn hard_link(&mut self, item: &Item, target: &[u8]) {
        if !self.written_files.contains(target) {
            return self.skip(
                &item.path,
                format!("its content, {}, was not written", escape_path(target)),
            );
        }
        let (Some(from), Some(to)) = (self.parent(target), self.parent(&item.path)) else {
            return;
        };
        let (_, from_name) = split(target);
        let (_, to_name) = split(&item.path);
        let mut linked = linkat(&*from, from_name, &*to, to_name, AtFlags::empty());
        if linked == Err(Errno::EXIST) {
            let _ = unlinkat(&*to, to_name, AtFlags::empty());
            linked = linkat(&*from, from_name, &*to, to_name, AtFlags::empty());
        }
        match linked {
            Ok(()) => self
                .done
                .written
                .push((item.path.clone(), EntryKind::Hardlink)),
            Err(e) => self.skip(&item.path, io::Error::from(e).to_string()),
        }
    }

    fn symlink(&mut self, item: &Item) {
        let Some(parent) = self.parent(&item.path) else {
            return;
        };
        let (_, name) = split(&item.path);
        let target = item.link.as_deref().unwrap_or_default();
        let mut made = symlinkat(target, &*parent, name);
        if made == Err(Errno::EXIST) {
            // Only a file or a symlink is replaced (forced: the refusal came before).
            let is_dir = statat(&*parent, name, AtFlags::SYMLINK_NOFOLLOW)
                .is_ok_and(|s| FileType::from_raw_mode(s.st_mode) == FileType::Directory);
            if is_dir {
                return self.skip(&item.path, "a directory is in the way");
            }
            let _ = unlinkat(&*parent, name, AtFlags::empty());
            made = symlinkat(target, &*parent, name);
        }
        match made {
            Ok(()) => self
                .done
                .written
                .push((item.path.clone(), EntryKind::Symlink)),
            Err(e) => self.skip(&item.path, io::Error::from(e).to_string()),
        }
    }

    /// Directory modes and times, deepest first, once everything inside is written.
    fn finish_dirs(&mut self) {
        let mut dirs = std::mem::take(&mut self.dirs);
        dirs.sort_by(|a, b| b.0.cmp(&a.0));
        for (path, mode, mtime) in dirs {
            self.beneath.forget();
            let Ok(fd) = self.beneath.dir(&path, false) else {
                continue;
            };
            let _ = fchmod(&*fd, Mode::from_raw_mode(dir_mode(mode, self.umask)));
            if let Some(mtime) = mtime {
                let _ = futimens(&*fd, &timestamps(mtime));
            }
        }
    }
}

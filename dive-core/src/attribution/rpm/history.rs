//! Which rpm database each layer leaves, as rpm would open it there: per database
//! directory, the first of `rpmdb.sqlite`, `Packages.db`, `Packages` present (rpm's order,
//! so a stale Berkeley DB file beside a sqlite one is not read), with the sqlite one's
//! write-ahead log as of that layer (a log deleted by a later layer is gone; an empty one
//! changes nothing). A layer changes a directory's database when it writes, replaces or
//! deletes one of those files, or its log, or a directory above them.
//!
//! Budget: the state of 3 directories × 4 files per layer (a few words each), found in one
//! pass over the entries; a database is read once per layer that changes it, and bytes read
//! again from a lower layer's file (a log alone in a layer is read with the database below
//! it) are held to the bytes the image's databases hold.

use crate::layer::{EntryKind, LayerIndex};

use super::{DIRS, FORMS, SQLITE_WAL};

/// What a layer leaves at one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Absent,
    /// A captured file: its layer and entry, and its length.
    Kept(usize, u32, u64),
    /// Something the walk did not keep (too large, a link, a directory): unreadable.
    Other,
}

/// What rpm would open in a directory: the database's state and its log (layer, entry).
type Opened = (State, Option<(usize, u32)>);

/// One database to read: as of `layer`, in directory `dir`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DbRead {
    /// The layer whose state this is.
    pub layer: usize,
    /// The database file: its layer and entry.
    pub db: (usize, u32),
    /// Its write-ahead log, when it has one with content: layer and entry.
    pub wal: Option<(usize, u32)>,
    /// Whether this is the database the final image holds.
    pub visible: bool,
}

/// The databases to read, lowest layer first, and how many were left unread because they
/// would have read a lower layer's bytes again past the budget.
pub(crate) fn reads(layers: &[&LayerIndex]) -> (Vec<DbRead>, u64) {
    let paths: Vec<Vec<u8>> = DIRS
        .iter()
        .flat_map(|dir| FORMS.iter().chain([&SQLITE_WAL]).map(move |f| [*dir, *f].concat()))
        .collect();
    let mut state = vec![State::Absent; paths.len()];
    // Per directory: the database as of the layer before, and the reads found.
    let mut before: Vec<Option<Opened>> = vec![None; DIRS.len()];
    let mut reads: Vec<(usize, DbRead)> = Vec::new();
    let mut held: u64 = 0;
    for (l, layer) in layers.iter().enumerate() {
        let mut touched = false;
        // Deletions first: a whiteout or an opaque directory hides what lower layers put,
        // and so does anything but a directory at a directory above them (`rm -rf
        // /var/lib/rpm && ln -s ../../usr/lib/sysimage/rpm /var/lib/rpm`).
        for entry in &layer.entries {
            let deletes = matches!(entry.kind, EntryKind::Whiteout | EntryKind::Opaque)
                || entry.kind != EntryKind::Dir && !paths.iter().any(|p| **p == *entry.path);
            if deletes {
                for i in below(&paths, &entry.path, entry.kind) {
                    state[i] = State::Absent;
                    touched = true;
                }
            }
        }
        for (e, entry) in layer.entries.iter().enumerate() {
            if matches!(entry.kind, EntryKind::Whiteout | EntryKind::Opaque) {
                continue;
            }
            if let Some(i) = paths.iter().position(|p| **p == *entry.path) {
                let kept = layer
                    .captured
                    .binary_search_by_key(&(e as u32), |(k, _)| *k)
                    .ok()
                    .map(|k| &layer.captured[k].1);
                state[i] = match kept {
                    Some(kept) if entry.kind == EntryKind::File => {
                        held += kept.len();
                        State::Kept(l, e as u32, kept.len())
                    }
                    _ => State::Other,
                };
                touched = true;
            }
        }
        if !touched {
            continue;
        }
        let per_dir = FORMS.len() + 1;
        for (d, last) in before.iter_mut().enumerate() {
            let files = &state[d * per_dir..(d + 1) * per_dir];
            // rpm's order: the first form present is the database, whatever it holds.
            let db = files[..FORMS.len()]
                .iter()
                .copied()
                .find(|s| *s != State::Absent);
            let wal = match (files[..FORMS.len()].first(), files[FORMS.len()]) {
                (Some(&sqlite), State::Kept(wl, we, len)) if Some(sqlite) == db && len > 0 => {
                    Some((wl, we))
                }
                _ => None,
            };
            let now = db.map(|db| (db, wal));
            if now == *last {
                continue;
            }
            *last = now;
            if let Some((State::Kept(dl, de, _), wal)) = now {
                reads.push((
                    d,
                    DbRead {
                        layer: l,
                        db: (dl, de),
                        wal,
                        visible: false,
                    },
                ));
            }
        }
    }
    // The last read of each directory is final if the database is still there.
    for (d, last) in before.iter().enumerate() {
        if let Some((State::Kept(..), _)) = last
            && let Some((_, read)) = reads.iter_mut().rev().find(|(rd, _)| *rd == d)
        {
            read.visible = true;
        }
    }
    // Bytes read again from files of lower layers: at most what the databases hold.
    let mut again = 0u64;
    let mut skipped = 0;
    let len = |(l, e): (usize, u32)| {
        let captured = &layers[l].captured;
        captured
            .binary_search_by_key(&e, |(k, _)| *k)
            .map_or(0, |k| captured[k].1.len())
    };
    let mut kept = Vec::with_capacity(reads.len());
    for (_, read) in reads.into_iter().rev() {
        let lower: u64 = [Some(read.db), read.wal]
            .into_iter()
            .flatten()
            .filter(|(l, _)| *l < read.layer)
            .map(len)
            .sum();
        if lower > 0 && again + lower > held && !read.visible {
            skipped += 1;
            continue;
        }
        again += lower;
        kept.push(read);
    }
    kept.reverse();
    (kept, skipped)
}

/// The tracked paths an entry at `path` deletes: a whiteout of it (or of a directory above
/// them), an opaque marker in a directory above them, anything else at a directory above.
fn below<'a>(
    paths: &'a [Vec<u8>],
    path: &'a [u8],
    kind: EntryKind,
) -> impl Iterator<Item = usize> + 'a {
    let under = move |p: &[u8]| {
        path.is_empty() || p.len() > path.len() && p.starts_with(path) && p[path.len()] == b'/'
    };
    paths
        .iter()
        .enumerate()
        .filter(move |(_, p)| under(p) || (kind == EntryKind::Whiteout && **p == *path))
        .map(|(i, _)| i)
}

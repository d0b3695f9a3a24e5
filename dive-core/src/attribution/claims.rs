//! Files and directories claimed by packages: by the final databases (those visible at the
//! end) and by any database any layer shipped, in one map.
//!
//! A path is kept as a seeded 128-bit hash, never as a copy: a directory's is the hash of
//! its parent's and its own name, so a path's ancestors are all hashed in one pass over it
//! (O(length)), where copying each of them cost O(length²) (one `RECORD` line of 32,000
//! components was 2 GB), and each claim takes the same few bytes however long its path. An
//! image cannot choose paths whose hashes collide without the seed.

use hashbrown::HashMap;

use super::package::DbPackage;
use super::room::Room;
use crate::tree::KeySeed;

/// Which databases a lookup asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Which {
    /// Those visible at the end.
    Final,
    /// Any database of any layer.
    Any,
}

/// No claim.
const NONE: u32 = u32::MAX;
/// A directory more than one package uses: look no higher.
const SHARED: u32 = u32::MAX - 1;

/// A path's claims: the package (index into the registry) of the final databases and of any.
#[derive(Debug, Clone, Copy)]
struct Slots {
    last: u32,
    any: u32,
}

impl Slots {
    const EMPTY: Self = Self {
        last: NONE,
        any: NONE,
    };

    fn get(self, which: Which) -> u32 {
        match which {
            Which::Final => self.last,
            Which::Any => self.any,
        }
    }
}

/// Files and directories claimed by packages.
#[derive(Debug)]
pub(super) struct Claims {
    keys: KeySeed,
    files: HashMap<u128, Slots>,
    dirs: HashMap<u128, Slots>,
    /// Bytes of paths hashed while claiming.
    hashed: u64,
}

impl Default for Claims {
    fn default() -> Self {
        Self {
            keys: KeySeed::new(),
            files: HashMap::new(),
            dirs: HashMap::new(),
            hashed: 0,
        }
    }
}

impl Claims {
    /// Bytes of paths hashed while claiming ([`crate::Work`]).
    pub(super) fn hashed(&self) -> u64 {
        self.hashed
    }

    fn key(&mut self, path: &[u8]) -> u128 {
        self.hashed += path.len() as u64;
        self.keys.of(path)
    }

    /// Claims what `db` lists for `package` (an index into the registry): for the final
    /// databases too when `visible`. A directory newly claimed below a dist's site
    /// directory takes a path of `room`; the package's own (a dist-info, an npm package's
    /// directory) came with the package's.
    pub(super) fn add(&mut self, package: usize, db: &DbPackage, visible: bool, room: &mut Room) {
        let Ok(package) = u32::try_from(package) else {
            return;
        };
        if package >= SHARED {
            return;
        }
        for file in &db.files {
            let hash = self.key(file);
            let slots = self.files.entry(hash).or_insert(Slots::EMPTY);
            if visible && slots.last == NONE {
                slots.last = package;
            }
            if slots.any == NONE {
                slots.any = package;
            }
        }
        for dir in &db.dirs {
            let hash = self.key(dir);
            claim_dir(&mut self.dirs, hash, package, visible, None);
        }
        // A dist's files below its site directory: the directories between claim it too.
        let Some(site) = &db.site else {
            return;
        };
        for file in db
            .files
            .iter()
            .filter(|f| f.starts_with(site) && f.len() > site.len())
        {
            let mut room_left = true;
            self.hashed += file.len() as u64;
            let (keys, dirs) = (self.keys, &mut self.dirs);
            keys.walk(file, |end, hash| {
                if end < file.len() && end > site.len() {
                    room_left = claim_dir(dirs, hash, package, visible, Some(&mut *room));
                }
                room_left
            });
            if !room_left {
                return;
            }
        }
    }

    /// The owner of `path` by `which` databases, and whether its database lists it: the
    /// package listing it, else the one that alone uses its deepest claimed directory.
    pub(super) fn owner(&self, path: &[u8], which: Which) -> Option<(usize, bool)> {
        // `Some(None)`: the deepest claimed directory is shared, so nobody's.
        let mut by_dir = None;
        let hash = self.keys.walk(path, |end, hash| {
            if end < path.len() {
                match self.dirs.get(&hash).map(|s| s.get(which)) {
                    None | Some(NONE) => {}
                    Some(SHARED) => by_dir = Some(None),
                    Some(p) => by_dir = Some(Some(p as usize)),
                }
            }
            true
        });
        if let Some(p) = self.files.get(&hash).map(|s| s.get(which))
            && p != NONE
        {
            return Some((p as usize, true));
        }
        by_dir.flatten().map(|p| (p, false))
    }
}

/// False when a new directory found `room` spent.
fn claim_dir(
    dirs: &mut HashMap<u128, Slots>,
    hash: u128,
    package: u32,
    visible: bool,
    room: Option<&mut Room>,
) -> bool {
    let slots = match dirs.entry(hash) {
        hashbrown::hash_map::Entry::Occupied(o) => o.into_mut(),
        hashbrown::hash_map::Entry::Vacant(v) => {
            if room.is_some_and(|room| !room.directory()) {
                return false;
            }
            v.insert(Slots::EMPTY)
        }
    };
    let claim = |slot: &mut u32| {
        if *slot == NONE {
            *slot = package;
        } else if *slot != package {
            *slot = SHARED;
        }
    };
    if visible {
        claim(&mut slots.last);
    }
    claim(&mut slots.any);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribution::Ecosystem;

    fn dist(files: &[&str], site: &str) -> DbPackage {
        DbPackage {
            files: files.iter().map(|f| f.as_bytes().to_vec()).collect(),
            site: Some(site.as_bytes().to_vec()),
            ..DbPackage::named(Ecosystem::Pip, "x".into())
        }
    }

    #[test]
    fn a_listed_file_wins_over_a_directory_and_shared_directories_own_nothing() {
        let mut room = Room::new(10, 100, 0);
        let mut claims = Claims::default();
        let site = "s";
        claims.add(
            0,
            &dist(&["s/nvidia/a/x.so", "s/own/y.py"], site),
            true,
            &mut room,
        );
        claims.add(1, &dist(&["s/nvidia/b/z.so"], site), false, &mut room);
        let owner = |path: &str, which| claims.owner(path.as_bytes(), which);
        assert_eq!(owner("s/nvidia/a/x.so", Which::Final), Some((0, true)));
        assert_eq!(
            owner("s/own/__pycache__/y.pyc", Which::Final),
            Some((0, false))
        );
        // Only the final database claimed `nvidia`; any database's claims share it.
        assert_eq!(owner("s/nvidia/c", Which::Final), Some((0, false)));
        assert_eq!(owner("s/nvidia/c", Which::Any), None);
        // The deepest claimed directory decides.
        assert_eq!(owner("s/nvidia/b/w", Which::Any), Some((1, false)));
        assert_eq!(owner("s/nvidia/b/z.so", Which::Any), Some((1, true)));
        // The final databases know nothing of it: their `nvidia` is package 0's.
        assert_eq!(owner("s/nvidia/b/z.so", Which::Final), Some((0, false)));
        // The site directory itself is no dist's.
        assert_eq!(owner("s/other", Which::Any), None);
    }

    #[test]
    fn directories_claimed_take_room_only_when_new() {
        // 65,536 + 2 claims: a dist of one deep file claims as many directories, then stops.
        let mut room = Room::new(1, 1 << 20, 0);
        let mut claims = Claims::default();
        let deep = format!("s/{}x", "d/".repeat(100_000));
        claims.add(0, &dist(&[&deep], "s"), true, &mut room);
        assert_eq!(claims.dirs.len(), (1 << 16) + 2);
        assert!(room.take_cut());
        // Claiming them again takes nothing.
        let mut room = Room::new(1, 1 << 20, 0);
        let mut claims = Claims::default();
        let file = "s/a/b/c/d";
        claims.add(0, &dist(&[file], "s"), true, &mut room);
        claims.add(1, &dist(&[file], "s"), true, &mut room);
        assert_eq!(claims.dirs.len(), 3);
        assert_eq!(claims.owner(b"s/a/b/e", Which::Final), None);
    }
}

//! Seeded 128-bit keys of paths, built one name at a time.
//!
//! A path's key is made from its parent's key and its last name, so the keys of all of a
//! path's ancestors come from one pass over it: hashing each ancestor from scratch costs
//! O(depth × length), which a chain of 2,000 nested directories makes 4 MiB per path. And
//! a [`KeyChain`] moved along paths in tar order hashes only the names a path does not
//! share with the one before. Every path is keyed this way, whether it comes from a tar
//! entry or from the tree's nodes, so a key found one way is found the other.

use std::cell::Cell;
use std::hash::BuildHasher as _;

use twox_hash::XxHash3_128;

/// Names up to this length are keyed from a buffer on the stack: XXH3's one-shot form is
/// cheapest up to 240 bytes, and real names are shorter.
const SHORT_NAME: usize = 240;

/// Keys paths under one random seed, so that an image cannot choose paths that collide;
/// counts nothing, so that threads may share it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeySeed(u64);

impl KeySeed {
    pub(crate) fn new() -> Self {
        Self(std::hash::RandomState::new().hash_one(0u8))
    }

    /// The key of the path `name` under the directory whose key is `parent`.
    pub(crate) fn child(self, parent: u128, name: &[u8]) -> u128 {
        let parent = parent.to_le_bytes();
        if name.len() <= SHORT_NAME {
            let mut buf = [0u8; 16 + SHORT_NAME];
            buf[..16].copy_from_slice(&parent);
            buf[16..16 + name.len()].copy_from_slice(name);
            XxHash3_128::oneshot_with_seed(self.0, &buf[..16 + name.len()])
        } else {
            let mut buf = Vec::with_capacity(16 + name.len());
            buf.extend_from_slice(&parent);
            buf.extend_from_slice(name);
            XxHash3_128::oneshot_with_seed(self.0, &buf)
        }
    }

    /// The key of a normalised path (`usr/lib`; empty for the root).
    pub(crate) fn of(self, path: &[u8]) -> u128 {
        self.walk(path, |_, _| false)
    }

    /// The key of `path`, calling `each(end, key)` for every prefix `path[..end]` that ends
    /// a name, shortest first (the last is the whole path), until it returns false: the
    /// keys of all of a path's ancestors in one pass. An empty name is no level.
    pub(crate) fn walk(self, path: &[u8], mut each: impl FnMut(usize, u128) -> bool) -> u128 {
        let mut key = PathKeys::ROOT;
        let mut going = true;
        for (start, name) in names_at(path) {
            key = self.child(key, name);
            if going {
                going = each(start + name.len(), key);
            }
        }
        key
    }
}

/// A [`KeySeed`] that counts the bytes it hashes.
#[derive(Debug)]
pub(crate) struct PathKeys {
    seed: KeySeed,
    /// Name bytes hashed (one more per name, for its separator): [`Merged`](super::Merged) reports
    /// them, so that a test can hold the work to a few passes over each path.
    hashed: Cell<u64>,
}

impl PathKeys {
    /// The root's key: the empty path.
    pub(crate) const ROOT: u128 = 0;

    pub(crate) fn new() -> Self {
        Self {
            seed: KeySeed::new(),
            hashed: Cell::new(0),
        }
    }

    /// The key of the path `name` under the directory whose key is `parent`.
    pub(crate) fn child(&self, parent: u128, name: &[u8]) -> u128 {
        self.hashed
            .set(self.hashed.get().saturating_add(name.len() as u64 + 1));
        self.seed.child(parent, name)
    }

    /// The key of a normalised path (`usr/lib`; empty for the root).
    pub(crate) fn of(&self, path: &[u8]) -> u128 {
        names(path).fold(Self::ROOT, |key, name| self.child(key, name))
    }

    /// Name bytes hashed so far (each with one for its separator).
    pub(crate) fn hashed(&self) -> u64 {
        self.hashed.get()
    }
}

/// The keys of one path's prefixes, moved from path to path: the names a path shares with
/// the one before keep their keys, and only the rest are hashed. Tar lists a directory's
/// entries together, so most paths differ from the last in a name or two, and a path of
/// 2,000 one-letter names costs a comparison of its bytes, not 2,000 hashes.
#[derive(Debug, Default)]
pub(crate) struct KeyChain {
    path: Vec<u8>,
    /// Per name of `path`: where it starts and ends, and the key of the path up to it.
    names: Vec<(usize, usize, u128)>,
}

impl KeyChain {
    /// Moves to `path` (normalised or not: empty names are no level).
    pub(crate) fn set(&mut self, keys: &PathKeys, path: &[u8]) {
        let same = common_prefix(&self.path, path);
        // The names that end before the paths differ are the same names at the same
        // places (each is followed by a `/` in both); one ending where they differ is too
        // when the new path ends there or goes on with a `/`.
        let mut kept = self.names.partition_point(|&(_, end, _)| end < same);
        if self.names.get(kept).is_some_and(|&(_, end, _)| {
            end == same && (end == path.len() || path.get(end) == Some(&b'/'))
        }) {
            kept += 1;
        }
        self.names.truncate(kept);
        let (mut key, from) = self
            .names
            .last()
            .map_or((PathKeys::ROOT, 0), |&(_, end, key)| (key, end));
        for (start, name) in names_at(path.get(from..).unwrap_or_default()) {
            let start = from + start;
            key = keys.child(key, name);
            self.names.push((start, start + name.len(), key));
        }
        self.path.clear();
        self.path.extend_from_slice(path);
    }

    /// Names in the path.
    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }

    /// The key of the path up to its name `i` (`len() - 1`: the whole path).
    pub(crate) fn key_at(&self, i: usize) -> u128 {
        self.names.get(i).map_or(PathKeys::ROOT, |&(_, _, key)| key)
    }

    /// The key of the path.
    pub(crate) fn key(&self) -> u128 {
        self.names.last().map_or(PathKeys::ROOT, |&(_, _, key)| key)
    }
}

/// How many leading bytes `a` and `b` share: 32 at a time, as slices compare.
pub(super) fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut at = 0;
    while at + 32 <= n && a[at..at + 32] == b[at..at + 32] {
        at += 32;
    }
    at + (a[at..].iter().zip(&b[at..]))
        .take_while(|(x, y)| x == y)
        .count()
}

/// The names of a path with where each starts.
pub(super) fn names_at(path: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let mut at = 0;
    path.split(|&b| b == b'/').filter_map(move |name| {
        let start = at;
        at += name.len() + 1;
        (!name.is_empty()).then_some((start, name))
    })
}

/// The names of a path, as the merge splits it (an empty name is no level).
fn names(path: &[u8]) -> impl Iterator<Item = &[u8]> {
    path.split(|&b| b == b'/').filter(|name| !name.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_is_keyed_by_its_names_whatever_their_length() {
        let keys = PathKeys::new();
        let long = vec![b'n'; 1000];
        let mut path = b"usr/".to_vec();
        path.extend_from_slice(&long);
        path.extend_from_slice(b"/lib");
        let usr = keys.child(PathKeys::ROOT, b"usr");
        let middle = keys.child(usr, &long);
        assert_eq!(keys.of(&path), keys.child(middle, b"lib"));
        // Names are not concatenated: `ab/c` and `a/bc` differ; an empty name is no level.
        assert_ne!(keys.of(b"ab/c"), keys.of(b"a/bc"));
        assert_eq!(keys.of(b"a//b"), keys.of(b"a/b"));
        assert_ne!(keys.of(b"a"), PathKeys::ROOT);
        // Another seed, other keys.
        assert_ne!(PathKeys::new().of(b"usr"), keys.of(b"usr"));
    }

    #[test]
    fn a_walk_keys_each_prefix_as_from_scratch() {
        let keys = KeySeed::new();
        let mut seen = Vec::new();
        let whole = keys.walk(b"usr//lib/x", |end, key| {
            seen.push((end, key));
            true
        });
        let (usr, lib) = (keys.of(b"usr"), keys.of(b"usr/lib"));
        assert_eq!(seen, [(3, usr), (8, lib), (10, whole)]);
        assert_eq!(whole, keys.of(b"usr/lib/x"));
        // Stopped after the first: the whole path's key all the same.
        assert_eq!(keys.walk(b"usr/lib/x", |_, _| false), whole);
    }

    #[test]
    fn a_chain_moved_from_path_to_path_keys_each_as_from_scratch() {
        let keys = PathKeys::new();
        let mut chain = KeyChain::default();
        let paths: [&[u8]; 12] = [
            b"a/b/c", b"a/b/cd", b"a/b", b"a/bc/d", b"a", b"", b"x//y/z", b"x/y/z/w", b"x/yy/z",
            b"ab/c", b"a/b/c", b"a/b/c",
        ];
        for path in paths {
            chain.set(&keys, path);
            let names: Vec<&[u8]> = names(path).collect();
            assert_eq!(chain.len(), names.len(), "{path:?}");
            assert_eq!(chain.key(), keys.of(path), "{path:?}");
            for i in 0..names.len() {
                assert_eq!(
                    chain.key_at(i),
                    keys.of(&names[..=i].join(&b'/')),
                    "{path:?}"
                );
            }
        }
        // The last path was the one before again: nothing hashed.
        let hashed = keys.hashed();
        chain.set(&keys, b"a/b/c");
        assert_eq!(keys.hashed(), hashed);
        // A sibling: one name hashed.
        chain.set(&keys, b"a/b/e");
        assert_eq!(keys.hashed(), hashed + 2);
    }
}

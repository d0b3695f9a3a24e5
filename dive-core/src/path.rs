//! Normalising tar entry paths, which are bytes and may be hostile.

/// A tar entry path turned into what it means for the merged tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EntryPath {
    /// An ordinary path, `a/b/c`, without leading `/` or `./`; empty for the root.
    Plain(Vec<u8>),
    /// `dir/.wh.name`: deletes `dir/name` from lower layers.
    Whiteout(Vec<u8>),
    /// `dir/.wh..wh..opq`: hides every lower child of `dir`.
    Opaque(Vec<u8>),
    /// Other `.wh..wh.*` names are aufs bookkeeping, not files.
    AufsMeta,
}

const WHITEOUT: &[u8] = b".wh.";
const OPAQUE: &[u8] = b".wh..wh..opq";

/// Normalises `raw` (`./a//b/`, `/a/b`, `a/./b`) into `a/b`; `None` when `..` climbs above `/`.
pub(crate) fn normalize(raw: &[u8]) -> Option<Vec<u8>> {
    // One pass into one allocation: every entry of every layer comes through here.
    let mut out = Vec::with_capacity(raw.len());
    for part in raw.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." if out.is_empty() => return None,
            b".." => {
                let parent = out.iter().rposition(|&b| b == b'/').unwrap_or(0);
                out.truncate(parent);
            }
            other => {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(other);
            }
        }
    }
    Some(out)
}

/// Classifies a normalised path: plain entry, whiteout or opaque marker.
pub(crate) fn classify(path: Vec<u8>) -> EntryPath {
    let (dir, name) = split_last(&path);
    if name == OPAQUE {
        return EntryPath::Opaque(dir.to_vec());
    }
    if let Some(target) = name.strip_prefix(WHITEOUT) {
        if target.starts_with(WHITEOUT) || target.is_empty() {
            return EntryPath::AufsMeta;
        }
        return EntryPath::Whiteout(join(dir, target));
    }
    EntryPath::Plain(path)
}

/// Splits `a/b/c` into (`a/b`, `c`), and `c` into (the empty path, `c`).
pub(crate) fn split_last(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (&[], path),
    }
}

/// Joins a directory and a name; an empty directory is the root.
pub(crate) fn join(dir: &[u8], name: &[u8]) -> Vec<u8> {
    if dir.is_empty() {
        return name.to_vec();
    }
    let mut out = Vec::with_capacity(dir.len() + 1 + name.len());
    out.extend_from_slice(dir);
    out.push(b'/');
    out.extend_from_slice(name);
    out
}

/// Every proper ancestor of `path`: `a/b/c` gives `a`, `a/b`.
pub(crate) fn ancestors(path: &[u8]) -> impl Iterator<Item = &[u8]> {
    path.iter()
        .enumerate()
        .filter(|&(_, &b)| b == b'/')
        .map(move |(i, _)| &path[..i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_and_slash_prefixes_normalise_to_the_same_path() {
        for raw in [
            &b"./usr/lib/x"[..],
            b"/usr/lib/x",
            b"usr//lib/./x",
            b"usr/lib/x/",
            b"usr/share/../lib/x",
        ] {
            assert_eq!(
                normalize(raw).as_deref(),
                Some(&b"usr/lib/x"[..]),
                "{raw:?}"
            );
        }
        assert_eq!(normalize(b"./").as_deref(), Some(&b""[..]));
    }

    /// The definition: a stack of components, `..` popping one.
    fn by_components(raw: &[u8]) -> Option<Vec<u8>> {
        let mut parts: Vec<&[u8]> = Vec::new();
        for part in raw.split(|&b| b == b'/') {
            match part {
                b"" | b"." => {}
                b".." => {
                    parts.pop()?;
                }
                other => parts.push(other),
            }
        }
        Some(parts.join(&b'/'))
    }

    proptest::proptest! {
        #[test]
        fn normalizing_is_the_component_stack(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just(b"..".to_vec()),
                    proptest::strategy::Just(b".".to_vec()),
                    proptest::strategy::Just(Vec::new()),
                    proptest::collection::vec(proptest::prop_oneof![
                        proptest::strategy::Just(b'a'),
                        proptest::strategy::Just(b'.'),
                        proptest::strategy::Just(0xffu8),
                    ], 1..4),
                ],
                0..8,
            ),
            lead in proptest::bool::ANY,
        ) {
            let mut raw = if lead { b"/".to_vec() } else { Vec::new() };
            raw.extend(parts.join(&b'/'));
            proptest::prop_assert_eq!(normalize(&raw), by_components(&raw));
        }
    }

    #[test]
    fn climbing_above_root_is_rejected() {
        assert_eq!(normalize(b"../etc/passwd"), None);
        assert_eq!(normalize(b"a/../../b"), None);
    }

    #[test]
    fn whiteouts_are_classified() {
        assert_eq!(
            classify(b"a/.wh.b".to_vec()),
            EntryPath::Whiteout(b"a/b".to_vec())
        );
        assert_eq!(
            classify(b".wh.top".to_vec()),
            EntryPath::Whiteout(b"top".to_vec())
        );
        assert_eq!(
            classify(b"a/b/.wh..wh..opq".to_vec()),
            EntryPath::Opaque(b"a/b".to_vec())
        );
        assert_eq!(classify(b".wh..wh.plnk".to_vec()), EntryPath::AufsMeta);
        assert_eq!(
            classify(b"a/x.wh.b".to_vec()),
            EntryPath::Plain(b"a/x.wh.b".to_vec())
        );
    }

    #[test]
    fn ancestors_are_listed_outermost_first() {
        let got: Vec<&[u8]> = ancestors(b"a/b/c").collect();
        assert_eq!(got, vec![&b"a"[..], b"a/b"]);
    }
}

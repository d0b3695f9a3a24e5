//! Names in image layouts: image names as people type them, and blob paths as digests spell
//! them (refusing anything that could climb out of the layout).

use crate::digest::is_sha256_hex;

/// Whether an image named `name` answers to what the user typed.
pub(crate) fn name_matches(name: &str, wanted: &str) -> bool {
    if name == wanted {
        return true;
    }
    if let Some(hex) = name.strip_prefix("sha256:") {
        let wanted_hex = wanted.strip_prefix("sha256:").unwrap_or(wanted);
        return wanted_hex.len() >= 6 && hex.starts_with(wanted_hex);
    }
    let canonical = |s: &str| {
        let s = s.strip_prefix("docker.io/").unwrap_or(s);
        let s = s.strip_prefix("library/").unwrap_or(s);
        let has_tag = s
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains(':') || last.contains('@'));
        if has_tag {
            s.to_owned()
        } else {
            format!("{s}:latest")
        }
    };
    // An OCI ref.name is often the tag alone (`1.0`): `app:1.0` then matches it.
    canonical(name) == canonical(wanted)
        || wanted.rsplit_once(':').is_some_and(|(_, tag)| tag == name)
}

/// `blobs/<alg>/<hex>` for `alg:hex`, refusing anything that could be a path trick.
pub(crate) fn blob_path(digest: &str) -> Option<String> {
    let (alg, hex) = digest.split_once(':')?;
    let ok = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+._-".contains(&b))
    };
    (ok(alg) && ok(hex) && alg != "." && alg != "..").then(|| format!("blobs/{alg}/{hex}"))
}

/// `alg:hex` for `blobs/<alg>/<hex>`: the inverse of [`blob_path`], as strict.
pub(crate) fn blob_digest(path: &str) -> Option<String> {
    let (alg, hex) = path.strip_prefix("blobs/")?.split_once('/')?;
    let digest = format!("{alg}:{hex}");
    (blob_path(&digest).as_deref() == Some(path)).then_some(digest)
}

/// The digest spelled by a blob path: `blobs/sha256/<hex>` or legacy `<hex>.json`/`<hex>.tar`.
pub(crate) fn digest_from_path(path: &str) -> Option<String> {
    let path = path.trim_start_matches("./");
    if let Some(digest) = blob_digest(path) {
        return digest
            .split_once(':')
            .is_some_and(|(_, h)| is_sha256_hex(h))
            .then_some(digest);
    }
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        [file] => {
            let stem = file
                .strip_suffix(".json")
                .or_else(|| file.strip_suffix(".tar"))?;
            is_sha256_hex(stem).then(|| format!("sha256:{stem}"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_like_docker_does() {
        assert!(name_matches("app:1.0", "app:1.0"));
        assert!(name_matches("docker.io/library/app:latest", "app"));
        assert!(name_matches("1.0", "app:1.0"));
        assert!(name_matches("sha256:abcdef0123", "abcdef"));
        assert!(!name_matches("sha256:abcdef0123", "abc"));
        assert!(!name_matches("app:1.0", "app:2.0"));
    }

    #[test]
    fn blob_paths_refuse_tricks() {
        assert_eq!(
            blob_path("sha256:ab12").as_deref(),
            Some("blobs/sha256/ab12")
        );
        assert_eq!(blob_path("sha256:../../etc/passwd"), None);
        assert_eq!(blob_path("..:x"), None);
        assert_eq!(blob_path("nocolon"), None);
    }
}

//! Content digests as OCI spells them (`sha256:<hex>`): one ground module that sources,
//! layers, the engine and the outputs all use.

use sha2::{Digest as _, Sha256};

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// `sha256:<hex>` of `bytes`.
pub(crate) fn sha256(bytes: &[u8]) -> String {
    finish_sha256(Sha256::new_with_prefix(bytes))
}

/// `sha256:<hex>` of what `hash` has seen.
pub(crate) fn finish_sha256(hash: Sha256) -> String {
    format!("sha256:{}", hex(&hash.finalize()))
}

/// Whether `text` is the hex of a SHA-256 (64 hex digits).
pub(crate) fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `sha256:0123456789ab…`, short enough for a message.
pub(crate) fn short_digest(digest: &str) -> String {
    match digest.split_once(':') {
        Some((alg, hex)) if hex.len() > 12 => format!("{alg}:{}…", &hex[..12]),
        _ => digest.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_spelled_as_oci_spells_them() {
        assert_eq!(
            sha256(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert!(is_sha256_hex(
            sha256(b"x").strip_prefix("sha256:").unwrap_or_default()
        ));
        assert_eq!(short_digest(&sha256(b"")), "sha256:e3b0c44298fc…");
        assert_eq!(short_digest("blobs/x"), "blobs/x");
    }
}

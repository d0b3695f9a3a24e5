//! Software bills of materials that know the bytes: CycloneDX 1.6 and SPDX 2.3 (JSON), one
//! component per package with its package URL, version and license where its database
//! records one, and properties in our own namespace (`dive-rs:`) for the bytes it ships,
//! shows and hides, its layers, waste classes and GPU device code. The image is the
//! document's subject, named with its config digest.
//!
//! Budget: one pass over the final tree (a class and an owner per file), a record per
//! package; with file evidence, each owned path once.

mod cyclonedx;
mod model;
mod purl;
mod spdx;

use sha2::{Digest as _, Sha256};

use crate::Analysis;

impl Analysis {
    /// The image's CycloneDX 1.6 bill of materials (JSON); with `files`, each package's
    /// visible files as evidence.
    pub fn cyclonedx(&self, files: bool) -> serde_json::Value {
        cyclonedx::cyclonedx(self, files)
    }

    /// The image's SPDX 2.3 bill of materials (JSON). It lists no files: an SPDX 2.3 file
    /// needs a SHA-1 of its content, which the analysis does not compute.
    pub fn spdx(&self) -> serde_json::Value {
        spdx::spdx(self)
    }
}

/// The tool, as SBOMs name their creator.
const TOOL: &str = "dive-rs";
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The image's name: its reference, else the input as given.
fn image_name(analysis: &Analysis) -> String {
    analysis
        .image
        .reference
        .clone()
        .unwrap_or_else(|| analysis.input.clone())
}

/// The hex of a `sha256:` digest, if it is one.
fn sha256_hex(digest: &str) -> Option<&str> {
    digest
        .strip_prefix("sha256:")
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A UUID (RFC 9562's layout, version 5's bits) from the image, `salt` and the moment: each
/// document its own identity, as both formats ask (a re-scan is a new document).
fn uuid(analysis: &Analysis, salt: &str) -> String {
    let moment = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let hash = Sha256::new()
        .chain_update(analysis.image.config_digest.as_bytes())
        .chain_update(salt.as_bytes())
        .chain_update(VERSION.as_bytes())
        .chain_update(moment.to_le_bytes())
        .chain_update(std::process::id().to_le_bytes())
        .finalize();
    let mut b: [u8; 16] = hash[..16].try_into().unwrap_or_default();
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = crate::digest::hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// Now, as `YYYY-MM-DDThh:mm:ssZ`.
fn now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's days-to-civil.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_clock_reads_as_a_date() {
        let now = super::now();
        assert_eq!(now.len(), 20, "{now}");
        assert!(now.starts_with("20") && now.ends_with('Z'), "{now}");
    }
}

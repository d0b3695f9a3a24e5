//! Debian: `var/lib/dpkg/status` + `info/<pkg>[:arch].list`; distroless `status.d/`.

use std::collections::HashMap;

use super::{DbPackage, Ecosystem};
use crate::path::{normalize, split_last};

pub(super) const STATUS: &[u8] = b"var/lib/dpkg/status";
const INFO: &[u8] = b"var/lib/dpkg/info/";
pub(super) const STATUS_D: &[u8] = b"var/lib/dpkg/status.d/";
pub(super) const DIVERSIONS: &[u8] = b"var/lib/dpkg/diversions";

pub(super) fn is_database(path: &[u8]) -> bool {
    path == STATUS
        || path == DIVERSIONS
        || (path.starts_with(INFO) && path.ends_with(b".list"))
        || (path.starts_with(STATUS_D) && !split_last(path).1.starts_with(b"."))
}

pub(super) fn parse(path: &[u8], content: &[u8]) -> Vec<DbPackage> {
    if path == STATUS {
        return paragraphs(content)
            .into_iter()
            .filter_map(|p| package_from(&p, true))
            .collect();
    }
    if let Some(file) = path.strip_prefix(INFO) {
        let name =
            String::from_utf8_lossy(file.strip_suffix(b".list").unwrap_or(file)).into_owned();
        let name = name.split(':').next().unwrap_or(&name).to_owned();
        let files = content
            .split(|&b| b == b'\n')
            .filter_map(normalize)
            .filter(|p| !p.is_empty())
            .collect();
        return vec![listed(name, files)];
    }
    if let Some(file) = path.strip_prefix(STATUS_D) {
        // distroless: `status.d/<pkg>` is a status paragraph, `<pkg>.md5sums` lists files.
        if let Some(name) = file.strip_suffix(b".md5sums") {
            let files = content
                .split(|&b| b == b'\n')
                .filter_map(|line| line.splitn(2, |&b| b == b' ').nth(1))
                .filter_map(|p| normalize(p.trim_ascii()))
                .collect();
            let mut package = listed(String::from_utf8_lossy(name).into_owned(), files);
            package.files.push(path.to_vec());
            return vec![package];
        }
        let mut packages: Vec<DbPackage> = paragraphs(content)
            .into_iter()
            .filter_map(|p| package_from(&p, false))
            .collect();
        for package in &mut packages {
            package.files.push(path.to_vec());
        }
        return packages;
    }
    Vec::new()
}

/// `dpkg-divert` records: three lines each (path, diverted-to path, diverting package, `:`
/// for a local diversion), as original path → (new path, diverter).
pub(super) fn diversions(content: &[u8]) -> HashMap<Vec<u8>, (Vec<u8>, String)> {
    let lines: Vec<&[u8]> = content.split(|&b| b == b'\n').collect();
    lines
        .chunks_exact(3)
        .filter_map(|c| {
            Some((
                normalize(c[0])?,
                (
                    normalize(c[1])?,
                    String::from_utf8_lossy(c[2]).trim().to_owned(),
                ),
            ))
        })
        .collect()
}

/// A diverted package's file lives at the diverted-to path; the diverter keeps the original.
pub(super) fn apply_diversions(
    package: &mut DbPackage,
    diversions: &HashMap<Vec<u8>, (Vec<u8>, String)>,
) {
    for file in &mut package.files {
        if let Some((to, by)) = diversions.get(file.as_slice())
            && *by != package.name
        {
            file.clone_from(to);
        }
    }
}

fn listed(name: String, files: Vec<Vec<u8>>) -> DbPackage {
    DbPackage {
        ecosystem: Ecosystem::Dpkg,
        name,
        version: None,
        declared_bytes: None,
        files,
        dirs: Vec::new(),
        site: None,
        location: Vec::new(),
    }
}

/// Fields of each `Key: value` paragraph (continuation lines dropped).
fn paragraphs(content: &[u8]) -> Vec<Vec<(String, String)>> {
    let text = String::from_utf8_lossy(content);
    text.split("\n\n")
        .map(|block| {
            block
                .lines()
                .filter(|l| !l.starts_with(' ') && !l.starts_with('\t'))
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .collect::<Vec<_>>()
        })
        .filter(|p| !p.is_empty())
        .collect()
}

fn package_from(fields: &[(String, String)], needs_status: bool) -> Option<DbPackage> {
    let get = |key: &str| {
        fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    };
    let name = get("Package")?;
    // Only installed packages own files; `deinstall ok config-files` leaves conffiles only.
    if needs_status && !get("Status").is_some_and(|s| s.ends_with(" installed")) {
        return None;
    }
    let mut package = listed(name.to_owned(), Vec::new());
    package.version = get("Version").map(str::to_owned);
    package.declared_bytes = get("Installed-Size")
        .and_then(|kib| kib.parse::<u64>().ok())
        .map(|kib| kib * 1024);
    // The package's own control files in info/ belong to it.
    for arch in [
        String::new(),
        get("Architecture")
            .map(|a| format!(":{a}"))
            .unwrap_or_default(),
    ] {
        for ext in [
            "list",
            "md5sums",
            "conffiles",
            "postinst",
            "preinst",
            "postrm",
            "prerm",
            "shlibs",
            "symbols",
            "triggers",
            "templates",
            "config",
        ] {
            package
                .files
                .push(format!("var/lib/dpkg/info/{name}{arch}.{ext}").into_bytes());
        }
    }
    Some(package)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_keeps_installed_packages_with_sizes() {
        let status = b"Package: bash\nStatus: install ok installed\nVersion: 5.2\nInstalled-Size: 7163\nDescription: shell\n more text\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1\n";
        let packages = parse(STATUS, status);
        assert_eq!(packages.len(), 1);
        assert_eq!(packages[0].name, "bash");
        assert_eq!(packages[0].declared_bytes, Some(7163 * 1024));
    }

    #[test]
    fn list_names_drop_the_architecture() {
        let packages = parse(
            b"var/lib/dpkg/info/libc6:amd64.list",
            b"/.\n/usr\n/usr/lib/x86_64-linux-gnu/libc.so.6\n",
        );
        assert_eq!(packages[0].name, "libc6");
        assert_eq!(
            packages[0].files.last().map(Vec::as_slice),
            Some(&b"usr/lib/x86_64-linux-gnu/libc.so.6"[..])
        );
    }
}

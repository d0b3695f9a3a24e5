//! Debian: `var/lib/dpkg/status` + `info/<pkg>[:arch].list`; distroless `status.d/`.

use std::collections::HashMap;

use super::package::{DbPackage, Ecosystem};
use super::room::Room;
use crate::path::{normalize, split_last};

pub(crate) const STATUS: &[u8] = b"var/lib/dpkg/status";
const INFO: &[u8] = b"var/lib/dpkg/info/";
pub(super) const STATUS_D: &[u8] = b"var/lib/dpkg/status.d/";
pub(super) const DIVERSIONS: &[u8] = b"var/lib/dpkg/diversions";
/// apt's record of which packages it installed only to satisfy another (`Auto-Installed:
/// 1`): kept for `fix`, which tells packages only Recommends pulled in; it lists no files.
pub(crate) const EXTENDED_STATES: &[u8] = b"var/lib/apt/extended_states";

pub(super) fn is_database(path: &[u8]) -> bool {
    path == STATUS
        || path == DIVERSIONS
        || path == EXTENDED_STATES
        || (path.starts_with(INFO) && path.ends_with(b".list"))
        || (path.starts_with(STATUS_D) && !split_last(path).1.starts_with(b"."))
}

pub(super) fn parse(path: &[u8], content: &[u8], room: &mut Room) -> Vec<DbPackage> {
    if path == STATUS {
        return packages(path, content, true, room);
    }
    if let Some(file) = path.strip_prefix(INFO) {
        let name =
            String::from_utf8_lossy(file.strip_suffix(b".list").unwrap_or(file)).into_owned();
        let name = name.split(':').next().unwrap_or(&name).to_owned();
        if !room.package(path, &name, None) {
            return Vec::new();
        }
        let mut package = listed(name);
        for line in content.split(|&b| b == b'\n') {
            let kept = room.list(&mut package.files, line.len(), || {
                normalize(line).filter(|p| !p.is_empty())
            });
            if !kept {
                break;
            }
        }
        return vec![package];
    }
    if let Some(file) = path.strip_prefix(STATUS_D) {
        // distroless: `status.d/<pkg>` is a status paragraph, `<pkg>.md5sums` lists files.
        if let Some(name) = file.strip_suffix(b".md5sums") {
            let name = String::from_utf8_lossy(name).into_owned();
            if !room.package(path, &name, None) {
                return Vec::new();
            }
            let mut package = listed(name);
            // The database itself first: kept however many files it lists.
            room.list(&mut package.files, path.len(), || Some(path.to_vec()));
            // `<md5>  <path>`: the path follows the first space.
            for line in content.split(|&b| b == b'\n') {
                let Some(space) = memchr::memchr(b' ', line) else {
                    continue;
                };
                let listed = line[space + 1..].trim_ascii();
                if !room.list(&mut package.files, listed.len(), || normalize(listed)) {
                    break;
                }
            }
            return vec![package];
        }
        let mut packages = packages(path, content, false, room);
        for package in &mut packages {
            room.list(&mut package.files, path.len(), || Some(path.to_vec()));
        }
        return packages;
    }
    Vec::new()
}

/// `dpkg-divert` records: three lines each (path, diverted-to path, diverting package, `:`
/// for a local diversion), as original path → (new path, diverter); each takes a claim of
/// `room`.
pub(super) fn diversions(content: &[u8], room: &mut Room) -> HashMap<Vec<u8>, (Vec<u8>, String)> {
    let mut diversions = HashMap::new();
    let mut lines = content.split(|&b| b == b'\n');
    while let (Some(from), Some(to), Some(by)) = (lines.next(), lines.next(), lines.next()) {
        if room.too_long(from.len()) || room.too_long(to.len()) {
            continue;
        }
        // Two paths and a name kept: as much as three claims.
        if !room.take(3, from.len() + to.len() + by.len()) {
            break;
        }
        if let (Some(from), Some(to)) = (normalize(from), normalize(to)) {
            let by = String::from_utf8_lossy(by).trim().to_owned();
            diversions.insert(from, (to, by));
        }
    }
    diversions
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

fn listed(name: String) -> DbPackage {
    DbPackage::named(Ecosystem::Dpkg, name)
}

/// The fields of a `Key: value` paragraph that attribution uses, as they lie in the
/// database (untrimmed); the first of each name counts.
#[derive(Debug, Default)]
struct Fields<'a> {
    package: Option<&'a [u8]>,
    status: Option<&'a [u8]>,
    version: Option<&'a [u8]>,
    installed_size: Option<&'a [u8]>,
    architecture: Option<&'a [u8]>,
}

impl<'a> Fields<'a> {
    /// Takes in the field of `line`, if it is one of those used.
    fn read(&mut self, line: &'a [u8]) {
        let Some(colon) = memchr::memchr(b':', line) else {
            return;
        };
        // As the value is trimmed: Unicode whitespace too (allocates only for a name that
        // is not UTF-8, and frees it at once).
        let key = String::from_utf8_lossy(&line[..colon]);
        let key = key.trim();
        let slot = [
            ("Package", &mut self.package),
            ("Status", &mut self.status),
            ("Version", &mut self.version),
            ("Installed-Size", &mut self.installed_size),
            ("Architecture", &mut self.architecture),
        ]
        .into_iter()
        .find_map(|(name, slot)| key.eq_ignore_ascii_case(name).then_some(slot));
        if let Some(slot) = slot
            && slot.is_none()
        {
            *slot = Some(&line[colon + 1..]);
        }
    }
}

/// A field's value as text, trimmed.
fn text(value: &[u8]) -> String {
    String::from_utf8_lossy(value).trim().to_owned()
}

/// The packages of a file of `Key: value` paragraphs (blank lines between, continuation
/// lines indented), read line by line: only the five fields used are kept, as slices of
/// `content`, whatever else the paragraphs hold. Stops when `room` is spent.
fn packages(path: &[u8], content: &[u8], needs_status: bool, room: &mut Room) -> Vec<DbPackage> {
    let mut packages = Vec::new();
    let mut fields = Fields::default();
    // One more, empty line ends the last paragraph.
    for line in content.split(|&b| b == b'\n').chain([&b""[..]]) {
        if line.is_empty() {
            let fields = std::mem::take(&mut fields);
            if let Some(package) = package_from(path, &fields, needs_status, room) {
                packages.push(package);
            }
            if room.refused() {
                break;
            }
            continue;
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if !line.starts_with(b" ") && !line.starts_with(b"\t") {
            fields.read(line);
        }
    }
    packages
}

/// Control files in `info/` a package owns, by extension.
const CONTROL_FILES: [&str; 12] = [
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
];

/// The package of a paragraph of the database at `path`, when it is one.
fn package_from(
    path: &[u8],
    fields: &Fields<'_>,
    needs_status: bool,
    room: &mut Room,
) -> Option<DbPackage> {
    // Copied only when as short as a path: the name, version and architecture of a real
    // package take a few dozen bytes, and a line of the database may take megabytes.
    let raw = [fields.package?, fields.version.unwrap_or_default()]
        .into_iter()
        .chain(fields.architecture)
        .map(<[u8]>::len)
        .sum();
    if room.too_long(raw) {
        return None;
    }
    let name = text(fields.package?);
    // Only installed packages own files; `deinstall ok config-files` leaves conffiles only.
    let installed = |status| {
        String::from_utf8_lossy(status)
            .trim()
            .ends_with(" installed")
    };
    if needs_status && !fields.status.is_some_and(installed) {
        return None;
    }
    let version = fields.version.map(text);
    if !room.package(path, &name, version.as_deref()) {
        return None;
    }
    // The package's own control files in info/ belong to it.
    let architecture = fields
        .architecture
        .map(|a| format!(":{}", text(a)))
        .unwrap_or_default();
    let mut files = Vec::new();
    // Once the room for paths is spent, the package is still named, without its files.
    'files: for arch in ["", architecture.as_str()] {
        for ext in CONTROL_FILES {
            let len = INFO.len() + name.len() + arch.len() + 1 + ext.len();
            let file = || Some(format!("var/lib/dpkg/info/{name}{arch}.{ext}").into_bytes());
            if !room.list(&mut files, len, file) {
                break 'files;
            }
        }
    }
    let mut package = listed(name);
    package.version = version;
    package.declared_bytes = fields
        .installed_size
        .and_then(|kib| text(kib).parse::<u64>().ok())
        .and_then(|kib| kib.checked_mul(1024));
    package.files = files;
    Some(package)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_keeps_installed_packages_with_sizes() {
        let status = b"Package: bash\nStatus: install ok installed\nVersion: 5.2\nInstalled-Size: 7163\nDescription: shell\n more text\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1\n";
        let packages = parse(STATUS, status, &mut Room::new(0, 0, 0));
        assert_eq!(packages.len(), 1);
        assert_eq!(packages[0].name, "bash");
        assert_eq!(packages[0].declared_bytes, Some(7163 * 1024));
    }

    #[test]
    fn paragraphs_keep_the_first_of_each_field_used_and_nothing_else() {
        let status = b"Package: a\nStatus: install ok installed\nX-Junk: 1\n Continued: 2\nVersion: 1\nversion: 2\nArchitecture: amd64\n\n\n\nPackage: b\r\nStatus: install ok installed\r\nInstalled-Size: 99999999999999999999\r\n\r\nVersion: 3\n";
        let packages = parse(STATUS, status, &mut Room::new(0, 0, 0));
        let seen: Vec<_> = packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_deref(), p.declared_bytes))
            .collect();
        // `\r\n\r\n` is no paragraph break (dpkg writes `\n`): b's version is 3.
        assert_eq!(seen, [("a", Some("1"), None), ("b", Some("3"), None)]);
        assert!(
            packages[0]
                .files
                .contains(&b"var/lib/dpkg/info/a:amd64.md5sums".to_vec())
        );
        assert_eq!(packages[0].files.len(), 24);
    }

    #[test]
    fn a_distroless_md5sums_stops_where_the_room_does() {
        let path = b"var/lib/dpkg/status.d/foo.md5sums";
        let sums = "d41d8cd98f00b204e9800998ecf8427e  usr/bin/foo\n".repeat(100_000);
        let mut room = Room::new(0, 0, 0);
        let packages = parse(path, sums.as_bytes(), &mut room);
        assert_eq!(packages[0].files[0], path);
        assert_eq!(packages[0].files[1], b"usr/bin/foo");
        // 65,536 paths: its database, then its files.
        assert_eq!(packages[0].files.len(), 1 << 16);
        assert!(room.take_cut());
    }

    #[test]
    fn diversions_take_room() {
        let record = "/usr/bin/a\n/usr/bin/a.real\npkg\n".repeat(30_000);
        let mut room = Room::new(0, 0, 0);
        // Three claims each: 21,845 of 65,536.
        assert_eq!(diversions(record.as_bytes(), &mut room).len(), 1);
        assert!(room.take_cut());
        let record = (0..30_000)
            .map(|i| format!("/a{i}\n/b{i}\n:\n"))
            .collect::<String>();
        let mut room = Room::new(0, 0, 0);
        assert_eq!(
            diversions(record.as_bytes(), &mut room).len(),
            (1 << 16) / 3
        );
    }

    #[test]
    fn list_names_drop_the_architecture() {
        let packages = parse(
            b"var/lib/dpkg/info/libc6:amd64.list",
            b"/.\n/usr\n/usr/lib/x86_64-linux-gnu/libc.so.6\n",
            &mut Room::new(0, 0, 0),
        );
        assert_eq!(packages[0].name, "libc6");
        assert_eq!(
            packages[0].files.last().map(Vec::as_slice),
            Some(&b"usr/lib/x86_64-linux-gnu/libc.so.6"[..])
        );
    }
}

//! Entry points for the `cargo fuzz` targets in `fuzz/` (feature `fuzzing`): the parsers an
//! image feeds, callable on arbitrary bytes. Not a stable API.

/// Package paths the database parsers recognise, one per parser and database kind.
pub const DATABASE_PATHS: [&str; 7] = [
    "usr/lib/python3/site-packages/pkg-1.0.dist-info/RECORD",
    "usr/lib/python3/site-packages/pkg-1.0.dist-info/METADATA",
    "var/lib/dpkg/status",
    "var/lib/dpkg/info/pkg.list",
    "lib/apk/db/installed",
    "opt/conda/conda-meta/pkg-1.0-0.json",
    "app/node_modules/pkg/package.json",
];

/// Parses `content` as the package database at `path`; returns how many packages it named.
pub fn parse_database(path: &str, content: &[u8]) -> usize {
    crate::attribution::parse_database(path.as_bytes(), content).len()
}

/// Reads the debug and symbol section bytes of an ELF file held in `bytes`.
pub fn elf_debug_bytes(bytes: &[u8]) -> Option<u64> {
    crate::layer::elf_debug_bytes_of(bytes)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_fuzzed_path_reaches_a_parser() {
        for path in super::DATABASE_PATHS {
            assert!(crate::attribution::is_database(path.as_bytes()), "{path}");
        }
    }
}

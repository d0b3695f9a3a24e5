//! Alpine: `lib/apk/db/installed` (`P:` name, `V:` version, `I:` size, `F:` dir, `R:` file).

use super::{DbPackage, Ecosystem};
use crate::path::{join, normalize};

const INSTALLED: &[u8] = b"lib/apk/db/installed";

pub(super) fn is_database(path: &[u8]) -> bool {
    path == INSTALLED
}

pub(super) fn parse(content: &[u8]) -> Vec<DbPackage> {
    let mut packages = Vec::new();
    for record in String::from_utf8_lossy(content).split("\n\n") {
        let mut package = DbPackage {
            ecosystem: Ecosystem::Apk,
            name: String::new(),
            version: None,
            declared_bytes: None,
            files: Vec::new(),
            dirs: Vec::new(),
            site: None,
            location: Vec::new(),
        };
        let mut dir: Vec<u8> = Vec::new();
        for line in record.lines() {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            match key {
                "P" => value.clone_into(&mut package.name),
                "V" => package.version = Some(value.to_owned()),
                "I" => package.declared_bytes = value.parse().ok(),
                "F" => dir = value.as_bytes().to_vec(),
                "R" => package
                    .files
                    .extend(normalize(&join(&dir, value.as_bytes()))),
                _ => {}
            }
        }
        if !package.name.is_empty() {
            packages.push(package);
        }
    }
    packages
}

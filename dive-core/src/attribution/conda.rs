//! conda: `<prefix>/conda-meta/<name>-<version>-<build>.json` lists files relative to prefix.
//!
//! Read with a visitor rather than into a struct: the `files` array may hold millions of
//! strings, each becoming a path under the prefix (an empty one is the prefix itself, of up
//! to a path's length), so each is measured and kept as the room allows while the JSON is
//! read, never gathered first.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::package::{DbPackage, Ecosystem};
use super::room::Room;
use crate::path::{join, normalize, split_last};

pub(super) fn is_database(path: &[u8]) -> bool {
    let (dir, name) = split_last(path);
    split_last(dir).1 == b"conda-meta" && name.ends_with(b".json")
}

pub(super) fn parse(path: &[u8], content: &[u8], room: &mut Room) -> Option<DbPackage> {
    let prefix = split_last(split_last(path).0).0;
    // The database itself first: kept however many files it lists.
    let mut files = Vec::new();
    room.list(&mut files, path.len(), || Some(path.to_vec()));
    let mut json = serde_json::Deserializer::from_slice(content);
    let (name, version) = json
        .deserialize_map(Meta {
            prefix,
            files: &mut files,
            room: &mut *room,
        })
        .ok()?;
    json.end().ok()?;
    if !room.package(path, &name, version.as_deref()) {
        return None;
    }
    Some(DbPackage {
        ecosystem: Ecosystem::Conda,
        name,
        version,
        declared_bytes: None,
        files,
        dirs: Vec::new(),
        site: None,
        location: Vec::new(),
        arch: None,
        license: None,
        dependencies: Vec::new(),
        toolchain: None,
    })
}

/// The fields used, as `#[derive(Deserialize)]` would read them: `name` required, `version`
/// and `files` optional, others ignored, none twice.
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum Field {
    Name,
    Version,
    Files,
    #[serde(other)]
    Other,
}

/// Reads the object: its name and version; its files into `files`.
struct Meta<'a> {
    prefix: &'a [u8],
    files: &'a mut Vec<Vec<u8>>,
    room: &'a mut Room,
}

impl<'de> Visitor<'de> for Meta<'_> {
    type Value = (String, Option<String>);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a conda-meta object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut name: Option<String> = None;
        let mut version: Option<Option<String>> = None;
        let mut files = false;
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::Name if name.is_some() => return Err(de::Error::duplicate_field("name")),
                Field::Name => name = Some(map.next_value()?),
                Field::Version if version.is_some() => {
                    return Err(de::Error::duplicate_field("version"));
                }
                Field::Version => version = Some(map.next_value()?),
                Field::Files if files => return Err(de::Error::duplicate_field("files")),
                Field::Files => {
                    files = true;
                    map.next_value_seed(Files {
                        prefix: self.prefix,
                        files: &mut *self.files,
                        room: &mut *self.room,
                    })?;
                }
                Field::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let name = name.ok_or_else(|| de::Error::missing_field("name"))?;
        Ok((name, version.flatten()))
    }
}

/// The `files` array, each string kept as the room allows.
struct Files<'a> {
    prefix: &'a [u8],
    files: &'a mut Vec<Vec<u8>>,
    room: &'a mut Room,
}

impl<'de> DeserializeSeed<'de> for Files<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Files<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of paths")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(File {
                prefix: self.prefix,
                files: &mut *self.files,
                room: &mut *self.room,
            })?
            .is_some()
        {}
        Ok(())
    }
}

/// One string of `files`: read in place (`serde_json` lends it), copied only when kept.
struct File<'a> {
    prefix: &'a [u8],
    files: &'a mut Vec<Vec<u8>>,
    room: &'a mut Room,
}

impl<'de> DeserializeSeed<'de> for File<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for File<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a path")
    }

    fn visit_str<E: de::Error>(self, file: &str) -> Result<(), E> {
        let len = if self.prefix.is_empty() {
            file.len()
        } else {
            self.prefix.len() + 1 + file.len()
        };
        // Once the room is spent the rest are read (the JSON must still be whole) and
        // dropped: nothing more is built.
        self.room.list(self.files, len, || {
            normalize(&join(self.prefix, file.as_bytes()))
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &[u8] = b"opt/conda/conda-meta/zlib-1.3-0.json";

    #[test]
    fn files_are_relative_to_the_prefix() {
        let json = br#"{"name": "zlib", "version": "1.3", "build": "h0", "depends": [{"x": [1]}],
            "files": ["lib/libz.so.1", "include/zlib.h", "../../etc/escape"]}"#;
        let mut room = Room::new(0, 0, 0);
        let package = parse(PATH, json, &mut room).unwrap();
        assert_eq!(
            (package.name.as_str(), package.version.as_deref()),
            ("zlib", Some("1.3"))
        );
        assert_eq!(
            package.files,
            [
                PATH.to_vec(),
                b"opt/conda/lib/libz.so.1".to_vec(),
                b"opt/conda/include/zlib.h".to_vec(),
                b"etc/escape".to_vec(),
            ]
        );
    }

    #[test]
    fn what_a_struct_would_refuse_is_refused() {
        let mut room = Room::new(0, 0, 0);
        for bad in [
            &br#"{"version": "1"}"#[..],
            br#"{"name": "a", "name": "b"}"#,
            br#"{"name": "a", "files": [1]}"#,
            br#"{"name": "a", "files": null}"#,
            br#"{"name": "a"} x"#,
            b"[]",
        ] {
            assert!(parse(PATH, bad, &mut room).is_none(), "{bad:?}");
        }
        let package = parse(PATH, br#"{"name": "a", "version": null}"#, &mut room).unwrap();
        assert_eq!(package.version, None);
        assert_eq!(package.files, [PATH.to_vec()]);
    }

    #[test]
    fn empty_files_under_a_long_prefix_stop_at_the_room() {
        // Each "" is the prefix itself, 3,800 bytes: 16 MiB of room keeps 4,414 of them
        // after the database's own path.
        let prefix = vec!["p".repeat(199); 19].join("/");
        let path = format!("{prefix}/conda-meta/x.json");
        let mut json = br#"{"name":"x","files":["#.to_vec();
        json.extend(vec![&b"\"\""[..]; 400_000].join(&b',')[..].iter());
        json.extend(b"]}");
        let mut room = Room::new(0, 0, 0);
        let package = parse(path.as_bytes(), &json, &mut room).unwrap();
        let own = path.len();
        assert_eq!(
            package.files.len(),
            1 + ((16 << 20) - own) / (prefix.len() + 1)
        );
        assert_eq!(package.files[0], path.as_bytes());
        assert!(room.take_cut());
    }
}

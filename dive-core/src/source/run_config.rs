//! The config's run settings that secrets are read in (`Env`, `Labels`), read without
//! building a tree of the config: each kept string is one allocation, anything else is
//! skipped as it is parsed, and a list or map of any length keeps its first
//! [`MAX_KEPT`] entries.

use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// `Env` entries and labels kept; a config of more is read past them without keeping them.
pub(crate) const MAX_KEPT: usize = 4096;

/// `config` of an image config: what dive-rs reads of it.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RunConfig {
    /// `NAME=value` entries.
    #[serde(rename = "Env", default, deserialize_with = "strings")]
    pub(crate) env: Vec<String>,
    /// Label names and values.
    #[serde(rename = "Labels", default, deserialize_with = "pairs")]
    pub(crate) labels: Vec<(String, String)>,
}

/// A string, or `None` for a value of any other shape (skipped as it is parsed).
struct MaybeString(Option<String>);

impl<'de> Deserialize<'de> for MaybeString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(Lenient)
    }
}

/// A list of strings: the first [`MAX_KEPT`] kept, other values and the rest skipped.
fn strings<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    struct List;
    impl<'de> Visitor<'de> for List {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of strings")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
            let mut kept = Vec::new();
            while kept.len() < MAX_KEPT {
                match seq.next_element::<MaybeString>()? {
                    Some(MaybeString(Some(text))) => kept.push(text),
                    Some(MaybeString(None)) => {}
                    None => return Ok(kept),
                }
            }
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(kept)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<String>, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(Vec::new())
        }
    }
    deserializer.deserialize_any(Or(List))
}

/// A map of strings to strings: the first [`MAX_KEPT`] pairs kept, the rest skipped.
fn pairs<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<(String, String)>, D::Error> {
    struct Map;
    impl<'de> Visitor<'de> for Map {
        type Value = Vec<(String, String)>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a map of strings")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut kept = Vec::new();
            while kept.len() < MAX_KEPT {
                match map.next_entry::<String, MaybeString>()? {
                    Some((name, MaybeString(Some(value)))) => kept.push((name, value)),
                    Some((_, MaybeString(None))) => {}
                    None => return Ok(kept),
                }
            }
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(kept)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(Vec::new())
        }
    }
    deserializer.deserialize_any(Or(Map))
}

/// A visitor that takes what `inner` takes and skips any other value as empty.
struct Or<V>(V);

impl<'de, V: Visitor<'de>> Visitor<'de> for Or<V>
where
    V::Value: Default,
{
    type Value = V::Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.0.visit_seq(seq)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.0.visit_map(map)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<V::Value, E> {
        Ok(V::Value::default())
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<V::Value, E> {
        Ok(V::Value::default())
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<V::Value, E> {
        Ok(V::Value::default())
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<V::Value, E> {
        Ok(V::Value::default())
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<V::Value, E> {
        Ok(V::Value::default())
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<V::Value, E> {
        Ok(V::Value::default())
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<V::Value, E> {
        Ok(V::Value::default())
    }
}

/// A visitor of one value: a string kept, anything else skipped as `None`.
struct Lenient;

impl<'de> Visitor<'de> for Lenient {
    type Value = MaybeString;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<MaybeString, E> {
        Ok(MaybeString(Some(text.to_owned())))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<MaybeString, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(MaybeString(None))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MaybeString, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(MaybeString(None))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<MaybeString, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<MaybeString, E> {
        Ok(MaybeString(None))
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<MaybeString, E> {
        Ok(MaybeString(None))
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<MaybeString, E> {
        Ok(MaybeString(None))
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<MaybeString, E> {
        Ok(MaybeString(None))
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<MaybeString, E> {
        Ok(MaybeString(None))
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<MaybeString, E> {
        Ok(MaybeString(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> RunConfig {
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"))
    }

    #[test]
    fn env_and_labels_of_any_shape_are_read_leniently() {
        let run = read(
            r#"{"Env":["A=1",2,null,{"x":[1]},"B=2"],"Labels":{"a":"1","b":[1,2],"c":null},"Cmd":["sh"]}"#,
        );
        assert_eq!(run.env, ["A=1", "B=2"]);
        assert_eq!(run.labels, [("a".to_owned(), "1".to_owned())]);
        for other in [
            r#"{"Env":null,"Labels":null}"#,
            r#"{"Env":"A=1","Labels":"x"}"#,
            r#"{"Env":{"A":"1"},"Labels":[["a","b"]]}"#,
            "{}",
        ] {
            let run = read(other);
            assert!(run.env.is_empty() && run.labels.is_empty(), "{other}");
        }
    }

    #[test]
    fn a_list_of_millions_keeps_its_first_entries() {
        let json = format!(r#"{{"Env":[{}"last"]}}"#, "\"\",".repeat(1_000_000));
        let run = read(&json);
        assert_eq!(run.env.len(), MAX_KEPT);
    }
}

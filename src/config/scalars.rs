//! What every value of `mpbuild.yaml` must be before its fields are read: written as
//! itself. A YAML tag other than the core schema's (`!!str`, `!!int`, `!!bool`,
//! `!!float`, `!!null`, `!!map`, `!!seq`) changes what a value means — `!!binary` decodes
//! base64 into a repository or a build argument, `!Ref` and other local tags are
//! another program's — and is refused where it is written. So is a NUL character, which
//! no argument of buildx or a smoke command can carry (the argv would be cut there).

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Spanned, Tagged};

/// A value written with a tag mpbuild does not take, or holding a NUL: what and where.
#[derive(Debug, PartialEq, Eq)]
pub struct Refused {
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub help: String,
}

/// A value with its place and its tag.
type Node = Spanned<Tagged<Raw>>;

enum Raw {
    Scalar(Option<String>),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

/// The first refused value of `text`, if any. A text serde cannot read at all is left
/// to the real reading, which reports it.
pub fn check(text: &str) -> Option<Refused> {
    let doc: Node = serde_saphyr::from_str(text).ok()?;
    first(&doc)
}

fn first(v: &Node) -> Option<Refused> {
    let Tagged(raw, tag) = &v.value;
    let at = |message: String, help: &str| Refused {
        line: v.referenced.line() as usize,
        column: v.referenced.column() as usize,
        message,
        help: help.to_string(),
    };
    if let Some(t) = tag.as_deref().filter(|t| !is_core(t)) {
        return Some(at(
            format!(
                "the YAML tag `{}` is not taken here: mpbuild.yaml holds plain values",
                shown(t)
            ),
            "remove the tag and write the value itself (quoted if it would read as a number or a boolean)",
        ));
    }
    match raw {
        Raw::Scalar(Some(s)) if s.contains('\0') => Some(at(
            format!("`{}` holds a NUL character", s.escape_debug()),
            "remove it: no argument of buildx or of a command can carry a NUL",
        )),
        Raw::Scalar(_) => None,
        Raw::Seq(items) => items.iter().find_map(first),
        Raw::Map(entries) => entries
            .iter()
            .find_map(|(k, v)| first(k).or_else(|| first(v))),
    }
}

/// A tag as it is usually written: `!!binary` for `tag:yaml.org,2002:binary`.
fn shown(tag: &str) -> String {
    match tag.strip_prefix("tag:yaml.org,2002:") {
        Some(name) => format!("!!{name}"),
        None => tag.to_string(),
    }
}

/// The core schema's tags, short or long: they only say what the value already is.
fn is_core(tag: &str) -> bool {
    let name = tag
        .strip_prefix("!!")
        .or_else(|| tag.strip_prefix("tag:yaml.org,2002:"))
        .or_else(|| {
            tag.strip_prefix("!<tag:yaml.org,2002:")
                .and_then(|t| t.strip_suffix('>'))
        });
    matches!(
        name,
        Some("str" | "int" | "bool" | "float" | "null" | "map" | "seq")
    )
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Raw;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a YAML value")
            }
            fn visit_unit<E>(self) -> Result<Raw, E> {
                Ok(Raw::Scalar(None))
            }
            fn visit_none<E>(self) -> Result<Raw, E> {
                Ok(Raw::Scalar(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Raw, E> {
                Ok(Raw::Scalar(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Raw, E> {
                Ok(Raw::Scalar(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Raw, E> {
                Ok(Raw::Scalar(None))
            }
            fn visit_i128<E>(self, _: i128) -> Result<Raw, E> {
                Ok(Raw::Scalar(None))
            }
            fn visit_u128<E>(self, _: u128) -> Result<Raw, E> {
                Ok(Raw::Scalar(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Raw, E> {
                Ok(Raw::Scalar(None))
            }
            fn visit_str<E>(self, v: &str) -> Result<Raw, E> {
                Ok(Raw::Scalar(Some(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Raw, E> {
                Ok(Raw::Scalar(Some(v)))
            }
            fn visit_bytes<E>(self, v: &[u8]) -> Result<Raw, E> {
                Ok(Raw::Scalar(Some(String::from_utf8_lossy(v).into_owned())))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Raw, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = s.next_element()? {
                    items.push(item);
                }
                Ok(Raw::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Raw, A::Error> {
                let mut entries = Vec::new();
                while let Some(k) = m.next_key()? {
                    entries.push((k, m.next_value()?));
                }
                Ok(Raw::Map(entries))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(yaml: &str) -> Option<(usize, String)> {
        check(yaml).map(|r| (r.line, r.message))
    }

    #[test]
    fn foreign_tags_are_refused_where_they_are() {
        let (line, m) = refused("a:\n  b: !!binary aGVsbG8=\n").unwrap();
        assert_eq!(line, 2);
        assert!(m.starts_with("the YAML tag `!!binary`"), "{m}");
        assert!(refused("a: [x, !Ref y]\n").unwrap().1.contains("`!Ref`"));
        assert!(refused("!custom k: v\n").unwrap().1.contains("`!custom`"));
        assert!(refused("a: !!set {x: null}\n").is_some());
    }

    #[test]
    fn core_tags_and_plain_values_pass() {
        assert_eq!(
            refused("a: !!str 1.10\nb: !!int 3\nc: !<tag:yaml.org,2002:str> x\nd: [1, true, ~]\n"),
            None
        );
    }

    #[test]
    fn a_nul_is_refused_in_keys_and_values() {
        let (line, m) = refused("a:\n  X: \"x\\0y\"\n").unwrap();
        assert_eq!((line, m.as_str()), (2, "`x\\0y` holds a NUL character"));
        assert!(refused("\"k\\0\": v\n").is_some());
    }
}

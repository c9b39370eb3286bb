//! A deployment file as a tree that remembers where each value is written: its line and
//! column (for `FILE:LINE` in every message), the bytes it occupies (so `check --pin` can
//! edit exactly that text) and its YAML tag (so `!Ref image` is known to be computed by
//! CloudFormation, not the literal `image`). JSON files are read the same way (JSON is
//! YAML's flow style).
//!
//! Parse errors speak of the user's file: the YAML library's advice to developers ("set
//! DuplicateKeyPolicy in Options") never reaches a message.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Spanned, Tagged};

/// A value of a deployment file and where it is written.
#[derive(Debug, Clone)]
pub struct Node {
    pub value: Value,
    /// The YAML tag written before the value (`!Sub`, `!Ref`), if any other than a
    /// plain string's.
    pub tag: Option<String>,
    /// Where the value is used (1-based; an alias `*x` is where the alias is).
    pub line: u32,
    pub column: u32,
    /// The bytes of the value as written where it is defined (the anchored value for an
    /// alias), quotes included; `None` when the parser cannot say.
    pub span: Option<(usize, usize)>,
}

#[derive(Debug, Clone)]
pub enum Value {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

/// A mapping key (any scalar, as text) and its line.
#[derive(Debug, Clone)]
pub struct Key {
    pub name: String,
    pub line: u32,
}

impl Node {
    /// The value at `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.name == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value at a path of keys (`["spec", "template", "spec"]`).
    pub fn path(&self, keys: &[&str]) -> Option<&Node> {
        keys.iter().try_fold(self, |n, k| n.get(k))
    }

    /// The line of `key` in this mapping (where a message should point when the key
    /// decides), else this value's own line.
    pub fn key_line(&self, key: &str) -> u32 {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.name == key)
                .map_or(self.line, |(k, _)| k.line),
            _ => self.line,
        }
    }

    /// A string written as such: untagged (or tagged `!!str`). A CloudFormation
    /// intrinsic (`!Ref x`) is not a literal.
    pub fn literal(&self) -> Option<&str> {
        match (&self.value, &self.tag) {
            (Value::String(s), None) => Some(s),
            _ => None,
        }
    }

    /// Any scalar as text (a number or boolean written where a string is expected).
    pub fn scalar(&self) -> Option<String> {
        match (&self.value, &self.tag) {
            (Value::String(s) | Value::Number(s), None) => Some(s.clone()),
            (Value::Bool(b), None) => Some(b.to_string()),
            _ => None,
        }
    }

    pub fn is_map(&self) -> bool {
        matches!(self.value, Value::Map(_))
    }

    /// The items of a sequence (none for anything else).
    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(items) => items,
            _ => &[],
        }
    }

    /// The entries of a mapping (none for anything else).
    pub fn entries(&self) -> &[(Key, Node)] {
        match &self.value {
            Value::Map(entries) => entries,
            _ => &[],
        }
    }

    /// A literal string, or the literal strings of a sequence.
    pub fn strings(&self) -> Vec<&str> {
        match &self.value {
            Value::Seq(items) => items.iter().filter_map(Node::literal).collect(),
            _ => self.literal().into_iter().collect(),
        }
    }

    /// How the value is written, for a message about a value that is not a literal:
    /// `!Sub "…"`, `{"Fn::Join": …}`, `[…]`.
    pub fn describe(&self) -> String {
        let body = match &self.value {
            Value::String(s) if self.tag.is_some() => s.clone(),
            Value::String(s) => format!("{s:?}"),
            Value::Null => "(empty)".into(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.clone(),
            Value::Seq(_) => "[…]".into(),
            Value::Map(entries) => match entries.first() {
                Some((k, _)) if entries.len() == 1 => format!("{{{}: …}}", k.name),
                _ => "{…}".into(),
            },
        };
        match &self.tag {
            Some(t) => format!("{t} {body}"),
            None => body,
        }
    }
}

/// Why a file could not be read as YAML or JSON: where, and what, in the words of the
/// user's file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

/// Parses every document of `text` (YAML, several separated by `---`, or JSON).
pub fn parse(text: &str) -> Result<Vec<Node>, ParseError> {
    let docs: Vec<Spanned<Tagged<Raw>>> =
        serde_saphyr::from_str_multiple(text).map_err(|e| parse_error(&e))?;
    Ok(docs.into_iter().map(node).collect())
}

fn parse_error(e: &serde_saphyr::Error) -> ParseError {
    let inner = e.without_snippet();
    let (line, column) = inner
        .location()
        .map_or((0, 0), |l| (l.line() as u32, l.column() as u32));
    let message = match inner {
        serde_saphyr::Error::DuplicateMappingKey { key, .. } => duplicate_key(key.as_deref()),
        serde_saphyr::Error::Budget { .. }
        | serde_saphyr::Error::AliasReplayLimitExceeded { .. }
        | serde_saphyr::Error::AliasExpansionLimitExceeded { .. }
        | serde_saphyr::Error::AliasReplayStackDepthExceeded { .. }
        | serde_saphyr::Error::AliasReplayCounterOverflow { .. } => {
            "the file is too large or too deeply nested for a deployment file (anchors and aliases expand past mpbuild's limits)".to_string()
        }
        serde_saphyr::Error::RecursiveReferencesRequireWeakTypes { .. } => {
            "an alias refers to the value that contains it (a loop)".to_string()
        }
        other => {
            let m = other.render_with_formatter(&serde_saphyr::UserMessageFormatter);
            let first = m.lines().next().unwrap_or_default().trim().to_string();
            strip_location(&first)
        }
    };
    ParseError {
        line,
        column,
        message,
    }
}

/// What to say of a key written twice in one mapping (the YAML library's own message
/// tells a developer which option to set).
pub fn duplicate_key(key: Option<&str>) -> String {
    format!(
        "the key `{}` appears twice in one mapping; YAML allows each key once, and tools that read this file disagree on which one wins: remove one",
        key.unwrap_or("?")
    )
}

/// "error: line 3 column 1: MESSAGE at line 3, column 1" → "MESSAGE".
fn strip_location(message: &str) -> String {
    let mut m = message
        .strip_prefix("error: ")
        .unwrap_or(message)
        .to_string();
    if m.starts_with("line ")
        && let Some(i) = m.find(": ")
    {
        m = m[i + 2..].to_string();
    }
    if let Some(i) = m.rfind(" at line ") {
        m.truncate(i);
    }
    m
}

/// What serde-saphyr builds: values with their spans and tags, converted to [`Node`].
enum Raw {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Seq(Vec<Spanned<Tagged<Raw>>>),
    Map(Vec<(Spanned<RawKey>, Spanned<Tagged<Raw>>)>),
}

struct RawKey(String);

fn node(s: Spanned<Tagged<Raw>>) -> Node {
    let Tagged(raw, tag) = s.value;
    let span = s.defined.span();
    let span = span
        .byte_offset()
        .zip(span.byte_len())
        .map(|(o, l)| (o as usize, l as usize));
    let value = match raw {
        Raw::Null => Value::Null,
        Raw::Bool(b) => Value::Bool(b),
        Raw::Number(n) => Value::Number(n),
        Raw::String(s) => Value::String(s),
        Raw::Seq(items) => Value::Seq(items.into_iter().map(node).collect()),
        Raw::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| {
                    (
                        Key {
                            name: k.value.0,
                            line: k.referenced.line() as u32,
                        },
                        node(v),
                    )
                })
                .collect(),
        ),
    };
    Node {
        value,
        tag: tag.filter(|t| !is_plain_str_tag(t)),
        line: s.referenced.line() as u32,
        column: s.referenced.column() as u32,
        span,
    }
}

/// `!!str` and its long forms: a string, not a computed value.
fn is_plain_str_tag(tag: &str) -> bool {
    matches!(
        tag,
        "!!str" | "tag:yaml.org,2002:str" | "!<tag:yaml.org,2002:str>"
    )
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Raw;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a YAML or JSON value")
            }
            fn visit_unit<E>(self) -> Result<Raw, E> {
                Ok(Raw::Null)
            }
            fn visit_none<E>(self) -> Result<Raw, E> {
                Ok(Raw::Null)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Raw, E> {
                Ok(Raw::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Raw, E> {
                Ok(Raw::Number(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Raw, E> {
                Ok(Raw::Number(v.to_string()))
            }
            fn visit_i128<E>(self, v: i128) -> Result<Raw, E> {
                Ok(Raw::Number(v.to_string()))
            }
            fn visit_u128<E>(self, v: u128) -> Result<Raw, E> {
                Ok(Raw::Number(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Raw, E> {
                Ok(Raw::Number(v.to_string()))
            }
            fn visit_str<E>(self, v: &str) -> Result<Raw, E> {
                Ok(Raw::String(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<Raw, E> {
                Ok(Raw::String(v))
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Raw, E> {
                // `!!binary`: never an image reference; kept as text when it is text.
                Ok(Raw::String(String::from_utf8_lossy(v).into_owned()))
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

impl<'de> Deserialize<'de> for RawKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RawKey;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a plain key (a mapping or a list cannot be a key here)")
            }
            fn visit_unit<E>(self) -> Result<RawKey, E> {
                Ok(RawKey("null".into()))
            }
            fn visit_none<E>(self) -> Result<RawKey, E> {
                Ok(RawKey("null".into()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<RawKey, E> {
                Ok(RawKey(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<RawKey, E> {
                Ok(RawKey(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<RawKey, E> {
                Ok(RawKey(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<RawKey, E> {
                Ok(RawKey(v.to_string()))
            }
            fn visit_str<E>(self, v: &str) -> Result<RawKey, E> {
                Ok(RawKey(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_know_their_line_bytes_and_tag() {
        let text = "Resources:\n  Fn:\n    ImageUri: !Sub \"${Repo}:latest\"\n    Other: !Ref image\n    Plain: 'app:1'\n    Bare: app:2\n";
        let docs = parse(text).unwrap();
        let f = docs[0].path(&["Resources", "Fn"]).unwrap();
        let sub = f.get("ImageUri").unwrap();
        assert_eq!((sub.line, sub.tag.as_deref()), (3, Some("!Sub")));
        assert_eq!(sub.literal(), None);
        assert_eq!(f.get("Other").unwrap().literal(), None, "!Ref is computed");
        let plain = f.get("Plain").unwrap();
        let (o, l) = plain.span.unwrap();
        assert_eq!(&text[o..o + l], "'app:1'");
        assert_eq!(plain.literal(), Some("app:1"));
        let bare = f.get("Bare").unwrap();
        let (o, l) = bare.span.unwrap();
        assert_eq!(&text[o..o + l], "app:2");
        assert_eq!(f.key_line("Bare"), 6);
    }

    #[test]
    fn an_alias_edits_where_its_value_is_defined() {
        let text = "a:\n  image: &img app:1\nb:\n  image: *img\n";
        let docs = parse(text).unwrap();
        let b = docs[0].path(&["b", "image"]).unwrap();
        assert_eq!(b.line, 4);
        let (o, l) = b.span.unwrap();
        assert_eq!((&text[o..o + l], o), ("app:1", 17));
    }

    #[test]
    fn several_documents_and_json() {
        let docs = parse("a: 1\n---\nb: [x, {c: d}]\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].get("b").unwrap().line, 3);
        let docs = parse("{\"image\": \"x:1\",\n \"n\": 2}").unwrap();
        assert_eq!(docs[0].get("n").unwrap().line, 2);
        assert_eq!(docs[0].get("image").unwrap().literal(), Some("x:1"));
    }

    #[test]
    fn scalar_keys_of_any_kind() {
        let docs = parse("a:\n  1: x\n  true: y\n  ~: z\n").unwrap();
        let names: Vec<&str> = docs[0]
            .get("a")
            .unwrap()
            .entries()
            .iter()
            .map(|(k, _)| k.name.as_str())
            .collect();
        assert_eq!(names, ["1", "true", "null"]);
    }

    #[test]
    fn errors_speak_of_the_file_not_of_the_library() {
        let e = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!((e.line, e.column), (3, 1));
        assert!(e.message.starts_with("the key `a` appears twice"), "{e:?}");
        for text in ["a: 1\na: 2\n", "? [a, b]\n: c\n", "a: &x [*x]\n", "a: [\n"] {
            let e = parse(text).unwrap_err();
            for leak in ["Options", "DuplicateKeyPolicy", "Option<", "weak recursion"] {
                assert!(!e.message.contains(leak), "{text:?}: {e:?}");
            }
            assert!(e.line > 0, "{text:?}: {e:?}");
        }
    }
}

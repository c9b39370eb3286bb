//! `--set IMAGE.KEY=VALUE` (and `--no-cache`, `--pull`), as `docker buildx bake --set`
//! takes them: the value replaces what `mpbuild.yaml` says for every image the pattern
//! matches (`*` matches any part of a name) before the file is checked, so an
//! overridden value is held to the same rules as a written one. Bake's spellings of the
//! keys are taken too (`no-cache`, `args.NAME`, `target`, `shm-size`, `extra-hosts`).

use serde_saphyr::{Location, Spanned};

use super::raw::{RawImage, RawProject, RawTag, Scalar};

/// One override, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    /// As written, for messages.
    pub arg: String,
    /// Image names it applies to: `api`, `*`, `api-*`.
    pub pattern: String,
    pub key: Key,
    pub value: String,
}

/// The keys `--set` takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    NoCache,
    Pull,
    Dockerfile,
    DockerfileInline,
    Context,
    Stage,
    Tags,
    Network,
    ShmSize,
    Ssh,
    Ulimits,
    BuildArg(String),
    Label(String),
    Annotation(String),
    NamedContext(String),
    AddHost(String),
}

/// Every key, as the README and the error list them.
const KEYS: &str = "no_cache, pull, dockerfile, dockerfile_inline, context, stage (target), tags, network, shm_size, ssh, ulimits, build_args.NAME (args.NAME), labels.NAME, annotations.KEY, contexts.NAME, add_hosts.HOST (extra-hosts.HOST)";

/// A `--set` that cannot be taken.
#[derive(Debug, thiserror::Error)]
#[error("{}", crate::exit::WithHelp(&format!("--set {arg}: {message}"), help))]
pub struct OverrideError {
    pub arg: String,
    pub message: String,
    pub help: String,
}

impl crate::exit::Coded for OverrideError {
    fn code(&self) -> crate::exit::Code {
        crate::exit::Code::Usage
    }

    fn help(&self) -> Option<String> {
        Some(self.help.clone())
    }
}

fn fail(arg: &str, message: impl Into<String>, help: impl Into<String>) -> OverrideError {
    OverrideError {
        arg: arg.to_string(),
        message: message.into(),
        help: help.into(),
    }
}

impl Override {
    /// `PATTERN.KEY=VALUE`; `PATTERN.no_cache` and `PATTERN.pull` alone mean true.
    pub fn parse(arg: &str) -> Result<Override, OverrideError> {
        let shape = "write IMAGE.KEY=VALUE, e.g. api.build_args.VERSION=1.2 or '*.no_cache=true'";
        let (lhs, value) = match arg.split_once('=') {
            Some((l, v)) => (l, Some(v)),
            None => (arg, None),
        };
        let Some((pattern, key)) = lhs.split_once('.') else {
            return Err(fail(arg, "no image before the key", shape));
        };
        if pattern.is_empty()
            || !pattern
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '*'))
        {
            return Err(fail(
                arg,
                format!("`{pattern}` is not an image name or pattern"),
                shape,
            ));
        }
        let named = |prefix: &[&str]| {
            prefix.iter().find_map(|p| {
                key.strip_prefix(p)
                    .and_then(|r| r.strip_prefix('.'))
                    .filter(|r| !r.is_empty())
                    .map(str::to_string)
            })
        };
        let key = match key {
            "no_cache" | "no-cache" => Key::NoCache,
            "pull" => Key::Pull,
            "dockerfile" => Key::Dockerfile,
            "dockerfile_inline" | "dockerfile-inline" => Key::DockerfileInline,
            "context" => Key::Context,
            "stage" | "target" => Key::Stage,
            "tags" => Key::Tags,
            "network" => Key::Network,
            "shm_size" | "shm-size" => Key::ShmSize,
            "ssh" => Key::Ssh,
            "ulimits" => Key::Ulimits,
            "platform" | "platforms" => {
                return Err(fail(
                    arg,
                    "an image's platforms come from its `targets:`",
                    "change the targets, or build one platform with `mpbuild push --platform P --digests-dir DIR`",
                ));
            }
            "output" | "push" | "cache-from" | "cache-to" | "attest" => {
                return Err(fail(
                    arg,
                    format!("`{key}` is mpbuild's own part of the build"),
                    format!("keys: {KEYS}"),
                ));
            }
            _ => {
                if let Some(n) = named(&["build_args", "args"]) {
                    Key::BuildArg(n)
                } else if let Some(n) = named(&["labels"]) {
                    Key::Label(n)
                } else if let Some(n) = named(&["annotations"]) {
                    Key::Annotation(n)
                } else if let Some(n) = named(&["contexts"]) {
                    Key::NamedContext(n)
                } else if let Some(n) = named(&["add_hosts", "extra-hosts"]) {
                    Key::AddHost(n)
                } else {
                    let words: Vec<&str> = KEYS
                        .split(", ")
                        .map(|w| w.split(['.', ' ']).next().unwrap_or(w))
                        .collect();
                    let near = words
                        .iter()
                        .map(|w| (crate::catalog::edit_distance(key, w), w))
                        .filter(|(d, _)| *d <= 2)
                        .min_by_key(|(d, _)| *d)
                        .map(|(_, w)| format!("did you mean `{w}`? "))
                        .unwrap_or_default();
                    return Err(fail(
                        arg,
                        format!("unknown key `{key}`"),
                        format!("{near}keys: {KEYS}"),
                    ));
                }
            }
        };
        let value = match (value, &key) {
            (Some(v), Key::NoCache | Key::Pull) => match v {
                "true" | "1" | "" => "true".to_string(),
                "false" | "0" => "false".to_string(),
                other => {
                    return Err(fail(
                        arg,
                        format!("`{other}` is not true or false"),
                        "write true or false",
                    ));
                }
            },
            (None, Key::NoCache | Key::Pull) => "true".to_string(),
            (Some(v), _) => v.to_string(),
            (None, _) => return Err(fail(arg, "no value", shape)),
        };
        Ok(Override {
            arg: arg.to_string(),
            pattern: pattern.to_string(),
            key,
            value,
        })
    }

    /// Whether the pattern matches `name` (`*` matches any run of characters).
    pub fn matches(&self, name: &str) -> bool {
        glob(self.pattern.as_bytes(), name.as_bytes())
    }
}

fn glob(p: &[u8], s: &[u8]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|i| glob(rest, &s[i..])),
        Some((c, rest)) => s.first() == Some(c) && glob(rest, &s[1..]),
    }
}

/// A value with no place in the file.
fn here<T>(value: T) -> Spanned<T> {
    Spanned::new(value, Location::UNKNOWN, Location::UNKNOWN)
}

/// Applies `overrides`, in order, to the images they match; one that matches no image
/// is an error naming the images.
pub(super) fn apply(raw: &mut RawProject, overrides: &[Override]) -> Result<(), OverrideError> {
    for o in overrides {
        let mut matched = false;
        for (name, image) in raw.images.iter_mut() {
            if o.matches(&name.value) {
                matched = true;
                set(image, o);
            }
        }
        if !matched && o.pattern != "*" {
            let names: Vec<&str> = raw.images.iter().map(|(n, _)| n.value.as_str()).collect();
            return Err(fail(
                &o.arg,
                format!("no image matches `{}`", o.pattern),
                format!("images: {}", names.join(", ")),
            ));
        }
    }
    Ok(())
}

/// Replaces the entry `key` of an ordered map, or appends it.
fn put<V>(map: &mut Vec<(Spanned<String>, Spanned<V>)>, key: &str, value: V) {
    match map.iter_mut().find(|(k, _)| k.value == key) {
        Some((_, v)) => *v = here(value),
        None => map.push((here(key.to_string()), here(value))),
    }
}

fn set(image: &mut RawImage, o: &Override) {
    let v = o.value.clone();
    match &o.key {
        Key::NoCache => image.no_cache = Some(here(v == "true")),
        Key::Pull => image.pull = Some(here(v == "true")),
        Key::Dockerfile => {
            image.dockerfile = Some(here(v));
            image.dockerfile_inline = None;
        }
        Key::DockerfileInline => {
            image.dockerfile_inline = Some(here(v));
            image.dockerfile = None;
        }
        Key::Context => image.context = Some(here(v)),
        Key::Stage => image.stage = Some(here(v)),
        Key::Tags => {
            image.tags = v
                .split(',')
                .map(|t| here(RawTag::Plain(t.trim().to_string())))
                .collect()
        }
        Key::Network => image.network = Some(here(v)),
        Key::ShmSize => image.shm_size = Some(here(Scalar::Text(v))),
        Key::Ssh => image.ssh = vec![here(v)],
        Key::Ulimits => image.ulimits = vec![here(v)],
        Key::BuildArg(n) => put(&mut image.build_args, n, Scalar::Text(v)),
        Key::Label(n) => put(&mut image.labels, n, Scalar::Text(v)),
        Key::Annotation(n) => put(&mut image.annotations, n, Scalar::Text(v)),
        Key::NamedContext(n) => put(&mut image.contexts, n, v),
        Key::AddHost(n) => put(&mut image.add_hosts, n, v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bake_spellings() {
        let o = Override::parse("api.args.VERSION=1.2").unwrap();
        assert_eq!(o.key, Key::BuildArg("VERSION".into()));
        assert_eq!(o.value, "1.2");
        assert_eq!(Override::parse("*.no-cache").unwrap().value, "true");
        assert_eq!(Override::parse("api.pull=false").unwrap().value, "false");
        assert_eq!(Override::parse("api.target=dev").unwrap().key, Key::Stage);
        assert_eq!(
            Override::parse("api.extra-hosts.db=10.0.0.2").unwrap().key,
            Key::AddHost("db".into())
        );
        let e = Override::parse("api.nocache=true").unwrap_err().to_string();
        assert!(e.contains("did you mean `no_cache`"), "{e}");
        assert!(Override::parse("api.platform=linux/amd64").is_err());
        assert!(Override::parse("nokey=1").is_err());
        assert!(Override::parse("api.pull=maybe").is_err());
        assert!(Override::parse("api.tags").is_err());
    }

    #[test]
    fn patterns() {
        let o = Override::parse("api-*.pull").unwrap();
        assert!(o.matches("api-v2"));
        assert!(!o.matches("web"));
        assert!(Override::parse("*.pull").unwrap().matches("anything"));
    }
}

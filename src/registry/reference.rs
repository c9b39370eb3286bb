//! Image references: `[HOST[:PORT]/]PATH[:TAG][@sha256:HEX]`, with Docker Hub's defaults
//! (`docker.io`, `library/`), as Docker's `reference` package reads them.

use std::fmt;

use super::error::RegistryError;

/// Docker Hub's name in references, and the host its API answers on.
pub const DOCKER_HUB: &str = "docker.io";
pub const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// The longest repository path registries accept.
pub const MAX_PATH_LEN: usize = 255;

/// OCI tag grammar: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
pub fn is_valid_tag(tag: &str) -> bool {
    let mut chars = tag.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphanumeric() || c == '_' => {}
        _ => return false,
    }
    tag.len() <= 128 && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')
}

/// The message for a reference written as a URL (`http://host/app`).
pub fn scheme_message(scheme: &str) -> String {
    format!(
        "a repository has no scheme; drop `{scheme}://` and, for a plain-HTTP registry, use insecure_registries / --insecure-registry"
    )
}

/// Checks the port of `host[:port]` / `[v6][:port]`: 1-65535 when given.
pub fn check_port(registry: &str) -> Result<(), String> {
    let port = if let Some(rest) = registry.strip_prefix('[') {
        match rest.split_once(']') {
            Some((_, "")) => None,
            Some((_, p)) => Some(p.strip_prefix(':').unwrap_or(p)),
            None => return Err(format!("`{registry}` has no closing `]`")),
        }
    } else {
        registry.split_once(':').map(|(_, p)| p)
    };
    match port {
        None => Ok(()),
        Some(p)
            if p.parse::<u16>().is_ok_and(|n| n > 0) && p.chars().all(|c| c.is_ascii_digit()) =>
        {
            Ok(())
        }
        Some(p) => Err(format!(
            "the registry port `{p}` is not a port number (1-65535)"
        )),
    }
}

/// A repository on a registry. Two are equal when they name the same registry and path,
/// however they were written. It is shown (`Display`) by its full name, as the registry
/// is asked for it (`docker.io/library/busybox`), and serialised as it was written
/// (`busybox`): what mpbuild echoes back, and what a plan's fingerprint hashes.
#[derive(Debug, Clone)]
pub struct Repository {
    /// The registry as written (`docker.io` for Docker Hub), with port.
    pub registry: String,
    /// The path, e.g. `library/busybox`.
    pub path: String,
    /// The text it was parsed from (`REGISTRY/PATH` when it was made from its parts).
    written: String,
}

impl PartialEq for Repository {
    fn eq(&self, other: &Repository) -> bool {
        self.registry == other.registry && self.path == other.path
    }
}

impl Eq for Repository {}

impl std::hash::Hash for Repository {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.registry.hash(h);
        self.path.hash(h);
    }
}

impl Repository {
    /// The repository `path` on `registry`.
    pub fn new(registry: &str, path: &str) -> Repository {
        Repository {
            registry: registry.to_string(),
            path: path.to_string(),
            written: format!("{registry}/{path}"),
        }
    }

    /// As the user wrote it: `me/app`, where the registry is asked for
    /// `docker.io/me/app`.
    pub fn as_written(&self) -> &str {
        &self.written
    }

    /// The same repository, shown as `text` (a preview's placeholders: the repository
    /// was parsed from `text` with them looked through).
    pub fn written_as(mut self, text: &str) -> Repository {
        self.written = text.to_string();
        self
    }

    /// This repository at `tag`.
    pub fn at_tag(&self, tag: &str) -> Reference {
        Reference {
            repository: self.clone(),
            tag: Some(tag.to_string()),
            digest: None,
        }
    }

    /// This repository at `digest`.
    pub fn at_digest(&self, digest: &str) -> Reference {
        Reference {
            repository: self.clone(),
            tag: None,
            digest: Some(digest.to_string()),
        }
    }

    /// The host:port the HTTP API answers on.
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_API
        } else {
            &self.registry
        }
    }

    /// Parses a repository without tag or digest.
    pub fn parse(s: &str) -> Result<Repository, RegistryError> {
        let r = Reference::parse(s)?;
        if r.tag.is_some() || r.digest.is_some() {
            return Err(RegistryError::BadReference {
                reference: s.to_string(),
                reason: "a repository has no tag or digest".into(),
            });
        }
        Ok(r.repository)
    }
}

impl fmt::Display for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.path)
    }
}

impl serde::Serialize for Repository {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.written)
    }
}

impl<'de> serde::Deserialize<'de> for Repository {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Repository, D::Error> {
        let text = String::deserialize(d)?;
        Repository::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A reference to an image: a repository with a tag and/or a digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    pub repository: Repository,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl Reference {
    pub fn parse(s: &str) -> Result<Reference, RegistryError> {
        let bad = |reason: &str| RegistryError::BadReference {
            reference: s.to_string(),
            reason: reason.to_string(),
        };
        let s_trim = s.trim();
        if s_trim.is_empty() {
            return Err(bad("it is empty"));
        }
        if let Some((scheme, _)) = s_trim.split_once("://") {
            return Err(bad(&scheme_message(scheme)));
        }
        let (rest, digest) = match s_trim.split_once('@') {
            Some((r, d)) => {
                if let Err(why) = crate::digest::Algorithm::of(d) {
                    return Err(bad(&why));
                }
                (r, Some(d.to_string()))
            }
            None => (s_trim, None),
        };
        // A tag is after the last ':' that comes after the last '/'.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => {
                let at = last_slash + i;
                (&rest[..at], Some(rest[at + 1..].to_string()))
            }
            None => (rest, None),
        };
        if let Some(t) = &tag
            && !is_valid_tag(t)
        {
            return Err(bad(
                "the tag is not valid ([A-Za-z0-9_][A-Za-z0-9._-]{0,127})",
            ));
        }
        let (registry, path) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.')
                    || first.contains(':')
                    || first == "localhost"
                    || first.starts_with('[') =>
            {
                (first.to_string(), rest.to_string())
            }
            _ => (DOCKER_HUB.to_string(), name.to_string()),
        };
        let registry = if registry == "index.docker.io" || registry == DOCKER_HUB_API {
            DOCKER_HUB.to_string()
        } else {
            registry
        };
        let path = if registry == DOCKER_HUB && !path.contains('/') {
            format!("library/{path}")
        } else {
            path
        };
        check_port(&registry).map_err(|e| bad(&e))?;
        if path.is_empty() {
            return Err(bad("the repository path is empty"));
        }
        if path.len() > MAX_PATH_LEN {
            return Err(bad(&format!(
                "the repository path is {} characters long; registries accept at most {MAX_PATH_LEN}",
                path.len()
            )));
        }
        for c in path.split('/') {
            let ok = !c.is_empty()
                && c.chars().all(|ch| {
                    ch.is_ascii_lowercase() || ch.is_ascii_digit() || matches!(ch, '.' | '_' | '-')
                })
                && c.starts_with(|ch: char| ch.is_ascii_alphanumeric())
                && c.ends_with(|ch: char| ch.is_ascii_alphanumeric());
            if !ok {
                return Err(bad(&format!(
                    "path component `{c}` must be lowercase letters, digits and separators (. _ -)"
                )));
            }
        }
        Ok(Reference {
            repository: Repository {
                registry,
                path,
                written: name.to_string(),
            },
            tag,
            digest,
        })
    }

    /// What to ask the registry for: the digest when there is one, else the tag
    /// (`latest` when neither is given).
    pub fn target(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }

    /// The same repository at another tag or digest.
    pub fn with_target(&self, target: &str) -> Reference {
        let mut r = Reference {
            repository: self.repository.clone(),
            tag: None,
            digest: None,
        };
        // A tag has no `:`; anything with one is a digest (`sha256:…`, `sha512:…`, or
        // an algorithm the fetch will refuse), never fetched as a tag.
        if target.contains(':') {
            r.digest = Some(target.to_string());
        } else {
            r.tag = Some(target.to_string());
        }
        r
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Reference {
        Reference::parse(s).unwrap()
    }

    #[test]
    fn docker_hub_defaults() {
        let r = p("busybox");
        assert_eq!(r.repository.registry, "docker.io");
        assert_eq!(r.repository.path, "library/busybox");
        assert_eq!(r.repository.api_host(), "registry-1.docker.io");
        assert_eq!(r.target(), "latest");
        assert_eq!(
            p("grafana/grafana:11.2.0").repository.path,
            "grafana/grafana"
        );
        assert_eq!(
            p("index.docker.io/library/alpine").repository.registry,
            "docker.io"
        );
    }

    #[test]
    fn hosts_ports_tags_digests() {
        let d = format!("sha256:{}", "a".repeat(64));
        let r = p(&format!("127.0.0.1:5000/e2e/app:v1@{d}"));
        assert_eq!(r.repository.registry, "127.0.0.1:5000");
        assert_eq!(r.repository.path, "e2e/app");
        assert_eq!(r.tag.as_deref(), Some("v1"));
        assert_eq!(r.target(), d);
        let r = p("123456789012.dkr.ecr.us-east-1.amazonaws.com/team/api:latest");
        assert_eq!(
            r.repository.registry,
            "123456789012.dkr.ecr.us-east-1.amazonaws.com"
        );
        assert_eq!(
            r.to_string(),
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/api:latest"
        );
        let r = p("localhost/app");
        assert_eq!(r.repository.registry, "localhost");
        let r = p("localhost:5000/app:1.0");
        assert_eq!(r.repository.registry, "localhost:5000");
        assert_eq!(r.tag.as_deref(), Some("1.0"));
        assert_eq!(
            p("ghcr.io/acme/web").with_target("v2").to_string(),
            "ghcr.io/acme/web:v2"
        );
        // sha512 digests are digests; so is an algorithm mpbuild cannot check (the
        // fetch refuses it): never a tag.
        let d512 = format!("sha512:{}", "b".repeat(128));
        assert_eq!(
            p(&format!("ghcr.io/a@{d512}")).digest.as_deref(),
            Some(d512.as_str())
        );
        let r = p("ghcr.io/a").with_target(&d512);
        assert_eq!((r.tag, r.digest.as_deref()), (None, Some(d512.as_str())));
        let r = p("ghcr.io/a").with_target("md5:0123");
        assert_eq!((r.tag, r.digest.as_deref()), (None, Some("md5:0123")));
        assert!(Reference::parse("ghcr.io/a@md5:0123").is_err());
    }

    #[test]
    fn refuses_bad_references() {
        for bad in [
            "",
            "UPPER/case",
            "a//b",
            "x@sha256:abc",
            "x:-bad",
            "ghcr.io/",
            "a/-b",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Repository::parse("ghcr.io/a/b:tag").is_err());
        assert!(Repository::parse("ghcr.io/a/b").is_ok());
    }

    #[test]
    fn ports_lengths_and_schemes() {
        let reason = |s: &str| match Reference::parse(s) {
            Err(RegistryError::BadReference { reason, .. }) => reason,
            other => panic!("{s}: {other:?}"),
        };
        for bad in [
            "localhost:99999/app",
            "localhost:0/app",
            "r.example:abc/app",
            "[::1]:70000/app",
        ] {
            let e = Reference::parse(bad).unwrap_err();
            assert_eq!(
                crate::exit::Coded::code(&e),
                crate::exit::Code::Usage,
                "{bad}"
            );
            assert!(e.to_string().contains("not a port number"), "{e}");
        }
        assert!(p("[::1]:5000/app").repository.registry == "[::1]:5000");
        assert!(p("localhost:65535/app").repository.registry == "localhost:65535");
        let long = format!("ghcr.io/{}", "a".repeat(MAX_PATH_LEN + 1));
        assert!(reason(&long).contains("at most 255"));
        assert!(Reference::parse(&format!("ghcr.io/{}", "a".repeat(MAX_PATH_LEN))).is_ok());
        let e = reason("http://localhost:5000/app");
        assert!(
            e.contains("a repository has no scheme; drop `http://`")
                && e.contains("--insecure-registry"),
            "{e}"
        );
        assert!(reason("https://ghcr.io/a/b:v1").contains("drop `https://`"));
        assert!(Repository::parse("http://localhost:5000/app").is_err());
    }
}

//! A catalog entry, checked: the service, which platforms it runs, how it takes an
//! image (manifest kind, attestations, media types), and the sources that say so.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::platform::Platform;

/// How a service takes an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ManifestKind {
    /// Takes a multi-platform image index and picks its own platform.
    Index,
    /// Needs a plain single-platform image manifest (Lambda, Heroku).
    Single,
}

impl ManifestKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ManifestKind::Index => "index",
            ManifestKind::Single => "single",
        }
    }
}

/// Whether attestation manifests inside an index break the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Attestations {
    Ok,
    Break,
    Unknown,
}

impl Attestations {
    pub fn as_str(self) -> &'static str {
        match self {
            Attestations::Ok => "ok",
            Attestations::Break => "break",
            Attestations::Unknown => "unknown",
        }
    }
}

/// Which manifest media types a service (or its registry) takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaTypes {
    /// Docker V2 schema 2 and OCI manifests alike.
    Any,
    /// Docker Image Manifest V2 schema 2 only, not OCI (Heroku's registry).
    Docker,
    /// OCI manifests only.
    Oci,
}

impl MediaTypes {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaTypes::Any => "any",
            MediaTypes::Docker => "docker",
            MediaTypes::Oci => "oci",
        }
    }

    /// For `mpbuild targets`.
    pub fn describe(self) -> &'static str {
        match self {
            MediaTypes::Any => "Docker V2 schema 2 or OCI",
            MediaTypes::Docker => "Docker V2 schema 2 only, not OCI",
            MediaTypes::Oci => "OCI only",
        }
    }
}

/// A fact about a service that a source may confirm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fact {
    Platforms,
    Manifest,
    Attestations,
    MediaTypes,
}

impl Fact {
    pub const ALL: [Fact; 4] = [
        Fact::Platforms,
        Fact::Manifest,
        Fact::Attestations,
        Fact::MediaTypes,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Fact::Platforms => "platforms",
            Fact::Manifest => "manifest",
            Fact::Attestations => "attestations",
            Fact::MediaTypes => "media_types",
        }
    }

    pub(super) fn parse(word: &str) -> Option<Fact> {
        Fact::ALL.into_iter().find(|f| f.as_str() == word)
    }
}

/// What a source supports: a fact, or that the service runs one platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    Fact(Fact),
    Runs(Platform),
}

impl std::fmt::Display for Claim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Claim::Fact(fact) => f.write_str(fact.as_str()),
            Claim::Runs(p) => write!(f, "{p}"),
        }
    }
}

/// Where a fact comes from: a URL, and what it supports (empty: background only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub url: String,
    pub supports: Vec<Claim>,
}

impl Source {
    fn backs_fact(&self, fact: Fact) -> bool {
        self.supports.contains(&Claim::Fact(fact))
    }

    /// Backs "the service runs `p`": names `p`, or the whole `platforms` fact.
    fn backs_platform(&self, p: &Platform) -> bool {
        self.backs_fact(Fact::Platforms)
            || self
                .supports
                .iter()
                .any(|c| matches!(c, Claim::Runs(q) if q.matches(p)))
    }
}

/// One platform a service may run, before the host is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlatformSpec {
    /// A fixed platform.
    Fixed(Platform),
    /// The machine running mpbuild.
    Host,
}

impl PlatformSpec {
    pub(super) fn parse(s: &str) -> Result<PlatformSpec, String> {
        if s == "host" {
            return Ok(PlatformSpec::Host);
        }
        Platform::parse(s)
            .map(PlatformSpec::Fixed)
            .map_err(|e| e.to_string())
    }

    pub fn resolve(&self, host: &Platform) -> Platform {
        match self {
            PlatformSpec::Fixed(p) => p.clone(),
            PlatformSpec::Host => host.clone(),
        }
    }
}

/// The platforms a service can run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Runs {
    /// Any Linux platform (generic Kubernetes).
    Any,
    /// Exactly these.
    Only(Vec<PlatformSpec>),
}

/// Where an entry came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Builtin,
    /// Added or overridden by the project file, at this line.
    Project {
        line: u32,
    },
}

/// A service in the catalog.
#[derive(Debug, Clone)]
pub struct Service {
    pub name: String,
    pub title: String,
    pub aliases: Vec<String>,
    pub runs: Runs,
    pub default: Vec<PlatformSpec>,
    pub arch_field: String,
    pub arch_aliases: BTreeMap<String, Platform>,
    pub manifest: ManifestKind,
    pub attestations: Attestations,
    pub media_types: Option<MediaTypes>,
    pub confirmed: Vec<Fact>,
    pub sources: Vec<Source>,
    pub note: Option<String>,
    /// The service's availability, when it is not simply open (App Runner: closed to
    /// new customers).
    pub status: Option<String>,
    /// When the entry was last checked against its sources (YYYY-MM-DD).
    pub reviewed: Option<String>,
    pub origin: Origin,
}

impl Service {
    /// The platforms this service can run, with the host resolved. `None` means any.
    pub fn runnable(&self, host: &Platform) -> Option<Vec<Platform>> {
        match &self.runs {
            Runs::Any => None,
            Runs::Only(specs) => Some(specs.iter().map(|s| s.resolve(host)).collect()),
        }
    }

    /// Whether the service can run `platform` (containerd matching).
    pub fn can_run(&self, platform: &Platform, host: &Platform) -> bool {
        match self.runnable(host) {
            None => platform.os == "linux",
            Some(list) => list.iter().any(|p| p.matches(platform)),
        }
    }

    /// The platforms a target without `arch:` gets.
    pub fn default_platforms(&self, host: &Platform) -> Vec<Platform> {
        self.default.iter().map(|s| s.resolve(host)).collect()
    }

    /// Parses an architecture as this service spells it (`ARM64`, `X86_64`, `armv7`…),
    /// falling back to containerd's rules (`arm64`, `aarch64`, `linux/arm/v7`).
    pub fn parse_arch(&self, arch: &str) -> Result<Platform, crate::platform::PlatformError> {
        if let Some(p) = self.arch_aliases.get(arch) {
            return Ok(p.clone());
        }
        if let Some((_, p)) = self
            .arch_aliases
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(arch))
        {
            return Ok(p.clone());
        }
        Platform::parse(arch)
    }

    pub fn is_confirmed(&self, fact: Fact) -> bool {
        self.confirmed.contains(&fact)
    }

    /// "linux/amd64, linux/arm64" or "any Linux platform".
    pub fn runs_display(&self, host: &Platform) -> String {
        match self.runnable(host) {
            None => "any Linux platform".to_string(),
            Some(list) => list
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    /// The rule quoted in errors: "AWS App Runner runs linux/amd64 (source: …)".
    pub fn rule(&self, host: &Platform) -> String {
        let mut s = format!("{} runs {}", self.title, self.runs_display(host));
        if !self.is_confirmed(Fact::Platforms) {
            s.push_str(" (unconfirmed)");
        }
        let platform_source = self
            .sources
            .iter()
            .find(|src| {
                src.backs_fact(Fact::Platforms)
                    || src.supports.iter().any(|c| matches!(c, Claim::Runs(_)))
            })
            .or(self.sources.first());
        if let Some(src) = platform_source {
            s.push_str(&format!("; source: {}", src.url));
        }
        s
    }

    /// The source URLs, in order.
    pub fn source_urls(&self) -> Vec<&str> {
        self.sources.iter().map(|s| s.url.as_str()).collect()
    }

    /// What the entry states without a source behind it: every platform it runs needs
    /// a source naming it (or `platforms`), `any`/`host` need a `platforms` source, and
    /// every confirmed fact needs a source for that fact. Empty when fully sourced.
    pub fn unsourced(&self) -> Vec<String> {
        let mut missing = Vec::new();
        match &self.runs {
            Runs::Only(specs) if specs.iter().all(|s| matches!(s, PlatformSpec::Fixed(_))) => {
                for spec in specs {
                    if let PlatformSpec::Fixed(p) = spec
                        && !self.sources.iter().any(|s| s.backs_platform(p))
                    {
                        missing.push(format!("runs {p}"));
                    }
                }
            }
            _ => {
                if !self.sources.iter().any(|s| s.backs_fact(Fact::Platforms)) {
                    missing.push("platforms".to_string());
                }
            }
        }
        for fact in &self.confirmed {
            if *fact == Fact::Platforms {
                continue;
            }
            if !self.sources.iter().any(|s| s.backs_fact(*fact)) {
                missing.push(format!("confirmed {}", fact.as_str()));
            }
        }
        if self.confirmed.contains(&Fact::MediaTypes) && self.media_types.is_none() {
            missing.push("media_types confirmed but not stated".to_string());
        }
        missing
    }
}

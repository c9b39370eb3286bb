//! The deployment-target catalog: which platforms each service runs and how it takes an
//! image. The built-in entries live in `catalog/services.yaml`, embedded in the binary;
//! a project may add or override entries under `services:` in its own file.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::platform::Platform;

/// The built-in catalog, as reviewed data.
pub const BUILTIN_YAML: &str = include_str!("catalog/services.yaml");

/// The same file as JSON (made by `build.rs`): what the binary parses, several times
/// faster than the YAML.
const BUILTIN_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/services.json"));

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

    fn parse(word: &str) -> Option<Fact> {
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
    fn parse(s: &str) -> Result<PlatformSpec, String> {
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

/// The catalog: built-in entries plus the project's own.
#[derive(Debug, Clone)]
pub struct Catalog {
    services: Vec<Service>,
}

impl Catalog {
    /// The built-in catalog. The embedded file is checked by tests, so a failure here is
    /// a bug in the binary.
    pub fn builtin() -> Catalog {
        let services = Catalog::builtin_raw()
            .into_iter()
            .map(|raw| {
                let name = raw.name.clone().expect("every built-in entry has a name");
                raw.into_service(&name, Origin::Builtin)
                    .unwrap_or_else(|e| panic!("embedded catalog entry {name}: {e}"))
            })
            .collect();
        Catalog { services }
    }

    /// The built-in entries as written in `catalog/services.yaml`, for a project entry
    /// to be laid over.
    pub fn builtin_raw() -> Vec<RawService> {
        let file: BuiltinFile =
            serde_json::from_str(BUILTIN_JSON).expect("embedded catalog parses");
        file.services
    }

    /// The built-in entry a project entry named `name` overrides: by name or alias,
    /// case-insensitively.
    pub fn builtin_entry(name: &str) -> Option<RawService> {
        let name = name.trim();
        let all = Catalog::builtin_raw();
        let by_name = all.iter().position(|r| {
            r.name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        });
        let by_alias = || {
            all.iter().position(|r| {
                r.aliases
                    .iter()
                    .flatten()
                    .any(|a| a.eq_ignore_ascii_case(name))
            })
        };
        let i = by_name.or_else(by_alias)?;
        all.into_iter().nth(i)
    }

    /// Adds a service, replacing a built-in one of the same name.
    pub fn insert(&mut self, service: Service) {
        if let Some(slot) = self.services.iter_mut().find(|s| s.name == service.name) {
            *slot = service;
        } else {
            self.services.push(service);
        }
    }

    pub fn services(&self) -> &[Service] {
        &self.services
    }

    /// Looks a service up by name or alias, case-insensitively.
    pub fn get(&self, name: &str) -> Option<&Service> {
        let name = name.trim();
        self.services
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
            .or_else(|| {
                self.services
                    .iter()
                    .find(|s| s.aliases.iter().any(|a| a.eq_ignore_ascii_case(name)))
            })
    }

    /// The closest known name, for "did you mean".
    pub fn suggest(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.services
            .iter()
            .flat_map(|s| std::iter::once(&s.name).chain(s.aliases.iter()))
            .map(|candidate| (edit_distance(&name, candidate), candidate))
            .filter(|(d, c)| *d <= 3.max(c.len() / 3))
            .min_by_key(|(d, _)| *d)
            .map(|(_, c)| self.get(c).map(|s| s.name.as_str()).unwrap_or(c.as_str()))
    }

    /// What to add to "unknown service `NAME`": a cloud's own name or registry
    /// (`gcp`, `gcr`, `aws`, `azure`…) names that cloud's services; a misspelling its
    /// closest name; else nothing.
    pub fn did_you_mean(&self, name: &str) -> String {
        let word = name.trim().to_ascii_lowercase();
        let vendor = VENDORS
            .iter()
            .find(|(_, words, _)| words.contains(&word.as_str()));
        if let Some((cloud, _, in_title)) = vendor {
            let names: Vec<String> = self
                .services
                .iter()
                .filter(|s| in_title.iter().any(|t| s.title.contains(t)))
                .map(|s| format!("`{}`", s.name))
                .collect();
            if !names.is_empty() {
                return format!(
                    "; did you mean one of {cloud}'s services: {}?",
                    names.join(", ")
                );
            }
        }
        self.suggest(name)
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default()
    }

    pub fn names(&self) -> Vec<&str> {
        self.services.iter().map(|s| s.name.as_str()).collect()
    }
}

/// A cloud, the words people type for it (its name, its registry), and what its
/// services' titles say.
const VENDORS: [(&str, &[&str], &[&str]); 3] = [
    (
        "Google",
        &[
            "gcp",
            "gcr",
            "google",
            "gcloud",
            "google-cloud",
            "artifact-registry",
            "gar",
        ],
        &["Google"],
    ),
    ("AWS", &["aws", "amazon", "ecr"], &["AWS", "Amazon"]),
    ("Azure", &["azure", "acr", "microsoft"], &["Azure"]),
];

/// Levenshtein distance, for suggestions.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

mod raw;
pub mod specs;
use raw::BuiltinFile;
pub use raw::{RawRuns, RawService, RawSource, TaggedSource};

#[cfg(test)]
mod tests;

//! The deployment-target catalog: which platforms each service runs and how it takes an
//! image. The built-in entries live in `catalog/services.yaml`, embedded in the binary;
//! a project may add or override entries under `services:` in its own file.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::platform::Platform;

/// The built-in catalog, as reviewed data.
pub const BUILTIN_YAML: &str = include_str!("catalog/services.yaml");

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

/// The raw shape of an entry, shared by the built-in file and a project's `services:`.
/// Every field is optional here so that a project entry naming a built-in service
/// overrides only the fields it gives ([`RawService::over`]); a new service needs
/// `platforms` ([`RawService::into_service`] says so).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub aliases: Option<Vec<String>>,
    #[serde(default)]
    pub platforms: Option<RawRuns>,
    #[serde(default)]
    pub default: Option<Vec<String>>,
    #[serde(default)]
    pub arch_field: Option<String>,
    #[serde(default)]
    pub arch_aliases: Option<BTreeMap<String, String>>,
    /// Default `index`.
    #[serde(default)]
    pub manifest: Option<ManifestKind>,
    /// Default `unknown`.
    #[serde(default)]
    pub attestations: Option<Attestations>,
    #[serde(default)]
    pub media_types: Option<MediaTypes>,
    #[serde(default)]
    pub confirmed: Option<Vec<Fact>>,
    #[serde(default)]
    pub sources: Option<Vec<RawSource>>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub reviewed: Option<String>,
}

/// A source: a bare URL, or `{url: URL, for: [platforms, manifest, linux/arm64, …]}`
/// saying which facts (or which platforms the service runs) it supports.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RawSource {
    Url(String),
    Tagged(TaggedSource),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaggedSource {
    pub url: String,
    #[serde(rename = "for", default)]
    pub supports: Vec<String>,
}

impl RawSource {
    fn into_source(self) -> Result<Source, String> {
        match self {
            RawSource::Url(url) => Ok(Source {
                url,
                supports: Vec::new(),
            }),
            RawSource::Tagged(t) => {
                let mut supports = Vec::new();
                for word in &t.supports {
                    let claim = match Fact::parse(word) {
                        Some(f) => Claim::Fact(f),
                        None => Claim::Runs(Platform::parse(word).map_err(|_| {
                            format!(
                                "source {}: `{word}` is neither a fact (platforms, manifest, attestations, media_types) nor a platform",
                                t.url
                            )
                        })?),
                    };
                    supports.push(claim);
                }
                Ok(Source {
                    url: t.url,
                    supports,
                })
            }
        }
    }
}

/// Checks a `reviewed:` date: YYYY-MM-DD.
fn check_date(date: &str) -> Result<(), String> {
    let bad = || format!("`reviewed: {date}` is not a date; write YYYY-MM-DD, e.g. 2026-11-28");
    let parts: Vec<&str> = date.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return Err(bad());
    };
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(y, 4) || !digits(m, 2) || !digits(d, 2) {
        return Err(bad());
    }
    let (m, d): (u32, u32) = (m.parse().unwrap_or(0), d.parse().unwrap_or(0));
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(bad());
    }
    Ok(())
}

/// `platforms:` is a list, or `any`, or `host`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RawRuns {
    Word(String),
    List(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BuiltinFile {
    services: Vec<RawService>,
}

impl RawService {
    /// This entry laid over `base`: each field given here replaces `base`'s, the rest
    /// are `base`'s (lists and maps are replaced whole, not merged). The name stays
    /// `base`'s.
    pub fn over(self, base: RawService) -> RawService {
        RawService {
            name: base.name.or(self.name),
            title: self.title.or(base.title),
            aliases: self.aliases.or(base.aliases),
            platforms: self.platforms.or(base.platforms),
            default: self.default.or(base.default),
            arch_field: self.arch_field.or(base.arch_field),
            arch_aliases: self.arch_aliases.or(base.arch_aliases),
            manifest: self.manifest.or(base.manifest),
            attestations: self.attestations.or(base.attestations),
            media_types: self.media_types.or(base.media_types),
            confirmed: self.confirmed.or(base.confirmed),
            sources: self.sources.or(base.sources),
            note: self.note.or(base.note),
            status: self.status.or(base.status),
            reviewed: self.reviewed.or(base.reviewed),
        }
    }

    /// Checks and converts an entry; `name` is used when the entry has none (the key of
    /// the project's `services:` map). Errors are plain sentences; the caller adds where.
    pub fn into_service(self, name: &str, origin: Origin) -> Result<Service, String> {
        let Some(platforms) = &self.platforms else {
            return Err(format!(
                "`{name}` is not a built-in service, so it needs `platforms:` (e.g. [linux/amd64]); `mpbuild targets` lists the built-in ones"
            ));
        };
        let runs = match platforms {
            RawRuns::Word(w) if w == "any" => Runs::Any,
            RawRuns::Word(w) if w == "host" => Runs::Only(vec![PlatformSpec::Host]),
            RawRuns::Word(w) => Runs::Only(vec![PlatformSpec::parse(w)?]),
            RawRuns::List(list) => {
                if list.is_empty() {
                    return Err(
                        "`platforms` is empty; list at least one, e.g. [linux/amd64]".into(),
                    );
                }
                Runs::Only(
                    list.iter()
                        .map(|s| PlatformSpec::parse(s))
                        .collect::<Result<_, _>>()?,
                )
            }
        };
        let default = match self.default {
            Some(list) => list
                .iter()
                .map(|s| PlatformSpec::parse(s))
                .collect::<Result<Vec<_>, _>>()?,
            None => match &runs {
                Runs::Any => vec![PlatformSpec::Fixed(Platform::linux("amd64", ""))],
                Runs::Only(list) => vec![list[0].clone()],
            },
        };
        let mut arch_aliases = BTreeMap::new();
        for (k, v) in self.arch_aliases.unwrap_or_default() {
            let p = Platform::parse(&v).map_err(|e| format!("arch_aliases `{k}`: {e}"))?;
            arch_aliases.insert(k, p);
        }
        if let Some(date) = &self.reviewed {
            check_date(date)?;
        }
        let sources = self
            .sources
            .unwrap_or_default()
            .into_iter()
            .map(RawSource::into_source)
            .collect::<Result<Vec<_>, _>>()?;
        let service = Service {
            name: self.name.unwrap_or_else(|| name.to_string()),
            title: self.title.unwrap_or_else(|| name.to_string()),
            aliases: self.aliases.unwrap_or_default(),
            runs,
            default,
            arch_field: self.arch_field.unwrap_or_else(|| "not stated".into()),
            arch_aliases,
            manifest: self.manifest.unwrap_or(ManifestKind::Index),
            attestations: self.attestations.unwrap_or(Attestations::Unknown),
            media_types: self.media_types,
            confirmed: self.confirmed.unwrap_or_default(),
            sources,
            note: self.note,
            status: self.status,
            reviewed: self.reviewed,
            origin,
        };
        // The defaults must be platforms the service runs.
        let probe_host = Platform::linux("amd64", "");
        for d in service.default_platforms(&probe_host) {
            if !service.can_run(&d, &probe_host) {
                return Err(format!(
                    "default platform {d} is not one the service runs ({})",
                    service.runs_display(&probe_host)
                ));
            }
        }
        Ok(service)
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
            serde_saphyr::from_str(BUILTIN_YAML).expect("embedded catalog parses");
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

    pub fn names(&self) -> Vec<&str> {
        self.services.iter().map(|s| s.name.as_str()).collect()
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> Platform {
        Platform::linux("arm64", "")
    }

    #[test]
    fn builtin_catalog_loads_and_covers_the_required_services() {
        let c = Catalog::builtin();
        for name in [
            "apprunner",
            "ecs-fargate",
            "ecs-ec2",
            "eks",
            "kubernetes",
            "lambda",
            "batch",
            "elastic-beanstalk",
            "cloud-run",
            "gke",
            "gke-autopilot",
            "azure-container-apps",
            "azure-app-service",
            "azure-container-instances",
            "fly",
            "heroku",
            "raspberry-pi",
            "local",
            "apple-silicon",
            "ecs-express",
            "eks-fargate",
            "aks",
            "azure-functions",
            "lightsail",
            "scaleway",
            "jetson",
            "ecs-fargate-windows",
            "aci-windows",
            "app-service-windows",
        ] {
            let s = c.get(name).unwrap_or_else(|| panic!("{name} missing"));
            assert!(!s.sources.is_empty(), "{name} has no source");
        }
    }

    #[test]
    fn every_builtin_entry_is_sourced_and_reviewed() {
        let c = Catalog::builtin();
        let mut problems = Vec::new();
        for s in c.services() {
            for m in s.unsourced() {
                problems.push(format!("{}: no source for {m}", s.name));
            }
            if s.reviewed.is_none() {
                problems.push(format!("{}: no `reviewed:` date", s.name));
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn the_source_check_catches_what_it_should() {
        let raw: RawService = serde_saphyr::from_str(
            "platforms: [linux/amd64, linux/arm64]\nconfirmed: [platforms, manifest]\nsources:\n  - {url: 'https://a.example', for: [linux/amd64]}\n  - https://b.example\n",
        )
        .unwrap();
        let s = raw.into_service("x", Origin::Builtin).unwrap();
        assert_eq!(
            s.unsourced(),
            vec!["runs linux/arm64", "confirmed manifest"]
        );
        assert_eq!(
            s.source_urls(),
            vec!["https://a.example", "https://b.example"]
        );
        let raw: RawService = serde_saphyr::from_str(
            "platforms: any\nsources: [{url: 'https://a.example', for: [platforms]}]\n",
        )
        .unwrap();
        assert!(
            raw.into_service("x", Origin::Builtin)
                .unwrap()
                .unsourced()
                .is_empty()
        );
        let bad: RawService = serde_saphyr::from_str(
            "platforms: [linux/amd64]\nsources: [{url: 'https://a.example', for: [vibes]}]\n",
        )
        .unwrap();
        let e = bad.into_service("x", Origin::Builtin).unwrap_err();
        assert!(e.contains("`vibes` is neither a fact"), "{e}");
        for date in ["2026-13-01", "yesterday", "2026-1-1"] {
            let bad: RawService =
                serde_saphyr::from_str(&format!("platforms: [linux/amd64]\nreviewed: {date}\n"))
                    .unwrap();
            assert!(bad.into_service("x", Origin::Builtin).is_err(), "{date}");
        }
    }

    #[test]
    fn catalog_review_2026_11() {
        let c = Catalog::builtin();
        let amd64 = Platform::linux("amd64", "");
        let arm64 = Platform::linux("arm64", "");
        let win = Platform::parse("windows/amd64").unwrap();
        let apprunner = c.get("apprunner").unwrap();
        assert!(apprunner.status.as_deref().unwrap().contains("2026-04-30"));
        assert!(apprunner.source_urls().contains(
            &"https://docs.aws.amazon.com/apprunner/latest/dg/apprunner-availability-change.html"
        ));
        let express = c.get("ecs-express").unwrap();
        assert_eq!(express.default_platforms(&host()), vec![amd64.clone()]);
        assert_eq!(express.parse_arch("ARM64").unwrap(), arm64);
        assert!(!express.is_confirmed(Fact::Platforms));
        assert_eq!(express.attestations, Attestations::Unknown);
        for alias in ["cloud-run-jobs", "cloud-run-worker-pools"] {
            assert_eq!(c.get(alias).unwrap().name, "cloud-run");
        }
        assert!(!c.get("eks-fargate").unwrap().can_run(&arm64, &host()));
        assert!(
            c.get("eks")
                .unwrap()
                .note
                .as_deref()
                .unwrap()
                .contains("general-purpose")
        );
        let heroku = c.get("heroku").unwrap();
        assert_eq!(heroku.media_types, Some(MediaTypes::Docker));
        assert!(heroku.is_confirmed(Fact::MediaTypes));
        assert_eq!(heroku.parse_arch("fir").unwrap(), arm64);
        assert_eq!(heroku.default_platforms(&host()), vec![amd64.clone()]);
        assert!(c.get("aks").unwrap().can_run(&arm64, &host()));
        for name in ["azure-functions", "lightsail", "scaleway"] {
            let s = c.get(name).unwrap();
            assert!(
                s.can_run(&amd64, &host()) && !s.can_run(&arm64, &host()),
                "{name}"
            );
        }
        let jetson = c.get("jetson").unwrap();
        assert_eq!(jetson.default_platforms(&host()), vec![arm64.clone()]);
        assert!(jetson.note.as_deref().unwrap().contains("L4T"));
        for name in ["ecs-fargate-windows", "aci-windows", "app-service-windows"] {
            let s = c.get(name).unwrap();
            assert_eq!(s.default_platforms(&host()), vec![win.clone()], "{name}");
            assert!(!s.can_run(&amd64, &host()), "{name}");
            assert_eq!(s.parse_arch("amd64").unwrap(), win, "{name}");
            assert!(s.note.as_deref().unwrap().contains("os.version"), "{name}");
        }
        assert_eq!(
            c.get("ecs-windows").unwrap().parse_arch("X86_64").unwrap(),
            win
        );
    }

    #[test]
    fn new_entries_keep_attestations_off_unless_confirmed() {
        // The rule: attestations go on only where every target is confirmed to take
        // them. Entries added from the 2026-11 review say `unknown` unless confirmed.
        let c = Catalog::builtin();
        for name in [
            "ecs-express",
            "eks-fargate",
            "aks",
            "azure-functions",
            "lightsail",
            "scaleway",
            "jetson",
            "ecs-fargate-windows",
            "aci-windows",
            "app-service-windows",
        ] {
            let s = c.get(name).unwrap();
            assert!(
                s.attestations != Attestations::Ok || s.is_confirmed(Fact::Attestations),
                "{name}"
            );
        }
    }

    #[test]
    fn facts_from_research() {
        let c = Catalog::builtin();
        let amd64 = Platform::linux("amd64", "");
        let arm64 = Platform::linux("arm64", "");
        let apprunner = c.get("apprunner").unwrap();
        assert!(apprunner.can_run(&amd64, &host()));
        assert!(!apprunner.can_run(&arm64, &host()));
        let lambda = c.get("lambda").unwrap();
        assert_eq!(lambda.manifest, ManifestKind::Single);
        assert_eq!(lambda.default_platforms(&host()), vec![amd64.clone()]);
        assert_eq!(lambda.parse_arch("arm64").unwrap(), arm64);
        assert_eq!(lambda.parse_arch("x86_64").unwrap(), amd64);
        let fargate = c.get("ecs-fargate").unwrap();
        assert_eq!(fargate.parse_arch("ARM64").unwrap(), arm64);
        assert_eq!(fargate.parse_arch("X86_64").unwrap(), amd64);
        let pi = c.get("raspberry-pi").unwrap();
        assert_eq!(pi.parse_arch("armv7").unwrap().to_string(), "linux/arm/v7");
        assert_eq!(pi.parse_arch("32-bit").unwrap().to_string(), "linux/arm/v7");
        assert!(!pi.can_run(&amd64, &host()));
        let local = c.get("local").unwrap();
        assert_eq!(local.default_platforms(&host()), vec![arm64.clone()]);
        assert_eq!(local.default_platforms(&amd64), vec![amd64.clone()]);
        let k8s = c.get("kubernetes").unwrap();
        assert!(k8s.can_run(&Platform::linux("s390x", ""), &host()));
        assert!(!c.get("cloud-run").unwrap().can_run(&arm64, &host()));
        assert!(!c.get("apprunner").unwrap().is_confirmed(Fact::Manifest));
    }

    #[test]
    fn lookup_by_alias_and_suggestions() {
        let c = Catalog::builtin();
        assert_eq!(c.get("App-Runner").unwrap().name, "apprunner");
        assert_eq!(c.get("k8s").unwrap().name, "kubernetes");
        assert_eq!(c.suggest("ecs-fargte"), Some("ecs-fargate"));
        assert_eq!(c.suggest("lamda"), Some("lambda"));
        assert_eq!(c.suggest("cloudrun2"), Some("cloud-run"));
        assert_eq!(c.suggest("zzzzzzzzzzzzzz"), None);
    }

    #[test]
    fn project_entries_override() {
        let mut c = Catalog::builtin();
        let raw: RawService =
            serde_saphyr::from_str("platforms: [linux/arm64]\nmanifest: single\n").unwrap();
        c.insert(
            raw.into_service("apprunner", Origin::Project { line: 3 })
                .unwrap(),
        );
        let s = c.get("apprunner").unwrap();
        assert!(s.can_run(&Platform::linux("arm64", ""), &host()));
        assert_eq!(s.origin, Origin::Project { line: 3 });
        let bad: RawService =
            serde_saphyr::from_str("platforms: [linux/arm64]\ndefault: [linux/amd64]\n").unwrap();
        assert!(bad.into_service("x", Origin::Builtin).is_err());
    }
}

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

/// A fact about a service that a source may confirm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fact {
    Platforms,
    Manifest,
    Attestations,
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
    pub confirmed: Vec<Fact>,
    pub sources: Vec<String>,
    pub note: Option<String>,
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
        if let Some(src) = self.sources.first() {
            s.push_str(&format!("; source: {src}"));
        }
        s
    }
}

/// The raw shape of an entry, shared by the built-in file and a project's `services:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub platforms: RawRuns,
    #[serde(default)]
    pub default: Option<Vec<String>>,
    #[serde(default)]
    pub arch_field: Option<String>,
    #[serde(default)]
    pub arch_aliases: BTreeMap<String, String>,
    #[serde(default = "default_manifest")]
    pub manifest: ManifestKind,
    #[serde(default = "default_attestations")]
    pub attestations: Attestations,
    #[serde(default)]
    pub confirmed: Vec<Fact>,
    #[serde(default)]
    pub sources: Vec<String>,
    #[serde(default)]
    pub note: Option<String>,
}

fn default_manifest() -> ManifestKind {
    ManifestKind::Index
}

fn default_attestations() -> Attestations {
    Attestations::Unknown
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
    /// Checks and converts an entry; `name` is used when the entry has none (the key of
    /// the project's `services:` map). Errors are plain sentences; the caller adds where.
    pub fn into_service(self, name: &str, origin: Origin) -> Result<Service, String> {
        let runs = match &self.platforms {
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
        for (k, v) in self.arch_aliases {
            let p = Platform::parse(&v).map_err(|e| format!("arch_aliases `{k}`: {e}"))?;
            arch_aliases.insert(k, p);
        }
        let service = Service {
            name: self.name.unwrap_or_else(|| name.to_string()),
            title: self.title.unwrap_or_else(|| name.to_string()),
            aliases: self.aliases,
            runs,
            default,
            arch_field: self.arch_field.unwrap_or_else(|| "not stated".into()),
            arch_aliases,
            manifest: self.manifest,
            attestations: self.attestations,
            confirmed: self.confirmed,
            sources: self.sources,
            note: self.note,
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
        let file: BuiltinFile =
            serde_saphyr::from_str(BUILTIN_YAML).expect("embedded catalog parses");
        let services = file
            .services
            .into_iter()
            .map(|raw| {
                let name = raw.name.clone().expect("every built-in entry has a name");
                raw.into_service(&name, Origin::Builtin)
                    .unwrap_or_else(|e| panic!("embedded catalog entry {name}: {e}"))
            })
            .collect();
        Catalog { services }
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
        ] {
            let s = c.get(name).unwrap_or_else(|| panic!("{name} missing"));
            assert!(!s.sources.is_empty(), "{name} has no source");
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

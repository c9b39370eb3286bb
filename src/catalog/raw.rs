//! A catalog entry as written: in `services.yaml` and in a project's `services:`. Every
//! field is optional, so a project entry can override only what it gives.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::service::*;
use crate::platform::Platform;

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
pub(super) struct BuiltinFile {
    pub(super) services: Vec<RawService>,
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

//! The deployment-target catalog: which platforms each service runs and how it takes an
//! image. The built-in entries live in `catalog/services.yaml`, embedded in the binary;
//! a project may add or override entries under `services:` in its own file.

/// The built-in catalog, as reviewed data.
pub const BUILTIN_YAML: &str = include_str!("catalog/services.yaml");

/// The same file as JSON (made by `build.rs`): what the binary parses, several times
/// faster than the YAML.
const BUILTIN_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/services.json"));

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
mod service;
pub mod specs;
use raw::BuiltinFile;
pub use raw::{RawRuns, RawService, RawSource, TaggedSource};
pub use service::*;

#[cfg(test)]
mod tests;

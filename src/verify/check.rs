//! The checks, as pure functions over what the registry holds ([`Observed`]) and what
//! the targets need ([`Requirements`]). Collecting the observation is the registry's job
//! (see `collect`); deciding is here, so every rule is unit-tested without a network.

use serde::Serialize;

use crate::platform::Platform;

/// What one reference resolves to in the registry.
#[derive(Debug, Clone, Serialize)]
pub struct Observed {
    /// The reference as asked (`REPO:TAG` or `REPO@sha256:…`).
    pub reference: String,
    /// The digest it resolves to.
    pub digest: String,
    pub media_type: String,
    pub kind: Kind,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Kind {
    /// An OCI image index or Docker manifest list.
    Index { entries: Vec<Entry> },
    /// A plain image manifest.
    Manifest { entry: Box<Entry> },
}

/// One image manifest: an index entry, or the manifest a tag points at directly.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub digest: String,
    pub media_type: String,
    /// The platform the index entry claims (None for a plain manifest).
    pub declared: Option<Platform>,
    /// An attestation manifest (`unknown/unknown` and in-toto layers, see
    /// `registry::manifest::is_attestation`): never counted as a platform.
    pub attestation: bool,
    /// Why an entry annotated as an attestation manifest is not one (a real platform,
    /// layers that are not in-toto statements): a problem, and the entry is checked as
    /// an image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub false_attestation: Option<String>,
    /// The platform its image config says (read for every non-attestation entry).
    pub config: Option<Platform>,
    /// The deep check, when asked for.
    pub deep: Option<Deep>,
}

/// The outcome of the deep (ELF) check of one platform's entrypoint.
#[derive(Debug, Clone, Serialize)]
pub struct Deep {
    pub ok: bool,
    /// One line: "/usr/bin/app is an ELF for AArch64".
    pub summary: String,
}

impl Entry {
    /// The platform this entry stands for: what the index says, else what the config
    /// says.
    pub fn platform(&self) -> Option<&Platform> {
        self.declared.as_ref().or(self.config.as_ref())
    }
}

/// What the targets need of one reference.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Requirements {
    /// Platforms that must be present, each with the targets that need it.
    pub platforms: Vec<(Platform, Vec<String>)>,
    /// The reference must be a plain single-platform image manifest (Lambda, Heroku).
    pub single: bool,
    /// Run the deep check (entries must carry `deep`).
    pub deep: bool,
    /// Docker V2 schema 2 media types are required (a Docker manifest list of Docker
    /// manifests, or a Docker manifest), and by whom: `heroku`, `media_types: docker`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub docker: Option<String>,
    /// With `deep`: every executable ELF file, not only the entrypoint.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub deep_all: bool,
    /// With `deep_all`: paths and globs of files that may be foreign on purpose.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deep_ignore: Vec<String>,
}

impl Requirements {
    /// Whether a target needs `platform` (the deep check looks only at those).
    pub fn needs(&self, platform: &Platform) -> bool {
        self.platforms.iter().any(|(p, _)| p.matches(platform))
    }

    /// Adds `platform` as needed by `why`, merging with a matching one.
    pub fn need(&mut self, platform: Platform, why: impl Into<String>) {
        let why = why.into();
        if let Some((_, list)) = self
            .platforms
            .iter_mut()
            .find(|(p, _)| p.matches(&platform))
        {
            if !list.contains(&why) {
                list.push(why);
            }
        } else {
            self.platforms.push((platform, vec![why]));
        }
    }
}

/// The state of one required platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Status {
    Found,
    Missing,
    /// Present, but something about it is wrong.
    Mismatched {
        reason: String,
    },
}

/// One row of the report: a required platform.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub platform: Platform,
    pub needed_by: Vec<String>,
    #[serde(flatten)]
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deep: Option<Deep>,
}

/// The verdict for one reference.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub reference: String,
    pub digest: String,
    pub kind: &'static str,
    pub rows: Vec<Row>,
    /// Platforms present that no target needs (informational).
    pub extra: Vec<Platform>,
    /// Attestation manifests, listed apart.
    pub attestations: Vec<String>,
    /// Problems not tied to a required platform (an index where a plain manifest is
    /// needed, an extra platform whose config disagrees…).
    pub problems: Vec<String>,
    /// The referrers of its digests (the root, then each platform manifest), those
    /// that have any; `verify` lists them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub referrers: Vec<super::listed::Listed>,
    /// `--require-record`: the verification record that agrees, or why none does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<crate::provenance::check::RecordCheck>,
    /// `--signed-by`: each required digest's signature status per signer.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub signatures: Vec<super::listed::SignatureCheck>,
}

impl Verdict {
    pub fn ok(&self) -> bool {
        self.problems.is_empty() && self.rows.iter().all(|r| r.status == Status::Found)
    }
}

/// Checks what a reference holds against what its targets need: the root's shape and
/// media types, entries falsely annotated as attestations, a row per required platform,
/// then the platforms no target needs; the rules in the order the report gives them.
pub fn check(observed: &Observed, req: &Requirements) -> Verdict {
    let mut problems = Vec::new();
    let (entries, kind): (Vec<&Entry>, &'static str) = match &observed.kind {
        Kind::Index { entries } => (entries.iter().collect(), "index"),
        Kind::Manifest { entry } => (vec![entry], "manifest"),
    };
    shape_problems(observed, req, &entries, kind, &mut problems);
    false_attestations(&entries, &mut problems);
    let images: Vec<&Entry> = entries.iter().copied().filter(|e| !e.attestation).collect();
    let attestations = entries
        .iter()
        .filter(|e| e.attestation)
        .map(|e| e.digest.clone())
        .collect();
    let (rows, used) = required_rows(req, &images);
    let extra = extra_platforms(&images, &used, &mut problems);
    if images.is_empty() {
        problems.push("it holds no image manifest (only attestations)".to_string());
    }
    Verdict {
        reference: observed.reference.clone(),
        digest: observed.digest.clone(),
        kind,
        rows,
        extra,
        attestations,
        problems,
        referrers: Vec::new(),
        record: None,
        signatures: Vec::new(),
    }
}

/// The root's kind (an index where one manifest is needed) and, where Docker media
/// types are needed, the root's and each image entry's.
fn shape_problems(
    observed: &Observed,
    req: &Requirements,
    entries: &[&Entry],
    kind: &str,
    problems: &mut Vec<String>,
) {
    if req.single && kind == "index" {
        problems.push(
            "it is an image index, but its target needs a plain single-platform image manifest (an index is rejected there)"
                .to_string(),
        );
    }
    if let Some(by) = &req.docker {
        use crate::registry::manifest::{DOCKER_LIST, DOCKER_MANIFEST};
        let wanted = if kind == "index" {
            DOCKER_LIST
        } else {
            DOCKER_MANIFEST
        };
        if observed.media_type != wanted {
            problems.push(format!(
                "it has media type {}, but {by} needs Docker V2 schema 2 ({wanted})",
                observed.media_type
            ));
        }
        for e in entries.iter().filter(|e| kind == "index" && !e.attestation) {
            if e.media_type != DOCKER_MANIFEST {
                let label = e
                    .platform()
                    .map(ToString::to_string)
                    .unwrap_or_else(|| e.digest.clone());
                problems.push(format!(
                    "{label}: its manifest has media type {}, but {by} needs {DOCKER_MANIFEST}",
                    e.media_type
                ));
            }
        }
    }
}

/// Entries annotated as attestation manifests that are not one.
fn false_attestations(entries: &[&Entry], problems: &mut Vec<String>) {
    for (i, e) in entries.iter().enumerate() {
        if let Some(why) = &e.false_attestation {
            problems.push(format!(
                "index entry {} ({}, {}) is annotated as an attestation manifest (vnd.docker.reference.type: attestation-manifest) but {why}; an attestation's platform is unknown/unknown: rebuild the image, or fix what wrote this index",
                i + 1,
                e.digest,
                e.declared
                    .as_ref()
                    .map_or_else(|| "no platform".to_string(), ToString::to_string)
            ));
        }
    }
}

/// Check 3 for every image entry: the config agrees with the index entry.
fn consistency(e: &Entry) -> Option<String> {
    match (&e.declared, &e.config) {
        (Some(d), Some(c)) if !d.matches(c) => Some(format!(
            "the index entry says {d} but its image config says {c}"
        )),
        (_, None) => Some("its image config could not be read".into()),
        _ => None,
    }
}

/// A row per required platform: missing, or found (consistent, and deep-checked when
/// asked) or mismatched; and the digests those rows used.
fn required_rows(req: &Requirements, images: &[&Entry]) -> (Vec<Row>, Vec<String>) {
    let mut rows = Vec::new();
    let mut used = Vec::new();
    for (platform, needed_by) in &req.platforms {
        let found = images
            .iter()
            .find(|e| e.platform().is_some_and(|p| p.matches(platform)));
        let row = match found {
            None => Row {
                platform: platform.clone(),
                needed_by: needed_by.clone(),
                status: Status::Missing,
                digest: None,
                deep: None,
            },
            Some(e) => {
                used.push(e.digest.clone());
                let status = if let Some(reason) = consistency(e) {
                    Status::Mismatched { reason }
                } else if req.deep {
                    match &e.deep {
                        Some(d) if d.ok => Status::Found,
                        Some(d) => Status::Mismatched {
                            reason: d.summary.clone(),
                        },
                        None => Status::Mismatched {
                            reason: "the deep check did not run".into(),
                        },
                    }
                } else {
                    Status::Found
                };
                Row {
                    platform: platform.clone(),
                    needed_by: needed_by.clone(),
                    status,
                    digest: Some(e.digest.clone()),
                    deep: e.deep.clone(),
                }
            }
        };
        rows.push(row);
    }
    (rows, used)
}

/// The platforms of the image entries no row used (no target needs them), and any of
/// those entries whose config disagrees with the index.
fn extra_platforms(
    images: &[&Entry],
    used: &[String],
    problems: &mut Vec<String>,
) -> Vec<Platform> {
    let mut extra = Vec::new();
    for e in images {
        if used.contains(&e.digest) {
            continue;
        }
        if let Some(p) = e.platform()
            && !extra.contains(p)
        {
            extra.push(p.clone());
        }
        if let Some(reason) = consistency(e) {
            let label = e
                .platform()
                .map(ToString::to_string)
                .unwrap_or_else(|| e.digest.clone());
            problems.push(format!("{label}: {reason}"));
        }
        // The deep check is about the platforms the targets need: an index that also
        // holds windows or s390x entries does not fail a linux/amd64 target.
    }
    extra
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Platform {
        Platform::parse(s).unwrap()
    }

    fn entry(declared: &str, config: &str) -> Entry {
        Entry {
            digest: format!("sha256:{declared}"),
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            declared: Some(Platform {
                os: declared.split('/').next().unwrap().into(),
                architecture: declared.split('/').nth(1).unwrap().into(),
                variant: declared.split('/').nth(2).unwrap_or("").into(),
            }),
            attestation: false,
            false_attestation: None,
            config: Some(p(config)),
            deep: None,
        }
    }

    fn attestation(n: u8) -> Entry {
        Entry {
            digest: format!("sha256:att{n}"),
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            declared: Some(Platform::new("unknown", "unknown", "")),
            attestation: true,
            false_attestation: None,
            config: None,
            deep: None,
        }
    }

    fn index(entries: Vec<Entry>) -> Observed {
        Observed {
            reference: "r/x:latest".into(),
            digest: "sha256:idx".into(),
            media_type: "application/vnd.oci.image.index.v1+json".into(),
            kind: Kind::Index { entries },
        }
    }

    fn req(platforms: &[&str]) -> Requirements {
        let mut r = Requirements::default();
        for s in platforms {
            r.need(p(s), "test");
        }
        r
    }

    #[test]
    fn all_present_with_attestations_listed_apart() {
        let o = index(vec![
            entry("linux/amd64", "linux/amd64"),
            entry("linux/arm64", "linux/arm64"),
            attestation(1),
            attestation(2),
        ]);
        let v = check(&o, &req(&["linux/amd64", "linux/arm64"]));
        assert!(v.ok(), "{v:?}");
        assert_eq!(v.attestations.len(), 2);
        assert!(v.extra.is_empty());
    }

    #[test]
    fn arm64_v8_matches_arm64() {
        let o = index(vec![entry("linux/arm64/v8", "linux/arm64")]);
        assert!(check(&o, &req(&["linux/arm64"])).ok());
    }

    #[test]
    fn missing_platform_fails_and_attestations_do_not_count() {
        let o = index(vec![entry("linux/arm64", "linux/arm64"), attestation(1)]);
        let v = check(&o, &req(&["linux/amd64"]));
        assert!(!v.ok());
        assert_eq!(v.rows[0].status, Status::Missing);
        assert_eq!(v.extra, vec![p("linux/arm64")]);
    }

    #[test]
    fn config_disagreeing_with_the_index_is_a_mismatch() {
        let o = index(vec![
            entry("linux/amd64", "linux/amd64"),
            entry("linux/arm64", "linux/amd64"),
        ]);
        let v = check(&o, &req(&["linux/amd64", "linux/arm64"]));
        assert!(!v.ok());
        assert!(
            matches!(&v.rows[1].status, Status::Mismatched { reason } if reason.contains("image config says linux/amd64"))
        );
        // The same lie on a platform nobody needs is still reported.
        let v = check(&o, &req(&["linux/amd64"]));
        assert!(!v.ok());
        assert!(
            v.problems[0].starts_with("linux/arm64:"),
            "{:?}",
            v.problems
        );
    }

    #[test]
    fn single_manifest_targets_refuse_an_index() {
        let mut r = req(&["linux/arm64"]);
        r.single = true;
        let o = index(vec![entry("linux/arm64", "linux/arm64")]);
        let v = check(&o, &r);
        assert!(!v.ok());
        assert!(v.problems[0].contains("needs a plain single-platform image manifest"));
        let plain = Observed {
            reference: "r/x:v1-lambda".into(),
            digest: "sha256:m".into(),
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            kind: Kind::Manifest {
                entry: Box::new(Entry {
                    declared: None,
                    ..entry("linux/arm64", "linux/arm64")
                }),
            },
        };
        assert!(check(&plain, &r).ok());
        let wrong = Observed {
            kind: Kind::Manifest {
                entry: Box::new(Entry {
                    declared: None,
                    ..entry("linux/amd64", "linux/amd64")
                }),
            },
            ..plain
        };
        let v = check(&wrong, &r);
        assert_eq!(v.rows[0].status, Status::Missing);
    }

    #[test]
    fn deep_results_decide_when_asked() {
        let mut e = entry("linux/arm64", "linux/arm64");
        e.deep = Some(Deep {
            ok: false,
            summary: "/app is an ELF for x86-64, but the platform is linux/arm64".into(),
        });
        let o = index(vec![e]);
        assert!(check(&o, &req(&["linux/arm64"])).ok(), "not asked: passes");
        let mut r = req(&["linux/arm64"]);
        r.deep = true;
        let v = check(&o, &r);
        assert!(!v.ok());
        assert!(
            matches!(&v.rows[0].status, Status::Mismatched { reason } if reason.contains("x86-64"))
        );
    }

    #[test]
    fn deep_results_of_platforms_no_target_needs_do_not_fail() {
        let mut amd = entry("linux/amd64", "linux/amd64");
        amd.deep = Some(Deep {
            ok: true,
            summary: "/app is an ELF for x86-64".into(),
        });
        let mut s390x = entry("linux/s390x", "linux/s390x");
        s390x.deep = Some(Deep {
            ok: false,
            summary: "/app is an ELF for x86-64, but the platform is linux/s390x".into(),
        });
        let o = index(vec![amd, s390x, entry("windows/amd64", "windows/amd64")]);
        let mut r = req(&["linux/amd64"]);
        r.deep = true;
        let v = check(&o, &r);
        assert!(v.ok(), "{v:?}");
        assert_eq!(v.extra, vec![p("linux/s390x"), p("windows/amd64")]);
    }

    #[test]
    fn docker_media_types_are_checked_when_a_target_requires_them() {
        use crate::registry::manifest::{DOCKER_LIST, DOCKER_MANIFEST};
        let mut r = req(&["linux/amd64"]);
        r.single = true;
        r.docker = Some("heroku".into());
        let plain = |media_type: &str| Observed {
            reference: "r/x:v1-heroku".into(),
            digest: "sha256:m".into(),
            media_type: media_type.into(),
            kind: Kind::Manifest {
                entry: Box::new(Entry {
                    declared: None,
                    media_type: media_type.into(),
                    ..entry("linux/amd64", "linux/amd64")
                }),
            },
        };
        assert!(check(&plain(DOCKER_MANIFEST), &r).ok());
        let v = check(&plain("application/vnd.oci.image.manifest.v1+json"), &r);
        assert!(!v.ok());
        assert_eq!(
            v.problems,
            vec![format!(
                "it has media type application/vnd.oci.image.manifest.v1+json, but heroku needs Docker V2 schema 2 ({DOCKER_MANIFEST})"
            )]
        );
        // Not required: either passes.
        r.docker = None;
        assert!(check(&plain("application/vnd.oci.image.manifest.v1+json"), &r).ok());
        // An index for `media_types: docker`: a Docker list of Docker manifests.
        let mut r = req(&["linux/amd64"]);
        r.docker = Some("media_types: docker".into());
        let mut list = index(vec![Entry {
            media_type: DOCKER_MANIFEST.into(),
            ..entry("linux/amd64", "linux/amd64")
        }]);
        list.media_type = DOCKER_LIST.into();
        assert!(check(&list, &r).ok());
        let v = check(&index(vec![entry("linux/amd64", "linux/amd64")]), &r);
        assert_eq!(v.problems.len(), 2, "{:?}", v.problems);
        assert!(v.problems[1].starts_with(
            "linux/amd64: its manifest has media type application/vnd.oci.image.manifest.v1+json"
        ));
    }

    #[test]
    fn an_index_of_only_attestations_holds_nothing() {
        let o = index(vec![attestation(1)]);
        let v = check(&o, &Requirements::default());
        assert!(!v.ok());
    }
}

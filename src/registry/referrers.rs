//! OCI 1.1 referrers: manifests whose `subject` names another manifest (attestations,
//! signatures, mpbuild's verification record), listed per subject digest. A registry
//! with the referrers API keeps that list itself (`GET /v2/NAME/referrers/DIGEST`, and
//! `OCI-Subject` in its answer to the PUT of a manifest with a `subject`). For one
//! without it, the clients keep the list: an image index under the referrers tag
//! schema's tag (`sha256-HEX`), read, merged with the new entry — every other tool's
//! entry kept byte for byte — written back and read back. Which of the two a registry
//! has is learnt once per run (`Client::referrers_api`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use ureq::http::StatusCode;

use super::auth::pull_scopes;
use super::client::{Client, http_error};
use super::error::RegistryError;
use super::http::{Body, Method, header, redact_url};
use super::manifest::{Descriptor, MAX_INDEX_ENTRIES, Manifest, OCI_INDEX, OCI_MANIFEST};
use super::manifests::{MANIFEST_LIMIT, read_limited};
use super::reference::{Reference, Repository};
use crate::digest::Digest;

/// The empty descriptor's content (`{}`), the config of an artifact without one.
pub const EMPTY_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";
pub const EMPTY_JSON: &[u8] = b"{}";
pub const EMPTY_DIGEST: &str =
    "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

/// How many times a referrers tag is merged and written again when another client
/// changed it between the read and the write.
const TAG_ATTEMPTS: usize = 4;

/// Where a registry keeps an image's referrers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Via {
    /// The registry's referrers API.
    Api,
    /// An index under the referrers tag schema's tag, kept by clients.
    TagSchema,
}

impl Via {
    /// For reports: how the list was read or written.
    pub fn describe(self) -> &'static str {
        match self {
            Via::Api => "the registry's referrers API",
            Via::TagSchema => "the referrers tag schema (the registry has no referrers API)",
        }
    }
}

/// The referrers of one digest, as the registry (or the tag schema's index) lists them.
#[derive(Debug, Clone)]
pub struct Referrers {
    pub via: Via,
    pub manifests: Vec<Descriptor>,
}

/// The referrers tag schema's tag for `digest`: the algorithm cut to 32 characters, `-`,
/// the encoded part cut to 64, every character a tag cannot hold replaced by `-`.
pub fn tag_for(digest: &str) -> String {
    let (algorithm, encoded) = digest.split_once(':').unwrap_or(("", digest));
    let cut = |s: &str, n: usize| s.chars().take(n).collect::<String>();
    format!("{}-{}", cut(algorithm, 32), cut(encoded, 64))
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// An OCI 1.1 artifact: an image manifest with an `artifactType`, the empty config, its
/// layers (blobs the caller put), and the `subject` it refers to.
#[derive(Debug, Clone)]
pub struct Artifact {
    pub artifact_type: String,
    pub layers: Vec<Descriptor>,
    /// The manifest it refers to: media type, digest and size are written.
    pub subject: Descriptor,
    pub annotations: BTreeMap<String, String>,
}

impl Artifact {
    /// The manifest's bytes: the same artifact always gives the same bytes (and digest).
    pub fn bytes(&self) -> Vec<u8> {
        let mut doc = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": self.artifact_type,
            "config": {"mediaType": EMPTY_MEDIA_TYPE, "digest": EMPTY_DIGEST, "size": EMPTY_JSON.len()},
            "layers": self.layers,
            "subject": {
                "mediaType": self.subject.media_type,
                "digest": self.subject.digest,
                "size": self.subject.size,
            },
        });
        if !self.annotations.is_empty() {
            doc["annotations"] = json!(self.annotations);
        }
        serde_json::to_vec(&doc).expect("an artifact serialises")
    }

    /// Its entry in a referrers list: media type, digest, size, artifactType and the
    /// manifest's annotations (as the distribution spec says a list gives them).
    pub fn descriptor(&self, bytes: &[u8]) -> Descriptor {
        Descriptor {
            media_type: OCI_MANIFEST.into(),
            digest: crate::digest::sha256(bytes),
            size: bytes.len() as u64,
            platform: None,
            artifact_type: Some(self.artifact_type.clone()),
            annotations: self.annotations.clone(),
        }
    }
}

/// The fields of a manifest that make it a referrer, read from its bytes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Referring {
    #[serde(default)]
    pub media_type: Option<String>,
    #[serde(default)]
    pub artifact_type: Option<String>,
    #[serde(default)]
    pub config: Option<Descriptor>,
    #[serde(default)]
    pub subject: Option<Descriptor>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

impl Referring {
    /// Reads them from a manifest's bytes (None: not a JSON object).
    pub fn of(bytes: &[u8]) -> Option<Referring> {
        serde_json::from_slice(bytes).ok()
    }

    /// The entry a referrers list gives a manifest with these fields: its artifactType,
    /// else its config's media type (for an image manifest), and its annotations.
    pub fn entry(&self, media_type: &str, digest: &str, size: u64) -> Descriptor {
        let artifact_type = self.artifact_type.clone().or_else(|| {
            (!super::manifest::is_index(media_type))
                .then(|| self.config.as_ref().map(|c| c.media_type.clone()))
                .flatten()
        });
        Descriptor {
            media_type: media_type.to_string(),
            digest: digest.to_string(),
            size,
            platform: None,
            artifact_type,
            annotations: self.annotations.clone(),
        }
    }
}

impl Client {
    /// The referrers of `digest` in `repo`: through the referrers API when the registry
    /// has it, else from the referrers tag schema's index (none when there is no such
    /// tag). At most [`MAX_INDEX_ENTRIES`] entries are read.
    pub fn referrers(&self, repo: &Repository, digest: &str) -> Result<Referrers, RegistryError> {
        if self.known_api(repo) != Some(false) {
            let listed = self.referrers_by_api(repo, digest)?;
            self.learn_api(repo, listed.is_some());
            if let Some(manifests) = listed {
                return Ok(Referrers {
                    via: Via::Api,
                    manifests,
                });
            }
        }
        let manifests = match self.tag_index(repo, digest)? {
            Some(Manifest::Index { manifests, .. }) => manifests,
            _ => Vec::new(),
        };
        Ok(Referrers {
            via: Via::TagSchema,
            manifests,
        })
    }

    /// Puts `artifact` (its layers already in `repo`) by digest, with the empty config,
    /// and makes it one of its subject's referrers; returns its digest and how.
    pub fn put_artifact(
        &self,
        repo: &Repository,
        artifact: &Artifact,
    ) -> Result<(Digest, Via), RegistryError> {
        let mut done = self.put_artifacts(repo, std::slice::from_ref(artifact))?;
        Ok(done.remove(0))
    }

    /// Puts artifacts of one subject (their layers already in `repo`), and makes them
    /// its referrers: where the registry does not keep the list, one merge of the tag
    /// schema's index adds them all. Returns each one's digest and how, in order.
    pub fn put_artifacts(
        &self,
        repo: &Repository,
        artifacts: &[Artifact],
    ) -> Result<Vec<(Digest, Via)>, RegistryError> {
        let Some(first) = artifacts.first() else {
            return Ok(Vec::new());
        };
        let subject = &first.subject.digest;
        debug_assert!(artifacts.iter().all(|a| &a.subject.digest == subject));
        self.put_blob_bytes(repo, EMPTY_JSON)?;
        let mut out = Vec::new();
        let mut unlisted = Vec::new();
        for a in artifacts {
            let bytes = a.bytes();
            let entry = a.descriptor(&bytes);
            let listed = self.put_listed(repo, OCI_MANIFEST, &bytes, &entry, subject)?;
            out.push((Digest::sha256(&bytes), Via::Api));
            if !listed {
                unlisted.push((out.len() - 1, entry));
            }
        }
        if !unlisted.is_empty() {
            let entries: Vec<Descriptor> = unlisted.iter().map(|(_, e)| e.clone()).collect();
            self.add_to_tag_schema(repo, subject, &entries)?;
            for (i, _) in unlisted {
                out[i].1 = Via::TagSchema;
            }
        }
        Ok(out)
    }

    /// Puts a manifest whose `subject` is `subject` by its digest (`entry.digest`;
    /// everything it names already in `repo`), then makes it listed among `subject`'s
    /// referrers: done by the registry when it answers with `OCI-Subject`, else merged
    /// into the referrers tag schema's index. Writing the same referrer again changes
    /// nothing.
    pub fn put_referrer(
        &self,
        repo: &Repository,
        media_type: &str,
        bytes: &[u8],
        entry: &Descriptor,
        subject: &str,
    ) -> Result<Via, RegistryError> {
        if self.put_listed(repo, media_type, bytes, entry, subject)? {
            return Ok(Via::Api);
        }
        self.add_to_tag_schema(repo, subject, std::slice::from_ref(entry))?;
        Ok(Via::TagSchema)
    }

    /// Puts a referrer by its digest; whether the registry listed it itself (it
    /// answered with `OCI-Subject: SUBJECT`).
    fn put_listed(
        &self,
        repo: &Repository,
        media_type: &str,
        bytes: &[u8],
        entry: &Descriptor,
        subject: &str,
    ) -> Result<bool, RegistryError> {
        let (digest, answered) =
            self.put_manifest_answer(repo, &entry.digest, media_type, bytes)?;
        if digest != entry.digest {
            return Err(RegistryError::DigestMismatch {
                registry: repo.registry.clone(),
                reference: format!("{repo}@{}", entry.digest),
                expected: entry.digest.clone(),
                actual: digest.into(),
            });
        }
        let listed = answered.as_deref() == Some(subject);
        if listed {
            self.learn_api(repo, true);
        }
        Ok(listed)
    }

    /// Whether `repo`'s registry is known to have the referrers API (None: not asked yet).
    fn known_api(&self, repo: &Repository) -> Option<bool> {
        self.referrers_api
            .lock()
            .unwrap()
            .get(&repo.registry)
            .copied()
    }

    fn learn_api(&self, repo: &Repository, has: bool) {
        self.referrers_api
            .lock()
            .unwrap()
            .insert(repo.registry.clone(), has);
    }

    /// The referrers API's list (every page, `Link: <…>; rel="next"`), or None when the
    /// registry answers 404: it has no such API.
    fn referrers_by_api(
        &self,
        repo: &Repository,
        digest: &str,
    ) -> Result<Option<Vec<Descriptor>>, RegistryError> {
        let subject = Reference {
            repository: repo.clone(),
            tag: None,
            digest: Some(digest.to_string()),
        };
        let mut url = format!("{}/referrers/{digest}", self.transport.base(repo));
        let mut out: Vec<Descriptor> = Vec::new();
        for page in 0.. {
            let mut resp = self.request(
                repo,
                &pull_scopes(repo),
                Method::Get,
                &url,
                &[("Accept", OCI_INDEX)],
                &Body::Empty,
            )?;
            let status = resp.status();
            if status == StatusCode::NOT_FOUND && page == 0 {
                return Ok(None);
            }
            if !status.is_success() {
                return Err(http_error(repo, "GET", &url, &mut resp));
            }
            let next = header(&resp, "link").and_then(|l| next_link(&l));
            let bytes = read_limited(&mut resp, MANIFEST_LIMIT, &subject, &url).map_err(|e| {
                self.interrupted(repo, || format!("GET {}", redact_url(&url)))
                    .unwrap_or(e)
            })?;
            let list: ListPage =
                serde_json::from_slice(&bytes).map_err(|e| RegistryError::BadManifest {
                    registry: repo.registry.clone(),
                    reference: format!("referrers of {subject}"),
                    message: format!(
                        "the referrers API answered with something that is not an image index: {e}"
                    ),
                })?;
            out.extend(list.manifests);
            if out.len() > MAX_INDEX_ENTRIES {
                return Err(RegistryError::TooManyEntries {
                    registry: repo.registry.clone(),
                    reference: format!("referrers of {subject}"),
                    count: out.len(),
                    limit: MAX_INDEX_ENTRIES,
                });
            }
            match next {
                Some(n) => url = self.absolute(repo, &n),
                None => break,
            }
        }
        Ok(Some(out))
    }

    /// The referrers tag schema's index for `digest`, parsed (None: no such tag).
    fn tag_index(
        &self,
        repo: &Repository,
        digest: &str,
    ) -> Result<Option<Manifest>, RegistryError> {
        Ok(self.tag_index_raw(repo, digest)?.map(|(m, _)| m))
    }

    /// The referrers tag's manifest, parsed and as bytes; one that is not an index is
    /// an error (it is some other tool's, and mpbuild does not write over it).
    fn tag_index_raw(
        &self,
        repo: &Repository,
        digest: &str,
    ) -> Result<Option<(Manifest, Vec<u8>)>, RegistryError> {
        let r = Reference {
            repository: repo.clone(),
            tag: Some(tag_for(digest)),
            digest: None,
        };
        let fetched = match self.get_manifest(&r) {
            Ok(f) => f,
            Err(RegistryError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        if !matches!(fetched.manifest, Manifest::Index { .. }) {
            return Err(RegistryError::BadManifest {
                registry: repo.registry.clone(),
                reference: r.to_string(),
                message: format!(
                    "the referrers tag holds a {}, not an image index listing referrers; mpbuild neither reads nor overwrites it (remove or rename that tag if nothing needs it)",
                    fetched.media_type
                ),
            });
        }
        Ok(Some((fetched.manifest, fetched.bytes)))
    }

    /// Adds `entries` to the referrers tag schema's index of `subject`: the index read,
    /// each entry appended unless it is there (every other entry kept as it was
    /// written), put under the tag, and the tag read back; when another client wrote
    /// the tag in between, merged again.
    fn add_to_tag_schema(
        &self,
        repo: &Repository,
        subject: &str,
        entries: &[Descriptor],
    ) -> Result<(), RegistryError> {
        let tag = tag_for(subject);
        for _ in 0..TAG_ATTEMPTS {
            let mut doc = match self.tag_index_raw(repo, subject)? {
                Some((_, bytes)) => {
                    serde_json::from_slice::<Value>(&bytes).unwrap_or_else(|_| empty_index())
                }
                None => empty_index(),
            };
            if !doc["manifests"].is_array() {
                doc["manifests"] = json!([]);
            }
            let list = doc["manifests"].as_array_mut().expect("made an array");
            let missing: Vec<&Descriptor> = entries
                .iter()
                .filter(|n| !list.iter().any(|e| e["digest"].as_str() == Some(&n.digest)))
                .collect();
            if missing.is_empty() {
                return Ok(());
            }
            for n in missing {
                list.push(serde_json::to_value(n).expect("a descriptor serialises"));
            }
            let media_type = doc["mediaType"].as_str().unwrap_or(OCI_INDEX).to_string();
            let bytes = serde_json::to_vec(&doc).expect("an index serialises");
            let put = self.put_manifest(repo, &tag, &media_type, &bytes)?;
            if self.tag_digest(repo, &tag)?.as_deref() == Some(put.as_str()) {
                return Ok(());
            }
        }
        Err(RegistryError::Contended {
            registry: repo.registry.clone(),
            reference: format!("{repo}:{tag}"),
            message: format!(
                "the referrers tag changed under each of {TAG_ATTEMPTS} writes of {} referrer(s) (another client writes it at the same time), so they are not listed",
                entries.len()
            ),
            hint: "run again; a registry with the referrers API keeps the list itself".into(),
        })
    }
}

fn empty_index() -> Value {
    json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []})
}

/// One page of the referrers API's answer.
#[derive(Deserialize)]
struct ListPage {
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

/// The `rel="next"` target of a `Link` header (RFC 5988), if it has one.
fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|link| {
        let (target, params) = link.split_once(';')?;
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        params
            .split(';')
            .any(|p| {
                p.trim()
                    .strip_prefix("rel=")
                    .is_some_and(|v| v.trim_matches('"') == "next")
            })
            .then(|| target.to_string())
    })
}

#[cfg(test)]
mod tests;

//! `verify --require-record`: a verification record exists among the referrers of the
//! digest a reference resolves to now, and agrees with what the registry holds there.
//! The referrers list (the registry's, or a tag schema index anyone can write) is
//! only where to look: each candidate's manifest and statement are read by digest
//! (checked), its `subject` must be that digest, and the statement must name it and
//! list exactly the platform manifests the index holds now.

use serde::Serialize;

use super::IN_TOTO;
use super::PREDICATE_ANNOTATION;
use super::record::{PREDICATE_TYPE, RECORD_LIMIT, Statement, is_record_entry};
use crate::platform::Platform;
use crate::registry::manifest::{Descriptor, Manifest};
use crate::registry::referrers::Referring;
use crate::registry::{Client, Fetched, Reference, Referrers, RegistryError};

/// How many records of one digest are read, newest first, looking for one that agrees.
const MAX_CANDIDATES: usize = 10;

/// What `--require-record` found for one reference.
#[derive(Debug, Clone, Serialize)]
pub struct RecordCheck {
    /// The referrer manifest of the record that agrees, when one does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_commit: Option<String>,
    /// Why no record agrees (none when one does).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// The record's statement, when one agrees (the gate compares an attested
    /// predicate with it).
    #[serde(skip)]
    pub statement: Option<Box<Statement>>,
}

impl RecordCheck {
    pub fn ok(&self) -> bool {
        self.problem.is_none()
    }

    fn failed(problem: String) -> RecordCheck {
        RecordCheck {
            record: None,
            verified_at: None,
            source_commit: None,
            problem: Some(problem),
            statement: None,
        }
    }
}

/// Looks for a verification record of `root` (what `reference` resolved to) among
/// `listed`, its referrers.
pub fn check(
    client: &Client,
    reference: &Reference,
    root: &Fetched,
    listed: &Referrers,
) -> Result<RecordCheck, RegistryError> {
    let mut candidates: Vec<&Descriptor> = listed
        .manifests
        .iter()
        .filter(|d| is_record_entry(d))
        .collect();
    if candidates.is_empty() {
        return Ok(RecordCheck::failed(format!(
            "no verification record among the referrers of {}, listed through {}: it was not pushed by mpbuild (or by one before records), or its tag was moved to another image since",
            root.digest,
            listed.via.describe()
        )));
    }
    // Newest first: RFC 3339 UTC times sort as text.
    candidates.sort_by(|a, b| created(b).cmp(created(a)));
    let mut problems = Vec::new();
    for d in candidates.into_iter().take(MAX_CANDIDATES) {
        match read(client, reference, root, &d.digest)? {
            Ok(s) => {
                return Ok(RecordCheck {
                    record: Some(d.digest.clone()),
                    verified_at: Some(s.predicate.verified_at.clone()),
                    source_commit: s.predicate.source_commit.clone(),
                    problem: None,
                    statement: Some(Box::new(s)),
                });
            }
            Err(why) => problems.push(format!("the record {}: {why}", d.digest)),
        }
    }
    Ok(RecordCheck::failed(format!(
        "no verification record of {} agrees with what the registry holds now; {}",
        root.digest,
        problems.join("; ")
    )))
}

fn created(d: &Descriptor) -> &str {
    d.annotations
        .get("org.opencontainers.image.created")
        .map_or("", String::as_str)
}

/// Reads one record (the referrer manifest `digest`): its manifest and statement by
/// digest, checked; the statement, or why it is not a record of `root`.
pub fn read(
    client: &Client,
    reference: &Reference,
    root: &Fetched,
    digest: &str,
) -> Result<Result<Statement, String>, RegistryError> {
    let repo = &reference.repository;
    let manifest = match client.get_manifest(&reference.with_target(digest)) {
        Ok(m) => m,
        Err(RegistryError::NotFound { .. }) => {
            return Ok(Err("listed, but not in the registry".into()));
        }
        Err(e) => return Err(e),
    };
    let referring = Referring::of(&manifest.bytes).unwrap_or_default();
    let subject = referring.subject.as_ref().map(|s| s.digest.as_str());
    if subject != Some(root.digest.as_str()) {
        return Ok(Err(format!(
            "its subject is {}, not {}",
            subject.unwrap_or("missing"),
            root.digest
        )));
    }
    let Manifest::Image { layers, .. } = &manifest.manifest else {
        return Ok(Err(
            "it is an index, not an artifact holding a statement".into()
        ));
    };
    let Some(layer) = layers.iter().find(|l| {
        l.media_type == IN_TOTO
            && l.annotations.get(PREDICATE_ANNOTATION).map(String::as_str) == Some(PREDICATE_TYPE)
    }) else {
        return Ok(Err(
            "it holds no statement of mpbuild's predicate type".into()
        ));
    };
    let bytes = client.get_blob_bytes(repo, &layer.digest, RECORD_LIMIT)?;
    let statement = match Statement::parse(&bytes) {
        Ok(s) => s,
        Err(why) => return Ok(Err(why)),
    };
    Ok(agrees(&statement, root).map(|()| statement))
}

/// Whether `s` is a record of `root` as the registry holds it now: it names the
/// digest, and for an index lists exactly the platform manifests the index holds.
pub fn agrees(s: &Statement, root: &Fetched) -> Result<(), String> {
    let d = root.digest.as_str();
    if !s.names(d) {
        return Err(format!("its statement's subject does not name {d}"));
    }
    let p = &s.predicate;
    match &root.manifest {
        Manifest::Index { manifests, .. } => {
            if p.digest != d {
                return Err(format!("it records the index {}, not {d}", p.digest));
            }
            let runnable: Vec<&Descriptor> = manifests
                .iter()
                .filter(|e| !e.in_attestation_slot())
                .collect();
            for e in &runnable {
                let listed = p.platforms.iter().any(|r| {
                    r.digest == e.digest
                        && Platform::parse(&r.platform).is_ok_and(|rp| {
                            e.platform
                                .as_ref()
                                .is_some_and(|ep| ep.platform().matches(&rp))
                        })
                });
                if !listed {
                    return Err(format!(
                        "{d} holds {} {}, which the record does not list: this index is not the one that was verified",
                        e.platform_label(),
                        e.digest
                    ));
                }
            }
            if let Some(r) = p
                .platforms
                .iter()
                .find(|r| !runnable.iter().any(|e| e.digest == r.digest))
            {
                return Err(format!(
                    "it lists {} {}, which {d} does not hold",
                    r.platform, r.digest
                ));
            }
        }
        Manifest::Image { .. } => {
            let known = p.digest == d
                || p.platforms.iter().any(|r| r.digest == d)
                || p.tags.iter().any(|t| t.digest == d);
            if !known {
                return Err(format!("its predicate does not name {d}"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;

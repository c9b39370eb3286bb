//! The attest stage, after verify and smoke and before any tag moves: each candidate's
//! provenance published as OCI 1.1 referrers. buildx's attestations that left its
//! index (`attestations: referrers`) become referrers of their platform manifests — and
//! of the manifests a Docker media-types tag gets, converted from them — and mpbuild's
//! verification record becomes a referrer of the index and of every platform manifest.
//! Referrers of one subject go in one write of its referrers list; the subjects are
//! written a few at a time. A failure here moves no tag.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::candidate::Candidate;
use super::smoke::SmokeResult;
use super::verify::VerifiedImage;
use crate::config::AttestationMode;
use crate::provenance::attestations;
use crate::provenance::record::Statement;
use crate::registry::manifest::{Descriptor, Manifest};
use crate::registry::{Artifact, Client, Fetched, Repository, Via};
use crate::verify::pool;

mod predicate;

/// What the stage needs besides the candidates.
pub struct Attest<'a> {
    pub client: &'a Client,
    /// The buildx builder this run built with (`NAME (DRIVER)`), for the record.
    pub builder: Option<String>,
    /// The project's source commit, for the record.
    pub source_commit: Option<String>,
    /// `--deep` on top of each image's own setting.
    pub deep: bool,
}

/// A referrer the stage put (or, for a reused image, the record it found).
#[derive(Debug, Clone, Serialize)]
pub struct Published {
    /// `provenance` (an attestation buildx made) or `record` (mpbuild's).
    pub kind: &'static str,
    /// What it refers to: `index`, a platform, or a tag whose manifest is its own.
    pub of: String,
    pub subject: String,
    pub digest: String,
    pub artifact_type: String,
    pub via: Via,
    /// A record already there and agreeing (the same digest pushed before): nothing
    /// was written.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub kept: bool,
}

/// One referrer to put.
struct Item {
    kind: &'static str,
    of: String,
    artifact: Artifact,
}

/// Publishes each candidate's provenance, in order; per candidate what was put and how
/// long it took. Stops at the first that cannot be written.
pub fn attest_all(
    a: &Attest,
    checked: &[(&Candidate, &VerifiedImage)],
    smoke: &[SmokeResult],
) -> anyhow::Result<Vec<(Vec<Published>, Duration)>> {
    let mut out = Vec::with_capacity(checked.len());
    for (c, v) in checked {
        if crate::cancel::requested() {
            return Err(crate::exit::Interrupted.into());
        }
        let t = Instant::now();
        let published = attest(a, c, v, smoke).map_err(|e| {
            e.context(format!(
                "{}: its provenance could not be pushed as referrers of {}",
                c.image.name,
                c.reference()
            ))
        })?;
        out.push((published, t.elapsed()));
    }
    Ok(out)
}

/// Publishes one candidate's provenance.
fn attest(
    a: &Attest,
    c: &Candidate,
    v: &VerifiedImage,
    smoke: &[SmokeResult],
) -> anyhow::Result<Vec<Published>> {
    let Some(root) = &v.root else {
        return Ok(Vec::new());
    };
    if c.image.attestations_mode == AttestationMode::Off {
        return Ok(Vec::new());
    }
    let repo = &c.image.repository;
    let subjects = subjects(root, v);
    let mut items = Vec::new();
    for d in &c.attestations {
        let att = a.client.get_manifest(&repo.at_digest(&d.entry.digest))?;
        for s in subjects.iter().filter(|s| s.made_from == d.subject.digest) {
            let converted =
                (s.descriptor.digest != d.subject.digest).then_some(d.subject.digest.as_str());
            if let Some(artifact) = attestations::artifact(&att.manifest, &s.descriptor, converted)
            {
                items.push(Item {
                    kind: "provenance",
                    of: s.label.clone(),
                    artifact,
                });
            }
        }
    }
    let mut out = Vec::new();
    // A digest that already has a record agreeing with it keeps it: a second push or
    // merge of the same digest adds nothing to its referrers.
    let kept = kept_record(a.client, repo, root)?;
    match kept {
        Some(k) => out.push(k),
        None => {
            let facts = predicate::Facts {
                builder: a.builder.as_deref(),
                source_commit: a.source_commit.as_deref(),
                deep: a.deep,
            };
            let statement = Statement::new(predicate::of(&facts, c, v, root, smoke));
            let bytes = statement.bytes();
            let layer = a.client.put_blob_bytes(repo, &bytes)?;
            for s in &subjects {
                items.push(Item {
                    kind: "record",
                    of: s.label.clone(),
                    artifact: statement.artifact(&s.descriptor, &layer, bytes.len() as u64),
                });
            }
        }
    }
    out.extend(put_grouped(a.client, repo, items)?);
    Ok(out)
}

/// Puts `items`, those of one subject together (one write of its referrers list), the
/// subjects a few at a time.
fn put_grouped(
    client: &Client,
    repo: &Repository,
    items: Vec<Item>,
) -> anyhow::Result<Vec<Published>> {
    let mut groups: Vec<Vec<Item>> = Vec::new();
    for item in items {
        match groups
            .iter_mut()
            .find(|g| g[0].artifact.subject.digest == item.artifact.subject.digest)
        {
            Some(g) => g.push(item),
            None => groups.push(vec![item]),
        }
    }
    let done = pool::try_map(&groups, pool::WORKERS, |g| {
        let artifacts: Vec<Artifact> = g.iter().map(|i| i.artifact.clone()).collect();
        client.put_artifacts(repo, &artifacts)
    })?;
    let mut out = Vec::new();
    for (g, done) in groups.iter().zip(done) {
        for (i, (digest, via)) in g.iter().zip(done) {
            out.push(Published {
                kind: i.kind,
                of: i.of.clone(),
                subject: i.artifact.subject.digest.clone(),
                digest: digest.to_string(),
                artifact_type: i.artifact.artifact_type.clone(),
                via,
                kept: false,
            });
        }
    }
    // Provenance first, then the record; each in the order of the subjects.
    out.sort_by_key(|p| p.kind != "provenance");
    Ok(out)
}

/// A digest the provenance refers to.
struct Subject {
    label: String,
    descriptor: Descriptor,
    /// The platform manifest it is, or was converted from.
    made_from: String,
}

/// The root (`index`, or `manifest` for a plain one), each runnable platform manifest
/// of an index, and each manifest a tag of its own moves to that is neither (converted
/// to Docker media types from a platform manifest).
fn subjects(root: &Fetched, v: &VerifiedImage) -> Vec<Subject> {
    let bare = |media_type: &str, digest: &str, size: u64| Descriptor {
        media_type: media_type.to_string(),
        digest: digest.to_string(),
        size,
        platform: None,
        artifact_type: None,
        annotations: Default::default(),
    };
    let root_label = match root.manifest {
        Manifest::Index { .. } => "index",
        Manifest::Image { .. } => "manifest",
    };
    let mut out = vec![Subject {
        label: root_label.into(),
        descriptor: bare(&root.media_type, &root.digest, root.bytes.len() as u64),
        made_from: root.digest.to_string(),
    }];
    let entries: Vec<&Descriptor> = match &root.manifest {
        Manifest::Index { manifests, .. } => manifests
            .iter()
            .filter(|e| !e.in_attestation_slot())
            .collect(),
        Manifest::Image { .. } => Vec::new(),
    };
    for e in &entries {
        if out.iter().all(|s| s.descriptor.digest != e.digest) {
            out.push(Subject {
                label: e.platform_label(),
                descriptor: bare(&e.media_type, &e.digest, e.size),
                made_from: e.digest.clone(),
            });
        }
    }
    for m in &v.moves {
        let Some((platform, _)) = &m.single else {
            continue;
        };
        if out.iter().any(|s| s.descriptor.digest == m.digest.as_str()) {
            continue;
        }
        let from = entries
            .iter()
            .find(|e| {
                e.platform
                    .as_ref()
                    .is_some_and(|p| p.platform().matches(platform))
            })
            .map_or_else(String::new, |e| e.digest.clone());
        out.push(Subject {
            label: m.tag.clone(),
            descriptor: bare(&m.media_type, &m.digest, m.bytes.len() as u64),
            made_from: from,
        });
    }
    out
}

/// The record already there for `root`, when one agrees with it.
fn kept_record(
    client: &Client,
    repo: &Repository,
    root: &Fetched,
) -> anyhow::Result<Option<Published>> {
    let reference = repo.at_digest(&root.digest);
    let listed = client.referrers(repo, &root.digest)?;
    let found = crate::provenance::check::check(client, &reference, root, &listed)?;
    Ok(found.record.map(|digest| Published {
        kind: "record",
        of: match root.manifest {
            Manifest::Index { .. } => "index",
            Manifest::Image { .. } => "manifest",
        }
        .into(),
        subject: root.digest.to_string(),
        digest,
        artifact_type: crate::provenance::IN_TOTO.into(),
        via: listed.via,
        kept: true,
    }))
}

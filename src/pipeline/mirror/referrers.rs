//! A mirror's referrers: for each manifest the copy keeps under its own digest (the
//! root of a whole copy, every manifest of the index it copies, or the one manifest),
//! the referrers the source lists of it — attestations, signatures, verification
//! records — are copied with it, before the destination tag moves. Each referrer is
//! read by digest (checked), must name that manifest as its `subject`, and its blobs are
//! copied like the image's (mounted, or streamed and checked against their digest
//! before the last byte is sent); it is put by digest, listed at the destination (its
//! referrers API, or the tag schema's index merged with what is there) and the list
//! read back. One level: a referrer's own referrers are not followed, and a referrer
//! that is itself an index is left out (said in the report).

use serde::Serialize;

use super::blobs::Progress;
use crate::exit::{Code, Coded};
use crate::registry::manifest::{Descriptor, Manifest};
use crate::registry::referrers::Referring;
use crate::registry::{Client, Fetched, Reference, Via};
use crate::verify::pool;

/// A referrer the mirror copied (or left out).
#[derive(Debug, Clone, Serialize)]
pub struct CopiedReferrer {
    /// The manifest it refers to (same digest at the source and the destination).
    pub subject: String,
    pub digest: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    pub size: u64,
    /// How the destination lists it; none when it was left out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<Via>,
    /// Why it was not copied (an index: its children would need following).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub left_out: Option<String>,
}

/// One referrer read from the source.
struct Found {
    subject: String,
    entry: Descriptor,
    fetched: Fetched,
}

/// Copies the referrers of `subjects` (what the copy kept under its own digest) from
/// `src` to `dest`; returns them in
/// the order of their subjects.
pub(crate) fn copy(
    client: &Client,
    src: &Reference,
    dest: &Reference,
    subjects: &[Descriptor],
    progress: &dyn Progress,
) -> anyhow::Result<Vec<CopiedReferrer>> {
    let listed = pool::try_map(subjects, pool::WORKERS, |s| {
        client.referrers(&src.repository, &s.digest)
    })?;
    let mut found: Vec<Found> = Vec::new();
    let mut left_out = Vec::new();
    for (s, list) in subjects.iter().zip(listed) {
        for e in list.manifests {
            if found.iter().any(|f| f.entry.digest == e.digest) {
                continue;
            }
            let fetched = client.get_manifest(&src.with_target(&e.digest))?;
            let named = Referring::of(&fetched.bytes).and_then(|r| r.subject);
            if named.as_ref().map(|d| d.digest.as_str()) != Some(s.digest.as_str()) {
                return Err(ReferrerError::WrongSubject {
                    reference: src.with_target(&e.digest).to_string(),
                    subject: s.digest.clone(),
                    named: named.map_or_else(|| "no subject".into(), |d| d.digest),
                }
                .into());
            }
            let entry = Referring::of(&fetched.bytes).unwrap_or_default().entry(
                &fetched.media_type,
                &fetched.digest,
                fetched.bytes.len() as u64,
            );
            if matches!(fetched.manifest, Manifest::Index { .. }) {
                left_out.push(CopiedReferrer {
                    subject: s.digest.clone(),
                    digest: entry.digest.clone(),
                    artifact_type: entry.artifact_type.clone(),
                    size: entry.size,
                    via: None,
                    left_out: Some("an index: its manifests are not followed".into()),
                });
                continue;
            }
            found.push(Found {
                subject: s.digest.clone(),
                entry,
                fetched,
            });
        }
    }
    let mut blobs: Vec<Descriptor> = Vec::new();
    for f in &found {
        if let Manifest::Image { config, layers, .. } = &f.fetched.manifest {
            for b in std::iter::once(config).chain(layers) {
                if !blobs.iter().any(|x| x.digest == b.digest) {
                    blobs.push(b.clone());
                }
            }
        }
    }
    super::blobs::copy(client, &src.repository, &dest.repository, &blobs, progress)?;
    let mut out = Vec::new();
    for f in &found {
        let via = client.put_referrer(
            &dest.repository,
            &f.fetched.media_type,
            &f.fetched.bytes,
            &f.entry,
            &f.subject,
        )?;
        out.push(CopiedReferrer {
            subject: f.subject.clone(),
            digest: f.entry.digest.clone(),
            artifact_type: f.entry.artifact_type.clone(),
            size: f.entry.size,
            via: Some(via),
            left_out: None,
        });
    }
    read_back(client, dest, &out)?;
    out.extend(left_out);
    Ok(out)
}

/// Each copied referrer must be listed at the destination now.
fn read_back(client: &Client, dest: &Reference, copied: &[CopiedReferrer]) -> anyhow::Result<()> {
    let mut subjects: Vec<&str> = Vec::new();
    for c in copied {
        if !subjects.contains(&c.subject.as_str()) {
            subjects.push(&c.subject);
        }
    }
    let listed = pool::try_map(&subjects, pool::WORKERS, |s| {
        client.referrers(&dest.repository, s)
    })?;
    for (s, list) in subjects.iter().zip(listed) {
        for c in copied.iter().filter(|c| c.subject == *s) {
            if !list.manifests.iter().any(|m| m.digest == c.digest) {
                return Err(ReferrerError::NotListed {
                    reference: dest.with_target(s).to_string(),
                    digest: c.digest.clone(),
                    via: list.via.describe(),
                }
                .into());
            }
        }
    }
    Ok(())
}

/// A referrer the source lists wrongly, or the destination does not list.
#[derive(Debug)]
pub enum ReferrerError {
    WrongSubject {
        reference: String,
        subject: String,
        named: String,
    },
    NotListed {
        reference: String,
        digest: String,
        via: &'static str,
    },
}

impl std::fmt::Display for ReferrerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let message = match self {
            ReferrerError::WrongSubject {
                reference,
                subject,
                named,
            } => format!(
                "{reference}: listed as a referrer of {subject}, it names {named} as its subject; nothing was tagged"
            ),
            ReferrerError::NotListed {
                reference,
                digest,
                via,
            } => format!(
                "{reference}: the referrer {digest} was put, but {via} does not list it; nothing was tagged"
            ),
        };
        crate::exit::write_with_help(f, &message, self.help().as_deref())
    }
}

impl std::error::Error for ReferrerError {}

impl Coded for ReferrerError {
    fn code(&self) -> Code {
        Code::Registry
    }

    fn help(&self) -> Option<String> {
        Some(match self {
            ReferrerError::WrongSubject { .. } => "the source's referrers list is wrong: fix it there, or mirror with --no-referrers".into(),
            ReferrerError::NotListed { .. } => "run again; if it persists, the destination registry does not keep referrers: mirror with --no-referrers".into(),
        })
    }
}

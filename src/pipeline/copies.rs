//! The other repositories of an image (`repositories:` after the first): the root
//! verified in the first is copied to each with the copy `mirror` makes (blobs mounted
//! within a registry, streamed and digest-checked across registries; child manifests by
//! digest, then the root, so the digest is kept), its referrers (provenance,
//! verification records) and the cosign signatures made for it come along,
//! and each copy is verified there as the first was (platforms, configs, the plain
//! manifests of single-manifest tags). Nothing here moves a tag: promotion starts only
//! when every repository of every image has passed.

use serde::Serialize;

use super::candidate::Candidate;
use super::mirror::{self, Mirrored, Selection};
use super::verify::{self, VerifiedImage};
use crate::buildx::Ui;
use crate::registry::{Client, Repository};
use crate::verify::Requirements;

/// One other repository of an image: what its copy did and what verification found.
#[derive(Debug, Clone)]
pub struct Copied {
    pub repository: Repository,
    pub mirrored: Mirrored,
    pub verified: VerifiedImage,
}

/// A copy as the report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct CopyReport {
    /// Serialised as written in the project file.
    pub repository: Repository,
    pub digest: String,
    pub blobs_copied: usize,
    pub blobs_mounted: usize,
    pub blobs_skipped: usize,
    pub bytes_copied: u64,
    /// Referrers copied with it (attestations, verification records, signatures).
    pub referrers_copied: usize,
    /// Seconds the copy and its verification took.
    pub verify: f64,
    /// Tags moved in this repository, and where they now point.
    pub tags: Vec<super::promote::Moved>,
}

/// The copy of `c` to `repo`, verified there. An error names the image and the
/// repository (its exit code is the cause's: a refused write is a registry error).
pub fn copy_to(
    client: &Client,
    c: &Candidate,
    repo: &Repository,
    deep: bool,
    signed: bool,
    ui: &Ui,
) -> anyhow::Result<Copied> {
    let at = |e: anyhow::Error| {
        e.context(format!(
            "copying image `{}` ({}) to {}",
            c.image.name,
            c.reference(),
            repo.as_written()
        ))
    };
    let src = c.image.repository.at_digest(&c.digest);
    let dest = repo.at_digest(&c.digest);
    let all = Selection {
        requirements: Requirements::default(),
        all: true,
        referrers: true,
    };
    let prepared = mirror::prepare(client, &src, &all).map_err(at)?;
    let bar = ui.byte_bar(&format!("[{}] copy to {}", c.image.name, repo.as_written()));
    let mut mirrored = mirror::copy(client, &src, &dest, &prepared, &bar).map_err(at)?;
    // Its referrers (provenance, verification records, signatures) come along.
    let subjects = mirror::referrer_subjects(&prepared);
    mirrored.referrers =
        mirror::referrers::copy(client, &src, &dest, &subjects, &bar).map_err(at)?;
    bar.finish();
    if c.digest != mirrored.digest {
        return Err(at(anyhow::anyhow!(
            "the copy's root is {}, not {} (the copy of a whole image keeps its digest)",
            mirrored.digest,
            c.digest
        )));
    }
    if signed {
        let kept = prepared.kept_digests(&mirrored.digest);
        mirrored.signatures_copied =
            mirror::signatures::copy(client, &src, &dest, &kept).map_err(at)?;
    }
    let mut image = c.image.clone();
    image.repository = repo.clone();
    let verified = verify::verify_pushed(client, &image, &c.digest, deep).map_err(at)?;
    Ok(Copied {
        repository: repo.clone(),
        mirrored,
        verified,
    })
}

impl Copied {
    /// The report's entry, with the tags promotion moved here.
    pub fn report(&self, tags: Vec<super::promote::Moved>) -> CopyReport {
        CopyReport {
            repository: self.repository.clone(),
            digest: self.mirrored.digest.clone(),
            blobs_copied: self.mirrored.blobs_copied,
            blobs_mounted: self.mirrored.blobs_mounted,
            blobs_skipped: self.mirrored.blobs_skipped,
            bytes_copied: self.mirrored.bytes_copied,
            referrers_copied: self
                .mirrored
                .referrers
                .iter()
                .filter(|r| r.via.is_some())
                .count(),
            verify: self.verified.time.as_secs_f64(),
            tags,
        }
    }
}

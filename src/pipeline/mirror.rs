//! Copying an image between repositories or registries with the platforms the targets
//! need — what `docker pull; docker tag; docker push` gets wrong (it keeps only the
//! host's platform). Blobs are mounted where the registry allows it, otherwise streamed
//! from source to destination, never held in memory or on disk; child manifests go by
//! digest, then the index. A source that lacks a required platform, or whose configs
//! disagree with its index, is refused before anything is written; blobs streamed
//! across registries are checked against their digest before their last byte is sent.

use crate::buildx::Ui;
use crate::catalog::Catalog;
use crate::exit::UsageError;
use crate::platform::Platform;
use crate::registry::manifest::{Descriptor, Manifest};
use crate::registry::{Client, Fetched, Reference};
use crate::verify::{self, Entry, Kind, Observed, Requirements, Verdict, requirements};

/// What to copy.
#[derive(Debug, Clone)]
pub struct Selection {
    /// Platforms that must be present and copied; empty with `all`.
    pub requirements: Requirements,
    /// Copy every platform (and keep the source digest).
    pub all: bool,
    /// Copy the referrers of what is copied (attestations, signatures, records).
    pub referrers: bool,
}

/// The result of a mirror.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Mirrored {
    pub source_digest: String,
    pub digest: String,
    /// True when a new index was made (a filtered copy of a larger index).
    pub filtered: bool,
    pub platforms: Vec<String>,
    pub blobs_copied: usize,
    pub blobs_mounted: usize,
    pub blobs_skipped: usize,
    pub bytes_copied: u64,
    /// cosign signature and attestation tags copied with it (`sha256-HEX.sig`/`.att`).
    pub signatures_copied: usize,
    /// The referrers copied with it (each listed at the destination before the tag
    /// moved), and any left out.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub referrers: Vec<CopiedReferrer>,
}

/// Why a mirror could not start.
#[derive(Debug)]
pub enum MirrorError {
    MissingPlatform {
        source_ref: String,
        platform: String,
        present: String,
    },
    WrongPlatform {
        source_ref: String,
        found: String,
        needed: String,
    },
}

impl std::fmt::Display for MirrorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::exit::Coded;
        let message = match self {
            MirrorError::MissingPlatform {
                source_ref,
                platform,
                present,
            } => format!(
                "{source_ref} has no {platform} image (it has: {present}); nothing was written"
            ),
            MirrorError::WrongPlatform {
                source_ref,
                found,
                needed,
            } => format!(
                "{source_ref} is a single {found} image; the targets need {needed}; nothing was written"
            ),
        };
        crate::exit::write_with_help(f, &message, self.help().as_deref())
    }
}

impl std::error::Error for MirrorError {}

impl crate::exit::Coded for MirrorError {
    fn code(&self) -> crate::exit::Code {
        crate::exit::Code::VerifyFailed
    }

    fn help(&self) -> Option<String> {
        match self {
            MirrorError::MissingPlatform { .. } => Some(
                "pick a source that holds every platform the targets need, or drop the target"
                    .into(),
            ),
            MirrorError::WrongPlatform { .. } => None,
        }
    }
}

/// One copy to make: from the command line or the project's `mirrors:`.
#[derive(Debug, Clone)]
pub struct Job {
    pub src: Reference,
    pub dest: Reference,
    pub selection: Selection,
}

impl Job {
    /// A copy of `src` to `dest` (a repository, or REPO:TAG) with the platforms the
    /// targets and platforms need, or every platform with `all`.
    pub fn new(
        catalog: &Catalog,
        src: &str,
        dest: &str,
        targets: &[String],
        platforms: &[String],
        all: bool,
    ) -> anyhow::Result<Job> {
        let src = Reference::parse(src)?;
        let mut dest = Reference::parse(dest)?;
        if dest.digest.is_some() {
            return Err(UsageError::new(format!(
                "DEST `{dest}` names a digest; give a repository or REPO:TAG (a filtered copy gets a new digest)"
            ))
            .into());
        }
        if dest.tag.is_none() {
            dest.tag = src.tag.clone();
        }
        let requirements = if all {
            Requirements::default()
        } else {
            requirements::from_flags(catalog, targets, platforms, false, &Platform::host())?
        };
        Ok(Job {
            src,
            dest,
            selection: Selection {
                requirements,
                all,
                referrers: true,
            },
        })
    }

    /// A job for each of the project's `mirrors:`.
    pub fn for_project(project: &crate::config::Project) -> anyhow::Result<Vec<Job>> {
        project
            .mirrors
            .iter()
            .map(|m| {
                Job::new(
                    &project.catalog,
                    &m.source,
                    &m.destination,
                    &m.targets,
                    &m.platforms,
                    m.all,
                )
            })
            .collect()
    }
}

/// What one job did: the copy, its verification, and whether the tag moved.
#[derive(Debug, Clone)]
pub struct Done {
    pub src: Reference,
    pub dest: Reference,
    pub mirrored: Mirrored,
    pub verdict: Verdict,
    pub tagged: bool,
}

/// The mirror stage, per job in order: works out the copy from the source and checks it
/// there (every platform the selection needs, each config agreeing with its entry), so
/// a copy that would fail verification writes nothing; then copies, verifies the copy
/// in the destination, copies its referrers (unless told not to) and tags it. Stops at the first job that fails verification
/// (returned untagged, last). A Ctrl-C before a tag moves stops with
/// [`Interrupted`](crate::exit::Interrupted), saying which destination tags stayed.
pub fn run_jobs(client: &Client, jobs: &[Job], ui: &Ui) -> anyhow::Result<Vec<Done>> {
    let mut out = Vec::new();
    for (i, j) in jobs.iter().enumerate() {
        let done = run_job(client, j, ui).map_err(|e| stopped(e, &jobs[i..]))?;
        let tagged = done.tagged;
        out.push(done);
        if !tagged {
            break;
        }
    }
    Ok(out)
}

/// An index refused by a target that takes one plain manifest (Lambda): how to copy
/// it anyway — mirror the needed platform's own manifest, by digest, as `push` gives
/// such a target's tag that platform's manifest.
fn single_manifest_hint(
    observed: &verify::Observed,
    req: &verify::Requirements,
    j: &Job,
) -> Option<String> {
    let verify::Kind::Index { entries } = &observed.kind else {
        return None;
    };
    let (platform, _) = req.platforms.first().filter(|_| req.single)?;
    let entry = entries
        .iter()
        .find(|e| !e.attestation && e.declared.as_ref() == Some(platform))?;
    Some(format!(
        "to copy it for this target, mirror the {platform} manifest by its digest, with the same --target: `mpbuild mirror {} {}` (what `push` tags for a single-manifest target)",
        j.src.with_target(&entry.digest),
        j.dest
    ))
}

/// One job: check in the source, copy, verify the copy, tag it.
fn run_job(client: &Client, j: &Job, ui: &Ui) -> anyhow::Result<Done> {
    let prepared = prepare(client, &j.src, &j.selection)?;
    let req = prepared.requirements(&j.selection);
    let before = verify::check(&prepared.observed, &req);
    if !before.ok() {
        let mut verdict = before;
        verdict.problems.push(format!(
            "checked in the source before copying: nothing was written to {}",
            j.dest
        ));
        if let Some(hint) = single_manifest_hint(&prepared.observed, &req, j) {
            verdict.problems.push(hint);
        }
        return Ok(Done {
            src: j.src.clone(),
            dest: j.dest.clone(),
            mirrored: prepared.summary(),
            verdict,
            tagged: false,
        });
    }
    let bar = ui.byte_bar(&format!("mirror {} → {}", j.src, j.dest));
    let mut done = copy(client, &j.src, &j.dest, &prepared, &bar)?;
    let digest_ref = j.dest.with_target(&done.digest);
    let verdict = verify::verify_reference(client, &digest_ref, &req, None)?;
    let ok = verdict.ok();
    if ok && j.selection.referrers {
        let subjects = referrer_subjects(&prepared);
        done.referrers = referrers::copy(client, &j.src, &j.dest, &subjects, &bar)?;
    }
    bar.finish();
    if ok {
        // The signatures of what kept its digest go before the tag moves, so the tag
        // never names an image that does not verify with the source's key.
        let kept = prepared.kept_digests(&done.digest);
        done.signatures_copied = signatures::copy(client, &j.src, &j.dest, &kept)?;
        if crate::cancel::requested() {
            return Err(crate::exit::Interrupted.into());
        }
        tag(client, &j.dest, &done.digest)?;
    }
    Ok(Done {
        src: j.src.clone(),
        dest: j.dest.clone(),
        mirrored: done,
        verdict,
        tagged: ok,
    })
}

/// The digests whose referrers come along: the root when the copy keeps the source's
/// digest, and every manifest of the index it copies.
pub fn referrer_subjects(plan: &Prepared) -> Vec<Descriptor> {
    let mut out = Vec::new();
    if !plan.filtered {
        out.push(Descriptor {
            media_type: plan.top.media_type.clone(),
            digest: plan.top.digest.to_string(),
            size: plan.top.bytes.len() as u64,
            platform: None,
            artifact_type: None,
            annotations: Default::default(),
        });
    }
    out.extend(plan.manifests.iter().map(|(d, _)| d.clone()));
    out
}

/// The error that stopped the first of `left`: when it is the interrupt, it says
/// which destination tags stayed where they were.
fn stopped(e: anyhow::Error, left: &[Job]) -> anyhow::Error {
    if !super::interrupt::interrupted(&e) {
        return e;
    }
    let tags: Vec<String> = left.iter().map(|j| j.dest.to_string()).collect();
    let stay = if tags.len() == 1 {
        "stays where it was"
    } else {
        "stay where they were"
    };
    e.context(format!(
        "interrupted: no tag moved; {} {stay}",
        tags.join(", ")
    ))
}

/// Whether every job's copy verified and was tagged.
pub fn all_tagged(done: &[Done]) -> bool {
    done.iter().all(|d| d.tagged)
}

/// A copy worked out from the source alone (nothing written yet).
pub struct Prepared {
    top: Fetched,
    /// Child manifests to copy (indexes only), each digest once, with their bytes.
    manifests: Vec<(Descriptor, Fetched)>,
    /// The root to put last: the source's own bytes, or a new index.
    root_media_type: String,
    root_bytes: Vec<u8>,
    filtered: bool,
    platforms: Vec<String>,
    /// What the copy will hold, as read from the source: checked before writing.
    pub observed: Observed,
}

impl Prepared {
    /// What the copy must hold: the selection's platforms, or with `all` every
    /// platform copied.
    pub fn requirements(&self, sel: &Selection) -> Requirements {
        let mut req = sel.requirements.clone();
        if sel.all {
            for p in &self.platforms {
                if let Ok(p) = Platform::parse(p) {
                    req.need(p, "--all");
                }
            }
        }
        req
    }

    /// The digests a copy keeps (the root, when it is the source's own, then each
    /// manifest copied): those whose signatures come along.
    pub fn kept_digests(&self, root: &str) -> Vec<String> {
        let mut kept: Vec<String> = self
            .manifests
            .iter()
            .map(|(d, _)| d.digest.clone())
            .collect();
        if !self.filtered {
            kept.insert(0, root.to_string());
        }
        kept
    }

    /// The result of a copy that was not made.
    fn summary(&self) -> Mirrored {
        Mirrored {
            source_digest: self.top.digest.to_string(),
            digest: crate::digest::sha256(&self.root_bytes),
            filtered: self.filtered,
            platforms: self.platforms.clone(),
            ..Mirrored::default()
        }
    }
}

/// Works out what to copy and what it will hold (reads only).
// long: reads only, in steps that each use what the one before read: the platforms
// chosen, the attestations that come along, the new index, every entry read and checked.
pub fn prepare(
    client: &Client,
    src: &Reference,
    sel: &Selection,
) -> Result<Prepared, anyhow::Error> {
    let top = client.get_manifest(src)?;
    match &top.manifest {
        Manifest::Index { manifests, .. } => {
            // Candidates by platform; what each entry is (`is_attestation`) is decided
            // when it is read below, and checked before anything is written.
            let images: Vec<&Descriptor> = manifests
                .iter()
                .filter(|d| !d.in_attestation_slot())
                .collect();
            let present: Vec<String> = images
                .iter()
                .filter_map(|d| d.platform.as_ref().map(|p| p.platform().to_string()))
                .collect();
            let mut chosen: Vec<&Descriptor> = Vec::new();
            if sel.all {
                chosen = manifests.iter().collect();
            } else {
                for (p, _) in &sel.requirements.platforms {
                    let Some(d) = images.iter().find(|d| {
                        d.platform
                            .as_ref()
                            .is_some_and(|dp| dp.platform().matches(p))
                    }) else {
                        return Err(MirrorError::MissingPlatform {
                            source_ref: src.to_string(),
                            platform: p.to_string(),
                            present: present.join(", "),
                        }
                        .into());
                    };
                    if !chosen.iter().any(|c| c.digest == d.digest) {
                        chosen.push(d);
                    }
                }
                // Attestations that describe a chosen image come along.
                for d in manifests.iter().filter(|d| d.in_attestation_slot()) {
                    let subject = d.annotations.get("vnd.docker.reference.digest");
                    if subject.is_some_and(|s| chosen.iter().any(|c| &c.digest == s)) {
                        chosen.push(d);
                    }
                }
            }
            let filtered = chosen.len() != manifests.len();
            // The new index keeps the source's order, each manifest once; a whole copy
            // keeps the source's bytes (and so its digest).
            let mut kept: Vec<Descriptor> = Vec::new();
            for d in manifests {
                if chosen.iter().any(|c| c.digest == d.digest)
                    && !(filtered && kept.iter().any(|k| k.digest == d.digest))
                {
                    kept.push(d.clone());
                }
            }
            // Every entry kept is read (attestations too: the rule needs their layers).
            let read = verify::collect::read_index(client, src, &kept, None)?;
            let children = read.children;
            let mut copies: Vec<(Descriptor, Fetched)> = Vec::new();
            for d in &kept {
                if !copies.iter().any(|(c, _)| c.digest == d.digest)
                    && let Some(f) = children.get(&d.digest)
                {
                    copies.push((d.clone(), f.clone()));
                }
            }
            let (root_media_type, root_bytes) = if filtered {
                let index = serde_json::json!({
                    "schemaVersion": 2,
                    "mediaType": top.media_type,
                    "manifests": kept,
                });
                (top.media_type.clone(), serde_json::to_vec(&index)?)
            } else {
                (top.media_type.clone(), top.bytes.clone())
            };
            let mut platforms: Vec<String> = Vec::new();
            for p in read
                .entries
                .iter()
                .filter(|e| !e.attestation)
                .filter_map(|e| e.platform().map(ToString::to_string))
            {
                if !platforms.contains(&p) {
                    platforms.push(p);
                }
            }
            let observed = Observed {
                reference: src.to_string(),
                digest: crate::digest::sha256(&root_bytes),
                media_type: root_media_type.clone(),
                kind: Kind::Index {
                    entries: read.entries,
                },
            };
            Ok(Prepared {
                top,
                manifests: copies,
                root_media_type,
                root_bytes,
                filtered,
                platforms,
                observed,
            })
        }
        Manifest::Image { media_type, .. } => {
            let cfg = verify::collect::config(client, &src.repository, &top.manifest, &top.digest)?;
            let found = cfg.platform();
            if !sel.all {
                for (p, _) in &sel.requirements.platforms {
                    if !p.matches(&found) {
                        return Err(MirrorError::WrongPlatform {
                            source_ref: src.to_string(),
                            found: found.to_string(),
                            needed: p.to_string(),
                        }
                        .into());
                    }
                }
            }
            let observed = Observed {
                reference: src.to_string(),
                digest: top.digest.to_string(),
                media_type: top.media_type.clone(),
                kind: Kind::Manifest {
                    entry: Box::new(Entry {
                        digest: top.digest.to_string(),
                        media_type: media_type.clone(),
                        declared: None,
                        attestation: false,
                        false_attestation: None,
                        config: Some(found.clone()),
                        deep: None,
                    }),
                },
            };
            Ok(Prepared {
                root_media_type: top.media_type.clone(),
                root_bytes: top.bytes.clone(),
                manifests: Vec::new(),
                filtered: false,
                platforms: vec![found.to_string()],
                observed,
                top,
            })
        }
    }
}

/// Copies what `prepare` worked out from `src` to `dest` (by digest; no tag moves).
/// Blobs streamed across registries are checked against their digest and size before
/// their last byte reaches the destination.
pub fn copy(
    client: &Client,
    src: &Reference,
    dest: &Reference,
    plan: &Prepared,
    progress: &dyn Progress,
) -> Result<Mirrored, anyhow::Error> {
    let top = &plan.top;
    // Blobs: configs and layers of every manifest copied (or of the single manifest).
    let mut blobs: Vec<Descriptor> = Vec::new();
    let manifests_for_blobs: Vec<&Manifest> = if plan.manifests.is_empty() {
        vec![&top.manifest]
    } else {
        plan.manifests.iter().map(|(_, f)| &f.manifest).collect()
    };
    for m in manifests_for_blobs {
        if let Manifest::Image { config, layers, .. } = m {
            for b in std::iter::once(config).chain(layers.iter()) {
                if !blobs.iter().any(|x| x.digest == b.digest) {
                    blobs.push(b.clone());
                }
            }
        }
    }
    let (src_repo, dest_repo) = (&src.repository, &dest.repository);
    let counts = blobs::copy(client, src_repo, dest_repo, &blobs, progress)?;
    // The child manifests at once (each names only blobs now there), then the root;
    // while the root goes in, each child and config is read back from the destination
    // (and kept for the run), so the verification that follows reads only the root.
    verify::pool::try_map(&plan.manifests, verify::pool::WORKERS, |(d, f)| {
        client.put_manifest(dest_repo, &d.digest, &f.media_type, &f.bytes)
    })?;
    let digest = crate::digest::sha256(&plan.root_bytes);
    let mut last = vec![Last::Root];
    for (d, f) in &plan.manifests {
        last.push(Last::Child(&d.digest));
        if let Manifest::Image { config, .. } = &f.manifest {
            last.push(Last::Config(&config.digest));
        }
    }
    if let Manifest::Image { config, .. } = &top.manifest {
        last.push(Last::Config(&config.digest));
    }
    verify::pool::try_map(&last, verify::pool::WORKERS, |step| match step {
        Last::Root => client
            .put_manifest(dest_repo, &digest, &plan.root_media_type, &plan.root_bytes)
            .map(drop),
        Last::Child(d) => client.get_manifest(&dest.with_target(d)).map(drop),
        Last::Config(d) => client
            .get_blob_bytes(dest_repo, d, verify::collect::CONFIG_LIMIT)
            .map(drop),
    })?;
    Ok(Mirrored {
        source_digest: top.digest.to_string(),
        digest,
        filtered: plan.filtered,
        platforms: plan.platforms.clone(),
        blobs_copied: counts.copied,
        blobs_mounted: counts.mounted,
        blobs_skipped: counts.skipped,
        bytes_copied: counts.bytes,
        signatures_copied: 0,
        referrers: Vec::new(),
    })
}

/// The last writes of a copy and the read-backs that go beside them.
enum Last<'a> {
    Root,
    Child(&'a str),
    Config(&'a str),
}

/// Puts the mirrored root under `dest`'s tag (after verification), then reads the tag
/// back: one that does not resolve to `digest` did not move ([`promote::NotLanded`]).
pub fn tag(client: &Client, dest: &Reference, digest: &str) -> anyhow::Result<()> {
    let Some(tag) = &dest.tag else { return Ok(()) };
    let root = client.get_manifest(&dest.with_target(digest))?;
    client.put_manifest(&dest.repository, tag, &root.media_type, &root.bytes)?;
    let found = client.tag_digest(&dest.repository, tag)?;
    if found.as_deref() != Some(digest) {
        return Err(super::promote::NotLanded(vec![super::promote::Landing {
            tag: format!("{}:{tag}", dest.repository),
            expected: root.digest,
            found,
        }])
        .into());
    }
    Ok(())
}

mod blobs;
pub mod referrers;
pub mod signatures;
pub use blobs::{Progress, Silent};

pub use referrers::{CopiedReferrer, ReferrerError};

#[cfg(test)]
mod tests;

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
use crate::registry::manifest::Descriptor;
use crate::registry::{Client, Reference};
use crate::verify::{self, Requirements, Verdict, requirements};

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

mod blobs;
mod copy;
mod prepare;
pub mod referrers;
mod selection;
pub mod signatures;
pub use blobs::{Progress, Silent};
pub use copy::{copy, tag};
pub use prepare::{Prepared, prepare};
pub use selection::{MirrorError, Mirrored, Selection};

pub use referrers::{CopiedReferrer, ReferrerError};

#[cfg(test)]
mod tests;

//! One leg of a multi-runner build: `push` for the leg's platforms (the plan has no
//! tags, so nothing is promoted), then a record per image and platform for `merge`.

use std::path::Path;

use super::push::{Push, push};
use super::record::{self, Record};
use super::report::{Failure, Kind, PushReport, Skipped, Stage};
use crate::buildx::Ui;
use crate::config::Image;
use crate::exit::UsageError;
use crate::plan::{self, Plan};
use crate::platform::Platform;

/// Runs the leg (`p.plan` is a [`plan::Leg`]'s plan: its images carry their full plans'
/// fingerprints; `p.kind` is [`Kind::Leg`]) and writes its records into `dir`; `builder`
/// is named in each record.
pub fn leg(p: &Push, ui: &Ui, dir: &Path, builder: &str) -> PushReport {
    debug_assert_eq!(p.kind, Kind::Leg);
    let mut rep = push(p, ui);
    if rep.failure.is_some() {
        return rep;
    }
    let commit = record::source_commit(p.project_dir);
    let rs = records(p.plan, &rep, builder, commit);
    let written = record::write_all(dir, &rs).map_err(anyhow::Error::from);
    match written {
        Ok(paths) => rep.records = paths.iter().map(|p| p.display().to_string()).collect(),
        Err(e) => {
            rep.failure = Some(Failure {
                stage: Stage::Record,
                error: Some(e),
                untouched: Vec::new(),
            })
        }
    }
    rep
}

/// A record for each image and platform of the leg, from its report (the platforms'
/// manifests as verification read them).
fn records(plan: &Plan, rep: &PushReport, builder: &str, commit: Option<String>) -> Vec<Record> {
    let time = crate::clock::now_rfc3339();
    let mut out = Vec::new();
    for (image, done) in plan.images.iter().zip(&rep.images) {
        for pm in &done.platforms {
            out.push(Record {
                schema_version: record::SCHEMA_VERSION,
                image: image.name.clone(),
                repository: image.repository.clone(),
                platform: pm.platform.clone(),
                digest: pm.digest.clone(),
                media_type: pm.media_type.clone(),
                leg_digest: done.digest.clone(),
                fingerprint: image.fingerprint.clone(),
                source_commit: commit.clone(),
                builder: builder.to_string(),
                time: time.clone(),
                timing: done
                    .timing
                    .iter()
                    .find(|t| t.platform == pm.platform.to_string())
                    .cloned(),
            });
        }
    }
    out
}

/// The images a leg does not build, each with the platforms it needs.
pub fn skipped(leg: &plan::Leg, platforms: &[Platform]) -> Vec<Skipped> {
    leg.skipped
        .iter()
        .map(|(name, needs)| Skipped {
            image: name.clone(),
            reason: format!(
                "needs {}, not {}",
                crate::platform::list(needs),
                crate::platform::list(platforms)
            ),
        })
        .collect()
}

/// The platforms of a leg (`--platform … --digests-dir DIR`), each needed by some
/// selected image; `None` for a whole push.
pub fn leg_platforms(
    specs: &[String],
    digests_dir: Option<&Path>,
    images: &[&Image],
) -> anyhow::Result<Option<Vec<Platform>>> {
    if specs.is_empty() {
        if digests_dir.is_some() {
            return Err(UsageError::new(
                "--digests-dir goes with --platform: a leg builds the platforms given and writes their records there",
            )
            .into());
        }
        return Ok(None);
    }
    if digests_dir.is_none() {
        return Err(UsageError::new(
            "--platform builds only part of an image: it needs --digests-dir DIR, where the leg writes its records, and a `mpbuild merge --digests-dir DIR` that joins the legs and moves the tags",
        )
        .with_help("to build every platform the targets need, drop --platform")
        .into());
    }
    let mut platforms: Vec<Platform> = Vec::new();
    for spec in specs {
        let p = Platform::parse(spec)
            .map_err(|e| UsageError::new(format!("--platform {spec}: {e}")))?;
        let needed = images.iter().any(|i| {
            i.targets
                .iter()
                .any(|t| t.platforms.iter().any(|q| q.matches(&p)))
        });
        if !needed {
            let all: Vec<Platform> = images
                .iter()
                .flat_map(|i| i.targets.iter().flat_map(|t| t.platforms.iter().cloned()))
                .fold(Vec::new(), |mut v, q| {
                    if !v.iter().any(|x: &Platform| x.matches(&q)) {
                        v.push(q);
                    }
                    v
                });
            return Err(UsageError::new(format!(
                "no selected image needs {p}; their platforms are {}",
                crate::platform::list(&all)
            ))
            .with_help("a leg builds platforms the targets need (see `mpbuild plan --format github-matrix`)")
            .into());
        }
        if !platforms.iter().any(|q| q.matches(&p)) {
            platforms.push(p);
        }
    }
    Ok(Some(platforms))
}

//! One leg of a multi-runner build: `push` for the leg's platforms (the plan has no
//! tags, so nothing is promoted), then a record per image and platform for `merge`.

use std::path::Path;

use super::record::{self, Record};
use super::report::{Failure, Kind, PushReport, Skipped, Stage};
use super::{Push, push};
use crate::buildx::Ui;
use crate::plan::Plan;
use crate::registry::manifest::Manifest;
use crate::registry::{Client, Reference, Repository};

/// Runs the leg and writes its records into `dir`. `fingerprints` are the full plans'
/// fingerprints, per image of the leg plan; `builder` names the builder for the record.
pub fn leg(
    p: &Push,
    ui: &Ui,
    dir: &Path,
    fingerprints: &[String],
    skipped: Vec<Skipped>,
    builder: &str,
) -> PushReport {
    let mut rep = push(p, ui);
    rep.kind = Kind::Leg;
    rep.skipped = skipped;
    if rep.failure.is_some() {
        return rep;
    }
    let commit = record::source_commit(p.project_dir);
    let written = records(p.client, p.plan, &rep, fingerprints, builder, commit)
        .and_then(|rs| Ok(record::write_all(dir, &rs)?));
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

/// A record for each image and platform of the leg, from what the registry holds.
fn records(
    client: &Client,
    plan: &Plan,
    rep: &PushReport,
    fingerprints: &[String],
    builder: &str,
    commit: Option<String>,
) -> anyhow::Result<Vec<Record>> {
    let time = record::now_rfc3339();
    let mut out = Vec::new();
    for ((image, done), fingerprint) in plan.images.iter().zip(&rep.images).zip(fingerprints) {
        let repo = Repository::parse(&image.repository)?;
        let root = client.get_manifest(&Reference {
            repository: repo,
            tag: None,
            digest: Some(done.digest.clone()),
        })?;
        for pm in &done.platforms {
            let media_type = match &root.manifest {
                Manifest::Index { manifests, .. } => manifests
                    .iter()
                    .find(|d| d.digest == pm.digest)
                    .map(|d| d.media_type.clone())
                    .unwrap_or_default(),
                Manifest::Image { .. } => root.media_type.clone(),
            };
            out.push(Record {
                schema_version: record::SCHEMA_VERSION,
                image: image.name.clone(),
                repository: image.repository.clone(),
                platform: pm.platform.clone(),
                digest: pm.digest.clone(),
                media_type,
                leg_digest: done.digest.clone(),
                fingerprint: fingerprint.clone(),
                source_commit: commit.clone(),
                builder: builder.to_string(),
                time: time.clone(),
            });
        }
    }
    Ok(out)
}

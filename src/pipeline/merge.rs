//! The merge stage of a multi-runner build: legs built natively on separate machines
//! (`push --platform P --digests-dir DIR`) each left a record per image and platform;
//! `merge` checks the records against this project's plan, assembles one index per
//! image from the legs' manifests (each platform's attestation kept next to it, leg
//! indexes flattened), pushes it by digest and hands it to the same verify → smoke → promote →
//! report stages as `push`.

use std::path::Path;

use serde_json::json;

use super::candidate::{Candidate, Legs, Origin};
use super::finish::{Finish, finish};
use super::record::{Found, Record};
use super::report::{self, Failure, Kind, PushReport, Stage};
use crate::digest::Digest;
use crate::escape::Line;
use crate::exit::{Code, Coded};
use crate::plan::{ImagePlan, Plan, runner_label};
use crate::provenance::attestations::Detached;
use crate::registry::manifest::{
    DOCKER_LIST, DOCKER_MANIFEST, Descriptor, Manifest, OCI_INDEX, RawPlatform, is_attestation,
};
use crate::registry::{Client, RegistryError};
use crate::verify::report::short;

/// Why the records cannot be merged. Nothing was written.
#[derive(Debug)]
pub enum MergeError {
    Missing {
        /// Every platform without a record, image by image in the plan's order.
        missing: Vec<MissingLeg>,
        dir: String,
    },
    Conflict {
        image: String,
        platform: String,
        first: String,
        first_file: String,
        second: String,
        second_file: String,
    },
    OtherPlan {
        image: String,
        file: String,
        theirs: String,
        ours: String,
        commit: String,
    },
    UnknownImage {
        image: String,
        file: String,
        project: String,
    },
}

impl MergeError {
    /// What is wrong with the records.
    pub fn message(&self) -> String {
        match self {
            MergeError::Missing { missing, dir } => format!(
                "no record of {} in {dir}: {} did not run, failed, or {} not collected; every tag stays where it was",
                missing_list(missing),
                if missing.len() == 1 {
                    "its leg"
                } else {
                    "their legs"
                },
                if missing.len() == 1 {
                    "its record was"
                } else {
                    "their records were"
                },
            ),
            MergeError::Conflict {
                image,
                platform,
                first,
                first_file,
                second,
                second_file,
            } => format!(
                "{platform} of image `{image}` was recorded twice with different digests: {first} ({first_file}) and {second} ({second_file})"
            ),
            MergeError::OtherPlan {
                image,
                file,
                theirs,
                ours,
                commit,
            } => format!(
                "{file} was made from a different plan of image `{image}` (its fingerprint {theirs}, this project's {ours}{commit}): the repository, platforms, tags, targets or build inputs differ"
            ),
            MergeError::UnknownImage {
                image,
                file,
                project,
            } => format!("{file} records image `{image}`, which {project} does not have"),
        }
    }
}

impl std::fmt::Display for MergeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::exit::write_with_help(f, &self.message(), Coded::help(self).as_deref())
    }
}

impl std::error::Error for MergeError {}

/// A platform of an image no record was found for, and the runner that builds it.
#[derive(Debug, Clone)]
pub struct MissingLeg {
    pub image: String,
    pub platform: String,
    /// The CI runner label for the platform (`ubuntu-24.04-arm`), when known.
    pub runner: Option<String>,
}

/// "linux/amd64 and linux/arm64 for image `app`; linux/arm64 for image `worker`".
fn missing_list(missing: &[MissingLeg]) -> String {
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for m in missing {
        match groups.iter_mut().find(|(image, _)| *image == m.image) {
            Some((_, platforms)) => platforms.push(&m.platform),
            None => groups.push((&m.image, vec![&m.platform])),
        }
    }
    groups
        .iter()
        .map(|(image, platforms)| {
            let list = match platforms.split_last() {
                Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
                _ => platforms.join(""),
            };
            format!("{list} for image `{image}`")
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// One command per missing platform (each platform's leg builds every image needing it).
fn missing_help(missing: &[MissingLeg], dir: &str) -> String {
    let mut seen: Vec<&str> = Vec::new();
    let mut runs = Vec::new();
    for m in missing {
        if seen.contains(&m.platform.as_str()) {
            continue;
        }
        seen.push(&m.platform);
        let on = m
            .runner
            .as_deref()
            .map(|r| format!(" on a `{r}` runner"))
            .unwrap_or_default();
        runs.push(format!(
            "`mpbuild push --platform {} --digests-dir {dir}`{on}",
            m.platform
        ));
    }
    format!("run the missing leg(s): {}", runs.join("; "))
}

impl Coded for MergeError {
    fn code(&self) -> Code {
        match self {
            MergeError::Missing { .. } => Code::VerifyFailed,
            _ => Code::Usage,
        }
    }

    fn help(&self) -> Option<String> {
        Some(match self {
            MergeError::Missing { missing, dir } => {
                format!("{}, then copy the records into {dir}", missing_help(missing, dir))
            }
            MergeError::Conflict { .. } => "keep the records of one run only (a retried leg leaves a new record; remove the stale one)".into(),
            MergeError::OtherPlan { .. } => {
                "merge only legs built from this commit and this mpbuild.yaml; rerun the leg".into()
            }
            MergeError::UnknownImage { .. } => {
                "the records come from another project; collect only this project's legs".into()
            }
        })
    }
}

/// What `merge` needs.
pub struct Merge<'a> {
    /// The full plan of the selected images (every platform, every tag).
    pub plan: &'a Plan,
    /// Every image name of the project (a record of another image is an error; of an
    /// image not selected, ignored).
    pub project_images: &'a [String],
    pub project_file: &'a Path,
    pub records: &'a [Found],
    pub dir: &'a Path,
    pub client: &'a Client,
    pub deep: bool,
    /// Runs the images' `smoke:` commands (docker probed only when one has).
    pub smoke: &'a super::smoke::Runner<'a>,
    /// Signs the images that have `sign:` (the merged index and each leg's manifest).
    pub sign: Option<&'a crate::signing::sign::Signing<'a>>,
}

/// Checks the records, assembles and pushes each image's index, then verifies and
/// promotes the assembled candidates like `push`.
pub fn merge(m: &Merge) -> PushReport {
    let rep = PushReport {
        kind: Kind::Merge,
        ..PushReport::default()
    };
    let fail = |stage, e: anyhow::Error| PushReport {
        failure: Some(Failure {
            stage,
            error: Some(e),
            untouched: report::planned_tags(&m.plan.images),
        }),
        kind: Kind::Merge,
        ..PushReport::default()
    };
    let chosen = match check(m) {
        Ok(c) => c,
        Err(e) => return fail(Stage::Merge, anyhow::Error::from(*e)),
    };
    let mut candidates = Vec::new();
    for (image, records) in m.plan.images.iter().zip(&chosen) {
        match assemble(m.client, image, records) {
            Ok((digest, attestations)) => candidates.push(Candidate {
                image: image.clone(),
                digest,
                origin: Origin::Assembled(legs(records)),
                attestations,
            }),
            Err(e) => return fail(Stage::Merge, e),
        }
    }
    let f = Finish {
        client: m.client,
        deep: m.deep,
        smoke: m.smoke,
        sign: m.sign,
        builder: None,
        // The commit the legs were built from, as they recorded it.
        source_commit: chosen
            .iter()
            .flatten()
            .find_map(|r| r.source_commit.clone()),
    };
    finish(&f, candidates, rep)
}

/// What the legs of one image recorded of their builds: each platform's timing, and
/// the builders they ran on.
fn legs(records: &[Record]) -> Legs {
    let mut out = Legs::default();
    for r in records {
        if let Some(t) = &r.timing {
            out.timing.push(t.clone());
        }
        if !out.builders.contains(&r.builder) {
            out.builders.push(r.builder.clone());
        }
    }
    out
}

/// Per image of the plan, in its platform order, the record of each platform.
fn check(m: &Merge) -> Result<Vec<Vec<Record>>, Box<MergeError>> {
    let dir = m.dir.display().to_string();
    for f in m.records {
        if !m.project_images.contains(&f.record.image) {
            return Err(Box::new(MergeError::UnknownImage {
                image: Line(&f.record.image).to_string(),
                file: f.path.display().to_string(),
                project: m.project_file.display().to_string(),
            }));
        }
    }
    let mut out = Vec::new();
    let mut missing = Vec::new();
    for image in &m.plan.images {
        let mine: Vec<&Found> = m
            .records
            .iter()
            .filter(|f| f.record.image == image.name)
            .collect();
        for f in &mine {
            if f.record.fingerprint != image.fingerprint
                || f.record.repository.as_written() != image.repository.as_written()
            {
                return Err(Box::new(MergeError::OtherPlan {
                    image: image.name.clone(),
                    file: f.path.display().to_string(),
                    theirs: Line(&short(&f.record.fingerprint)).to_string(),
                    ours: short(&image.fingerprint),
                    commit: f
                        .record
                        .source_commit
                        .as_ref()
                        .map(|c| format!("; built from commit {}", Line(c)))
                        .unwrap_or_default(),
                }));
            }
        }
        let mut records = Vec::new();
        for p in &image.platforms {
            let of_p: Vec<&&Found> = mine
                .iter()
                .filter(|f| f.record.platform.matches(p))
                .collect();
            let Some(first) = of_p.first() else {
                missing.push(MissingLeg {
                    image: image.name.clone(),
                    platform: p.to_string(),
                    runner: runner_label(p).map(str::to_string),
                });
                continue;
            };
            if let Some(other) = of_p.iter().find(|f| f.record.digest != first.record.digest) {
                return Err(Box::new(MergeError::Conflict {
                    image: image.name.clone(),
                    platform: p.to_string(),
                    first: Line(&first.record.digest).to_string(),
                    first_file: first.path.display().to_string(),
                    second: Line(&other.record.digest).to_string(),
                    second_file: other.path.display().to_string(),
                }));
            }
            records.push(first.record.clone());
        }
        out.push(records);
    }
    if !missing.is_empty() {
        return Err(Box::new(MergeError::Missing { missing, dir }));
    }
    Ok(out)
}

/// Builds the image's index from its legs and pushes it by digest. Children come in the
/// plan's platform order, each followed by its attestation manifests — or, with
/// `attestations: referrers`, without them: they are returned, to be published as
/// referrers of their platform manifests. The bytes are canonical JSON, so the same
/// legs always give the same digest.
fn assemble(
    client: &Client,
    image: &ImagePlan,
    records: &[Record],
) -> anyhow::Result<(Digest, Vec<Detached>)> {
    let repo = &image.repository;
    let referrers = image.attestations_mode == crate::config::AttestationMode::Referrers;
    let mut children: Vec<Descriptor> = Vec::new();
    let mut detached: Vec<Detached> = Vec::new();
    for r in records {
        let leg_ref = repo.at_digest(&r.leg_digest);
        let leg = client.get_manifest(&leg_ref)?;
        let bad = |message: String| RegistryError::BadManifest {
            registry: repo.registry.clone(),
            reference: format!("{repo}@{}", r.leg_digest),
            message,
        };
        match &leg.manifest {
            Manifest::Index { manifests, .. } => {
                let own = manifests
                    .iter()
                    .find(|d| d.digest == r.digest && !d.in_attestation_slot())
                    .ok_or_else(|| {
                        bad(format!(
                            "the leg's index does not hold the recorded {} manifest {}",
                            r.platform, r.digest
                        ))
                    })?;
                children.push(own.clone());
                // Its attestations, by the one rule (`is_attestation`): an entry where
                // attestations sit that is not one is refused, not carried along.
                for d in manifests.iter().filter(|d| {
                    d.in_attestation_slot()
                        && d.annotations
                            .get("vnd.docker.reference.digest")
                            .is_some_and(|a| *a == r.digest)
                }) {
                    let m = client.get_manifest(&leg_ref.with_target(&d.digest))?;
                    if !is_attestation(d, &m.manifest) {
                        return Err(bad(format!(
                            "entry {} has the platform unknown/unknown but is not an attestation manifest (its layers are not in-toto statements)",
                            d.digest
                        ))
                        .into());
                    }
                    if referrers {
                        detached.push(Detached {
                            entry: d.clone(),
                            subject: own.clone(),
                        });
                    } else {
                        children.push(d.clone());
                    }
                }
            }
            Manifest::Image { .. } => {
                if leg.digest != r.digest {
                    return Err(bad(format!(
                        "the leg is a plain manifest {} but the record names {}",
                        leg.digest, r.digest
                    ))
                    .into());
                }
                let p = &r.platform;
                children.push(Descriptor {
                    media_type: leg.media_type.clone(),
                    digest: leg.digest.to_string(),
                    size: leg.bytes.len() as u64,
                    platform: Some(RawPlatform {
                        os: p.os.clone(),
                        architecture: p.architecture.clone(),
                        variant: (!p.variant.is_empty()).then(|| p.variant.clone()),
                    }),
                    artifact_type: None,
                    annotations: Default::default(),
                });
            }
        }
    }
    let media_type = if children.iter().all(|d| d.media_type == DOCKER_MANIFEST) {
        DOCKER_LIST
    } else {
        OCI_INDEX
    };
    let mut doc = json!({
        "schemaVersion": 2,
        "mediaType": media_type,
        "manifests": children,
    });
    // The image's index annotations (`annotations: {"index:KEY": …}`): a leg pushes no
    // index of the whole image, so they are put on this one.
    let annotations: std::collections::BTreeMap<&str, &str> = image
        .options
        .annotations
        .iter()
        .filter(|a| a.levels.contains(&crate::config::Level::Index))
        .map(|a| (a.key.as_str(), a.value.as_str()))
        .collect();
    if !annotations.is_empty() {
        doc["annotations"] = json!(annotations);
    }
    let bytes = serde_json::to_vec(&doc)?;
    let digest = Digest::sha256(&bytes);
    let put = client.put_manifest(repo, &digest, media_type, &bytes)?;
    if put != digest {
        return Err(RegistryError::DigestMismatch {
            registry: repo.registry.clone(),
            reference: format!("{repo}@{digest}"),
            expected: digest.into(),
            actual: put.into(),
        }
        .into());
    }
    Ok((digest, detached))
}

//! Skip unchanged images. Each image's inputs are fingerprinted (`inputs`); the
//! fingerprint rides on what `push` pushes as an annotation. When one of the image's tags
//! already points at a root carrying the same fingerprint, and that root passes the full
//! verification later in the pipeline, the build is skipped and the remaining tags move
//! to it. An image whose inputs cannot be fingerprinted (a base image that does not
//! resolve, `rebuild: always`, Docker media types) is always built, with the reason said.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::candidate::{self, Candidate, Origin};
use crate::digest::Digest;
use crate::inputs::{self, ANNOTATION, Inputs};
use crate::plan::{ImagePlan, Plan};
use crate::registry::{Client, RegistryError};
use crate::workdir::WorkDir;

/// What skipping unchanged images needs from the command.
pub struct Skip<'a> {
    /// `--rebuild`: build every image (fingerprints are still recorded).
    pub rebuild: bool,
    /// `--deep`: what a reused image must pass too.
    pub deep: bool,
    /// The project's image names in the file's order: the images to build are built in it.
    pub order: &'a [String],
}

/// An image whose build is skipped, as the report says it: its tag already held a root
/// with its fingerprint.
#[derive(Debug, Clone, Serialize)]
pub struct Unchanged {
    pub image: String,
    /// The tag that already held it.
    pub since: String,
    pub digest: Digest,
    pub fingerprint: Digest,
}

impl Unchanged {
    /// What the report says of a reused candidate (`None` for any other).
    pub fn of(c: &Candidate) -> Option<Unchanged> {
        match &c.origin {
            Origin::Reused(r) => Some(Unchanged {
                image: c.image.name.clone(),
                since: r.since.clone(),
                digest: c.digest.clone(),
                fingerprint: r.fingerprint.clone(),
            }),
            _ => None,
        }
    }
}

/// Why an image is built.
#[derive(Debug, Clone, Serialize)]
pub struct Built {
    pub image: String,
    /// The inputs fingerprint it is annotated with, if its inputs could be fingerprinted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<Digest>,
    pub reason: String,
}

/// The decision for every image of a plan.
#[derive(Debug)]
pub struct Split {
    /// The part of the plan to build, each image annotated with its fingerprint.
    pub plan: Plan,
    /// The images reused: candidates with the verification that proved them.
    pub reused: Vec<Candidate>,
    pub built: Vec<Built>,
    /// Seconds spent fingerprinting.
    pub time: f64,
}

/// Decides, for each image of `full`, whether to build it (`project_dir` holds the
/// contexts). `skip.rebuild` forces every build (the fingerprints are still computed and
/// recorded). An image is reused only if what its tag holds passes the full
/// verification now; otherwise it is built.
pub fn split(
    client: &Client,
    full: &Plan,
    project_dir: &Path,
    work: &WorkDir,
    skip: &Skip,
) -> Split {
    let Skip {
        rebuild,
        deep,
        order,
    } = *skip;
    let started = std::time::Instant::now();
    let mut cache = inputs::context::HashCache::load(work);
    let mut reused = Vec::new();
    let mut built = Vec::new();
    for image in &full.images {
        let inputs = if image.docker_media_types {
            Inputs::Unknown(
                "`media_types: docker` carries no annotation to record inputs in".into(),
            )
        } else {
            inputs::fingerprint(client, project_dir, work.root(), image, &mut cache)
        };
        let fp = match inputs {
            Inputs::Known(f) => f.digest,
            Inputs::Unknown(why) => {
                built.push(Built {
                    image: image.name.clone(),
                    fingerprint: None,
                    reason: format!("always built: {why}"),
                });
                continue;
            }
        };
        if rebuild {
            built.push(Built {
                image: image.name.clone(),
                fingerprint: Some(fp),
                reason: "--rebuild".into(),
            });
            continue;
        }
        let held = holder(client, image, &fp).map(|(tag, digest)| {
            let verified = super::verify::verify_pushed(client, image, &digest, deep);
            (tag, digest, verified)
        });
        match held {
            Some((tag, digest, Ok(verified))) if verified.ok() => reused.push(Candidate {
                image: image.clone(),
                digest,
                attestations: Vec::new(),
                origin: Origin::Reused(Box::new(candidate::Reused {
                    since: tag,
                    fingerprint: fp,
                    verified,
                })),
            }),
            Some((tag, digest, _)) => built.push(Built {
                image: image.name.clone(),
                fingerprint: Some(fp),
                reason: format!(
                    "{}:{tag} holds its inputs ({}) but does not pass verification now",
                    image.repository.as_written(),
                    crate::verify::report::short(&digest)
                ),
            }),
            None => built.push(Built {
                image: image.name.clone(),
                fingerprint: Some(fp),
                reason: "its inputs changed (or no tag holds them yet)".into(),
            }),
        }
    }
    cache.save(work);
    let names: Vec<&str> = order
        .iter()
        .map(String::as_str)
        .filter(|n| built.iter().any(|b| b.image == *n))
        .collect();
    let mut plan = full.only(&names);
    for b in &built {
        if let Some(fp) = &b.fingerprint {
            plan.annotate(&b.image, ANNOTATION, fp.as_str());
        }
    }
    Split {
        plan,
        reused,
        built,
        time: started.elapsed().as_secs_f64(),
    }
}

#[derive(Deserialize)]
struct Annotated {
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

/// The first of `image`'s index tags whose root carries fingerprint `fp`: (tag, digest).
fn holder(client: &Client, image: &ImagePlan, fp: &Digest) -> Option<(String, Digest)> {
    for tag in &image.tags {
        let root = match client.get_manifest(&image.repository.at_tag(tag)) {
            Ok(f) => f,
            Err(RegistryError::NotFound { .. }) => continue,
            Err(_) => return None,
        };
        let a: Annotated = serde_json::from_slice(&root.bytes).ok()?;
        if a.annotations.get(ANNOTATION).is_some_and(|v| fp == v) {
            return Some((tag.clone(), Digest::parse(&root.digest).ok()?));
        }
    }
    None
}

//! The verify stage: each pushed digest against every platform its targets need, and
//! each plain manifest a single-manifest tag will get, before any tag moves. Returns the
//! verdicts and, for images that passed, the tag moves to make.

use std::time::{Duration, Instant};

use super::promote::{self, Move};
use crate::plan::ImagePlan;
use crate::registry::{Client, Fetched, Repository};
use crate::verify::{self, Requirements, Verdict, requirements};

/// What verification found for one image.
#[derive(Debug, Clone)]
pub struct VerifiedImage {
    pub repository: Repository,
    /// The root read (index or manifest), when the registry had it.
    pub root: Option<Fetched>,
    /// The index (or manifest) verdict first, then one per single-manifest tag.
    pub verdicts: Vec<Verdict>,
    /// The tag moves to make: empty when a verdict failed.
    pub moves: Vec<Move>,
    pub time: Duration,
}

impl VerifiedImage {
    pub fn ok(&self) -> bool {
        self.verdicts.iter().all(Verdict::ok)
    }
}

/// Verifies `digest` of `image` (the index or manifest buildx or the upload made) and
/// the plain manifests its single-manifest tags will point at.
pub fn verify_pushed(
    client: &Client,
    image: &ImagePlan,
    digest: &str,
    deep: bool,
) -> anyhow::Result<VerifiedImage> {
    let t = Instant::now();
    let deep_fn = crate::inspect::deep_fn();
    let repo = image.repository.clone();
    let mut req = requirements::for_index(image);
    req.deep |= deep;
    let reference = repo.at_digest(digest);
    let (v, root) = verify::verify_root(client, &reference, &req, Some(&deep_fn))?;
    let ok = v.ok();
    let mut verdicts = vec![v];
    let singles: Vec<_> = image
        .single_tags
        .iter()
        .map(|s| (s.tag.clone(), s.platform.clone(), s.service.clone()))
        .collect();
    let mut moves = if ok {
        promote::moves(client, &repo, digest, &image.tags, &singles)?
    } else {
        Vec::new()
    };
    for m in moves.iter_mut().filter(|m| m.single.is_some()) {
        let (platform, service) = m.single.clone().expect("filtered");
        // A target that takes Docker V2 schema 2 only (Heroku) gets its plain manifest
        // rewritten and PUT by digest here, then verified below like any other.
        let docker = image
            .single_tags
            .iter()
            .find(|s| s.tag == m.tag)
            .and_then(|s| requirements::single_docker(image, s));
        if docker.is_some() {
            promote::to_docker(client, &repo, m)?;
        }
        let mut r = Requirements {
            docker,
            single: true,
            deep: req.deep,
            deep_all: req.deep_all,
            deep_ignore: req.deep_ignore.clone(),
            ..Requirements::default()
        };
        r.need(platform, service);
        let child = repo.at_digest(&m.digest);
        let mut v = verify::verify_reference(client, &child, &r, Some(&deep_fn))?;
        v.reference = format!("{}:{} (to be)", repo.as_written(), m.tag);
        verdicts.push(v);
    }
    let ok = verdicts.iter().all(Verdict::ok);
    Ok(VerifiedImage {
        repository: repo,
        root,
        verdicts,
        moves: if ok { moves } else { Vec::new() },
        time: t.elapsed(),
    })
}

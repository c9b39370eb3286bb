//! A candidate: an image on its way to its tags — its plan, the root (index or
//! manifest) already in its repository, and where that root came from. `push` makes
//! one per image (built now, or reused), `merge` one per image assembled from legs;
//! [`finish`](super::finish::finish) takes them all the same way.

use std::time::Duration;

use super::upload::Uploaded;
use super::verify::VerifiedImage;
use crate::digest::Digest;
use crate::emulation::PlatformTiming;
use crate::plan::{ImagePlan, SmokePlan};
use crate::provenance::attestations::Detached;

/// One image and the root its tags would move to.
#[derive(Debug)]
pub struct Candidate {
    pub image: ImagePlan,
    /// The root's digest, in the image's repository.
    pub digest: Digest,
    pub origin: Origin,
    /// buildx's attestation manifests taken out of the root (`attestations:
    /// referrers`): published as referrers of their platform manifests before the tags
    /// move.
    pub attestations: Vec<Detached>,
}

/// Where a candidate's root came from.
#[derive(Debug)]
pub enum Origin {
    /// Built by this run.
    Built(Built),
    /// Not built: one of its tags already held a root with the same inputs, and that
    /// root passed the full verification now (that verification is kept: it is not
    /// run again).
    Reused(Box<Reused>),
    /// Assembled by `merge` from the manifests legs built elsewhere.
    Assembled(Legs),
}

/// What the legs of an assembled candidate recorded of their builds.
#[derive(Debug, Default)]
pub struct Legs {
    /// Where each platform's build time went, from its leg's record.
    pub timing: Vec<PlatformTiming>,
    /// The builders the legs ran on (`NAME (DRIVER)`), each once.
    pub builders: Vec<String>,
}

/// What the build of a candidate did.
#[derive(Debug)]
pub struct Built {
    /// Seconds the build took (one bake builds several images at once).
    pub seconds: f64,
    /// What mpbuild uploaded (the `docker` driver's layout), and how long it took.
    pub upload: Option<(Uploaded, Duration)>,
    /// Where the build's time went, per platform.
    pub timing: Vec<PlatformTiming>,
    /// What became of the build cache, for an image with `cache:`.
    pub cache: Option<Box<crate::buildx::cache::CacheOutcome>>,
    /// Seconds buildx's export steps ran (part of `seconds`), when the stream timed them.
    pub export: Option<f64>,
}

/// Why a candidate was not built.
#[derive(Debug)]
pub struct Reused {
    /// The tag that held it.
    pub since: String,
    /// Its inputs fingerprint.
    pub fingerprint: Digest,
    /// The verification it passed.
    pub verified: VerifiedImage,
}

impl Candidate {
    /// The verification this candidate already passed, if any.
    pub fn verified(&self) -> Option<&VerifiedImage> {
        match &self.origin {
            Origin::Reused(r) => Some(&r.verified),
            _ => None,
        }
    }

    /// The smoke run to do before a tag moves to this candidate: the image's `smoke:`
    /// as the project file says it now, whether the root was built now, assembled or
    /// reused (a reused root ran the smoke of its time, which may have changed since;
    /// the checks that decide whether a tag may move always run).
    pub fn smoke(&self) -> Option<&SmokePlan> {
        self.image.smoke.as_ref()
    }

    /// `REPO@DIGEST`, the repository as written.
    pub fn reference(&self) -> String {
        format!("{}@{}", self.image.repository.as_written(), self.digest)
    }
}

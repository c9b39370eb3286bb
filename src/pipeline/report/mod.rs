//! What a push did, as one value: the mirrors, the verdicts, per image the digest, its
//! platforms' manifests, the tags moved and the time per stage; or the stage it stopped
//! at and the tags that stayed where they were. The edge renders it as text or JSON.

use std::time::Duration;

use serde::Serialize;

use super::interrupt::interrupted;
use super::mirror::Done;
use super::promote::Moved;
use super::smoke::SmokeResult;
use super::upload::Uploaded;
use crate::digest::Digest;
use crate::plan::ImagePlan;
use crate::platform::Platform;
use crate::registry::Repository;
use crate::verify::Verdict;

pub mod text;

/// The stages of a push, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Each destination answers and takes a write, before anything is built.
    Preflight,
    Mirror,
    Build,
    Upload,
    /// `merge`: checking the legs' records and assembling the index.
    Merge,
    Verify,
    /// The image's own command run on each platform (`smoke:`).
    Smoke,
    /// Signing every digest a tag will name (`sign:`).
    Sign,
    /// Copying an image to its other repositories (`repositories:`), before any tag
    /// moves.
    Copy,
    /// A leg writing its records.
    Record,
    /// Provenance pushed as referrers: attestations, the verification record.
    Attest,
    Promote,
}

/// Why a push stopped before every tag moved.
#[derive(Debug)]
pub struct Failure {
    pub stage: Stage,
    /// The error, or none when a check failed (verification: exit 1).
    pub error: Option<anyhow::Error>,
    /// `REPO:TAG` of every tag that did not move.
    pub untouched: Vec<String>,
}

impl Failure {
    /// The short reason shown with the untouched tags.
    pub fn why(&self) -> &'static str {
        match (self.stage, &self.error) {
            (_, Some(e)) if interrupted(e) => "interrupted",
            (Stage::Preflight, _) => "a destination registry refused before the build",
            (Stage::Mirror, _) => "a mirror failed verification",
            (Stage::Build, _) => "the build failed",
            (Stage::Upload, _) => "the upload failed",
            (Stage::Merge, _) => "the merge was refused",
            (Stage::Verify, _) => "verification failed",
            (Stage::Smoke, None) => "the smoke run failed",
            (Stage::Smoke, Some(_)) => "the smoke run could not be carried out",
            (Stage::Sign, _) => "signing failed",
            (Stage::Copy, _) => "the copy to another repository failed",
            (Stage::Record, _) => "the leg's records could not be written",
            (Stage::Attest, _) => "the provenance could not be pushed",
            (Stage::Promote, _) => "promotion stopped",
        }
    }

    /// The line that says which tags stayed: "the build failed: no tag moved; … stay
    /// where they were".
    pub fn untouched_line(&self) -> String {
        if self.stage == Stage::Promote {
            return format!(
                "{}: these tags did not move: {}",
                self.why(),
                self.untouched.join(", ")
            );
        }
        let verb = if self.untouched.len() == 1 {
            "stays where it was"
        } else {
            "stay where they were"
        };
        format!(
            "{}: no tag moved; {} {verb}",
            self.why(),
            self.untouched.join(", ")
        )
    }
}

/// Seconds per stage for one image (the build is shared by a bake).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Times {
    /// None for `merge` (the legs were built elsewhere).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<f64>,
    /// The part of `build` buildx spent exporting (the image, its cache), by BuildKit's
    /// clock; none when the build was not timed (skipped, `merge`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload: Option<f64>,
    pub verify: f64,
    /// The smoke runs, when the image has `smoke:`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smoke: Option<f64>,
    /// Pushing its provenance as referrers (attestations, the verification record).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attest: Option<f64>,
    pub promote: f64,
}

/// One platform of a pushed image and its manifest.
#[derive(Debug, Clone, Serialize)]
pub struct PlatformManifest {
    pub platform: Platform,
    pub digest: Digest,
    /// The manifest's media type, as the root's descriptor says (for a leg's records).
    #[serde(skip)]
    pub media_type: String,
}

/// What happened to one image.
#[derive(Debug, Clone, Serialize)]
pub struct ImageReport {
    pub name: String,
    /// Serialised as written in the project file.
    pub repository: Repository,
    /// The pushed index (or manifest) digest.
    pub digest: Digest,
    pub platforms: Vec<PlatformManifest>,
    /// Tags moved, and where they now point.
    pub tags: Vec<Moved>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload: Option<Uploaded>,
    /// False when the build was skipped: the inputs had not changed.
    pub built: bool,
    /// The tag that already held this image's inputs, when the build was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unchanged_since: Option<String>,
    pub times: Times,
    /// Where the build's time went, per platform (empty when nothing was built here).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub timing: Vec<crate::emulation::PlatformTiming>,
    /// What became of the build cache, for an image with `cache:`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache: Option<crate::buildx::cache::CacheOutcome>,
    /// Its provenance, pushed as referrers before the tags moved: buildx's
    /// attestations and the verification record.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub referrers: Vec<super::attest::Published>,
    /// The planned single-manifest tags: (tag, platform, service), for the text report.
    #[serde(skip)]
    pub singles: Vec<(String, Platform, String)>,
    /// The planned index tags.
    #[serde(skip)]
    pub index_tags: Vec<String>,
    /// Its other repositories (`repositories:` after the first): each copy, and the
    /// tags moved there.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub copies: Vec<super::copies::CopyReport>,
}

/// An image a leg did not build, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub image: String,
    pub reason: String,
}

/// Which run a report is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kind {
    #[default]
    Push,
    /// One leg of a multi-runner build: built and verified, no tag moved.
    Leg,
    Merge,
}

/// Everything a push did.
#[derive(Debug, Default)]
pub struct PushReport {
    pub kind: Kind,
    pub mirrors: Vec<Done>,
    pub verdicts: Vec<Verdict>,
    /// The smoke runs, per image and platform.
    pub smoke: Vec<SmokeResult>,
    pub images: Vec<ImageReport>,
    pub failure: Option<Failure>,
    /// A leg: images that need none of its platforms.
    pub skipped: Vec<Skipped>,
    /// A leg: the records written.
    pub records: Vec<String>,
    /// Images whose build was skipped: their inputs were already in the registry.
    pub unchanged: Vec<super::unchanged::Unchanged>,
    /// Images built, and why.
    pub built: Vec<super::unchanged::Built>,
    /// What was signed before the tags moved (`sign:`).
    pub signed: Vec<super::sign::Signed>,
}

/// The JSON document of a push, leg or merge (`schema_version` 1).
#[derive(Serialize)]
struct Json<'a> {
    schema_version: u32,
    command: &'a str,
    result: &'static str,
    exit_code: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure: Option<FailureJson>,
    mirrors: Vec<MirrorJson<'a>>,
    verdicts: &'a [Verdict],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    smoke: &'a [SmokeResult],
    images: &'a [ImageReport],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    skipped: &'a [Skipped],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    records: &'a [String],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    unchanged: &'a [super::unchanged::Unchanged],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    built: &'a [super::unchanged::Built],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    signed: &'a [super::sign::Signed],
}

#[derive(Serialize)]
struct FailureJson {
    stage: Stage,
    reason: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// Tags that did not move (`REPO:TAG`).
    untouched: Vec<String>,
}

#[derive(Serialize)]
struct MirrorJson<'a> {
    source: String,
    destination: String,
    tagged: bool,
    #[serde(flatten)]
    mirrored: &'a super::mirror::Mirrored,
}

impl PushReport {
    /// The report as one JSON document; `code` is the exit code the run ends with.
    pub fn render_json(&self, command: &str, code: i32) -> String {
        let doc = Json {
            schema_version: 1,
            command,
            result: if self.failure.is_some() {
                "failed"
            } else {
                "ok"
            },
            exit_code: code,
            failure: self.failure.as_ref().map(|f| FailureJson {
                stage: f.stage,
                reason: f.why(),
                error: f.error.as_ref().map(|e| format!("{e:#}")),
                untouched: f.untouched.clone(),
            }),
            mirrors: self
                .mirrors
                .iter()
                .map(|d| MirrorJson {
                    source: d.src.to_string(),
                    destination: d.dest.to_string(),
                    tagged: d.tagged,
                    mirrored: &d.mirrored,
                })
                .collect(),
            verdicts: &self.verdicts,
            smoke: &self.smoke,
            images: &self.images,
            skipped: &self.skipped,
            records: &self.records,
            unchanged: &self.unchanged,
            built: &self.built,
            signed: &self.signed,
        };
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    }
}

/// "verification failed: DEST was not tagged", for a mirror that failed verification.
pub fn mirror_refused(done: &[Done]) -> Option<String> {
    done.iter()
        .find(|d| !d.tagged)
        .map(|d| format!("verification failed: {} was not tagged", d.dest))
}

/// `REPO:TAG` of every tag these images would move.
pub fn planned_tags<'a>(images: impl IntoIterator<Item = &'a ImagePlan>) -> Vec<String> {
    images
        .into_iter()
        .flat_map(|i| {
            std::iter::once(&i.repository)
                .chain(&i.also)
                .flat_map(move |r| {
                    i.tags
                        .iter()
                        .chain(i.single_tags.iter().map(|s| &s.tag))
                        .map(move |t| format!("{}:{t}", r.as_written()))
                })
        })
        .collect()
}

pub(crate) fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

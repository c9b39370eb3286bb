//! Where a build's time went, per image and platform, from buildx's progress stream:
//! each step's start and end, its platform (from its name, or from the Dockerfile's
//! stage when one platform is built and names carry none), the node buildx gave that
//! platform, and whether the step ran under emulation — a `RUN` step whose CPU is not
//! the node's (see [`crate::buildx::nodes`]). Steps that overlap are counted once.
//!
//! A platform's total runs from its first step's start to its last step's end. When an
//! image is built for one platform, every step of its build counts (loading the build
//! definition, exporting, pushing), and when it is built alone (a leg), the whole buildx
//! run does, from its start to its exit; when it is built for several at once, only the
//! steps named for that platform count, since the shared ones serve all. A step BuildKit
//! runs once for several platforms (the same work in a `$BUILDPLATFORM` stage) is
//! counted under the platform buildx names it for. Time spans come from the node that
//! ran the step, so a platform's figures never mix two machines' clocks.

use serde::{Deserialize, Serialize};

use crate::buildx::docker::Builder;
use crate::buildx::progress::{State, Step};
use crate::buildx::steps::{self, Label};
use crate::buildx::{nodes, timing};
use crate::inputs::stages::{Dockerfile, StagePlatform};
use crate::platform::Platform;

/// How many of a platform's slowest steps are kept.
pub const SLOWEST: usize = 3;
/// The shortest step kept among the slowest: 50 ms.
const MIN_SHOWN: i128 = 50_000_000;
/// The longest step text kept.
const STEP_TEXT: usize = 120;

/// One platform of one image: where its build time went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlatformTiming {
    pub platform: String,
    /// The builder node buildx gave the platform (none for the `docker` driver's only
    /// node when buildx's files name none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Seconds from its first step's start to its last step's end; for a leg (one image,
    /// one platform), at least the whole buildx run as mpbuild timed it.
    pub total_s: f64,
    /// Seconds when some step ran and none under emulation.
    pub native_s: f64,
    /// Seconds when a step ran under emulation (QEMU).
    pub emulated_s: f64,
    /// The Dockerfile's steps built for it, and how many came from the cache.
    pub steps: usize,
    pub cached: usize,
    /// The slowest steps that ran (not cached), slowest first.
    pub slowest: Vec<StepTiming>,
}

/// One step that ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepTiming {
    /// As buildx names it, without the brackets: `RUN npm ci`.
    pub step: String,
    /// `Dockerfile:7`, when the step is matched to its line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    pub seconds: f64,
    pub emulated: bool,
}

/// A Dockerfile step measured, for the history `plan` reads (not in any document).
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    pub platform: String,
    /// The instruction as the Dockerfile writes it (its key in the history).
    pub instruction: String,
    pub line: usize,
    pub seconds: f64,
    pub emulated: bool,
}

/// Everything the progress stream said about one image's build: where the time went,
/// and what became of its cache.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImageTiming {
    pub image: String,
    pub platforms: Vec<PlatformTiming>,
    pub measured: Vec<Measured>,
    pub cache: crate::buildx::cache::CacheOutcome,
    /// Seconds its export steps ran (see [`export_seconds`]); `None` when the stream
    /// timed none.
    pub export: Option<f64>,
}

/// One image of the build, as the measurement needs it.
pub struct ImageSource<'a> {
    pub name: &'a str,
    pub platforms: &'a [Platform],
    /// The Dockerfile's path as the project file names it (`Dockerfile`, `api/Dockerfile`).
    pub dockerfile_path: &'a str,
    /// The Dockerfile, parsed; `None` when it could not be read (no lines then).
    pub dockerfile: Option<&'a Dockerfile>,
}

/// A step of the stream, placed.
struct Placed<'a> {
    step: &'a Step,
    label: Label,
    image: usize,
    platform: usize,
    span: Option<timing::Span>,
    emulated: bool,
    line: Option<(usize, String)>,
}

/// Where the time of a build (or bake) of `images` went, per image and platform.
pub fn measure(state: &State, images: &[ImageSource], builder: &Builder) -> Vec<ImageTiming> {
    let targets: Vec<String> = if images.len() > 1 {
        images.iter().map(|i| i.name.to_string()).collect()
    } else {
        Vec::new()
    };
    let placed: Vec<Placed> = state
        .steps
        .values()
        .filter(|s| !s.name.is_empty())
        .filter_map(|s| place(s, steps::parse(&s.name, &targets), images, builder))
        .collect();
    images
        .iter()
        .enumerate()
        .map(|(i, img)| ImageTiming {
            image: img.name.to_string(),
            platforms: (0..img.platforms.len())
                .map(|p| {
                    let alone = images.len() == 1 && img.platforms.len() == 1;
                    summarize(&placed, (i, p), img, builder, (state.wall, alone))
                })
                .collect(),
            measured: placed
                .iter()
                .filter(|s| s.image == i && !s.step.cached)
                .filter_map(|s| {
                    let (line, instruction) = s.line.clone()?;
                    let (a, b) = s.span?;
                    Some(Measured {
                        platform: img.platforms[s.platform].to_string(),
                        instruction,
                        line,
                        seconds: round(timing::secs(b - a)),
                        emulated: s.emulated,
                    })
                })
                .collect(),
            cache: crate::buildx::cache::outcome(state, &targets, img.name),
            export: export_seconds(state, &targets, img.name),
        })
        .collect()
}

/// How long the export steps of `image`'s build ran, by BuildKit's clock (overlaps
/// counted once): the steps the export heartbeat beats for — writing the image (the
/// `docker` driver's OCI layout, or a push) and its cache. `None` when none has both a
/// start and an end. `targets` as [`measure`] parses names with.
fn export_seconds(state: &State, targets: &[String], image: &str) -> Option<f64> {
    let spans: Vec<timing::Span> = state
        .steps
        .values()
        .filter(|s| {
            let label = steps::parse(&s.name, targets);
            !label.internal
                // A bake's steps carry their target; a single build's carry none.
                && label.target.as_deref() == (!targets.is_empty()).then_some(image)
                && crate::buildx::progress::is_export(&label.command)
        })
        .filter_map(|s| match (s.started_at, s.completed_at) {
            (Some(a), Some(b)) if b >= a => Some((a, b)),
            _ => None,
        })
        .collect();
    (!spans.is_empty()).then(|| round(timing::secs(timing::busy(&spans))))
}

/// Which image and platform a step belongs to, where it ran, and its Dockerfile line.
fn place<'a>(
    step: &'a Step,
    label: Label,
    images: &[ImageSource],
    builder: &Builder,
) -> Option<Placed<'a>> {
    let image = match &label.target {
        Some(t) => images.iter().position(|i| i.name == t)?,
        None if images.len() == 1 => 0,
        None => return None,
    };
    let img = &images[image];
    let platform = match label.built_for() {
        Some(p) => img.platforms.iter().position(|q| q.matches(p))?,
        None if img.platforms.len() == 1 => 0,
        None => return None,
    };
    let built_for = &img.platforms[platform];
    let (node, _) = nodes::node_for(builder, built_for);
    let df = img.dockerfile;
    let stage = df.and_then(|d| d.stage_named(label.stage.as_deref()));
    // Where the step runs: its name says, else its stage's `--platform`, else the
    // platform it is built for.
    let runs_on = match (
        &label.platform,
        stage.zip(df).map(|(s, d)| d.platform_of(s)),
    ) {
        (Some(p), _) => p.clone(),
        (None, Some(StagePlatform::Build)) => nodes::native_platform(node),
        (None, Some(StagePlatform::Fixed(p))) => p.clone(),
        _ => built_for.clone(),
    };
    let emulated = label.is_run() && !step.cached && !nodes::runs_natively(node, &runs_on);
    let line = label.index.and_then(|(n, m)| {
        let (_, ins) = df?.step(label.stage.as_deref(), n, m)?;
        (label.keyword() == Some(ins.keyword.as_str())).then(|| (ins.line, ins.text.clone()))
    });
    let span = match (step.started_at, step.completed_at) {
        (Some(a), Some(b)) if b >= a => Some((a, b)),
        _ => None,
    };
    Some(Placed {
        step,
        label,
        image,
        platform,
        span,
        emulated,
        line,
    })
}

fn summarize(
    placed: &[Placed],
    (image, platform): (usize, usize),
    img: &ImageSource,
    builder: &Builder,
    (wall, alone): (Option<std::time::Duration>, bool),
) -> PlatformTiming {
    let mine: Vec<&Placed> = placed
        .iter()
        .filter(|s| s.image == image && s.platform == platform)
        .collect();
    let spans: Vec<timing::Span> = mine.iter().filter_map(|s| s.span).collect();
    let emulated: Vec<timing::Span> = mine
        .iter()
        .filter(|s| s.emulated)
        .filter_map(|s| s.span)
        .collect();
    let busy = timing::busy(&spans);
    let emulated_ns = timing::busy(&emulated);
    let dockerfile_steps: Vec<&&Placed> = mine.iter().filter(|s| s.label.index.is_some()).collect();
    let mut ran: Vec<&&Placed> = dockerfile_steps
        .iter()
        .copied()
        // A step that took no time (a FROM already there) is not worth a line.
        .filter(|s| !s.step.cached && s.span.is_some_and(|(a, b)| b - a >= MIN_SHOWN))
        .collect();
    ran.sort_by_key(|s| std::cmp::Reverse(s.span.map(|(a, b)| b - a)));
    let p = &img.platforms[platform];
    let mut total = timing::wall(&spans);
    // Built alone for one platform (a leg), the image's build is the whole buildx run:
    // its start (the client, the session) and its end (the export to the client) count.
    if let (Some(w), true) = (wall, alone) {
        total = total.max(w.as_nanos() as i128);
    }
    PlatformTiming {
        platform: p.to_string(),
        node: nodes::node_for(builder, p).0.map(|n| n.name.clone()),
        total_s: round(timing::secs(total)),
        native_s: round(timing::secs(busy - emulated_ns)),
        emulated_s: round(timing::secs(emulated_ns)),
        steps: dockerfile_steps.len(),
        cached: dockerfile_steps.iter().filter(|s| s.step.cached).count(),
        slowest: ran
            .iter()
            .take(SLOWEST)
            .map(|s| StepTiming {
                step: clip(&s.label.command),
                at: s
                    .line
                    .as_ref()
                    .map(|(l, _)| format!("{}:{l}", img.dockerfile_path)),
                seconds: round(timing::secs(s.span.map_or(0, |(a, b)| b - a))),
                emulated: s.emulated,
            })
            .collect(),
    }
}

fn clip(s: &str) -> String {
    if s.chars().count() <= STEP_TEXT {
        return s.to_string();
    }
    let mut out: String = s.chars().take(STEP_TEXT - 1).collect();
    out.push('…');
    out
}

/// Seconds to the millisecond (what the report and documents carry).
fn round(s: f64) -> f64 {
    (s * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests;

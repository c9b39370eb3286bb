//! The push pipeline, one stage per file. Each stage is a plain function with typed
//! inputs and outputs; none prints (live progress goes to the [`Ui`](crate::buildx::Ui)
//! the edge hands in), so the edge renders the same outcome as text or JSON.
//!
//! `preflight` (each destination answers and takes a write) → `mirror` (the project's base-image copies) → `build` (buildx: push by digest, or an
//! OCI layout) → `upload` (the `docker` driver's layout) → `verify` (the pushed digest,
//! and the plain manifests single-manifest tags will get) → `smoke` (the image's own
//! command run in the pushed digest on each platform, when it has `smoke:`) → `promote`
//! (tags, only after every check) → `report` (what happened). `push` composes them. A multi-runner build
//! splits them: each leg runs `push` for its platforms with no tags and writes a
//! `record`; `merge` assembles the legs' index and runs verify → smoke → promote → report.

pub mod attest;
pub mod build;
pub mod candidate;
pub mod copies;
pub mod dry_run;
pub mod finish;
pub mod interrupt;
pub mod leg;
pub mod merge;
pub mod mirror;
pub mod preflight;
pub mod promote;
mod push;
pub mod record;
pub mod report;
pub mod sign;
pub mod smoke;
pub mod unchanged;
pub mod upload;
pub mod verify;

pub use build::Tools;
pub use leg::leg;
pub use push::{Push, push};
pub use report::{Failure, PushReport, Stage};
pub use unchanged::Skip;

//! Where multi-platform build time goes, and what would save it: each build measured
//! per platform and step (`measure`), the measurements kept between runs (`history`),
//! and the lines a person reads (`render`).

pub mod history;
pub mod measure;
pub mod render;

pub use measure::{ImageTiming, PlatformTiming, StepTiming};

use std::collections::BTreeMap;
use std::path::Path;

use crate::buildx::docker::Builder;
use crate::buildx::progress::State;
use crate::plan::ImagePlan;

/// Where the time of a finished build (or bake) of `images` went, the Dockerfiles read
/// from `project_dir` to name each step's line.
pub fn measure_build(
    state: &State,
    images: &[&ImagePlan],
    project_dir: &Path,
    builder: &Builder,
) -> Vec<ImageTiming> {
    let dockerfiles: Vec<Option<crate::inputs::stages::Dockerfile>> = images
        .iter()
        .map(|i| {
            let text = crate::fsread::read_text(
                &project_dir.join(&i.dockerfile),
                crate::fsread::MAX_TEXT_BYTES,
            )
            .ok()?;
            let args: BTreeMap<String, String> = i.build_args.iter().cloned().collect();
            Some(crate::inputs::stages::parse(&text, &args))
        })
        .collect();
    let sources: Vec<measure::ImageSource> = images
        .iter()
        .zip(&dockerfiles)
        .map(|(i, d)| measure::ImageSource {
            name: &i.name,
            platforms: &i.platforms,
            dockerfile_path: &i.dockerfile,
            dockerfile: d.as_ref(),
        })
        .collect();
    measure::measure(state, &sources, builder)
}

//! Where multi-platform build time goes, and what would save it: each build measured
//! per platform and step (`measure`), the measurements kept between runs (`history`),
//! and the lines a person reads (`render`).

pub mod forecast;
pub mod history;
pub mod measure;
pub mod remedy;
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
            let text = i.dockerfile_text(project_dir).ok()?;
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

/// The builder `plan` forecasts for, without running docker: the project's declared
/// builder (each node native for its platforms), else the one buildx's own files
/// describe (`--builder`, `BUILDX_BUILDER`, the current one), else this machine alone.
pub fn plan_builder(project: &crate::config::Project, name: Option<&str>) -> Builder {
    if let Some(d) = &project.declared_builder {
        return Builder {
            name: d.name.clone(),
            driver: d.driver.clone(),
            nodes: d
                .nodes
                .iter()
                .map(|n| {
                    let ps: Vec<String> = n.platforms.iter().map(ToString::to_string).collect();
                    crate::buildx::docker::Node {
                        name: n.name.clone(),
                        endpoint: n.endpoint.clone().unwrap_or_default(),
                        status: String::new(),
                        platforms: ps.clone(),
                        configured: ps,
                    }
                })
                .collect(),
        };
    }
    // buildx's files cannot tell (a docker context, a builder they do not list): the
    // context's own builder is the `docker` driver on this machine.
    crate::buildx::state::builder(name).unwrap_or_else(|| Builder {
        name: name.unwrap_or("default").to_string(),
        driver: if name.is_some() { "unknown" } else { "docker" }.into(),
        nodes: Vec::new(),
    })
}

/// The forecast for every image of `plan`: Dockerfiles read from `project_dir`, the
/// last measured times from the project's work directory (read only).
pub fn forecast_plan(
    plan: &crate::plan::Plan,
    project_dir: &Path,
    work_dir: &Path,
    builder: &Builder,
) -> Vec<forecast::Forecast> {
    let history = history::load(work_dir);
    plan.images
        .iter()
        .map(|i| {
            let parsed = i
                .dockerfile_text(project_dir)
                .map(|text| {
                    let args: BTreeMap<String, String> = i.build_args.iter().cloned().collect();
                    crate::inputs::stages::parse(&text, &args)
                })
                .map_err(|e| format!("{}: {e}", i.dockerfile));
            // The stage buildx builds: `--target` in the image's argv.
            let stage = i
                .command
                .iter()
                .position(|a| a == "--target")
                .and_then(|at| i.command.get(at + 1))
                .map(String::as_str);
            forecast::forecast(
                &forecast::Input {
                    image: &i.name,
                    dockerfile_path: &i.dockerfile,
                    dockerfile: parsed.as_ref().map_err(Clone::clone),
                    stage,
                    platforms: &i.platforms,
                },
                builder,
                &history,
            )
        })
        .collect()
}

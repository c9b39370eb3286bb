//! The build stage: the builder probed, one `docker buildx build` per image or one
//! `bake` for several, and the digests buildx reports. Nothing reaches a tag here. The
//! plan's outputs lie in the run's own directory (`workdir::RunDir`), new and empty, so
//! no earlier run's layout or metadata file can be taken for this build's.

use std::path::Path;

use crate::buildx::docker::Launch;
use crate::buildx::{self, BuildError, Builder, Job, Ui, Version};
use crate::emulation::{self, ImageTiming};
use crate::plan::{ImagePlan, Output, Plan};
use crate::workdir::WorkDir;

/// docker, its buildx and the builder a push will use.
#[derive(Debug, Clone)]
pub struct Tools {
    /// docker, and buildx's plugin binary when it can be run directly.
    pub launch: Launch,
    pub version: Version,
    pub builder: Builder,
}

impl Tools {
    /// Finds docker and buildx and reads the builder's driver: from buildx's own files
    /// and a cached version where it can, else with `docker buildx version` and
    /// `docker buildx inspect`, run side by side.
    pub fn probe(builder: Option<&str>) -> Result<Tools, BuildError> {
        let launch = Launch::locate()?;
        let docker = &launch.docker;
        let (version, found) = std::thread::scope(|s| {
            let version = s.spawn(|| match buildx::state::cached_version(docker) {
                Some(v) if v >= buildx::docker::MINIMUM => Ok(v),
                _ => buildx::docker::buildx_version(&launch).inspect(|v| {
                    buildx::state::store_version(docker, *v);
                }),
            });
            let found = match buildx::state::builder(builder) {
                Some(b) => Ok(b),
                None => buildx::docker::inspect(&launch, builder),
            };
            (version.join().expect("version probe panicked"), found)
        });
        Ok(Tools {
            launch,
            version: version?,
            builder: found?,
        })
    }

    /// How this builder's result reaches the registry.
    pub fn output(&self) -> Output {
        if self.builder.can_push_by_digest() {
            Output::PushByDigest
        } else {
            Output::OciLayout
        }
    }
}

/// Runs the plan's buildx commands in `cwd` (the project directory); where each image's
/// build time went, per platform.
pub fn build(
    tools: &Tools,
    cwd: &Path,
    plan: &Plan,
    ui: &Ui,
    verbose: bool,
    work: &WorkDir,
) -> anyhow::Result<Vec<ImageTiming>> {
    let platforms = |images: &[&ImagePlan]| {
        images
            .iter()
            .map(|i| {
                let p = i.platforms.iter().map(ToString::to_string).collect();
                (i.name.clone(), p)
            })
            .collect()
    };
    let mut timings = Vec::new();
    for image in &plan.images {
        local_cache_dir(image)?;
    }
    crate::plan::write_inline(&plan.images)?;
    if let Some(b) = &plan.bake {
        if let Some((needed, why)) = crate::plan::needs_version(&b.file)
            && tools.version < needed
        {
            return Err(BuildError::BuildxTooOld {
                found: tools.version.to_string(),
                needed: needed.to_string(),
                why: why.into(),
            }
            .into());
        }
        std::fs::write(&b.file_path, serde_json::to_vec_pretty(&b.file)?)?;
        let names: Vec<String> = plan.images.iter().map(|i| i.name.clone()).collect();
        if verbose {
            ui.line(&format!("$ {}", crate::shell::join(&b.command)));
        }
        let images: Vec<&ImagePlan> = plan.images.iter().collect();
        let job = Job {
            argv: &b.command,
            cwd,
            what: format!("bake of {}", names.join(", ")),
            log: work.build_log(&names.join("+")),
            images: names,
            platforms: platforms(&images),
            layouts: images.iter().filter_map(|i| i.oci_dir.clone()).collect(),
        };
        let state = buildx::run::run(&tools.launch, tools.version, &job, ui)?;
        timings = emulation::measure_build(&state, &images, cwd, &tools.builder);
    } else {
        for image in &plan.images {
            if verbose {
                ui.line(&format!("$ {}", crate::shell::join(&image.command)));
            }
            let job = Job {
                argv: &image.command,
                cwd,
                images: vec![image.name.clone()],
                what: format!("build of image `{}`", image.name),
                platforms: platforms(&[image]),
                log: work.build_log(&image.name),
                layouts: image.oci_dir.iter().cloned().collect(),
            };
            let state = buildx::run::run(&tools.launch, tools.version, &job, ui)?;
            timings.extend(emulation::measure_build(
                &state,
                &[image],
                cwd,
                &tools.builder,
            ));
        }
    }
    Ok(timings)
}

/// Makes (or checks) the directory a `cache: local` export writes, in the work
/// directory: this user's, 0700, reached through no link, like every path mpbuild hands
/// to buildx. An explicit `type=local` destination is the user's own and left to buildx.
fn local_cache_dir(image: &ImagePlan) -> Result<(), crate::workdir::WorkDirError> {
    let dest = image
        .command
        .windows(2)
        .filter(|w| w[0] == "--cache-to")
        .filter_map(|w| w[1].strip_prefix("type=local,"))
        .flat_map(|opts| opts.split(','))
        .find_map(|kv| kv.strip_prefix("dest="))
        .map(std::path::Path::new);
    match (dest, image.local_cache.parent()) {
        (Some(d), Some(root)) if d.starts_with(&image.local_cache) => {
            crate::workdir::secure::ensure(d, root)
        }
        _ => Ok(()),
    }
}

/// The digest buildx reported for each image of the plan, in plan order.
pub fn digests(plan: &Plan) -> Result<Vec<crate::digest::Digest>, BuildError> {
    plan.images
        .iter()
        .map(|image| match &plan.bake {
            Some(b) => buildx::metadata::bake_digest(&b.metadata_file, &image.name),
            None => buildx::metadata::digest(&image.metadata_file),
        })
        .collect()
}

//! `mpbuild build`: a local developer build, loaded into Docker.

use crate::buildx::{self, Job, Mode, Ui};
use crate::cli::{BuildArgs, Global, ProgressArg};
use crate::exit::Code;
use crate::plan::{Options, Output, Plan};
use crate::platform::{self, Platform};
use crate::verify::requirements;

pub fn run(global: &Global, args: &BuildArgs) -> anyhow::Result<Code> {
    let project = crate::settings::load_project(global)?;
    let images = crate::settings::select_images(&project, &args.images)?;
    let host = Platform::host();
    let builder = args.builder.clone().or_else(|| project.builder.clone());
    let plan = Plan::for_images(
        &project,
        &images,
        &Options {
            output: Output::OciLayout,
            work_dir: crate::settings::work_dir(&project),
            builder,
        },
    );
    // What to build: the flags, else this machine's platform.
    let asked = requirements::from_flags(
        &project.catalog,
        &args.targets,
        &args.platforms,
        false,
        &host,
    )?;
    let platforms: Vec<Platform> = if asked.platforms.is_empty() {
        vec![host.clone()]
    } else {
        asked.platforms.iter().map(|(p, _)| p.clone()).collect()
    };
    let mode = if args.progress == ProgressArg::Plain {
        Mode::Plain
    } else {
        Mode::detect(false)
    };
    let ui = Ui::new(mode);
    let mut commands = Vec::new();
    for image in &plan.images {
        if asked.platforms.is_empty() && !image.platforms.iter().any(|p| p.matches(&host)) {
            let first = image.targets.first();
            let hint = first
                .map(|t| format!(" — test with `--target {}` to run it emulated", t.service))
                .unwrap_or_default();
            let who: Vec<String> = image
                .targets
                .iter()
                .map(|t| format!("{} runs {}", t.service, platform::join(&t.platforms)))
                .collect();
            ui.line(&format!(
                "note: you are on {host}; image `{}` is not for it ({}){hint}",
                image.name,
                who.join("; ")
            ));
        }
        commands.push((image, image.local_argv(&platforms)));
    }
    if args.dry_run {
        for (_, argv) in &commands {
            println!("{}", crate::shell::join(argv));
        }
        return Ok(Code::Ok);
    }
    buildx::install_interrupt_handler();
    let docker = buildx::docker::locate()?;
    let version = buildx::docker::buildx_version(&docker)?;
    for (image, argv) in &commands {
        if global.verbose {
            ui.line(&format!("$ {}", crate::shell::join(argv)));
        }
        let job = Job {
            argv,
            cwd: &project.dir,
            images: vec![image.name.clone()],
            what: format!("build of image `{}`", image.name),
        };
        buildx::run::run(&docker, version, &job, &ui)?;
        let tags: Vec<String> = image
            .tags
            .iter()
            .map(|t| format!("{}:{t}", image.repository))
            .collect();
        println!(
            "built {} for {} → loaded as {}",
            image.name,
            platform::join(&platforms),
            tags.join(", ")
        );
    }
    Ok(Code::Ok)
}

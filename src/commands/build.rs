//! `mpbuild build`: a local developer build, loaded into Docker.

use std::path::{Path, PathBuf};

use crate::buildx::docker::Launch;
use crate::buildx::{self, Job, Ui, Version};
use crate::settings::Settings;
use serde_json::json;

use crate::cli::{BuildArgs, Format};
use crate::config::Project;
use crate::exit::Code;
use crate::plan::{ImagePlan, Options, Output, Plan};
use crate::platform::{self, Platform};
use crate::verify::requirements;

pub fn run(s: &Settings, args: &BuildArgs) -> anyhow::Result<Code> {
    let project = s.project()?;
    let images = crate::settings::select_images(&project, &args.images)?;
    let host = Platform::host();
    // A run directory of its own for what the build reads from mpbuild (an inline
    // Dockerfile), removed when the run ends.
    let work = crate::workdir::WorkDir::open(&crate::workdir::location(&project.dir))?;
    let run = if args.dry_run {
        None
    } else {
        Some(work.begin_run()?)
    };
    let options = Options {
        output: Output::OciLayout,
        work_dir: run.as_ref().map_or(work.root(), |r| r.path()).to_path_buf(),
        builder: s.builder(args.builder.as_deref(), Some(&project)),
    };
    let plan = Plan::for_images(&project, &images, &options);
    refuse_linked(&plan)?;
    let (platforms, by_flags) = platforms(&project, args, &host)?;
    for image in &plan.images {
        crate::inputs::check_files(&project.dir, image)?;
    }
    let ui = s.ui(args.progress);
    let mut commands = Vec::new();
    for image in &plan.images {
        if !by_flags && !image.platforms.iter().any(|p| p.matches(&host)) {
            ui.line(&not_for_host(image, &host));
        }
        commands.push((image, image.local_argv(&platforms)));
    }
    let cwd = std::fs::canonicalize(&project.dir).unwrap_or_else(|_| project.dir.clone());
    let entry = |image: &ImagePlan, argv: &[String]| entry(image, argv, &platforms, &cwd);
    if args.dry_run {
        dry_run(s, args.format, &commands, &entry);
        return Ok(Code::Ok);
    }
    crate::plan::write_inline(&plan.images)?;
    let launch = buildx::docker::Launch::locate()?;
    let version = buildx::docker::buildx_version(&launch)?;
    let tools = (&launch, version);
    let mut built = Vec::new();
    for (image, argv) in &commands {
        let log = work.build_log(&image.name);
        build(s, &ui, tools, &project.dir, (image, argv), &platforms, log)?;
        if args.format == Format::Text && !s.printer().quiet() {
            s.printer().outln(&built_line(image, &platforms));
        }
        built.push(entry(image, argv));
    }
    drop(run);
    if args.format == Format::Json {
        s.printer().value(&document(false, built));
    }
    Ok(Code::Ok)
}

/// `--dry-run`: each image's argv (text), or the JSON document.
fn dry_run(
    s: &Settings,
    format: Format,
    commands: &[(&ImagePlan, Vec<String>)],
    entry: &dyn Fn(&ImagePlan, &[String]) -> serde_json::Value,
) {
    let p = s.printer();
    match format {
        Format::Json => p.value(&document(
            true,
            commands.iter().map(|(i, a)| entry(i, a)).collect(),
        )),
        Format::Text => commands
            .iter()
            .for_each(|(_, a)| crate::outln!(p, "{}", crate::shell::join(a))),
    }
}

/// The line saying an image was built, and the local name it was loaded as.
fn built_line(image: &ImagePlan, platforms: &[Platform]) -> String {
    format!(
        "built {} for {} → loaded as {} (a local name: `docker push` cannot put it over a tag of {}; `mpbuild push` publishes every platform)",
        image.name,
        platform::join(platforms),
        image.local_name(platforms),
        image.repository.as_written()
    )
}

/// What to build: the platforms the flags ask for (and `true`), else this machine's.
fn platforms(
    project: &Project,
    args: &BuildArgs,
    host: &Platform,
) -> anyhow::Result<(Vec<Platform>, bool)> {
    let asked = requirements::from_flags(
        &project.catalog,
        &args.targets,
        &args.platforms,
        false,
        host,
    )?;
    Ok(if asked.platforms.is_empty() {
        (vec![host.clone()], false)
    } else {
        (asked.platforms.into_iter().map(|(p, _)| p).collect(), true)
    })
}

/// The note for an image none of whose targets runs on this machine.
fn not_for_host(image: &ImagePlan, host: &Platform) -> String {
    let hint = image
        .targets
        .first()
        .map(|t| match t.platforms.first() {
            Some(p) if !t.in_catalog => format!(" — test with `--platform {p}` to run it emulated"),
            _ => format!(" — test with `--target {}` to run it emulated", t.service),
        })
        .unwrap_or_default();
    let who: Vec<String> = image
        .targets
        .iter()
        .map(|t| format!("{} runs {}", t.service, platform::join(&t.platforms)))
        .collect();
    format!(
        "note: you are on {host}; image `{}` is not for it ({}){hint}",
        image.name,
        who.join("; ")
    )
}

/// Runs one image's local build (`argv`, in the project directory) for `platforms`,
/// its whole log kept in `log`.
fn build(
    s: &Settings,
    ui: &Ui,
    (launch, version): (&Launch, Version),
    dir: &Path,
    (image, argv): (&ImagePlan, &[String]),
    platforms: &[Platform],
    log: Option<PathBuf>,
) -> anyhow::Result<()> {
    if s.verbose {
        ui.line(&format!("$ {}", crate::shell::join(argv)));
    }
    let job = Job {
        argv,
        cwd: dir,
        images: vec![image.name.clone()],
        what: format!("build of image `{}`", image.name),
        platforms: vec![(
            image.name.clone(),
            platforms.iter().map(ToString::to_string).collect(),
        )],
        log,
        layouts: Vec::new(),
    };
    buildx::run::run(launch, version, &job, ui)?;
    Ok(())
}

/// One image of the JSON document.
fn entry(
    image: &ImagePlan,
    argv: &[String],
    platforms: &[Platform],
    cwd: &Path,
) -> serde_json::Value {
    json!({
        "name": image.name,
        "platforms": platforms.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "loaded_as": [image.local_name(platforms)],
        "argv": argv,
        "cwd": cwd,
    })
}

/// The build's JSON document: per image, the platforms built, the local name it was
/// loaded as, and the argv run (from `cwd`).
fn document(dry_run: bool, images: Vec<serde_json::Value>) -> serde_json::Value {
    json!({
        "schema_version": super::output::SCHEMA_VERSION,
        "command": "build",
        "result": "ok",
        "exit_code": 0,
        "dry_run": dry_run,
        "images": images,
    })
}

/// A local build is one `docker buildx build` per image, which cannot build another image
/// of the project as a named context (`target:`): such an image is refused, saying how
/// `push` builds it.
fn refuse_linked(plan: &Plan) -> Result<(), crate::exit::UsageError> {
    match plan.images.iter().find(|i| !i.linked.is_empty()) {
        Some(image) => Err(crate::exit::UsageError::new(format!(
            "image `{}` takes image `{}` as build context `{}`: a local build runs `docker buildx build`, which cannot build another image as a context",
            image.name, image.linked[0].plan.name, image.linked[0].context
        ))
        .with_help(format!(
            "`mpbuild push` builds it in one bake (`mpbuild plan --image {}` shows the bake file)",
            image.name
        ))),
        None => Ok(()),
    }
}

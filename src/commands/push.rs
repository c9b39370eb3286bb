//! `mpbuild push`: settings → `pipeline::push` (or, with `--platform` and
//! `--digests-dir`, `pipeline::leg`) → the report. A failed build, upload or
//! verification moves no tag, and says which tags stayed where they were.

use super::output;
use crate::buildx::Ui;
use crate::cli::{DeepArg, PushArgs};
use crate::config::{Image, Project};
use crate::exit::Code;
use crate::pipeline::report::{Kind, Skipped};
use crate::pipeline::{self, Push, Skip, Tools, mirror};
use crate::plan::{Options, Output, Plan};
use crate::platform::Platform;
use crate::registry::Client;
use crate::settings::{self, Settings};
use crate::workdir::{self, RunDir, WorkDir};

pub fn run(s: &Settings, args: &PushArgs) -> anyhow::Result<Code> {
    let project = s.project()?;
    let images = settings::select_images(&project, &args.images)?;
    let leg = pipeline::leg::leg_platforms(&args.platforms, args.digests_dir.as_deref(), &images)?;
    let builder = s.builder(args.builder.as_deref(), Some(&project));
    let tools = tools(builder.as_deref(), args.dry_run)?;
    let (work, run) = work_dirs(&project, tools.is_some() && !args.dry_run)?;
    let options = Options {
        output: tools.as_ref().map_or(Output::OciLayout, Tools::output),
        work_dir: run.as_ref().map_or(work.root(), |r| r.path()).to_path_buf(),
        builder,
    };
    let (plan, skipped) = plan(&project, &images, &options, leg.as_deref(), args.deep)?;
    let client = s.client(&args.registry, project.insecure_registries.clone())?;
    let order: Vec<String> = project.images.iter().map(|i| i.name.clone()).collect();
    let skip = leg.is_none().then_some(Skip {
        rebuild: args.rebuild,
        deep: args.deep.is_some(),
        order: &order,
    });
    let tools = match tools {
        Some(t) if !args.dry_run => t,
        other => {
            dry_run(
                s,
                (&client, &work),
                &plan,
                &project,
                skip.as_ref(),
                other.as_ref(),
            );
            return Ok(Code::Ok);
        }
    };
    let env = |name: &str| std::env::var(name).ok();
    let cosign = sign_preflight(&plan, leg.is_none(), &env)?;
    let signing = cosign.as_ref().map(|tool| crate::signing::sign::Signing {
        tool,
        env: &env,
        insecure: &project.insecure_registries,
    });
    let ui = s.ui(args.progress);
    announce(&ui, &tools, options.output, &skipped, s.verbose);
    let mirrors = mirror::Job::for_project(&project)?;
    let push = Push {
        plan: &plan,
        project_dir: &project.dir,
        work: &work,
        tools: &tools,
        client: &client,
        mirrors: &mirrors,
        deep: args.deep.is_some(),
        verbose: s.verbose,
        skip,
        kind: if leg.is_some() { Kind::Leg } else { Kind::Push },
        skipped: &skipped,
        sign: signing.as_ref(),
    };
    let report = match &args.digests_dir {
        Some(dir) => pipeline::leg(&push, &ui, dir, &tools.builder.describe()),
        None => pipeline::push(&push, &ui),
    };
    // This run's directory goes now, whatever happened (also after Ctrl-C): the OCI
    // layouts in it are in the registry or of no use.
    drop(run);
    output::finish(report, "push", &args.report, &ui)
}

/// Signing made ready before anything is built (cosign, the key and its password, or
/// an OIDC token), when an image of `plan` is signed; a leg (`signs` false) signs
/// nothing.
fn sign_preflight(
    plan: &Plan,
    signs: bool,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Option<crate::signing::Cosign>> {
    let signers: Vec<_> = plan
        .images
        .iter()
        .map(|i| (i.name.as_str(), i.sign.as_ref().filter(|_| signs)))
        .collect();
    Ok(crate::signing::sign::preflight(&signers, env)?)
}

/// The project's work directory (checked: this user's, no link followed) and, for a
/// run that builds, a directory of its own inside it, removed when the run ends.
fn work_dirs(project: &Project, builds: bool) -> anyhow::Result<(WorkDir, Option<RunDir>)> {
    let work = WorkDir::open(&workdir::location(&project.dir))?;
    let run = if builds {
        Some(work.begin_run()?)
    } else {
        None
    };
    Ok((work, run))
}

/// docker, buildx and the builder: their driver decides how the result reaches the
/// registry. A dry run goes on without them.
fn tools(builder: Option<&str>, dry_run: bool) -> anyhow::Result<Option<Tools>> {
    match Tools::probe(builder) {
        Ok(t) => Ok(Some(t)),
        Err(_) if dry_run => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The plan of the selected images (of a leg's platforms, with the images it skips),
/// `--deep=all` applied; its files checked (a FIFO Dockerfile or .dockerignore would
/// hang buildx: refused before anything runs).
fn plan(
    project: &Project,
    images: &[&Image],
    options: &Options,
    leg: Option<&[Platform]>,
    deep: Option<DeepArg>,
) -> anyhow::Result<(Plan, Vec<Skipped>)> {
    let (mut plan, skipped) = match leg {
        Some(platforms) => {
            let leg = Plan::leg(project, images, options, platforms);
            let skipped = pipeline::leg::skipped(&leg, platforms);
            (leg.plan, skipped)
        }
        None => (Plan::for_images(project, images, options), Vec::new()),
    };
    if deep == Some(DeepArg::All) {
        plan.deep_all();
    }
    for image in &plan.images {
        crate::inputs::check_files(&project.dir, image)?;
    }
    Ok((plan, skipped))
}

/// `--dry-run`: which images would be reused, then the steps a push would take.
fn dry_run(
    s: &Settings,
    (client, work): (&Client, &WorkDir),
    plan: &Plan,
    project: &Project,
    skip: Option<&Skip>,
    tools: Option<&Tools>,
) {
    if let Some(skip) = skip {
        let split = pipeline::unchanged::split(client, plan, &project.dir, work, skip);
        crate::out!(
            s.printer(),
            "{}",
            pipeline::dry_run::render_unchanged(&split)
        );
    }
    let builder = tools.map(|t| &t.builder);
    crate::out!(s.printer(), "{}", pipeline::dry_run::render(plan, builder));
}

/// The lines a push starts with: the builder and how its result reaches the registry,
/// with `-v` the buildx binary, and the images a leg skips.
fn announce(ui: &Ui, tools: &Tools, output: Output, skipped: &[Skipped], verbose: bool) {
    ui.line(&format!(
        "builder `{}` (driver {}): {}",
        tools.builder.name,
        tools.builder.driver,
        match output {
            Output::PushByDigest => "pushes by digest",
            Output::OciLayout => "exports an OCI layout that mpbuild uploads",
        }
    ));
    if verbose && let Some(plugin) = &tools.launch.plugin {
        ui.line(&format!(
            "buildx runs as {} (the plugin docker would start, without the docker CLI in between)",
            plugin.display()
        ));
    }
    for k in skipped {
        ui.line(&format!("[{}] skipped: {}", k.image, k.reason));
    }
}

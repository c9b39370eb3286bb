//! `mpbuild push`: flags and project → `pipeline::push` (or, with `--platform` and
//! `--digests-dir`, `pipeline::leg`) → the report. A failed build, upload or
//! verification moves no tag, and says which tags stayed where they were.

use super::output;
use crate::cli::PushArgs;
use crate::exit::Code;
use crate::pipeline::report::Kind;
use crate::pipeline::{self, Push, Tools, mirror};
use crate::plan::{Options, Output, Plan};
use crate::settings;
use crate::settings::Settings;
use crate::workdir::{self, WorkDir};

pub fn run(s: &Settings, args: &PushArgs) -> anyhow::Result<Code> {
    let project = s.project()?;
    let images = settings::select_images(&project, &args.images)?;
    let leg = pipeline::leg::leg_platforms(&args.platforms, args.digests_dir.as_deref(), &images)?;
    let builder_name = s.builder(args.builder.as_deref(), Some(&project));

    // The builder's driver decides how the result reaches the registry.
    let tools = match (Tools::probe(builder_name.as_deref()), args.dry_run) {
        (Ok(t), _) => Some(t),
        (Err(_), true) => None,
        (Err(e), false) => return Err(e.into()),
    };
    // The project's work directory (checked: this user's, no link followed) and, for a
    // run that builds, a directory of its own inside it, removed when the run ends.
    let work = WorkDir::open(&workdir::location(&project.dir))?;
    let run = if args.dry_run || tools.is_none() {
        None
    } else {
        Some(work.begin_run()?)
    };
    let options = Options {
        output: tools.as_ref().map_or(Output::OciLayout, Tools::output),
        work_dir: run.as_ref().map_or(work.root(), |r| r.path()).to_path_buf(),
        builder: builder_name,
    };
    let (mut plan, skipped) = match &leg {
        Some(platforms) => {
            let leg = Plan::leg(&project, &images, &options, platforms);
            let skipped = pipeline::leg::skipped(&leg, platforms);
            (leg.plan, skipped)
        }
        None => (Plan::for_images(&project, &images, &options), Vec::new()),
    };
    if args.deep == Some(crate::cli::DeepArg::All) {
        plan.deep_all();
    }
    // A FIFO Dockerfile or .dockerignore would hang buildx: refused before anything runs.
    for image in &plan.images {
        crate::inputs::check_files(&project.dir, image)?;
    }
    let client = s.client(&args.registry, project.insecure_registries.clone())?;
    let order: Vec<String> = project.images.iter().map(|i| i.name.clone()).collect();
    let skip = leg.is_none().then_some(pipeline::Skip {
        rebuild: args.rebuild,
        deep: args.deep.is_some(),
        order: &order,
    });
    let tools = match tools {
        Some(t) if !args.dry_run => t,
        _ => {
            if let Some(skip) = &skip {
                let split = pipeline::unchanged::split(&client, &plan, &project.dir, &work, skip);
                crate::out!(
                    s.printer(),
                    "{}",
                    pipeline::dry_run::render_unchanged(&split)
                );
            }
            crate::out!(
                s.printer(),
                "{}",
                pipeline::dry_run::render(&plan, tools.as_ref().map(|t| &t.builder))
            );
            return Ok(Code::Ok);
        }
    };
    // Signing is ready before anything is built (cosign, the key and its password, or
    // an OIDC token); a leg signs nothing.
    let env = |name: &str| std::env::var(name).ok();
    let signers: Vec<_> = plan
        .images
        .iter()
        .map(|i| (i.name.as_str(), i.sign.as_ref().filter(|_| leg.is_none())))
        .collect();
    let cosign = crate::signing::sign::preflight(&signers, &env)?;
    let signing = cosign.as_ref().map(|tool| crate::signing::sign::Signing {
        tool,
        env: &env,
        insecure: &project.insecure_registries,
    });
    let ui = s.ui(args.progress);
    ui.line(&format!(
        "builder `{}` (driver {}): {}",
        tools.builder.name,
        tools.builder.driver,
        match options.output {
            Output::PushByDigest => "pushes by digest",
            Output::OciLayout => "exports an OCI layout that mpbuild uploads",
        }
    ));
    if s.verbose
        && let Some(plugin) = &tools.launch.plugin
    {
        ui.line(&format!(
            "buildx runs as {} (the plugin docker would start, without the docker CLI in between)",
            plugin.display()
        ));
    }
    for k in &skipped {
        ui.line(&format!("[{}] skipped: {}", k.image, k.reason));
    }
    let mirrors = project
        .mirrors
        .iter()
        .map(|m| {
            mirror::Job::new(
                &project.catalog,
                &m.source,
                &m.destination,
                &m.targets,
                &m.platforms,
                m.all,
            )
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
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
        Some(dir) => {
            let builder = format!("{} ({})", tools.builder.name, tools.builder.driver);
            pipeline::leg(&push, &ui, dir, &builder)
        }
        None => pipeline::push(&push, &ui),
    };
    // This run's directory goes now, whatever happened (also after Ctrl-C): the OCI
    // layouts in it are in the registry or of no use.
    drop(run);
    output::finish(
        report,
        "push",
        args.format,
        args.metadata_file.as_deref(),
        args.summary.as_deref(),
        &ui,
    )
}

//! `mpbuild push`: flags and project → `pipeline::push` (or, with `--platform` and
//! `--digests-dir`, `pipeline::leg`) → the report. A failed build, upload or
//! verification moves no tag, and says which tags stayed where they were.

use super::output;
use crate::buildx::{self, Ui};
use crate::cli::{Global, PushArgs};
use crate::config::Image;
use crate::exit::{Code, UsageError};
use crate::pipeline::report::Skipped;
use crate::pipeline::{self, Push, Tools, mirror};
use crate::plan::{Options, Output, Plan};
use crate::platform::Platform;
use crate::settings;

pub fn run(global: &Global, args: &PushArgs) -> anyhow::Result<Code> {
    let project = settings::load_project(global)?;
    let images = settings::select_images(&project, &args.images)?;
    let leg = leg_platforms(args, &images)?;
    buildx::install_interrupt_handler();
    let builder_name = settings::builder_name(args.builder.as_deref(), &project);

    // The builder's driver decides how the result reaches the registry.
    let tools = match (Tools::probe(builder_name.as_deref()), args.dry_run) {
        (Ok(t), _) => Some(t),
        (Err(_), true) => None,
        (Err(e), false) => return Err(e.into()),
    };
    let work_dir = settings::work_dir(&project);
    let options = Options {
        output: tools.as_ref().map_or(Output::OciLayout, Tools::output),
        work_dir: work_dir.clone(),
        builder: builder_name,
    };
    let (plan, skipped, fingerprints) = match &leg {
        Some(platforms) => {
            let full = Plan::for_images(&project, &images, &options);
            let leg = Plan::leg(&project, &images, &options, platforms);
            let fingerprints = leg
                .plan
                .images
                .iter()
                .filter_map(|l| full.images.iter().find(|f| f.name == l.name))
                .map(|f| f.fingerprint.clone())
                .collect();
            let skipped = leg
                .skipped
                .iter()
                .map(|(name, needs)| Skipped {
                    image: name.clone(),
                    reason: format!(
                        "needs {}, not {}",
                        crate::platform::list(needs),
                        crate::platform::list(platforms)
                    ),
                })
                .collect();
            (leg.plan, skipped, fingerprints)
        }
        None => (
            Plan::for_images(&project, &images, &options),
            Vec::new(),
            Vec::new(),
        ),
    };
    let tools = match tools {
        Some(t) if !args.dry_run => t,
        _ => {
            print!("{}", dry_run(&plan, tools.as_ref().map(|t| &t.builder)));
            return Ok(Code::Ok);
        }
    };
    let ui = Ui::new(settings::progress_mode(args.progress));
    ui.line(&format!(
        "builder `{}` (driver {}): {}",
        tools.builder.name,
        tools.builder.driver,
        match options.output {
            Output::PushByDigest => "pushes by digest",
            Output::OciLayout => "exports an OCI layout that mpbuild uploads",
        }
    ));
    for s in &skipped {
        ui.line(&format!("[{}] skipped: {}", s.image, s.reason));
    }
    let client = settings::client(global, &args.registry, project.insecure_registries.clone())?;
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
        work_dir: &work_dir,
        tools: &tools,
        client: &client,
        mirrors: &mirrors,
        deep: args.deep,
        verbose: global.verbose,
    };
    let report = match &args.digests_dir {
        Some(dir) => {
            let builder = format!("{} ({})", tools.builder.name, tools.builder.driver);
            pipeline::leg(&push, &ui, dir, &fingerprints, skipped, &builder)
        }
        None => pipeline::push(&push, &ui),
    };
    output::finish(
        report,
        "push",
        args.format,
        args.metadata_file.as_deref(),
        &ui,
    )
}

/// The platforms of a leg (`--platform … --digests-dir DIR`), each needed by some
/// selected image; `None` for a whole push.
fn leg_platforms(args: &PushArgs, images: &[&Image]) -> anyhow::Result<Option<Vec<Platform>>> {
    if args.platforms.is_empty() {
        if args.digests_dir.is_some() {
            return Err(UsageError(
                "--digests-dir goes with --platform: a leg builds the platforms given and writes their records there".into(),
            )
            .into());
        }
        return Ok(None);
    }
    if args.digests_dir.is_none() {
        return Err(UsageError(
            "--platform builds only part of an image: it needs --digests-dir DIR, where the leg writes its records, and a `mpbuild merge --digests-dir DIR` that joins the legs and moves the tags\n  = help: to build every platform the targets need, drop --platform".into(),
        )
        .into());
    }
    let mut platforms: Vec<Platform> = Vec::new();
    for spec in &args.platforms {
        let p = Platform::parse(spec)?;
        let needed = images.iter().any(|i| {
            i.targets
                .iter()
                .any(|t| t.platforms.iter().any(|q| q.matches(&p)))
        });
        if !needed {
            let all: Vec<Platform> = images
                .iter()
                .flat_map(|i| i.targets.iter().flat_map(|t| t.platforms.iter().cloned()))
                .fold(Vec::new(), |mut v, q| {
                    if !v.iter().any(|x: &Platform| x.matches(&q)) {
                        v.push(q);
                    }
                    v
                });
            return Err(UsageError(format!(
                "no selected image needs {p}; their platforms are {}\n  = help: a leg builds platforms the targets need (see `mpbuild plan --format github-matrix`)",
                crate::platform::list(&all)
            ))
            .into());
        }
        if !platforms.iter().any(|q| q.matches(&p)) {
            platforms.push(p);
        }
    }
    Ok(Some(platforms))
}

fn dry_run(plan: &Plan, builder: Option<&buildx::Builder>) -> String {
    let mut out = String::new();
    match builder {
        Some(b) => out.push_str(&format!(
            "# builder `{}` (driver {}): {}\n",
            b.name,
            b.driver,
            if b.can_push_by_digest() {
                "push by digest"
            } else {
                "OCI layout, uploaded by mpbuild"
            }
        )),
        None => {
            out.push_str("# docker/buildx not reachable: assuming the default `docker` driver\n")
        }
    }
    if let Some(b) = &plan.bake {
        out.push_str(&format!("# write {}\n", b.file_path.display()));
        out.push_str(&format!("{}\n", crate::shell::join(&b.command)));
    } else {
        for image in &plan.images {
            out.push_str(&format!("{}\n", crate::shell::join(&image.command)));
        }
    }
    for image in &plan.images {
        if let Some(dir) = &image.oci_dir {
            out.push_str(&format!(
                "# upload {} to {} (blobs, manifests, index by digest)\n",
                dir.display(),
                image.repository
            ));
        }
        out.push_str(&format!(
            "# verify {}@<digest>: {}\n",
            image.repository,
            crate::platform::list(&image.platforms)
        ));
        for t in &image.tags {
            out.push_str(&format!(
                "# tag {}:{t} → the verified index\n",
                image.repository
            ));
        }
        for s in &image.single_tags {
            out.push_str(&format!(
                "# tag {}:{} → the {} image manifest ({})\n",
                image.repository, s.tag, s.platform, s.service
            ));
        }
    }
    out
}

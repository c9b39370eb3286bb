//! `mpbuild push`: flags and project → `pipeline::push` → the report. A failed build,
//! upload or verification moves no tag, and says which tags stayed where they were.

use crate::buildx::{self, Ui};
use crate::cli::{Global, PushArgs};
use crate::exit::Code;
use crate::pipeline::{self, Push, Tools, mirror, report};
use crate::plan::{Options, Output, Plan};
use crate::settings;

pub fn run(global: &Global, args: &PushArgs) -> anyhow::Result<Code> {
    let project = settings::load_project(global)?;
    let images = settings::select_images(&project, &args.images)?;
    buildx::install_interrupt_handler();
    let builder_name = args.builder.clone().or_else(|| project.builder.clone());

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
    let plan = Plan::for_images(&project, &images, &options);
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
    let report = pipeline::push(
        &Push {
            plan: &plan,
            project_dir: &project.dir,
            work_dir: &work_dir,
            tools: &tools,
            client: &client,
            mirrors: &mirrors,
            deep: args.deep,
            verbose: global.verbose,
        },
        &ui,
    );
    print!("{}", report.render_text());
    match report.failure {
        None => Ok(Code::Ok),
        Some(f) => {
            if let Some(line) = report::mirror_refused(&report.mirrors) {
                ui.line(&line);
            }
            ui.line(&f.untouched_line());
            match f.error {
                None => Ok(Code::VerifyFailed),
                Some(e) => Err(e),
            }
        }
    }
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

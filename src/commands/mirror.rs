//! `mpbuild mirror`: copy an image with the platforms the targets need, verify the copy,
//! then tag it (the `pipeline::mirror` stage, which `push` also runs for the project's
//! `mirrors:`).

use crate::buildx::Ui;
use crate::catalog::Catalog;
use crate::cli::{Global, MirrorArgs};
use crate::exit::{Code, UsageError};
use crate::pipeline::mirror::{self, Job};
use crate::pipeline::report;
use crate::settings;

pub fn run(global: &Global, args: &MirrorArgs) -> anyhow::Result<Code> {
    let (project, load_error) = match settings::load_project(global) {
        Ok(p) => (Some(p), None),
        Err(e) => (None, Some(e)),
    };
    let catalog = project
        .as_ref()
        .map(|p| p.catalog.clone())
        .unwrap_or_else(Catalog::builtin);
    let jobs = match (&args.src, &args.dest) {
        (Some(src), Some(dest)) => {
            if args.targets.is_empty() && args.platforms.is_empty() && !args.all {
                return Err(UsageError(
                    "say which platforms to copy: --target SERVICE[:ARCH], --platform OS/ARCH, or --all".into(),
                )
                .into());
            }
            vec![Job::new(
                &catalog,
                src,
                dest,
                &args.targets,
                &args.platforms,
                args.all,
            )?]
        }
        _ => {
            // The project's mirrors: a missing or bad file is the error to show.
            let Some(p) = &project else {
                return Err(load_error.expect("no project means a load error"));
            };
            if p.mirrors.is_empty() {
                return Err(UsageError(format!(
                    "no SRC DEST given and {} has no `mirrors:`",
                    p.path.display()
                ))
                .into());
            }
            p.mirrors
                .iter()
                .map(|m| {
                    Job::new(
                        &catalog,
                        &m.source,
                        &m.destination,
                        &m.targets,
                        &m.platforms,
                        m.all,
                    )
                })
                .collect::<anyhow::Result<Vec<_>>>()?
        }
    };
    let insecure = project
        .as_ref()
        .map(|p| p.insecure_registries.clone())
        .unwrap_or_default();
    let client = settings::client(global, &args.registry, insecure)?;
    crate::buildx::install_interrupt_handler();
    let ui = Ui::new(settings::progress_mode(args.progress));
    let done = mirror::run_jobs(&client, &jobs, &ui)?;
    print!("{}", report::render_mirrors(&done));
    if let Some(line) = report::mirror_refused(&done) {
        ui.line(&line);
        return Ok(Code::VerifyFailed);
    }
    Ok(Code::Ok)
}

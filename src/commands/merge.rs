//! `mpbuild merge`: the legs' records → `pipeline::merge` (check, assemble, push the
//! index by digest, verify, smoke, promote) → the report.

use super::output;
use crate::buildx::Ui;
use crate::cli::{Global, MergeArgs};
use crate::exit::Code;
use crate::pipeline::merge::{self, Merge};
use crate::pipeline::record;
use crate::pipeline::smoke::{Runner, ToolsSource};
use crate::plan::{Options, Output, Plan};
use crate::settings;

pub fn run(global: &Global, args: &MergeArgs) -> anyhow::Result<Code> {
    let project = settings::load_project(global)?;
    let images = settings::select_images(&project, &args.images)?;
    let mut plan = Plan::for_images(
        &project,
        &images,
        &Options {
            output: Output::PushByDigest,
            work_dir: settings::work_dir(&project),
            builder: None,
        },
    );
    if args.deep == Some(crate::cli::DeepArg::All) {
        plan.deep_all();
    }
    let records = record::read_all(&args.digests_dir)?;
    let ui = Ui::new(settings::progress_mode(args.progress));
    let client = settings::client(global, &args.registry, project.insecure_registries.clone())?;
    let names: Vec<String> = project.images.iter().map(|i| i.name.clone()).collect();
    let smoke = Runner {
        tools: ToolsSource::Probe(project.builder.clone()),
        ui: &ui,
        verbose: global.verbose,
    };
    let report = merge::merge(&Merge {
        plan: &plan,
        project_images: &names,
        project_file: &project.path,
        records: &records,
        dir: &args.digests_dir,
        client: &client,
        deep: args.deep.is_some(),
        smoke: &smoke,
    });
    output::finish(
        report,
        "merge",
        args.format,
        args.metadata_file.as_deref(),
        &ui,
    )
}

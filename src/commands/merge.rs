//! `mpbuild merge`: the legs' records → `pipeline::merge` (check, assemble, push the
//! index by digest, verify, smoke, promote) → the report.

use super::output;
use crate::cli::MergeArgs;
use crate::exit::Code;
use crate::pipeline::merge::{self, Merge};
use crate::pipeline::record;
use crate::pipeline::smoke::{Runner, ToolsSource};
use crate::plan::{Options, Output, Plan};
use crate::settings;
use crate::settings::Settings;

pub fn run(s: &Settings, args: &MergeArgs) -> anyhow::Result<Code> {
    let project = s.project()?;
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
    let env = |name: &str| std::env::var(name).ok();
    let signers: Vec<_> = plan
        .images
        .iter()
        .map(|i| (i.name.as_str(), i.sign.as_ref()))
        .collect();
    let cosign = crate::signing::sign::preflight(&signers, &env)?;
    let signing = cosign.as_ref().map(|tool| crate::signing::sign::Signing {
        tool,
        env: &env,
        insecure: &project.insecure_registries,
    });
    let ui = s.ui(args.progress);
    let client = s.client(&args.registry, project.insecure_registries.clone())?;
    let names: Vec<String> = project.images.iter().map(|i| i.name.clone()).collect();
    let smoke = Runner {
        tools: ToolsSource::Probe(project.builder.clone()),
        ui: &ui,
        verbose: s.verbose,
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
        sign: signing.as_ref(),
    });
    output::finish(report, "merge", &args.report, &ui)
}

//! `mpbuild verify`: the project's tags against its targets, or any references against
//! the targets given on the command line.

use crate::cli::{Format, VerifyArgs};
use crate::exit::{Code, UsageError};
use crate::plan::{Options, Output, Plan};
use crate::platform::Platform;
use crate::registry::Reference;
use crate::settings::Settings;
use crate::verify::{self, Requirements, report, requirements};

/// References to check, each with what it must hold.
type Jobs = Vec<(Reference, Requirements)>;

pub fn run(s: &Settings, args: &VerifyArgs) -> anyhow::Result<Code> {
    let (jobs, insecure) = if args.refs.is_empty() {
        if args.inventory {
            return Err(UsageError::new(
                "--inventory lists what a REF holds; name one (e.g. `mpbuild verify --inventory REPO:TAG`)",
            )
            .into());
        }
        if !args.targets.is_empty() || !args.platforms.is_empty() {
            return Err(UsageError::new(
                "--target and --platform go with REF arguments; without REF mpbuild verifies the project's images against their own targets",
            )
            .into());
        }
        project_jobs(s, args)?
    } else {
        ref_jobs(s, args)?
    };
    let gates = args.signed.gates();
    let cosign = verify::signatures::prepare(&gates)?;
    let client = s.client(&args.registry, insecure.clone())?;
    let deep = crate::inspect::deep_fn();
    let mut verdicts =
        verify::referrers::verify_all(&client, &jobs, Some(&deep), args.require_record)?;
    if let Some(tool) = &cosign {
        verify::signatures::check_all(tool, &gates, verdicts.iter_mut(), &insecure)?;
        if args.require_record {
            verify::attested::check_all(tool, &gates, verdicts.iter_mut(), &insecure)?;
        }
    }
    match args.format {
        Format::Json => s.printer().json(&report::render_json(&verdicts)),
        Format::Text if s.printer().quiet() => {
            // Errors only: what failed, not what passed.
            let failed: Vec<_> = verdicts.iter().filter(|v| !v.ok()).cloned().collect();
            crate::err!(s.printer(), "{}", report::render_text(&failed));
        }
        Format::Text => crate::out!(s.printer(), "{}", report::render_text(&verdicts)),
    }
    Ok(if verdicts.iter().all(verify::Verdict::ok) {
        Code::Ok
    } else {
        Code::VerifyFailed
    })
}

/// The REFs given, each against what --target and --platform ask for (inside a
/// project, its catalog (`services:`) and `insecure_registries` apply).
fn ref_jobs(s: &Settings, args: &VerifyArgs) -> anyhow::Result<(Jobs, Vec<String>)> {
    if !args.images.is_empty() {
        return Err(UsageError::new(
            "--image selects project images; it does not go with REF arguments",
        )
        .into());
    }
    if args.targets.is_empty()
        && args.platforms.is_empty()
        && !args.inventory
        && !args.require_record
    {
        return Err(UsageError::new(
            "nothing to verify: say what REF must hold with --target or --platform, ask for --inventory, or --require-record",
        )
        .into());
    }
    if args.targets.is_empty() && args.platforms.is_empty() && !args.signed.gates().is_empty() {
        return Err(UsageError::new(
            "--signed-by needs --target or --platform: the platform manifests those need are the ones that must be signed, besides the index",
        )
        .with_help("e.g. `mpbuild verify REF --platform linux/amd64 --platform linux/arm64 --signed-by cosign.pub`")
        .into());
    }
    // Inside a project, its catalog (`services:`) and `insecure_registries` apply.
    let (catalog, insecure) = match s.project() {
        Ok(p) => (p.catalog, p.insecure_registries),
        Err(_) => (crate::catalog::Catalog::builtin(), Vec::new()),
    };
    let mut req = requirements::from_flags(
        &catalog,
        &args.targets,
        &args.platforms,
        args.deep.is_some(),
        &Platform::host(),
    )?;
    req.deep_all = args.deep == Some(crate::cli::DeepArg::All);
    let mut jobs = Vec::new();
    for r in &args.refs {
        jobs.push((Reference::parse(r)?, req.clone()));
    }
    Ok((jobs, insecure))
}

fn project_jobs(s: &Settings, args: &VerifyArgs) -> anyhow::Result<(Jobs, Vec<String>)> {
    let project = s.project()?;
    let images = crate::settings::select_images(&project, &args.images)?;
    let plan = Plan::for_images(
        &project,
        &images,
        &Options {
            output: Output::PushByDigest,
            work_dir: crate::settings::work_dir(&project),
            builder: None,
        },
    );
    let mut jobs = Vec::new();
    for image in &plan.images {
        for job in requirements::for_image_tags(image) {
            let mut req = job.requirements;
            req.deep |= args.deep.is_some();
            req.deep_all |= args.deep == Some(crate::cli::DeepArg::All);
            jobs.push((Reference::parse(&job.reference)?, req));
        }
    }
    Ok((jobs, project.insecure_registries.clone()))
}

//! `mpbuild mirror`: copy an image with the platforms the targets need, verify the copy,
//! then tag it (the `pipeline::mirror` stage, which `push` also runs for the project's
//! `mirrors:`).

use crate::catalog::Catalog;
use crate::cli::{Format, MirrorArgs};
use crate::config::Project;
use crate::exit::{Code, UsageError};
use crate::pipeline::mirror::{self, Job};
use crate::pipeline::report;
use crate::settings::Settings;

pub fn run(s: &Settings, args: &MirrorArgs) -> anyhow::Result<Code> {
    let (project, load_error) = match s.project() {
        Ok(p) => (Some(p), None),
        Err(e) => (None, Some(e)),
    };
    let mut jobs = match (&args.src, &args.dest, &project) {
        (Some(src), Some(dest), _) => vec![job(args, src, dest, project.as_ref())?],
        (_, _, Some(p)) => project_jobs(p)?,
        // The project's mirrors: a missing or bad file is the error to show.
        _ => return Err(load_error.expect("no project means a load error")),
    };
    for j in &mut jobs {
        j.selection.referrers = !args.no_referrers;
    }
    let insecure = project
        .as_ref()
        .map(|p| p.insecure_registries.clone())
        .unwrap_or_default();
    let client = s.client(&args.registry, insecure)?;
    let ui = s.ui(args.progress);
    let done = mirror::run_jobs(&client, &jobs, &ui)?;
    let refused = report::mirror_refused(&done);
    let code = if refused.is_some() {
        Code::VerifyFailed
    } else {
        Code::Ok
    };
    match args.format {
        Format::Json => s.printer().value(&to_json(&done, code)),
        Format::Text if s.printer().quiet() => {}
        Format::Text => crate::out!(s.printer(), "{}", report::text::render_mirrors(&done)),
    }
    if let Some(line) = refused {
        super::output::important(&ui, &line);
    }
    Ok(code)
}

/// SRC DEST from the command line, with the platforms its --target, --platform or --all
/// ask for (the project's `services:` apply inside one).
fn job(args: &MirrorArgs, src: &str, dest: &str, project: Option<&Project>) -> anyhow::Result<Job> {
    if args.targets.is_empty() && args.platforms.is_empty() && !args.all {
        return Err(UsageError::new(
            "say which platforms to copy: --target SERVICE[:ARCH], --platform OS/ARCH, or --all",
        )
        .into());
    }
    let catalog = project.map_or_else(Catalog::builtin, |p| p.catalog.clone());
    Job::new(
        &catalog,
        src,
        dest,
        &args.targets,
        &args.platforms,
        args.all,
    )
}

/// The project's `mirrors:`, at least one.
fn project_jobs(p: &Project) -> anyhow::Result<Vec<Job>> {
    if p.mirrors.is_empty() {
        return Err(UsageError::new(format!(
            "no SRC DEST given and {} has no `mirrors:`",
            p.path.display()
        ))
        .into());
    }
    Job::for_project(p)
}

/// The mirror's JSON document: per copy, what was copied, its verdict, and whether the
/// destination tag moved.
fn to_json(done: &[mirror::Done], code: Code) -> serde_json::Value {
    let mirrors: Vec<serde_json::Value> = done
        .iter()
        .map(|d| {
            let mut v = serde_json::to_value(&d.mirrored).unwrap_or_default();
            v["source"] = d.src.to_string().into();
            v["destination"] = d.dest.to_string().into();
            v["tagged"] = d.tagged.into();
            v["verified"] = d.verdict.ok().into();
            v["verdict"] = serde_json::to_value(&d.verdict).unwrap_or_default();
            v
        })
        .collect();
    serde_json::json!({
        "schema_version": super::output::SCHEMA_VERSION,
        "command": "mirror",
        "result": if code == Code::Ok { "ok" } else { "failed" },
        "exit_code": code.as_i32(),
        "mirrors": mirrors,
    })
}

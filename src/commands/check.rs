//! `mpbuild check`: deployment files → `check::gather` → `check::resolve` → the report.
//! A project file is optional; with one, its `cluster_archs:`, `services:` and
//! insecure registries apply.

use crate::settings::Settings;
use std::io::Read as _;

use crate::check::{self, Input, Report, report};
use crate::cli::{CheckArgs, DeepArg, Format};
use crate::config::{self, ConfigError, Env, Project};
use crate::exit::{Code, UsageError};
use crate::platform::Platform;

pub fn run(s: &Settings, args: &CheckArgs) -> anyhow::Result<Code> {
    let project = optional_project(s)?;
    let catalog = project
        .as_ref()
        .map(|p| p.catalog.clone())
        .unwrap_or_else(crate::catalog::Catalog::builtin);
    let cluster = cluster_archs(args, project.as_ref())?;
    if args.pin && args.paths.iter().any(|p| p.as_os_str() == "-") {
        return Err(UsageError::new(
            "--pin rewrites files; standard input has none to write (check the files themselves, or drop --pin)",
        )
        .into());
    }
    let gates = args.signed.gates();
    let cosign = crate::verify::signatures::prepare(&gates)?;
    let inputs = inputs(args)?;
    let env = |name: &str| std::env::var(name).ok();
    let options = check::Options {
        catalog: &catalog,
        host: Platform::host(),
        cluster,
        deep: args.deep.is_some(),
        deep_all: args.deep == Some(DeepArg::All),
        env: &env,
    };
    let gathered = check::gather(&inputs, &options)?;
    let sources = gathered.sources;
    let insecure = project.map(|p| p.insecure_registries).unwrap_or_default();
    let client = s.client(&args.registry, insecure.clone())?;
    let deep = crate::inspect::deep_fn();
    let (mut uses, reads) =
        check::resolve(&client, gathered.uses, Some(&deep), args.require_record);
    if let Some(tool) = &cosign {
        // `--signed-by`: the index and every platform manifest each workload needs;
        // with `--require-record`, the record attested by each signer (verify's gate).
        crate::verify::signatures::check_all(tool, &gates, verdicts(&mut uses), &insecure)?;
        if args.require_record {
            crate::verify::attested::check_all(tool, &gates, verdicts(&mut uses), &insecure)?;
        }
    }
    if crate::cancel::requested() {
        // References the interrupt cut short would read as registry errors.
        return Err(crate::exit::Interrupted.into());
    }
    let report = Report {
        files: sources.len(),
        reads,
        uses,
        skipped: gathered.skipped,
        allow_unresolved: args.allow_unresolved,
    };
    let pinned = if args.pin && report.code() == Code::Ok {
        Some(check::pin::pin(&report, &sources)?)
    } else {
        None
    };
    print(s, args, &report, pinned.as_ref());
    summarise(s, args, &report, pinned.as_ref());
    Ok(report.code())
}

/// The job summary, to `--summary FILE` or `$GITHUB_STEP_SUMMARY`; one that cannot be
/// written is a warning (the check's result and exit code stand).
fn summarise(
    s: &Settings,
    args: &CheckArgs,
    report: &Report,
    pinned: Option<&check::pin::Outcome>,
) {
    let Some(path) = crate::summary::target(args.summary.as_deref(), &|k| std::env::var(k).ok())
    else {
        return;
    };
    let doc = serde_json::from_str(&report::render_json(report, pinned)).unwrap_or_default();
    if let Err(e) = crate::summary::append(&path, &crate::summary::check::markdown(&doc, args.pin))
    {
        s.printer().labelled(
            "warning",
            &format!("cannot append the summary to {}: {e}", path.display()),
        );
    }
}

/// The verdicts of the uses that were read from their registry.
fn verdicts(uses: &mut [check::Checked]) -> impl Iterator<Item = &mut crate::verify::Verdict> {
    uses.iter_mut().filter_map(|c| match &mut c.outcome {
        check::Outcome::Checked { verdict } => Some(verdict.as_mut()),
        _ => None,
    })
}

/// The report (and what --pin wrote) as JSON or text; with `-q`, only a failing one.
fn print(s: &Settings, args: &CheckArgs, report: &Report, pinned: Option<&check::pin::Outcome>) {
    let p = s.printer();
    match args.format {
        Format::Json => p.json(&report::render_json(report, pinned)),
        Format::Text if p.quiet() => {
            if report.code() != Code::Ok {
                crate::err!(p, "{}", report::render_text(report, true));
            }
        }
        Format::Text => {
            crate::out!(p, "{}", report::render_text(report, false));
            if let Some(pin) = pinned {
                crate::out!(p, "{}", report::render_pin(pin));
            }
        }
    }
    if args.pin && pinned.is_none() {
        p.labelled(
            "note",
            "--pin wrote nothing: every reference must pass first",
        );
    }
}

/// The project file, when there is one: found as every command finds it, or named with
/// `-f`. None when there is none; a file that is there but wrong is an error. Unset
/// `${VAR}`s are fine here (the tags are not check's business).
fn optional_project(s: &Settings) -> anyhow::Result<Option<Project>> {
    let cwd = std::env::current_dir()?;
    match config::discover(s.file.as_deref(), &cwd) {
        Ok(path) => Ok(Some(config::load(&path, &Env::preview())?)),
        Err(ConfigError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// `--cluster-archs`, else the project's `cluster_archs:`.
fn cluster_archs(
    args: &CheckArgs,
    project: Option<&Project>,
) -> anyhow::Result<Option<Vec<Platform>>> {
    if args.cluster_archs.is_empty() {
        return Ok(project.and_then(|p| p.cluster_archs.clone()));
    }
    let mut out: Vec<Platform> = Vec::new();
    for a in &args.cluster_archs {
        let p =
            Platform::parse(a).map_err(|e| UsageError::new(format!("--cluster-archs {a}: {e}")))?;
        if !out.iter().any(|q| q.matches(&p)) {
            out.push(p);
        }
    }
    Ok(Some(out))
}

/// The paths as inputs; `-` reads standard input (once, bounded, UTF-8).
fn inputs(args: &CheckArgs) -> anyhow::Result<Vec<Input>> {
    let mut out = Vec::new();
    let mut stdin_read = false;
    for p in &args.paths {
        if p.as_os_str() == "-" {
            if stdin_read {
                return Err(UsageError::new("`-` (standard input) is named twice").into());
            }
            stdin_read = true;
            out.push(Input::Stdin(read_stdin()?));
        } else {
            out.push(Input::Path(p.clone(), p.display().to_string()));
        }
    }
    Ok(out)
}

fn read_stdin() -> anyhow::Result<String> {
    let cap = crate::fsread::MAX_TEXT_BYTES;
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| UsageError::new(format!("cannot read standard input: {e}")))?;
    if bytes.len() as u64 > cap {
        return Err(UsageError::new(format!(
            "standard input is more than {} MiB, more than mpbuild reads of a deployment file",
            cap >> 20
        ))
        .into());
    }
    String::from_utf8(bytes).map_err(|e| {
        UsageError::new(format!(
            "standard input is not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
        .into()
    })
}

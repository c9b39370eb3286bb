//! `mpbuild smoke REF [--platform P]… -- CMD ARGS…`: the smoke run of any image, no
//! project needed. REF is resolved to its digest, the platforms default to every
//! platform it holds, and `pipeline::smoke` runs the command on each.

use crate::settings::Settings;
use serde::Serialize;

use crate::cli::{Format, SmokeArgs};
use crate::exit::{ChecksFailed, Code, UsageError};
use crate::pipeline::smoke::{self, Runner, SmokeResult, ToolsSource};
use crate::plan::SmokePlan;
use crate::platform::Platform;
use crate::registry::Reference;
use crate::registry::manifest::Manifest;

pub fn run(s: &Settings, args: &SmokeArgs) -> anyhow::Result<Code> {
    let Flags {
        timeout,
        env,
        platforms: asked,
    } = flags(args)?;
    let reference = Reference::parse(&args.reference)?;
    let client = s.client(&args.registry, Vec::new())?;
    let root = client.get_manifest(&reference)?;
    let platforms = platforms(&reference, &root.manifest, asked)?;
    let spec = SmokePlan {
        run: args.command.clone(),
        expect: args.expect.clone(),
        timeout_s: timeout.as_secs(),
        env,
        platforms,
    };
    let pinned = format!("{}@{}", reference.repository, root.digest);
    let ui = s.ui(args.progress);
    let runner = Runner {
        tools: ToolsSource::Probe(args.builder.clone()),
        ui: &ui,
        verbose: s.verbose,
    };
    let smoked = smoke::run_reference(&runner, &args.reference, &pinned, &spec);
    let code = match &smoked.error {
        Some(e) => crate::error::Error::of(e).code(),
        None if smoked.ok() => Code::Ok,
        None => Code::VerifyFailed,
    };
    print(s, args, &root.digest, &smoked, code, &spec.platforms)?;
    match smoked.error {
        Some(e) => Err(e),
        None => Ok(code),
    }
}

/// The flags, checked once.
struct Flags {
    timeout: std::time::Duration,
    /// `--env KEY=VALUE`.
    env: Vec<(String, String)>,
    /// `--platform`.
    platforms: Vec<Platform>,
}

/// --timeout, --expect, --env and --platform, checked.
fn flags(args: &SmokeArgs) -> anyhow::Result<Flags> {
    let timeout = crate::config::parse_timeout(&args.timeout)
        .map_err(|m| UsageError::new(format!("--timeout: {m}")))?;
    if let Some(e) = &args.expect {
        crate::config::smoke_regex(e)
            .map_err(|m| UsageError::new(m.replace("`expect:`", "--expect")))?;
    }
    let mut env = Vec::new();
    for kv in &args.env {
        env.push(env_var(kv)?);
    }
    let mut asked: Vec<Platform> = Vec::new();
    for p in &args.platforms {
        asked
            .push(Platform::parse(p).map_err(|e| UsageError::new(format!("--platform {p}: {e}")))?);
    }
    Ok(Flags {
        timeout,
        env,
        platforms: asked,
    })
}

/// `--env KEY=VALUE`, the key a variable name that is not mpbuild's own.
fn env_var(kv: &str) -> Result<(String, String), UsageError> {
    match kv.split_once('=') {
        Some((k, v)) if crate::config::is_env_name(k) && !k.starts_with("MPBUILD_SMOKE_") => {
            Ok((k.to_string(), v.to_string()))
        }
        Some((k, _)) if !k.is_empty() => Err(UsageError::new(format!(
            "--env `{}`: `{}` is not a variable name (letters, digits and `_`, not starting with a digit; `MPBUILD_SMOKE_*` are mpbuild's)",
            kv.escape_debug(),
            k.escape_debug()
        ))),
        _ => Err(UsageError::new(format!(
            "--env `{}`: write KEY=VALUE",
            kv.escape_debug()
        ))),
    }
}

/// The platforms to run on: those asked for (each one the image holds), else every
/// platform its index holds; a plain manifest needs --platform.
fn platforms(
    reference: &Reference,
    root: &Manifest,
    asked: Vec<Platform>,
) -> anyhow::Result<Vec<Platform>> {
    let held: Vec<Platform> = match root {
        Manifest::Index { manifests, .. } => manifests
            .iter()
            .filter(|d| !d.in_attestation_slot())
            .filter_map(|d| d.platform.as_ref().map(|p| p.platform()))
            .collect(),
        Manifest::Image { .. } => Vec::new(),
    };
    if asked.is_empty() {
        if held.is_empty() {
            return Err(UsageError::new(format!(
                "{reference} is a single-platform manifest: say which platform it is with --platform"
            ))
            .into());
        }
        return Ok(held);
    }
    if !held.is_empty()
        && let Some(p) = asked.iter().find(|p| !held.iter().any(|h| h.matches(p)))
    {
        return Err(ChecksFailed(format!(
            "{reference} holds no {p} (it holds {}): nothing to run there",
            crate::platform::list(&held)
        ))
        .into());
    }
    Ok(asked)
}

/// The runs as JSON, or as text with a last line saying how they went.
fn print(
    s: &Settings,
    args: &SmokeArgs,
    digest: &str,
    smoked: &smoke::Smoked,
    code: Code,
    platforms: &[Platform],
) -> anyhow::Result<()> {
    let p = s.printer();
    let ok = smoked.ok();
    match args.format {
        Format::Json => p.json(&serde_json::to_string_pretty(&Json {
            schema_version: 1,
            command: "smoke",
            result: if ok { "ok" } else { "failed" },
            exit_code: code.as_i32(),
            reference: &args.reference,
            digest,
            error: smoked.error.as_ref().map(|e| format!("{e:#}")),
            smoke: &smoked.results,
        })?),
        Format::Text if p.quiet() => {}
        Format::Text => {
            crate::out!(
                p,
                "{}",
                crate::pipeline::report::text::render_smoke(&smoked.results)
            );
            if smoked.error.is_none() {
                let failed = smoked.results.iter().filter(|r| !r.ok).count();
                crate::outln!(
                    p,
                    "\n{}",
                    if failed == 0 {
                        format!("smoke: ok on {}", crate::platform::list(platforms))
                    } else {
                        format!(
                            "smoke: failed on {failed} of {} platform(s)",
                            smoked.results.len()
                        )
                    }
                );
            }
        }
    }
    Ok(())
}

#[derive(Serialize)]
struct Json<'a> {
    schema_version: u32,
    command: &'a str,
    result: &'a str,
    exit_code: i32,
    reference: &'a str,
    digest: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    smoke: &'a [SmokeResult],
}
